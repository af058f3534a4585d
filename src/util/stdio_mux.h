/* A container's stdin, stdout and stderr over one serial line. A serial
 * console is a terminal in the guest: it echoes, has no end of input and
 * one output. Without a terminal (no -t), the guest's relay
 * (guest/tools/nestvm-container.c) puts it in raw mode and both ends speak
 * this escaped byte stream, so that bytes go through untouched, stdin can
 * end, and stdout and stderr stay apart.
 *
 * Wire format (the relay keeps its own copy of these constants):
 *   ESC ESC    a data byte 0xff, both ways
 *   ESC EOF    host to guest: the end of stdin
 *   ESC OUT    guest to host: the bytes that follow are stdout (the default)
 *   ESC ERR    guest to host: the bytes that follow are stderr
 *   ESC READY  guest to host: the relay is in raw mode; the host sends
 *              no stdin before it (a terminal in cooked mode would echo
 *              it and take its control bytes)
 *   ESC SIGNAL N  host to guest: signal N (1..64) for the container's
 *              process (the engine's kill), in order with stdin
 *   ESC CREDIT guest to host: the host may send STDIO_MUX_CREDIT_BYTES
 *              more bytes (as on the wire, escapes included). The relay
 *              grants what it has taken off the console: a guest's UART
 *              fed faster than it reads spends its CPU in the interrupt
 *              handler and never reads (the tty's own throttling runs in
 *              a worker that gets no CPU then).
 * Any other byte after ESC is dropped with it. */
#ifndef NESTVM_UTIL_STDIO_MUX_H
#define NESTVM_UTIL_STDIO_MUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	STDIO_MUX_ESC = 0xff,
	STDIO_MUX_EOF = 0x00,
	STDIO_MUX_OUT = 0x01,
	STDIO_MUX_ERR = 0x02,
	STDIO_MUX_READY = 0x03,
	STDIO_MUX_CREDIT = 0x04,
	STDIO_MUX_SIGNAL = 0x05,
	STDIO_MUX_CREDIT_BYTES = 1024,
};

/* in's n bytes escaped into out, which has room for 2 * n; returns the
 * length written. */
size_t stdio_mux_escape(const uint8_t *in, size_t n, uint8_t *out);

/* The guest's output, split back into stdout (1) and stderr (2). */
struct stdio_demux {
	bool escaped; /* the last byte fed was a lone ESC */
	int stream;   /* 1 or 2 */
	bool ready;   /* ESC READY came */
	unsigned credits; /* ESC CREDITs since the caller last took them */
};
typedef void (*stdio_demux_sink)(void *opaque, int stream, const uint8_t *buf, size_t len);

void stdio_demux_init(struct stdio_demux *d);
/* Feeds n bytes (any split of the stream); sink gets the data runs in
 * order, each on its stream. */
void stdio_demux_feed(struct stdio_demux *d, const uint8_t *in, size_t n, stdio_demux_sink sink,
		      void *opaque);

#endif
