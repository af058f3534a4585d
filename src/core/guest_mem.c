#include "core/guest_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void guest_mem_init_over(struct guest_mem *m, uint8_t *host, uint64_t ram_size)
{
	memset(m, 0, sizeof(*m));
	m->mapping = host;
	m->ram_size = ram_size;
	uint64_t low = ram_size < GUEST_MMIO_HOLE_START ? ram_size : GUEST_MMIO_HOLE_START;
	m->regions[0] = (struct guest_mem_region){ .gpa = 0, .size = low, .host = host };
	m->nregions = 1;
	if (ram_size > low) {
		m->regions[1] = (struct guest_mem_region){
			.gpa = GUEST_MMIO_HOLE_END, .size = ram_size - low, .host = host ? host + low : NULL
		};
		m->nregions = 2;
	}
}

/* An address range of ram_size bytes aligned to GUEST_MEM_ALIGN: KVM maps
 * guest memory with 2 MiB pages only where guest-physical and host
 * addresses are aligned alike, so reserve 2 MiB more and keep the aligned
 * part. Without this every guest page costs a 4 KiB mapping and boot takes
 * several times the exits. */
static uint8_t *reserve_aligned(uint64_t ram_size, struct nv_err *err)
{
	uint64_t span = ram_size + GUEST_MEM_ALIGN;
	if (span < ram_size) {
		nv_err_input(err, "guest memory size overflows");
		return NULL;
	}
	uint8_t *p = mmap(NULL, span, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		nv_err_input(err, "cannot reserve %llu MiB of guest memory: %s",
			     (unsigned long long)(ram_size >> 20), strerror(errno));
		return NULL;
	}
	uint8_t *aligned = (uint8_t *)(((uintptr_t)p + GUEST_MEM_ALIGN - 1) & ~(uintptr_t)(GUEST_MEM_ALIGN - 1));
	if (aligned > p)
		munmap(p, (size_t)(aligned - p));
	size_t tail = (size_t)((p + span) - (aligned + ram_size));
	if (tail)
		munmap(aligned + ram_size, tail);
	return aligned;
}

/* Guest RAM is never useful in a core dump and may be large; and no
 * child process gets it, so nothing a VMM forks can read or change the
 * guest. */
static void advise(uint8_t *host, uint64_t ram_size)
{
	madvise(host, ram_size, MADV_DONTDUMP);
	madvise(host, ram_size, MADV_DONTFORK);
}

int guest_mem_alloc(struct guest_mem *m, uint64_t ram_size, struct nv_err *err)
{
	uint8_t *aligned = reserve_aligned(ram_size, err);
	if (!aligned)
		return -1;
	/* Transparent huge pages where the host only gives them on request. */
	madvise(aligned, ram_size, MADV_HUGEPAGE);
	advise(aligned, ram_size);
	guest_mem_init_over(m, aligned, ram_size);
	m->anonymous = true;
	return 0;
}

int guest_mem_alloc_shared(struct guest_mem *m, uint64_t ram_size, struct nv_err *err)
{
	/* Sealed against shrinking: the back-end's mapping must never lose
	 * its pages under it (a SIGBUS there). */
	int fd = memfd_create("nestvm-guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return nv_err_host(err, "cannot create shared guest memory: %s", strerror(errno));
	if (ftruncate(fd, (off_t)ram_size) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		int e = errno;
		close(fd);
		return nv_err_host(err, "cannot size %llu MiB of shared guest memory: %s",
				   (unsigned long long)(ram_size >> 20), strerror(e));
	}
	uint8_t *aligned = reserve_aligned(ram_size, err);
	if (!aligned) {
		close(fd);
		return -1;
	}
	void *p = mmap(aligned, ram_size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_FIXED | MAP_NORESERVE, fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;
		munmap(aligned, ram_size);
		close(fd);
		return nv_err_host(err, "cannot map shared guest memory: %s", strerror(e));
	}
	madvise(aligned, ram_size, MADV_HUGEPAGE);
	advise(aligned, ram_size);
	guest_mem_init_over(m, aligned, ram_size);
	m->shared = true;
	m->fd = fd;
	return 0;
}

int guest_mem_map_file(struct guest_mem *m, int fd, uint64_t offset, uint64_t ram_size,
		       struct nv_err *err)
{
	uint8_t *aligned = reserve_aligned(ram_size, err);
	if (!aligned)
		return -1;
	void *p = mmap(aligned, ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd,
		       (off_t)offset);
	if (p == MAP_FAILED) {
		int e = errno;
		munmap(aligned, ram_size);
		return nv_err_host(err, "cannot map the saved guest memory: %s", strerror(e));
	}
	advise(aligned, ram_size);
	guest_mem_init_over(m, aligned, ram_size);
	return 0;
}

void guest_mem_free(struct guest_mem *m)
{
	if (m->mapping)
		munmap(m->mapping, m->ram_size);
	if (m->shared)
		close(m->fd);
	memset(m, 0, sizeof(*m));
}

void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < m->nregions; i++) {
		const struct guest_mem_region *r = &m->regions[i];
		if (gpa < r->gpa)
			continue;
		uint64_t off = gpa - r->gpa;
		if (off >= r->size || len > r->size - off)
			continue;
		return r->host + off;
	}
	return NULL;
}

int guest_mem_read(const struct guest_mem *m, uint64_t gpa, void *dst, uint64_t len)
{
	void *p = guest_mem_ptr(m, gpa, len);
	if (!p)
		return -1;
	memcpy(dst, p, len);
	return 0;
}

int guest_mem_write(const struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = guest_mem_ptr(m, gpa, len);
	if (!p)
		return -1;
	memcpy(p, src, len);
	return 0;
}

uint64_t guest_mem_low_end(const struct guest_mem *m)
{
	return m->regions[0].size;
}

void guest_mem_track_writes(struct guest_mem *m, uint64_t *bitmap)
{
	__atomic_store_n(&m->dev_written, bitmap, __ATOMIC_SEQ_CST);
}

void guest_mem_mark_written(const struct guest_mem *m, const void *host, uint64_t len)
{
	uint64_t *bits = __atomic_load_n(&m->dev_written, __ATOMIC_ACQUIRE);
	if (!bits || !m->mapping)
		return;
	uintptr_t base = (uintptr_t)m->mapping, p = (uintptr_t)host;
	if (p < base || p - base >= m->ram_size)
		return;
	uint64_t off = p - base;
	if (len > m->ram_size - off)
		len = m->ram_size - off;
	uint64_t last = len ? (off + len - 1) / 4096 : off / 4096;
	for (uint64_t pg = off / 4096; pg <= last; pg++)
		__atomic_fetch_or(&bits[pg / 64], 1ULL << (pg % 64), __ATOMIC_RELAXED);
}
