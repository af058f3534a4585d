/* bzImage parsing per the Linux x86 boot protocol (Documentation/arch/x86/
 * boot.rst). nestvm uses the 64-bit entry point (protocol 2.12+, XLF_KERNEL_64)
 * and never runs the real-mode setup code, so only the setup header and the
 * protected-mode payload matter. The file is hostile: every field is checked
 * before it is used as an offset or size. */
#include "arch/x86/kimage.h"

#include <string.h>

#include "arch/x86/layout.h"

#define SECTOR 512
#define DEFAULT_SETUP_SECTS 4
#define MIN_VERSION 0x020c /* 2.12: xloadflags, hence XLF_KERNEL_64 */
#define ENTRY64_OFFSET 0x200
#define HDR_END_MIN 0x268 /* end of handover_offset (2.11), always present */
#define HDR_END_MAX (BP_HDR_OFFSET + sizeof(struct bp_setup_header))

int x86_bzimage_probe(const uint8_t *buf, size_t len)
{
	uint32_t magic;
	if (len < BP_HDR_FILE(header) + sizeof(magic))
		return 0;
	memcpy(&magic, buf + BP_HDR_FILE(header), sizeof(magic));
	return magic == BP_HDR_MAGIC;
}

static unsigned long long mib_up(uint64_t bytes)
{
	return (unsigned long long)((bytes >> 20) + ((bytes & 0xfffff) != 0));
}

/* Where the kernel will decompress itself to: boot.rst, "init_size". */
static int runtime_start(const struct bp_setup_header *h, uint64_t *out,
			 struct nv_err *err)
{
	if (!h->relocatable_kernel) {
		if (h->pref_address < KERNEL_LOAD)
			return nv_err_input(err, "bad bzImage: a fixed load address 0x%llx below 1 MiB",
					    (unsigned long long)h->pref_address);
		*out = h->pref_address;
		return 0;
	}
	uint64_t align = h->kernel_alignment;
	if (align == 0 || (align & (align - 1)))
		return nv_err_input(err, "bad bzImage: kernel_alignment 0x%llx is not a power of two",
				    (unsigned long long)align);
	uint64_t start = KERNEL_LOAD < h->pref_address ? h->pref_address : KERNEL_LOAD;
	if (start > UINT64_MAX - (align - 1))
		return nv_err_input(err, "bad bzImage: pref_address 0x%llx is out of range",
				    (unsigned long long)start);
	*out = (start + align - 1) & ~(align - 1);
	return 0;
}

int x86_bzimage_parse(const uint8_t *buf, size_t len, const struct guest_mem *mem,
		      struct x86_kimage *img, struct nv_err *err)
{
	struct bp_setup_header h;
	if (len < HDR_END_MAX)
		return nv_err_input(err, "truncated bzImage: only %zu bytes, the setup header alone needs %zu",
				    len, (size_t)HDR_END_MAX);
	memcpy(&h, buf + BP_HDR_OFFSET, sizeof(h));

	if (h.boot_flag != BP_BOOT_FLAG)
		return nv_err_input(err, "bad bzImage: boot flag at 0x1fe is 0x%04x, not 0xaa55",
				    h.boot_flag);
	if (h.version < MIN_VERSION)
		return nv_err_input(err, "kernel too old: boot protocol %u.%02u, nestvm needs 2.12 or later "
				    "(Linux 3.8+) with a 64-bit entry point", h.version >> 8, h.version & 0xff);
	if (!(h.xloadflags & BP_XLF_KERNEL_64))
		return nv_err_input(err, "not a 64-bit kernel: the bzImage has no 64-bit entry point "
				    "(XLF_KERNEL_64 missing); nestvm boots x86-64 kernels only");
	if (!(h.loadflags & BP_LOADED_HIGH))
		return nv_err_input(err, "not a bzImage: a zImage (loaded below 1 MiB) is not supported");

	size_t setup_sects = h.setup_sects ? h.setup_sects : DEFAULT_SETUP_SECTS;
	size_t setup_size = (setup_sects + 1) * SECTOR;
	if (setup_size >= len)
		return nv_err_input(err, "truncated bzImage: %zu setup sectors (%zu bytes) but the file has "
				    "%zu bytes, no room for the kernel code", setup_sects, setup_size, len);
	size_t payload_len = len - setup_size;
	uint64_t sys_bytes = (uint64_t)h.syssize * 16;
	if (sys_bytes > payload_len)
		return nv_err_input(err, "truncated bzImage: the header announces %llu bytes of kernel code, "
				    "the file holds %zu", (unsigned long long)sys_bytes, payload_len);

	uint64_t low_end = guest_mem_low_end(mem);
	uint64_t start = 0;
	if (runtime_start(&h, &start, err) < 0)
		return -1;
	/* The kernel needs [start, start + init_size) and the payload copied
	 * to KERNEL_LOAD, both inside low RAM. Saturating: start is hostile. */
	uint64_t end = start > UINT64_MAX - h.init_size ? UINT64_MAX : start + h.init_size;
	if (end < KERNEL_LOAD + payload_len)
		end = KERNEL_LOAD + payload_len;
	if (low_end < KERNEL_LOAD || end > low_end)
		return nv_err_input(err, "kernel too big for guest memory: it needs RAM up to 0x%llx "
				    "(%llu MiB), the guest has %llu MiB",
				    (unsigned long long)end, mib_up(end),
				    (unsigned long long)(mem->ram_size >> 20));

	size_t hdr_end = (size_t)0x202 + buf[0x201]; /* boot.rst: end of the header */
	if (hdr_end < HDR_END_MIN)
		hdr_end = HDR_END_MIN;
	if (hdr_end > HDR_END_MAX)
		hdr_end = HDR_END_MAX;

	size_t cmax = h.cmdline_size;
	if (cmax > BOOT_CMDLINE_MAX - 1)
		cmax = BOOT_CMDLINE_MAX - 1;

	*img = (struct x86_kimage){
		.entry = KERNEL_LOAD + ENTRY64_OFFSET,
		.start = KERNEL_LOAD,
		.end = end,
		.initrd_limit = (uint64_t)h.initrd_addr_max + 1,
		.cmdline_max = (uint32_t)cmax,
		.payload = buf + setup_size,
		.payload_len = payload_len,
		.hdr = buf + BP_HDR_OFFSET,
		.hdr_len = hdr_end - BP_HDR_OFFSET,
	};
	return 0;
}

int x86_bzimage_load(const struct guest_mem *mem, const struct x86_kimage *img,
		     struct boot_params *zp, struct nv_err *err)
{
	if (guest_mem_write(mem, KERNEL_LOAD, img->payload, img->payload_len) < 0)
		return nv_err_input(err, "kernel (%zu bytes) does not fit in guest memory", img->payload_len);
	memcpy(&zp->hdr, img->hdr, img->hdr_len);
	zp->hdr.code32_start = (uint32_t)KERNEL_LOAD;
	return 0;
}
