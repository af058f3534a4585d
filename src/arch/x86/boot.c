/* Direct Linux boot on x86-64: detect the kernel format, plan where the
 * command line and the initrd go, then write everything and the zero page.
 * All checks happen before the first write so a bad file leaves guest RAM
 * untouched. */
#include "arch/x86/boot.h"

#include <string.h>

#include "arch/x86/bootparam.h"
#include "arch/x86/kimage.h"
#include "arch/x86/layout.h"

#define PAGE 4096ULL
#define FOUR_GIB 0x100000000ULL
#define HEAP_END 0xfe00 /* boot.rst: heap_end_ptr = heap end - 0x200 */

static unsigned long long mib_up(uint64_t bytes)
{
	return (unsigned long long)((bytes >> 20) + ((bytes & 0xfffff) != 0));
}

/* Explain why a buffer is neither a bzImage nor an ELF. */
static int not_a_kernel(const uint8_t *b, size_t len, struct nv_err *err)
{
	static const uint8_t gz[] = { 0x1f, 0x8b }, xz[] = { 0xfd, '7', 'z', 'X', 'Z', 0 },
			     zst[] = { 0x28, 0xb5, 0x2f, 0xfd };
	const char *what = NULL;
	if (len == 0)
		what = "the file is empty";
	else if (len >= sizeof(gz) && !memcmp(b, gz, sizeof(gz)))
		what = "gzip-compressed data (decompress it, or use the bzImage)";
	else if (len >= sizeof(xz) && !memcmp(b, xz, sizeof(xz)))
		what = "xz-compressed data (decompress it, or use the bzImage)";
	else if (len >= sizeof(zst) && !memcmp(b, zst, sizeof(zst)))
		what = "zstd-compressed data (decompress it, or use the bzImage)";
	else if (len >= 0x3c && !memcmp(b + 0x38, "ARM\x64", 4))
		what = "an arm64 kernel Image, not x86-64";
	else if (len >= 0x34 && !memcmp(b + 0x30, "RSC\x05", 4))
		what = "a RISC-V kernel Image, not x86-64";
	if (what)
		return nv_err_input(err, "not a Linux kernel for this VM: %s", what);
	return nv_err_input(err, "not a Linux kernel: neither an x86 bzImage (no \"HdrS\" at 0x202) "
			    "nor an ELF vmlinux (%zu bytes)", len);
}

static int place_initrd(const struct guest_mem *mem, const struct x86_kimage *img,
			size_t initrd_len, uint64_t *addr, struct nv_err *err)
{
	uint64_t limit = guest_mem_low_end(mem);
	if (img->initrd_limit < limit)
		limit = img->initrd_limit;
	if (limit > FOUR_GIB)
		limit = FOUR_GIB;
	uint64_t floor = (img->end + PAGE - 1) & ~(PAGE - 1);
	if (initrd_len > limit || ((limit - initrd_len) & ~(PAGE - 1)) < floor)
		return nv_err_input(err, "initrd (%llu MiB) does not fit in guest memory (%llu MiB): it must "
				    "lie between the kernel's end at 0x%llx and 0x%llx; give the VM more memory",
				    mib_up(initrd_len), (unsigned long long)(mem->ram_size >> 20),
				    (unsigned long long)floor, (unsigned long long)limit);
	*addr = (limit - initrd_len) & ~(PAGE - 1);
	return 0;
}

static void fill_zero_page(struct boot_params *zp, const struct guest_mem *mem,
			   uint64_t initrd_addr, uint64_t initrd_len, uint64_t rsdp)
{
	zp->hdr.type_of_loader = BP_LOADER_UNDEFINED;
	zp->hdr.loadflags |= BP_LOADED_HIGH | BP_CAN_USE_HEAP;
	zp->hdr.loadflags &= (uint8_t)~BP_KEEP_SEGMENTS;
	zp->hdr.heap_end_ptr = HEAP_END - 0x200;
	zp->hdr.cmd_line_ptr = (uint32_t)BOOT_CMDLINE;
	zp->ext_cmd_line_ptr = (uint32_t)(BOOT_CMDLINE >> 32);
	zp->hdr.ramdisk_image = (uint32_t)initrd_addr;
	zp->hdr.ramdisk_size = (uint32_t)initrd_len;
	zp->ext_ramdisk_image = (uint32_t)(initrd_addr >> 32);
	zp->ext_ramdisk_size = (uint32_t)(initrd_len >> 32);
	zp->acpi_rsdp_addr = rsdp;
	/* A local table, because e820_table is a packed member. */
	struct bp_e820_entry tab[BP_E820_MAX];
	int n = x86_e820_build(mem, tab, BP_E820_MAX);
	memcpy(zp->e820_table, tab, (size_t)n * sizeof(tab[0]));
	zp->e820_entries = (uint8_t)n;
}

