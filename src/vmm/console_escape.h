/* The console's escape key: Ctrl-A then x quits, Ctrl-A Ctrl-A sends one
 * Ctrl-A to the guest, Ctrl-A followed by anything else sends both. With
 * detach_key set (`nestvm vm console`), Ctrl-A d is recognised as well. A
 * pure byte filter so that it can be tested without a terminal. */
#ifndef NESTVM_VMM_CONSOLE_ESCAPE_H
#define NESTVM_VMM_CONSOLE_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONSOLE_ESCAPE_CHAR 0x01 /* Ctrl-A */

struct console_escape {
	bool pending;    /* the previous byte was the escape character */
	bool detach_key; /* also recognise Ctrl-A d */
};

/* Filters in[0..n) into out (room for 2*n bytes). Returns the command key
 * the user typed after Ctrl-A ('x', or 'd' with detach_key; lower case), or
 * 0; *out_len bytes before that point are still to send, and the bytes after
 * it are dropped. */
int console_escape_filter_key(struct console_escape *st, const uint8_t *in, size_t n,
			      uint8_t *out, size_t *out_len);

/* The same, true when the user asked to quit (Ctrl-A x). */
bool console_escape_filter(struct console_escape *st, const uint8_t *in, size_t n,
			   uint8_t *out, size_t *out_len);

#endif
