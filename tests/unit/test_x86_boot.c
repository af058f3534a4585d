/* x86 direct boot loader with bzImages: synthetic images are loaded into
 * guest memory and the resulting layout and zero page are checked; every kind
 * of bad file must be refused with a message naming the problem and without
 * writing to guest memory. ELF vmlinux loading: test_x86_elf.c. */
#include <glob.h>
#include <stdio.h>

#include "unit/x86_images.h"

/* ---- bzImage ---------------------------------------------------------- */

static void test_bzimage_layout(void **state)
{
	struct guest_mem m = vm(128 * MiB);
	struct bz o = bz_default();
	size_t len;
	uint8_t *k = bz_make(&o, &len);
	struct x86_boot_params_in in = { .kernel = k, .kernel_len = len,
					 .cmdline = "console=ttyS0 panic=-1", .rsdp_addr = 0xe0000 };
	struct x86_boot_info info;
	struct nv_err err = { 0 };
	assert_int_equal(x86_boot_load(&m, &in, &info, &err), 0);

	assert_int_equal(info.kind, X86_KERNEL_BZIMAGE);
	assert_int_equal(info.entry, 0x100200);
	assert_int_equal(info.zero_page, BOOT_ZERO_PAGE);
	assert_int_equal(info.kernel_start, 0x100000);
	/* Relocatable: it decompresses at pref_address, needing init_size. */
	assert_int_equal(info.kernel_end, 16 * MiB + 8 * MiB);
	assert_int_equal(info.initrd_addr, 0);
	assert_int_equal(info.initrd_len, 0);

	/* The protected-mode code, not the setup sectors, is at 1 MiB. */
	const uint8_t *p = guest_mem_ptr(&m, 0x100000, o.payload_len);
	for (size_t i = 0; i < o.payload_len; i++)
		assert_int_equal(p[i], payload_byte(i));
	assert_true(all_zero(&m, 0x100000 + o.payload_len, 4096));

	const struct boot_params *zp = zero_page(&m);
	assert_int_equal(zp->hdr.header, BP_HDR_MAGIC);
	assert_int_equal(zp->hdr.version, 0x020f);
	assert_int_equal(zp->hdr.boot_flag, 0xaa55);
	assert_int_equal(zp->hdr.setup_sects, 4);
	assert_int_equal(zp->hdr.init_size, 8 * MiB);
	assert_int_equal(zp->hdr.kernel_info_offset, 0x12345); /* jump says header ends at 0x26c */
	assert_int_equal(zp->hdr.type_of_loader, 0xff);
	assert_int_equal(zp->hdr.loadflags & (BP_LOADED_HIGH | BP_CAN_USE_HEAP),
			 BP_LOADED_HIGH | BP_CAN_USE_HEAP);
	assert_int_not_equal(zp->hdr.heap_end_ptr, 0);
	assert_int_equal(zp->hdr.code32_start, 0x100000);
	assert_int_equal(zp->hdr.cmd_line_ptr, BOOT_CMDLINE);
	assert_int_equal(zp->ext_cmd_line_ptr, 0);
	assert_string_equal((const char *)guest_mem_ptr(&m, BOOT_CMDLINE, 1), "console=ttyS0 panic=-1");
	assert_int_equal(zp->hdr.ramdisk_image, 0);
	assert_int_equal(zp->hdr.ramdisk_size, 0);
	assert_int_equal(zp->acpi_rsdp_addr, 0xe0000);
	assert_int_equal(zp->sentinel, 0);

	assert_int_equal(zp->e820_entries, 3);
	expect_e820(zp, 0, 0, EBDA_START, BP_E820_RAM);
	expect_e820(zp, 1, EBDA_START, 0x100000, BP_E820_RESERVED);
	expect_e820(zp, 2, 0x100000, 128 * MiB, BP_E820_RAM);
	free(k);
	guest_mem_free(&m);
}

static void test_bzimage_setup_sects_zero_means_four(void **state)
{
	struct guest_mem m = vm(64 * MiB);
	struct bz o = bz_default();
	o.setup_sects = 0;
	size_t len;
	uint8_t *k = bz_make(&o, &len);
	assert_int_equal(len, 5 * 512 + o.payload_len);
	struct x86_boot_params_in in = { .kernel = k, .kernel_len = len };
	struct x86_boot_info info;
	assert_int_equal(x86_boot_load(&m, &in, &info, NULL), 0);
	const uint8_t *p = guest_mem_ptr(&m, 0x100000, 16);
	for (size_t i = 0; i < 16; i++)
		assert_int_equal(p[i], payload_byte(i));
	free(k);
	guest_mem_free(&m);
}

