/* `nestvm enable-nested VM`: what must change for VM to run its own VMs
 * (Hyper-V's Enable-NestedVm), as a plan the CLI shows and then carries
 * out step by step with the user's answers. Pure, unit-tested.
 * Required steps: stop the VM if it is not Off (only when there is a
 * setting to change that needs Off), expose the extensions, raise memory to
 * VM_NESTED_MIN_MEMORY_MIB. Dynamic memory is always off in nestvm (said,
 * never a step). Optional: MAC address spoofing on each adapter that has it
 * off (may change while running). */
#ifndef NESTVM_MGMT_ENABLE_NESTED_PLAN_H
#define NESTVM_MGMT_ENABLE_NESTED_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mgmt/vm_config.h"

struct enable_nested_plan {
	bool stop;              /* the VM is not Off and a required step needs Off */
	enum vm_state state;    /* its state when planned */
	bool expose;            /* expose the virtualization extensions */
	bool raise_memory;
	uint64_t memory_from, memory_to; /* MiB */
	unsigned spoof_adapters; /* bit i: adapter i has spoofing off (optional step) */
	unsigned nspoof;
};

void enable_nested_plan_make(const struct vm_record *r, struct enable_nested_plan *p);
bool enable_nested_plan_required(const struct enable_nested_plan *p); /* expose or memory */
bool enable_nested_plan_empty(const struct enable_nested_plan *p);    /* nothing at all */

/* The plan as the lines printed under "This will set the following for VM
 * X in order to enable nesting:", each "\t* ...\n", into out. */
void enable_nested_plan_text(const struct vm_record *r, const struct enable_nested_plan *p, char *out,
			     size_t size);

/* Applies the accepted steps to the config (no I/O): required ones if
 * required, spoofing on the planned adapters if spoofing. */
void enable_nested_plan_apply(const struct enable_nested_plan *p, bool required, bool spoofing,
			      struct vm_config *c);

#endif
