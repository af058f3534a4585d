/* A VM's record (vm.json): defaults, validation, the JSON round trip, and
 * strict parsing where every malformed document gives one line naming the
 * file and the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "mgmt/vm_config.h"

#define FILE_NAME "/h/vms/web1/vm.json"

static void assert_contains(const char *s, const char *sub)
{
	if (!strstr(s, sub))
		fail_msg("'%s' does not contain '%s'", s, sub);
}

static void sample(struct vm_record *r)
{
	memset(r, 0, sizeof(*r));
	vm_config_defaults(&r->config, "web1");
	struct vm_config *c = &r->config;
	c->cpus = 2;
	c->memory_mib = 2048;
	strcpy(c->kernel, "/boot/vmlinuz");
	strcpy(c->append, "console=ttyS0 quiet");
	strcpy(c->disks[0].path, "/img/a.img");
	strcpy(c->disks[1].path, "/img/b.img");
	c->disks[1].readonly = true;
	c->ndisks = 2;
	strcpy(c->nics[0].switch_name, "wan");
	mac_generate("web1", 0, &c->nics[0].mac);
	strcpy(c->nics[1].switch_name, "lan");
	mac_parse("52:54:00:00:00:0a", &c->nics[1].mac);
	c->nics[1].mac_spoofing = true;
	c->nnics = 2;
	strcpy(c->devices[0], "rng");
	c->ndevices = 1;
	c->expose_virtualization_extensions = true;
	r->runtime.state = VM_STATE_RUNNING;
	r->runtime.pid = 4242;
	r->runtime.started_at = 1700000000;
	strcpy(r->runtime.last_stop, "guest powered off");
}

static void test_defaults_and_states(void **state)
{
	(void)state;
	struct vm_config c;
	vm_config_defaults(&c, "a");
	assert_int_equal(c.memory_mib, 512);
	assert_int_equal(c.cpus, 1);
	assert_int_equal(c.nnics, 0);
	assert_false(c.expose_virtualization_extensions);
	struct nv_err e = { 0 };
	assert_int_equal(vm_config_validate(&c, "a", &e), 0);
	enum vm_state s;
	for (int i = 0; i <= VM_STATE_SAVED; i++) {
		assert_int_equal(vm_state_parse(vm_state_name((enum vm_state)i), &s), 0);
		assert_int_equal(s, i);
	}
	assert_string_equal(vm_state_name(VM_STATE_STOPPING), "Stopping");
	assert_string_equal(vm_state_name(VM_STATE_SAVED), "Saved");
	assert_int_equal(vm_state_parse("running", &s), -1);
}

static void test_validate(void **state)
{
	(void)state;
	struct vm_record r;
	struct nv_err e = { 0 };
	sample(&r);
	assert_int_equal(vm_config_validate(&r.config, "web1", &e), 0);
	r.config.cpus = 0;
	assert_int_equal(vm_config_validate(&r.config, "web1", &e), -1);
	assert_contains(e.msg, "cpus: must be 1..255");
	sample(&r);
	r.config.memory_mib = 8;
	assert_int_equal(vm_config_validate(&r.config, "web1", &e), -1);
	assert_contains(e.msg, "memory_mib");
	sample(&r);
	strcpy(r.config.disks[1].path, "rel.img");
	assert_int_equal(vm_config_validate(&r.config, "web1", &e), -1);
	assert_contains(e.msg, "disks[1].path");
	sample(&r);
	r.config.nics[0].mac.b[0] = 1;
	assert_int_equal(vm_config_validate(&r.config, "web1", &e), -1);
	assert_contains(e.msg, "nics[0].mac");
	assert_contains(e.msg, "multicast");
	sample(&r);
	strcpy(r.config.nics[1].switch_name, "bad/name");
	assert_int_equal(vm_config_validate(&r.config, "web1", &e), -1);
	assert_contains(e.msg, "nics[1].switch");
	sample(&r);
	r.config.dynamic_memory_enabled = true;
	vm_config_dynamic_defaults(&r.config);
	assert_int_equal(vm_config_validate(&r.config, "web1", &e), 0);
	r.config.memory_max_mib = r.config.memory_mib - 1;
	assert_int_equal(vm_config_validate(&r.config, "web1", &e), -1);
	assert_contains(e.msg, "dynamic_memory.max_mib: the maximum must be the startup memory");
	vm_config_dynamic_defaults(&r.config);
	r.config.memory_min_mib = r.config.memory_mib + 1;
	assert_int_equal(vm_config_validate(&r.config, "web1", &e), -1);
	assert_contains(e.msg, "dynamic_memory.min_mib");
	vm_config_dynamic_defaults(&r.config);
	r.config.memory_buffer_pct = 4;
	assert_int_equal(vm_config_validate(&r.config, "web1", &e), -1);
	assert_contains(e.msg, "dynamic_memory.buffer_percent: must be 5..2000, not 4");
	vm_config_dynamic_defaults(&r.config);
	r.config.memory_weight = 101;
	assert_int_equal(vm_config_validate(&r.config, "web1", &e), -1);
	assert_contains(e.msg, "dynamic_memory.weight");
	sample(&r);
	strcpy(r.config.name, ".hidden");
	assert_int_equal(vm_config_validate(&r.config, "x", &e), -1);
	assert_contains(e.msg, "name");
}

/* Records written before devices existed have no "devices": none. */
/* --share: an absolute folder and a tag virtio-fs can carry; it takes a
 * virtio window; the record does not keep it (run's only, for now). */
