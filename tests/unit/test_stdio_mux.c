/* util/stdio_mux: a container's stdio over one console, both directions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/stdio_mux.h"

struct out {
	char text[256]; /* "1:abc|2:de|" */
	size_t len;
};

static void sink(void *opaque, int stream, const uint8_t *buf, size_t len)
{
	struct out *o = opaque;
	o->len += (size_t)snprintf(o->text + o->len, sizeof(o->text) - o->len, "%d:%.*s|", stream, (int)len,
				   (const char *)buf);
}

static void feed_bytewise(struct stdio_demux *d, const char *in, size_t n, struct out *o)
{
	for (size_t i = 0; i < n; i++)
		stdio_demux_feed(d, (const uint8_t *)in + i, 1, sink, o);
}

static void test_escape_doubles_esc_only(void **state)
{
	(void)state;
	const uint8_t in[] = { 'a', 0xff, 0x00, 0xff, 'b' };
	uint8_t out[2 * sizeof(in)];
	size_t n = stdio_mux_escape(in, sizeof(in), out);
	const uint8_t want[] = { 'a', 0xff, 0xff, 0x00, 0xff, 0xff, 'b' };
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
}

static void test_streams_switch(void **state)
{
	(void)state;
	static const char in[] = "out\xff\x02" "err\xff\x01" "more";
	struct stdio_demux d;
	struct out o = { 0 };
	stdio_demux_init(&d);
	stdio_demux_feed(&d, (const uint8_t *)in, sizeof(in) - 1, sink, &o);
	assert_string_equal(o.text, "1:out|2:err|1:more|");
	/* the same bytes one at a time: the same streams */
	struct out b = { 0 };
	stdio_demux_init(&d);
	feed_bytewise(&d, in, sizeof(in) - 1, &b);
	assert_string_equal(b.text, "1:o|1:u|1:t|2:e|2:r|2:r|1:m|1:o|1:r|1:e|");
}

static void test_escaped_esc_is_data(void **state)
{
	(void)state;
	static const char in[] = "a\xff\xff" "b";
	struct stdio_demux d;
	struct out o = { 0 };
	stdio_demux_init(&d);
	stdio_demux_feed(&d, (const uint8_t *)in, 2, sink, &o); /* "a" and a lone ESC */
	stdio_demux_feed(&d, (const uint8_t *)in + 2, 2, sink, &o);
	assert_string_equal(o.text, "1:a|1:\xff" "b|");
}

static void test_control_bytes(void **state)
{
	(void)state;
	static const char in[] = "x\xff\x03\xff\x04\xff\x04\xff\x7fy";
	struct stdio_demux d;
	struct out o = { 0 };
	stdio_demux_init(&d);
	assert_false(d.ready);
	stdio_demux_feed(&d, (const uint8_t *)in, sizeof(in) - 1, sink, &o);
	assert_true(d.ready);
	assert_int_equal(d.credits, 2);
	/* an unknown escape is dropped with its ESC */
	assert_string_equal(o.text, "1:x|1:y|");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_doubles_esc_only),
		cmocka_unit_test(test_streams_switch),
		cmocka_unit_test(test_escaped_esc_is_data),
		cmocka_unit_test(test_control_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
