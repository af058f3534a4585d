/* libFuzzer: the console output of a container's VM (util/stdio_mux.c) as a
 * hostile guest writes it. Any crash or sanitizer report is a bug, and so
 * is:
 *   - more bytes out than in, or a stream other than 1 and 2;
 *   - a different result when the same bytes come split in two at any
 *     point (the UART hands them over a byte at a time);
 *   - the input's data bytes escaped and fed back not coming out whole on
 *     stdout. */
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "util/stdio_mux.h"

struct out {
	uint8_t bytes[8192];
	uint8_t streams[8192];
	size_t len;
};

static void sink(void *opaque, int stream, const uint8_t *buf, size_t len)
{
	struct out *o = opaque;
	CHECK(stream == 1 || stream == 2);
	CHECK(len > 0);
	CHECK(o->len + len <= sizeof(o->bytes));
	memcpy(o->bytes + o->len, buf, len);
	memset(o->streams + o->len, stream, len);
	o->len += len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct out whole, split, back;
	static uint8_t escaped[2 * 4096];
	if (size > 4096)
		return 0;
	struct stdio_demux d;
	whole.len = 0;
	stdio_demux_init(&d);
	stdio_demux_feed(&d, data, size, sink, &whole);
	CHECK(whole.len <= size);
	unsigned credits = d.credits;
	bool ready = d.ready;

	size_t cut = size ? data[0] % (size + 1) : 0;
	split.len = 0;
	stdio_demux_init(&d);
	stdio_demux_feed(&d, data, cut, sink, &split);
	stdio_demux_feed(&d, data + cut, size - cut, sink, &split);
	CHECK(split.len == whole.len);
	CHECK(!memcmp(split.bytes, whole.bytes, whole.len));
	CHECK(!memcmp(split.streams, whole.streams, whole.len));
	CHECK(d.credits == credits && d.ready == ready);

	size_t n = stdio_mux_escape(data, size, escaped);
	CHECK(n >= size && n <= 2 * size);
	back.len = 0;
	stdio_demux_init(&d);
	stdio_demux_feed(&d, escaped, n, sink, &back);
	CHECK(back.len == size && !memcmp(back.bytes, data, size));
	for (size_t i = 0; i < size; i++)
		CHECK(back.streams[i] == 1);
	CHECK(!d.ready && d.credits == 0);
	return 0;
}
