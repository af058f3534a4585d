#include "vmm/migration_receive.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mgmt/vm_migration_check.h"
#include "state/memory_file.h"
#include "state/migration_channel.h"
#include "util/file_io.h"
#include "util/mono_clock.h"
#include "vmm/migration_disk_files.h"

#define IDLE_TIMEOUT_MS 60000 /* a source silent this long has gone */

struct receiver {
	struct migration_incoming *in;
	const struct vm_config *expect;
	const struct migration_prepare *prep;
	int memory_fd;
	char memory_path[VM_PATH_MAX + 16];
	char state_path[VM_PATH_MAX + 16];
	struct { unsigned format; uint64_t size; } disks[MIG_MAX_DISKS]; /* announced: size > 0 */
};

static int on_disk_info(void *opaque, uint32_t index, unsigned format, uint64_t size, struct nv_err *err)
{
	struct receiver *r = opaque;
	r->disks[index].format = format;
	r->disks[index].size = size;
	return 0;
}

/* Each announced disk: a writable disk of the record, of its size; its new
 * file made, and the record (what the machine is built from) naming it. */
static int make_disk_files(struct receiver *r, struct vm_config *c, struct nv_err *err)
{
	for (unsigned i = 0; i < MIG_MAX_DISKS; i++) {
		if (!r->disks[i].size)
			continue;
		if (i >= c->ndisks || c->disks[i].readonly)
			return nv_err_input(err, "migration stream: DISKINFO: disk %u is not a writable disk of the VM", i);
		struct migration_incoming *in = r->in;
		char *path = in->disk_files[in->ndisk_files];
		if (mig_disk_file_path(r->prep->storage_dir, c->disks[i].path, path, VM_PATH_MAX, err) < 0 ||
		    mig_disk_file_create(path, r->disks[i].format, r->disks[i].size, err) < 0)
			return -1;
		in->ndisk_files++;
		snprintf(c->disks[i].path, sizeof(c->disks[i].path), "%s", path);
	}
	return 0;
}

static int on_config(void *opaque, uint64_t ram, uint32_t cpus, const char *json, size_t len,
		     struct nv_err *err)
{
	struct receiver *r = opaque;
	struct vm_record rec;
	if (vm_record_parse_text(json, len, "migration stream: CONFIG", &rec, err) < 0 ||
	    vm_config_validate(&rec.config, "migration stream: CONFIG", err) < 0)
		return -1;
	if (cpus != rec.config.cpus || ram != vm_config_ram_mib(&rec.config) << 20)
		return nv_err_input(err, "migration stream: CONFIG: %u vCPUs and %llu bytes, but its record says %u and %llu MiB",
				    cpus, (unsigned long long)ram, rec.config.cpus,
				    (unsigned long long)vm_config_ram_mib(&rec.config));
	if ((r->expect && vm_migration_check(r->expect, &rec.config, err) < 0) || make_disk_files(r, &rec.config, err) < 0)
		return -1;
	r->memory_fd = memory_file_create(r->memory_path, ram, err);
	if (r->memory_fd < 0)
		return -1;
	return r->prep ? r->prep->fn(r->prep->opaque, &rec.config, r->memory_fd, err) : 0;
}

static int on_pages(void *opaque, uint64_t first, uint32_t count, const uint8_t *data, struct nv_err *err)
{
	struct receiver *r = opaque;
	if (memory_file_put(r->memory_fd, first * MIG_PAGE, data, (size_t)count * MIG_PAGE) < 0)
		return nv_err_host(err, "memory file %s: %s", r->memory_path, strerror(errno));
	return 0;
}

static int on_zero(void *opaque, uint64_t first, uint32_t count, struct nv_err *err)
{
	struct receiver *r = opaque;
	off_t at = (off_t)(MEMORY_FILE_HEADER + first * MIG_PAGE), len = (off_t)count * MIG_PAGE;
	if (fallocate(r->memory_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, at, len) == 0)
		return 0;
	static const uint8_t zero[MIG_PAGE];
	for (uint32_t i = 0; i < count; i++)
		if (memory_file_put(r->memory_fd, (first + i) * MIG_PAGE, zero, sizeof(zero)) < 0)
			return nv_err_host(err, "memory file %s: %s", r->memory_path, strerror(errno));
	return 0;
}

static int on_state(void *opaque, const uint8_t *image, size_t len, struct nv_err *err)
{
	struct receiver *r = opaque;
	int rc = file_write_atomic(r->state_path, image, len);
	if (rc < 0)
		return nv_err_host(err, "state file %s: %s", r->state_path, strerror(-rc));
	return 0;
}

static int on_disk(void *opaque, uint32_t index, uint64_t off, const uint8_t *data, uint32_t len, struct nv_err *err)
{
	struct receiver *r = opaque;
	return r->prep->disk_write(r->prep->opaque, index, off, data, len, err);
}

static const struct mig_rx_ops ops = { .config = on_config, .pages = on_pages, .zero = on_zero, .state = on_state,
				       .disk_info = on_disk_info, .disk = on_disk };
static const struct mig_rx_ops ops_memory_only = { .config = on_config, .pages = on_pages, .zero = on_zero,
						   .state = on_state };

