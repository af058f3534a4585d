/* The VM settings `nestvm run` and `nestvm vm create/set` share, parsed
 * into the one schema (mgmt/vm_config.h) with the same syntax and the same
 * messages. Each returns 0, or the exit status after printing one line. */
#ifndef NESTVM_CLI_VM_OPTIONS_H
#define NESTVM_CLI_VM_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mgmt/vm_config.h"

/* --memory SIZE: 512M, 2G, a bare number is MiB; whole MiB, 16M..4T. */
int vm_option_memory(const char *v, uint64_t *mib);
/* --cpus N: 1..VM_MAX_CPUS. */
int vm_option_cpus(const char *v, unsigned *cpus);
/* A file option (--kernel, --initrd) made absolute against the current
 * directory; with must_exist, also checked to be a file now (a record
 * outlives the shell that made it, so it is checked when written). */
int vm_option_file(const char *opt, const char *v, bool must_exist, char *out, size_t size);
/* An existing folder (--storage-path DIR) into out as its absolute, real
 * path: 0, or the exit status after "OPT 'V': not an existing folder". */
int vm_option_folder(const char *opt, const char *v, char *out, size_t size);
/* --disk PATH[,readonly]: appended to c. */
int vm_option_disk(struct vm_config *c, const char *spec, bool must_exist);
/* --nic switch=S[,mac=M][,mac-spoofing=on|off]: appended to c; without
 * mac=, the smallest mac_generate(c->name, k) no adapter uses (set the
 * name first). */
int vm_option_nic(struct vm_config *c, const char *spec);
/* --device NAME: a virtio device type without settings. */
int vm_option_device(struct vm_config *c, const char *name);
/* --run-as USER (a name in /etc/passwd, UID or UID:GID, never root; only
 * root may give it): c runs as that user; "none" too when none_ok (then
 * c runs as whoever starts it). */
int vm_option_run_as(struct vm_config *c, const char *v, bool none_ok);
/* --append ARGS. */
int vm_option_append(struct vm_config *c, const char *v);

/* Dynamic memory's options (`vm create` and `vm set`): --dynamic-memory
 * on|off, --memory-min SIZE, --memory-max SIZE, --memory-buffer PERCENT,
 * --memory-weight N. */
struct vm_memory_options {
	bool set_enabled, enabled;
	bool set_min, set_max, set_buffer, set_weight;
	uint64_t min_mib, max_mib;
	unsigned buffer_pct, weight;
};
enum { VM_OPT_DYNAMIC = 0x1000, VM_OPT_MEMORY_MIN, VM_OPT_MEMORY_MAX, VM_OPT_MEMORY_BUFFER, VM_OPT_MEMORY_WEIGHT };
/* getopt_long's entries for them, to splice into a command's table. */
#define VM_MEMORY_LONG_OPTIONS                                                                   \
	{ "dynamic-memory", required_argument, NULL, VM_OPT_DYNAMIC },                          \
	{ "memory-min", required_argument, NULL, VM_OPT_MEMORY_MIN },                           \
	{ "memory-max", required_argument, NULL, VM_OPT_MEMORY_MAX },                           \
	{ "memory-buffer", required_argument, NULL, VM_OPT_MEMORY_BUFFER },                     \
	{ "memory-weight", required_argument, NULL, VM_OPT_MEMORY_WEIGHT }
/* One of them (o is its VM_OPT_ code) into m. */
int vm_option_memory_policy(int o, const char *v, struct vm_memory_options *m);
/* Any of the policy's four given (not --dynamic-memory)? */
bool vm_memory_policy_given(const struct vm_memory_options *m);
/* Applies m to c, after c's startup memory is final: turning dynamic
 * memory on fills a minimum or maximum not given that does not fit the
 * startup memory with the defaults for it. Validation is the caller's. */
void vm_memory_options_apply(struct vm_config *c, const struct vm_memory_options *m);

/* cloud-init's options (`run`, `vm create`, `vm set`): --user-data FILE,
 * --ssh-key FILE, --hostname NAME, kept as given; cli/vm_seed.h reads and
 * checks them and makes the seed. */
struct vm_cloud_init_options {
	const char *user_data, *ssh_key, *hostname; /* NULL: not given */
};
enum { VM_OPT_USER_DATA = 0x1100, VM_OPT_SSH_KEY, VM_OPT_HOSTNAME };
#define VM_CLOUD_INIT_LONG_OPTIONS                                                               \
	{ "user-data", required_argument, NULL, VM_OPT_USER_DATA },                             \
	{ "ssh-key", required_argument, NULL, VM_OPT_SSH_KEY },                                 \
	{ "hostname", required_argument, NULL, VM_OPT_HOSTNAME }
/* One of them (o is its VM_OPT_ code) into ci: 0, or 2 after one line when
 * given twice or empty. */
int vm_option_cloud_init(int o, const char *v, struct vm_cloud_init_options *ci);
bool vm_cloud_init_given(const struct vm_cloud_init_options *ci);
/* The help lines for them, the same in every command. */
#define VM_CLOUD_INIT_HELP                                                                          \
	"  --user-data FILE       cloud-init user-data (#cloud-config, a script, ...; up to 1 MiB),\n" \
	"                         passed as is in a NoCloud seed: one more disk, read-only, after\n"   \
	"                         the VM's own, that a cloud image's cloud-init reads at boot\n"       \
	"  --ssh-key FILE         an OpenSSH public key file (.pub) for the image's default user\n"    \
	"  --hostname NAME        the guest's host name (RFC 1123), in the seed's meta-data\n"

#endif
