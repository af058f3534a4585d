#include "dev/virtio/virtq.h"

#include <endian.h>
#include <string.h>

#include "core/device_snapshot.h"

/* Ring layout (virtio 1.1, 2.7): offsets into the three areas. */
#define DESC_SIZE 16
#define AVAIL_IDX 2
#define AVAIL_RING 4
#define USED_IDX 2
#define USED_RING 4
#define USED_ELEM 8

/* One descriptor, copied out of guest memory exactly once so that a guest
 * rewriting it concurrently cannot change what we checked. */
struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* The ring indices are shared with vCPUs running the driver: acquire on the
 * driver's idx, release on ours, so ring entries and idx are seen in order.
 * Alignment of these fields is checked in virtq_enable(). */
static uint16_t ld16(const uint8_t *p, int order)
{
	return le16toh(__atomic_load_n((const uint16_t *)(const void *)p, order));
}

static void st16(uint8_t *p, uint16_t v, int order)
{
	__atomic_store_n((uint16_t *)(void *)p, htole16(v), order);
}

static void st32(uint8_t *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)(void *)p, htole32(v), __ATOMIC_RELAXED);
}

static void desc_read(const uint8_t *p, struct vdesc *d)
{
	uint8_t raw[DESC_SIZE];
	memcpy(raw, p, sizeof(raw));
	uint64_t a;
	uint32_t l;
	uint16_t f, n;
	memcpy(&a, raw, 8);
	memcpy(&l, raw + 8, 4);
	memcpy(&f, raw + 12, 2);
	memcpy(&n, raw + 14, 2);
	d->addr = le64toh(a);
	d->len = le32toh(l);
	d->flags = le16toh(f);
	d->next = le16toh(n);
}

void virtq_init(struct virtq *q, const struct guest_mem *mem)
{
	memset(q, 0, sizeof(*q));
	q->mem = mem;
	q->size = VIRTQ_MAX_SIZE;
}

void virtq_reset(struct virtq *q)
{
	virtq_init(q, q->mem);
}

static int enable_fail(struct virtq *q)
{
	q->ready = false;
	q->broken = true;
	return -1;
}

/* The checks a live queue's geometry must pass: size a power of two up to
 * VIRTQ_MAX_SIZE, aligned rings, all three inside RAM (avail and used both
 * end with an event index, 2 bytes). On success the host views are set and
 * NULL returns; else the name of the offending field, q unchanged. */
