/* The VMM's way to start a switch's daemon once it runs confined (a VMM
 * starts no process, and never forks with guest memory mapped): a small
 * process forked while the VMM is still being set up, before guest memory
 * exists, holding nothing but a socket to the VMM. When an adapter finds
 * its switch gone, it asks the starter to start the switch's daemon again,
 * then reconnects itself. The starter ends when the VMM does (its socket
 * closes). */
#ifndef NESTVM_VMM_SWITCH_STARTER_H
#define NESTVM_VMM_SWITCH_STARTER_H

#include <pthread.h>
#include <sys/types.h>

#include "util/err.h"

struct switch_starter {
	pid_t pid; /* 0: not started */
	int fd;
	pthread_mutex_t lock; /* one question and its answer at a time */
};

/* Forks the starter. 0, or -1 with err. */
int switch_starter_open(struct switch_starter *s, struct nv_err *err);
/* Asks it to have switch NAME's daemon running (switch_ensure_running).
 * 0, or -1 when it could not (the daemon did not start, or no starter). */
int switch_starter_ensure(struct switch_starter *s, const char *name);

#endif
