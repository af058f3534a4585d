/* x86-64 direct Linux boot: load a bzImage or an ELF64 vmlinux, the initrd
 * and the command line into guest RAM and build the zero page, so that the
 * boot vCPU can start in long mode at `entry` with rsi = `zero_page`
 * (see arch/x86/regs.h). No BIOS or firmware runs. */
#ifndef NESTVM_ARCH_X86_BOOT_H
#define NESTVM_ARCH_X86_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "core/guest_mem.h"
#include "util/err.h"

struct x86_boot_params_in {
	const uint8_t *kernel; /* the whole kernel file */
	size_t kernel_len;
	const uint8_t *initrd; /* NULL: no initrd */
	size_t initrd_len;
	const char *cmdline;   /* NULL means "" */
	uint64_t rsdp_addr;    /* ACPI RSDP for boot_params.acpi_rsdp_addr; 0: none */
};

enum x86_kernel_kind {
	X86_KERNEL_BZIMAGE,
	X86_KERNEL_ELF,
};

struct x86_boot_info {
	uint64_t entry;	    /* guest-physical 64-bit entry point */
	uint64_t zero_page; /* guest-physical struct boot_params, for rsi */
	uint64_t kernel_start, kernel_end; /* RAM the kernel occupies or claims */
	uint64_t initrd_addr, initrd_len;  /* 0, 0 without an initrd */
	enum x86_kernel_kind kind;
};

/* Validate everything first, then write kernel, command line, initrd and zero
 * page into guest RAM. Errors are NV_ERR_INPUT with a message naming the
 * problem (not a kernel, wrong architecture, too old, truncated, does not fit).
 * Guest memory must already hold RAM below 1 MiB (any real VM does). */
int x86_boot_load(const struct guest_mem *mem, const struct x86_boot_params_in *in,
		  struct x86_boot_info *out, struct nv_err *err);

/* The same checks as x86_boot_load, for RAM of ram_bytes that need not exist
 * yet: a VMM names a bad kernel, initrd or command line before it opens KVM.
 * rsdp_addr is not looked at. */
int x86_boot_check(uint64_t ram_bytes, const struct x86_boot_params_in *in, struct nv_err *err);

#endif
