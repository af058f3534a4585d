#include "mgmt/vm_config.h"

#include <ctype.h>

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "confine/identity_json.h"
#include "dev/virtio/virtio_device.h"
#include "mgmt/cloud_init.h"
#include "util/state_dir.h"


static const char *const state_names[] = { "Off", "Starting", "Running", "Stopping", "Paused", "Saved", "Receiving" };
#define NSTATES (sizeof(state_names) / sizeof(state_names[0]))

const char *vm_state_name(enum vm_state s)
{
	return (unsigned)s < NSTATES ? state_names[s] : "?";
}

int vm_state_parse(const char *s, enum vm_state *out)
{
	for (unsigned i = 0; s && i < NSTATES; i++)
		if (!strcmp(s, state_names[i])) {
			*out = (enum vm_state)i;
			return 0;
		}
	return -1;
}

static const char *const start_actions[] = { [VM_START_IF_RUNNING] = "start-if-running",
					       [VM_START_NOTHING] = "nothing",
					       [VM_START_ALWAYS] = "start" };
static const char *const stop_actions[] = { [VM_STOP_SAVE] = "save", [VM_STOP_TURN_OFF] = "turn-off",
					      [VM_STOP_SHUTDOWN] = "shutdown" };

bool vm_config_has_device(const struct vm_config *c, const char *type)
{
	for (unsigned i = 0; i < c->ndevices; i++)
		if (!strcmp(c->devices[i], type))
			return true;
	return false;
}

const char *vm_start_action_name(enum vm_start_action a)
{
	return a <= VM_START_ALWAYS ? start_actions[a] : "?";
}

int vm_start_action_parse(const char *s, enum vm_start_action *out)
{
	for (int i = 0; s && i <= VM_START_ALWAYS; i++)
		if (!strcmp(s, start_actions[i]))
			return *out = (enum vm_start_action)i, 0;
	return -1;
}

const char *vm_stop_action_name(enum vm_stop_action a)
{
	return a <= VM_STOP_SHUTDOWN ? stop_actions[a] : "?";
}

int vm_stop_action_parse(const char *s, enum vm_stop_action *out)
{
	for (int i = 0; s && i <= VM_STOP_SHUTDOWN; i++)
		if (!strcmp(s, stop_actions[i]))
			return *out = (enum vm_stop_action)i, 0;
	return -1;
}

void vm_config_defaults(struct vm_config *c, const char *name)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name ? name : "");
	c->memory_mib = VM_DEFAULT_MEMORY_MIB;
	c->cpus = 1;
	vm_config_dynamic_defaults(c);
}

void vm_config_dynamic_defaults(struct vm_config *c)
{
	c->memory_min_mib = c->memory_mib < VM_DYNAMIC_MIN_DEFAULT_MIB ? c->memory_mib : VM_DYNAMIC_MIN_DEFAULT_MIB;
	c->memory_max_mib = c->memory_mib * VM_DYNAMIC_MAX_FACTOR;
	if (c->memory_max_mib > VM_MAX_MEMORY_MIB)
		c->memory_max_mib = VM_MAX_MEMORY_MIB;
	c->memory_buffer_pct = VM_DYNAMIC_BUFFER_DEFAULT;
	c->memory_weight = VM_DYNAMIC_WEIGHT_DEFAULT;
}

uint64_t vm_config_ram_mib(const struct vm_config *c)
{
	return c->dynamic_memory_enabled ? c->memory_max_mib : c->memory_mib;
}

bool vm_config_has_seed(const struct vm_config *c)
{
	return c->cloud_init.seed[0] != '\0';
}

bool vm_config_has_balloon(const struct vm_config *c)
{
	return c->dynamic_memory_enabled || vm_config_has_device(c, "balloon");
}

/* Errors read "<where><field>: <why>": where is "FILE: config." when parsing
 * a file and "WHAT: " when checking a config built by a command. */