/* Message after message until COMPLETE. */
static int receive_stream(struct receiver *r, struct mig_rx *rx, struct nv_err *err)
{
	struct migration_incoming *in = r->in;
	uint8_t *buf = NULL;
	size_t cap = 0;
	int rc;
	do {
		uint8_t raw[MIG_HEADER_BYTES];
		struct mig_hdr h;
		rc = -1;
		if (mig_recv_exact(in->fd, raw, sizeof(raw), IDLE_TIMEOUT_MS, err) < 0 ||
		    mig_rx_header(rx, raw, &h, err) < 0)
			break;
		if (h.length > cap) {
			uint8_t *nb = realloc(buf, h.length);
			if (!nb) {
				nv_err_host(err, "out of memory");
				break;
			}
			buf = nb;
			cap = h.length;
		}
		if (mig_recv_exact(in->fd, buf, h.length, IDLE_TIMEOUT_MS, err) < 0)
			break;
		bool was_config = h.type == MIG_CONFIG;
		bool before_accept = rx->phase < MIG_RX_MEMORY;
		rc = mig_rx_message(rx, &h, buf, err);
		if (was_config || (before_accept && rc < 0)) { /* the source waits for a word */
			enum mig_type t = rc < 0 ? MIG_REFUSE : MIG_ACCEPT;
			size_t n = rc < 0 ? strlen(err->msg) : 0;
			if (mig_send(in->fd, t, err->msg, n, NULL, 0, rc < 0 ? NULL : err) < 0)
				rc = -1;
		}
	} while (rc == 0);
	free(buf);
	in->pages = rx->pages;
	in->zero_pages = rx->zero_pages;
	in->bytes = rx->bytes;
	in->disk_bytes = rx->disk_bytes;
	return rc < 0 ? -1 : 0;
}

int migration_receive(const char *listen, int timeout_ms, const struct vm_config *expect,
		      const char *workdir, const struct migration_prepare *prep,
		      struct migration_incoming *in, struct nv_err *err)
{
	memset(in, 0, sizeof(*in));
	in->fd = -1;
	in->saved.memory_fd = -1;
	struct mig_addr addr;
	if (mig_addr_parse(listen, &addr, err) < 0)
		return -1;
	int lfd = mig_listen(&addr, err);
	if (lfd < 0)
		return -1;
	if (prep && prep->listening)
		prep->listening(prep->opaque);
	in->fd = mig_accept(lfd, timeout_ms, err);
	close(lfd);
	if (addr.family == AF_UNIX)
		unlink(listen + 5); /* one source only */
	if (in->fd < 0)
		return -1;
	int64_t t0 = mono_ms();
	if ((size_t)snprintf(in->dir, sizeof(in->dir), "%s/nestvm-incoming.XXXXXX", workdir) >= sizeof(in->dir) ||
	    !mkdtemp(in->dir)) {
		in->dir[0] = '\0';
		return nv_err_host(err, "cannot make a folder for the incoming VM in %s: %s", workdir, strerror(errno));
	}
	struct receiver r = { .in = in, .expect = expect, .prep = prep, .memory_fd = -1 };
	snprintf(r.memory_path, sizeof(r.memory_path), "%s/%s", in->dir, MACHINE_MEMORY_FILE);
	snprintf(r.state_path, sizeof(r.state_path), "%s/%s", in->dir, MACHINE_STATE_FILE);
	struct mig_rx rx;
	mig_rx_init(&rx, prep && prep->disk_write ? &ops : &ops_memory_only, &r);
	int rc = receive_stream(&r, &rx, err);
	if (r.memory_fd >= 0)
		close(r.memory_fd);
	in->complete_at_ms = mono_ms();
	in->receive_ms = in->complete_at_ms - t0;
	if (rc == 0 && machine_saved_load(in->dir, &in->saved, err) < 0)
		rc = -1;
	in->saved.same_generation = true; /* the source stops once it runs here */
	/* What the state says must match too (its config, not the CONFIG's). */
	if (rc == 0 && expect && vm_migration_check(expect, &in->saved.config, err) < 0)
		rc = -1;
	if (rc < 0 && rx.phase >= MIG_RX_MEMORY) {
		size_t n = strlen(err->msg);
		mig_send(in->fd, MIG_FAILED, err->msg, n > MIG_MAX_TEXT ? MIG_MAX_TEXT : n, NULL, 0, NULL);
	}
	return rc;
}

void migration_incoming_end(struct migration_incoming *in, bool ok, const char *why)
{
	if (in->fd >= 0) {
		size_t n = why ? strlen(why) : 0;
		mig_send(in->fd, ok ? MIG_RESUMED : MIG_FAILED, why, ok ? 0 : n > MIG_MAX_TEXT ? MIG_MAX_TEXT : n, NULL,
			 0, NULL);
		close(in->fd);
		in->fd = -1;
	}
	machine_saved_free(&in->saved);
	for (unsigned i = 0; i < in->ndisk_files; i++)
		if (!ok) /* partial copies: the VM runs on at the source */
			unlink(in->disk_files[i]);
	in->ndisk_files = 0;
	if (in->dir[0]) {
		char p[VM_PATH_MAX + 16];
		snprintf(p, sizeof(p), "%s/%s", in->dir, MACHINE_MEMORY_FILE);
		unlink(p);
		snprintf(p, sizeof(p), "%s/%s", in->dir, MACHINE_STATE_FILE);
		unlink(p);
		rmdir(in->dir);
		in->dir[0] = '\0';
	}
}
