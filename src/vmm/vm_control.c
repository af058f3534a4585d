#include "vmm/vm_control.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mgmt/vm_store.h"
#include "state/migration_channel.h"
#include "util/state_dir.h"
#include "util/unix_json.h"

/* checkpoint's "overlays": absent is none; anything but an array of at
 * most VM_MAX_DISKS strings, each "" or an absolute path, is refused. */
static void parse_overlays(struct json_object *o, struct vm_control_request *req)
{
	struct json_object *a;
	if (!json_object_object_get_ex(o, "overlays", &a))
		return;
	size_t n = json_object_is_type(a, json_type_array) ? json_object_array_length(a) : SIZE_MAX;
	for (size_t i = 0; n != SIZE_MAX && i < n && i < VM_MAX_DISKS; i++) {
		struct json_object *e = json_object_array_get_idx(a, i);
		const char *p = json_object_is_type(e, json_type_string) ? json_object_get_string(e) : NULL;
		if (!p || (p[0] && p[0] != '/') || strlen(p) >= VM_PATH_MAX) {
			n = SIZE_MAX;
			break;
		}
		snprintf(req->overlays[i], VM_PATH_MAX, "%s", p);
	}
	if (n == SIZE_MAX || n > VM_MAX_DISKS) {
		req->cmd = VM_CONTROL_INVALID;
		snprintf(req->error, sizeof(req->error),
			 "checkpoint's \"overlays\" must be an array of at most %d paths", VM_MAX_DISKS);
		return;
	}
	req->noverlays = (unsigned)n;
}

/* -1 when missing, not an integer or outside lo..hi. */
static int64_t int_in(struct json_object *o, const char *key, int64_t lo, int64_t hi)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return -1;
	int64_t x = json_object_get_int64(v);
	return x < lo || x > hi ? -1 : x;
}

static void parse_memory_policy(struct json_object *o, struct vm_control_request *req)
{
	int64_t min = int_in(o, "min_mib", VM_MIN_MEMORY_MIB, (int64_t)VM_MAX_MEMORY_MIB);
	int64_t max = int_in(o, "max_mib", VM_MIN_MEMORY_MIB, (int64_t)VM_MAX_MEMORY_MIB);
	int64_t buffer = int_in(o, "buffer_percent", 5, 2000), weight = int_in(o, "weight", 0, 100);
	if (min < 0 || max < 0 || buffer < 0 || weight < 0 || min > max) {
		req->cmd = VM_CONTROL_INVALID;
		snprintf(req->error, sizeof(req->error), "memory-policy needs \"min_mib\" <= \"max_mib\" (%d..%llu), "
			 "\"buffer_percent\" (5..2000) and \"weight\" (0..100)", VM_MIN_MEMORY_MIB,
			 (unsigned long long)VM_MAX_MEMORY_MIB);
		return;
	}
	req->min_mib = (uint64_t)min;
	req->max_mib = (uint64_t)max;
	req->buffer_pct = (unsigned)buffer;
	req->weight = (unsigned)weight;
}

/* migrate: "to" an address, and optional limits within their ranges. */
static void parse_migrate(struct json_object *o, struct vm_control_request *req)
{
	struct json_object *v;
	const char *to = json_object_object_get_ex(o, "to", &v) && json_object_is_type(v, json_type_string)
				 ? json_object_get_string(v) : "";
	struct mig_addr a;
	struct nv_err e = { 0 };
	int64_t down = json_object_object_get_ex(o, "downtime_ms", NULL) ? int_in(o, "downtime_ms", 1, 60000) : 0;
	int64_t bw = json_object_object_get_ex(o, "bandwidth_mbps", NULL) ? int_in(o, "bandwidth_mbps", 1, 100000) : 0;
	int64_t rounds = json_object_object_get_ex(o, "max_rounds", NULL) ? int_in(o, "max_rounds", 1, 1000) : 0;
	req->progress = json_object_object_get_ex(o, "progress", &v) && json_object_get_boolean(v);
	bool has_pause = json_object_object_get_ex(o, "pause_to_converge", &v);
	bool pause_ok = !has_pause || json_object_is_type(v, json_type_boolean);
	if (strlen(to) >= sizeof(req->to) || mig_addr_parse(to, &a, &e) < 0 || down < 0 || bw < 0 || rounds < 0 ||
	    !pause_ok) {
		req->cmd = VM_CONTROL_INVALID;
		snprintf(req->error, sizeof(req->error), "migrate needs \"to\" (unix:PATH or tcp:ADDR:PORT), "
			 "\"downtime_ms\" 1..60000, \"bandwidth_mbps\" 1..100000, \"max_rounds\" 1..1000, "
			 "\"pause_to_converge\" true|false");
		return;
	}
	req->pause_to_converge = has_pause && json_object_get_boolean(v);
	snprintf(req->to, sizeof(req->to), "%s", to);
	req->downtime_ms = (unsigned)down;
	req->bandwidth_mbps = (unsigned)bw;
	req->max_rounds = (unsigned)rounds;
	req->copy_disks = json_object_object_get_ex(o, "copy_disks", &v) && json_object_get_boolean(v);
}

