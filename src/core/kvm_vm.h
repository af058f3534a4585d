/* A KVM virtual machine: its file descriptors, guest RAM registered as
 * memory slots, the in-kernel interrupt controllers and the two buses. */
#ifndef NESTVM_CORE_KVM_VM_H
#define NESTVM_CORE_KVM_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/guest_mem.h"
#include "core/irq.h"
#include "util/err.h"

struct kvm_vm {
	int kvm_fd;
	int fd;
	int run_size;
	struct guest_mem mem;
	struct bus pio;
	struct bus mmio;
};

/* Opens kvm_path, creates the VM with irqchip and PIT, allocates and maps
 * ram_bytes of RAM. On failure everything is released. */
int kvm_vm_create(struct kvm_vm *vm, const char *kvm_path, uint64_t ram_bytes, struct nv_err *err);
/* The same, with RAM mapped from a saved memory file (guest_mem_map_file). */
struct kvm_vm_saved_memory {
	int fd; /* only used during the call */
	uint64_t offset;
};
/* shared_ram: RAM a vhost-user back-end can map (guest_mem_alloc_shared);
 * not with saved. */
int kvm_vm_create_with(struct kvm_vm *vm, const char *kvm_path, uint64_t ram_bytes,
		       const struct kvm_vm_saved_memory *saved, bool shared_ram, struct nv_err *err);
void kvm_vm_destroy(struct kvm_vm *vm);

/* Dirty-page logging on every RAM slot (on) or off again. */
int kvm_vm_dirty_log(struct kvm_vm *vm, bool on, struct nv_err *err);
/* ORs into bitmap (one bit per page of RAM in RAM's order: low region,
 * then high; rounded up to 64 bits) the pages the vCPUs wrote since
 * logging began or the last fetch, and clears KVM's log. */
int kvm_vm_dirty_fetch(struct kvm_vm *vm, uint64_t *bitmap, struct nv_err *err);

/* An irq_line that drives a GSI of this VM's in-kernel IOAPIC. */
struct irq_line kvm_vm_irq_line(struct kvm_vm *vm, unsigned gsi);
/* fd is signalled by KVM when the guest writes the 32-bit value at addr
 * (an ioeventfd with datamatch). 0 or -errno. */
int kvm_vm_ioeventfd(struct kvm_vm *vm, uint64_t addr, uint32_t value, int fd);

#endif
