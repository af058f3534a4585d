#include "mgmt/oci_config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

/* Bounds of what the API has no constant for: a mount's options (podman
 * writes at most 8 or so), namespace entries (the spec knows 8 types, each
 * at most once), CPU numbers (the kernel's NR_CPUS is at most 8192), and
 * JSON objects in the document (json-c spends some 700 bytes on each, so
 * 4 MiB of "{}," would take a gigabyte; a config with a seccomp profile has
 * a few hundred). */
#define MAX_MOUNT_OPTIONS 64
#define MAX_NAMESPACES 32
#define CPUSET_MAX 8192
#define MAX_JSON_OBJECTS 16384

/* Where a message comes from: "config.json", or the loaded file's path. */
struct ctx {
	const char *file;
	struct nv_err *err;
};

static int ferr(const struct ctx *p, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int ferr(const struct ctx *p, const char *field, const char *fmt, ...)
{
	char why[320];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return nv_err_input(p->err, "%s: %s: %s", p->file, field, why);
}

static int oom(const struct ctx *p)
{
	return nv_err_host(p->err, "%s: out of memory", p->file);
}

/* A field's name for messages: "process.user" and "uid" make
 * "process.user.uid"; an index makes "process.args[3]". */
#define FIELD_MAX 128
static const char *field_key(char *buf, const char *path, const char *key)
{
	/* Names are short: "mounts[127].options[63]" is the longest. */
	if (snprintf(buf, FIELD_MAX, "%s%s%s", path, *path ? "." : "", key) < 0)
		buf[0] = '\0';
	return buf;
}

static const char *field_idx(char *buf, const char *path, size_t i)
{
	if (snprintf(buf, FIELD_MAX, "%s[%zu]", path, i) < 0)
		buf[0] = '\0';
	return buf;
}

/* o's member key; NULL when absent or null (Go's decoder, which runc and
 * the spec's own bindings use, takes a null as absent). */
static struct json_object *find(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static int want(const struct ctx *p, struct json_object *v, enum json_type t, const char *field)
{
	static const char *const what[] = {
		[json_type_null] = "null", [json_type_boolean] = "true or false",
		[json_type_double] = "a number", [json_type_int] = "an integer",
		[json_type_object] = "an object", [json_type_array] = "an array",
		[json_type_string] = "a string",
	};
	return json_object_is_type(v, t) ? 0 : ferr(p, field, "not %s", what[t]);
}

/* o's member key of type t into *v: 0 (*v NULL when absent and not
 * required), or -1 with the field named. */
static int member(const struct ctx *p, struct json_object *o, const char *path, const char *key,
		  enum json_type t, bool required, struct json_object **v)
{
	char f[FIELD_MAX];
	*v = find(o, key);
	if (!*v)
		return required ? ferr(p, field_key(f, path, key), "missing") : 0;
	return want(p, *v, t, field_key(f, path, key));
}

/* v as a C string of at most OCI_MAX_STRING bytes (a "\u0000" in the JSON
 * would cut it short): NULL, with the field named, if it is not. */
static const char *string_of(const struct ctx *p, struct json_object *v, const char *field)
{
	if (want(p, v, json_type_string, field) < 0)
		return NULL;
	const char *s = json_object_get_string(v);
	size_t n = (size_t)json_object_get_string_len(v);
	if (n > OCI_MAX_STRING)
		return ferr(p, field, "longer than %u bytes", OCI_MAX_STRING), NULL;
	if (memchr(s, '\0', n))
		return ferr(p, field, "contains a NUL byte"), NULL;
	return s;
}

static int take_string(const struct ctx *p, struct json_object *v, const char *field, char **out)
{
	const char *s = string_of(p, v, field);
	if (!s)
		return -1;
	*out = strdup(s);
	return *out ? 0 : oom(p);
}

/* o's string member key: "" when absent and not required. */
static int get_string(const struct ctx *p, struct json_object *o, const char *path, const char *key,
		      bool required, char **out)
{
	char f[FIELD_MAX];
	struct json_object *v = find(o, key);
	if (!v && required)
		return ferr(p, field_key(f, path, key), "missing");
	if (!v) {
		*out = strdup("");
		return *out ? 0 : oom(p);
	}
	return take_string(p, v, field_key(f, path, key), out);
}

static int get_bool(const struct ctx *p, struct json_object *o, const char *path, const char *key, bool *out)
{
	struct json_object *v;
	if (member(p, o, path, key, json_type_boolean, false, &v) < 0)
		return -1;
	*out = v && json_object_get_boolean(v);
	return 0;
}

/* A number that is not a JSON integer: a float (1.0 and 1e3 too, which
 * Go's decoder refuses for an integer field as well), or a literal beyond
 * 64 bits (see protect_big_integers). */
static int not_integer(const struct ctx *p, struct json_object *v, const char *field, const char *range)
{
	if (json_object_is_type(v, json_type_double)) {
		double d = json_object_get_double(v);
		if (d >= 9.2e18 || d <= -9.2e18)
			return ferr(p, field, "must be %s, not a number that large", range);
	}
	return ferr(p, field, "not an integer");
}

/* v as an integer 0..max (at most UINT64_MAX: json-c reads integers above
 * INT64_MAX as uint64s). */
static int take_uint(const struct ctx *p, struct json_object *v, const char *field, uint64_t max, uint64_t *out)
{
	char range[48];
	snprintf(range, sizeof(range), "0..%llu", (unsigned long long)max);
	if (!json_object_is_type(v, json_type_int))
		return not_integer(p, v, field, range);
	int64_t s = json_object_get_int64(v);
	if (s < 0)
		return ferr(p, field, "must be %s, not %lld", range, (long long)s);
	uint64_t u = json_object_get_uint64(v);
	if (u > max)
		return ferr(p, field, "must be %s, not %llu", range, (unsigned long long)u);
	*out = u;
	return 0;
}

/* v as an int64 of at least min. */
static int take_int(const struct ctx *p, struct json_object *v, const char *field, int64_t min, int64_t *out)
{
	char range[64];
	snprintf(range, sizeof(range), "%lld..%lld", (long long)min, (long long)INT64_MAX);
	if (!json_object_is_type(v, json_type_int))
		return not_integer(p, v, field, range);
	int64_t s = json_object_get_int64(v);
	if (s >= 0 && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
		return ferr(p, field, "must be %s, not %llu", range, (unsigned long long)json_object_get_uint64(v));
	if (s < min)
		return ferr(p, field, "must be %s, not %lld", range, (long long)s);
	*out = s;
	return 0;
}

static int get_uint(const struct ctx *p, struct json_object *o, const char *path, const char *key,
		    bool required, uint64_t max, uint64_t *out, bool *present)
{
	char f[FIELD_MAX];
	struct json_object *v = find(o, key);
	if (present)
		*present = v != NULL;
	if (!v)
		return required ? ferr(p, field_key(f, path, key), "missing") : 0;
	return take_uint(p, v, field_key(f, path, key), max, out);
}

/* An optional array member of at most max entries: *n is 0 when absent. */
static int get_array(const struct ctx *p, struct json_object *o, const char *path, const char *key,
		     bool required, size_t max, struct json_object **a, size_t *n)
{
	char f[FIELD_MAX];
	*n = 0;
	if (member(p, o, path, key, json_type_array, required, a) < 0)
		return -1;
	if (!*a)
		return 0;
	*n = json_object_array_length(*a);
	if (*n > max)
		return ferr(p, field_key(f, path, key), "more than %zu entries", max);
	return 0;
}

static void free_strings(char **v, size_t n)
{
	if (v)
		for (size_t i = 0; i < n; i++)
			free(v[i]);
	free(v);
}

/* An array of strings, each checked by ok (NULL: any) with the why it
 * gives; *out holds n pointers (NULL when n is 0), *count set as soon as
 * they are allocated so that a refusal half way frees what was taken. */
static int take_strings(const struct ctx *p, struct json_object *a, size_t n, const char *path,
			const char *(*ok)(const char *s, size_t i), char ***out, size_t *count)
{
	char f[FIELD_MAX];
	if (!n)
		return 0;
	if (!(*out = calloc(n, sizeof(**out))))
		return oom(p);
	*count = n;
	for (size_t i = 0; i < n; i++) {
		const char *why;
		field_idx(f, path, i);
		if (take_string(p, json_object_array_get_idx(a, i), f, &(*out)[i]) < 0)
			return -1;
		if (ok && (why = ok((*out)[i], i)))
			return ferr(p, f, "%s", why);
	}
	return 0;
}

static const char *arg_ok(const char *s, size_t i)
{
	return i == 0 && !s[0] ? "empty (the program to run)" : NULL;
}

static const char *env_ok(const char *s, size_t i)
{
	(void)i;
	if (!strchr(s, '='))
		return "not KEY=VALUE (no '=')";
	return s[0] == '=' ? "not KEY=VALUE (no name before '=')" : NULL;
}

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	{ "RLIMIT_AS", RLIMIT_AS },	    { "RLIMIT_CORE", RLIMIT_CORE },
	{ "RLIMIT_CPU", RLIMIT_CPU },	    { "RLIMIT_DATA", RLIMIT_DATA },
	{ "RLIMIT_FSIZE", RLIMIT_FSIZE },   { "RLIMIT_LOCKS", RLIMIT_LOCKS },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK }, { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
	{ "RLIMIT_NICE", RLIMIT_NICE },	    { "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_NPROC", RLIMIT_NPROC },   { "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO }, { "RLIMIT_RTTIME", RLIMIT_RTTIME },
	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING }, { "RLIMIT_STACK", RLIMIT_STACK },
};

const char *oci_rlimit_name(int resource)
{
	for (size_t k = 0; k < sizeof(rlimit_names) / sizeof(rlimit_names[0]); k++)
		if (rlimit_names[k].resource == resource)
			return rlimit_names[k].name;
	return NULL;
}

static int parse_rlimits(const struct ctx *p, struct json_object *proc, struct oci_config *c)
{
	struct json_object *a;
	size_t n;
	char at[FIELD_MAX], f[FIELD_MAX];
	if (get_array(p, proc, "process", "rlimits", false, OCI_MAX_RLIMITS, &a, &n) < 0)
		return -1;
	if (!n)
		return 0;
	if (!(c->rlimits = calloc(n, sizeof(*c->rlimits))))
		return oom(p);
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(a, i), *t;
		struct oci_rlimit *r = &c->rlimits[i];
		field_idx(at, "process.rlimits", i);
		const char *name;
		if (want(p, o, json_type_object, at) < 0 || member(p, o, at, "type", json_type_string, true, &t) < 0 ||
		    !(name = string_of(p, t, field_key(f, at, "type"))))
			return -1;
		size_t k = 0, nnames = sizeof(rlimit_names) / sizeof(rlimit_names[0]);
		while (k < nnames && strcmp(name, rlimit_names[k].name))
			k++;
		if (k == nnames)
			return ferr(p, field_key(f, at, "type"), "'%.40s' is not a Linux rlimit (RLIMIT_NOFILE, "
				    "RLIMIT_NPROC, ...: getrlimit(2))", name);
		for (size_t j = 0; j < i; j++)
			if (c->rlimits[j].resource == rlimit_names[k].resource)
				return ferr(p, field_key(f, at, "type"), "%s given twice (as process.rlimits[%zu] too)",
					    name, j);
		r->resource = rlimit_names[k].resource;
		if (get_uint(p, o, at, "soft", true, UINT64_MAX, &r->soft, NULL) < 0 ||
		    get_uint(p, o, at, "hard", true, UINT64_MAX, &r->hard, NULL) < 0)
			return -1;
		if (r->soft > r->hard)
			return ferr(p, field_key(f, at, "soft"), "%llu is above the hard limit %llu",
				    (unsigned long long)r->soft, (unsigned long long)r->hard);
		c->nrlimits = i + 1;
	}
	return 0;
}

static int parse_user(const struct ctx *p, struct json_object *proc, struct oci_config *c)
{
	struct json_object *u, *a;
	uint64_t v = 0;
	size_t n;
	char f[FIELD_MAX];
	if (member(p, proc, "process", "user", json_type_object, true, &u) < 0 ||
	    get_uint(p, u, "process.user", "uid", true, UINT32_MAX, &v, NULL) < 0)
		return -1;
	c->uid = (uint32_t)v;
	if (get_uint(p, u, "process.user", "gid", true, UINT32_MAX, &v, NULL) < 0)
		return -1;
	c->gid = (uint32_t)v;
	if (get_uint(p, u, "process.user", "umask", false, UINT32_MAX, &v, &c->has_umask) < 0)
		return -1;
	c->umask = c->has_umask ? (uint32_t)v : 0;
	if (get_array(p, u, "process.user", "additionalGids", false, OCI_MAX_GIDS, &a, &n) < 0)
		return -1;
	if (!n)
		return 0;
	if (!(c->gids = calloc(n, sizeof(*c->gids))))
		return oom(p);
	c->ngids = n;
	for (size_t i = 0; i < n; i++) {
		if (take_uint(p, json_object_array_get_idx(a, i), field_idx(f, "process.user.additionalGids", i),
			      UINT32_MAX, &v) < 0)
			return -1;
		c->gids[i] = (uint32_t)v;
	}
	return 0;
}

static int parse_process(const struct ctx *p, struct json_object *doc, struct oci_config *c)
{
	struct json_object *proc, *a;
	size_t n;
	if (member(p, doc, "", "process", json_type_object, true, &proc) < 0 ||
	    get_bool(p, proc, "process", "terminal", &c->terminal) < 0 || parse_user(p, proc, c) < 0)
		return -1;
	if (get_array(p, proc, "process", "args", true, OCI_MAX_ARGS, &a, &n) < 0)
		return -1;
	if (!n)
		return ferr(p, "process.args", "empty (it names the program to run)");
	if (take_strings(p, a, n, "process.args", arg_ok, &c->args, &c->nargs) < 0)
		return -1;
	if (get_array(p, proc, "process", "env", false, OCI_MAX_ENV, &a, &n) < 0 ||
	    take_strings(p, a, n, "process.env", env_ok, &c->env, &c->nenv) < 0)
		return -1;
	if (get_string(p, proc, "process", "cwd", true, &c->cwd) < 0)
		return -1;
	if (c->cwd[0] != '/')
		return ferr(p, "process.cwd", "'%.64s' is not an absolute path", c->cwd);
	return parse_rlimits(p, proc, c) < 0 ? -1 : get_bool(p, proc, "process", "noNewPrivileges", &c->no_new_privileges);
}

static int parse_root(const struct ctx *p, struct json_object *doc, struct oci_config *c)
{
	struct json_object *root;
	if (member(p, doc, "", "root", json_type_object, true, &root) < 0 ||
	    get_string(p, root, "root", "path", true, &c->root_path) < 0)
		return -1;
	if (!c->root_path[0])
		return ferr(p, "root.path", "empty");
	return get_bool(p, root, "root", "readonly", &c->root_readonly);
}

static int parse_mounts(const struct ctx *p, struct json_object *doc, struct oci_config *c)
{
	struct json_object *a, *opts;
	size_t n, nopts;
	char at[FIELD_MAX], f[FIELD_MAX];
	if (get_array(p, doc, "", "mounts", false, OCI_MAX_MOUNTS, &a, &n) < 0)
		return -1;
	if (!n)
		return 0;
	if (!(c->mounts = calloc(n, sizeof(*c->mounts))))
		return oom(p);
	c->nmounts = n;
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(a, i);
		struct oci_mount *m = &c->mounts[i];
		field_idx(at, "mounts", i);
		if (want(p, o, json_type_object, at) < 0 || get_string(p, o, at, "destination", true, &m->destination) < 0)
			return -1;
		/* Linux's runtimes take a relative one as relative to "/", but the
		 * spec calls that deprecated: nobody writes it any more. */
		if (m->destination[0] != '/')
			return ferr(p, field_key(f, at, "destination"), "'%.64s' is not an absolute path", m->destination);
		if (get_string(p, o, at, "type", false, &m->type) < 0 ||
		    get_string(p, o, at, "source", false, &m->source) < 0 ||
		    get_array(p, o, at, "options", false, MAX_MOUNT_OPTIONS, &opts, &nopts) < 0 ||
		    take_strings(p, opts, nopts, field_key(f, at, "options"), NULL, &m->options, &m->noptions) < 0)
			return -1;
	}
	return 0;
}

