#include "util/stdio_mux.h"

size_t stdio_mux_escape(const uint8_t *in, size_t n, uint8_t *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (in[i] == STDIO_MUX_ESC)
			out[o++] = STDIO_MUX_ESC;
		out[o++] = in[i];
	}
	return o;
}

void stdio_demux_init(struct stdio_demux *d)
{
	d->escaped = false;
	d->stream = 1;
	d->ready = false;
	d->credits = 0;
}

void stdio_demux_feed(struct stdio_demux *d, const uint8_t *in, size_t n, stdio_demux_sink sink,
		      void *opaque)
{
	size_t run = 0; /* where the pending data run starts */
	for (size_t i = 0; i < n; i++) {
		if (d->escaped) {
			d->escaped = false;
			if (in[i] == STDIO_MUX_ESC) {
				run = i; /* the second ESC is the data byte */
				continue;
			}
			if (in[i] == STDIO_MUX_OUT)
				d->stream = 1;
			else if (in[i] == STDIO_MUX_ERR)
				d->stream = 2;
			else if (in[i] == STDIO_MUX_READY)
				d->ready = true;
			else if (in[i] == STDIO_MUX_CREDIT && d->credits < UINT32_MAX / STDIO_MUX_CREDIT_BYTES)
				d->credits++;
			run = i + 1;
			continue;
		}
		if (in[i] == STDIO_MUX_ESC) {
			if (i > run)
				sink(opaque, d->stream, in + run, i - run);
			d->escaped = true;
			run = i + 1;
		}
	}
	if (!d->escaped && n > run)
		sink(opaque, d->stream, in + run, n - run);
}
