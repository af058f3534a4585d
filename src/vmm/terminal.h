/* Raw mode for an interactive console on a terminal, restored on exit. */
#ifndef NESTVM_VMM_TERMINAL_H
#define NESTVM_VMM_TERMINAL_H

#include <stdbool.h>
#include <termios.h>

struct terminal {
	int fd;
	bool raw;
	struct termios saved;
};

/* Input goes raw (every key to the guest, Ctrl-C included); output
 * processing stays, so a guest that sends bare newlines still looks right. */
int terminal_enter_raw(struct terminal *t, int fd);
void terminal_restore(struct terminal *t);

#endif
