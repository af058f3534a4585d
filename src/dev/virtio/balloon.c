/* virtio-balloon (virtio 1.1, section 5.5): memory a guest gives back.
 * `nestvm run --device balloon`, and every VM with dynamic memory. Queues,
 * numbered as Linux's driver numbers them: one for each negotiated role in
 * this order (virtio-mmio skips a role the features leave out):
 *   inflate    arrays of 32-bit page frame numbers (4 KiB pages) the
 *              guest gave up: their host memory is released once the
 *              balloon holds a whole 2 MiB block of them (balloon_blocks.h:
 *              single pages would split the host's huge pages);
 *   deflate    pages the guest takes back: nothing to do but note it, the
 *              next touch brings the page in;
 *   stats      (VIRTIO_BALLOON_F_STATS_VQ) the guest's memory statistics:
 *              the driver's one buffer is kept here and handed back when
 *              the host wants fresh figures (virtio_balloon_request_stats),
 *              and the driver returns it refilled;
 *   reporting  free page reporting (VIRTIO_BALLOON_F_REPORTING): ranges of
 *              the guest's free memory, released the same way, so memory
 *              a guest frees leaves the host within seconds.
 * Releasing is madvise(MADV_DONTNEED) on the host mapping; KVM's MMU
 * notifier drops the guest's mapping with it. Everything the guest gives is
 * checked: a frame or range outside its RAM, or not on a page, is skipped
 * and counted, never trusted; statistics are figures the guest claims, for
 * a policy to weigh, never sizes used to index anything. Config: num_pages,
 * the host's target (0: keep everything), and actual, what the driver says
 * it holds. Requests are served on the vCPU thread that kicks the queue. */
#include "dev/virtio/balloon.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/device_snapshot.h"
#include "dev/virtio/balloon_blocks.h"
#include "util/le.h"

#define VIRTIO_ID_BALLOON 5
#define VIRTIO_BALLOON_F_STATS_VQ 1
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM 2
#define VIRTIO_BALLOON_F_REPORTING 5
#define BALLOON_PAGE 4096u
#define STAT_RECORD 10 /* le16 tag, le64 value (the struct is packed) */

enum queue_role { Q_INFLATE, Q_DEFLATE, Q_STATS, Q_REPORTING, Q_NONE };

struct virtio_balloon {
	struct virtio_mmio *t;
	const struct guest_mem *mem;
	uint32_t num_pages; /* the target: pages the guest should give */
	uint32_t actual;    /* pages the driver says it gave */
	struct virtio_balloon_counters counters;
	struct virtio_balloon_stats stats;
	bool stats_held;     /* the driver's stats buffer is ours to return */
	uint16_t stats_head; /* its chain's head */
	struct virtq_chain chain; /* the request being served (under the lock) */
	struct balloon_blocks blocks; /* the pages inflated, by 2 MiB block */
};

/* Releases [host, host+len) rounded inward to whole pages; the bytes it
 * released. */
static uint64_t release(uint8_t *host, uint64_t len)
{
	uintptr_t start = ((uintptr_t)host + BALLOON_PAGE - 1) & ~(uintptr_t)(BALLOON_PAGE - 1);
	uintptr_t end = ((uintptr_t)host + len) & ~(uintptr_t)(BALLOON_PAGE - 1);
	if (end <= start || madvise((void *)start, end - start, MADV_DONTNEED) < 0)
		return 0;
	return end - start;
}

/* Each frame of the chain's array as a host page, or NULL (counted as
 * refused) when it is not the guest's RAM. */
static uint8_t *frame_at(struct virtio_balloon *b, const struct virtq_chain *c, uint64_t off)
{
	uint8_t raw[4];
	if (virtq_chain_read(c, off, raw, 4) != 4)
		return NULL;
	uint64_t gpa = (uint64_t)le_get32(raw) * BALLOON_PAGE;
	uint8_t *host = guest_mem_ptr(b->mem, gpa, BALLOON_PAGE);
	if (!host)
		b->counters.refused++;
	return host;
}

static void inflate(struct virtio_balloon *b, const struct virtq_chain *c)
{
	for (uint64_t off = 0; off + 4 <= c->readable_len; off += 4) {
		uint8_t *host = frame_at(b, c, off);
		if (!host)
			continue;
		b->counters.inflated_pages++;
		uint64_t block, len;
		if (balloon_blocks_hold(&b->blocks, (uint64_t)(host - b->mem->mapping), &block, &len))
			b->counters.released_bytes += release(b->mem->mapping + block, len);
	}
}

static void deflate(struct virtio_balloon *b, const struct virtq_chain *c)
{
	for (uint64_t off = 0; off + 4 <= c->readable_len; off += 4) {
		uint8_t *host = frame_at(b, c, off);
		if (!host)
			continue;
		b->counters.deflated_pages++;
		balloon_blocks_give_back(&b->blocks, (uint64_t)(host - b->mem->mapping));
	}
}

/* Each device-writable buffer is one free range: the transport has checked
 * it lies in guest RAM; it must also be whole pages. */
