/* A container's bundle turned into what its VM is given: shares, and the
 * spec with the bound files in a cpio archive (mgmt/container_spec.h). */
#include "mgmt/container_spec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The spec as it grows; bad once it would pass CONTAINER_SPEC_MAX. */
struct spec_buf {
	char *data;
	size_t len, cap;
	bool too_big, no_memory;
};

static void put(struct spec_buf *b, const char *s)
{
	size_t n = strlen(s) + 1;
	if (b->too_big || b->no_memory)
		return;
	if (n > CONTAINER_SPEC_MAX - b->len) {
		b->too_big = true;
		return;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		char *d = realloc(b->data, cap);
		if (!d) {
			b->no_memory = true;
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

/* A record: its key, then nfields strings. */
static void record(struct spec_buf *b, const char *key, unsigned nfields, ...)
{
	va_list ap;
	va_start(ap, nfields);
	put(b, key);
	for (unsigned i = 0; i < nfields; i++)
		put(b, va_arg(ap, const char *));
	va_end(ap);
}

static void record_number(struct spec_buf *b, const char *key, unsigned long long v)
{
	char s[24];
	snprintf(s, sizeof(s), "%llu", v);
	record(b, key, 1, s);
}

static bool has_option(const struct oci_mount *m, const char *word)
{
	for (size_t i = 0; i < m->noptions; i++)
		if (!strcmp(m->options[i], word))
			return true;
	return false;
}

/* The mount's options joined by commas, minus "bind" and "rbind" (the
 * guest mounts a share, it does not bind one). */
static int joined_options(const struct oci_mount *m, char *out, size_t size, struct nv_err *err)
{
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; i < m->noptions; i++) {
		const char *o = m->options[i];
		if (!strcmp(o, "bind") || !strcmp(o, "rbind"))
			continue;
		if (strchr(o, ','))
			return nv_err_input(err, "mount %s: the option '%s' has a comma", m->destination, o);
		int n = snprintf(out + len, size - len, "%s%s", len ? "," : "", o);
		if (n < 0 || (size_t)n >= size - len)
			return nv_err_input(err, "mount %s: its options are too long", m->destination);
		len += (size_t)n;
	}
	return 0;
}

static int add_share(struct container_plan *p, const char *dir, bool readonly, char *tag, size_t tag_size,
		     const char *what, struct nv_err *err)
{
	if (p->nshares == VM_SHARES_MAX)
		return nv_err_input(err, "%s: a VM has %d shared folders at most (the root and %d bind-mounted "
					 "folders)", what, VM_SHARES_MAX, VM_SHARES_MAX - 1);
	struct vm_share *s = &p->shares[p->nshares];
	if (snprintf(s->dir, sizeof(s->dir), "%s", dir) >= (int)sizeof(s->dir))
		return nv_err_input(err, "%s: the folder's path is too long", what);
	if (p->nshares == 0)
		snprintf(s->tag, sizeof(s->tag), "%s", CONTAINER_ROOT_TAG);
	else
		snprintf(s->tag, sizeof(s->tag), "v%u", p->nshares);
	s->readonly = readonly;
	snprintf(tag, tag_size, "%s", s->tag);
	p->nshares++;
	return 0;
}

/* A bound regular file, copied into the archive as etc/nestvm/files/N. */
static int add_file(struct container_plan *p, const char *path, unsigned n, char *guest_path, size_t size,
		    const char *what, struct nv_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return nv_err_input(err, "%s: %s: %s", what, path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > CONTAINER_FILE_MAX) {
		close(fd);
		return nv_err_input(err, "%s: %s is not a regular file of at most %u KiB", what, path,
				    CONTAINER_FILE_MAX >> 10);
	}
	char *data = malloc((size_t)st.st_size + 1);
	ssize_t r = data ? read(fd, data, (size_t)st.st_size + 1) : -1;
	close(fd);
	if (r < 0 || r > st.st_size) {
		free(data);
		return nv_err_input(err, "%s: %s could not be read whole", what, path);
	}
	snprintf(guest_path, size, "etc/nestvm/files/%u", n);
	int rc = cpio_newc_add_file(&p->initramfs, guest_path, 0644, data, (size_t)r, err);
	free(data);
	return rc;
}

static const char *const guest_types[] = { "proc", "sysfs", "tmpfs", "devpts", "mqueue", "cgroup", "cgroup2" };

static int plan_mount(struct container_plan *p, struct spec_buf *b, const struct oci_mount *m, unsigned index,
		      struct nv_err *err)
{
	char what[PATH_MAX + 16], options[4096], tag[VM_SHARE_TAG_MAX + 1], guest_path[64];
	snprintf(what, sizeof(what), "mount %s", m->destination);
	if (joined_options(m, options, sizeof(options), err) < 0)
		return -1;
	bool bind = !strcmp(m->type, "bind") || has_option(m, "bind") || has_option(m, "rbind");
	if (!bind) {
		for (size_t i = 0; i < sizeof(guest_types) / sizeof(guest_types[0]); i++)
			if (!strcmp(m->type, guest_types[i])) {
				record(b, "mount", 4, m->destination, m->type, m->source, options);
				return 0;
			}
		return nv_err_input(err, "%s: the type '%s' cannot be mounted in a VM (%s, or a bind mount)", what,
				    m->type, "proc, sysfs, tmpfs, devpts, mqueue, cgroup");
	}
	/* The engine's shared memory folder: the VM's own tmpfs serves. */
	if (!strcmp(m->destination, "/dev/shm")) {
		record(b, "mount", 4, m->destination, "tmpfs", "shm", "nosuid,nodev,noexec,mode=1777,size=65536k");
		return 0;
	}
	char real[PATH_MAX];
	struct stat st;
	if (!m->source[0] || !realpath(m->source, real) || stat(real, &st) < 0)
		return nv_err_input(err, "%s: its source '%s': %s", what, m->source,
				    m->source[0] ? strerror(errno) : "none given");
	if (S_ISDIR(st.st_mode)) {
		if (add_share(p, real, has_option(m, "ro"), tag, sizeof(tag), what, err) < 0)
			return -1;
		record(b, "mount", 4, m->destination, "virtiofs", tag, options);
		return 0;
	}
	if (S_ISREG(st.st_mode)) {
		if (add_file(p, real, index, guest_path, sizeof(guest_path), what, err) < 0)
			return -1;
		char in_guest[72];
		snprintf(in_guest, sizeof(in_guest), "/%s", guest_path);
		record(b, "mount", 4, m->destination, "nestvm-file", in_guest, options);
		return 0;
	}
	return nv_err_input(err, "%s: its source %s is neither a folder nor a regular file, which a VM cannot share",
			    what, real);
}

static void plan_process(struct spec_buf *b, const struct oci_config *c)
{
	for (size_t i = 0; i < c->nargs; i++)
		record(b, "arg", 1, c->args[i]);
	for (size_t i = 0; i < c->nenv; i++)
		record(b, "env", 1, c->env[i]);
	record(b, "cwd", 1, c->cwd);
	char uid[16], gid[16], mask[16];
	snprintf(uid, sizeof(uid), "%u", (unsigned)c->uid);
	snprintf(gid, sizeof(gid), "%u", (unsigned)c->gid);
	snprintf(mask, sizeof(mask), "%u", (unsigned)(c->umask & 0777));
	record(b, "user", 3, uid, gid, c->has_umask ? mask : "-");
	for (size_t i = 0; i < c->ngids; i++)
		record_number(b, "gid", c->gids[i]);
	for (size_t i = 0; i < c->nrlimits; i++) {
		char res[16], soft[24], hard[24];
		snprintf(res, sizeof(res), "%d", c->rlimits[i].resource);
		snprintf(soft, sizeof(soft), "%llu", (unsigned long long)c->rlimits[i].soft);
		snprintf(hard, sizeof(hard), "%llu", (unsigned long long)c->rlimits[i].hard);
		record(b, "rlimit", 3, res, soft, hard);
	}
	if (c->hostname && c->hostname[0])
		record(b, "hostname", 1, c->hostname);
	if (c->memory_limit)
		record_number(b, "memory-limit", c->memory_limit);
	record(b, "terminal", 1, c->terminal ? "1" : "0");
	record(b, "no-new-privileges", 1, c->no_new_privileges ? "1" : "0");
}

int container_plan_make(const struct oci_config *c, const char *bundle_dir, bool stdin_open,
			struct container_plan *p, struct nv_err *err)
{
	*p = (struct container_plan){ 0 };
	cpio_newc_init(&p->initramfs, CONTAINER_INITRAMFS_MAX);
	struct spec_buf b = { 0 };
	char root[PATH_MAX * 2], real[PATH_MAX], tag[VM_SHARE_TAG_MAX + 1];
	int rc = -1;
	if (c->root_path[0] == '/')
		snprintf(root, sizeof(root), "%s", c->root_path);
	else
		snprintf(root, sizeof(root), "%s/%s", bundle_dir, c->root_path);
	struct stat st;
	errno = 0;
	if (!realpath(root, real) || stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
		nv_err_input(err, "the root filesystem %s: %s", root, errno ? strerror(errno) : "not a folder");
		goto out;
	}
	if (add_share(p, real, c->root_readonly, tag, sizeof(tag), "the root filesystem", err) < 0 ||
	    cpio_newc_add_dir(&p->initramfs, "etc", 0755, err) < 0 ||
	    cpio_newc_add_dir(&p->initramfs, "etc/nestvm", 0755, err) < 0 ||
	    cpio_newc_add_dir(&p->initramfs, "etc/nestvm/files", 0755, err) < 0)
		goto out;
	record(&b, "nestvm-container-spec", 1, "1");
	plan_process(&b, c);
	record(&b, "stdin", 1, stdin_open ? "1" : "0");
	record(&b, "root", 2, tag, c->root_readonly ? "1" : "0");
	for (size_t i = 0; i < c->nmounts; i++)
		if (plan_mount(p, &b, &c->mounts[i], (unsigned)i, err) < 0)
			goto out;
	record(&b, "end", 0);
	if (b.too_big || b.no_memory) {
		if (b.too_big)
			nv_err_input(err, "the container's process (arguments, environment, mounts) is over %u MiB",
				     CONTAINER_SPEC_MAX >> 20);
		else
			nv_err_host(err, "out of memory for the container's spec");
		goto out;
	}
	if (cpio_newc_add_file(&p->initramfs, CONTAINER_SPEC_PATH, 0600, b.data, b.len, err) < 0 ||
	    cpio_newc_finish(&p->initramfs, err) < 0)
		goto out;
	rc = 0;
out:
	free(b.data);
	if (rc < 0)
		container_plan_free(p);
	return rc;
}

void container_plan_free(struct container_plan *p)
{
	cpio_newc_free(&p->initramfs);
	p->nshares = 0;
}