static void test_share(void **state)
{
	(void)state;
	static struct vm_config c;
	struct nv_err err = { 0 };
	vm_config_defaults(&c, "web1");
	assert_false(vm_config_has_share(&c));
	assert_int_equal(vm_config_add_share(&c, "/srv/data", "data-1.x_y", false, &err), 0);
	assert_true(vm_config_has_share(&c));
	assert_int_equal(vm_config_validate(&c, NULL, &err), 0);
	/* Built by hand, not through vm_config_add_share: validation still
	 * says which share is wrong. */
	snprintf(c.shares[0].dir, sizeof(c.shares[0].dir), "srv/data");
	assert_int_equal(vm_config_validate(&c, NULL, &err), -1);
	assert_contains(err.msg, "shares[0].dir: 'srv/data' is not an absolute path");
	snprintf(c.shares[0].dir, sizeof(c.shares[0].dir), "/srv/data");
	snprintf(c.shares[0].tag, sizeof(c.shares[0].tag), "a/b");
	assert_int_equal(vm_config_validate(&c, NULL, &err), -1);
	assert_contains(err.msg, "shares[0].tag");
	c.shares[0].tag[0] = '\0';
	assert_false(vm_share_tag_valid(c.shares[0].tag));
	assert_true(vm_share_tag_valid("abcdefghijklmnopqrstuvwxyz0123456789"));
	assert_false(vm_share_tag_valid("abcdefghijklmnopqrstuvwxyz0123456789a"));
	snprintf(c.shares[0].tag, sizeof(c.shares[0].tag), "data");
	c.shares[1] = c.shares[0];
	c.nshares = 2;
	assert_int_equal(vm_config_validate(&c, NULL, &err), -1);
	assert_contains(err.msg, "shares[1].tag: 'data' is already shares[0]'s tag");
	c.nshares = VM_SHARES_MAX + 1;
	assert_int_equal(vm_config_validate(&c, NULL, &err), -1);
	assert_contains(err.msg, "shares: more than 8 shared folders");
	c.nshares = 1;
	/* 8 disks and 8 devices fill the 16 windows: no room for it. */
	c.ndisks = 8;
	for (unsigned i = 0; i < c.ndisks; i++)
		snprintf(c.disks[i].path, sizeof(c.disks[i].path), "/d%u.img", i);
	c.ndevices = VM_MAX_DEVICES;
	for (unsigned i = 0; i < c.ndevices; i++)
		snprintf(c.devices[i], sizeof(c.devices[i]), "rng");
	assert_int_equal(vm_config_validate(&c, NULL, &err), -1);
	assert_contains(err.msg, "8 disks, 0 network adapters and 8 devices with a shared folder are more than");
	c.nshares = 0;
	assert_int_equal(vm_config_validate(&c, NULL, &err), 0);
}

