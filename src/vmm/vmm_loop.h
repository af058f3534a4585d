/* The I/O loop of a VMM process, shared by `nestvm run` (runner) and a
 * named VM's VMM (vm_process): one evloop that owns what both need.
 * - SIGINT, SIGTERM, SIGHUP, SIGQUIT: blocked when the loop opens, so open
 *   it before machine_start (vCPU threads inherit the mask); each one is
 *   handed to on_signal, then the loop stops unless on_signal says to go
 *   on (a container's VM turns SIGTERM into its power button).
 * - The VM's end (machine_end_fd): stops the loop.
 * - Console input the UART has no room for yet (its FIFO is bounded): kept
 *   here and retried every 10 ms; while some waits, the input gate is
 *   closed and callers read no more input.
 * Callers add their own fds on l->ev. */
#ifndef NESTVM_VMM_VMM_LOOP_H
#define NESTVM_VMM_VMM_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/evloop.h"
#include "util/err.h"

#define VMM_LOOP_INPUT_MAX 8192 /* console input held for the UART */
#define VMM_LOOP_RETRY_MS 10

struct vmm_loop_ops {
	/* Gives console input to the guest; returns how much it took. */
	size_t (*console_input)(void *opaque, const uint8_t *p, size_t n);
	/* A stop signal came in: true ends the loop. */
	bool (*on_signal)(void *opaque, int signo);
	/* A signal for the guest's container (util/signal_forward.h) came
	 * with its number. NULL: SIGNAL_FORWARD is not watched. */
	void (*on_forward)(void *opaque, int signo);
	/* Console input is wanted again (true) or must wait (false). May be NULL. */
	void (*input_gate)(void *opaque, bool open);
	void *opaque;
};

struct vmm_loop {
	struct evloop *ev;
	struct vmm_loop_ops ops;
	evloop_id retry;
	bool waiting; /* input is held: the gate is closed, the retry timer runs */
	uint8_t input[VMM_LOOP_INPUT_MAX];
	size_t input_len;
};

int vmm_loop_open(struct vmm_loop *l, int end_fd, const struct vmm_loop_ops *ops,
		  struct nv_err *err);
/* Also unblocks the signals. Fine on a loop that never opened (zeroed). */
void vmm_loop_close(struct vmm_loop *l);

/* Runs until the VM ends or a stop signal came; -1 with err when waiting
 * failed. */
int vmm_loop_run(struct vmm_loop *l, struct nv_err *err);

/* How much console input fits now (0 while the gate is closed and the held
 * input fills the buffer). */
size_t vmm_loop_input_room(const struct vmm_loop *l);
/* Console input for the guest; what does not fit the room is dropped. */
void vmm_loop_input(struct vmm_loop *l, const uint8_t *p, size_t n);

#endif
