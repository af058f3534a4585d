/* x86 direct boot loader with an uncompressed ELF64 vmlinux: segments at
 * their physical addresses, entry point translation, zero page built from
 * scratch, and refusal of every malformed or foreign ELF. */
#include "unit/x86_images.h"

/* ---- ELF -------------------------------------------------------------- */

static void test_elf_vmlinux(void **state)
{
	struct guest_mem m = vm(64 * MiB);
	uint8_t *ram = guest_mem_ptr(&m, 0x1400000, 0x2000);
	memset(ram, 0xaa, 0x2000); /* bss must come out zeroed */
	size_t len, rdlen = 10000;
	uint8_t *k = vmlinux_make(0x1000040, &len), *rd = initrd_make(rdlen);
	struct x86_boot_params_in in = { .kernel = k, .kernel_len = len, .cmdline = "root=/dev/vda",
					 .initrd = rd, .initrd_len = rdlen, .rsdp_addr = 0xe0000 };
	struct x86_boot_info info;
	struct nv_err err = { 0 };
	assert_int_equal(x86_boot_load(&m, &in, &info, &err), 0);
	assert_int_equal(info.kind, X86_KERNEL_ELF);
	assert_int_equal(info.entry, 0x1000040);
	assert_int_equal(info.kernel_start, 0x1000000);
	assert_int_equal(info.kernel_end, 0x1402000);

	const uint8_t *a = guest_mem_ptr(&m, 0x1000000, 0x3000);
	for (uint64_t i = 0; i < 0x3000; i++)
		assert_int_equal(a[i], elf_byte(0, i));
	const uint8_t *b = guest_mem_ptr(&m, 0x1400000, 0x2000);
	for (uint64_t i = 0; i < 0x100; i++)
		assert_int_equal(b[i], elf_byte(2, i));
	assert_true(all_zero(&m, 0x1400100, 0x2000 - 0x100));
	assert_true(all_zero(&m, 0x100000, 0xf00000)); /* nothing at 1 MiB */
	check_initrd(&m, &info, rd, rdlen, 64 * MiB);

	const struct boot_params *zp = zero_page(&m);
	assert_int_equal(zp->hdr.header, BP_HDR_MAGIC);
	assert_int_equal(zp->hdr.boot_flag, 0xaa55);
	assert_true(zp->hdr.version >= 0x020c);
	assert_int_equal(zp->hdr.type_of_loader, 0xff);
	assert_true(zp->hdr.loadflags & BP_LOADED_HIGH);
	assert_int_equal(zp->hdr.cmd_line_ptr, BOOT_CMDLINE);
	assert_int_equal(zp->hdr.cmdline_size, BOOT_CMDLINE_MAX - 1);
	assert_string_equal((const char *)guest_mem_ptr(&m, BOOT_CMDLINE, 1), "root=/dev/vda");
	assert_int_equal(zp->acpi_rsdp_addr, 0xe0000);
	assert_int_equal(zp->e820_entries, 3);
	expect_e820(zp, 1, EBDA_START, 0x100000, BP_E820_RESERVED);
	expect_e820(zp, 2, 0x100000, 64 * MiB, BP_E820_RAM);
	free(k);
	free(rd);
	guest_mem_free(&m);
}

static void test_elf_virtual_entry(void **state)
{
	struct guest_mem m = vm(64 * MiB);
	size_t len;
	uint8_t *k = vmlinux_make(VMLINUX_VA + 0x400010, &len);
	struct x86_boot_params_in in = { .kernel = k, .kernel_len = len };
	struct x86_boot_info info;
	assert_int_equal(x86_boot_load(&m, &in, &info, NULL), 0);
	assert_int_equal(info.entry, 0x1400010);
	free(k);
	guest_mem_free(&m);
}

static void expect_elf_refused(uint8_t cls, uint16_t machine, uint64_t entry, const struct seg *s,
			       int n, size_t cut, const char *part)
{
	struct guest_mem m = vm(64 * MiB);
	size_t len;
	uint8_t *k = elf_make(cls, machine, entry, s, n, &len);
	struct x86_boot_params_in in = { .kernel = k, .kernel_len = len - cut };
	expect_refused(&m, &in, part);
	free(k);
	guest_mem_free(&m);
}