/* Adds n shares /srv/s0.. tagged t0..; asserts each is taken. */
static void add_shares(struct vm_config *c, unsigned n)
{
	struct nv_err err = { 0 };
	for (unsigned i = 0; i < n; i++) {
		char dir[32], tag[8];
		snprintf(dir, sizeof(dir), "/srv/s%u", i);
		snprintf(tag, sizeof(tag), "t%u", i);
		assert_int_equal(vm_config_add_share(c, dir, tag, i % 2 == 1, &err), 0);
	}
}

/* Eight shares, kept in the order given, each with its own settings. */
static void test_add_share_keeps_order(void **state)
{
	(void)state;
	static struct vm_config c;
	struct nv_err err = { 0 };
	vm_config_defaults(&c, "web1");
	add_shares(&c, VM_SHARES_MAX);
	assert_int_equal(c.nshares, VM_SHARES_MAX);
	for (unsigned i = 0; i < VM_SHARES_MAX; i++) {
		char dir[32], tag[8];
		snprintf(dir, sizeof(dir), "/srv/s%u", i);
		snprintf(tag, sizeof(tag), "t%u", i);
		assert_string_equal(c.shares[i].dir, dir);
		assert_string_equal(c.shares[i].tag, tag);
		assert_int_equal(c.shares[i].readonly, i % 2 == 1);
	}
	assert_int_equal(vm_config_validate(&c, NULL, &err), 0);
	/* The same folder twice under two tags is fine (say, once readonly). */
	static struct vm_config d;
	vm_config_defaults(&d, "web2");
	assert_int_equal(vm_config_add_share(&d, "/srv/data", "rw", false, &err), 0);
	assert_int_equal(vm_config_add_share(&d, "/srv/data", "ro", true, &err), 0);
	assert_int_equal(d.nshares, 2);
	assert_int_equal(vm_config_validate(&d, NULL, &err), 0);
}

/* Refusals: one line naming the problem, the config unchanged. */
static void test_add_share_refusals(void **state)
{
	(void)state;
	static struct vm_config c, before;
	struct nv_err err = { 0 };
	vm_config_defaults(&c, "web1");
	add_shares(&c, 2);
	before = c;

	assert_int_equal(vm_config_add_share(&c, "/srv/other", "t1", false, &err), -1);
	assert_int_equal(err.kind, NV_ERR_INPUT);
	assert_string_equal(err.msg, "the tag 't1' is already used by the shared folder /srv/s1");

	assert_int_equal(vm_config_add_share(&c, "/srv/other", "a b", false, &err), -1);
	assert_int_equal(err.kind, NV_ERR_INPUT);
	assert_string_equal(err.msg, "the tag 'a b' is not 1-36 of A-Z a-z 0-9 _ . -");
	assert_int_equal(vm_config_add_share(&c, "/srv/other", "", false, &err), -1);
	assert_contains(err.msg, "the tag '' is not");
	assert_int_equal(vm_config_add_share(&c, "/srv/other", "abcdefghijklmnopqrstuvwxyz0123456789a", false, &err), -1);
	assert_contains(err.msg, "is not 1-36");

	static char long_dir[VM_PATH_MAX + 8];
	memset(long_dir, 'd', sizeof(long_dir) - 1);
	long_dir[0] = '/';
	assert_int_equal(vm_config_add_share(&c, long_dir, "long", false, &err), -1);
	assert_int_equal(err.kind, NV_ERR_INPUT);
	assert_contains(err.msg, "is too long (at most 1023 bytes)");
	assert_null(strchr(err.msg, '\n'));
	assert_int_equal(vm_config_add_share(&c, "srv/rel", "rel", false, &err), -1);
	assert_string_equal(err.msg, "the folder 'srv/rel' is not an absolute path");
	assert_int_equal(memcmp(&c, &before, sizeof(c)), 0);

	/* The ninth. */
	vm_config_defaults(&c, "web1");
	add_shares(&c, VM_SHARES_MAX);
	before = c;
	assert_int_equal(vm_config_add_share(&c, "/srv/ninth", "t8", false, &err), -1);
	assert_int_equal(err.kind, NV_ERR_INPUT);
	assert_string_equal(err.msg, "at most 8 shared folders");
	assert_int_equal(memcmp(&c, &before, sizeof(c)), 0);
}

