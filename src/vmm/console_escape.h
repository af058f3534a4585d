/* The console's escape key: Ctrl-A then x quits, Ctrl-A Ctrl-A sends one
 * Ctrl-A to the guest, Ctrl-A followed by anything else sends both. A pure
 * byte filter so that it can be tested without a terminal. */
#ifndef NESTVM_VMM_CONSOLE_ESCAPE_H
#define NESTVM_VMM_CONSOLE_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONSOLE_ESCAPE_CHAR 0x01 /* Ctrl-A */

struct console_escape {
	bool pending; /* the previous byte was the escape character */
};

/* Filters in[0..n) into out (room for 2*n bytes). Returns true when the
 * user asked to quit; *out_len bytes before that point are still to send. */
bool console_escape_filter(struct console_escape *st, const uint8_t *in, size_t n,
			   uint8_t *out, size_t *out_len);

#endif
