#include "vmm/memory_balancer.h"

#define LOW_TICKS_BEFORE_SHRINK 3
#define MIN_STEP_MIB 16

bool memory_guest_demand(const struct virtio_balloon_stats *st, uint64_t *demand_mib)
{
	uint64_t balloon_bytes = (uint64_t)st->actual_pages * 4096;
	const uint32_t need = (1u << VIRTIO_BALLOON_S_MEMTOT) | (1u << VIRTIO_BALLOON_S_AVAIL);
	if (st->updates == 0 || (st->present & need) != need)
		return false;
	uint64_t total = st->value[VIRTIO_BALLOON_S_MEMTOT], avail = st->value[VIRTIO_BALLOON_S_AVAIL];
	if (avail > total)
		return false;
	uint64_t used = total - avail;
	if (st->deflate_on_oom)
		used = used > balloon_bytes ? used - balloon_bytes : 0;
	*demand_mib = (used + (1u << 20) - 1) >> 20;
	return true;
}

bool memory_host_pressed(const struct memory_view *v, unsigned weight)
{
	if (v->host_total_mib == 0)
		return false;
	unsigned w = weight > 100 ? 100 : weight;
	uint64_t threshold_pct = 5 + (100 - w) / 10;
	return v->host_avail_mib * 100 < v->host_total_mib * threshold_pct;
}

static uint64_t clamp(uint64_t x, uint64_t lo, uint64_t hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

uint64_t memory_balancer_next(struct memory_balancer *b, const struct memory_policy *p,
			      const struct memory_view *v)
{
	uint64_t now = clamp(v->assigned_mib, p->min_mib, p->max_mib);
	if (!v->have_demand) {
		b->low_ticks = 0;
		return now;
	}
	bool pressed = memory_host_pressed(v, p->weight);
	unsigned buffer = pressed ? p->buffer_pct / 4 : p->buffer_pct;
	uint64_t want = v->demand_mib + v->demand_mib * buffer / 100;
	want = clamp(want, p->min_mib, p->max_mib);
	if (want >= now) {
		b->low_ticks = 0;
		return want;
	}
	if (!pressed && ++b->low_ticks < LOW_TICKS_BEFORE_SHRINK)
		return now;
	uint64_t step = now / (pressed ? 5 : 20);
	if (step < MIN_STEP_MIB)
		step = MIN_STEP_MIB;
	uint64_t next = now - want > step ? now - step : want;
	/* Never below what the guest uses, even when the minimum is lower. */
	uint64_t floor = v->demand_mib < p->max_mib ? v->demand_mib : p->max_mib;
	return next < floor ? floor : next;
}
