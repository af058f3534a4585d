#include "state/state_file.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util/file_io.h"
#include "util/le.h"

#define MAGIC_BYTES 8u

/* Entry fields, from the entry's start. */
#define ENT_NAME 0u
#define ENT_OFFSET 32u
#define ENT_LENGTH 40u
#define ENT_CRC 48u
#define ENT_RESERVED 52u

static uint32_t crc_of(const uint8_t *p, size_t n)
{
	return (uint32_t)crc32_z(crc32(0L, Z_NULL, 0), p, n);
}

static bool name_char(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == ':' || c == '-';
}

/* What is wrong with the 32 name bytes at p, or NULL. why: room for the
 * answer when it names a byte (never the hostile bytes themselves). */
static const char *name_problem(const uint8_t *p, char *why, size_t why_len)
{
	const uint8_t *nul = memchr(p, 0, STATE_SECTION_NAME_MAX);
	if (!nul)
		return "no NUL in its 32 bytes";
	size_t n = (size_t)(nul - p);
	if (n == 0)
		return "empty";
	for (size_t i = 0; i < n; i++) {
		if (!name_char(p[i])) {
			snprintf(why, why_len, "byte 0x%02x at position %zu; allowed: A-Z a-z 0-9 . _ : -",
				 p[i], i);
			return why;
		}
	}
	for (size_t i = n; i < STATE_SECTION_NAME_MAX; i++)
		if (p[i])
			return "bytes after its NUL are not zero";
	return NULL;
}

/* A section as the duplicate and overlap checks sort it. */
struct span {
	uint64_t off, len;
	const char *name;
	unsigned idx;
};

