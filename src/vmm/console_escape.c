#include "vmm/console_escape.h"

int console_escape_filter_key(struct console_escape *st, const uint8_t *in, size_t n,
			      uint8_t *out, size_t *out_len)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = in[i];
		if (st->pending) {
			st->pending = false;
			if (c == 'x' || c == 'X') {
				*out_len = o;
				return 'x';
			}
			if (st->detach_key && (c == 'd' || c == 'D')) {
				*out_len = o;
				return 'd';
			}
			out[o++] = CONSOLE_ESCAPE_CHAR;
			if (c == CONSOLE_ESCAPE_CHAR)
				continue;
			out[o++] = c;
		} else if (c == CONSOLE_ESCAPE_CHAR) {
			st->pending = true;
		} else {
			out[o++] = c;
		}
	}
	*out_len = o;
	return 0;
}

bool console_escape_filter(struct console_escape *st, const uint8_t *in, size_t n,
			   uint8_t *out, size_t *out_len)
{
	return console_escape_filter_key(st, in, n, out, out_len) == 'x';
}
