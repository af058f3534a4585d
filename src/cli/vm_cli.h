/* Helpers shared by the named-VM commands (cmd_vm_define.c, cmd_vm_query.c,
 * cmd_enable_nested.c, cmd_status.c): formats, argument checks, and
 * pushing a MAC address spoofing change to a running VM's switches. */
#ifndef NESTVM_CLI_VM_CLI_H
#define NESTVM_CLI_VM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mgmt/vm_config.h"
#include "mgmt/vm_store.h"
#include "util/err.h"

/* "512M", "2G", "1536M". */
void vm_cli_memory(uint64_t mib, char *out, size_t size);
/* Seconds since the VM started, or -1 when it is Off (or never started). */
int64_t vm_cli_uptime_seconds(const struct vm_record *r);
/* "00:05:12", or "1.02:03:04" past a day (Hyper-V's TimeSpan); "" for -1. */
void vm_cli_uptime(int64_t secs, char *out, size_t size);
/* "on"/"off" (also yes/no, true/false, 1/0) for option opt; 0 or exit status. */
int vm_cli_on_off(const char *opt, const char *v, bool *out);
/* Takes argv[optind] as a VM name and checks it; 0 or an exit status. */
int vm_cli_name_arg(int argc, char **argv, const char *sub, const char **name);
/* A bad option from getopt_long in `vm SUB`: the message, and 2. */
int vm_cli_getopt_error(int c, char **argv, const char *sub);
/* For a running VM: set-port on adapter's switch (adapter -1: every
 * adapter), as the record says. Prints a warning for each adapter it could
 * not reach; returns how many failed. */
int vm_cli_push_spoofing(const struct vm_record *r, int adapter);
/* Exit status for err's kind, after printing it. */
int vm_cli_fail(const struct nv_err *err);
/* vm_store_lock_load for a command: 0 with the lock held, or the exit
 * status after printing why. */
int vm_cli_lock_load(const char *name, struct vm_lock *lk, struct vm_record *r);

#endif
