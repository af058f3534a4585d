/* libFuzzer: a hostile VM state file. The input is the file's bytes. Its
 * first byte may ask for help past the easy refusals: bit 0 lays a valid
 * header over the start (magic, version 1, a count under 64, the real
 * length), bit 1 then also writes the right checksums (of every section
 * whose bytes lie in the file, and of the whole file), so that the fuzzer
 * reaches the structural checks' corners and the accepting path. Any crash, sanitizer report or hang is a bug: a
 * state file comes from disk, and whatever it says may not take nestvm
 * down. An accepted file is walked section by section (every byte read, the
 * names looked up), and a refusal must be one line naming the file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "state/state_file.h"
#include "util/le.h"

#define PATH "/fuzz/vm.state"
#define PREFIX "state file " PATH ": "

static volatile unsigned sink;

static void fix_checksums(uint8_t *b, size_t size)
{
	uint32_t count = le_get32(b + 12);
	size_t table_end = STATE_FILE_HEADER_BYTES + (size_t)count * STATE_FILE_ENTRY_BYTES;
	if (size < table_end + 4)
		return;
	for (uint32_t i = 0; i < count; i++) {
		uint8_t *e = b + STATE_FILE_HEADER_BYTES + (size_t)i * STATE_FILE_ENTRY_BYTES;
		uint64_t off = le_get64(e + 32), len = le_get64(e + 40);
		if (off <= size - 4 && len <= size - 4 - off)
			le_put32(e + 48, (uint32_t)crc32_z(0, b + off, (size_t)len));
	}
	le_put32(b + size - 4, (uint32_t)crc32_z(0, b, size - 4));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *buf;
	static size_t cap;
	if (size > cap) {
		free(buf);
		buf = malloc(size);
		if (!buf)
			abort();
		cap = size;
	}
	if (size)
		memcpy(buf, data, size);
	if (size >= STATE_FILE_HEADER_BYTES && (data[0] & 1)) {
		memcpy(buf, "NVSTATE", 8);
		le_put32(buf + 8, STATE_FILE_VERSION);
		le_put32(buf + 12, le_get32(buf + 12) % 64);
		le_put64(buf + 16, size);
		if (data[0] & 2)
			fix_checksums(buf, size);
	}

	struct state_file f;
	struct nv_err err = { 0 };
	if (state_file_parse(&f, buf, size, PATH, &err) < 0) {
		if (err.kind == NV_ERR_NONE || strncmp(err.msg, PREFIX, sizeof(PREFIX) - 1) ||
		    strchr(err.msg, '\n'))
			abort();
		if (f.buf || f.sections || f.n)
			abort();
		state_file_free(&f);
		return 0;
	}
	unsigned sum = 0;
	for (unsigned i = 0; i < f.n; i++) {
		const struct state_section *s = &f.sections[i];
		if (s->len > STATE_FILE_MAX_SECTION || !memchr(s->name, 0, sizeof(s->name)))
			abort();
		if (s->data < f.buf || (size_t)(s->data - f.buf) + s->len > f.len)
			abort();
		for (uint64_t j = 0; j < s->len; j++)
			sum += s->data[j];
		if (state_file_find(&f, s->name) != s)
			abort();
	}
	if (state_file_find(&f, "no such section:") != NULL)
		abort();
	sink = sum;
	state_file_free(&f);
	return 0;
}
