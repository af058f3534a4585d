#ifndef NESTVM_CORE_VCPU_FAULT_H
#define NESTVM_CORE_VCPU_FAULT_H

#include <stddef.h>

/* Where a stopped vCPU was (a triple fault): rip, the control registers,
 * EFER, and whether it was running its own guest (nested guest mode), in
 * one line for the VM's LastStop. Read on the vCPU's own thread after the
 * exit; what cannot be read is left out. On AMD, KVM has reset the vCPU
 * by then (its VMCB is undefined after a shutdown): the line says so. */
void vcpu_fault_describe(int vcpu_fd, char *out, size_t size);

#endif