/* Shares count toward the 16 virtio devices: 8 shares, 4 disks, 2
 * adapters and 2 devices fill them; one more disk is refused in one line. */
static void test_shares_count_as_virtio(void **state)
{
	(void)state;
	static struct vm_config c;
	struct nv_err err = { 0 };
	vm_config_defaults(&c, "web1");
	add_shares(&c, VM_SHARES_MAX);
	c.ndisks = 4;
	for (unsigned i = 0; i < c.ndisks; i++)
		snprintf(c.disks[i].path, sizeof(c.disks[i].path), "/d%u.img", i);
	c.nnics = 2;
	for (unsigned i = 0; i < c.nnics; i++) {
		snprintf(c.nics[i].switch_name, sizeof(c.nics[i].switch_name), "wan");
		c.nics[i].mac = (struct mac_addr){ { 0x52, 0x54, 0, 0, 0, (uint8_t)(i + 1) } };
	}
	c.ndevices = 2;
	snprintf(c.devices[0], sizeof(c.devices[0]), "rng");
	snprintf(c.devices[1], sizeof(c.devices[1]), "balloon");
	assert_int_equal(vm_config_validate(&c, NULL, &err), 0);
	snprintf(c.disks[c.ndisks++].path, sizeof(c.disks[0].path), "/d4.img");
	assert_int_equal(vm_config_validate(&c, NULL, &err), -1);
	assert_string_equal(err.msg, "devices: 5 disks, 2 network adapters and 2 devices with 8 shared folders "
			    "are more than the 16 virtio devices a VM can have");
}

static void test_devices_optional(void **state)
{
	(void)state;
	struct vm_record r, back;
	struct nv_err e = { 0 };
	sample(&r);
	struct json_object *doc = vm_record_to_json(&r);
	json_object_object_del(json_object_object_get(doc, "config"), "devices");
	const char *text = json_object_to_json_string(doc);
	assert_int_equal(vm_record_parse_text(text, strlen(text), FILE_NAME, &back, &e), 0);
	json_object_put(doc);
	assert_int_equal(back.config.ndevices, 0);
}

/* Records written before the automatic actions: Hyper-V's defaults. */
static void test_automatic_actions_optional(void **state)
{
	(void)state;
	struct vm_record r, back;
	struct nv_err e = { 0 };
	sample(&r);
	r.config.automatic_start_action = VM_START_ALWAYS;
	r.config.automatic_stop_action = VM_STOP_TURN_OFF;
	r.runtime.running_at_host_stop = true;
	struct json_object *doc = vm_record_to_json(&r);
	const char *text = json_object_to_json_string(doc);
	assert_int_equal(vm_record_parse_text(text, strlen(text), FILE_NAME, &back, &e), 0);
	assert_int_equal(back.config.automatic_start_action, VM_START_ALWAYS);
	assert_int_equal(back.config.automatic_stop_action, VM_STOP_TURN_OFF);
	assert_true(back.runtime.running_at_host_stop);
	json_object_object_del(json_object_object_get(doc, "config"), "automatic_start_action");
	json_object_object_del(json_object_object_get(doc, "config"), "automatic_stop_action");
	json_object_object_del(json_object_object_get(doc, "runtime"), "running_at_host_stop");
	text = json_object_to_json_string(doc);
	assert_int_equal(vm_record_parse_text(text, strlen(text), FILE_NAME, &back, &e), 0);
	json_object_put(doc);
	assert_int_equal(back.config.automatic_start_action, VM_START_IF_RUNNING);
	assert_int_equal(back.config.automatic_stop_action, VM_STOP_SAVE);
	assert_false(back.runtime.running_at_host_stop);
	enum vm_start_action a;
	enum vm_stop_action o;
	assert_int_equal(vm_start_action_parse("Start", &a), -1); /* nestvm's words, exactly */
	assert_int_equal(vm_stop_action_parse("hibernate", &o), -1);
	assert_string_equal(vm_start_action_name(VM_START_IF_RUNNING), "start-if-running");
	assert_string_equal(vm_stop_action_name(VM_STOP_SHUTDOWN), "shutdown");
}

/* --run-as in the record: kept exactly, absent in older records, never
 * root, never a name that would put control characters on a terminal. */
