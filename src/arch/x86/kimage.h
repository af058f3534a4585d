/* Internal to the x86 kernel loader: what a format parser (bzimage.c, elf.c)
 * learns about a kernel file, so that boot.c can place the command line and
 * the initrd before anything is written to guest memory. */
#ifndef NESTVM_ARCH_X86_KIMAGE_H
#define NESTVM_ARCH_X86_KIMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "arch/x86/bootparam.h"
#include "core/guest_mem.h"
#include "util/err.h"

struct x86_kimage {
	uint64_t entry;	       /* 64-bit entry point (guest-physical) */
	uint64_t start, end;   /* RAM the kernel occupies or claims early */
	uint64_t initrd_limit; /* the initrd must end at or below this */
	uint32_t cmdline_max;  /* longest command line, NUL excluded */
	/* bzImage: the protected-mode code and the setup header bytes. */
	const uint8_t *payload;
	size_t payload_len;
	const uint8_t *hdr;
	size_t hdr_len;
};

/* True if the buffer carries the x86 boot protocol's "HdrS" magic. */
int x86_bzimage_probe(const uint8_t *buf, size_t len);
/* Validate a bzImage against the boot protocol and guest RAM; no writes. */
int x86_bzimage_parse(const uint8_t *buf, size_t len, const struct guest_mem *mem,
		      struct x86_kimage *img, struct nv_err *err);
/* Copy the payload into RAM and the setup header into the zero page. */
int x86_bzimage_load(const struct guest_mem *mem, const struct x86_kimage *img,
		     struct boot_params *zp, struct nv_err *err);

/* True if the buffer starts with the ELF magic (any class or machine). */
int x86_elf_probe(const uint8_t *buf, size_t len);
/* Validate an ELF64 x86-64 executable: headers, every PT_LOAD against the
 * file and guest RAM, the entry point. No writes. */
int x86_elf_parse(const uint8_t *buf, size_t len, const struct guest_mem *mem,
		  struct x86_kimage *img, struct nv_err *err);
/* Copy the PT_LOAD segments (already validated by x86_elf_parse) and build a
 * setup header from scratch in the zero page. */
int x86_elf_load(const uint8_t *buf, size_t len, const struct guest_mem *mem,
		 struct boot_params *zp, struct nv_err *err);

/* Fill e820 entries for guest RAM; returns how many were written. */
int x86_e820_build(const struct guest_mem *mem, struct bp_e820_entry *tab, int max);

#endif
