/* Long-mode entry state for the boot vCPU, as the Linux 64-bit boot protocol
 * wants it: paging on with an identity map, a flat GDT with __BOOT_CS (0x10)
 * and __BOOT_DS (0x18), interrupts off, rsi = zero page. Pure functions: the
 * caller does KVM_GET_SREGS / KVM_SET_SREGS / KVM_SET_REGS. Only the boot
 * vCPU gets this; the guest starts the others by INIT/SIPI. */
#ifndef NESTVM_ARCH_X86_REGS_H
#define NESTVM_ARCH_X86_REGS_H

#include <stdint.h>
#include <linux/kvm.h>

#include "core/guest_mem.h"
#include "util/err.h"

#define X86_BOOT_CS 0x10 /* the kernel's __BOOT_CS */
#define X86_BOOT_DS 0x18 /* the kernel's __BOOT_DS */
#define X86_BOOT_TSS 0x20 /* 16-byte system descriptor, never loaded by LTR */
#define X86_BOOT_GDT_ENTRIES 6

#define X86_CR0_PE (1ULL << 0)
#define X86_CR0_ET (1ULL << 4)
#define X86_CR0_NE (1ULL << 5)
#define X86_CR0_NW (1ULL << 29)
#define X86_CR0_CD (1ULL << 30)
#define X86_CR0_PG (1ULL << 31)
#define X86_CR4_PAE (1ULL << 5)
#define X86_EFER_LME (1ULL << 8)
#define X86_EFER_LMA (1ULL << 10)

/* Page-table entry bits used by the identity map. */
#define X86_PTE_P (1ULL << 0)
#define X86_PTE_RW (1ULL << 1)
#define X86_PTE_PS (1ULL << 7)

/* Write the GDT at BOOT_GDT_ADDR and the identity page tables (first 4 GiB,
 * 2 MiB pages) at BOOT_PML4. Once per VM, before the first vCPU run. */
int x86_regs_setup_memory(const struct guest_mem *mem, struct nv_err *err);

/* Turn sregs from KVM_GET_SREGS into long-mode state matching that memory. */
void x86_regs_boot_sregs(struct kvm_sregs *sregs);

/* General registers: rip = entry, rsi = zero_page, rflags = 0x2. */
void x86_regs_boot_regs(struct kvm_regs *regs, uint64_t entry, uint64_t zero_page);

/* A GDT descriptor for base, limit (20 bits) and flags in the layout of the
 * descriptor's bytes 5-6 (e.g. 0xa09b = 64-bit code). Exposed for tests. */
uint64_t x86_regs_gdt_entry(uint16_t flags, uint32_t base, uint32_t limit);

#endif
