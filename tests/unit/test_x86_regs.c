/* Long-mode boot state: the page tables written to guest memory must map
 * identity, and the GDT in guest memory must agree with the segment
 * registers handed to KVM (VM entry refuses inconsistent state). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/layout.h"
#include "arch/x86/regs.h"
#include "core/guest_mem.h"

#define RAM (2u << 20)
#define ADDR_MASK 0x000ffffffffff000ULL

struct fix {
	uint8_t *host;
	struct guest_mem mem;
};

static int fix_setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	f->host = calloc(1, RAM);
	guest_mem_init_over(&f->mem, f->host, RAM);
	*state = f;
	return 0;
}

static int fix_teardown(void **state)
{
	struct fix *f = *state;
	free(f->host);
	free(f);
	return 0;
}

static uint64_t rd64(const struct guest_mem *mem, uint64_t gpa)
{
	uint64_t v;
	assert_int_equal(guest_mem_read(mem, gpa, &v, sizeof(v)), 0);
	return v;
}

/* Four-level walk as the MMU does it; returns 0 and the physical address
 * if mapped present and writable. */
static int walk(const struct guest_mem *mem, uint64_t cr3, uint64_t va, uint64_t *pa)
{
	uint64_t e = rd64(mem, (cr3 & ADDR_MASK) + ((va >> 39) & 511) * 8);
	if (!(e & X86_PTE_P) || !(e & X86_PTE_RW))
		return -1;
	e = rd64(mem, (e & ADDR_MASK) + ((va >> 30) & 511) * 8);
	if (!(e & X86_PTE_P) || !(e & X86_PTE_RW))
		return -1;
	if (e & X86_PTE_PS) {
		*pa = (e & 0x000fffffc0000000ULL) | (va & 0x3fffffff);
		return 0;
	}
	e = rd64(mem, (e & ADDR_MASK) + ((va >> 21) & 511) * 8);
	if (!(e & X86_PTE_P) || !(e & X86_PTE_RW))
		return -1;
	if (e & X86_PTE_PS) {
		*pa = (e & 0x000fffffffe00000ULL) | (va & 0x1fffff);
		return 0;
	}
	e = rd64(mem, (e & ADDR_MASK) + ((va >> 12) & 511) * 8);
	if (!(e & X86_PTE_P))
		return -1;
	*pa = (e & ADDR_MASK) | (va & 0xfff);
	return 0;
}

static void test_identity_map(void **state)
{
	struct fix *f = *state;
	memset(f->host, 0xff, RAM); /* stale garbage must not leak into the tables */
	assert_int_equal(x86_regs_setup_memory(&f->mem, NULL), 0);

	struct kvm_sregs s;
	memset(&s, 0, sizeof(s));
	x86_regs_boot_sregs(&s);
	static const uint64_t vas[] = { 0, 0x7000, 0x8ff0, 0x100200, 0x1234567, 0x7fffffff,
					0xbfffffff, 0xc0000000, 0xfec00000, 0xfee00fff,
					0xffffffff };
	for (size_t i = 0; i < sizeof(vas) / sizeof(vas[0]); i++) {
		uint64_t pa = ~0ULL;
		assert_int_equal(walk(&f->mem, s.cr3, vas[i], &pa), 0);
		assert_int_equal(pa, vas[i]);
	}
	/* Above the mapped range the walk must stop at a non-present entry,
	 * not at leftover 0xff bytes. */
	uint64_t pa;
	assert_int_equal(walk(&f->mem, s.cr3, 0x100000000ULL, &pa), -1);
	assert_int_equal(walk(&f->mem, s.cr3, 0xffffffff81000000ULL, &pa), -1);
}

static void test_tables_stay_in_their_area(void **state)
{
	struct fix *f = *state;
	memset(f->host, 0x5a, RAM);
	assert_int_equal(x86_regs_setup_memory(&f->mem, NULL), 0);
	/* The zero page, stack and command line areas are not touched. */
	for (uint64_t a = BOOT_ZERO_PAGE; a < BOOT_PML4; a++)
		assert_int_equal(f->host[a], 0x5a);
	for (uint64_t a = BOOT_PAGE_TABLES_END; a < BOOT_CMDLINE + BOOT_CMDLINE_MAX; a++)
		assert_int_equal(f->host[a], 0x5a);
	assert_true(BOOT_GDT_ADDR + X86_BOOT_GDT_ENTRIES * 8 <= BOOT_ZERO_PAGE);
	assert_true(BOOT_PAGE_TABLES_END <= BOOT_CMDLINE);
}

static void test_memory_too_small(void **state)
{
	uint8_t host[0x8000];
	struct guest_mem mem;
	guest_mem_init_over(&mem, host, sizeof(host));
	struct nv_err err = { 0 };
	assert_int_equal(x86_regs_setup_memory(&mem, &err), -1);
	assert_int_equal(err.kind, NV_ERR_INPUT);
	assert_non_null(strstr(err.msg, "too small"));
}

static void test_gdt_entry_encoding(void **state)
{
	/* The well-known flat long-mode descriptors. */
	assert_int_equal(x86_regs_gdt_entry(0xa09b, 0, 0xfffff), 0x00af9b000000ffffULL);
	assert_int_equal(x86_regs_gdt_entry(0xc093, 0, 0xfffff), 0x00cf93000000ffffULL);
	/* Base and limit are scattered over the descriptor. */
	assert_int_equal(x86_regs_gdt_entry(0x008b, 0x12345678, 0x67), 0x12008b3456780067ULL);
	assert_int_equal(x86_regs_gdt_entry(0x408b, 0xabcdef01, 0xf1234), 0xab4f8bcdef011234ULL);
}

