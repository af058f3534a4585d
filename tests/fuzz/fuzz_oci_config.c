/* libFuzzer: an OCI bundle's config.json (mgmt/oci_config.c) as a hostile
 * or broken container engine, or a hand, writes it. The input is the
 * file's bytes, exactly (libFuzzer's copy is no longer than the input, so
 * ASan sees a read past len). Any crash, sanitizer report or leak is a bug,
 * and so is:
 *   - a refusal that does not start "config.json: " and say something, or
 *     that leaves anything in the struct;
 *   - an accepted config that breaks what the header promises (at least one
 *     argument, the caps, absolute paths, KEY=VALUE, known and distinct
 *     rlimits with soft <= hard, "" rather than NULL for absent strings);
 *   - one that, written back as JSON (json-c), reads back different. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "fuzz_util.h"
#include "mgmt/oci_config.h"

static void check_string(const char *s)
{
	CHECK(s);
	CHECK(strlen(s) <= OCI_MAX_STRING);
}

static void check_accepted(const struct oci_config *c)
{
	check_string(c->oci_version);
	CHECK(c->oci_version[0]);
	CHECK(c->nargs >= 1 && c->nargs <= OCI_MAX_ARGS && c->args);
	for (size_t i = 0; i < c->nargs; i++)
		check_string(c->args[i]);
	CHECK(c->args[0][0]);
	CHECK(c->nenv <= OCI_MAX_ENV && (c->nenv == 0) == (c->env == NULL));
	for (size_t i = 0; i < c->nenv; i++) {
		check_string(c->env[i]);
		CHECK(strchr(c->env[i], '=') && c->env[i][0] != '=');
	}
	CHECK(c->ngids <= OCI_MAX_GIDS && (c->ngids == 0) == (c->gids == NULL));
	CHECK(c->has_umask || c->umask == 0);
	check_string(c->cwd);
	CHECK(c->cwd[0] == '/');
	CHECK(c->nrlimits <= OCI_MAX_RLIMITS && (c->nrlimits == 0) == (c->rlimits == NULL));
	for (size_t i = 0; i < c->nrlimits; i++) {
		CHECK(oci_rlimit_name(c->rlimits[i].resource));
		CHECK(c->rlimits[i].soft <= c->rlimits[i].hard);
		for (size_t j = 0; j < i; j++)
			CHECK(c->rlimits[j].resource != c->rlimits[i].resource);
	}
	check_string(c->root_path);
	CHECK(c->root_path[0]);
	check_string(c->hostname);
	CHECK(c->nmounts <= OCI_MAX_MOUNTS && (c->nmounts == 0) == (c->mounts == NULL));
	for (size_t i = 0; i < c->nmounts; i++) {
		const struct oci_mount *m = &c->mounts[i];
		check_string(m->destination);
		CHECK(m->destination[0] == '/');
		check_string(m->type);
		check_string(m->source);
		CHECK(m->noptions <= 64 && (m->noptions == 0) == (m->options == NULL));
		for (size_t j = 0; j < m->noptions; j++)
			check_string(m->options[j]);
	}
	CHECK(c->memory_limit <= (uint64_t)INT64_MAX);
	CHECK(c->cpu_quota >= 0);
	check_string(c->cpuset_cpus);
	check_string(c->netns_path);
	CHECK(!c->netns_path[0] || (c->has_netns && c->netns_path[0] == '/'));
	unsigned cpus = oci_config_cpus(c);
	if (c->cpu_quota > 0 && c->cpu_period > 0)
		CHECK(cpus >= 1);
	else
		CHECK(cpus <= 8192 && (cpus > 0) == (c->cpuset_cpus[0] != '\0'));
}

static struct json_object *strings_json(char *const *v, size_t n)
{
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

/* c as a config.json, the way an engine would write it. */
static char *to_json(const struct oci_config *c)
{
	struct json_object *doc = json_object_new_object(), *proc = json_object_new_object(),
			   *user = json_object_new_object(), *a, *o;
	json_object_object_add(doc, "ociVersion", json_object_new_string(c->oci_version));
	json_object_object_add(proc, "terminal", json_object_new_boolean(c->terminal));
	json_object_object_add(user, "uid", json_object_new_int64(c->uid));
	json_object_object_add(user, "gid", json_object_new_int64(c->gid));
	if (c->has_umask)
		json_object_object_add(user, "umask", json_object_new_int64(c->umask));
	if (c->ngids) {
		a = json_object_new_array();
		for (size_t i = 0; i < c->ngids; i++)
			json_object_array_add(a, json_object_new_int64(c->gids[i]));
		json_object_object_add(user, "additionalGids", a);
	}
	json_object_object_add(proc, "user", user);
	json_object_object_add(proc, "args", strings_json(c->args, c->nargs));
	if (c->nenv)
		json_object_object_add(proc, "env", strings_json(c->env, c->nenv));
	json_object_object_add(proc, "cwd", json_object_new_string(c->cwd));
	if (c->nrlimits) {
		a = json_object_new_array();
		for (size_t i = 0; i < c->nrlimits; i++) {
			o = json_object_new_object();
			json_object_object_add(o, "type", json_object_new_string(oci_rlimit_name(c->rlimits[i].resource)));
			json_object_object_add(o, "soft", json_object_new_uint64(c->rlimits[i].soft));
			json_object_object_add(o, "hard", json_object_new_uint64(c->rlimits[i].hard));
			json_object_array_add(a, o);
		}
		json_object_object_add(proc, "rlimits", a);
	}
	json_object_object_add(proc, "noNewPrivileges", json_object_new_boolean(c->no_new_privileges));
	json_object_object_add(doc, "process", proc);
	o = json_object_new_object();
	json_object_object_add(o, "path", json_object_new_string(c->root_path));
	json_object_object_add(o, "readonly", json_object_new_boolean(c->root_readonly));
	json_object_object_add(doc, "root", o);
	if (c->hostname[0])
		json_object_object_add(doc, "hostname", json_object_new_string(c->hostname));
	if (c->nmounts) {
		a = json_object_new_array();
		for (size_t i = 0; i < c->nmounts; i++) {
			const struct oci_mount *m = &c->mounts[i];
			o = json_object_new_object();
			json_object_object_add(o, "destination", json_object_new_string(m->destination));
			if (m->type[0])
				json_object_object_add(o, "type", json_object_new_string(m->type));
			json_object_object_add(o, "source", json_object_new_string(m->source));
			if (m->noptions)
				json_object_object_add(o, "options", strings_json(m->options, m->noptions));
			json_object_array_add(a, o);
		}
		json_object_object_add(doc, "mounts", a);
	}
	struct json_object *linux_o = json_object_new_object(), *res = json_object_new_object(),
			   *mem = json_object_new_object(), *cpu = json_object_new_object();
	if (c->has_netns) {
		a = json_object_new_array();
		o = json_object_new_object();
		json_object_object_add(o, "type", json_object_new_string("network"));
		if (c->netns_path[0])
			json_object_object_add(o, "path", json_object_new_string(c->netns_path));
		json_object_array_add(a, o);
		json_object_object_add(linux_o, "namespaces", a);
	}
	json_object_object_add(mem, "limit", json_object_new_int64((int64_t)c->memory_limit));
	json_object_object_add(cpu, "quota", json_object_new_int64(c->cpu_quota));
	json_object_object_add(cpu, "period", json_object_new_uint64(c->cpu_period));
	if (c->cpuset_cpus[0])
		json_object_object_add(cpu, "cpus", json_object_new_string(c->cpuset_cpus));
	json_object_object_add(res, "memory", mem);
	json_object_object_add(res, "cpu", cpu);
	json_object_object_add(linux_o, "resources", res);
	json_object_object_add(doc, "linux", linux_o);
	const char *s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	CHECK(s);
	char *copy = strdup(s);
	CHECK(copy);
	json_object_put(doc);
	return copy;
}

