/* state/state_file: what is written reads back, section by section; every
 * damaged header, table entry, payload or trailer is refused with one line
 * naming the file and the section or the problem; any single flipped byte
 * of a good file is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/guest_mem.h"
#include "state/memory_file.h"
#include "state/state_file.h"
#include "util/file_io.h"
#include "util/le.h"

static char dir[] = "/tmp/nv-state-file.XXXXXX";
static char good_path[128];

/* The good file's table entries, as written by good(). */
#define HDR STATE_FILE_HEADER_BYTES
#define ENT STATE_FILE_ENTRY_BYTES
#define ENTRY(i) (HDR + (i) * ENT)

static void path_of(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

static struct state_section sec(const char *name, const void *data, uint64_t len)
{
	struct state_section s = { .data = data, .len = len };
	snprintf(s.name, sizeof(s.name), "%s", name);
	return s;
}

static const char payload0[] = "vcpu zero registers";
static const char payload1[] = "vcpu one: some other bytes";
static const char payload3[] = "uart";

/* A good file of four sections (vcpu0, vcpu1, empty, uart), written as
 * good_path and its bytes returned (free them). */
static uint8_t *good(size_t *len)
{
	struct state_section s[] = {
		sec("vcpu0", payload0, sizeof(payload0)),
		sec("vcpu1", payload1, sizeof(payload1)),
		sec("empty", NULL, 0),
		sec("dev:uart.0", payload3, sizeof(payload3)),
	};
	struct nv_err err = { 0 };
	assert_int_equal(state_file_write(good_path, s, 4, &err), 0);
	char *buf;
	assert_int_equal(file_read_bounded(good_path, 1 << 20, &buf, len), 0);
	return (uint8_t *)buf;
}

/* buf refused: one line, an input error, naming the file and each needle;
 * f left empty. */
static void refused(const uint8_t *buf, size_t len, const char *n1, const char *n2)
{
	struct state_file f;
	struct nv_err err = { 0 };
	assert_int_equal(state_file_parse(&f, buf, len, "/x/vm.state", &err), -1);
	assert_int_equal(err.kind, NV_ERR_INPUT);
	if (!strstr(err.msg, "state file /x/vm.state: ") || (n1 && !strstr(err.msg, n1)) ||
	    (n2 && !strstr(err.msg, n2)))
		fail_msg("message \"%s\" lacks \"%s\" / \"%s\"", err.msg, n1 ? n1 : "", n2 ? n2 : "");
	assert_null(strchr(err.msg, '\n'));
	assert_null(f.buf);
	assert_null(f.sections);
	assert_int_equal(f.n, 0);
	state_file_free(&f);
}

static void test_round_trip(void **state)
{
	(void)state;
	size_t big_len = 100000;
	uint8_t *big = malloc(big_len);
	assert_non_null(big);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (uint8_t)(i * 2654435761u >> 13);
	struct state_section s[] = {
		sec("vcpu0", payload0, sizeof(payload0)),
		sec("empty", NULL, 0),
		sec("ram:0-0x9ffff", big, big_len),
		sec("dev:virtio-blk.1", payload1, sizeof(payload1)),
		sec("empty_too", "", 0),
	};
	char p[128];
	path_of(p, sizeof(p), "round.state");
	struct nv_err err = { 0 };
	assert_int_equal(state_file_write(p, s, 5, &err), 0);
	struct state_file f;
	assert_int_equal(state_file_load(&f, p, &err), 0);
	assert_int_equal(f.n, 5);
	for (unsigned i = 0; i < 5; i++) {
		assert_string_equal(f.sections[i].name, s[i].name);
		assert_int_equal(f.sections[i].len, s[i].len);
		if (s[i].len)
			assert_memory_equal(f.sections[i].data, s[i].data, s[i].len);
		assert_ptr_equal(state_file_find(&f, s[i].name), &f.sections[i]);
	}
	assert_null(state_file_find(&f, "vcpu1"));
	assert_null(state_file_find(&f, ""));
	assert_null(state_file_find(&f, "vcpu"));
	/* The file is what the format says: header, table, payloads, crc. */
	assert_memory_equal(f.buf, "NVSTATE\0", 8);
	assert_int_equal(le_get32(f.buf + 8), 1);
	assert_int_equal(le_get32(f.buf + 12), 5);
	assert_int_equal(le_get64(f.buf + 16), f.len);
	assert_int_equal(f.len, HDR + 5 * ENT + sizeof(payload0) + big_len + sizeof(payload1) + 4);
	state_file_free(&f);
	state_file_free(&f); /* harmless twice */

	/* Rewritten: the new content replaces the old, parse agrees with load. */
	assert_int_equal(state_file_write(p, s + 1, 1, &err), 0);
	char *raw;
	size_t len;
	assert_int_equal(file_read_bounded(p, 1 << 20, &raw, &len), 0);
	assert_int_equal(state_file_parse(&f, (uint8_t *)raw, len, p, &err), 0);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.sections[0].name, "empty");
	assert_int_equal(f.sections[0].len, 0);
	assert_ptr_not_equal(f.buf, (uint8_t *)raw); /* copied */
	state_file_free(&f);
	free(raw);

	/* No sections at all: a 28-byte file. */
	assert_int_equal(state_file_write(p, NULL, 0, &err), 0);
	assert_int_equal(state_file_load(&f, p, &err), 0);
	assert_int_equal(f.n, 0);
	assert_int_equal(f.len, HDR + 4);
	assert_null(state_file_find(&f, "vcpu0"));
	state_file_free(&f);
	free(big);
}

