/* The VM state file: named sections of bytes (one per vCPU, device, RAM
 * region ...), each with its own checksum, written atomically and read
 * back with every offset, length and checksum checked: the file comes from
 * disk, so it is hostile input.
 *
 * Layout (all integers little-endian):
 *
 *   offset          size  field
 *   0               8     magic "NVSTATE\0"
 *   8               4     format version (STATE_FILE_VERSION, 1)
 *   12              4     section count C (<= STATE_FILE_MAX_SECTIONS)
 *   16              8     total file length L (<= STATE_FILE_MAX_BYTES)
 *   24              56*C  section table, one entry per section:
 *     +0            32      name: [A-Za-z0-9._:-], 1 to 31 characters,
 *                           NUL-padded (at least one NUL); unique
 *     +32           8       payload offset
 *     +40           8       payload length (<= STATE_FILE_MAX_SECTION)
 *     +48           4       crc32 (zlib's) of the payload
 *     +52           4       reserved, 0
 *   24+56*C         ...   payloads: each inside [24+56*C, L-4), none
 *                         overlapping another (the writer packs them in
 *                         table order; a reader allows gaps)
 *   L-4             4     crc32 of bytes [0, L-4)
 *
 * Every refusal is one line, "state file PATH: ...", naming the section
 * where there is one (by name, or by table index from 0 when its name is
 * the problem). */
#ifndef NESTVM_STATE_STATE_FILE_H
#define NESTVM_STATE_STATE_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define STATE_FILE_MAGIC "NVSTATE" /* and its NUL: 8 bytes */
#define STATE_FILE_VERSION 1u
#define STATE_FILE_HEADER_BYTES 24u
#define STATE_FILE_ENTRY_BYTES 56u
#define STATE_FILE_TRAILER_BYTES 4u
#define STATE_FILE_MAX_SECTIONS 1024u
#define STATE_FILE_MAX_SECTION (16u << 20)
#define STATE_FILE_MAX_BYTES (256u << 20)
/* A name's bytes with its NUL: names have at most 31 characters. */
#define STATE_SECTION_NAME_MAX 32
/* Its name in a saved machine's folder (vmm/machine_state.h). */
#define STATE_FILE_NAME "vm.state"

struct state_section {
	char name[STATE_SECTION_NAME_MAX]; /* NUL-terminated */
	const uint8_t *data;               /* len bytes; may be NULL when len is 0 */
	uint64_t len;
};

/* secs[0..n) as path, atomically (file_write_atomic: the old file or the
 * new one, never half). Sections are laid out in the order given. 0, or -1
 * with err (NV_ERR_HOST: bad sections are the caller's bug, a failed
 * write the host's): too many or too large sections, an invalid or
 * duplicate name, or the write's errno (ENOSPC ...). */
int state_file_write(const char *path, const struct state_section *secs, unsigned n,
		     struct nv_err *err);

/* The same file's bytes in memory (*out, malloc'd, for the caller to free):
 * a migration sends them. path only names it in messages. */
int state_file_build(const char *path, const struct state_section *secs, unsigned n, uint8_t **out,
		     size_t *out_len, struct nv_err *err);

/* A loaded file: sections[i].data points into buf. */
struct state_file {
	uint8_t *buf;
	size_t len;
	struct state_section *sections; /* in table order */
	unsigned n;
};

/* path read (at most STATE_FILE_MAX_BYTES) and checked as state_file_parse
 * does. 0, or -1 with err (f is then empty; state_file_free is harmless). */
int state_file_load(struct state_file *f, const char *path, struct nv_err *err);

/* The same checks over buf[0..len) (copied), for tests and the fuzzer; path
 * only names the file in messages. */
int state_file_parse(struct state_file *f, const uint8_t *buf, size_t len, const char *path,
		     struct nv_err *err);

/* The section called name, or NULL. */
const struct state_section *state_file_find(const struct state_file *f, const char *name);

/* Frees what f holds and empties it (an empty or freed f is fine). */
void state_file_free(struct state_file *f);

#endif