static void test_bzimage_short_header_not_overcopied(void **state)
{
	/* A 2.12 kernel's header ends at 0x268 (jump byte 0x66): the bytes
	 * after it are code, not kernel_info_offset. */
	struct guest_mem m = vm(64 * MiB);
	struct bz o = bz_default();
	o.version = 0x020c;
	o.jump_len = 0x66;
	size_t len;
	uint8_t *k = bz_make(&o, &len);
	struct x86_boot_params_in in = { .kernel = k, .kernel_len = len };
	struct x86_boot_info info;
	assert_int_equal(x86_boot_load(&m, &in, &info, NULL), 0);
	const struct boot_params *zp = zero_page(&m);
	assert_int_equal(zp->hdr.kernel_info_offset, 0);
	assert_int_equal(zp->hdr.handover_offset, 0x190);
	free(k);
	guest_mem_free(&m);
}

static void test_bzimage_not_relocatable(void **state)
{
	struct guest_mem m = vm(64 * MiB);
	struct bz o = bz_default();
	o.relocatable = 0;
	o.pref_address = 20 * MiB;
	size_t len;
	uint8_t *k = bz_make(&o, &len);
	struct x86_boot_params_in in = { .kernel = k, .kernel_len = len };
	struct x86_boot_info info;
	assert_int_equal(x86_boot_load(&m, &in, &info, NULL), 0);
	assert_int_equal(info.kernel_end, 28 * MiB);
	free(k);
	guest_mem_free(&m);
}

static void test_initrd_top_of_low_ram(void **state)
{
	struct guest_mem m = vm(128 * MiB);
	struct bz o = bz_default();
	size_t len, rdlen = MiB + 100;
	uint8_t *k = bz_make(&o, &len), *rd = initrd_make(rdlen);
	struct x86_boot_params_in in = { .kernel = k, .kernel_len = len, .initrd = rd,
					 .initrd_len = rdlen };
	struct x86_boot_info info;
	assert_int_equal(x86_boot_load(&m, &in, &info, NULL), 0);
	check_initrd(&m, &info, rd, rdlen, 128 * MiB);
	assert_int_equal(info.initrd_addr, (128 * MiB - rdlen) & ~0xfffULL);
	free(k);
	free(rd);
	guest_mem_free(&m);
}

static void test_initrd_below_initrd_addr_max(void **state)
{
	struct guest_mem m = vm(1 * GiB);
	struct bz o = bz_default();
	o.initrd_addr_max = 0x1fffffff;
	size_t len, rdlen = 3 * 4096;
	uint8_t *k = bz_make(&o, &len), *rd = initrd_make(rdlen);
	struct x86_boot_params_in in = { .kernel = k, .kernel_len = len, .initrd = rd,
					 .initrd_len = rdlen };
	struct x86_boot_info info;
	assert_int_equal(x86_boot_load(&m, &in, &info, NULL), 0);
	check_initrd(&m, &info, rd, rdlen, 512 * MiB);
	assert_int_equal(info.initrd_addr, 512 * MiB - rdlen);
	free(k);
	free(rd);
	guest_mem_free(&m);
}

static void test_high_memory_e820_and_initrd(void **state)
{
	/* 3.5 GiB: region 1 holds 512 MiB from 4 GiB. initrd_addr_max of
	 * 4 GiB - 1 still keeps the initrd below the 3 GiB hole. */
	struct guest_mem m = vm(3 * GiB + 512 * MiB);
	assert_int_equal(m.nregions, 2);
	struct bz o = bz_default();
	o.initrd_addr_max = 0xffffffff;
	size_t len, rdlen = 8192;
	uint8_t *k = bz_make(&o, &len), *rd = initrd_make(rdlen);
	struct x86_boot_params_in in = { .kernel = k, .kernel_len = len, .initrd = rd,
					 .initrd_len = rdlen };
	struct x86_boot_info info;
	assert_int_equal(x86_boot_load(&m, &in, &info, NULL), 0);
	check_initrd(&m, &info, rd, rdlen, GUEST_MMIO_HOLE_START);

	const struct boot_params *zp = zero_page(&m);
	assert_int_equal(zp->e820_entries, 4);
	expect_e820(zp, 0, 0, EBDA_START, BP_E820_RAM);
	expect_e820(zp, 1, EBDA_START, 0x100000, BP_E820_RESERVED);
	expect_e820(zp, 2, 0x100000, GUEST_MMIO_HOLE_START, BP_E820_RAM);
	expect_e820(zp, 3, 4 * GiB, 4 * GiB + 512 * MiB, BP_E820_RAM);
	free(k);
	free(rd);
	guest_mem_free(&m);
}