static void test_missing_file(void **state)
{
	(void)state;
	char p[128], want[256];
	path_of(p, sizeof(p), "nothing-here.state");
	struct state_file f;
	struct nv_err err = { 0 };
	assert_int_equal(state_file_load(&f, p, &err), -1);
	snprintf(want, sizeof(want), "state file %s: No such file or directory", p);
	assert_string_equal(err.msg, want);
	assert_int_equal(err.kind, NV_ERR_INPUT);
	assert_null(f.buf);
	state_file_free(&f);
}

static void test_too_large_file(void **state)
{
	(void)state;
	char p[128];
	path_of(p, sizeof(p), "huge.state");
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)STATE_FILE_MAX_BYTES + 1), 0); /* sparse */
	close(fd);
	struct state_file f;
	struct nv_err err = { 0 };
	assert_int_equal(state_file_load(&f, p, &err), -1);
	assert_non_null(strstr(err.msg, p));
	assert_non_null(strstr(err.msg, "256 MiB cap"));
	unlink(p);
}

static void test_bad_magic(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = good(&len);
	b[3] ^= 0x20;
	refused(b, len, "not a nestvm state file (bad magic)", NULL);
	refused((const uint8_t *)"{\"json\": 1}", 11, "bad magic", NULL);
	refused((const uint8_t *)"NV", 2, "truncated (2 bytes", NULL);
	refused((const uint8_t *)"", 0, "truncated (0 bytes", NULL);
	free(b);
}

static void test_newer_version(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = good(&len);
	le_put32(b + 8, 7);
	refused(b, len, "format version 7 is newer than this nestvm reads (1)", NULL);
	le_put32(b + 8, 0);
	refused(b, len, "format version 0", NULL);
	free(b);
}

static void test_truncated(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = good(&len);
	char want[96];
	snprintf(want, sizeof(want), "truncated (%zu bytes, the header says %zu)", len - 10, len);
	refused(b, len - 10, want, NULL);
	refused(b, 20, "truncated (20 bytes, shorter than the 24-byte header)", NULL);
	/* Longer than the header says: not a file of ours as written. */
	uint8_t *more = calloc(1, len + 1);
	memcpy(more, b, len);
	snprintf(want, sizeof(want), "%zu bytes, the header says %zu", len + 1, len);
	refused(more, len + 1, want, NULL);
	/* A header length past the cap. */
	le_put64(b + 16, (uint64_t)STATE_FILE_MAX_BYTES + 1);
	refused(b, len, "256 MiB cap", NULL);
	free(more);
	free(b);
}

