#include "core/kvm_vm.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm/kvm.h"

/* Addresses KVM's VMX code needs inside the 4 GiB hole, below the BIOS area
 * (unused on AMD, harmless there). */
#define VM_IDENTITY_MAP_ADDR 0xfeffc000ULL
#define VM_TSS_ADDR 0xfeffd000ULL

static int vm_map_memory(struct kvm_vm *vm, struct nv_err *err)
{
	for (int i = 0; i < vm->mem.nregions; i++) {
		const struct guest_mem_region *r = &vm->mem.regions[i];
		int ret = kvm_set_user_memory(vm->fd, (uint32_t)i, r->gpa, r->size, r->host);
		if (ret < 0)
			return nv_err_host(err, "cannot register guest memory with KVM: %s", strerror(-ret));
	}
	return 0;
}

int kvm_vm_create(struct kvm_vm *vm, const char *kvm_path, uint64_t ram_bytes, struct nv_err *err)
{
	return kvm_vm_create_with(vm, kvm_path, ram_bytes, NULL, false, err);
}

int kvm_vm_create_with(struct kvm_vm *vm, const char *kvm_path, uint64_t ram_bytes,
		       const struct kvm_vm_saved_memory *saved, bool shared_ram, struct nv_err *err)
{
	memset(vm, 0, sizeof(*vm));
	vm->fd = -1;
	bus_init(&vm->pio);
	bus_init(&vm->mmio);
	vm->kvm_fd = kvm_open(kvm_path, err);
	if (vm->kvm_fd < 0)
		return -1;
	int r;
	static const struct {
		long cap;
		const char *name;
	} needed[] = {
		{ KVM_CAP_IRQCHIP, "in-kernel irqchip" },
		{ KVM_CAP_PIT2, "in-kernel PIT" },
		{ KVM_CAP_USER_MEMORY, "user memory" },
		{ KVM_CAP_IMMEDIATE_EXIT, "immediate exit" },
		{ KVM_CAP_EXT_CPUID, "CPUID setting" },
	};
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		if (kvm_check_extension(vm->kvm_fd, needed[i].cap) <= 0) {
			nv_err_host(err, "this KVM lacks the %s capability nestvm needs", needed[i].name);
			goto fail;
		}
	}
	vm->run_size = kvm_vcpu_mmap_size(vm->kvm_fd);
	if (vm->run_size < (int)sizeof(struct kvm_run)) {
		nv_err_host(err, "KVM reports a bad vCPU mmap size");
		goto fail;
	}
	vm->fd = kvm_create_vm(vm->kvm_fd);
	if (vm->fd < 0) {
		nv_err_host(err, "cannot create a KVM VM: %s", strerror(-vm->fd));
		goto fail;
	}
	if ((r = kvm_set_identity_map_addr(vm->fd, VM_IDENTITY_MAP_ADDR)) < 0 ||
	    (r = kvm_set_tss_addr(vm->fd, VM_TSS_ADDR)) < 0) {
		nv_err_host(err, "cannot set KVM's TSS area: %s", strerror(-r));
		goto fail;
	}
	if ((r = kvm_create_irqchip(vm->fd)) < 0 || (r = kvm_create_pit2(vm->fd)) < 0) {
		nv_err_host(err, "cannot create the in-kernel interrupt controllers: %s", strerror(-r));
		goto fail;
	}
	if (saved ? guest_mem_map_file(&vm->mem, saved->fd, saved->offset, ram_bytes, err) < 0
	    : shared_ram ? guest_mem_alloc_shared(&vm->mem, ram_bytes, err) < 0
			 : guest_mem_alloc(&vm->mem, ram_bytes, err) < 0)
		goto fail;
	if (vm_map_memory(vm, err) < 0)
		goto fail;
	return 0;
fail:
	kvm_vm_destroy(vm);
	return -1;
}

void kvm_vm_destroy(struct kvm_vm *vm)
{
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	guest_mem_free(&vm->mem);
	vm->fd = vm->kvm_fd = -1;
}

static void vm_irq_set(void *opaque, unsigned gsi, int level)
{
	struct kvm_vm *vm = opaque;
	kvm_irq_line(vm->fd, gsi, level);
}

int kvm_vm_ioeventfd(struct kvm_vm *vm, uint64_t addr, uint32_t value, int fd)
{
	return kvm_ioeventfd(vm->fd, addr, 4, value, fd);
}

struct irq_line kvm_vm_irq_line(struct kvm_vm *vm, unsigned gsi)
{
	return (struct irq_line){ .set_level = vm_irq_set, .opaque = vm, .gsi = gsi };
}

int kvm_vm_dirty_log(struct kvm_vm *vm, bool on, struct nv_err *err)
{
	for (int i = 0; i < vm->mem.nregions; i++) {
		const struct guest_mem_region *r = &vm->mem.regions[i];
		int ret = kvm_set_user_memory_flags(vm->fd, (uint32_t)i, r->gpa, r->size, r->host,
						    on ? KVM_MEM_LOG_DIRTY_PAGES : 0);
		if (ret < 0)
			return nv_err_host(err, "cannot turn dirty-page logging %s: %s", on ? "on" : "off",
					   strerror(-ret));
	}
	return 0;
}

int kvm_vm_dirty_fetch(struct kvm_vm *vm, uint64_t *bitmap, struct nv_err *err)
{
	uint64_t base = 0; /* the region's first page in RAM's order */
	for (int i = 0; i < vm->mem.nregions; i++) {
		const struct guest_mem_region *r = &vm->mem.regions[i];
		uint64_t pages = r->size / 4096, words = (pages + 63) / 64;
		uint64_t *log = calloc(words, sizeof(*log));
		if (!log)
			return nv_err_host(err, "out of memory");
		int ret = kvm_get_dirty_log(vm->fd, (uint32_t)i, log);
		if (ret < 0) {
			free(log);
			return nv_err_host(err, "cannot read KVM's dirty log: %s", strerror(-ret));
		}
		for (uint64_t w = 0; w < words; w++) {
			if (!log[w])
				continue;
			for (unsigned b = 0; b < 64; b++) {
				uint64_t pg = w * 64 + b;
				if ((log[w] >> b & 1) && pg < pages)
					bitmap[(base + pg) / 64] |= 1ULL << ((base + pg) % 64);
			}
		}
		free(log);
		base += pages;
	}
	return 0;
}