static void report(struct virtio_balloon *b, const struct virtq_chain *c)
{
	for (uint16_t i = c->nreadable; i < c->nbufs; i++) {
		const struct virtq_buf *buf = &c->bufs[i];
		uintptr_t at = (uintptr_t)buf->host;
		if (at % BALLOON_PAGE || buf->len % BALLOON_PAGE) {
			b->counters.refused++;
			continue;
		}
		b->counters.released_bytes += release(buf->host, buf->len);
		b->counters.reported_bytes += buf->len;
	}
}

/* Queue qidx's role under the negotiated features. */
static enum queue_role role_of(uint64_t features, uint16_t qidx)
{
	enum queue_role roles[4];
	unsigned n = 0;
	roles[n++] = Q_INFLATE;
	roles[n++] = Q_DEFLATE;
	if (features & (1ull << VIRTIO_BALLOON_F_STATS_VQ))
		roles[n++] = Q_STATS;
	if (features & (1ull << VIRTIO_BALLOON_F_REPORTING))
		roles[n++] = Q_REPORTING;
	return qidx < n ? roles[qidx] : Q_NONE;
}

/* The stats buffer: tag/value records; unknown tags are skipped (newer
 * drivers add some), a partial record ends it. */
static void take_stats(struct virtio_balloon *b, const struct virtq_chain *c)
{
	struct virtio_balloon_stats st = { .updates = b->stats.updates + 1, .actual_pages = b->actual };
	for (uint64_t off = 0; off + STAT_RECORD <= c->readable_len; off += STAT_RECORD) {
		uint8_t raw[STAT_RECORD];
		if (virtq_chain_read(c, off, raw, STAT_RECORD) != STAT_RECORD)
			break;
		uint16_t tag = le_get16(raw);
		if (tag < VIRTIO_BALLOON_STAT_COUNT) {
			st.value[tag] = le_get64(raw + 2);
			st.present |= 1u << tag;
		}
	}
	b->stats = st;
}

static void return_stats_buffer(struct virtio_balloon *b, struct virtq *q, uint16_t qidx)
{
	if (!b->stats_held)
		return;
	b->stats_held = false;
	if (virtq_push(q, b->stats_head, 0) == 0)
		virtio_mmio_notify_used(b->t, qidx);
}

static void balloon_queue_notify(void *dev, struct virtio_mmio *t, uint16_t qidx)
{
	struct virtio_balloon *b = dev;
	struct virtq *q = virtio_mmio_queue(t, qidx);
	if (!q)
		return;
	enum queue_role role = role_of(virtio_mmio_driver_features(t), qidx);
	/* A ring's worth per kick at most (see rng.c: a ring a guest made to
	 * overlap itself could keep this vCPU here). */
	for (unsigned n = 0; n < q->size && virtq_pop(q, &b->chain) == 1; n++) {
		if (role == Q_STATS) {
			/* Kept until the host asks again; a second buffer while
			 * one is held sends the older back. */
			return_stats_buffer(b, q, qidx);
			take_stats(b, &b->chain);
			b->stats_held = true;
			b->stats_head = b->chain.head;
			continue;
		}
		if (role == Q_INFLATE)
			inflate(b, &b->chain);
		else if (role == Q_DEFLATE)
			deflate(b, &b->chain);
		else if (role == Q_REPORTING)
			report(b, &b->chain);
		else
			b->counters.refused++; /* a queue this driver did not negotiate */
		if (virtq_push(q, b->chain.head, 0) < 0)
			break;
	}
	virtio_mmio_notify_used(t, qidx);
}

static uint64_t balloon_features(void *dev)
{
	(void)dev;
	return (1ull << VIRTIO_BALLOON_F_STATS_VQ) | (1ull << VIRTIO_BALLOON_F_DEFLATE_ON_OOM) |
	       (1ull << VIRTIO_BALLOON_F_REPORTING);
}

/* struct virtio_balloon_config: num_pages, actual (le32 each), then the
 * free page hint's command id and the poison value, unused here (zero). */
static void balloon_config_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
	struct virtio_balloon *b = dev;
	uint8_t cfg[16] = { 0 };
	le_put32(cfg, b->num_pages);
	le_put32(cfg + 4, b->actual);
	if (off < sizeof(cfg))
		memcpy(data, cfg + off, len < sizeof(cfg) - off ? len : sizeof(cfg) - off);
}

static void balloon_config_write(void *dev, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct virtio_balloon *b = dev;
	if (off == 4 && len == 4) /* actual: the driver's only field */
		b->actual = le_get32(data);
}

static void balloon_reset(void *dev)
{
	struct virtio_balloon *b = dev;
	b->actual = 0;
	balloon_blocks_clear(&b->blocks);
	b->stats_held = false;
	b->stats = (struct virtio_balloon_stats){ 0 };
}

static const struct virtio_device_ops balloon_virtio_ops = {
	.device_id = VIRTIO_ID_BALLOON,
	.num_queues = 4,
	.features = balloon_features,
	.config_read = balloon_config_read,
	.config_write = balloon_config_write,
	.queue_notify = balloon_queue_notify,
	.reset = balloon_reset,
};