static void test_run_as(void **state)
{
	(void)state;
	struct vm_record r, back;
	struct nv_err e = { 0 };
	sample(&r);
	assert_false(r.config.has_run_as);
	r.config.has_run_as = true;
	r.config.run_as = (struct identity){ .uid = 65534, .gid = 65533, .name = "nobody" };
	struct json_object *doc = vm_record_to_json(&r);
	const char *text = json_object_to_json_string(doc);
	assert_contains(text, "\"run_as\": { \"uid\": 65534, \"gid\": 65533, \"name\": \"nobody\" }");
	assert_int_equal(vm_record_parse_text(text, strlen(text), FILE_NAME, &back, &e), 0);
	assert_true(back.config.has_run_as);
	assert_int_equal(back.config.run_as.uid, 65534);
	assert_int_equal(back.config.run_as.gid, 65533);
	assert_string_equal(back.config.run_as.name, "nobody");
	struct json_object *cfg = json_object_object_get(doc, "config");
	const char *bad[][2] = {
		{ "{\"uid\":0,\"gid\":0,\"name\":\"root\"}", "config.run_as: has a uid or gid out of range (root" },
		{ "{\"uid\":5,\"gid\":5}", "config.run_as: is not {\"uid\":N,\"gid\":N,\"name\":\"USER\"}" },
		{ "{\"uid\":5,\"gid\":5,\"name\":\"x\",\"home\":\"/\"}", "config.run_as: is not {" },
		{ "{\"uid\":5,\"gid\":-1,\"name\":\"x\"}", "config.run_as: has a uid or gid out of range" },
		{ "{\"uid\":5,\"gid\":5,\"name\":\"\"}", "config.run_as: has no name" },
		{ "{\"uid\":5,\"gid\":5,\"name\":\"a\\u001b[2J\"}", "config.run_as: has a name with control characters" },
		{ "\"nobody\"", "config.run_as: is not {" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_object_object_add(cfg, "run_as", json_tokener_parse(bad[i][0]));
		text = json_object_to_json_string(doc);
		memset(&e, 0, sizeof(e));
		assert_int_equal(vm_record_parse_text(text, strlen(text), FILE_NAME, &back, &e), -1);
		assert_contains(e.msg, bad[i][1]);
	}
	json_object_object_del(cfg, "run_as"); /* older records: the VMM keeps its uid */
	text = json_object_to_json_string(doc);
	assert_int_equal(vm_record_parse_text(text, strlen(text), FILE_NAME, &back, &e), 0);
	assert_false(back.config.has_run_as);
	json_object_put(doc);
}

/* A VMM's status file is the record's "runtime" object, parsed as strictly. */
static void test_runtime_alone(void **state)
{
	(void)state;
	struct vm_record r;
	struct vm_runtime back;
	struct nv_err e = { 0 };
	sample(&r);
	struct json_object *o = vm_runtime_to_json(&r.runtime);
	assert_int_equal(vm_runtime_from_json(o, "status.json", &back, &e), 0);
	assert_int_equal(back.state, VM_STATE_RUNNING);
	assert_int_equal(back.pid, 4242);
	assert_int_equal(back.started_at, 1700000000);
	assert_string_equal(back.last_stop, "guest powered off");
	json_object_object_add(o, "config", json_object_new_object());
	assert_int_equal(vm_runtime_from_json(o, "status.json", &back, &e), -1);
	assert_contains(e.msg, "status.json: runtime.config: unknown field");
	json_object_put(o);
	o = json_tokener_parse("[1]");
	assert_int_equal(vm_runtime_from_json(o, "status.json", &back, &e), -1);
	assert_contains(e.msg, "status.json: runtime: must be an object");
	json_object_put(o);
}

static void test_round_trip(void **state)
{
	(void)state;
	struct vm_record r, back;
	struct nv_err e = { 0 };
	sample(&r);
	struct json_object *doc = vm_record_to_json(&r);
	const char *text = json_object_to_json_string(doc);
	assert_int_equal(vm_record_parse_text(text, strlen(text), FILE_NAME, &back, &e), 0);
	json_object_put(doc);
	assert_memory_equal(&r.config, &back.config, sizeof(r.config));
	assert_int_equal(back.runtime.state, VM_STATE_RUNNING);
	assert_int_equal(back.runtime.pid, 4242);
	assert_int_equal(back.runtime.started_at, 1700000000);
	assert_string_equal(back.runtime.last_stop, "guest powered off");
}

/* Parses the sample with one change made by edit (a JSON pointer-like
 * tweak done on the json-c tree) and checks the error. */
typedef void (*edit_fn)(struct json_object *doc);

static void expect_error(edit_fn edit, const char *want)
{
	struct vm_record r, back;
	struct nv_err e = { 0 };
	sample(&r);
	struct json_object *doc = vm_record_to_json(&r);
	edit(doc);
	const char *text = json_object_to_json_string(doc);
	assert_int_equal(vm_record_parse_text(text, strlen(text), FILE_NAME, &back, &e), -1);
	json_object_put(doc);
	assert_int_equal(e.kind, NV_ERR_INPUT);
	assert_null(strchr(e.msg, '\n'));
	assert_contains(e.msg, FILE_NAME ": ");
	assert_contains(e.msg, want);
}

static struct json_object *cfg(struct json_object *doc)
{
	return json_object_object_get(doc, "config");
}

static struct json_object *nic(struct json_object *doc, int i)
{
	return json_object_array_get_idx(json_object_object_get(cfg(doc), "nics"), (size_t)i);
}

static void e_missing_cpus(struct json_object *d) { json_object_object_del(cfg(d), "cpus"); }
static void e_cpus_string(struct json_object *d) { json_object_object_add(cfg(d), "cpus", json_object_new_string("2")); }
static void e_cpus_zero(struct json_object *d) { json_object_object_add(cfg(d), "cpus", json_object_new_int(0)); }
static void e_cpus_huge(struct json_object *d) { json_object_object_add(cfg(d), "cpus", json_object_new_int64(4294967297LL)); }
static void e_unknown(struct json_object *d) { json_object_object_add(cfg(d), "balloon", json_object_new_boolean(1)); }
static void e_unknown_top(struct json_object *d) { json_object_object_add(d, "extra", json_object_new_int(1)); }
/* A name with a newline and an escape in it: quoted, it stays one line. */
static void e_unknown_newline(struct json_object *d) { json_object_object_add(d, "ex\ntra\033[2J", json_object_new_int(1)); }
static void e_unknown_nic(struct json_object *d) { json_object_object_add(nic(d, 1), "vlan", json_object_new_int(5)); }
static void e_bad_mac(struct json_object *d) { json_object_object_add(nic(d, 1), "mac", json_object_new_string("52:54:zz")); }
static void e_mcast_mac(struct json_object *d) { json_object_object_add(nic(d, 0), "mac", json_object_new_string("01:00:5e:00:00:01")); }
static void e_spoof_type(struct json_object *d) { json_object_object_add(nic(d, 0), "mac_spoofing", json_object_new_string("on")); }
static void e_rel_disk(struct json_object *d)
{
	struct json_object *disk = json_object_array_get_idx(json_object_object_get(cfg(d), "disks"), 0);
	json_object_object_add(disk, "path", json_object_new_string("data.img"));
}
static void e_rel_kernel(struct json_object *d) { json_object_object_add(cfg(d), "kernel", json_object_new_string("bzImage")); }
static void e_version2(struct json_object *d) { json_object_object_add(d, "version", json_object_new_int(2)); }
static void e_version0(struct json_object *d) { json_object_object_add(d, "version", json_object_new_int(0)); }
static void e_no_version(struct json_object *d) { json_object_object_del(d, "version"); }
static void e_dynmem(struct json_object *d)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "min_mib", json_object_new_int64(256));
	json_object_object_add(o, "max_mib", json_object_new_int64(4096));
	json_object_object_add(o, "buffer_percent", json_object_new_int64(20));
	json_object_object_add(o, "weight", json_object_new_int64(200));
	json_object_object_add(cfg(d), "dynamic_memory_enabled", json_object_new_boolean(1));
	json_object_object_add(cfg(d), "dynamic_memory", o);
}
static void e_dynmem_type(struct json_object *d) { json_object_object_add(cfg(d), "dynamic_memory", json_object_new_string("on")); }
static void e_start_action(struct json_object *d) { json_object_object_add(cfg(d), "automatic_start_action", json_object_new_string("StartIfRunning")); }
static void e_stop_action(struct json_object *d) { json_object_object_add(cfg(d), "automatic_stop_action", json_object_new_int(1)); }
static void e_host_stop(struct json_object *d) { json_object_object_add(json_object_object_get(d, "runtime"), "running_at_host_stop", json_object_new_string("yes")); }
static void e_state(struct json_object *d) { json_object_object_add(json_object_object_get(d, "runtime"), "state", json_object_new_string("Hibernated")); }
static void e_no_runtime(struct json_object *d) { json_object_object_del(d, "runtime"); }
static void e_nics_object(struct json_object *d) { json_object_object_add(cfg(d), "nics", json_object_new_object()); }
static void e_nic_not_object(struct json_object *d) { json_object_array_put_idx(json_object_object_get(cfg(d), "nics"), 0, json_object_new_int(3)); }
static void e_memory_double(struct json_object *d) { json_object_object_add(cfg(d), "memory_mib", json_object_new_double(512.5)); }

