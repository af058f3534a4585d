/* Dynamic memory's policy (memory_balancer.c): from what the guest says it
 * uses, the memory a VM should be assigned next, one step per second (four
 * while its use rises). Pure: the VMM's loop feeds it the balloon's
 * statistics and the host's memory and applies the answer through the
 * balloon's target. */
#ifndef NESTVM_VMM_MEMORY_BALANCER_H
#define NESTVM_VMM_MEMORY_BALANCER_H

#include <stdbool.h>
#include <stdint.h>

#include "dev/virtio/balloon.h"

/* Hyper-V's settings (Set-VMMemory -MinimumBytes -MaximumBytes -Buffer
 * -Priority), in MiB and percent; weight 0..100. */
struct memory_policy {
	uint64_t min_mib, max_mib;
	unsigned buffer_pct;
	unsigned weight;
};

struct memory_view {
	uint64_t demand_mib;   /* what the guest uses; only with have_demand */
	bool have_demand;      /* its driver has sent statistics */
	uint64_t assigned_mib; /* what it may use now: RAM less the balloon's target */
	uint64_t host_total_mib, host_avail_mib; /* 0: unknown */
	uint64_t sample;       /* the statistics' serial: changes with each new set */
	uint64_t now_ms;       /* a monotonic clock; 0 everywhere: no rates */
};

struct memory_balancer {
	unsigned low_ticks;      /* steps in a row that demand asked for less */
	bool have_prev;          /* the last new statistics: */
	uint64_t prev_sample, prev_demand_mib, prev_ms;
	uint64_t rise_mib_s;     /* how fast demand rose between the last two */
};

/* The guest's use from its statistics: MemTotal less MemAvailable, less
 * the balloon's pages of that instant when MemTotal still counts them
 * (deflate-on-OOM); false when the figures are missing or do not add up. */
bool memory_guest_demand(const struct virtio_balloon_stats *st, uint64_t *demand_mib);

/* True when the host is short enough of memory that a VM of this weight
 * shrinks: the lighter the VM, the sooner (5 % of the host's memory
 * available for weight 100, 15 % for weight 0). */
bool memory_host_pressed(const struct memory_view *v, unsigned weight);

/* The memory to assign next, in [min, max]: demand plus the buffer, plus
 * what demand will add in the next two seconds at the rate it rose, plus
 * the buffer again when the guest is already inside half of it; up at
 * once, down only after demand stayed lower for a few steps and then in
 * steps; never below demand; under host pressure the buffer shrinks and the
 * steps grow. Without statistics, what is assigned now (clamped). */
uint64_t memory_balancer_next(struct memory_balancer *b, const struct memory_policy *p,
			      const struct memory_view *v);

/* True while demand rises: the loop then steps four times a second, since
 * a guest filling its memory outruns one step a second. */
bool memory_balancer_hurried(const struct memory_balancer *b);

#endif
