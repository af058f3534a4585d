#include "vmm/memory_balancer.h"

#define LOW_TICKS_BEFORE_SHRINK 3
#define MIN_STEP_MIB 16
#define LOOKAHEAD_MS 2000 /* growth ahead of a rising demand */
#define MIN_TIGHT_GROWTH_MIB 64

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

/* The rate demand rose at, from each new set of statistics to the next. */
static void track_rise(struct memory_balancer *b, const struct memory_view *v)
{
	if (b->have_prev && v->sample == b->prev_sample)
		return;
	if (b->have_prev && v->now_ms > b->prev_ms && v->demand_mib > b->prev_demand_mib)
		b->rise_mib_s = (v->demand_mib - b->prev_demand_mib) * 1000 / (v->now_ms - b->prev_ms);
	else
		b->rise_mib_s = 0;
	b->have_prev = true;
	b->prev_sample = v->sample;
	b->prev_demand_mib = v->demand_mib;
	b->prev_ms = v->now_ms;
}

bool memory_balancer_hurried(const struct memory_balancer *b)
{
	return b->rise_mib_s > 0;
}

uint64_t memory_balancer_next(struct memory_balancer *b, const struct memory_policy *p,
			      const struct memory_view *v)
{
	uint64_t now = clamp(v->assigned_mib, p->min_mib, p->max_mib);
	if (!v->have_demand) {
		b->low_ticks = 0;
		b->rise_mib_s = 0;
		return now;
	}
	track_rise(b, v);
	bool pressed = memory_host_pressed(v, p->weight);
	unsigned buffer = pressed ? p->buffer_pct / 4 : p->buffer_pct;
	uint64_t spare = v->demand_mib * buffer / 100;
	uint64_t want = v->demand_mib + spare + b->rise_mib_s * LOOKAHEAD_MS / 1000;
	/* Already inside half its buffer (statistics lag behind a filling
	 * guest): twice the buffer, so that it is not starved meanwhile. */
	uint64_t headroom = v->assigned_mib > v->demand_mib ? v->assigned_mib - v->demand_mib : 0;
	if (!pressed && headroom * 2 < spare)
		want += spare > MIN_TIGHT_GROWTH_MIB ? spare : MIN_TIGHT_GROWTH_MIB;
	want = clamp(want, p->min_mib, p->max_mib);
	if (want >= now) {
		b->low_ticks = 0;
		return want;
	}
	/* Not while demand rises (the guest fills what it has), unless the
	 * host is short. */
	if (!pressed && b->rise_mib_s > 0) {
		b->low_ticks = 0;
		return now;
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