static const char *resolve_rings(struct virtq *q)
{
	uint32_t n = q->size;
	if (n == 0 || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
		return "size";
	if (q->desc_gpa % 16)
		return "desc_gpa";
	if (q->avail_gpa % 2)
		return "avail_gpa";
	if (q->used_gpa % 4)
		return "used_gpa";
	uint8_t *desc = guest_mem_ptr(q->mem, q->desc_gpa, (uint64_t)DESC_SIZE * n);
	uint8_t *avail = guest_mem_ptr(q->mem, q->avail_gpa, AVAIL_RING + 2ULL * n + 2);
	uint8_t *used = guest_mem_ptr(q->mem, q->used_gpa, USED_RING + (uint64_t)USED_ELEM * n + 2);
	if (!desc)
		return "desc_gpa";
	/* The atomics need natural alignment on the host side too. */
	if (!avail || (uintptr_t)avail % 2)
		return "avail_gpa";
	if (!used || (uintptr_t)used % 4)
		return "used_gpa";
	q->desc = desc;
	q->avail = avail;
	q->used = used;
	return NULL;
}

int virtq_enable(struct virtq *q, uint64_t features)
{
	if (resolve_rings(q))
		return enable_fail(q);
	q->indirect = features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	q->event_idx = features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	q->last_avail_idx = 0;
	q->used_idx = 0;
	q->signalled_used = 0;
	q->broken = false;
	q->ready = true;
	q->epoch++;
	return 0;
}

int virtq_snapshot(struct virtq *q, uint64_t features, struct device_snapshot *s)
{
	/* Restored into a copy, committed only once all of it checks out. */
	struct virtq v = *q;
	snapshot_u16(s, &v.size, "size");
	snapshot_u64(s, &v.desc_gpa, "desc_gpa");
	snapshot_u64(s, &v.avail_gpa, "avail_gpa");
	snapshot_u64(s, &v.used_gpa, "used_gpa");
	snapshot_bool(s, &v.ready, "ready");
	snapshot_bool(s, &v.broken, "broken");
	snapshot_bool(s, &v.indirect, "indirect");
	snapshot_bool(s, &v.event_idx, "event_idx");
	snapshot_u16(s, &v.last_avail_idx, "last_avail_idx");
	snapshot_u16(s, &v.used_idx, "used_idx");
	snapshot_u16(s, &v.signalled_used, "signalled_used");
	if (s->dir == SNAPSHOT_SAVE || s->failed)
		return s->failed ? -1 : 0;

	v.desc = v.avail = v.used = NULL;
	if (v.ready) {
		/* What virtq_enable would have checked, and its host views;
		 * the indices carry on where they were. */
		const char *bad = resolve_rings(&v);
		snapshot_check(s, bad == NULL, bad);
		bool ind = features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
		bool evt = features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
		snapshot_check(s, !v.indirect || ind, "indirect");
		snapshot_check(s, !v.event_idx || evt, "event_idx");
	} else {
		/* The QueueNum register holds 0..VIRTQ_MAX_SIZE; the indices
		 * of a queue that is not live are 0 (virtq_disable, reset). */
		snapshot_check(s, v.size <= VIRTQ_MAX_SIZE, "size");
		snapshot_check(s, v.last_avail_idx == 0, "last_avail_idx");
		snapshot_check(s, v.used_idx == 0, "used_idx");
		snapshot_check(s, v.signalled_used == 0, "signalled_used");
	}
	if (s->failed)
		return -1;
	*q = v;
	return 0;
}

void virtq_disable(struct virtq *q)
{
	q->ready = false;
	q->desc = q->avail = q->used = NULL;
	q->last_avail_idx = q->used_idx = q->signalled_used = 0;
}

void virtq_mark_broken(struct virtq *q)
{
	q->broken = true;
}

static int pop_fail(struct virtq *q)
{
	q->broken = true;
	return -1;
}

/* Append one descriptor's buffer to the chain. *count limits the total number
 * of descriptors (zero-length ones included) so no chain is unbounded. */
static int chain_add(const struct virtq *q, struct virtq_chain *c, const struct vdesc *d,
		     unsigned *count)
{
	if (++*count > VIRTQ_MAX_CHAIN)
		return -1;
	bool w = d->flags & VIRTQ_DESC_F_WRITE;
	/* Nothing is ever accessed through an empty buffer: skip it, whatever
	 * its address or position. */
	if (d->len == 0)
		return 0;
	if (!w && c->nbufs > c->nreadable)
		return -1; /* readable after writable */
	uint8_t *p = guest_mem_ptr(q->mem, d->addr, d->len);
	if (!p)
		return -1; /* outside RAM or wrapping */
	c->bufs[c->nbufs++] = (struct virtq_buf){ .host = p, .len = d->len, .writable = w };
	if (w) {
		/* Written later, by this device: a migration must send it. */
		guest_mem_mark_written(q->mem, p, d->len);
		c->writable_len += d->len;
	} else {
		c->readable_len += d->len;
		c->nreadable++;
	}
	return 0;
}

static int walk_indirect(const struct virtq *q, struct virtq_chain *c, const struct vdesc *ind,
			 unsigned *count)
{
	if (ind->len == 0 || ind->len % DESC_SIZE || ind->len / DESC_SIZE > VIRTQ_MAX_CHAIN)
		return -1;
	const uint8_t *tbl = guest_mem_ptr(q->mem, ind->addr, ind->len);
	if (!tbl)
		return -1;
	unsigned n = ind->len / DESC_SIZE;
	unsigned i = 0;
	for (unsigned steps = 0;; steps++) {
		if (steps >= n)
			return -1; /* loop inside the table */
		struct vdesc d;
		desc_read(tbl + (size_t)i * DESC_SIZE, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return -1; /* nested indirect is forbidden */
		if (chain_add(q, c, &d, count) < 0)
			return -1;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= n)
			return -1;
		i = d.next;
	}
}

static int walk_chain(const struct virtq *q, uint16_t head, struct virtq_chain *c)
{
	c->head = head;
	c->nbufs = 0;
	c->nreadable = 0;
	c->readable_len = 0;
	c->writable_len = 0;
	unsigned count = 0;
	unsigned idx = head;
	for (unsigned steps = 0;; steps++) {
		/* More steps than descriptors in the table means a loop. */
		if (steps >= q->size)
			return -1;
		struct vdesc d;
		desc_read(q->desc + (size_t)idx * DESC_SIZE, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			/* An indirect descriptor ends the direct chain. */
			if (!q->indirect || (d.flags & VIRTQ_DESC_F_NEXT))
				return -1;
			return walk_indirect(q, c, &d, &count);
		}
		if (chain_add(q, c, &d, &count) < 0)
			return -1;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= q->size)
			return -1;
		idx = d.next;
	}
}

