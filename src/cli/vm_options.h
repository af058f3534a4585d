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

#endif