static void test_elf_bad(void **state)
{
	const struct seg *v = vmlinux_segs;
	expect_elf_refused(ELFCLASS64, EM_AARCH64, 0x1000000, v, 3, 0, "ELF for ARM aarch64, not x86-64");
	expect_elf_refused(ELFCLASS32, EM_386, 0x1000000, v, 3, 0, "32-bit ELF for x86 (i386)");
	expect_elf_refused(ELFCLASS32, EM_X86_64, 0x1000000, v, 3, 0, "32-bit ELF");
	expect_elf_refused(ELFCLASS64, EM_RISCV, 0x1000000, v, 3, 0, "RISC-V");
	expect_elf_refused(ELFCLASS64, 4242, 0x1000000, v, 3, 0, "machine 4242");
	/* Entry in no segment, physically or virtually. */
	expect_elf_refused(ELFCLASS64, EM_X86_64, 0x2000000, v, 3, 0, "entry point 0x2000000");
	/* File cut inside the last segment's data. */
	expect_elf_refused(ELFCLASS64, EM_X86_64, 0x1000000, v, 3, 1, "truncated ELF: segment 2");
	/* Cut inside the program headers, and inside the ELF header. */
	size_t full;
	free(elf_make(ELFCLASS64, EM_X86_64, 0, v, 3, &full));
	expect_elf_refused(ELFCLASS64, EM_X86_64, 0x1000000, v, 3, full - 100, "program headers");
	expect_elf_refused(ELFCLASS64, EM_X86_64, 0x1000000, v, 3, full - 40, "truncated ELF header");
	expect_elf_refused(ELFCLASS64, EM_X86_64, 0x1000000, v, 3, full - 10, "truncated ELF file");

	struct seg s[1] = { { PT_LOAD, 0x1000000, VMLINUX_VA, 0x200, 0x100 } };
	expect_elf_refused(ELFCLASS64, EM_X86_64, 0x1000000, s, 1, 0, "more file bytes");
	s[0] = (struct seg){ PT_LOAD, 0x80000, 0x80000, 0x200, 0x200 };
	expect_elf_refused(ELFCLASS64, EM_X86_64, 0x80000, s, 1, 0, "below 1 MiB");
	s[0] = (struct seg){ PT_LOAD, 63 * MiB, 63 * MiB, 0x200, 2 * MiB };
	expect_elf_refused(ELFCLASS64, EM_X86_64, 63 * MiB, s, 1, 0, "kernel too big");
	s[0] = (struct seg){ PT_LOAD, ~0ULL - 0x100, 0, 0x200, 0x200 };
	expect_elf_refused(ELFCLASS64, EM_X86_64, 0, s, 1, 0, "kernel too big");
	s[0] = (struct seg){ PT_LOAD, 4 * GiB, 0, 0x200, 0x200 }; /* not in low RAM */
	expect_elf_refused(ELFCLASS64, EM_X86_64, 4 * GiB, s, 1, 0, "kernel too big");
	s[0] = (struct seg){ PT_NOTE, 0x1000000, 0, 0x10, 0x10 };
	expect_elf_refused(ELFCLASS64, EM_X86_64, 0x1000000, s, 1, 0, "no loadable segments");
	expect_elf_refused(ELFCLASS64, EM_X86_64, 0x1000000, s, 0, 0, "no usable program headers");
	s[0] = (struct seg){ PT_INTERP, 0, 0, 0x10, 0x10 };
	expect_elf_refused(ELFCLASS64, EM_X86_64, 0x1000000, s, 1, 0, "dynamically linked program");

	/* Hostile offsets in a program header. */
	struct guest_mem m = vm(64 * MiB);
	size_t len;
	uint8_t *k = vmlinux_make(0x1000000, &len);
	Elf64_Phdr ph;
	memcpy(&ph, k + sizeof(Elf64_Ehdr), sizeof(ph));
	ph.p_offset = ~0ULL - 8;
	memcpy(k + sizeof(Elf64_Ehdr), &ph, sizeof(ph));
	struct x86_boot_params_in in = { .kernel = k, .kernel_len = len };
	expect_refused(&m, &in, "truncated ELF: segment 0");
	Elf64_Ehdr eh;
	memcpy(&eh, k, sizeof(eh));
	eh.e_phoff = ~0ULL - 16;
	memcpy(k, &eh, sizeof(eh));
	expect_refused(&m, &in, "program headers");
	eh.e_phoff = sizeof(eh);
	eh.e_phentsize = 8;
	memcpy(k, &eh, sizeof(eh));
	expect_refused(&m, &in, "program header size");
	free(k);
	guest_mem_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elf_vmlinux),
		cmocka_unit_test(test_elf_virtual_entry),
		cmocka_unit_test(test_elf_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