void virtio_balloon_set_target(struct virtio_balloon *b, uint64_t bytes)
{
	virtio_mmio_lock(b->t);
	uint64_t pages = bytes / BALLOON_PAGE;
	b->num_pages = pages > UINT32_MAX ? UINT32_MAX : (uint32_t)pages;
	virtio_mmio_config_changed(b->t);
	virtio_mmio_unlock(b->t);
}

void virtio_balloon_request_stats(struct virtio_balloon *b)
{
	virtio_mmio_lock(b->t);
	uint64_t f = virtio_mmio_driver_features(b->t);
	for (uint16_t i = 0; i < 4; i++)
		if (role_of(f, i) == Q_STATS) {
			struct virtq *q = virtio_mmio_queue(b->t, i);
			if (q)
				return_stats_buffer(b, q, i);
		}
	virtio_mmio_unlock(b->t);
}

void virtio_balloon_stats(struct virtio_balloon *b, struct virtio_balloon_stats *out)
{
	virtio_mmio_lock(b->t);
	*out = b->stats;
	out->deflate_on_oom = virtio_mmio_driver_features(b->t) & (1ull << VIRTIO_BALLOON_F_DEFLATE_ON_OOM);
	virtio_mmio_unlock(b->t);
}

void virtio_balloon_counters(struct virtio_balloon *b, struct virtio_balloon_counters *out)
{
	virtio_mmio_lock(b->t);
	*out = b->counters;
	out->actual_pages = b->actual;
	out->target_pages = b->num_pages;
	virtio_mmio_unlock(b->t);
}

struct virtio_balloon *virtio_balloon_new(const struct guest_mem *mem, struct irq_line irq)
{
	struct virtio_balloon *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->mem = mem;
	if (balloon_blocks_init(&b->blocks, mem->ram_size) < 0) {
		free(b);
		return NULL;
	}
	b->t = virtio_mmio_new(mem, irq, &balloon_virtio_ops, b);
	if (!b->t) {
		balloon_blocks_free(&b->blocks);
		free(b);
		return NULL;
	}
	return b;
}

struct virtio_mmio *virtio_balloon_transport(struct virtio_balloon *b)
{
	return b->t;
}

void virtio_balloon_free(struct virtio_balloon *b)
{
	if (!b)
		return;
	virtio_mmio_free(b->t);
	balloon_blocks_free(&b->blocks);
	free(b);
}

static void balloon_destroy(void *dev)
{
	virtio_balloon_free(dev);
}

static void *balloon_create(const struct guest_mem *mem, struct irq_line irq, const void *spec,
			    struct nv_err *err)
{
	(void)spec;
	struct virtio_balloon *b = virtio_balloon_new(mem, irq);
	if (!b)
		nv_err_host(err, "out of memory for virtio-balloon");
	return b;
}

static struct virtio_mmio *balloon_transport(void *dev)
{
	return virtio_balloon_transport(dev);
}

/* The target, the driver's count and the stats buffer the device holds
 * (the driver waits for it: a restore that lost it would never see stats
 * again); released pages need no state (they come back zeroed, as a
 * restored guest's untouched pages do). Version 2 added the stats queue. */
static int balloon_snapshot(void *dev, struct device_snapshot *s, struct nv_err *err)
{
	(void)err;
	struct virtio_balloon *b = dev;
	snapshot_check(s, snapshot_version(s, 2) == 2, "version (a balloon without its stats queue)");
	virtio_mmio_lock(b->t);
	uint32_t num_pages = b->num_pages, actual = b->actual;
	bool stats_held = b->stats_held;
	uint16_t stats_head = b->stats_head;
	SNAPSHOT_U32(s, num_pages);
	SNAPSHOT_U32(s, actual);
	SNAPSHOT_BOOL(s, stats_held);
	SNAPSHOT_U16(s, stats_head);
	virtio_mmio_snapshot(b->t, s);
	/* The held head must be one of the stats ring's descriptors. */
	uint64_t f = virtio_mmio_driver_features(b->t);
	for (uint16_t i = 0; i < 4 && stats_held; i++)
		if (role_of(f, i) == Q_STATS) {
			struct virtq *q = virtio_mmio_queue(b->t, i);
			snapshot_check(s, q && stats_head < q->size, "stats_head");
		}
	if (s->dir == SNAPSHOT_RESTORE && !s->failed) {
		b->num_pages = num_pages;
		b->actual = actual;
		b->stats_held = stats_held;
		b->stats_head = stats_head;
	}
	virtio_mmio_unlock(b->t);
	return snapshot_done(s) ? 0 : -1;
}

static const struct device_ops balloon_device_ops = {
	.kind = "virtio-balloon",
	.snapshot = balloon_snapshot,
	.destroy = balloon_destroy,
};

const struct virtio_device_type virtio_balloon_type = {
	.name = "balloon",
	.ops = &balloon_device_ops,
	.create = balloon_create,
	.transport = balloon_transport,
};