static void test_table_too_large(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = good(&len);
	le_put32(b + 12, STATE_FILE_MAX_SECTIONS + 1);
	refused(b, len, "1025 sections, over the cap of 1024", NULL);
	le_put32(b + 12, 0xffffffff);
	refused(b, len, "4294967295 sections", NULL);
	/* Under the cap, but the table would run past the file. */
	le_put32(b + 12, 100);
	refused(b, len, "truncated", "a table of 100 sections needs 5628");
	free(b);
}

static void test_invalid_name(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = good(&len);
	uint8_t *name = b + ENTRY(1);
	uint8_t saved[32];
	memcpy(saved, name, 32);

	name[4] = '/'; /* "vcpu/" */
	refused(b, len, "section 1 has an invalid name", "byte 0x2f at position 4");
	name[4] = 0xc3;
	refused(b, len, "section 1 has an invalid name", "byte 0xc3");
	name[0] = 0;
	refused(b, len, "section 1 has an invalid name", "empty");
	memcpy(name, saved, 32);
	name[20] = 'x'; /* after the NUL */
	refused(b, len, "section 1 has an invalid name", "after its NUL");
	memset(name, 'a', 32); /* no NUL */
	refused(b, len, "section 1 has an invalid name", "no NUL");
	memcpy(name, saved, 32);
	memcpy(b + ENTRY(3), " sp", 3);
	refused(b, len, "section 3 has an invalid name", "0x20");
	free(b);
}

static void test_section_too_long(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = good(&len);
	le_put64(b + ENTRY(0) + 40, 99999999);
	refused(b, len, "section vcpu0: length 99999999 exceeds the 16 MiB cap", NULL);
	le_put64(b + ENTRY(0) + 40, UINT64_MAX);
	refused(b, len, "section vcpu0: length 18446744073709551615 exceeds", NULL);
	free(b);
}

static void test_section_outside(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = good(&len);
	uint8_t *off = b + ENTRY(1) + 32, *slen = b + ENTRY(1) + 40;
	uint64_t was = le_get64(off);
	/* Past the end, and offset + length overflowing 64 bits. */
	le_put64(off, UINT64_MAX - 2);
	refused(b, len, "section vcpu1: bytes 18446744073709551613+27 lie outside", NULL);
	/* Into the trailer's checksum. */
	le_put64(off, len - 4 - sizeof(payload1) + 1);
	refused(b, len, "section vcpu1", "outside the payload area");
	/* Over the table. */
	le_put64(off, HDR);
	refused(b, len, "section vcpu1", "outside the payload area");
	/* Fits by offset, too long by length. */
	le_put64(off, was);
	le_put64(slen, len);
	refused(b, len, "section vcpu1", "outside the payload area");
	free(b);
}

static void test_overlap(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = good(&len);
	/* vcpu1 starts one byte inside vcpu0. */
	uint64_t off0 = le_get64(b + ENTRY(0) + 32);
	le_put64(b + ENTRY(1) + 32, off0 + sizeof(payload0) - 1);
	refused(b, len, "sections vcpu0 and vcpu1 overlap", NULL);
	/* uart at the same offset as vcpu0. */
	free(b);
	b = good(&len);
	le_put64(b + ENTRY(3) + 32, off0);
	refused(b, len, "sections vcpu0 and dev:uart.0 overlap", NULL);
	/* An empty section anywhere inside another overlaps nothing: only the
	 * file checksum (the table changed) refuses it. */
	free(b);
	b = good(&len);
	le_put64(b + ENTRY(2) + 32, off0 + 1);
	refused(b, len, "state file /x/vm.state: checksum mismatch", NULL);
	free(b);
}

static void test_duplicate_name(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = good(&len);
	b[ENTRY(1) + 4] = '0'; /* vcpu1 -> vcpu0 */
	refused(b, len, "section vcpu0: duplicate name (table entries 0 and 1)", NULL);
	free(b);
}

static void test_reserved(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = good(&len);
	b[ENTRY(3) + 52] = 1;
	refused(b, len, "section dev:uart.0: reserved field is 1", NULL);
	free(b);
}