/* "0-3,5": the count of distinct CPUs, or -1 when s is not such a list
 * (decimal CPU numbers below CPUSET_MAX, ranges low-high); "" is 0. */
static long cpulist_count(const char *s)
{
	uint64_t set[CPUSET_MAX / 64] = { 0 };
	long count = 0;
	if (!*s)
		return 0;
	for (;;) {
		unsigned long lo = 0, hi;
		const char *start = s;
		for (; *s >= '0' && *s <= '9'; s++)
			if ((lo = lo * 10 + (unsigned long)(*s - '0')) >= CPUSET_MAX)
				return -1;
		if (s == start)
			return -1;
		hi = lo;
		if (*s == '-') {
			start = ++s;
			for (hi = 0; *s >= '0' && *s <= '9'; s++)
				if ((hi = hi * 10 + (unsigned long)(*s - '0')) >= CPUSET_MAX)
					return -1;
			if (s == start || hi < lo)
				return -1;
		}
		for (unsigned long cpu = lo; cpu <= hi; cpu++)
			if (!(set[cpu / 64] & (1ull << (cpu % 64)))) {
				set[cpu / 64] |= 1ull << (cpu % 64);
				count++;
			}
		if (!*s)
			return count;
		if (*s++ != ',')
			return -1;
	}
}