static void e_devices_string(struct json_object *d) { json_object_object_add(cfg(d), "devices", json_object_new_string("rng")); }
static void e_device_unknown(struct json_object *d) { json_object_array_put_idx(json_object_object_get(cfg(d), "devices"), 0, json_object_new_string("floppy")); }
static void e_device_blk(struct json_object *d) { json_object_array_put_idx(json_object_object_get(cfg(d), "devices"), 0, json_object_new_string("blk")); }
static void e_device_number(struct json_object *d) { json_object_array_put_idx(json_object_object_get(cfg(d), "devices"), 0, json_object_new_int(4)); }
static void e_device_long(struct json_object *d) { json_object_array_put_idx(json_object_object_get(cfg(d), "devices"), 0, json_object_new_string("a-very-long-device-name")); }
static void e_devices_many(struct json_object *d)
{
	struct json_object *a = json_object_object_get(cfg(d), "devices");
	for (int i = 0; i < VM_MAX_DEVICES; i++)
		json_object_array_add(a, json_object_new_string("rng"));
}
static void e_virtio_full(struct json_object *d)
{
	/* 2 disks + 2 adapters + 8 devices fit; 5 more disks do not (16). */
	struct json_object *a = json_object_object_get(cfg(d), "devices"), *disks = json_object_object_get(cfg(d), "disks");
	for (int i = 1; i < VM_MAX_DEVICES; i++)
		json_object_array_add(a, json_object_new_string("rng"));
	for (int i = 0; i < 5; i++) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "path", json_object_new_string("/img/x.img"));
		json_object_object_add(o, "readonly", json_object_new_boolean(0));
		json_object_array_add(disks, o);
	}
}