static void test_initrd_too_big(void **state)
{
	struct guest_mem m = vm(64 * MiB);
	struct bz o = bz_default(); /* kernel claims up to 24 MiB */
	size_t len, rdlen = 41 * MiB;
	uint8_t *k = bz_make(&o, &len), *rd = initrd_make(rdlen);
	struct x86_boot_params_in in = { .kernel = k, .kernel_len = len, .initrd = rd,
					 .initrd_len = rdlen };
	expect_refused(&m, &in, "initrd (41 MiB) does not fit in guest memory (64 MiB)");
	/* Exactly the room left works. */
	in.initrd_len = 40 * MiB;
	struct x86_boot_info info;
	assert_int_equal(x86_boot_load(&m, &in, &info, NULL), 0);
	assert_int_equal(info.initrd_addr, 24 * MiB);
	free(k);
	free(rd);
	guest_mem_free(&m);
}

static void test_initrd_empty(void **state)
{
	struct guest_mem m = vm(64 * MiB);
	struct bz o = bz_default();
	size_t len;
	uint8_t *k = bz_make(&o, &len);
	struct x86_boot_params_in in = { .kernel = k, .kernel_len = len,
					 .initrd = (const uint8_t *)"", .initrd_len = 0 };
	expect_refused(&m, &in, "initrd is empty");
	free(k);
	guest_mem_free(&m);
}

/* ---- limits ----------------------------------------------------------- */

static void test_kernel_too_big(void **state)
{
	struct guest_mem m = vm(32 * MiB);
	struct bz o = bz_default();
	o.init_size = 17 * MiB; /* needs 16 + 17 MiB */
	size_t len;
	uint8_t *k = bz_make(&o, &len);
	struct x86_boot_params_in in = { .kernel = k, .kernel_len = len };
	expect_refused(&m, &in, "kernel too big for guest memory");
	expect_refused(&m, &in, "(33 MiB), the guest has 32 MiB");
	free(k);
	guest_mem_free(&m);
}

static void test_guest_memory_too_small(void **state)
{
	struct guest_mem m = vm(1 * MiB);
	struct bz o = bz_default();
	size_t len;
	uint8_t *k = bz_make(&o, &len);
	struct x86_boot_params_in in = { .kernel = k, .kernel_len = len };
	struct x86_boot_info info;
	struct nv_err err = { 0 };
	assert_int_equal(x86_boot_load(&m, &in, &info, &err), -1);
	expect_msg(&err, "too small");
	free(k);
	guest_mem_free(&m);
}

static void test_cmdline_limit(void **state)
{
	struct guest_mem m = vm(64 * MiB);
	struct bz o = bz_default();
	o.cmdline_size = 255;
	size_t len;
	uint8_t *k = bz_make(&o, &len);
	char line[4096];
	memset(line, 'a', sizeof(line));
	line[256] = 0;
	struct x86_boot_params_in in = { .kernel = k, .kernel_len = len, .cmdline = line };
	expect_refused(&m, &in, "command line is 256 bytes, the limit is 255");
	line[255] = 0;
	struct x86_boot_info info;
	assert_int_equal(x86_boot_load(&m, &in, &info, NULL), 0);
	assert_int_equal(strlen(guest_mem_ptr(&m, BOOT_CMDLINE, 1)), 255);
	free(k);
	guest_mem_free(&m);

	/* A kernel announcing more than our buffer is capped to the buffer. */
	m = vm(64 * MiB);
	o.cmdline_size = 100000;
	k = bz_make(&o, &len);
	line[sizeof(line) - 1] = 0;
	memset(line, 'b', sizeof(line) - 1);
	line[BOOT_CMDLINE_MAX] = 0;
	in = (struct x86_boot_params_in){ .kernel = k, .kernel_len = len, .cmdline = line };
	expect_refused(&m, &in, "the limit is 2047");
	free(k);
	guest_mem_free(&m);
}

/* ---- bad kernels ------------------------------------------------------ */

static void test_not_a_kernel(void **state)
{
	struct guest_mem m = vm(64 * MiB);
	uint8_t junk[8192];
	srand(1);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)rand();
	struct x86_boot_params_in in = { .kernel = junk, .kernel_len = sizeof(junk) };
	expect_refused(&m, &in, "not a Linux kernel");
	in.kernel_len = 0;
	expect_refused(&m, &in, "empty");
	in.kernel = NULL;
	expect_refused(&m, &in, "empty");
	static const uint8_t gz[] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0 };
	in = (struct x86_boot_params_in){ .kernel = gz, .kernel_len = sizeof(gz) };
	expect_refused(&m, &in, "gzip");
	uint8_t arm64[0x40] = { 0 };
	memcpy(arm64 + 0x38, "ARM\x64", 4);
	in = (struct x86_boot_params_in){ .kernel = arm64, .kernel_len = sizeof(arm64) };
	expect_refused(&m, &in, "arm64");
	guest_mem_free(&m);
}

