/* virtio-balloon (virtio 1.1, section 5.5): memory a guest gives back.
 * `nestvm run --device balloon`. Three queues, in the order Linux's driver
 * numbers them with the features offered here:
 *   0 inflate    arrays of 32-bit page frame numbers (4 KiB pages) the
 *                guest gave up: their host memory is released at once;
 *   1 deflate    pages the guest takes back: nothing to do, the next touch
 *                brings a zeroed page in;
 *   2 reporting  free page reporting (VIRTIO_BALLOON_F_REPORTING): ranges of
 *                the guest's free memory, released the same way, so memory
 *                a guest frees leaves the host within seconds.
 * Releasing is madvise(MADV_DONTNEED) on the host mapping; KVM's MMU
 * notifier drops the guest's mapping with it. Everything the guest gives is
 * checked: a frame or range outside its RAM, or not on a page, is skipped
 * and counted, never trusted. Config: num_pages, the host's target (0: keep
 * everything), and actual, what the driver says it holds. Requests are
 * served on the vCPU thread that kicks the queue. */
#include "dev/virtio/balloon.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/device_snapshot.h"
#include "util/le.h"

#define VIRTIO_ID_BALLOON 5
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM 2
#define VIRTIO_BALLOON_F_REPORTING 5
#define BALLOON_PAGE 4096u
#define Q_INFLATE 0
#define Q_DEFLATE 1
#define Q_REPORTING 2

struct virtio_balloon {
	struct virtio_mmio *t;
	const struct guest_mem *mem;
	uint32_t num_pages; /* the target: pages the guest should give */
	uint32_t actual;    /* pages the driver says it gave */
	struct virtio_balloon_counters counters;
	struct virtq_chain chain; /* the request being served (under the lock) */
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

static void inflate(struct virtio_balloon *b, const struct virtq_chain *c)
{
	for (uint64_t off = 0; off + 4 <= c->readable_len; off += 4) {
		uint8_t raw[4];
		if (virtq_chain_read(c, off, raw, 4) != 4)
			break;
		uint64_t gpa = (uint64_t)le_get32(raw) * BALLOON_PAGE;
		uint8_t *host = guest_mem_ptr(b->mem, gpa, BALLOON_PAGE);
		if (!host) {
			b->counters.refused++;
			continue;
		}
		b->counters.released_bytes += release(host, BALLOON_PAGE);
		b->counters.inflated_pages++;
	}
}

static void deflate(struct virtio_balloon *b, const struct virtq_chain *c)
{
	b->counters.deflated_pages += c->readable_len / 4;
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

static void balloon_queue_notify(void *dev, struct virtio_mmio *t, uint16_t qidx)
{
	struct virtio_balloon *b = dev;
	struct virtq *q = virtio_mmio_queue(t, qidx);
	if (!q)
		return;
	bool reporting = virtio_mmio_driver_features(t) & (1ull << VIRTIO_BALLOON_F_REPORTING);
	/* A ring's worth per kick at most (see rng.c: a ring a guest made to
	 * overlap itself could keep this vCPU here). */
	for (unsigned n = 0; n < q->size && virtq_pop(q, &b->chain) == 1; n++) {
		if (qidx == Q_INFLATE)
			inflate(b, &b->chain);
		else if (qidx == Q_DEFLATE)
			deflate(b, &b->chain);
		else if (qidx == Q_REPORTING && reporting)
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
	return (1ull << VIRTIO_BALLOON_F_DEFLATE_ON_OOM) | (1ull << VIRTIO_BALLOON_F_REPORTING);
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
}

static const struct virtio_device_ops balloon_virtio_ops = {
	.device_id = VIRTIO_ID_BALLOON,
	.num_queues = 3,
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
	b->t = virtio_mmio_new(mem, irq, &balloon_virtio_ops, b);
	if (!b->t) {
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

/* The target and the driver's count; released pages need no state (they
 * come back zeroed, as a restored guest's untouched pages do). */
static int balloon_snapshot(void *dev, struct device_snapshot *s, struct nv_err *err)
{
	(void)err;
	struct virtio_balloon *b = dev;
	snapshot_version(s, 1);
	virtio_mmio_lock(b->t);
	SNAPSHOT_U32(s, b->num_pages);
	SNAPSHOT_U32(s, b->actual);
	virtio_mmio_snapshot(b->t, s);
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
