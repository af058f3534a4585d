/* `nestvm status VM`: can this VM run its own VMs? A pure function of its
 * record and the host's verdict, like Hyper-V's Get-NestedVirtStatus for a
 * VM but current: AMD hosts, saved states and checkpoints are no reason for
 * NO. NO when the extensions are not exposed, when startup memory is below
 * VM_NESTED_MIN_MEMORY_MIB, or when the host cannot nest (its reasons).
 * MAC address spoofing off on every adapter is a warning. */
#ifndef NESTVM_MGMT_VM_NESTED_CHECK_H
#define NESTVM_MGMT_VM_NESTED_CHECK_H

#include <stdbool.h>

#include "host/nested_check.h"
#include "mgmt/vm_config.h"

struct json_object;

struct vm_nested_verdict {
	bool supported;
	unsigned nproblems; /* reasons for NO first, then warnings */
	struct nested_problem problems[NESTED_CHECK_MAX_PROBLEMS + 4];
};

void vm_nested_check_evaluate(const struct vm_record *r, const struct nested_verdict *host,
			      struct vm_nested_verdict *v);

/* "The virtual machine X supports nested virtualization: YES|NO", then
 * "Key : Value" lines (aligned), then Reason/Fix (Warning/Fix) lines.
 * malloc()ed; NULL when out of memory. */
char *vm_nested_report_text(const struct vm_record *r, const struct vm_nested_verdict *v);
/* The same as a JSON object (the caller puts it). */
struct json_object *vm_nested_report_json(const struct vm_record *r, const struct vm_nested_verdict *v);

#endif
