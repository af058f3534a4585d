/* Uncompressed ELF64 vmlinux loading. The segments go to their physical
 * addresses (p_paddr); the kernel is entered at startup_64 in long mode, as
 * with the bzImage 64-bit entry. The file is hostile: every header, offset
 * and size is checked against the file and guest RAM before any copy. */
#include "arch/x86/kimage.h"

#include <elf.h>
#include <string.h>

#include "arch/x86/layout.h"

#define ZP_VERSION 0x020f /* we fill fields up to protocol 2.15 */

int x86_elf_probe(const uint8_t *buf, size_t len)
{
	return len >= SELFMAG && memcmp(buf, ELFMAG, SELFMAG) == 0;
}

static const char *machine_name(unsigned m)
{
	switch (m) {
	case EM_386: return "x86 (i386)";
	case EM_ARM: return "ARM (32-bit)";
	case EM_AARCH64: return "ARM aarch64";
	case EM_RISCV: return "RISC-V";
	case EM_PPC: return "PowerPC";
	case EM_PPC64: return "PowerPC64";
	case EM_S390: return "s390";
	case EM_MIPS: return "MIPS";
	case EM_SPARCV9: return "SPARC64";
	case 258: return "LoongArch"; /* EM_LOONGARCH, absent from older elf.h */
	default: return NULL;
	}
}

static int check_ident(const uint8_t *buf, size_t len, Elf64_Ehdr *eh, struct nv_err *err)
{
	/* e_machine sits at offset 18 in both classes: name it first, the
	 * architecture is the most useful thing to tell the user. */
	if (len < EI_NIDENT + 4)
		return nv_err_input(err, "not a Linux kernel: truncated ELF file (%zu bytes)", len);
	uint16_t machine;
	memcpy(&machine, buf + 18, sizeof(machine));
	if (buf[EI_DATA] == ELFDATA2LSB && machine != EM_X86_64) {
		const char *name = machine_name(machine);
		if (name)
			return nv_err_input(err, "not a Linux kernel for this VM: %sELF for %s, not x86-64",
					    buf[EI_CLASS] == ELFCLASS32 ? "32-bit " : "", name);
		return nv_err_input(err, "not a Linux kernel for this VM: ELF for machine %u, not x86-64",
				    machine);
	}
	if (buf[EI_DATA] != ELFDATA2LSB)
		return nv_err_input(err, "not a Linux kernel for this VM: big-endian ELF, not x86-64");
	if (buf[EI_CLASS] != ELFCLASS64)
		return nv_err_input(err, "not a Linux kernel for this VM: 32-bit ELF, nestvm needs a 64-bit "
				    "x86-64 vmlinux");
	if (len < sizeof(*eh))
		return nv_err_input(err, "not a Linux kernel: truncated ELF header (%zu bytes)", len);
	memcpy(eh, buf, sizeof(*eh));
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
		return nv_err_input(err, "not a Linux kernel: ELF type %u is not an executable", eh->e_type);
	if (eh->e_phnum == 0 || eh->e_phnum == PN_XNUM)
		return nv_err_input(err, "not a Linux kernel: ELF has no usable program headers");
	if (eh->e_phentsize < sizeof(Elf64_Phdr))
		return nv_err_input(err, "bad ELF: program header size %u is too small", eh->e_phentsize);
	uint64_t table = (uint64_t)eh->e_phnum * eh->e_phentsize;
	if (eh->e_phoff > len || table > len - eh->e_phoff)
		return nv_err_input(err, "truncated ELF: program headers at 0x%llx run past the end of the "
				    "file (%zu bytes)", (unsigned long long)eh->e_phoff, len);
	return 0;
}

static void read_phdr(const uint8_t *buf, const Elf64_Ehdr *eh, unsigned i, Elf64_Phdr *ph)
{
	memcpy(ph, buf + eh->e_phoff + (uint64_t)i * eh->e_phentsize, sizeof(*ph));
}