static int parse_resources(const struct ctx *p, struct json_object *linux_o, struct oci_config *c)
{
	struct json_object *res, *mem, *cpu, *v;
	int64_t i64;
	if (member(p, linux_o, "linux", "resources", json_type_object, false, &res) < 0)
		return -1;
	if (!res)
		return 0;
	if (member(p, res, "linux.resources", "memory", json_type_object, false, &mem) < 0 ||
	    member(p, res, "linux.resources", "cpu", json_type_object, false, &cpu) < 0)
		return -1;
	if (mem && (v = find(mem, "limit"))) {
		if (take_int(p, v, "linux.resources.memory.limit", -1, &i64) < 0)
			return -1;
		c->memory_limit = i64 < 0 ? 0 : (uint64_t)i64; /* -1: unlimited */
	}
	if (!cpu)
		return 0;
	if ((v = find(cpu, "quota"))) {
		if (take_int(p, v, "linux.resources.cpu.quota", -1, &i64) < 0)
			return -1;
		c->cpu_quota = i64 < 0 ? 0 : i64; /* -1: unlimited */
	}
	if (get_uint(p, cpu, "linux.resources.cpu", "period", false, UINT64_MAX, &c->cpu_period, NULL) < 0)
		return -1;
	if ((v = find(cpu, "cpus"))) {
		if (take_string(p, v, "linux.resources.cpu.cpus", &c->cpuset_cpus) < 0)
			return -1;
		if (cpulist_count(c->cpuset_cpus) < 0)
			return ferr(p, "linux.resources.cpu.cpus", "'%.64s' is not a list of CPUs below %d (such as 0-3,5)",
				    c->cpuset_cpus, CPUSET_MAX);
	}
	return 0;
}

