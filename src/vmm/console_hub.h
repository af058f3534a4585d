/* A named VM's console, shared: the guest's output goes to console.log, to
 * a replay ring and to every client attached on console.sock; any client's
 * input goes to the guest. A client that stops reading is dropped once its
 * buffer fills: it must never hold up the guest, whose UART output blocks
 * on the console pipe. The hub serves itself from an evloop
 * (console_hub_attach). */
#ifndef NESTVM_VMM_CONSOLE_HUB_H
#define NESTVM_VMM_CONSOLE_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/evloop.h"
#include "util/err.h"
#include "vmm/console_ring.h"

#define CONSOLE_HUB_MAX_CLIENTS 16
#define CONSOLE_CLIENT_BUF (256u * 1024) /* output a client may lag behind */

struct console_client {
	int fd;           /* -1: free slot */
	uint8_t *out;     /* CONSOLE_CLIENT_BUF bytes */
	size_t out_len;
	evloop_id id;       /* attached hubs: its entry, and what it watches */
	uint32_t interest;
};

/* Where clients' input goes: room() bytes fit now, put() takes them. */
struct console_hub_input {
	size_t (*room)(void *opaque);
	void (*put)(void *opaque, const uint8_t *p, size_t n);
	void *opaque;
};

struct console_hub {
	int listen_fd;
	struct console_ring ring;
	struct console_log log;
	struct console_client clients[CONSOLE_HUB_MAX_CLIENTS];
	unsigned dropped; /* clients dropped for not reading (for the log) */
	struct evloop *loop; /* NULL unless attached */
	evloop_id listen_id;
	struct console_hub_input in;
	bool want_input;
};

int console_hub_open(struct console_hub *h, const char *sock_path, const char *log_path,
		     struct nv_err *err);
void console_hub_close(struct console_hub *h);

/* The guest's output. */
void console_hub_output(struct console_hub *h, const uint8_t *p, size_t n);

/* Serves the hub from l until console_hub_close: accepts clients, writes
 * what they have queued, and gives their input to in while input is
 * wanted (from the start). Callbacks run on l's thread. */
int console_hub_attach(struct console_hub *h, struct evloop *l, const struct console_hub_input *in,
		       struct nv_err *err);
/* Attached hubs: whether clients' input is read now. */
void console_hub_want_input(struct console_hub *h, bool want);

/* How many clients are attached now. */
unsigned console_hub_clients(const struct console_hub *h);

/* Best effort, without blocking: what clients still have buffered. */
void console_hub_flush(struct console_hub *h);

#endif
