/* Shared by the x86 boot-loader unit tests: synthetic bzImage and ELF64
 * kernels built in memory, guest memory set-up and checks on the zero page. */
#ifndef NESTVM_TESTS_UNIT_X86_IMAGES_H
#define NESTVM_TESTS_UNIT_X86_IMAGES_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include <cmocka.h>

#include "arch/x86/boot.h"
#include "arch/x86/bootparam.h"
#include "arch/x86/layout.h"
#include "core/guest_mem.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static inline struct guest_mem vm(uint64_t ram)
{
	struct guest_mem m;
	assert_int_equal(guest_mem_alloc(&m, ram, NULL), 0);
	return m;
}

static inline const struct boot_params *zero_page(const struct guest_mem *m)
{
	const struct boot_params *zp = guest_mem_ptr(m, BOOT_ZERO_PAGE, sizeof(*zp));
	assert_non_null(zp);
	return zp;
}

static inline int all_zero(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	const uint8_t *p = guest_mem_ptr(m, gpa, len);
	assert_non_null(p);
	for (uint64_t i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

static inline void expect_msg(const struct nv_err *err, const char *part)
{
	if (!strstr(err->msg, part))
		fail_msg("error \"%s\" does not mention \"%s\"", err->msg, part);
}

/* Load must fail as bad input, say `part`, and leave guest RAM unwritten. */
static inline void expect_refused(const struct guest_mem *m, const struct x86_boot_params_in *in,
			   const char *part)
{
	struct x86_boot_info info;
	struct nv_err err = { 0 };
	assert_int_equal(x86_boot_load(m, in, &info, &err), -1);
	assert_int_equal(err.kind, NV_ERR_INPUT);
	expect_msg(&err, part);
	assert_true(all_zero(m, 0, 2 * MiB));
	/* The check before a VM exists refuses alike, with the same words. */
	struct nv_err check = { 0 };
	assert_int_equal(x86_boot_check(m->ram_size, in, &check), -1);
	assert_int_equal(check.kind, NV_ERR_INPUT);
	assert_string_equal(check.msg, err.msg);
}

struct bz {
	uint8_t setup_sects;
	size_t payload_len;
	uint16_t version, xloadflags, boot_flag;
	uint8_t loadflags, relocatable, jump_len;
	uint32_t init_size, kernel_alignment, initrd_addr_max, cmdline_size, syssize_extra;
	uint64_t pref_address;
};

static inline struct bz bz_default(void)
{
	return (struct bz){
		.setup_sects = 4,
		.payload_len = 0x10000,
		.version = 0x020f,
		.xloadflags = BP_XLF_KERNEL_64 | BP_XLF_CAN_BE_LOADED_ABOVE_4G,
		.boot_flag = BP_BOOT_FLAG,
		.loadflags = BP_LOADED_HIGH,
		.relocatable = 1,
		.jump_len = 0x6a,
		.init_size = 8 * MiB,
		.kernel_alignment = 2 * MiB,
		.initrd_addr_max = 0x7fffffff,
		.cmdline_size = 0x7ff,
		.pref_address = 16 * MiB,
	};
}

static inline uint8_t payload_byte(size_t i) { return (uint8_t)(i * 13 + 7); }

static inline uint8_t *bz_make(const struct bz *o, size_t *len)
{
	size_t sects = o->setup_sects ? o->setup_sects : 4;
	size_t setup = (sects + 1) * 512;
	*len = setup + o->payload_len;
	uint8_t *b = calloc(1, *len);
	assert_non_null(b);
	for (size_t i = 0; i < o->payload_len; i++)
		b[setup + i] = payload_byte(i);
	struct bp_setup_header h = {
		.setup_sects = o->setup_sects,
		.syssize = (uint32_t)(o->payload_len / 16) + o->syssize_extra,
		.vid_mode = 0xffff,
		.boot_flag = o->boot_flag,
		.jump = (uint16_t)(0xeb | (o->jump_len << 8)),
		.header = BP_HDR_MAGIC,
		.version = o->version,
		.loadflags = o->loadflags,
		.code32_start = 0x100000,
		.initrd_addr_max = o->initrd_addr_max,
		.kernel_alignment = o->kernel_alignment,
		.relocatable_kernel = o->relocatable,
		.min_alignment = 21,
		.xloadflags = o->xloadflags,
		.cmdline_size = o->cmdline_size,
		.pref_address = o->pref_address,
		.init_size = o->init_size,
		.handover_offset = 0x190,
		.kernel_info_offset = 0x12345,
	};
	memcpy(b + BP_HDR_OFFSET, &h, sizeof(h));
	return b;
}

struct seg {
	uint32_t type;
	uint64_t paddr, vaddr, filesz, memsz;
};

#define ELF_DATA 0x1000

static inline uint8_t elf_byte(int seg, uint64_t i) { return (uint8_t)(i * 7 + seg * 31 + 1); }

static inline uint8_t *elf_make(uint8_t cls, uint16_t machine, uint64_t entry, const struct seg *s,
			 int n, size_t *len)
{
	size_t total = ELF_DATA;
	for (int i = 0; i < n; i++)
		total += s[i].filesz;
	*len = total;
	uint8_t *b = calloc(1, total);
	assert_non_null(b);
	Elf64_Ehdr eh = {
		.e_type = ET_EXEC,
		.e_machine = machine,
		.e_version = EV_CURRENT,
		.e_entry = entry,
		.e_phoff = sizeof(Elf64_Ehdr),
		.e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr),
		.e_phnum = (uint16_t)n,
	};
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = cls;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	memcpy(b, &eh, sizeof(eh));
	uint64_t off = ELF_DATA;
	for (int i = 0; i < n; i++) {
		Elf64_Phdr ph = { .p_type = s[i].type, .p_flags = PF_R | PF_X, .p_offset = off,
				  .p_vaddr = s[i].vaddr, .p_paddr = s[i].paddr,
				  .p_filesz = s[i].filesz, .p_memsz = s[i].memsz, .p_align = 0x1000 };
		memcpy(b + sizeof(eh) + i * sizeof(ph), &ph, sizeof(ph));
		for (uint64_t j = 0; j < s[i].filesz; j++)
			b[off + j] = elf_byte(i, j);
		off += s[i].filesz;
	}
	return b;
}

#define VMLINUX_VA 0xffffffff81000000ULL
static const struct seg vmlinux_segs[] = {
	{ PT_LOAD, 0x1000000, VMLINUX_VA, 0x3000, 0x3000 },
	{ PT_NOTE, 0, 0, 0x10, 0x10 },
	{ PT_LOAD, 0x1400000, VMLINUX_VA + 0x400000, 0x100, 0x2000 }, /* data + bss */
};

static inline uint8_t *vmlinux_make(uint64_t entry, size_t *len)
{
	return elf_make(ELFCLASS64, EM_X86_64, entry, vmlinux_segs, 3, len);
}

static inline void expect_e820(const struct boot_params *zp, int i, uint64_t addr, uint64_t end,
			uint32_t type)
{
	struct bp_e820_entry e;
	memcpy(&e, (const uint8_t *)zp + offsetof(struct boot_params, e820_table) + i * sizeof(e),
	       sizeof(e));
	assert_int_equal(e.addr, addr);
	assert_int_equal(e.size, end - addr);
	assert_int_equal(e.type, type);
}

static inline uint8_t *initrd_make(size_t len)
{
	uint8_t *r = malloc(len);
	assert_non_null(r);
	for (size_t i = 0; i < len; i++)
		r[i] = (uint8_t)(i * 5 + 3);
	return r;
}

static inline void check_initrd(const struct guest_mem *m, const struct x86_boot_info *info,
			 const uint8_t *rd, size_t rdlen, uint64_t limit)
{
	assert_int_equal(info->initrd_len, rdlen);
	assert_int_equal(info->initrd_addr % 4096, 0);
	assert_true(info->initrd_addr + rdlen <= limit);
	assert_true(info->initrd_addr + rdlen + 4096 > limit); /* the highest such address */
	assert_true(info->initrd_addr >= info->kernel_end);
	assert_memory_equal(guest_mem_ptr(m, info->initrd_addr, rdlen), rd, rdlen);
	const struct boot_params *zp = zero_page(m);
	assert_int_equal((uint64_t)zp->hdr.ramdisk_image | ((uint64_t)zp->ext_ramdisk_image << 32),
			 info->initrd_addr);
	assert_int_equal((uint64_t)zp->hdr.ramdisk_size | ((uint64_t)zp->ext_ramdisk_size << 32),
			 rdlen);
}

#endif
