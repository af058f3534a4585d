/* What a named VM's console keeps of its output: the last bytes in memory,
 * replayed to a client that attaches (so it sees the prompt it attached
 * to), and console.log on disk, capped so a chatty guest cannot fill the
 * disk. Pure pieces, tested without a VM. */
#ifndef NESTVM_VMM_CONSOLE_RING_H
#define NESTVM_VMM_CONSOLE_RING_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define CONSOLE_RING_SIZE (16u * 1024)

struct console_ring {
	uint8_t buf[CONSOLE_RING_SIZE];
	size_t head; /* where the next byte goes */
	size_t len;  /* bytes held, at most CONSOLE_RING_SIZE */
};

void console_ring_write(struct console_ring *r, const uint8_t *p, size_t n);
/* Copies what the ring holds, oldest first, into out (CONSOLE_RING_SIZE
 * bytes of room); returns how many. */
size_t console_ring_copy(const struct console_ring *r, uint8_t *out);

#define CONSOLE_LOG_MAX (1u << 20)   /* past this size ... */
#define CONSOLE_LOG_KEEP (512u << 10) /* ... only the last this many are kept */

struct console_log {
	int fd;
	uint64_t size;
	uint64_t max, keep; /* CONSOLE_LOG_MAX and _KEEP; tests use less */
};

/* Opens (creates, 0600) path and appends to what it holds. */
int console_log_open(struct console_log *l, const char *path, struct nv_err *err);
/* Appends; once the file passes max bytes, it is cut to its last keep
 * bytes. Write errors are dropped: the log must never stop the guest. */
void console_log_write(struct console_log *l, const uint8_t *p, size_t n);
void console_log_close(struct console_log *l);

#endif
