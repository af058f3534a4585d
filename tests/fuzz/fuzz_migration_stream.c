/* libFuzzer: a hostile migration stream into the receiver (the target's
 * side of `vm migrate`): framing, the order of messages, every length,
 * count and page range, the source's record (parsed, validated and checked
 * against this target's) and the state image inside it (parsed as a state
 * file). The input is the stream's bytes; if its first byte has bit 0 set,
 * a valid START and CONFIG (a default VM's record) come first, so that the
 * fuzzer reaches the memory and state phases; if bit 1 is set too, that
 * START is version 2 and two DISKINFOs (disks 0 and 3) come before CONFIG,
 * so that DISK messages are reached. Invariants besides the sanitizers: no
 * callback sees a page outside RAM or disk bytes outside an announced disk,
 * nothing arrives before an accepted CONFIG, and every refusal is one line. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "mgmt/vm_config.h"
#include "mgmt/vm_migration_check.h"
#include "state/migration_stream.h"
#include "state/state_file.h"

static volatile unsigned sink;

struct target {
	struct vm_config expect;
	uint64_t ram_pages;
	bool accepted;
	uint64_t disk_size[MIG_MAX_DISKS];
};

static int t_config(void *o, uint64_t ram, uint32_t cpus, const char *json, size_t len, struct nv_err *err)
{
	struct target *t = o;
	struct vm_record rec;
	if (vm_record_parse_text(json, len, "migration stream: CONFIG", &rec, err) < 0 ||
	    vm_config_validate(&rec.config, "migration stream: CONFIG", err) < 0)
		return -1;
	if (cpus != rec.config.cpus || ram != vm_config_ram_mib(&rec.config) << 20)
		return nv_err_input(err, "migration stream: CONFIG: does not match its record");
	if (vm_migration_check(&t->expect, &rec.config, err) < 0)
		return -1;
	t->ram_pages = ram / MIG_PAGE;
	t->accepted = true;
	return 0;
}

static void in_ram(const struct target *t, uint64_t first, uint32_t count)
{
	if (!t->accepted || count == 0 || first >= t->ram_pages || count > t->ram_pages - first)
		abort();
}

static int t_pages(void *o, uint64_t first, uint32_t count, const uint8_t *data, struct nv_err *err)
{
	(void)err;
	in_ram(o, first, count);
	unsigned sum = 0;
	for (size_t i = 0; i < (size_t)count * MIG_PAGE; i += 512)
		sum += data[i];
	sink += sum;
	return 0;
}

static int t_zero(void *o, uint64_t first, uint32_t count, struct nv_err *err)
{
	(void)err;
	in_ram(o, first, count);
	return 0;
}

static int t_state(void *o, const uint8_t *image, size_t len, struct nv_err *err)
{
	const struct target *t = o;
	if (!t->accepted)
		abort();
	struct state_file f;
	int rc = state_file_parse(&f, image, len, "(migration)", err);
	state_file_free(&f);
	return rc;
}

static int t_disk_info(void *o, uint32_t index, unsigned format, uint64_t size, struct nv_err *err)
{
	(void)err;
	struct target *t = o;
	if (t->accepted || index >= MIG_MAX_DISKS || t->disk_size[index] || size == 0 || size % 512 ||
	    size > MIG_MAX_DISK_SIZE || (format != MIG_DISK_RAW && format != MIG_DISK_QCOW2))
		abort();
	t->disk_size[index] = size;
	return 0;
}

static int t_disk(void *o, uint32_t index, uint64_t off, const uint8_t *data, uint32_t len, struct nv_err *err)
{
	(void)err;
	const struct target *t = o;
	if (!t->accepted || index >= MIG_MAX_DISKS || !t->disk_size[index] || len == 0 || len % 512 || off % 512 ||
	    off >= t->disk_size[index] || len > t->disk_size[index] - off || len > MIG_MAX_DISK_CHUNK)
		abort();
	sink += data[0] + data[len - 1];
	return 0;
}

static const struct mig_rx_ops ops = { .config = t_config, .pages = t_pages, .zero = t_zero, .state = t_state,
				       .disk_info = t_disk_info, .disk = t_disk };

static size_t prologue(uint8_t *out, const struct vm_config *c, bool disks)
{
	struct vm_record rec = { .config = *c };
	struct json_object *doc = vm_record_to_json(&rec);
	const char *json = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
	size_t jl = strlen(json), n = 0;
	mig_header_put(out, MIG_START, 16);
	mig_start_put(out + 8, disks ? MIG_VERSION_DISKS : MIG_VERSION_MEMORY);
	n = 24;
	for (unsigned i = 0; disks && i < 2; i++) {
		mig_header_put(out + n, MIG_DISKINFO, MIG_DISK_HEAD);
		mig_diskinfo_put(out + n + 8, i ? 3 : 0, i ? MIG_DISK_QCOW2 : MIG_DISK_RAW, i ? 65536 + 512 : 1u << 20);
		n += 8 + MIG_DISK_HEAD;
	}
	mig_header_put(out + n, MIG_CONFIG, (uint32_t)(16 + jl));
	mig_config_put(out + n + 8, vm_config_ram_mib(c) << 20, c->cpus);
	memcpy(out + n + 24, json, jl);
	n += 24 + jl;
	json_object_put(doc);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct target t;
	static uint8_t pre[2][4096];
	static size_t npre[2];
	if (!npre[0]) {
		vm_config_defaults(&t.expect, "fuzz");
		npre[0] = prologue(pre[0], &t.expect, false);
		npre[1] = prologue(pre[1], &t.expect, true);
	}
	t.accepted = false;
	t.ram_pages = 0;
	memset(t.disk_size, 0, sizeof(t.disk_size));
	bool disks = size && (data[0] & 2);
	size_t extra = size && (data[0] & 1) ? npre[disks] : 0;
	uint8_t *buf = malloc(extra + size + 1);
	if (!buf)
		abort();
	memcpy(buf, pre[disks], extra);
	if (size)
		memcpy(buf + extra, data + (extra ? 1 : 0), size - (extra ? 1 : 0));
	size_t len = extra + size - (extra ? 1 : 0);

	struct mig_rx rx;
	mig_rx_init(&rx, &ops, &t);
	size_t off = 0;
	struct nv_err err = { 0 };
	int rc = 0;
	while (rc == 0 && len - off >= MIG_HEADER_BYTES) {
		struct mig_hdr h;
		if (mig_rx_header(&rx, buf + off, &h, &err) < 0) {
			rc = -1;
			break;
		}
		off += MIG_HEADER_BYTES;
		if (h.length > len - off)
			break; /* the stream ends short: the target waits, then gives up */
		rc = mig_rx_message(&rx, &h, buf + off, &err);
		off += h.length;
	}
	if (rc < 0 && (err.kind == NV_ERR_NONE || !err.msg[0] || strchr(err.msg, '\n')))
		abort();
	if (rc == 1 && rx.phase != MIG_RX_COMPLETE)
		abort();
	free(buf);
	return 0;
}