/* Decode the descriptor for a selector from guest memory and compare with
 * what KVM will load into the hidden segment state. */
static void check_segment(const struct guest_mem *mem, const struct kvm_sregs *s,
			  const struct kvm_segment *seg)
{
	unsigned idx = seg->selector >> 3;
	assert_int_equal(seg->selector & 7, 0); /* GDT, RPL 0 */
	assert_true(idx != 0);
	assert_true(idx * 8 + 7 <= s->gdt.limit);
	uint64_t d = rd64(mem, s->gdt.base + idx * 8);
	uint64_t base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
	uint32_t limit = (uint32_t)((d & 0xffff) | (((d >> 48) & 0xf) << 16));
	unsigned g = (d >> 55) & 1;
	if (g)
		limit = (limit << 12) | 0xfff;
	assert_int_equal(seg->base, base);
	assert_int_equal(seg->limit, limit);
	assert_int_equal(seg->type, (d >> 40) & 0xf);
	assert_int_equal(seg->s, (d >> 44) & 1);
	assert_int_equal(seg->dpl, (d >> 45) & 3);
	assert_int_equal(seg->present, (d >> 47) & 1);
	assert_int_equal(seg->avl, (d >> 52) & 1);
	assert_int_equal(seg->l, (d >> 53) & 1);
	assert_int_equal(seg->db, (d >> 54) & 1);
	assert_int_equal(seg->g, g);
	assert_int_equal(seg->unusable, 0);
	if (!seg->s) { /* long-mode system descriptors take 16 bytes */
		assert_true(idx * 8 + 15 <= s->gdt.limit);
		assert_int_equal(rd64(mem, s->gdt.base + idx * 8 + 8), 0);
	}
}

static void test_sregs_match_gdt(void **state)
{
	struct fix *f = *state;
	assert_int_equal(x86_regs_setup_memory(&f->mem, NULL), 0);
	assert_int_equal(rd64(&f->mem, BOOT_GDT_ADDR), 0); /* null descriptor */

	/* Roughly what KVM_GET_SREGS returns after reset. */
	struct kvm_sregs s;
	memset(&s, 0, sizeof(s));
	s.cr0 = 0x60000010;
	s.cs.selector = 0xf000;
	s.cs.base = 0xffff0000;
	s.tr.type = 11;
	s.apic_base = 0xfee00900;
	x86_regs_boot_sregs(&s);

	assert_int_equal(s.gdt.base, BOOT_GDT_ADDR);
	assert_int_equal(s.cs.selector, 0x10); /* the kernel's __BOOT_CS */
	assert_int_equal(s.ds.selector, 0x18); /* __BOOT_DS */
	const struct kvm_segment *segs[] = { &s.cs, &s.ds, &s.es, &s.fs, &s.gs, &s.ss, &s.tr };
	for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]); i++)
		check_segment(&f->mem, &s, segs[i]);

	/* 64-bit code: L set, D clear, execute/read; data writable; ss DPL = cs DPL. */
	assert_int_equal(s.cs.l, 1);
	assert_int_equal(s.cs.db, 0);
	assert_true(s.cs.type & 0x8);
	assert_true(s.cs.type & 0x2);
	assert_false(s.ds.type & 0x8);
	assert_true(s.ds.type & 0x2);
	assert_int_equal(s.ss.dpl, s.cs.dpl);
	assert_int_equal(s.tr.type, 11); /* busy 64-bit TSS */
	assert_int_equal(s.tr.s, 0);

	assert_true(s.cr0 & X86_CR0_PE);
	assert_true(s.cr0 & X86_CR0_PG);
	assert_true(s.cr0 & X86_CR0_NE);
	assert_false(s.cr0 & (X86_CR0_CD | X86_CR0_NW));
	assert_true(s.cr4 & X86_CR4_PAE);
	assert_true(s.efer & X86_EFER_LME);
	assert_true(s.efer & X86_EFER_LMA);
	assert_int_equal(s.cr3, BOOT_PML4);
	assert_int_equal(s.apic_base, 0xfee00900); /* untouched */
	assert_int_equal(s.idt.limit, 0);
}

static void test_boot_regs(void **state)
{
	struct kvm_regs r;
	memset(&r, 0xcc, sizeof(r));
	x86_regs_boot_regs(&r, 0x100200, BOOT_ZERO_PAGE);
	assert_int_equal(r.rip, 0x100200);
	assert_int_equal(r.rsi, BOOT_ZERO_PAGE);
	assert_int_equal(r.rflags, 0x2);
	assert_int_equal(r.rax, 0);
	assert_int_equal(r.rdi, 0);
	assert_int_equal(r.r15, 0);
	/* The stack sits between the zero page and the page tables. */
	assert_true(r.rsp > BOOT_ZERO_PAGE + 0x1000 && r.rsp <= BOOT_PML4);
	assert_int_equal(r.rsp % 16, 0);
	assert_int_equal(r.rbp, r.rsp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity_map, fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_tables_stay_in_their_area, fix_setup, fix_teardown),
		cmocka_unit_test(test_memory_too_small),
		cmocka_unit_test(test_gdt_entry_encoding),
		cmocka_unit_test_setup_teardown(test_sregs_match_gdt, fix_setup, fix_teardown),
		cmocka_unit_test(test_boot_regs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