/* What the checks decide: the kernel's image and where the initrd goes. */
struct boot_plan {
	struct x86_kimage img;
	enum x86_kernel_kind kind;
	size_t cmdline_len;
	uint64_t initrd_addr, initrd_len;
};

/* Every check, against the layout of guest RAM only (no host memory is
 * touched), so that a bad file is named before a VM exists. */
static int boot_plan(const struct guest_mem *mem, const struct x86_boot_params_in *in,
		     struct boot_plan *p, struct nv_err *err)
{
	memset(p, 0, sizeof(*p));
	if (guest_mem_low_end(mem) <= KERNEL_LOAD)
		return nv_err_input(err, "guest memory (%llu MiB) is too small to boot Linux",
				    (unsigned long long)(mem->ram_size >> 20));
	const uint8_t *k = in->kernel;
	size_t klen = in->kernel ? in->kernel_len : 0;

	/* 1. Parse and check the kernel against guest RAM. */
	if (x86_elf_probe(k, klen)) {
		p->kind = X86_KERNEL_ELF;
		if (x86_elf_parse(k, klen, mem, &p->img, err) < 0)
			return -1;
	} else if (x86_bzimage_probe(k, klen)) {
		p->kind = X86_KERNEL_BZIMAGE;
		if (x86_bzimage_parse(k, klen, mem, &p->img, err) < 0)
			return -1;
	} else {
		return not_a_kernel(k, klen, err);
	}

	/* 2. Command line and initrd. */
	p->cmdline_len = strlen(in->cmdline ? in->cmdline : "");
	if (p->cmdline_len > p->img.cmdline_max)
		return nv_err_input(err, "kernel command line is %zu bytes, the limit is %u", p->cmdline_len,
				    p->img.cmdline_max);
	if (in->initrd) {
		if (in->initrd_len == 0)
			return nv_err_input(err, "initrd is empty");
		if (place_initrd(mem, &p->img, in->initrd_len, &p->initrd_addr, err) < 0)
			return -1;
		p->initrd_len = in->initrd_len;
	}
	return 0;
}

int x86_boot_check(uint64_t ram_bytes, const struct x86_boot_params_in *in, struct nv_err *err)
{
	struct guest_mem layout;
	guest_mem_init_over(&layout, NULL, ram_bytes); /* regions only; never dereferenced */
	struct boot_plan p;
	return boot_plan(&layout, in, &p, err);
}

int x86_boot_load(const struct guest_mem *mem, const struct x86_boot_params_in *in,
		  struct x86_boot_info *out, struct nv_err *err)
{
	struct boot_plan p;
	if (boot_plan(mem, in, &p, err) < 0)
		return -1;
	if (!guest_mem_ptr(mem, 0, KERNEL_LOAD))
		return nv_err_host(err, "boot: guest memory below 1 MiB is not mapped");
	const uint8_t *k = in->kernel;
	size_t klen = in->kernel_len;
	const char *cmdline = in->cmdline ? in->cmdline : "";

	/* 3. Write. Every range was checked above; failures here are bugs
	 * in the checks, reported rather than trusted. */
	struct boot_params zp;
	memset(&zp, 0, sizeof(zp));
	int r = p.kind == X86_KERNEL_ELF ? x86_elf_load(k, klen, mem, &zp, err)
					 : x86_bzimage_load(mem, &p.img, &zp, err);
	if (r < 0)
		return -1;
	fill_zero_page(&zp, mem, p.initrd_addr, p.initrd_len, in->rsdp_addr);
	if (guest_mem_write(mem, BOOT_CMDLINE, cmdline, p.cmdline_len + 1) < 0 ||
	    guest_mem_write(mem, BOOT_ZERO_PAGE, &zp, sizeof(zp)) < 0 ||
	    (p.initrd_len && guest_mem_write(mem, p.initrd_addr, in->initrd, p.initrd_len) < 0))
		return nv_err_host(err, "boot: writing the boot data to guest memory failed");

	*out = (struct x86_boot_info){
		.entry = p.img.entry,
		.zero_page = BOOT_ZERO_PAGE,
		.kernel_start = p.img.start,
		.kernel_end = p.img.end,
		.initrd_addr = p.initrd_addr,
		.initrd_len = p.initrd_len,
		.kind = p.kind,
	};
	return 0;
}