static int field_err(struct nv_err *err, const char *where, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int field_err(struct nv_err *err, const char *where, const char *field, const char *fmt, ...)
{
	char why[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return nv_err_input(err, "%s%s: %s", where, field, why);
}

static bool path_ok(const char *p, bool may_be_empty)
{
	return p[0] == '/' || (may_be_empty && !p[0]);
}

static int check_mac(const struct mac_addr *m, const char *where, const char *field, struct nv_err *err)
{
	char s[18];
	mac_format(m, s);
	if (mac_is_zero(m))
		return field_err(err, where, field, "MAC %s is all zeros", s);
	if (mac_is_multicast(m))
		return field_err(err, where, field, "MAC %s is multicast (the first byte must be even)", s);
	return 0;
}

/* Share i's tag is an earlier share's: that share's index, else -1. */
static int tag_used(const struct vm_config *c, unsigned i, const char *tag)
{
	for (unsigned j = 0; j < i; j++)
		if (!strcmp(c->shares[j].tag, tag))
			return (int)j;
	return -1;
}

/* Each share: an absolute folder, a tag virtio-fs can carry, and a tag of
 * its own (the guest mounts by tag: two alike would be one it cannot
 * name). */
static int check_shares(const struct vm_config *c, const char *where, struct nv_err *err)
{
	char f[64];
	if (c->nshares > VM_SHARES_MAX)
		return field_err(err, where, "shares", "more than %d shared folders", VM_SHARES_MAX);
	for (unsigned i = 0; i < c->nshares; i++) {
		const struct vm_share *s = &c->shares[i];
		snprintf(f, sizeof(f), "shares[%u].dir", i);
		if (!path_ok(s->dir, false))
			return field_err(err, where, f, "'%s' is not an absolute path", s->dir);
		snprintf(f, sizeof(f), "shares[%u].tag", i);
		if (!vm_share_tag_valid(s->tag))
			return field_err(err, where, f, "'%s' is not a valid tag (1-%d of A-Z a-z 0-9 _ . -)",
					 s->tag, VM_SHARE_TAG_MAX);
		int other = tag_used(c, i, s->tag);
		if (other >= 0)
			return field_err(err, where, f, "'%s' is already shares[%d]'s tag", s->tag, other);
	}
	return 0;
}

static int validate_at(const struct vm_config *c, const char *where, struct nv_err *err)
{
	char f[64];
	if (!state_name_valid(c->name, VM_NAME_MAX))
		return field_err(err, where, "name",
				 "'%s' is not a valid VM name (1-%d of A-Z a-z 0-9 _ . -, not starting with . or -)",
				 c->name, VM_NAME_MAX);
	if (c->memory_mib < VM_MIN_MEMORY_MIB || c->memory_mib > VM_MAX_MEMORY_MIB)
		return field_err(err, where, "memory_mib", "must be %d..%llu (MiB), not %llu", VM_MIN_MEMORY_MIB,
				 VM_MAX_MEMORY_MIB, (unsigned long long)c->memory_mib);
	if (c->cpus < 1 || c->cpus > VM_MAX_CPUS)
		return field_err(err, where, "cpus", "must be 1..%d, not %u", VM_MAX_CPUS, c->cpus);
	if (!path_ok(c->kernel, true))
		return field_err(err, where, "kernel", "'%s' is not an absolute path", c->kernel);
	if (!path_ok(c->initrd, true))
		return field_err(err, where, "initrd", "'%s' is not an absolute path", c->initrd);
	unsigned seed = vm_config_has_seed(c);
	if (c->ndisks + seed > VM_MAX_DISKS)
		return field_err(err, where, "disks", "more than %d disks%s", VM_MAX_DISKS,
				 seed ? " with the cloud-init seed" : "");
	if (seed && !path_ok(c->cloud_init.seed, false))
		return field_err(err, where, "cloud_init.seed", "'%s' is not an absolute path", c->cloud_init.seed);
	struct nv_err bad_host = { 0 };
	if (c->cloud_init.hostname[0] && cloud_init_hostname_check(c->cloud_init.hostname, &bad_host) < 0)
		return field_err(err, where, "cloud_init.hostname", "%s", bad_host.msg);
	for (unsigned i = 0; i < c->ndisks; i++) {
		snprintf(f, sizeof(f), "disks[%u].path", i);
		if (!path_ok(c->disks[i].path, false))
			return field_err(err, where, f, "'%s' is not an absolute path", c->disks[i].path);
	}
	if (c->nnics > VM_MAX_NICS)
		return field_err(err, where, "nics", "more than %d network adapters", VM_MAX_NICS);
	for (unsigned i = 0; i < c->nnics; i++) {
		snprintf(f, sizeof(f), "nics[%u].switch", i);
		if (!state_name_valid(c->nics[i].switch_name, VM_SWITCH_NAME_MAX))
			return field_err(err, where, f, "'%s' is not a valid switch name", c->nics[i].switch_name);
		snprintf(f, sizeof(f), "nics[%u].mac", i);
		if (check_mac(&c->nics[i].mac, where, f, err) < 0)
			return -1;
	}
	if (c->ndevices > VM_MAX_DEVICES)
		return field_err(err, where, "devices", "more than %d devices", VM_MAX_DEVICES);
	for (unsigned i = 0; i < c->ndevices; i++) {
		struct nv_err why = { 0 };
		snprintf(f, sizeof(f), "devices[%u]", i);
		if (virtio_device_type_check_option(c->devices[i], &why) < 0)
			return field_err(err, where, f, "%s", why.msg);
	}
	if (check_shares(c, where, err) < 0)
		return -1;
	unsigned nvirtio = c->ndisks + seed + c->nnics + c->ndevices + c->nshares;
	if (nvirtio > VM_MAX_VIRTIO) {
		char shares[48] = "";
		if (c->nshares == 1)
			snprintf(shares, sizeof(shares), " with a shared folder");
		else if (c->nshares)
			snprintf(shares, sizeof(shares), " with %u shared folders", c->nshares);
		return field_err(err, where, "devices", "%u disks, %u network adapters and %u devices%s are more "
				 "than the %d virtio devices a VM can have", c->ndisks + seed, c->nnics, c->ndevices,
				 shares, VM_MAX_VIRTIO);
	}
	if (!c->dynamic_memory_enabled)
		return 0;
	if (c->memory_min_mib < VM_MIN_MEMORY_MIB || c->memory_min_mib > c->memory_mib)
		return field_err(err, where, "dynamic_memory.min_mib",
				 "the minimum must be %d MiB..the startup memory (%llu MiB), not %llu MiB",
				 VM_MIN_MEMORY_MIB, (unsigned long long)c->memory_mib,
				 (unsigned long long)c->memory_min_mib);
	if (c->memory_max_mib < c->memory_mib || c->memory_max_mib > VM_MAX_MEMORY_MIB)
		return field_err(err, where, "dynamic_memory.max_mib",
				 "the maximum must be the startup memory (%llu MiB)..%llu MiB, not %llu MiB",
				 (unsigned long long)c->memory_mib, VM_MAX_MEMORY_MIB,
				 (unsigned long long)c->memory_max_mib);
	if (c->memory_buffer_pct < 5 || c->memory_buffer_pct > 2000)
		return field_err(err, where, "dynamic_memory.buffer_percent", "must be 5..2000, not %u",
				 c->memory_buffer_pct);
	if (c->memory_weight > 100)
		return field_err(err, where, "dynamic_memory.weight", "must be 0..100, not %u", c->memory_weight);
	if (!vm_config_has_device(c, "balloon") && nvirtio + 1 > VM_MAX_VIRTIO)
		return field_err(err, where, "devices", "dynamic memory's balloon needs a virtio device of the %d",
				 VM_MAX_VIRTIO);
	return 0;
}

bool vm_config_has_share(const struct vm_config *c)
{
	return c->nshares > 0;
}

int vm_config_add_share(struct vm_config *c, const char *dir, const char *tag, bool readonly,
			struct nv_err *err)
{
	if (c->nshares >= VM_SHARES_MAX)
		return nv_err_input(err, "at most %d shared folders", VM_SHARES_MAX);
	if (!vm_share_tag_valid(tag))
		return nv_err_input(err, "the tag '%.100s' is not 1-%d of A-Z a-z 0-9 _ . -", tag, VM_SHARE_TAG_MAX);
	int other = tag_used(c, c->nshares, tag);
	if (other >= 0)
		return nv_err_input(err, "the tag '%s' is already used by the shared folder %.200s", tag,
				    c->shares[other].dir);
	struct vm_share *s = &c->shares[c->nshares];
	if (strlen(dir) >= sizeof(s->dir))
		return nv_err_input(err, "the folder %.40s... is too long (at most %zu bytes)", dir, sizeof(s->dir) - 1);
	if (!path_ok(dir, false))
		return nv_err_input(err, "the folder '%.200s' is not an absolute path", dir);
	memcpy(s->dir, dir, strlen(dir) + 1);
	memcpy(s->tag, tag, strlen(tag) + 1);
	s->readonly = readonly;
	c->nshares++;
	return 0;
}

bool vm_share_tag_valid(const char *tag)
{
	size_t n = strlen(tag);
	if (n == 0 || n > VM_SHARE_TAG_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)tag[i]) && !strchr("_.-", tag[i]))
			return false;
	return true;
}

