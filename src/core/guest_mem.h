/* Guest RAM: one host mapping split into at most two guest-physical regions
 * (below the 32-bit MMIO hole and above 4 GiB). Every guest-physical access
 * from device code goes through guest_mem_ptr(), which checks bounds. */
#ifndef NESTVM_CORE_GUEST_MEM_H
#define NESTVM_CORE_GUEST_MEM_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

/* Guest-physical layout (x86): RAM below MMIO_HOLE_START, the hole up to 4 GiB
 * holds virtio-mmio windows, the IOAPIC and the local APICs. */
#define GUEST_MMIO_HOLE_START 0xc0000000ULL
#define GUEST_MMIO_HOLE_END 0x100000000ULL

/* Host alignment of guest RAM, so KVM can map it with 2 MiB pages. */
#define GUEST_MEM_ALIGN (2ULL << 20)

struct guest_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
};

struct guest_mem {
	struct guest_mem_region regions[2];
	int nregions;
	uint64_t ram_size; /* total bytes of RAM */
	uint8_t *mapping;  /* the single host mapping behind all regions */
	/* Anonymous memory (guest_mem_alloc): a page the host never backed
	 * (in RAM or swap) is zero without being read. */
	bool anonymous;
	/* guest_mem_alloc_shared: fd is the memfd behind the mapping (which
	 * starts at its offset 0), for a vhost-user back-end to map. */
	bool shared;
	int fd;
	/* While non-NULL (guest_mem_track_writes): one bit per page of RAM
	 * (RAM's own order, low region then high) that device code may have
	 * written; set with atomics, never cleared here. */
	uint64_t *dev_written;
};

/* Lay out the regions over an existing host buffer (used by tests); host
 * NULL gives the layout alone, for checks that must not touch memory. */
void guest_mem_init_over(struct guest_mem *m, uint8_t *host, uint64_t ram_size);
/* mmap anonymous memory of ram_size bytes, GUEST_MEM_ALIGN-aligned, and
 * lay it out. */
int guest_mem_alloc(struct guest_mem *m, uint64_t ram_size, struct nv_err *err);
/* The same in a memfd mapped MAP_SHARED (still MAP_NORESERVE: pages come
 * as the guest touches them), so another process (a vhost-user back-end)
 * can map the guest's RAM through m->fd. */
int guest_mem_alloc_shared(struct guest_mem *m, uint64_t ram_size, struct nv_err *err);
/* Guest RAM from a saved memory file: ram_size bytes of fd from offset (a
 * page multiple), mapped private, so pages load when first touched and the
 * guest's writes never reach the file. */
int guest_mem_map_file(struct guest_mem *m, int fd, uint64_t offset, uint64_t ram_size,
		       struct nv_err *err);
void guest_mem_free(struct guest_mem *m);

/* Host pointer for [gpa, gpa+len) if it lies entirely inside one RAM region,
 * else NULL. Overflow-safe; len 0 is allowed (still needs gpa inside RAM). */
void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* Copy helpers returning 0 or -1 when the range is not RAM. */
int guest_mem_read(const struct guest_mem *m, uint64_t gpa, void *dst, uint64_t len);
int guest_mem_write(const struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len);

/* Device writes tracked into bitmap (RAM pages, rounded up to 64 bits), or
 * no more (NULL). Live migration's pre-copy: KVM logs what the vCPUs write,
 * this what the VMM's devices write. */
void guest_mem_track_writes(struct guest_mem *m, uint64_t *bitmap);
/* Device code is about to write host[0..len) (a pointer guest_mem_ptr gave):
 * its pages are marked while tracking is on. */
void guest_mem_mark_written(const struct guest_mem *m, const void *host, uint64_t len);

/* End of the RAM below the MMIO hole (exclusive). */
uint64_t guest_mem_low_end(const struct guest_mem *m);

#endif