static int parse_namespaces(const struct ctx *p, struct json_object *linux_o, struct oci_config *c)
{
	struct json_object *a;
	size_t n;
	const char *types[MAX_NAMESPACES];
	char at[FIELD_MAX], f[FIELD_MAX];
	if (get_array(p, linux_o, "linux", "namespaces", false, MAX_NAMESPACES, &a, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(a, i), *t, *path;
		field_idx(at, "linux.namespaces", i);
		if (want(p, o, json_type_object, at) < 0 || member(p, o, at, "type", json_type_string, true, &t) < 0 ||
		    !(types[i] = string_of(p, t, field_key(f, at, "type"))) ||
		    member(p, o, at, "path", json_type_string, false, &path) < 0)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(types[i], types[j]))
				return ferr(p, field_key(f, at, "type"), "'%.40s' given twice (as linux.namespaces[%zu] too)",
					    types[i], j);
		/* Every entry's path is checked, the network one's kept: the
		 * others are a container's, not a VM's, business. */
		char *s = NULL;
		if (path && take_string(p, path, field_key(f, at, "path"), &s) < 0)
			return -1;
		if (s && s[0] && s[0] != '/') {
			ferr(p, f, "'%.64s' is not an absolute path", s);
			free(s);
			return -1;
		}
		if (strcmp(types[i], "network")) {
			free(s);
			continue;
		}
		c->has_netns = true;
		c->netns_path = s;
	}
	return 0;
}

