/* An OCI bundle's config.json (the Open Container Initiative runtime spec,
 * v1.0-1.2: config.md and config-linux.md), as podman, docker and containerd
 * write it, read for a VM-per-container runtime: the process to run (its
 * arguments, environment, working directory, user, rlimits), the root
 * filesystem, the host name, the mounts, the network namespace and the
 * memory and CPUs the resources ask for. Fields this runtime does not use
 * (hooks, annotations, capabilities, seccomp, ...) are ignored, as the spec
 * says unknown ones must be; those it reads are checked strictly, and a
 * refusal is one line naming the field, e.g.
 *   "config.json: process.args[3]: not a string".
 * A JSON null counts as absent (as Go's decoder, which runc uses, takes it).
 * Parsing is pure text in, record out: unit-tested and fuzzed
 * (tests/fuzz/fuzz_oci_config.c). */
#ifndef NESTVM_MGMT_OCI_CONFIG_H
#define NESTVM_MGMT_OCI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define OCI_CONFIG_MAX_BYTES (4u << 20)
#define OCI_MAX_ARGS 1024
#define OCI_MAX_ENV 4096
#define OCI_MAX_MOUNTS 128
#define OCI_MAX_RLIMITS 32
#define OCI_MAX_GIDS 256
#define OCI_MAX_STRING 4096   /* any one string: args, env entries, paths, options */

struct oci_mount {
	char *destination; /* absolute path inside the container */
	char *type;        /* "" when absent */
	char *source;      /* "" when absent */
	char **options; size_t noptions;
};

struct oci_rlimit { int resource; /* RLIMIT_NOFILE etc. from "RLIMIT_NOFILE" */ uint64_t soft, hard; };

struct oci_config {
	char *oci_version;
	bool terminal;
	uint32_t uid, gid;
	uint32_t *gids; size_t ngids;          /* process.user.additionalGids */
	uint32_t umask; bool has_umask;
	char **args; size_t nargs;             /* at least one */
	char **env; size_t nenv;               /* each "KEY=VALUE" */
	char *cwd;                             /* absolute */
	struct oci_rlimit *rlimits; size_t nrlimits;
	bool no_new_privileges;
	char *root_path;                       /* as written (relative to the bundle or absolute) */
	bool root_readonly;
	char *hostname;                        /* "" when absent */
	struct oci_mount *mounts; size_t nmounts;
	uint64_t memory_limit;                 /* linux.resources.memory.limit in bytes; 0 when absent or -1 */
	int64_t cpu_quota; uint64_t cpu_period;/* linux.resources.cpu; 0 when absent */
	char *cpuset_cpus;                     /* linux.resources.cpu.cpus, "" when absent */
	char *netns_path;                      /* the "network" entry of linux.namespaces with a path; "" otherwise */
	bool has_netns;                        /* a "network" namespace entry exists (new or with path) */
};

/* Parses len bytes of config.json. 0, or -1 with one line in err naming the
 * field (e.g. "config.json: process.args[3]: not a string"). Never reads
 * past len; the text need not be NUL-terminated.
 *
 * Required: ociVersion (a non-empty string); process (an object) with args
 * (a non-empty array of strings, the first not empty), cwd (an absolute
 * path) and user.uid, user.gid (integers 0..2^32-1); root.path (a non-empty
 * string). Refused besides: a wrong type, a negative or out-of-range number
 * (the spec's types: uint32 ids and umask, uint64 rlimits and cpu.period,
 * int64 memory.limit and cpu.quota, where -1 means unlimited and reads as
 * 0), more entries than the OCI_MAX_* caps (or 64 options in one mount), a
 * string longer than OCI_MAX_STRING or holding a NUL, an env entry without
 * '=' or with an empty name, a mount destination or namespace path that is
 * not absolute, an rlimit type not in the Linux list, soft > hard, the same
 * rlimit type or namespace type twice, a cpu.cpus that is not a CPU list
 * ("0-3,5"; CPUs below 8192), JSON that does not parse (RFC 8259: no
 * comments, single quotes or trailing commas; UTF-8) or whose top is not an
 * object, text after it, a NUL byte anywhere, more than 16384 JSON objects,
 * and more than OCI_CONFIG_MAX_BYTES.
 *
 * out is overwritten; after a refusal it is zeroed (oci_config_free on it is
 * harmless). Out of memory is a host error. */
int oci_config_parse(const char *json, size_t len, struct oci_config *out, struct nv_err *err);

/* Reads BUNDLE/config.json (a regular file of at most OCI_CONFIG_MAX_BYTES,
 * opened with O_NOFOLLOW|O_CLOEXEC) and parses it; messages start with the
 * file's path. */
int oci_config_load(const char *bundle_dir, struct oci_config *out, struct nv_err *err);

/* The number of CPUs the resources ask for: ceil(quota/period) when both
 * > 0 (at most UINT_MAX), else the count of CPUs in cpuset_cpus
 * ("0-3,5" -> 5; a CPU named twice counts once), else 0 (not asked, or
 * cpuset_cpus is not a CPU list). */
/* The bytes of BUNDLE/config.json, read as oci_config_load reads them (not
 * a symlink, a regular file, bounded): *text malloc()ed, not NUL-ended;
 * path (PATH_MAX) names the file. 0, or -1 with err. */
int oci_config_read(const char *bundle_dir, char *path, char **text, size_t *len, struct nv_err *err);
unsigned oci_config_cpus(const struct oci_config *c);
/* "RLIMIT_NOFILE" for RLIMIT_NOFILE: the spec's name of a resource the
 * parser takes, or NULL. */
const char *oci_rlimit_name(int resource);

/* Frees what c holds and zeroes it: safe on a zeroed or partly filled
 * struct, and twice. */
void oci_config_free(struct oci_config *c);

#endif