static void expect_bz_refused(struct bz o, size_t cut, uint64_t ram, const char *part)
{
	struct guest_mem m = vm(ram);
	size_t len;
	uint8_t *k = bz_make(&o, &len);
	struct x86_boot_params_in in = { .kernel = k, .kernel_len = len - cut };
	expect_refused(&m, &in, part);
	free(k);
	guest_mem_free(&m);
}

static void test_bzimage_bad(void **state)
{
	struct bz o = bz_default();
	/* Setup sectors beyond the end of the file. */
	o.setup_sects = 200;
	o.payload_len = 0;
	expect_bz_refused(o, 201 * 512 - 4096, 64 * MiB,
			  "truncated bzImage: 200 setup sectors (102912 bytes) but the file has 4096");
	/* Payload missing entirely. */
	o = bz_default();
	o.payload_len = 0;
	expect_bz_refused(o, 0, 64 * MiB, "no room for the kernel code");
	/* Payload cut short of syssize. */
	o = bz_default();
	expect_bz_refused(o, 100, 64 * MiB, "truncated bzImage: the header announces 65536 bytes");
	o.syssize_extra = 1;
	expect_bz_refused(o, 0, 64 * MiB, "truncated bzImage");
	/* Header itself cut. */
	o = bz_default();
	expect_bz_refused(o, 5 * 512 + o.payload_len - 0x210, 64 * MiB, "truncated bzImage: only 528 bytes");
	o = bz_default();
	o.version = 0x020a;
	expect_bz_refused(o, 0, 64 * MiB, "kernel too old: boot protocol 2.10");
	o = bz_default();
	o.xloadflags = 0;
	expect_bz_refused(o, 0, 64 * MiB, "not a 64-bit kernel");
	o = bz_default();
	o.loadflags = 0;
	expect_bz_refused(o, 0, 64 * MiB, "zImage");
	o = bz_default();
	o.boot_flag = 0x1234;
	expect_bz_refused(o, 0, 64 * MiB, "boot flag");
	o = bz_default();
	o.kernel_alignment = 0;
	expect_bz_refused(o, 0, 64 * MiB, "kernel_alignment");
	o.kernel_alignment = 0x300000;
	expect_bz_refused(o, 0, 64 * MiB, "kernel_alignment");
	/* Hostile sizes and addresses must not wrap around. */
	o = bz_default();
	o.pref_address = ~0ULL;
	expect_bz_refused(o, 0, 64 * MiB, "pref_address");
	o.relocatable = 0;
	expect_bz_refused(o, 0, 64 * MiB, "kernel too big");
	o.pref_address = 0x80000;
	expect_bz_refused(o, 0, 64 * MiB, "fixed load address 0x80000 below 1 MiB");
	o.pref_address = ~0ULL - 4096;
	o.init_size = 0xffffffff;
	expect_bz_refused(o, 0, 64 * MiB, "kernel too big");
	o = bz_default();
	o.init_size = 0xffffffff;
	expect_bz_refused(o, 0, 64 * MiB, "kernel too big");
	/* The payload alone does not fit. */
	o = bz_default();
	o.payload_len = 3 * MiB;
	o.pref_address = 0;
	o.init_size = 0;
	expect_bz_refused(o, 0, 3 * MiB, "kernel too big");
}
/* ---- robustness ------------------------------------------------------- */

/* Every prefix and random corruption of valid images: never a crash (ASan and
 * UBSan watch), and either success or a refusal with a message. */
static void fuzz_one(const struct guest_mem *m, const uint8_t *k, size_t len)
{
	struct x86_boot_params_in in = { .kernel = k, .kernel_len = len, .cmdline = "x",
					 .initrd = (const uint8_t *)"rd", .initrd_len = 2 };
	struct x86_boot_info info;
	struct nv_err err = { 0 }, check = { 0 };
	int checked = x86_boot_check(m->ram_size, &in, &check);
	if (x86_boot_load(m, &in, &info, &err) < 0) {
		assert_int_equal(err.kind, NV_ERR_INPUT);
		assert_true(err.msg[0] != 0);
		/* The check before a VM exists must say the same. */
		assert_int_equal(checked, -1);
		assert_string_equal(check.msg, err.msg);
	} else {
		assert_int_equal(checked, 0);
		assert_true(info.entry < guest_mem_low_end(m));
		assert_true(info.initrd_addr >= info.kernel_end);
	}
}