static int parse_linux(const struct ctx *p, struct json_object *doc, struct oci_config *c)
{
	struct json_object *l;
	if (member(p, doc, "", "linux", json_type_object, false, &l) < 0)
		return -1;
	return l && (parse_namespaces(p, l, c) < 0 || parse_resources(p, l, c) < 0) ? -1 : 0;
}

static int empty_if_unset(const struct ctx *p, char **s)
{
	if (!*s && !(*s = strdup("")))
		return oom(p);
	return 0;
}

static int parse_doc(const struct ctx *p, struct json_object *doc, struct oci_config *c)
{
	if (get_string(p, doc, "", "ociVersion", true, &c->oci_version) < 0)
		return -1;
	if (!c->oci_version[0])
		return ferr(p, "ociVersion", "empty");
	if (parse_process(p, doc, c) < 0 || parse_root(p, doc, c) < 0 ||
	    get_string(p, doc, "", "hostname", false, &c->hostname) < 0 || parse_mounts(p, doc, c) < 0 ||
	    parse_linux(p, doc, c) < 0)
		return -1;
	return empty_if_unset(p, &c->cpuset_cpus) < 0 || empty_if_unset(p, &c->netns_path) < 0 ? -1 : 0;
}

static bool digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* Whether the n digits at d, after a '-' when neg, are beyond int64 (neg)
 * or uint64. */
