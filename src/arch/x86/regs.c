/* Long-mode boot state: GDT, identity page tables and the registers that
 * point at them. The GDT and the segment registers are derived from the same
 * flag words so they cannot disagree (VM entry checks would refuse it). */
#include "arch/x86/regs.h"

#include <string.h>

#include "arch/x86/layout.h"

/* Descriptor flag words: bytes 5 (access) and 6 (high nibble: G, D/B, L). */
#define FLAGS_CODE64 0xa09b /* G, L, present, code exec/read accessed */
#define FLAGS_DATA 0xc093   /* G, D/B, present, data read/write accessed */
#define FLAGS_TSS 0x008b    /* present, 64-bit TSS busy */
#define TSS_LIMIT 0x67
#define PAGE 4096ULL
#define PTES 512
#define MIB2 0x200000ULL

uint64_t x86_regs_gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000u) << 32) | ((uint64_t)(flags & 0xf0ff) << 40) |
	       ((uint64_t)(limit & 0x000f0000u) << 32) | ((uint64_t)(base & 0x00ffffffu) << 16) |
	       (uint64_t)(limit & 0xffffu);
}

static struct kvm_segment segment(uint16_t selector, uint16_t flags, uint32_t limit)
{
	uint8_t g = (flags >> 15) & 1;
	return (struct kvm_segment){
		.base = 0,
		/* KVM wants the byte-granular limit. */
		.limit = g ? (limit << 12) | 0xfff : limit,
		.selector = selector,
		.type = flags & 0xf,
		.s = (flags >> 4) & 1,
		.dpl = (flags >> 5) & 3,
		.present = (flags >> 7) & 1,
		.avl = (flags >> 12) & 1,
		.l = (flags >> 13) & 1,
		.db = (flags >> 14) & 1,
		.g = g,
	};
}

int x86_regs_setup_memory(const struct guest_mem *mem, struct nv_err *err)
{
	uint64_t gdt[X86_BOOT_GDT_ENTRIES] = { 0 };
	gdt[X86_BOOT_CS >> 3] = x86_regs_gdt_entry(FLAGS_CODE64, 0, 0xfffff);
	gdt[X86_BOOT_DS >> 3] = x86_regs_gdt_entry(FLAGS_DATA, 0, 0xfffff);
	gdt[X86_BOOT_TSS >> 3] = x86_regs_gdt_entry(FLAGS_TSS, 0, TSS_LIMIT);
	/* gdt[5] = upper half of the 16-byte TSS descriptor: base 63:32 = 0. */

	uint64_t *pml4 = guest_mem_ptr(mem, BOOT_PML4, BOOT_PAGE_TABLES_END - BOOT_PML4);
	if (!pml4 || guest_mem_write(mem, BOOT_GDT_ADDR, gdt, sizeof(gdt)) < 0)
		return nv_err_input(err, "guest memory is too small for the boot page tables");
	uint64_t *pdpt = pml4 + PTES;
	uint64_t *pd = pdpt + PTES;
	memset(pml4, 0, BOOT_PAGE_TABLES_END - BOOT_PML4);
	pml4[0] = BOOT_PDPT | X86_PTE_P | X86_PTE_RW;
	for (uint64_t i = 0; i < BOOT_PD_COUNT; i++)
		pdpt[i] = (BOOT_PD + i * PAGE) | X86_PTE_P | X86_PTE_RW;
	for (uint64_t i = 0; i < BOOT_PD_COUNT * PTES; i++)
		pd[i] = (i * MIB2) | X86_PTE_P | X86_PTE_RW | X86_PTE_PS;
	return 0;
}

void x86_regs_boot_sregs(struct kvm_sregs *sregs)
{
	struct kvm_segment code = segment(X86_BOOT_CS, FLAGS_CODE64, 0xfffff);
	struct kvm_segment data = segment(X86_BOOT_DS, FLAGS_DATA, 0xfffff);
	sregs->cs = code;
	sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = data;
	sregs->tr = segment(X86_BOOT_TSS, FLAGS_TSS, TSS_LIMIT);

	sregs->gdt.base = BOOT_GDT_ADDR;
	sregs->gdt.limit = X86_BOOT_GDT_ENTRIES * 8 - 1;
	/* No IDT: with interrupts off, an early fault should triple-fault
	 * (a clean shutdown exit) rather than run the real-mode IVT. */
	sregs->idt.base = 0;
	sregs->idt.limit = 0;

	sregs->cr0 = (sregs->cr0 & ~(X86_CR0_CD | X86_CR0_NW)) | X86_CR0_PE | X86_CR0_ET |
		     X86_CR0_NE | X86_CR0_PG;
	sregs->cr3 = BOOT_PML4;
	sregs->cr4 |= X86_CR4_PAE;
	sregs->efer |= X86_EFER_LME | X86_EFER_LMA;
}

void x86_regs_boot_regs(struct kvm_regs *regs, uint64_t entry, uint64_t zero_page)
{
	memset(regs, 0, sizeof(*regs));
	regs->rflags = 0x2; /* reserved bit 1; IF clear */
	regs->rip = entry;
	regs->rsi = zero_page;
	regs->rsp = BOOT_STACK;
	regs->rbp = BOOT_STACK;
}