static void test_section_checksum(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = good(&len);
	uint64_t off1 = le_get64(b + ENTRY(1) + 32);
	b[off1 + 3] ^= 0x04;
	refused(b, len, "section vcpu1: checksum mismatch (the file is corrupt)", NULL);
	b[off1 + 3] ^= 0x04;
	b[ENTRY(0) + 48] ^= 0x01; /* the stored crc itself */
	refused(b, len, "section vcpu0: checksum mismatch", NULL);
	free(b);
}

static void test_file_checksum(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = good(&len);
	b[len - 1] ^= 0x80;
	refused(b, len, "state file /x/vm.state: checksum mismatch (the file is corrupt)", NULL);
	b[len - 1] ^= 0x80;
	/* The count dropped by one: the last entry reads as payload bytes,
	 * every remaining section checks out; only the file crc sees it. */
	le_put32(b + 12, 3);
	refused(b, len, "state file /x/vm.state: checksum mismatch", NULL);
	free(b);
}

static void test_every_byte_flip(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = good(&len);
	struct state_file f;
	struct nv_err err = { 0 };
	assert_int_equal(state_file_parse(&f, b, len, "/x/vm.state", &err), 0);
	state_file_free(&f);
	static const uint8_t flips[] = { 0x01, 0x80, 0xff, 0x5a };
	for (size_t i = 0; i < len; i++) {
		for (size_t k = 0; k < sizeof(flips); k++) {
			b[i] ^= flips[k];
			err.msg[0] = '\0';
			if (state_file_parse(&f, b, len, "/x/vm.state", &err) != -1)
				fail_msg("byte %zu ^ 0x%02x accepted", i, flips[k]);
			assert_non_null(strstr(err.msg, "state file /x/vm.state: "));
			b[i] ^= flips[k];
		}
	}
	/* And every shorter prefix. */
	for (size_t n = 0; n < len; n++)
		if (state_file_parse(&f, b, n, "/x/vm.state", &err) != -1)
			fail_msg("prefix of %zu bytes accepted", n);
	free(b);
}

static void test_write_refusals(void **state)
{
	(void)state;
	char p[128];
	path_of(p, sizeof(p), "refused.state");
	struct nv_err err = { 0 };
	struct state_section s[2] = { sec("a", "x", 1), sec("b", "y", 1) };

	s[1].name[0] = '\0';
	assert_int_equal(state_file_write(p, s, 2, &err), -1);
	assert_int_equal(err.kind, NV_ERR_HOST);
	assert_non_null(strstr(err.msg, "section 1 has an invalid name (empty)"));

	s[1] = sec("a", "y", 1);
	assert_int_equal(state_file_write(p, s, 2, &err), -1);
	assert_int_equal(err.kind, NV_ERR_HOST);
	assert_non_null(strstr(err.msg, "section a: duplicate name"));

	memset(s[1].name, 'n', sizeof(s[1].name)); /* no NUL */
	assert_int_equal(state_file_write(p, s, 2, &err), -1);
	assert_non_null(strstr(err.msg, "no NUL"));

	/* Caps: checked before any data is read. */
	s[1] = sec("big", "y", (uint64_t)STATE_FILE_MAX_SECTION + 1);
	assert_int_equal(state_file_write(p, s, 2, &err), -1);
	assert_non_null(strstr(err.msg, "section big: length 16777217 exceeds the 16 MiB cap"));
	struct state_section *many = calloc(STATE_FILE_MAX_SECTIONS + 1, sizeof(*many));
	for (unsigned i = 0; i <= STATE_FILE_MAX_SECTIONS; i++)
		many[i] = sec(i % 2 ? "odd" : "even", "z", STATE_FILE_MAX_SECTION);
	assert_int_equal(state_file_write(p, many, STATE_FILE_MAX_SECTIONS + 1, &err), -1);
	assert_non_null(strstr(err.msg, "1025 sections, over the cap of 1024"));
	assert_int_equal(state_file_write(p, many, 17, &err), -1);
	assert_non_null(strstr(err.msg, "over the 256 MiB cap"));
	free(many);
	s[1] = sec("nodata", NULL, 5);
	assert_int_equal(state_file_write(p, s, 2, &err), -1);
	assert_non_null(strstr(err.msg, "section nodata: no data"));
	/* Nothing written by any of them. */
	assert_int_equal(access(p, F_OK), -1);

	/* The write itself failing: the errno, naming the file. */
	path_of(p, sizeof(p), "no-such-dir/vm.state");
	assert_int_equal(state_file_write(p, s, 1, &err), -1);
	assert_non_null(strstr(err.msg, p));
	assert_non_null(strstr(err.msg, "cannot write: No such file or directory"));
}