static void same_strings(char *const *a, size_t na, char *const *b, size_t nb)
{
	CHECK(na == nb);
	for (size_t i = 0; i < na; i++)
		CHECK(!strcmp(a[i], b[i]));
}

static void check_same(const struct oci_config *a, const struct oci_config *b)
{
	CHECK(!strcmp(a->oci_version, b->oci_version));
	CHECK(a->terminal == b->terminal && a->uid == b->uid && a->gid == b->gid);
	CHECK(a->has_umask == b->has_umask && a->umask == b->umask);
	CHECK(a->ngids == b->ngids && (!a->ngids || !memcmp(a->gids, b->gids, a->ngids * sizeof(*a->gids))));
	same_strings(a->args, a->nargs, b->args, b->nargs);
	same_strings(a->env, a->nenv, b->env, b->nenv);
	CHECK(!strcmp(a->cwd, b->cwd));
	CHECK(a->nrlimits == b->nrlimits &&
	      (!a->nrlimits || !memcmp(a->rlimits, b->rlimits, a->nrlimits * sizeof(*a->rlimits))));
	CHECK(a->no_new_privileges == b->no_new_privileges);
	CHECK(!strcmp(a->root_path, b->root_path) && a->root_readonly == b->root_readonly);
	CHECK(!strcmp(a->hostname, b->hostname));
	CHECK(a->nmounts == b->nmounts);
	for (size_t i = 0; i < a->nmounts; i++) {
		CHECK(!strcmp(a->mounts[i].destination, b->mounts[i].destination));
		CHECK(!strcmp(a->mounts[i].type, b->mounts[i].type));
		CHECK(!strcmp(a->mounts[i].source, b->mounts[i].source));
		same_strings(a->mounts[i].options, a->mounts[i].noptions, b->mounts[i].options, b->mounts[i].noptions);
	}
	CHECK(a->memory_limit == b->memory_limit && a->cpu_quota == b->cpu_quota && a->cpu_period == b->cpu_period);
	CHECK(!strcmp(a->cpuset_cpus, b->cpuset_cpus));
	CHECK(a->has_netns == b->has_netns && !strcmp(a->netns_path, b->netns_path));
	CHECK(oci_config_cpus(a) == oci_config_cpus(b));
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oci_config c, again;
	struct nv_err err = { 0 };
	memset(&c, 0x5a, sizeof(c));
	if (oci_config_parse((const char *)data, size, &c, &err) < 0) {
		CHECK(err.kind == NV_ERR_INPUT || err.kind == NV_ERR_HOST);
		CHECK(!strncmp(err.msg, "config.json: ", 13) && strlen(err.msg) > 15);
		CHECK(!strchr(err.msg, '\n'));
		CHECK(all_zero(&c, sizeof(c)));
		oci_config_free(&c);
		return 0;
	}
	check_accepted(&c);
	char *text = to_json(&c);
	if (oci_config_parse(text, strlen(text), &again, &err) < 0) {
		fprintf(stderr, "written back, refused: %s\n%s\n", err.msg, text);
		CHECK(!"a config written back reads back");
	}
	check_same(&c, &again);
	free(text);
	oci_config_free(&again);
	oci_config_free(&c);
	oci_config_free(&c);
	CHECK(all_zero(&c, sizeof(c)));
	return 0;
}