static void test_fuzz(void **state)
{
	struct guest_mem m = vm(64 * MiB);
	struct bz o = bz_default();
	o.payload_len = 512;
	size_t blen, elen;
	uint8_t *bz = bz_make(&o, &blen);
	uint8_t *elf = vmlinux_make(0x1000000, &elen);
	for (size_t n = 0; n <= blen; n++)
		fuzz_one(&m, bz, n);
	for (size_t n = 0; n <= elen; n++)
		fuzz_one(&m, elf, n);
	srand(42);
	uint8_t *copy = malloc(blen > elen ? blen : elen);
	for (int iter = 0; iter < 20000; iter++) {
		int is_elf = iter & 1;
		const uint8_t *src = is_elf ? elf : bz;
		size_t len = is_elf ? elen : blen;
		memcpy(copy, src, len);
		/* Corrupt the header area, where all offsets and sizes live. */
		size_t area = is_elf ? sizeof(Elf64_Ehdr) + 3 * sizeof(Elf64_Phdr) : 0x270;
		for (int j = 0, flips = 1 + rand() % 4; j < flips; j++)
			copy[(is_elf ? 0 : 0x1f0) + (size_t)rand() % (area - (is_elf ? 0 : 0x1f0))] =
				(uint8_t)rand();
		fuzz_one(&m, copy, len);
	}
	free(copy);
	free(bz);
	free(elf);
	guest_mem_free(&m);
}

/* ---- the real Debian kernel, when present ------------------------------ */

static void test_real_kernel(void **state)
{
	glob_t g;
	if (glob("/tmp/k/root/boot/vmlinuz-*", 0, NULL, &g) != 0) {
		skip();
		return;
	}
	FILE *f = fopen(g.gl_pathv[0], "rb");
	globfree(&g);
	if (!f) {
		skip();
		return;
	}
	fseek(f, 0, SEEK_END);
	size_t len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *k = malloc(len);
	assert_int_equal(fread(k, 1, len, f), len);
	fclose(f);

	struct guest_mem m = vm(512 * MiB);
	size_t rdlen = 2 * MiB;
	uint8_t *rd = initrd_make(rdlen);
	struct x86_boot_params_in in = { .kernel = k, .kernel_len = len, .initrd = rd,
					 .initrd_len = rdlen, .cmdline = "console=ttyS0" };
	struct x86_boot_info info;
	struct nv_err err = { 0 };
	if (x86_boot_load(&m, &in, &info, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(info.kind, X86_KERNEL_BZIMAGE);
	assert_int_equal(info.entry, 0x100200);
	const struct boot_params *zp = zero_page(&m);
	assert_true(zp->hdr.version >= 0x020c);
	assert_true(zp->hdr.xloadflags & BP_XLF_KERNEL_64);
	size_t setup = ((size_t)(k[0x1f1] ? k[0x1f1] : 4) + 1) * 512;
	assert_memory_equal(guest_mem_ptr(&m, 0x100000, len - setup), k + setup, len - setup);
	assert_true(info.kernel_end >= zp->hdr.pref_address + zp->hdr.init_size);
	check_initrd(&m, &info, rd, rdlen, 512 * MiB);
	free(rd);
	guest_mem_free(&m);

	/* Its init_size (tens of MiB) does not fit in 32 MiB. */
	m = vm(32 * MiB);
	in.initrd = NULL;
	expect_refused(&m, &in, "kernel too big");
	guest_mem_free(&m);
	free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bzimage_layout),
		cmocka_unit_test(test_bzimage_setup_sects_zero_means_four),
		cmocka_unit_test(test_bzimage_short_header_not_overcopied),
		cmocka_unit_test(test_bzimage_not_relocatable),
		cmocka_unit_test(test_initrd_top_of_low_ram),
		cmocka_unit_test(test_initrd_below_initrd_addr_max),
		cmocka_unit_test(test_high_memory_e820_and_initrd),
		cmocka_unit_test(test_initrd_too_big),
		cmocka_unit_test(test_initrd_empty),
		cmocka_unit_test(test_kernel_too_big),
		cmocka_unit_test(test_guest_memory_too_small),
		cmocka_unit_test(test_cmdline_limit),
		cmocka_unit_test(test_not_a_kernel),
		cmocka_unit_test(test_bzimage_bad),
		cmocka_unit_test(test_fuzz),
		cmocka_unit_test(test_real_kernel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
