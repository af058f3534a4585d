/* The cloud-init seed (mgmt/cloud_init_seed.h) of `run` and of a named VM
 * (`vm create`, `vm set`): the options read and checked before anything is
 * made, then the seed where it lives. Each returns 0, or the exit status
 * after printing one line. */
#ifndef NESTVM_CLI_VM_SEED_H
#define NESTVM_CLI_VM_SEED_H

#include <stdbool.h>

#include "cli/vm_options.h"
#include "mgmt/cloud_init_seed.h"
#include "mgmt/vm_config.h"
#include "mgmt/vm_store.h"

/* `run`: c gets a seed made in a temporary folder, which goes when this
 * process exits or vm_seed_run_release says; a fresh instance id (c's name
 * set first). */
int vm_seed_for_run(struct vm_config *c, const struct vm_cloud_init_options *o);
/* The machine is built (its disks open) or will not be: the temporary
 * folder goes now, still as the user that made it (a --run-as VMM could
 * not remove it at exit), and nothing is left if nestvm is killed. */
void vm_seed_run_release(void);

/* A named VM's next cloud-init settings: c's (a record's; empty for a new
 * VM) with o applied (with none_ok, "none" takes one away), and what the
 * seed is made of read into in: the files given, else the copies in the
 * VM's folder; the VM checked to have room for one more disk, and
 * genisoimage to be there. Nothing is written. */
int vm_seed_prepare(const struct vm_config *c, const struct vm_cloud_init_options *o, bool none_ok,
		    struct vm_cloud_init *next, struct cloud_init_seed_input *in);

/* The VM's seed folder made anew from in (or removed, when next names
 * nothing), and c->cloud_init set to next with the seed's path. The caller
 * holds the record's lock and saves it. */
int vm_seed_install(struct vm_config *c, struct vm_cloud_init *next, const struct cloud_init_seed_input *in);

/* `vm create`: the new VM's seed (from vm_seed_prepare), made in its
 * folder under its lock and saved in its record; the VM goes again if it
 * cannot be made. */
int vm_seed_create(struct vm_record *r, struct vm_cloud_init *next, const struct cloud_init_seed_input *in);
/* `vm set` on the locked record r (the state checked): the files read, the
 * room for the seed's disk checked, the seed made anew; what it says is
 * appended to *out (a malloc()ed text, or NULL), printed once saved. */
int vm_seed_set(struct vm_record *r, const struct vm_cloud_init_options *o, char **out);

#endif
