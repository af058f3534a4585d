/* Dynamic memory on a VMM's loop (dynamic_memory.c): once a second (four
 * times while the guest's use rises) the
 * balancer's step (memory_balancer.h) from the guest's last statistics and
 * the host's memory, applied through the balloon's target, then a request
 * for fresh statistics. Both loops use it: `nestvm run`'s (runner.c) and a
 * named VM's (vm_process.c). */
#ifndef NESTVM_VMM_DYNAMIC_MEMORY_H
#define NESTVM_VMM_DYNAMIC_MEMORY_H

#include <stdbool.h>

#include "util/err.h"
#include "core/evloop.h"
#include "vmm/machine.h"
#include "vmm/memory_balancer.h"

struct dynamic_memory {
	struct machine *m;
	bool on;                  /* the machine has dynamic memory */
	struct memory_policy policy;
	struct memory_balancer balancer;
	unsigned nudge_ticks;     /* steps the balloon held less than its target */
	evloop_id timer;
	bool hurried;             /* the timer runs at the faster pace */
	int meminfo_fd;           /* the host's /proc/meminfo, opened before the filters */
};

/* Starts the balancer on l when the machine's settings ask for it (a no-op
 * otherwise). 0, or -1 with err. */
int dynamic_memory_start(struct dynamic_memory *d, struct machine *m, struct evloop *l, struct nv_err *err);
/* New bounds while it runs; an input error without dynamic memory or for a
 * maximum above the RAM it booted with. */
int dynamic_memory_set_policy(struct dynamic_memory *d, const struct memory_policy *p, struct nv_err *err);
void dynamic_memory_stop(struct dynamic_memory *d);

#endif
