/* Can a VM migrate into a target that expects this record? What the
 * machine is built from must be the same on both sides (RAM, vCPUs, the
 * extensions, dynamic memory, the device list, the adapters' count): the
 * vCPU and device states of one only load into the same machine. Paths
 * (disks, kernel) and MACs come with the source's record. */
#ifndef NESTVM_MGMT_VM_MIGRATION_CHECK_H
#define NESTVM_MGMT_VM_MIGRATION_CHECK_H

#include "mgmt/vm_config.h"
#include "util/err.h"

/* 0, or -1 with err (NV_ERR_INPUT): one line naming the first difference,
 * "the source has X, this target expects Y". */
int vm_migration_check(const struct vm_config *target, const struct vm_config *source, struct nv_err *err);

#endif