static bool beyond_64_bits(const char *d, size_t n, bool neg)
{
	const char *limit = neg ? "9223372036854775808" : "18446744073709551615";
	size_t ln = strlen(limit);
	while (n > 1 && *d == '0')
		d++, n--;
	return n > ln || (n == ln && memcmp(d, limit, ln) > 0);
}

/* json-c (0.16) reads an integer literal beyond 64 bits as the nearest
 * limit, saying nothing: 2^64 in an rlimit would read as RLIM_INFINITY, and
 * 2^64+4096 in cpu.period as 2^64-1. So, in fix (a copy of s, or NULL to
 * count only), each such literal outside strings has its last two digits
 * made "e9": a float about as large, which the integer readers refuse as
 * out of range, at the same byte offsets. The same pass counts objects.
 * Only outside strings: the text has no NUL (refused before), and strict
 * parsing allows no comments or single-quoted strings to hide digits in. */
static void scan_text(const char *s, size_t len, char *fix, size_t *objects, size_t *big)
{
	bool in_string = false;
	*objects = *big = 0;
	for (size_t i = 0; i < len;) {
		char ch = s[i];
		if (in_string) {
			i += ch == '\\' ? 2 : 1;
			in_string = ch != '"';
			continue;
		}
		if (ch == '"' || ch == '{') {
			in_string = ch == '"';
			*objects += ch == '{';
			i++;
			continue;
		}
		if (ch != '-' && !digit(ch)) {
			i++;
			continue;
		}
		bool neg = ch == '-';
		size_t d = i + neg, e = d;
		while (e < len && digit(s[e]))
			e++;
		if (e == d) { /* a '-' without digits: not a number */
			i++;
			continue;
		}
		bool integer = !(e < len && (s[e] == '.' || s[e] == 'e' || s[e] == 'E'));
		if (integer && beyond_64_bits(s + d, e - d, neg)) {
			(*big)++;
			if (fix)
				memcpy(fix + e - 2, "e9", 2); /* e - d >= 19: digits stay before the 'e' */
		}
		/* The fraction and exponent, if any. */
		for (i = e; i < len && (digit(s[i]) || (s[i] && strchr(".eE+-", s[i]))); i++)
			;
	}
}