static uint8_t *avail_event(const struct virtq *q)
{
	return q->used + USED_RING + (size_t)USED_ELEM * q->size;
}

int virtq_pop(struct virtq *q, struct virtq_chain *c)
{
	if (q->broken)
		return -1;
	if (!q->ready)
		return 0;
	uint16_t avail_idx = ld16(q->avail + AVAIL_IDX, __ATOMIC_ACQUIRE);
	if (q->event_idx) /* written below: a migration must send it */
		guest_mem_mark_written(q->mem, avail_event(q), 2);
	if (avail_idx == q->last_avail_idx && q->event_idx) {
		/* Ask for a kick at the next entry, then look again: the driver
		 * may have published one before it could see our request. */
		st16(avail_event(q), q->last_avail_idx, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		avail_idx = ld16(q->avail + AVAIL_IDX, __ATOMIC_ACQUIRE);
	}
	uint16_t pending = (uint16_t)(avail_idx - q->last_avail_idx);
	if (pending == 0)
		return 0;
	if (pending > q->size)
		return pop_fail(q);
	unsigned slot = q->last_avail_idx & (q->size - 1);
	uint16_t head = ld16(q->avail + AVAIL_RING + 2 * slot, __ATOMIC_RELAXED);
	if (head >= q->size)
		return pop_fail(q);
	if (walk_chain(q, head, c) < 0)
		return pop_fail(q);
	q->last_avail_idx++;
	if (q->event_idx)
		st16(avail_event(q), q->last_avail_idx, __ATOMIC_RELEASE);
	return 1;
}

/* The used ring, its avail-event index included, is written by this
 * device: marked for a migration. */
static void mark_used(const struct virtq *q)
{
	guest_mem_mark_written(q->mem, q->used, USED_RING + (uint64_t)USED_ELEM * q->size + 2);
}

int virtq_push(struct virtq *q, uint16_t head, uint32_t written)
{
	if (!q->ready || q->broken || head >= q->size)
		return -1;
	uint8_t *e = q->used + USED_RING + (size_t)USED_ELEM * (q->used_idx & (q->size - 1));
	mark_used(q);
	st32(e, head);
	st32(e + 4, written);
	q->used_idx++;
	/* Release: the element must be visible before the index. */
	st16(q->used + USED_IDX, q->used_idx, __ATOMIC_RELEASE);
	return 0;
}

void virtq_unpop(struct virtq *q, uint16_t n)
{
	q->last_avail_idx = (uint16_t)(q->last_avail_idx - n);
}

int virtq_push_batch(struct virtq *q, const uint16_t *heads, const uint32_t *written,
		     unsigned n)
{
	if (!q->ready || q->broken || n > q->size)
		return -1;
	for (unsigned i = 0; i < n; i++)
		if (heads[i] >= q->size)
			return -1;
	mark_used(q);
	for (unsigned i = 0; i < n; i++) {
		uint16_t slot = (uint16_t)(q->used_idx + i) & (q->size - 1);
		uint8_t *e = q->used + USED_RING + (size_t)USED_ELEM * slot;
		st32(e, heads[i]);
		st32(e + 4, written[i]);
	}
	q->used_idx = (uint16_t)(q->used_idx + n);
	st16(q->used + USED_IDX, q->used_idx, __ATOMIC_RELEASE);
	return 0;
}

bool virtq_should_notify(struct virtq *q)
{
	if (!q->ready)
		return false;
	/* Our used->idx store must be globally visible before we read the
	 * driver's suppression state, or both sides may skip the wakeup. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	uint16_t old = q->signalled_used;
	uint16_t now = q->used_idx;
	q->signalled_used = now;
	if (old == now)
		return false;
	if (!q->event_idx)
		return !(ld16(q->avail, __ATOMIC_RELAXED) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	uint16_t used_event = ld16(q->avail + AVAIL_RING + 2 * (size_t)q->size, __ATOMIC_RELAXED);
	/* Interrupt iff used_event lies in [old, now), modulo 2^16. */
	return (uint16_t)(now - used_event - 1) < (uint16_t)(now - old);
}

/* Walk [off, off+len) of the readable or writable stream; fn sees each piece. */
static size_t chain_span(const struct virtq_chain *c, bool writable, uint64_t off, size_t len,
			 void (*fn)(void *ctx, uint8_t *host, size_t n, size_t done), void *ctx)
{
	unsigned first = writable ? c->nreadable : 0;
	unsigned last = writable ? c->nbufs : c->nreadable;
	size_t done = 0;
	for (unsigned i = first; i < last && done < len; i++) {
		const struct virtq_buf *b = &c->bufs[i];
		if (off >= b->len) {
			off -= b->len;
			continue;
		}
		size_t take = b->len - off;
		if (take > len - done)
			take = len - done;
		fn(ctx, b->host + off, take, done);
		done += take;
		off = 0;
	}
	return done;
}

static void copy_out(void *ctx, uint8_t *host, size_t n, size_t done)
{
	memcpy((uint8_t *)ctx + done, host, n);
}

static void copy_in(void *ctx, uint8_t *host, size_t n, size_t done)
{
	memcpy(host, (const uint8_t *)ctx + done, n);
}

size_t virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *dst, size_t len)
{
	return chain_span(c, false, off, len, copy_out, dst);
}

size_t virtq_chain_write(const struct virtq_chain *c, uint64_t off, const void *src, size_t len)
{
	return chain_span(c, true, off, len, copy_in, (void *)(uintptr_t)src);
}

int virtq_chain_iov(const struct virtq_chain *c, bool writable, uint64_t off, uint64_t len,
		    struct iovec *iov, int max)
{
	uint64_t total = writable ? c->writable_len : c->readable_len;
	if (off > total || len > total - off)
		return -1;
	unsigned first = writable ? c->nreadable : 0;
	unsigned last = writable ? c->nbufs : c->nreadable;
	int n = 0;
	for (unsigned i = first; i < last && len > 0; i++) {
		const struct virtq_buf *b = &c->bufs[i];
		if (off >= b->len) {
			off -= b->len;
			continue;
		}
		uint64_t take = b->len - off;
		if (take > len)
			take = len;
		if (n >= max)
			return -1;
		iov[n++] = (struct iovec){ .iov_base = b->host + off, .iov_len = take };
		len -= take;
		off = 0;
	}
	return n;
}