int vm_config_validate(const struct vm_config *c, const char *what, struct nv_err *err)
{
	char where[160];
	snprintf(where, sizeof(where), "%s%s", what && *what ? what : "", what && *what ? ": " : "");
	return validate_at(c, where, err);
}

/* ---- record -> JSON ---- */

static struct json_object *config_to_json(const struct vm_config *c)
{
	struct json_object *o = json_object_new_object(), *a;
	json_object_object_add(o, "name", json_object_new_string(c->name));
	json_object_object_add(o, "memory_mib", json_object_new_int64((int64_t)c->memory_mib));
	json_object_object_add(o, "cpus", json_object_new_int64(c->cpus));
	json_object_object_add(o, "kernel", json_object_new_string(c->kernel));
	json_object_object_add(o, "initrd", json_object_new_string(c->initrd));
	json_object_object_add(o, "append", json_object_new_string(c->append));
	a = json_object_new_array();
	for (unsigned i = 0; i < c->ndisks; i++) {
		struct json_object *d = json_object_new_object();
		json_object_object_add(d, "path", json_object_new_string(c->disks[i].path));
		json_object_object_add(d, "readonly", json_object_new_boolean(c->disks[i].readonly));
		json_object_array_add(a, d);
	}
	json_object_object_add(o, "disks", a);
	a = json_object_new_array();
	for (unsigned i = 0; i < c->nnics; i++) {
		struct json_object *n = json_object_new_object();
		char mac[18];
		mac_format(&c->nics[i].mac, mac);
		json_object_object_add(n, "switch", json_object_new_string(c->nics[i].switch_name));
		json_object_object_add(n, "mac", json_object_new_string(mac));
		json_object_object_add(n, "mac_spoofing", json_object_new_boolean(c->nics[i].mac_spoofing));
		json_object_array_add(a, n);
	}
	json_object_object_add(o, "nics", a);
	a = json_object_new_array();
	for (unsigned i = 0; i < c->ndevices; i++)
		json_object_array_add(a, json_object_new_string(c->devices[i]));
	json_object_object_add(o, "devices", a);
	json_object_object_add(o, "expose_virtualization_extensions",
			       json_object_new_boolean(c->expose_virtualization_extensions));
	json_object_object_add(o, "dynamic_memory_enabled", json_object_new_boolean(c->dynamic_memory_enabled));
	struct json_object *dm = json_object_new_object();
	json_object_object_add(dm, "min_mib", json_object_new_int64((int64_t)c->memory_min_mib));
	json_object_object_add(dm, "max_mib", json_object_new_int64((int64_t)c->memory_max_mib));
	json_object_object_add(dm, "buffer_percent", json_object_new_int64(c->memory_buffer_pct));
	json_object_object_add(dm, "weight", json_object_new_int64(c->memory_weight));
	json_object_object_add(o, "dynamic_memory", dm);
	json_object_object_add(o, "automatic_start_action",
			       json_object_new_string(vm_start_action_name(c->automatic_start_action)));
	json_object_object_add(o, "automatic_stop_action",
			       json_object_new_string(vm_stop_action_name(c->automatic_stop_action)));
	if (c->has_run_as)
		json_object_object_add(o, "run_as", identity_to_json(&c->run_as));
	if (vm_config_has_seed(c)) {
		const struct vm_cloud_init *ci = &c->cloud_init;
		struct json_object *s = json_object_new_object();
		json_object_object_add(s, "user_data", json_object_new_string(ci->user_data));
		json_object_object_add(s, "ssh_key", json_object_new_string(ci->ssh_key));
		json_object_object_add(s, "hostname", json_object_new_string(ci->hostname));
		json_object_object_add(s, "instance_id", json_object_new_string(ci->instance_id));
		json_object_object_add(s, "seed", json_object_new_string(ci->seed));
		json_object_object_add(o, "cloud_init", s);
	}
	return o;
}