static void test_malformed_fields(void **state)
{
	(void)state;
	expect_error(e_missing_cpus, "config.cpus: missing");
	expect_error(e_cpus_string, "config.cpus: must be an integer");
	expect_error(e_cpus_zero, "config.cpus: must be 1..255");
	expect_error(e_cpus_huge, "config.cpus: must be 1..255");
	expect_error(e_unknown, "config.balloon: unknown field");
	expect_error(e_unknown_top, "extra: unknown field");
	expect_error(e_unknown_newline, "ex?tra?[2J: unknown field");
	expect_error(e_unknown_nic, "config.nics[1].vlan: unknown field");
	expect_error(e_bad_mac, "config.nics[1].mac: not a MAC address");
	expect_error(e_mcast_mac, "config.nics[0].mac: MAC 01:00:5e:00:00:01 is multicast");
	expect_error(e_spoof_type, "config.nics[0].mac_spoofing: must be true or false");
	expect_error(e_rel_disk, "config.disks[0].path: 'data.img' is not an absolute path");
	expect_error(e_rel_kernel, "config.kernel: 'bzImage' is not an absolute path");
	expect_error(e_version2, "version: 2 was written by a newer nestvm");
	expect_error(e_version0, "version: must be 1");
	expect_error(e_no_version, "version: missing");
	expect_error(e_dynmem, "config.dynamic_memory.weight: must be 0..100, not 200");
	expect_error(e_dynmem_type, "config.dynamic_memory: must be an object");
	expect_error(e_state, "runtime.state: must be Off, Starting, Running, Stopping, Paused, Saved or Receiving");
	expect_error(e_no_runtime, "runtime: missing");
	expect_error(e_nics_object, "config.nics: must be an array");
	expect_error(e_nic_not_object, "config.nics[0]: must be an object");
	expect_error(e_memory_double, "config.memory_mib: must be an integer");
	expect_error(e_devices_string, "config.devices: must be an array of device names");
	expect_error(e_start_action, "config.automatic_start_action: must be nothing, start or start-if-running");
	expect_error(e_stop_action, "config.automatic_stop_action");
	expect_error(e_host_stop, "runtime.running_at_host_stop");
	expect_error(e_device_unknown, "config.devices[0]: --device 'floppy': no such device");
	expect_error(e_device_blk, "config.devices[0]: --device 'blk': blk devices are given with --disk");
	expect_error(e_device_number, "config.devices[0]: must be a string");
	expect_error(e_device_long, "config.devices[0]: 'a-very-long-device-n...' is too long");
	expect_error(e_devices_many, "config.devices: more than 8 devices");
	expect_error(e_virtio_full, "config.devices: 7 disks, 2 network adapters and 8 devices are more than the 16");
}