/* Only JSON white space in text[from, len). */
static bool blank_to_end(const char *text, size_t from, size_t len)
{
	for (size_t i = from; i < len; i++)
		if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r' && text[i] != '\n')
			return false;
	return true;
}

static int parse_text(const struct ctx *p, const char *json, size_t len, struct oci_config *out)
{
	memset(out, 0, sizeof(*out));
	if (len > OCI_CONFIG_MAX_BYTES)
		return nv_err_input(p->err, "%s: larger than %u MiB", p->file, OCI_CONFIG_MAX_BYTES >> 20);
	if (!len)
		return nv_err_input(p->err, "%s: empty (not a JSON object)", p->file);
	const char *nul = memchr(json, '\0', len);
	if (nul)
		return nv_err_input(p->err, "%s: a NUL byte at byte %zu (not JSON text)", p->file, (size_t)(nul - json));
	size_t objects, big;
	scan_text(json, len, NULL, &objects, &big);
	if (objects > MAX_JSON_OBJECTS)
		return nv_err_input(p->err, "%s: more than %d JSON objects", p->file, MAX_JSON_OBJECTS);
	char *copy = NULL;
	if (big) {
		if (!(copy = malloc(len)))
			return oom(p);
		memcpy(copy, json, len);
		scan_text(json, len, copy, &objects, &big);
		json = copy;
	}
	struct json_tokener *tok = json_tokener_new();
	if (!tok) {
		free(copy);
		return oom(p);
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS | JSON_TOKENER_VALIDATE_UTF8);
	struct json_object *doc = json_tokener_parse_ex(tok, json, (int)len);
	enum json_tokener_error je = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	int rc;
	if (!doc && je == json_tokener_continue)
		rc = nv_err_input(p->err, "%s: not valid JSON: it ends too early (truncated?)", p->file);
	else if (!doc)
		rc = nv_err_input(p->err, "%s: not valid JSON at byte %zu: %s", p->file, end, json_tokener_error_desc(je));
	else if (!json_object_is_type(doc, json_type_object))
		rc = nv_err_input(p->err, "%s: not a JSON object", p->file);
	else if (!blank_to_end(json, end, len))
		rc = nv_err_input(p->err, "%s: text after the JSON object, at byte %zu", p->file,
				  end + strspn(json + end, " \t\r\n")); /* stops at the text: it is there */
	else
		rc = parse_doc(p, doc, out);
	json_object_put(doc);
	json_tokener_free(tok);
	free(copy);
	if (rc < 0)
		oci_config_free(out);
	return rc;
}

int oci_config_parse(const char *json, size_t len, struct oci_config *out, struct nv_err *err)
{
	const struct ctx p = { "config.json", err };
	return parse_text(&p, json, len, out);
}