struct json_object *vm_runtime_to_json(const struct vm_runtime *r)
{
	struct json_object *rt = json_object_new_object();
	json_object_object_add(rt, "state", json_object_new_string(vm_state_name(r->state)));
	json_object_object_add(rt, "pid", json_object_new_int64(r->pid));
	json_object_object_add(rt, "started_at", json_object_new_int64(r->started_at));
	json_object_object_add(rt, "last_stop", json_object_new_string(r->last_stop));
	json_object_object_add(rt, "running_at_host_stop", json_object_new_boolean(r->running_at_host_stop));
	return rt;
}

struct json_object *vm_record_to_json(const struct vm_record *r)
{
	struct json_object *doc = json_object_new_object();
	json_object_object_add(doc, "version", json_object_new_int(VM_CONFIG_VERSION));
	json_object_object_add(doc, "config", config_to_json(&r->config));
	json_object_object_add(doc, "runtime", vm_runtime_to_json(&r->runtime));
	return doc;
}

/* ---- JSON -> record: strict ---- */

struct pctx {
	const char *file;
	struct nv_err *err;
};

static int perr(const struct pctx *p, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int perr(const struct pctx *p, const char *path, const char *fmt, ...)
{
	char why[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return nv_err_input(p->err, "%s: %s: %s", p->file, path, why);
}

/* Every key of o must be in keys (NULL-terminated): a field we do not know
 * is a typo or a newer writer, and silently dropping it would lose it. */
static int only_keys(const struct pctx *p, struct json_object *o, const char *path,
		     const char *const *keys)
{
	json_object_object_foreach(o, key, val) {
		(void)val;
		bool known = false;
		for (const char *const *k = keys; *k && !known; k++)
			known = !strcmp(key, *k);
		if (!known) {
			char f[200];
			snprintf(f, sizeof(f), "%s%s%.100s", path, *path ? "." : "", key);
			return perr(p, f, "unknown field");
		}
	}
	return 0;
}

/* The member key of o with type t, or NULL with the error set. */
static struct json_object *member(const struct pctx *p, struct json_object *o, const char *path,
				  const char *key, enum json_type t)
{
	static const char *const what[] = {
		[json_type_null] = "null", [json_type_boolean] = "true or false",
		[json_type_double] = "a number", [json_type_int] = "an integer",
		[json_type_object] = "an object", [json_type_array] = "an array",
		[json_type_string] = "a string",
	};
	char f[200];
	struct json_object *v;
	snprintf(f, sizeof(f), "%s%s%s", path, *path ? "." : "", key);
	if (!json_object_object_get_ex(o, key, &v)) {
		perr(p, f, "missing");
		return NULL;
	}
	if (!json_object_is_type(v, t)) {
		perr(p, f, "must be %s", what[t]);
		return NULL;
	}
	return v;
}

static int get_string(const struct pctx *p, struct json_object *o, const char *path, const char *key,
		      char *out, size_t size)
{
	struct json_object *v = member(p, o, path, key, json_type_string);
	if (!v)
		return -1;
	const char *s = json_object_get_string(v);
	if (strlen(s) >= size || (int)strlen(s) != json_object_get_string_len(v)) {
		char f[200];
		snprintf(f, sizeof(f), "%s.%s", path, key);
		return perr(p, f, "too long or contains a NUL (at most %zu characters)", size - 1);
	}
	strcpy(out, s);
	return 0;
}

static int get_int(const struct pctx *p, struct json_object *o, const char *path, const char *key,
		   int64_t *out)
{
	struct json_object *v = member(p, o, path, key, json_type_int);
	if (!v)
		return -1;
	*out = json_object_get_int64(v);
	return 0;
}

static int get_bool(const struct pctx *p, struct json_object *o, const char *path, const char *key,
		    bool *out)
{
	struct json_object *v = member(p, o, path, key, json_type_boolean);
	if (!v)
		return -1;
	*out = json_object_get_boolean(v);
	return 0;
}

static int parse_disks(const struct pctx *p, struct json_object *a, struct vm_config *c)
{
	static const char *const keys[] = { "path", "readonly", NULL };
	size_t n = json_object_array_length(a);
	if (n > VM_MAX_DISKS)
		return perr(p, "config.disks", "more than %d disks", VM_MAX_DISKS);
	for (size_t i = 0; i < n; i++) {
		char path[48];
		struct json_object *d = json_object_array_get_idx(a, i);
		snprintf(path, sizeof(path), "config.disks[%zu]", i);
		if (!json_object_is_type(d, json_type_object))
			return perr(p, path, "must be an object");
		if (only_keys(p, d, path, keys) < 0 ||
		    get_string(p, d, path, "path", c->disks[i].path, sizeof(c->disks[i].path)) < 0 ||
		    get_bool(p, d, path, "readonly", &c->disks[i].readonly) < 0)
			return -1;
	}
	c->ndisks = (unsigned)n;
	return 0;
}

static int parse_nics(const struct pctx *p, struct json_object *a, struct vm_config *c)
{
	static const char *const keys[] = { "switch", "mac", "mac_spoofing", NULL };
	size_t n = json_object_array_length(a);
	if (n > VM_MAX_NICS)
		return perr(p, "config.nics", "more than %d network adapters", VM_MAX_NICS);
	for (size_t i = 0; i < n; i++) {
		char path[48], mac[32], f[64];
		struct json_object *o = json_object_array_get_idx(a, i);
		struct vm_nic *nic = &c->nics[i];
		snprintf(path, sizeof(path), "config.nics[%zu]", i);
		if (!json_object_is_type(o, json_type_object))
			return perr(p, path, "must be an object");
		if (only_keys(p, o, path, keys) < 0 ||
		    get_string(p, o, path, "switch", nic->switch_name, sizeof(nic->switch_name)) < 0 ||
		    get_string(p, o, path, "mac", mac, sizeof(mac)) < 0 ||
		    get_bool(p, o, path, "mac_spoofing", &nic->mac_spoofing) < 0)
			return -1;
		snprintf(f, sizeof(f), "%s.mac", path);
		if (mac_parse(mac, &nic->mac) < 0)
			return perr(p, f, "not a MAC address ('%s')", mac);
	}
	c->nnics = (unsigned)n;
	return 0;
}

static int parse_devices(const struct pctx *p, struct json_object *a, struct vm_config *c)
{
	if (!json_object_is_type(a, json_type_array))
		return perr(p, "config.devices", "must be an array of device names");
	size_t n = json_object_array_length(a);
	if (n > VM_MAX_DEVICES)
		return perr(p, "config.devices", "more than %d devices", VM_MAX_DEVICES);
	for (size_t i = 0; i < n; i++) {
		struct json_object *d = json_object_array_get_idx(a, i);
		char path[48];
		snprintf(path, sizeof(path), "config.devices[%zu]", i);
		if (!json_object_is_type(d, json_type_string))
			return perr(p, path, "must be a string");
		const char *name = json_object_get_string(d);
		if (strlen(name) >= VM_DEVICE_NAME_MAX)
			return perr(p, path, "'%.20s...' is too long", name);
		snprintf(c->devices[i], sizeof(c->devices[i]), "%s", name);
	}
	c->ndevices = (unsigned)n;
	return 0;
}

/* Optional (none: no seed). Its values are checked again only as paths:
 * the seed was made from them when they were given. */
static int parse_cloud_init(const struct pctx *p, struct json_object *o, struct vm_cloud_init *ci)
{
	static const char *const keys[] = { "user_data", "ssh_key", "hostname", "instance_id", "seed", NULL };
	const char *at = "config.cloud_init";
	if (!json_object_is_type(o, json_type_object))
		return perr(p, at, "must be an object");
	if (only_keys(p, o, at, keys) < 0 || get_string(p, o, at, "user_data", ci->user_data, sizeof(ci->user_data)) < 0 ||
	    get_string(p, o, at, "ssh_key", ci->ssh_key, sizeof(ci->ssh_key)) < 0 ||
	    get_string(p, o, at, "hostname", ci->hostname, sizeof(ci->hostname)) < 0 ||
	    get_string(p, o, at, "instance_id", ci->instance_id, sizeof(ci->instance_id)) < 0 ||
	    get_string(p, o, at, "seed", ci->seed, sizeof(ci->seed)) < 0)
		return -1;
	if (!ci->seed[0])
		return perr(p, "config.cloud_init.seed", "must name the seed image");
	return 0;
}

/* Optional (records from before dynamic memory): the defaults for the
 * startup memory, set by the caller after memory_mib. Narrowed only after
 * the range checks. */
static int parse_dynamic(const struct pctx *p, struct json_object *o, struct vm_config *c)
{
	static const char *const keys[] = { "min_mib", "max_mib", "buffer_percent", "weight", NULL };
	int64_t min, max, buffer, weight;
	if (!json_object_is_type(o, json_type_object))
		return perr(p, "config.dynamic_memory", "must be an object");
	if (only_keys(p, o, "config.dynamic_memory", keys) < 0 ||
	    get_int(p, o, "config.dynamic_memory", "min_mib", &min) < 0 ||
	    get_int(p, o, "config.dynamic_memory", "max_mib", &max) < 0 ||
	    get_int(p, o, "config.dynamic_memory", "buffer_percent", &buffer) < 0 ||
	    get_int(p, o, "config.dynamic_memory", "weight", &weight) < 0)
		return -1;
	if (min < 0 || (uint64_t)min > VM_MAX_MEMORY_MIB)
		return perr(p, "config.dynamic_memory.min_mib", "must be 0..%llu, not %lld", VM_MAX_MEMORY_MIB,
			    (long long)min);
	if (max < 0 || (uint64_t)max > VM_MAX_MEMORY_MIB)
		return perr(p, "config.dynamic_memory.max_mib", "must be 0..%llu, not %lld", VM_MAX_MEMORY_MIB,
			    (long long)max);
	if (buffer < 0 || buffer > 2000)
		return perr(p, "config.dynamic_memory.buffer_percent", "must be 5..2000, not %lld", (long long)buffer);
	if (weight < 0 || weight > 100)
		return perr(p, "config.dynamic_memory.weight", "must be 0..100, not %lld", (long long)weight);
	c->memory_min_mib = (uint64_t)min;
	c->memory_max_mib = (uint64_t)max;
	c->memory_buffer_pct = (unsigned)buffer;
	c->memory_weight = (unsigned)weight;
	return 0;
}

static int parse_config(const struct pctx *p, struct json_object *o, struct vm_config *c)
{
	static const char *const keys[] = { "name", "memory_mib", "cpus", "kernel", "initrd", "append",
					    "disks", "nics", "devices", "expose_virtualization_extensions",
					    "dynamic_memory_enabled", "dynamic_memory", "automatic_start_action",
					    "automatic_stop_action", "run_as", "cloud_init", NULL };
	int64_t mem, cpus;
	struct json_object *disks, *nics, *devices;
	if (only_keys(p, o, "config", keys) < 0 ||
	    get_string(p, o, "config", "name", c->name, sizeof(c->name)) < 0 ||
	    get_int(p, o, "config", "memory_mib", &mem) < 0 ||
	    get_int(p, o, "config", "cpus", &cpus) < 0 ||
	    get_string(p, o, "config", "kernel", c->kernel, sizeof(c->kernel)) < 0 ||
	    get_string(p, o, "config", "initrd", c->initrd, sizeof(c->initrd)) < 0 ||
	    get_string(p, o, "config", "append", c->append, sizeof(c->append)) < 0 ||
	    !(disks = member(p, o, "config", "disks", json_type_array)) || parse_disks(p, disks, c) < 0 ||
	    !(nics = member(p, o, "config", "nics", json_type_array)) || parse_nics(p, nics, c) < 0 ||
	    get_bool(p, o, "config", "expose_virtualization_extensions",
		     &c->expose_virtualization_extensions) < 0 ||
	    get_bool(p, o, "config", "dynamic_memory_enabled", &c->dynamic_memory_enabled) < 0)
		return -1;
	/* Optional: records from before devices existed have none. */
	if (json_object_object_get_ex(o, "devices", &devices) && parse_devices(p, devices, c) < 0)
		return -1;
	/* Optional too (older records): Hyper-V's defaults. */
	char action[32];
	if (json_object_object_get_ex(o, "automatic_start_action", &devices) &&
	    (get_string(p, o, "config", "automatic_start_action", action, sizeof(action)) < 0 ||
	     vm_start_action_parse(action, &c->automatic_start_action) < 0))
		return perr(p, "config.automatic_start_action", "must be nothing, start or start-if-running");
	if (json_object_object_get_ex(o, "automatic_stop_action", &devices) &&
	    (get_string(p, o, "config", "automatic_stop_action", action, sizeof(action)) < 0 ||
	     vm_stop_action_parse(action, &c->automatic_stop_action) < 0))
		return perr(p, "config.automatic_stop_action", "must be turn-off, shutdown or save");
	bool have_dynamic = json_object_object_get_ex(o, "dynamic_memory", &devices);
	if (have_dynamic && parse_dynamic(p, devices, c) < 0)
		return -1;
	/* Optional: the VMM keeps the uid that started it. */
	const char *why;
	if (json_object_object_get_ex(o, "run_as", &devices)) {
		if (identity_from_json(devices, &c->run_as, &why) < 0)
			return perr(p, "config.run_as", "%s", why);
		c->has_run_as = true;
	}
	if (json_object_object_get_ex(o, "cloud_init", &devices) && parse_cloud_init(p, devices, &c->cloud_init) < 0)
		return -1;
	/* Range-check before narrowing, so that 2^32+1 CPUs is not 1. */
	if (mem < VM_MIN_MEMORY_MIB || (uint64_t)mem > VM_MAX_MEMORY_MIB)
		return perr(p, "config.memory_mib", "must be %d..%llu (MiB), not %lld", VM_MIN_MEMORY_MIB,
			    VM_MAX_MEMORY_MIB, (long long)mem);
	if (cpus < 1 || cpus > VM_MAX_CPUS)
		return perr(p, "config.cpus", "must be 1..%d, not %lld", VM_MAX_CPUS, (long long)cpus);
	c->memory_mib = (uint64_t)mem;
	c->cpus = (unsigned)cpus;
	if (!have_dynamic)
		vm_config_dynamic_defaults(c);
	char where[VM_PATH_MAX + 32];
	snprintf(where, sizeof(where), "%s: config.", p->file);
	return validate_at(c, where, p->err);
}

static int parse_runtime(const struct pctx *p, struct json_object *o, struct vm_runtime *rt)
{
	static const char *const keys[] = { "state", "pid", "started_at", "last_stop", "running_at_host_stop",
					    NULL };
	char state[32];
	int64_t pid;
	if (only_keys(p, o, "runtime", keys) < 0 ||
	    get_string(p, o, "runtime", "state", state, sizeof(state)) < 0 ||
	    get_int(p, o, "runtime", "pid", &pid) < 0 ||
	    get_int(p, o, "runtime", "started_at", &rt->started_at) < 0 ||
	    get_string(p, o, "runtime", "last_stop", rt->last_stop, sizeof(rt->last_stop)) < 0)
		return -1;
	if (json_object_object_get_ex(o, "running_at_host_stop", NULL) &&
	    get_bool(p, o, "runtime", "running_at_host_stop", &rt->running_at_host_stop) < 0)
		return -1;
	if (vm_state_parse(state, &rt->state) < 0)
		return perr(p, "runtime.state", "must be Off, Starting, Running, Stopping, Paused, Saved or Receiving, not '%s'", state);
	if (pid < 0 || pid > 0x7fffffff)
		return perr(p, "runtime.pid", "must be a process id, not %lld", (long long)pid);
	rt->pid = (pid_t)pid;
	return 0;
}

int vm_record_from_json(struct json_object *doc, const char *file, struct vm_record *r,
			struct nv_err *err)
{
	static const char *const keys[] = { "version", "config", "runtime", NULL };
	struct pctx p = { file ? file : "vm.json", err };
	struct json_object *v;
	int64_t version;
	memset(r, 0, sizeof(*r));
	if (!json_object_is_type(doc, json_type_object))
		return nv_err_input(err, "%s: not a JSON object (corrupt? fix it or delete the VM)", p.file);
	/* The version first: a newer document's other fields may not be ours. */
	if (get_int(&p, doc, "", "version", &version) < 0)
		return -1;
	if (version > VM_CONFIG_VERSION)
		return perr(&p, "version", "%lld was written by a newer nestvm (this one reads version %d)",
			    (long long)version, VM_CONFIG_VERSION);
	if (version != VM_CONFIG_VERSION)
		return perr(&p, "version", "must be %d, not %lld", VM_CONFIG_VERSION, (long long)version);
	if (only_keys(&p, doc, "", keys) < 0 || !(v = member(&p, doc, "", "config", json_type_object)) ||
	    parse_config(&p, v, &r->config) < 0 ||
	    !(v = member(&p, doc, "", "runtime", json_type_object)) || parse_runtime(&p, v, &r->runtime) < 0)
		return -1;
	return 0;
}

int vm_runtime_from_json(struct json_object *o, const char *file, struct vm_runtime *rt, struct nv_err *err)
{
	struct pctx p = { file, err };
	memset(rt, 0, sizeof(*rt));
	if (!json_object_is_type(o, json_type_object))
		return perr(&p, "runtime", "must be an object");
	return parse_runtime(&p, o, rt);
}

/* Only white space in text[from, len): the text need not end in a NUL (a
 * migration's CONFIG is followed by the next message's bytes, or nothing). */
static bool blank_to_end(const char *text, size_t from, size_t len)
{
	for (size_t i = from; i < len; i++)
		if (!strchr(" \t\r\n", text[i]) || !text[i])
			return false;
	return true;
}

int vm_record_parse_text(const char *text, size_t len, const char *file, struct vm_record *r,
			 struct nv_err *err)
{
	struct json_tokener *tok = json_tokener_new();
	if (!tok)
		return nv_err_host(err, "%s: out of memory", file);
	struct json_object *doc = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error je = json_tokener_get_error(tok);
	int ret;
	if (!doc && je == json_tokener_continue)
		ret = nv_err_input(err, "%s: not valid JSON: it ends too early (truncated?)", file);
	else if (!doc)
		ret = nv_err_input(err, "%s: not valid JSON: %s", file, json_tokener_error_desc(je));
	else if (!blank_to_end(text, json_tokener_get_parse_end(tok), len))
		ret = nv_err_input(err, "%s: not valid JSON: text after the document", file);
	else
		ret = vm_record_from_json(doc, file, r, err);
	json_object_put(doc);
	json_tokener_free(tok);
	return ret;
}
