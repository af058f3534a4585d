#include "state/memory_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/le.h"

#define MAGIC "NVMEMORY"
#define VERSION 1
#define PAGE 4096u

bool memory_page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p; /* guest RAM is page-aligned */
	for (unsigned i = 0; i < PAGE / 8; i++)
		if (w[i])
			return false;
	return true;
}

static int write_all(int fd, const uint8_t *p, size_t len, uint64_t off)
{
	while (len > 0) {
		ssize_t w = pwrite(fd, p, len, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

/* Which pages of an anonymous region the host has backed, in RAM or in
 * swap (/proc/self/pagemap bits 63 and 62): the others were never touched
 * and are zero, and reading them to find that out was most of a save's
 * time in the lab. One byte per page, 1 = backed; NULL (read every page)
 * when the memory is file-backed (where unbacked does not mean zero) or
 * pagemap cannot be read. */
unsigned char *memory_backed_pages(const struct guest_mem *m, const struct guest_mem_region *r)
{
	if (!m->anonymous)
		return NULL;
	uint64_t n = r->size / PAGE;
	unsigned char *v = malloc(n + 1);
	uint64_t *e = malloc(4096 * sizeof(*e));
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	bool ok = v && e && fd >= 0;
	for (uint64_t i = 0; ok && i < n; i += 4096) {
		uint64_t k = n - i < 4096 ? n - i : 4096;
		off_t at = (off_t)(((uintptr_t)r->host / PAGE + i) * sizeof(*e));
		ok = pread(fd, e, k * sizeof(*e), at) == (ssize_t)(k * sizeof(*e));
		for (uint64_t j = 0; ok && j < k; j++)
			v[i + j] = (e[j] >> 62) != 0; /* present or swapped */
	}
	if (fd >= 0)
		close(fd);
	free(e);
	if (!ok) {
		free(v);
		return NULL;
	}
	return v;
}

/* RAM runs of non-zero pages; zero pages stay holes. */
static int write_ram(int fd, const struct guest_mem *m)
{
	uint64_t off = MEMORY_FILE_HEADER;
	for (int i = 0; i < m->nregions; i++) {
		const struct guest_mem_region *r = &m->regions[i];
		unsigned char *backed = memory_backed_pages(m, r);
		uint64_t run = 0; /* start of the current non-zero run, in the region */
		bool in_run = false;
		for (uint64_t p = 0; p <= r->size; p += PAGE) {
			bool data = p < r->size && (!backed || backed[p / PAGE]) &&
				    !memory_page_is_zero(r->host + p);
			if (data && !in_run) {
				run = p;
				in_run = true;
			} else if (!data && in_run) {
				if (write_all(fd, r->host + run, p - run, off + run) < 0) {
					free(backed);
					return -1;
				}
				in_run = false;
			}
		}
		free(backed);
		off += r->size;
	}
	return 0;
}

static void header(uint8_t hdr[MEMORY_FILE_HEADER], uint64_t ram_size)
{
	memset(hdr, 0, MEMORY_FILE_HEADER);
	memcpy(hdr, MAGIC, 8);
	le_put32(hdr + 8, VERSION);
	le_put32(hdr + 12, MEMORY_FILE_HEADER);
	le_put64(hdr + 16, ram_size);
}

int memory_file_create(const char *path, uint64_t ram_size, struct nv_err *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return nv_err_host(err, "memory file %s: %s", path, strerror(errno));
	uint8_t hdr[MEMORY_FILE_HEADER];
	header(hdr, ram_size);
	if (write_all(fd, hdr, sizeof(hdr), 0) < 0 ||
	    ftruncate(fd, (off_t)(MEMORY_FILE_HEADER + ram_size)) < 0) {
		int e = errno ? errno : EIO;
		close(fd);
		unlink(path);
		return nv_err_host(err, "memory file %s: %s", path, strerror(e));
	}
	return fd;
}

int memory_file_put(int fd, uint64_t offset, const uint8_t *data, size_t len)
{
	return write_all(fd, data, len, MEMORY_FILE_HEADER + offset);
}

int memory_file_write(const char *path, const struct guest_mem *m, struct nv_err *err)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return nv_err_input(err, "memory file %s: path too long", path);
	int fd = mkstemp(tmp);
	if (fd < 0)
		return nv_err_host(err, "memory file %s: %s", path, strerror(errno));
	uint8_t hdr[MEMORY_FILE_HEADER];
	header(hdr, m->ram_size);
	int e = 0;
	if (write_all(fd, hdr, sizeof(hdr), 0) < 0 || write_ram(fd, m) < 0 ||
	    ftruncate(fd, (off_t)(MEMORY_FILE_HEADER + m->ram_size)) < 0 || fsync(fd) < 0)
		e = errno ? errno : EIO;
	if (close(fd) < 0 && !e)
		e = errno;
	if (!e && rename(tmp, path) < 0)
		e = errno;
	if (e) {
		unlink(tmp);
		return nv_err_host(err, "memory file %s: %s", path, strerror(e));
	}
	return 0;
}

int memory_file_open(const char *path, uint64_t ram_size, struct nv_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return nv_err_input(err, "memory file %s: %s", path, strerror(errno));
	uint8_t hdr[24];
	struct stat st;
	ssize_t n = pread(fd, hdr, sizeof(hdr), 0);
	const char *bad = NULL;
	char why[160];
	if (fstat(fd, &st) < 0 || n != (ssize_t)sizeof(hdr) || memcmp(hdr, MAGIC, 8) != 0) {
		bad = "not a nestvm memory file";
	} else if (le_get32(hdr + 8) != VERSION) {
		snprintf(why, sizeof(why), "format version %u, this nestvm reads %u", le_get32(hdr + 8), VERSION);
		bad = why;
	} else if (le_get32(hdr + 12) != MEMORY_FILE_HEADER || le_get64(hdr + 16) != ram_size) {
		snprintf(why, sizeof(why), "holds %llu bytes of RAM, the state says %llu",
			 (unsigned long long)le_get64(hdr + 16), (unsigned long long)ram_size);
		bad = why;
	} else if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != MEMORY_FILE_HEADER + ram_size) {
		snprintf(why, sizeof(why), "truncated (%lld bytes, %llu expected)", (long long)st.st_size,
			 (unsigned long long)(MEMORY_FILE_HEADER + ram_size));
		bad = why;
	}
	if (bad) {
		close(fd);
		return nv_err_input(err, "memory file %s: %s", path, bad);
	}
	return fd;
}