static int span_by_name(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

static int span_by_offset(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Names unique, non-empty payloads disjoint: both by sorting (a table has up
 * to 1024 entries, and the fuzzer feeds many). */
static int check_unique(const struct state_file *f, const char *path, struct nv_err *err)
{
	if (f->n < 2)
		return 0;
	struct span *s = calloc(f->n, sizeof(*s));
	if (!s)
		return nv_err_host(err, "state file %s: out of memory", path);
	for (unsigned i = 0; i < f->n; i++)
		s[i] = (struct span){ f->sections[i].data - f->buf, f->sections[i].len,
				      f->sections[i].name, i };
	int ret = 0;
	qsort(s, f->n, sizeof(*s), span_by_name);
	for (unsigned i = 1; i < f->n && !ret; i++)
		if (!strcmp(s[i - 1].name, s[i].name))
			ret = nv_err_input(err, "state file %s: section %s: duplicate name (table entries %u and %u)",
					   path, s[i].name, s[i - 1].idx, s[i].idx);
	/* Empty payloads overlap nothing; the rest, by offset, each must end
	 * before the next starts (all within the file: no overflow). */
	unsigned m = 0;
	for (unsigned i = 0; i < f->n; i++)
		if (s[i].len)
			s[m++] = s[i];
	qsort(s, m, sizeof(*s), span_by_offset);
	for (unsigned i = 1; i < m && !ret; i++) {
		const struct span *a = &s[i - 1], *b = &s[i];
		if (a->off + a->len > b->off)
			ret = nv_err_input(err,
					   "state file %s: sections %s and %s overlap (bytes %" PRIu64 "..%" PRIu64
					   " and %" PRIu64 "..%" PRIu64 ", the file is corrupt)",
					   path, a->name, b->name, a->off, a->off + a->len - 1, b->off,
					   b->off + b->len - 1);
	}
	free(s);
	return ret;
}

/* f->buf[0..f->len) checked, f->sections built. The order of the checks:
 * the header first (magic, then version: a newer format may put its
 * checksums elsewhere, so "too new" must not come out as "corrupt"), then
 * the table's structure, each problem named precisely; then each section's
 * checksum, so that damage inside a payload names the section it hit; last
 * the whole-file checksum, which catches what the others cannot see (a
 * count that dropped by one, so the last table entry reads as payload
 * bytes; a gap between payloads; the trailer itself). with_crc false: the
 * writer's self-check of a buffer it has just summed. */
static int check(struct state_file *f, const char *path, bool with_crc, struct nv_err *err)
{
	const uint8_t *b = f->buf;
	size_t len = f->len;
	size_t head = len < MAGIC_BYTES ? len : MAGIC_BYTES;
	if (memcmp(b, STATE_FILE_MAGIC, head) != 0)
		return nv_err_input(err, "state file %s: not a nestvm state file (bad magic)", path);
	if (len < STATE_FILE_HEADER_BYTES)
		return nv_err_input(err, "state file %s: truncated (%zu bytes, shorter than the %u-byte header)",
				    path, len, STATE_FILE_HEADER_BYTES);
	uint32_t version = le_get32(b + 8);
	if (version > STATE_FILE_VERSION)
		return nv_err_input(err, "state file %s: format version %" PRIu32
				    " is newer than this nestvm reads (%u)",
				    path, version, STATE_FILE_VERSION);
	if (version == 0)
		return nv_err_input(err, "state file %s: format version 0 is not valid (the file is corrupt)",
				    path);
	uint32_t count = le_get32(b + 12);
	uint64_t total = le_get64(b + 16);
	if (total > STATE_FILE_MAX_BYTES)
		return nv_err_input(err, "state file %s: the header says %" PRIu64
				    " bytes, over the 256 MiB cap (the file is corrupt)",
				    path, total);
	if (len < total)
		return nv_err_input(err, "state file %s: truncated (%zu bytes, the header says %" PRIu64 ")",
				    path, len, total);
	if (len > total)
		return nv_err_input(err, "state file %s: %zu bytes, the header says %" PRIu64
				    " (the file is corrupt)",
				    path, len, total);
	if (count > STATE_FILE_MAX_SECTIONS)
		return nv_err_input(err, "state file %s: %" PRIu32
				    " sections, over the cap of %u (the file is corrupt)",
				    path, count, STATE_FILE_MAX_SECTIONS);
	/* Small: count <= 1024. */
	uint64_t table_end = STATE_FILE_HEADER_BYTES + (uint64_t)count * STATE_FILE_ENTRY_BYTES;
	if (total < table_end + STATE_FILE_TRAILER_BYTES)
		return nv_err_input(err, "state file %s: truncated (%zu bytes; a table of %" PRIu32
				    " sections needs %" PRIu64 ")",
				    path, len, count, table_end + STATE_FILE_TRAILER_BYTES);
	uint64_t payload_end = total - STATE_FILE_TRAILER_BYTES;

	f->sections = calloc(count ? count : 1, sizeof(*f->sections));
	if (!f->sections)
		return nv_err_host(err, "state file %s: out of memory", path);
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *e = b + STATE_FILE_HEADER_BYTES + (size_t)i * STATE_FILE_ENTRY_BYTES;
		char why[96];
		const char *bad = name_problem(e + ENT_NAME, why, sizeof(why));
		if (bad)
			return nv_err_input(err, "state file %s: section %" PRIu32 " has an invalid name (%s)",
					    path, i, bad);
		struct state_section *s = &f->sections[i];
		memcpy(s->name, e + ENT_NAME, STATE_SECTION_NAME_MAX);
		uint64_t off = le_get64(e + ENT_OFFSET), slen = le_get64(e + ENT_LENGTH);
		uint32_t reserved = le_get32(e + ENT_RESERVED);
		if (reserved)
			return nv_err_input(err, "state file %s: section %s: reserved field is %" PRIu32
					    ", not 0 (the file is corrupt)",
					    path, s->name, reserved);
		if (slen > STATE_FILE_MAX_SECTION)
			return nv_err_input(err, "state file %s: section %s: length %" PRIu64
					    " exceeds the 16 MiB cap",
					    path, s->name, slen);
		/* Overflow-safe: off is bounded before off is subtracted. */
		if (off < table_end || off > payload_end || slen > payload_end - off)
			return nv_err_input(err, "state file %s: section %s: bytes %" PRIu64 "+%" PRIu64
					    " lie outside the payload area (%" PRIu64 "..%" PRIu64
					    ", the file is corrupt)",
					    path, s->name, off, slen, table_end, payload_end);
		s->data = b + off;
		s->len = slen;
		f->n = i + 1;
	}
	if (check_unique(f, path, err) < 0)
		return -1;
	if (!with_crc)
		return 0;
	for (unsigned i = 0; i < f->n; i++) {
		const uint8_t *e = b + STATE_FILE_HEADER_BYTES + (size_t)i * STATE_FILE_ENTRY_BYTES;
		const struct state_section *s = &f->sections[i];
		if (crc_of(s->data, s->len) != le_get32(e + ENT_CRC))
			return nv_err_input(err, "state file %s: section %s: checksum mismatch (the file is corrupt)",
					    path, s->name);
	}
	if (crc_of(b, payload_end) != le_get32(b + payload_end))
		return nv_err_input(err, "state file %s: checksum mismatch (the file is corrupt)", path);
	return 0;
}

/* f->buf and f->len set (f owns buf): checked, or freed and emptied. */
static int parse_owned(struct state_file *f, const char *path, struct nv_err *err)
{
	if (check(f, path, true, err) < 0) {
		state_file_free(f);
		return -1;
	}
	return 0;
}

/* An errno of reading or writing path: the user's (a path that is not
 * there, not allowed, not a file) or the host's (ENOSPC, EIO, ENOMEM ...). */
static int io_err(struct nv_err *err, const char *path, const char *doing, int e)
{
	switch (e) {
	case ENOENT: case ENOTDIR: case EISDIR: case EACCES: case EPERM: case ELOOP:
	case ENAMETOOLONG: case EROFS:
		return nv_err_input(err, "state file %s: %s%s", path, doing, strerror(e));
	default:
		return nv_err_host(err, "state file %s: %s%s", path, doing, strerror(e));
	}
}

int state_file_load(struct state_file *f, const char *path, struct nv_err *err)
{
	*f = (struct state_file){ 0 };
	char *buf;
	size_t len;
	int rc = file_read_bounded(path, (size_t)STATE_FILE_MAX_BYTES + 1, &buf, &len);
	if (rc == -EFBIG)
		return nv_err_input(err, "state file %s: larger than the 256 MiB cap (the file is corrupt)",
				    path);
	if (rc < 0)
		return io_err(err, path, "", -rc);
	/* file_read_bounded allocated for the bound: give back the rest. */
	char *fit = realloc(buf, len + 1);
	f->buf = (uint8_t *)(fit ? fit : buf);
	f->len = len;
	return parse_owned(f, path, err);
}

int state_file_parse(struct state_file *f, const uint8_t *buf, size_t len, const char *path,
		     struct nv_err *err)
{
	*f = (struct state_file){ 0 };
	f->buf = malloc(len ? len : 1);
	if (!f->buf)
		return nv_err_host(err, "state file %s: out of memory", path);
	if (len)
		memcpy(f->buf, buf, len);
	f->len = len;
	return parse_owned(f, path, err);
}

int state_file_build(const char *path, const struct state_section *secs, unsigned n, uint8_t **out,
		     size_t *out_len, struct nv_err *err)
{
	if (n > STATE_FILE_MAX_SECTIONS)
		return nv_err_host(err, "state file %s: %u sections, over the cap of %u", path, n,
				   STATE_FILE_MAX_SECTIONS);
	uint64_t total = STATE_FILE_HEADER_BYTES + (uint64_t)n * STATE_FILE_ENTRY_BYTES +
			 STATE_FILE_TRAILER_BYTES;
	for (unsigned i = 0; i < n; i++) {
		char why[96];
		const char *bad = name_problem((const uint8_t *)secs[i].name, why, sizeof(why));
		if (bad)
			return nv_err_host(err, "state file %s: section %u has an invalid name (%s)", path, i,
					   bad);
		if (secs[i].len > STATE_FILE_MAX_SECTION)
			return nv_err_host(err, "state file %s: section %s: length %" PRIu64
					   " exceeds the 16 MiB cap",
					   path, secs[i].name, secs[i].len);
		if (secs[i].len && !secs[i].data)
			return nv_err_host(err, "state file %s: section %s: no data", path, secs[i].name);
		/* No overflow: at most 1024 lengths of at most 16 MiB each. */
		total += secs[i].len;
	}
	if (total > STATE_FILE_MAX_BYTES)
		return nv_err_host(err, "state file %s: %" PRIu64 " bytes, over the 256 MiB cap", path,
				   total);

	struct state_file f = { .len = (size_t)total };
	f.buf = calloc(1, f.len);
	if (!f.buf)
		return nv_err_host(err, "state file %s: out of memory", path);
	memcpy(f.buf, STATE_FILE_MAGIC, MAGIC_BYTES);
	le_put32(f.buf + 8, STATE_FILE_VERSION);
	le_put32(f.buf + 12, n);
	le_put64(f.buf + 16, total);
	uint64_t off = STATE_FILE_HEADER_BYTES + (uint64_t)n * STATE_FILE_ENTRY_BYTES;
	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = f.buf + STATE_FILE_HEADER_BYTES + (size_t)i * STATE_FILE_ENTRY_BYTES;
		memcpy(e + ENT_NAME, secs[i].name, STATE_SECTION_NAME_MAX);
		le_put64(e + ENT_OFFSET, off);
		le_put64(e + ENT_LENGTH, secs[i].len);
		if (secs[i].len)
			memcpy(f.buf + off, secs[i].data, secs[i].len);
		le_put32(e + ENT_CRC, crc_of(f.buf + off, secs[i].len));
		off += secs[i].len;
	}
	le_put32(f.buf + off, crc_of(f.buf, off));

	/* What the reader would refuse is not written (duplicate names). */
	int ret = check(&f, path, false, err);
	if (ret < 0) {
		if (err)
			err->kind = NV_ERR_HOST;
		state_file_free(&f);
		return -1;
	}
	free(f.sections);
	*out = f.buf;
	*out_len = f.len;
	return 0;
}

int state_file_write(const char *path, const struct state_section *secs, unsigned n,
		     struct nv_err *err)
{
	uint8_t *buf;
	size_t len;
	if (state_file_build(path, secs, n, &buf, &len, err) < 0)
		return -1;
	int ret = 0, rc = file_write_atomic(path, buf, len);
	if (rc < 0)
		ret = io_err(err, path, "cannot write: ", -rc);
	free(buf);
	return ret;
}

const struct state_section *state_file_find(const struct state_file *f, const char *name)
{
	for (unsigned i = 0; i < f->n; i++)
		if (!strcmp(f->sections[i].name, name))
			return &f->sections[i];
	return NULL;
}

void state_file_free(struct state_file *f)
{
	free(f->buf);
	free(f->sections);
	*f = (struct state_file){ 0 };
}
