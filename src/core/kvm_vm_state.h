/* The VM-wide state KVM keeps for us: the in-kernel interrupt controllers
 * (two PICs, the IOAPIC), the PIT and kvm-clock. Device-table snapshot
 * hooks (struct device_ops.snapshot) over a struct kvm_vm. */
#ifndef NESTVM_CORE_KVM_VM_STATE_H
#define NESTVM_CORE_KVM_VM_STATE_H

#include "core/device_snapshot.h"
#include "core/kvm_vm.h"
#include "util/err.h"

/* PIC master, PIC slave, IOAPIC and PIT, raw as KVM reports them (KVM
 * checks what it is given back). */
int kvm_vm_snapshot_irqchip(struct kvm_vm *vm, struct device_snapshot *s, struct nv_err *err);
/* kvm-clock: the guest's clock stands still while the VM is saved, as
 * its TSC does, so guest time continues where it stopped. */
int kvm_vm_snapshot_clock(struct kvm_vm *vm, struct device_snapshot *s, struct nv_err *err);

#endif
