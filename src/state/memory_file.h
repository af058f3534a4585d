/* Guest RAM saved beside the state file, in a file of its own so restore
 * can map it private and let pages load when the guest first touches them
 * (restore costs the same for 256 MiB or 16 GiB).
 *
 *   offset 0     "NVMEMORY" magic, u32 version (1), u32 header size (4096),
 *                u64 RAM bytes, all little-endian; zeros up to 4096
 *   offset 4096  the RAM, byte for byte (the low region, then the high one)
 *
 * Pages that are all zeros are left as holes: a fresh 1 GiB guest that
 * used 100 MiB writes (and occupies) about 100 MiB. */
#ifndef NESTVM_STATE_MEMORY_FILE_H
#define NESTVM_STATE_MEMORY_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/guest_mem.h"
#include "util/err.h"

#define MEMORY_FILE_HEADER 4096u
/* Its name beside the state file in a saved machine's folder. */
#define MEMORY_FILE_NAME "memory"

/* Writes path atomically (a temporary file, synced, then renamed). */
int memory_file_write(const char *path, const struct guest_mem *m, struct nv_err *err);
/* Opens path and checks it holds ram_size bytes of RAM; the fd, to map at
 * MEMORY_FILE_HEADER (close it after), or -1 with a one-line error. */
int memory_file_open(const char *path, uint64_t ram_size, struct nv_err *err);

/* A new memory file of ram_size zero bytes of RAM (a sparse file) at path
 * (which must not exist), for a migration's target to fill: the fd
 * (read-write), or -1 with err. */
int memory_file_create(const char *path, uint64_t ram_size, struct nv_err *err);
/* len bytes of RAM at RAM offset into such a file; 0 or -1 (errno). */
int memory_file_put(int fd, uint64_t offset, const uint8_t *data, size_t len);
/* True when the page-aligned page p holds only zeros. */
bool memory_page_is_zero(const uint8_t *p);
/* For anonymous RAM, one byte per page of region r, 1 = the host backed it
 * (the others are zero without being read); NULL otherwise (free it). */
unsigned char *memory_backed_pages(const struct guest_mem *m, const struct guest_mem_region *r);

#endif