/* The memory file: pages with data land at their offsets, zero pages are
 * holes, whether the RAM is anonymous (never-touched pages skipped by
 * mincore, a touched page that is zero again a hole too) or mapped from an
 * earlier memory file (every page read). */
static void check_memory_file(const char *path, uint64_t ram, const uint64_t *pages, unsigned n)
{
	struct nv_err err = { 0 };
	int fd = memory_file_open(path, ram, &err);
	assert_true(fd >= 0);
	uint8_t buf[4096];
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(pread(fd, buf, sizeof(buf), (off_t)(MEMORY_FILE_HEADER + pages[i] * 4096)),
				 (ssize_t)sizeof(buf));
		assert_int_equal(buf[0], (uint8_t)(i + 1));
		assert_int_equal(buf[4095], 0xee);
	}
	/* The untouched page 3 is a hole: the data after the header starts at page 1. */
	off_t data = lseek(fd, MEMORY_FILE_HEADER, SEEK_DATA);
	assert_int_equal(data, (off_t)(MEMORY_FILE_HEADER + pages[0] * 4096));
	off_t hole = lseek(fd, data, SEEK_HOLE);
	assert_true(hole <= (off_t)(MEMORY_FILE_HEADER + (pages[0] + 1) * 4096));
	close(fd);
}

static void test_memory_file(void **state)
{
	(void)state;
	const uint64_t ram = 32ull << 20;
	const uint64_t pages[] = { 1, 100, 5000 };
	struct guest_mem m;
	struct nv_err err = { 0 };
	assert_int_equal(guest_mem_alloc(&m, ram, &err), 0);
	assert_true(m.anonymous);
	for (unsigned i = 0; i < 3; i++) {
		m.regions[0].host[pages[i] * 4096] = (uint8_t)(i + 1);
		m.regions[0].host[pages[i] * 4096 + 4095] = 0xee;
	}
	m.regions[0].host[7 * 4096] = 1; /* touched, then zero again */
	m.regions[0].host[7 * 4096] = 0;
	char p1[256], p2[256];
	path_of(p1, sizeof(p1), "memory1");
	path_of(p2, sizeof(p2), "memory2");
	assert_int_equal(memory_file_write(p1, &m, &err), 0);
	guest_mem_free(&m);
	check_memory_file(p1, ram, pages, 3);
	/* Mapped from that file (not anonymous): every page is read. */
	int fd = memory_file_open(p1, ram, &err);
	assert_true(fd >= 0);
	assert_int_equal(guest_mem_map_file(&m, fd, MEMORY_FILE_HEADER, ram, &err), 0);
	close(fd);
	assert_false(m.anonymous);
	assert_int_equal(memory_file_write(p2, &m, &err), 0);
	guest_mem_free(&m);
	check_memory_file(p2, ram, pages, 3);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	path_of(good_path, sizeof(good_path), "good.state");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_too_large_file),
		cmocka_unit_test(test_bad_magic),
		cmocka_unit_test(test_newer_version),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_table_too_large),
		cmocka_unit_test(test_invalid_name),
		cmocka_unit_test(test_section_too_long),
		cmocka_unit_test(test_section_outside),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_duplicate_name),
		cmocka_unit_test(test_reserved),
		cmocka_unit_test(test_section_checksum),
		cmocka_unit_test(test_file_checksum),
		cmocka_unit_test(test_every_byte_flip),
		cmocka_unit_test(test_write_refusals),
		cmocka_unit_test(test_memory_file),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