static int check_segment(const Elf64_Phdr *ph, unsigned i, size_t len, uint64_t low_end,
			 uint64_t ram_size, struct nv_err *err)
{
	if (ph->p_offset > len || ph->p_filesz > len - ph->p_offset)
		return nv_err_input(err, "truncated ELF: segment %u (offset 0x%llx, %llu bytes) runs past "
				    "the end of the file (%zu bytes)", i,
				    (unsigned long long)ph->p_offset, (unsigned long long)ph->p_filesz, len);
	if (ph->p_filesz > ph->p_memsz)
		return nv_err_input(err, "bad ELF: segment %u has more file bytes than memory bytes", i);
	if (ph->p_paddr < KERNEL_LOAD)
		return nv_err_input(err, "bad ELF: segment %u at 0x%llx lies below 1 MiB, over the boot "
				    "structures", i, (unsigned long long)ph->p_paddr);
	if (ph->p_paddr >= low_end || ph->p_memsz > low_end - ph->p_paddr)
		return nv_err_input(err, "kernel too big for guest memory: ELF segment %u needs RAM up to "
				    "0x%llx, the guest has %llu MiB below 0x%llx", i,
				    (unsigned long long)(ph->p_paddr + ph->p_memsz),
				    (unsigned long long)(ram_size >> 20), (unsigned long long)low_end);
	return 0;
}

int x86_elf_parse(const uint8_t *buf, size_t len, const struct guest_mem *mem,
		  struct x86_kimage *img, struct nv_err *err)
{
	Elf64_Ehdr eh;
	if (check_ident(buf, len, &eh, err) < 0)
		return -1;

	uint64_t low_end = guest_mem_low_end(mem);
	uint64_t start = UINT64_MAX, end = 0, entry = 0;
	int found_entry = 0;
	unsigned nload = 0;
	/* Physical match first: vmlinux's e_entry is the physical startup_64. */
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < eh.e_phnum; i++) {
			Elf64_Phdr ph;
			read_phdr(buf, &eh, i, &ph);
			if (ph.p_type == PT_INTERP)
				return nv_err_input(err, "not a Linux kernel: a dynamically linked program "
						    "(the ELF names an interpreter)");
			if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
				continue;
			if (pass == 0) {
				if (check_segment(&ph, i, len, low_end, mem->ram_size, err) < 0)
					return -1;
				nload++;
				if (ph.p_paddr < start)
					start = ph.p_paddr;
				if (ph.p_paddr + ph.p_memsz > end)
					end = ph.p_paddr + ph.p_memsz;
				if (!found_entry && eh.e_entry >= ph.p_paddr &&
				    eh.e_entry - ph.p_paddr < ph.p_memsz) {
					entry = eh.e_entry;
					found_entry = 1;
				}
			} else if (!found_entry && eh.e_entry >= ph.p_vaddr &&
				   eh.e_entry - ph.p_vaddr < ph.p_memsz) {
				entry = eh.e_entry - ph.p_vaddr + ph.p_paddr;
				found_entry = 1;
			}
		}
	}
	if (nload == 0)
		return nv_err_input(err, "not a Linux kernel: ELF has no loadable segments");
	if (!found_entry)
		return nv_err_input(err, "bad ELF: entry point 0x%llx is outside every loadable segment",
				    (unsigned long long)eh.e_entry);

	*img = (struct x86_kimage){
		.entry = entry,
		.start = start,
		.end = end,
		.initrd_limit = low_end,
		.cmdline_max = BOOT_CMDLINE_MAX - 1,
	};
	return 0;
}

int x86_elf_load(const uint8_t *buf, size_t len, const struct guest_mem *mem,
		 struct boot_params *zp, struct nv_err *err)
{
	Elf64_Ehdr eh;
	if (check_ident(buf, len, &eh, err) < 0)
		return -1;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		read_phdr(buf, &eh, i, &ph);
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		/* Re-checked so that this function is safe on its own. */
		if (check_segment(&ph, i, len, guest_mem_low_end(mem), mem->ram_size, err) < 0)
			return -1;
		uint8_t *dst = guest_mem_ptr(mem, ph.p_paddr, ph.p_memsz);
		if (!dst)
			return nv_err_input(err, "bad ELF: segment %u is not in guest RAM", i);
		memcpy(dst, buf + ph.p_offset, ph.p_filesz);
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
	}

	/* No setup header in a vmlinux: write the parts the kernel reads. */
	zp->hdr.boot_flag = BP_BOOT_FLAG;
	zp->hdr.header = BP_HDR_MAGIC;
	zp->hdr.version = ZP_VERSION;
	zp->hdr.kernel_alignment = 0x1000000;
	zp->hdr.cmdline_size = BOOT_CMDLINE_MAX - 1;
	zp->hdr.code32_start = (uint32_t)KERNEL_LOAD;
	zp->hdr.vid_mode = 0xffff; /* "normal" */
	return 0;
}