static void test_malformed_text(void **state)
{
	(void)state;
	struct vm_record r, back;
	struct nv_err e = { 0 };
	sample(&r);
	struct json_object *doc = vm_record_to_json(&r);
	const char *text = json_object_to_json_string(doc);
	/* Truncated anywhere: one line naming the file. */
	for (size_t cut = 0; cut < strlen(text); cut += 7) {
		assert_int_equal(vm_record_parse_text(text, cut, FILE_NAME, &back, &e), -1);
		assert_contains(e.msg, FILE_NAME ": not valid JSON");
	}
	json_object_put(doc);
	const char *arr = "[1,2,3]";
	assert_int_equal(vm_record_parse_text(arr, strlen(arr), FILE_NAME, &back, &e), -1);
	assert_contains(e.msg, FILE_NAME ": not a JSON object");
	const char *trail = "{} {}";
	assert_int_equal(vm_record_parse_text(trail, strlen(trail), FILE_NAME, &back, &e), -1);
	assert_contains(e.msg, FILE_NAME ": not valid JSON");
	const char *garbage = "{\"version\": 1,, }";
	assert_int_equal(vm_record_parse_text(garbage, strlen(garbage), FILE_NAME, &back, &e), -1);
	assert_contains(e.msg, FILE_NAME ": not valid JSON");
}

/* A text without a NUL after it (a migration's CONFIG payload): nothing
 * past len is read (ASan sees a byte too far), and what follows it there
 * (the next message: '\r' is DISK's type) is not taken for its own. */
static void test_text_without_nul(void **state)
{
	(void)state;
	struct vm_record r, back;
	struct nv_err e = { 0 };
	sample(&r);
	struct json_object *doc = vm_record_to_json(&r);
	const char *text = json_object_to_json_string(doc);
	size_t n = strlen(text);
	char *exact = malloc(n);
	memcpy(exact, text, n);
	assert_int_equal(vm_record_parse_text(exact, n, FILE_NAME, &back, &e), 0);
	free(exact);
	char *more = malloc(n + 3);
	memcpy(more, text, n);
	memcpy(more + n, "\r\0x", 3);
	assert_int_equal(vm_record_parse_text(more, n, FILE_NAME, &back, &e), 0);
	more[n - 1] = ' '; /* white space to len is fine, anything else is not */
	assert_int_equal(vm_record_parse_text(more, n, FILE_NAME, &back, &e), -1);
	free(more);
	json_object_put(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_states),
		cmocka_unit_test(test_text_without_nul),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_run_as),
		cmocka_unit_test(test_runtime_alone),
		cmocka_unit_test(test_devices_optional),
		cmocka_unit_test(test_share),
		cmocka_unit_test(test_add_share_keeps_order),
		cmocka_unit_test(test_add_share_refusals),
		cmocka_unit_test(test_shares_count_as_virtio),
		cmocka_unit_test(test_automatic_actions_optional),
		cmocka_unit_test(test_malformed_fields),
		cmocka_unit_test(test_malformed_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