void vm_control_parse(const char *msg, size_t len, struct vm_control_request *req)
{
	memset(req, 0, sizeof(*req));
	char buf[VM_CONTROL_MAX + 1];
	if (len > VM_CONTROL_MAX) {
		snprintf(req->error, sizeof(req->error), "request larger than %d bytes", VM_CONTROL_MAX);
		return;
	}
	memcpy(buf, msg, len);
	buf[len] = '\0';
	struct json_object *o = json_tokener_parse(buf), *v;
	if (!o || !json_object_is_type(o, json_type_object)) {
		snprintf(req->error, sizeof(req->error), "request is not a JSON object");
		json_object_put(o);
		return;
	}
	const char *cmd = json_object_object_get_ex(o, "cmd", &v) && json_object_is_type(v, json_type_string)
				  ? json_object_get_string(v) : NULL;
	if (!cmd)
		snprintf(req->error, sizeof(req->error), "request has no \"cmd\" string");
	else if (!strcmp(cmd, "status"))
		req->cmd = VM_CONTROL_STATUS;
	else if (!strcmp(cmd, "shutdown"))
		req->cmd = VM_CONTROL_SHUTDOWN;
	else if (!strcmp(cmd, "kill"))
		req->cmd = VM_CONTROL_KILL;
	else if (!strcmp(cmd, "pause"))
		req->cmd = VM_CONTROL_PAUSE;
	else if (!strcmp(cmd, "resume"))
		req->cmd = VM_CONTROL_RESUME;
	else if (!strcmp(cmd, "save"))
		req->cmd = VM_CONTROL_SAVE;
	else if (!strcmp(cmd, "checkpoint"))
		req->cmd = VM_CONTROL_CHECKPOINT;
	else if (!strcmp(cmd, "memory"))
		req->cmd = VM_CONTROL_MEMORY;
	else if (!strcmp(cmd, "memory-policy"))
		req->cmd = VM_CONTROL_MEMORY_POLICY;
	else if (!strcmp(cmd, "migrate"))
		req->cmd = VM_CONTROL_MIGRATE;
	else
		snprintf(req->error, sizeof(req->error),
			 "unknown cmd \"%.48s\" (status, shutdown, kill, pause, resume, save, checkpoint, memory, "
			 "memory-policy, migrate)", cmd);
	if (req->cmd == VM_CONTROL_KILL && json_object_object_get_ex(o, "reason", &v) &&
	    json_object_is_type(v, json_type_string))
		snprintf(req->reason, sizeof(req->reason), "%s", json_object_get_string(v));
	if (req->cmd == VM_CONTROL_MEMORY) {
		int64_t mib = json_object_object_get_ex(o, "mib", &v) && json_object_is_type(v, json_type_int)
				      ? json_object_get_int64(v)
				      : -1;
		if (mib < VM_MIN_MEMORY_MIB || (uint64_t)mib > VM_MAX_MEMORY_MIB) {
			req->cmd = VM_CONTROL_INVALID;
			snprintf(req->error, sizeof(req->error), "memory needs \"mib\", %d..%llu", VM_MIN_MEMORY_MIB,
				 (unsigned long long)VM_MAX_MEMORY_MIB);
		} else {
			req->mib = (uint64_t)mib;
		}
	}
	if (req->cmd == VM_CONTROL_MEMORY_POLICY)
		parse_memory_policy(o, req);
	if (req->cmd == VM_CONTROL_MIGRATE)
		parse_migrate(o, req);
	if (req->cmd == VM_CONTROL_CHECKPOINT) {
		const char *n = json_object_object_get_ex(o, "name", &v) && json_object_is_type(v, json_type_string)
					? json_object_get_string(v) : NULL;
		if (!n || !state_name_valid(n, sizeof(req->name) - 1)) {
			req->cmd = VM_CONTROL_INVALID;
			snprintf(req->error, sizeof(req->error), "checkpoint needs a valid \"name\"");
		} else {
			snprintf(req->name, sizeof(req->name), "%s", n);
		}
		if (req->cmd == VM_CONTROL_CHECKPOINT)
			parse_overlays(o, req);
	}
	json_object_put(o);
}

int vm_control_listen(const char *path, int type, struct nv_err *err)
{
	/* Stale sockets are replaced: only the holder of vmm.lock gets here. */
	return unix_listen(path, type, 16, err);
}

struct json_object *vm_control_call(const char *name, struct json_object *req, int timeout_ms,
				    struct nv_err *err)
{
	return vm_control_call_fd(name, req, -1, timeout_ms, err);
}

struct json_object *vm_control_call_fd(const char *name, struct json_object *req, int pass_fd,
				       int timeout_ms, struct nv_err *err)
{
	return vm_control_call_interim(name, req, pass_fd, timeout_ms, NULL, NULL, err);
}

struct json_object *vm_control_call_interim(const char *name, struct json_object *req, int pass_fd,
					    int timeout_ms, void (*interim)(void *opaque, struct json_object *o),
					    void *opaque, struct nv_err *err)
{
	char path[4096], label[96], refused[96], not_running[160];
	if (vm_store_path(name, VM_CONTROL_SOCKET, path, sizeof(path), err) < 0)
		return NULL;
	snprintf(label, sizeof(label), "the VMM of %s", name);
	snprintf(refused, sizeof(refused), "VM %s", name);
	snprintf(not_running, sizeof(not_running),
		 "VM %s is not running (no VMM answers on its control socket)", name);
	int fd = unix_seqpacket_connect(path, label, not_running, err);
	if (fd < 0)
		return NULL;
	struct json_object *o = unix_json_exchange_interim(fd, req, pass_fd, VM_CONTROL_MAX, timeout_ms, label,
							   refused, interim, opaque, err);
	close(fd);
	return o;
}