int oci_config_read(const char *bundle_dir, char *path, char **text, size_t *len, struct nv_err *err)
{
	size_t dl = strlen(bundle_dir);
	if (!dl)
		return nv_err_input(err, "the bundle directory is empty (\"\")");
	if (snprintf(path, PATH_MAX, "%s%sconfig.json", bundle_dir, bundle_dir[dl - 1] == '/' ? "" : "/") >=
	    PATH_MAX)
		return nv_err_input(err, "%.64s...: the bundle's path is too long", bundle_dir);
	/* O_NONBLOCK: a FIFO put there does not hang the open (it is refused
	 * below); a regular file's reads are the same with it. */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 && errno == ELOOP)
		return nv_err_input(err, "%s: a symbolic link (not followed: config.json must be a regular file)", path);
	if (fd < 0)
		return nv_err_input(err, "%s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return nv_err_input(err, "%s: not a regular file", path);
	}
	if (st.st_size > (off_t)OCI_CONFIG_MAX_BYTES) {
		close(fd);
		return nv_err_input(err, "%s: too large: larger than %u MiB (%lld bytes)", path, OCI_CONFIG_MAX_BYTES >> 20,
				    (long long)st.st_size);
	}
	/* Up to one byte past the limit: a file that grew since fstat is
	 * still caught. */
	size_t cap = (size_t)st.st_size + 1, n = 0;
	char *buf = malloc(cap);
	ssize_t r = 0;
	if (!buf) {
		close(fd);
		return nv_err_host(err, "%s: out of memory", path);
	}
	while ((r = read(fd, buf + n, cap - n)) > 0 || (r < 0 && errno == EINTR)) {
		n += r > 0 ? (size_t)r : 0;
		if (n == cap && cap <= OCI_CONFIG_MAX_BYTES) {
			size_t more = cap * 2 > OCI_CONFIG_MAX_BYTES + 1 ? OCI_CONFIG_MAX_BYTES + 1 : cap * 2;
			char *bigger = realloc(buf, more);
			if (!bigger) {
				free(buf);
				close(fd);
				return nv_err_host(err, "%s: out of memory", path);
			}
			buf = bigger;
			cap = more;
		} else if (n == cap) {
			break;
		}
	}
	int e = r < 0 ? errno : 0;
	close(fd);
	if (e) {
		free(buf);
		return nv_err_host(err, "%s: cannot read: %s", path, strerror(e));
	}
	*text = buf;
	*len = n;
	return 0;
}

int oci_config_load(const char *bundle_dir, struct oci_config *out, struct nv_err *err)
{
	char path[PATH_MAX], *text;
	size_t len;
	memset(out, 0, sizeof(*out));
	if (oci_config_read(bundle_dir, path, &text, &len, err) < 0)
		return -1;
	const struct ctx p = { path, err };
	int rc = parse_text(&p, text, len, out);
	free(text);
	return rc;
}

unsigned oci_config_cpus(const struct oci_config *c)
{
	if (c->cpu_quota > 0 && c->cpu_period > 0) {
		uint64_t q = (uint64_t)c->cpu_quota, n = q / c->cpu_period + (q % c->cpu_period != 0);
		return n > UINT_MAX ? UINT_MAX : (unsigned)n;
	}
	long n = c->cpuset_cpus ? cpulist_count(c->cpuset_cpus) : 0;
	return n > 0 ? (unsigned)n : 0;
}

void oci_config_free(struct oci_config *c)
{
	if (!c)
		return;
	free(c->oci_version);
	free(c->gids);
	free_strings(c->args, c->nargs);
	free_strings(c->env, c->nenv);
	free(c->cwd);
	free(c->rlimits);
	free(c->root_path);
	free(c->hostname);
	for (size_t i = 0; c->mounts && i < c->nmounts; i++) {
		free(c->mounts[i].destination);
		free(c->mounts[i].type);
		free(c->mounts[i].source);
		free_strings(c->mounts[i].options, c->mounts[i].noptions);
	}
	free(c->mounts);
	free(c->cpuset_cpus);
	free(c->netns_path);
	memset(c, 0, sizeof(*c));
}
