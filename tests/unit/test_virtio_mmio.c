/* virtio-mmio register model, driven through virtio_mmio_access() exactly as
 * the MMIO bus would, with a fake device and an irq recorder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>

#include "core/device_snapshot.h"
#include "dev/virtio/mmio.h"
#include "util/le.h"

#define RAM_SIZE 0x40000ULL
#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000
#define DATA 0x8000
#define FAKE_ID 42
#define FAKE_FEATURE (1ULL << 3)
#define FAKE_HIGH_FEATURE (1ULL << 40)

struct irq_rec {
	int level;
	int raises;
	int lowers;
	int sets; /* calls, changing the level or not */
};

struct fake_dev {
	int resets;
	int notifies;
	uint16_t last_q;
	int pop_result; /* what the last virtq_pop returned */
	bool push_on_notify;
	uint8_t config[8];
	uint8_t written[8];
};

static uint8_t *ram;
static struct guest_mem mem;
static struct irq_rec irq;
static struct fake_dev fd;
static struct virtio_mmio *t;

static void irq_set(void *opaque, unsigned gsi, int level)
{
	struct irq_rec *r = opaque;
	assert_int_equal(gsi, 5);
	if (level && !r->level)
		r->raises++;
	if (!level && r->level)
		r->lowers++;
	r->level = level;
	r->sets++;
}

static uint64_t fake_features(void *dev) { return FAKE_FEATURE | FAKE_HIGH_FEATURE; }

static void fake_config_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
	struct fake_dev *d = dev;
	for (uint32_t i = 0; i < len && off + i < sizeof(d->config); i++)
		data[i] = d->config[off + i];
}

static void fake_config_write(void *dev, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct fake_dev *d = dev;
	for (uint32_t i = 0; i < len && off + i < sizeof(d->written); i++)
		d->written[off + i] = data[i];
}

/* A minimal device: consume every chain, complete it, interrupt. */
static void fake_notify(void *dev, struct virtio_mmio *tr, uint16_t qidx)
{
	struct fake_dev *d = dev;
	d->notifies++;
	d->last_q = qidx;
	struct virtq *q = virtio_mmio_queue(tr, qidx);
	static struct virtq_chain c;
	while ((d->pop_result = virtq_pop(q, &c)) == 1) {
		if (d->push_on_notify)
			virtq_push(q, c.head, 0);
	}
	virtio_mmio_notify_used(tr, qidx);
}

static void fake_reset(void *dev) { ((struct fake_dev *)dev)->resets++; }

static const struct virtio_device_ops fake_ops = {
	.device_id = FAKE_ID,
	.num_queues = 2,
	.features = fake_features,
	.config_read = fake_config_read,
	.config_write = fake_config_write,
	.queue_notify = fake_notify,
	.reset = fake_reset,
};

static uint32_t rd(uint64_t off)
{
	uint8_t b[4] = { 0xee, 0xee, 0xee, 0xee };
	virtio_mmio_access(t, off, b, 4, false);
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void wr(uint64_t off, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	virtio_mmio_access(t, off, b, 4, true);
}

static int setup(void **state)
{
	ram = calloc(1, RAM_SIZE);
	if (!ram)
		return -1;
	guest_mem_init_over(&mem, ram, RAM_SIZE);
	memset(&irq, 0, sizeof(irq));
	memset(&fd, 0, sizeof(fd));
	fd.push_on_notify = true;
	memcpy(fd.config, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	struct irq_line line = { .set_level = irq_set, .opaque = &irq, .gsi = 5 };
	t = virtio_mmio_new(&mem, line, &fake_ops, &fd);
	return t ? 0 : -1;
}

static int teardown(void **state)
{
	virtio_mmio_free(t);
	free(ram);
	return 0;
}

/* Driver handshake up to FEATURES_OK with the given features. */
static void negotiate(uint64_t features)
{
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr(VIRTIO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
}

static void setup_queue(uint32_t sel, uint32_t num, uint64_t desc, uint64_t avail, uint64_t used)
{
	wr(VIRTIO_MMIO_QUEUE_SEL, sel);
	wr(VIRTIO_MMIO_QUEUE_NUM, num);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
	wr(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
	wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
	wr(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
}

static void bring_up(void)
{
	negotiate(1ULL << VIRTIO_F_VERSION_1);
	setup_queue(0, 8, DESC, AVAIL, USED);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				       VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

/* Publish a one-descriptor chain with head `head` on queue 0 (size 8). */
static void post(uint16_t head)
{
	uint16_t idx;
	memcpy(&idx, ram + AVAIL + 2, 2);
	uint64_t d = DESC + 16ULL * (head % 8);
	uint64_t addr = DATA;
	uint32_t len = 16;
	memset(ram + d, 0, 16);
	memcpy(ram + d, &addr, 8);
	memcpy(ram + d + 8, &len, 4);
	memcpy(ram + AVAIL + 4 + 2 * (idx % 8), &head, 2);
	idx++;
	memcpy(ram + AVAIL + 2, &idx, 2);
}

static void test_identity(void **state)
{
	assert_int_equal(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(rd(VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(rd(VIRTIO_MMIO_DEVICE_ID), FAKE_ID);
	assert_int_equal(rd(VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0);
	/* No shared memory regions: length -1. */
	wr(VIRTIO_MMIO_SHM_SEL, 0);
	assert_int_equal(rd(VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff);
	assert_int_equal(rd(VIRTIO_MMIO_SHM_LEN_HIGH), 0xffffffff);
	/* Write-only and reserved registers read as 0. */
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NOTIFY), 0);
	assert_int_equal(rd(0x0c0), 0);
}

static void test_device_features(void **state)
{
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint32_t lo = rd(VIRTIO_MMIO_DEVICE_FEATURES);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	uint32_t hi = rd(VIRTIO_MMIO_DEVICE_FEATURES);
	uint64_t f = (uint64_t)hi << 32 | lo;
	assert_true(f & (1ULL << VIRTIO_F_VERSION_1));
	assert_true(f & (1ULL << VIRTIO_RING_F_INDIRECT_DESC));
	assert_true(f & (1ULL << VIRTIO_RING_F_EVENT_IDX));
	assert_true(f & FAKE_FEATURE);
	assert_true(f & FAKE_HIGH_FEATURE);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);
}

static void test_features_ok_needs_version1(void **state)
{
	negotiate(FAKE_FEATURE); /* a legacy driver */
	assert_false(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);

	wr(VIRTIO_MMIO_STATUS, 0);
	negotiate((1ULL << VIRTIO_F_VERSION_1) | (1ULL << 50)); /* not offered */
	assert_false(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);

	wr(VIRTIO_MMIO_STATUS, 0);
	uint64_t want = (1ULL << VIRTIO_F_VERSION_1) | FAKE_FEATURE | FAKE_HIGH_FEATURE;
	negotiate(want);
	assert_true(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	assert_true(virtio_mmio_driver_features(t) == want);
	/* Features are frozen once accepted. */
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 0);
	assert_true(virtio_mmio_driver_features(t) == want);
}

static void test_queue_setup(void **state)
{
	negotiate((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX));
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTQ_MAX_SIZE);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	wr(VIRTIO_MMIO_QUEUE_SEL, 2); /* only two queues */
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);

	setup_queue(1, 16, DESC, AVAIL, USED);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 1);
	struct virtq *q = virtio_mmio_queue(t, 1);
	assert_non_null(q);
	assert_true(q->ready);
	assert_true(q->event_idx);
	assert_false(q->indirect);
	assert_int_equal(q->size, 16);
	assert_int_equal(q->desc_gpa, 0x1000);
	assert_int_equal(q->avail_gpa, AVAIL);
	assert_int_equal(q->used_gpa, USED);
	/* Ring geometry cannot change under a live queue. */
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x5000);
	wr(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 1);
	wr(VIRTIO_MMIO_QUEUE_NUM, 4);
	assert_int_equal(q->desc_gpa, 0x1000);
	assert_int_equal(q->used_gpa, USED);
	assert_int_equal(q->size, 16);
	/* 64-bit addresses are assembled from both halves. */
	wr(VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, 0x12);
	assert_true(q->desc_gpa == 0x1200001000ULL);
	assert_null(virtio_mmio_queue(t, 2));
}

static void test_queue_num_too_big(void **state)
{
	negotiate(1ULL << VIRTIO_F_VERSION_1);
	/* 0x10010 must not be truncated into a valid size of 16. */
	setup_queue(0, 0x10010, DESC, AVAIL, USED);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_notify_dispatch(void **state)
{
	bring_up();
	post(0);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(fd.notifies, 1);
	assert_int_equal(fd.last_q, 0);
	/* Queue 1 is not ready, queue 7 does not exist: no callback. */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 7);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffff);
	assert_int_equal(fd.notifies, 1);
}

static void test_interrupt_and_ack(void **state)
{
	bring_up();
	post(0);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	assert_int_equal(irq.level, 1);
	assert_int_equal(irq.raises, 1);
	/* Used entry landed. */
	uint16_t used_idx;
	memcpy(&used_idx, ram + USED + 2, 2);
	assert_int_equal(used_idx, 1);
	/* Another completion while pending: the line stays high. */
	post(1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(irq.raises, 1);
	/* Acking an unset bit changes nothing. */
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(irq.level, 1);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(irq.level, 0);
	assert_int_equal(irq.lowers, 1);

	/* Config change: bit 1 and a new generation. */
	uint32_t gen = rd(VIRTIO_MMIO_CONFIG_GENERATION);
	virtio_mmio_config_changed(t);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(irq.level, 1);
	assert_int_not_equal(rd(VIRTIO_MMIO_CONFIG_GENERATION), gen);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, 0xffffffff);
	assert_int_equal(irq.level, 0);
}

/* The driver reads InterruptStatus, then acknowledges what it read; a
 * config change in between must still reach it on the edge-triggered pin,
 * and the device must not fall silent after it (Linux's vm_interrupt). */
static void test_config_change_while_driver_acks(void **state)
{
	bring_up();
	post(0);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(irq.raises, 1);
	uint32_t seen = rd(VIRTIO_MMIO_INTERRUPT_STATUS);
	assert_int_equal(seen, VIRTIO_MMIO_INT_VRING);
	virtio_mmio_config_changed(t); /* the host moves a target now */
	wr(VIRTIO_MMIO_INTERRUPT_ACK, seen);
	/* A new rising edge for the bit the driver has not seen. */
	assert_int_equal(irq.raises, 2);
	assert_int_equal(irq.level, 1);
	seen = rd(VIRTIO_MMIO_INTERRUPT_STATUS);
	assert_int_equal(seen, VIRTIO_MMIO_INT_CONFIG);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, seen);
	assert_int_equal(irq.level, 0);
	/* The same the other way round: a used buffer while the driver acks
	 * a config change. */
	virtio_mmio_config_changed(t);
	assert_int_equal(irq.raises, 3);
	seen = rd(VIRTIO_MMIO_INTERRUPT_STATUS);
	post(1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, seen);
	assert_int_equal(irq.raises, 4);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(irq.level, 0);
	/* The same bit again before the acknowledge needs no edge: the
	 * driver looks at every queue after it acknowledged. */
	post(2);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	post(3);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(irq.raises, 5);
}

static void test_no_interrupt_when_suppressed(void **state)
{
	bring_up();
	uint16_t flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	memcpy(ram + AVAIL, &flags, 2);
	post(0);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(fd.notifies, 1);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(irq.raises, 0);
}

static void test_reset_clears_state(void **state)
{
	bring_up();
	post(0);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(irq.level, 1);
	wr(VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(fd.resets, 1);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(irq.level, 0);
	assert_true(virtio_mmio_driver_features(t) == 0);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	struct virtq *q = virtio_mmio_queue(t, 0);
	assert_false(q->ready);
	assert_int_equal(q->desc_gpa, 0);
	assert_int_equal(q->last_avail_idx, 0);
	/* Kicks after reset do nothing. */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(fd.notifies, 1);
	/* And the device comes up again from scratch. */
	memset(ram, 0, RAM_SIZE);
	bring_up();
	post(3);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(fd.notifies, 2);
	assert_int_equal(fd.pop_result, 0);
}

static void test_broken_queue_needs_reset(void **state)
{
	bring_up();
	post(200); /* head beyond the queue size of 8 */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(fd.pop_result, -1);
	uint32_t st = rd(VIRTIO_MMIO_STATUS);
	assert_true(st & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(st & VIRTIO_STATUS_DRIVER_OK);
	assert_true(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(irq.level, 1);
	/* Further kicks are not delivered to the device. */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(fd.notifies, 1);
	/* The driver cannot clear NEEDS_RESET, only a reset does. */
	wr(VIRTIO_MMIO_STATUS, st & ~(uint32_t)VIRTIO_STATUS_NEEDS_RESET);
	assert_true(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	wr(VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0);
	assert_false(virtio_mmio_queue(t, 0)->broken);
}

static void test_rings_outside_ram_need_reset(void **state)
{
	negotiate(1ULL << VIRTIO_F_VERSION_1);
	setup_queue(0, 8, DESC, AVAIL, RAM_SIZE - 8);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(irq.level, 1);
}

static void test_odd_sized_accesses_ignored(void **state)
{
	uint8_t b[8];
	memset(b, 0xee, sizeof(b));
	virtio_mmio_access(t, VIRTIO_MMIO_MAGIC_VALUE, b, 1, false);
	assert_int_equal(b[0], 0);
	memset(b, 0xee, sizeof(b));
	virtio_mmio_access(t, VIRTIO_MMIO_MAGIC_VALUE, b, 8, false);
	for (int i = 0; i < 8; i++)
		assert_int_equal(b[i], 0);
	memset(b, 0xee, sizeof(b));
	virtio_mmio_access(t, VIRTIO_MMIO_MAGIC_VALUE + 2, b, 4, false); /* unaligned */
	assert_int_equal(b[0] | b[1] | b[2] | b[3], 0);
	/* Byte writes to Status do nothing. */
	b[0] = VIRTIO_STATUS_ACKNOWLEDGE;
	virtio_mmio_access(t, VIRTIO_MMIO_STATUS, b, 1, true);
	virtio_mmio_access(t, VIRTIO_MMIO_STATUS, b, 2, true);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0);
	/* Beyond the window: ignored, reads zero. */
	memset(b, 0xee, sizeof(b));
	virtio_mmio_access(t, VIRTIO_MMIO_WINDOW, b, 4, false);
	assert_int_equal(b[0], 0);
}

static void test_config_space(void **state)
{
	uint8_t b[8];
	virtio_mmio_access(t, VIRTIO_MMIO_CONFIG + 2, b, 2, false);
	assert_int_equal(b[0], 3);
	assert_int_equal(b[1], 4);
	virtio_mmio_access(t, VIRTIO_MMIO_CONFIG, b, 8, false);
	assert_memory_equal(b, fd.config, 8);
	assert_int_equal(rd(VIRTIO_MMIO_CONFIG + 4), 0x08070605);
	/* Past the device's config: zeros (the transport pre-clears). */
	assert_int_equal(rd(VIRTIO_MMIO_CONFIG + 0x40), 0);
	/* An access crossing the end of the window is dropped. */
	memset(b, 0xee, sizeof(b));
	virtio_mmio_access(t, VIRTIO_MMIO_WINDOW - 4, b, 8, false);
	assert_int_equal(b[0], 0);
	wr(VIRTIO_MMIO_CONFIG + 4, 0xaabbccdd);
	assert_int_equal(fd.written[4], 0xdd);
	assert_int_equal(fd.written[7], 0xaa);
}

static void *hammer(void *arg)
{
	for (int i = 0; i < 20000; i++) {
		if (rd(VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC)
			return (void *)1;
		wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
		virtio_mmio_config_changed(t);
	}
	return NULL;
}

static void test_concurrent_access(void **state)
{
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, hammer, NULL), 0);
	for (int i = 0; i < 2; i++) {
		void *ret;
		pthread_join(th[i], &ret);
		assert_null(ret);
	}
	/* The line level always matches InterruptStatus. */
	assert_int_equal(irq.level, rd(VIRTIO_MMIO_INTERRUPT_STATUS) != 0);
}

static void test_bad_ops_rejected(void **state)
{
	struct virtio_device_ops ops = fake_ops;
	struct irq_line line = { 0 };
	ops.num_queues = 0;
	assert_null(virtio_mmio_new(&mem, line, &ops, &fd));
	ops.num_queues = VIRTIO_MMIO_MAX_QUEUES + 1;
	assert_null(virtio_mmio_new(&mem, line, &ops, &fd));
}

/* ---- snapshot ---- */

/* Where virtio_mmio_snapshot puts each field (little-endian, no padding),
 * for two queues of virtq_snapshot's 36 bytes. */
#define TS_VERSION 0
#define TS_STATUS 4
#define TS_DRIVER_FEATURES 16
#define TS_QUEUE_SEL 24
#define TS_ISR 28
#define TS_NUM_QUEUES 36
#define TS_Q0 38
#define TS_Q_SIZE 0
#define TS_Q_DESC 2
#define TS_LEN (TS_Q0 + 2 * 36)

static struct irq_rec irq2;

/* A transport as a new process creates it: same ops, same RAM. */
static struct virtio_mmio *fresh_transport(void)
{
	memset(&irq2, 0, sizeof(irq2));
	struct irq_line l = { .set_level = irq_set, .opaque = &irq2, .gsi = 5 };
	struct virtio_mmio *n = virtio_mmio_new(&mem, l, &fake_ops, &fd);
	assert_non_null(n);
	return n;
}

static void wr_on(struct virtio_mmio *tr, uint64_t off, uint32_t v)
{
	uint8_t b[4];
	le_put32(b, v);
	virtio_mmio_access(tr, off, b, 4, true);
}

static uint32_t rd_on(struct virtio_mmio *tr, uint64_t off)
{
	uint8_t b[4];
	virtio_mmio_access(tr, off, b, 4, false);
	return le_get32(b);
}

/* The transport's section, in *buf (caller frees). */
static size_t save_transport(struct virtio_mmio *tr, uint8_t **buf)
{
	struct device_snapshot s;
	snapshot_init_save(&s);
	assert_int_equal(virtio_mmio_snapshot(tr, &s), 0);
	assert_true(snapshot_done(&s));
	*buf = s.buf; /* ours now */
	return s.len;
}

/* Restore then expect the end: 0, or -1 with the failed field. */
static int restore_transport(struct virtio_mmio *tr, const uint8_t *buf, size_t len, char *field)
{
	struct device_snapshot s;
	snapshot_init_restore(&s, buf, len);
	int rc = virtio_mmio_snapshot(tr, &s);
	if (rc == 0 && !snapshot_done(&s))
		rc = -1;
	if (rc < 0) {
		assert_true(s.failed);
		strcpy(field, s.failed_field);
	}
	return rc;
}

/* Registers a driver reads, without side effects. */
static const uint64_t readable[] = {
	VIRTIO_MMIO_MAGIC_VALUE,      VIRTIO_MMIO_VERSION,         VIRTIO_MMIO_DEVICE_ID,
	VIRTIO_MMIO_DEVICE_FEATURES,  VIRTIO_MMIO_QUEUE_NUM_MAX,   VIRTIO_MMIO_QUEUE_READY,
	VIRTIO_MMIO_INTERRUPT_STATUS, VIRTIO_MMIO_STATUS,          VIRTIO_MMIO_CONFIG_GENERATION,
	VIRTIO_MMIO_CONFIG,
};

static void assert_same_registers(struct virtio_mmio *a, struct virtio_mmio *b)
{
	for (size_t i = 0; i < sizeof(readable) / sizeof(readable[0]); i++)
		assert_int_equal(rd_on(a, readable[i]), rd_on(b, readable[i]));
}

/* A device in use, saved; a new transport restored from it over the same
 * RAM reads the same and carries on: the next request completes into the
 * next used slot, the interrupt line is where InterruptStatus says. */
static void test_snapshot_round_trip(void **state)
{
	uint64_t f = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
		     FAKE_FEATURE | FAKE_HIGH_FEATURE;
	negotiate(f);
	setup_queue(0, 8, DESC, AVAIL, USED);
	/* Queue 1: programmed by the driver, not live. */
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	wr(VIRTIO_MMIO_QUEUE_NUM, 4);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x7000);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				       VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	for (uint16_t i = 0; i < 3; i++) {
		post(i);
		wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	}
	virtio_mmio_config_changed(t);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS),
			 VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(irq.level, 1);

	uint8_t *buf;
	size_t len = save_transport(t, &buf);
	assert_int_equal(len, TS_LEN);
	/* Saving changes nothing. */
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS),
			 VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);

	struct virtio_mmio *n = fresh_transport();
	char field[64];
	assert_int_equal(restore_transport(n, buf, len, field), 0);
	/* The line is driven to the level InterruptStatus implies. */
	assert_int_equal(irq2.level, 1);
	assert_int_equal(irq2.raises, 1);
	assert_same_registers(t, n); /* queue 1 selected, feature word 1 */
	for (uint32_t sel = 0; sel < 3; sel++) {
		wr(VIRTIO_MMIO_QUEUE_SEL, sel);
		wr_on(n, VIRTIO_MMIO_QUEUE_SEL, sel);
		assert_same_registers(t, n);
	}
	assert_true(virtio_mmio_driver_features(n) == f);
	struct virtq *q1 = virtio_mmio_queue(n, 1);
	assert_false(q1->ready);
	assert_int_equal(q1->size, 4);
	assert_int_equal(q1->desc_gpa, 0x7000);

	/* The old process is gone; the new device carries on. */
	virtio_mmio_free(t);
	t = n;
	int notifies = fd.notifies;
	post(3);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(fd.notifies, notifies + 1);
	assert_int_equal(fd.pop_result, 0); /* exactly the one new chain */
	uint16_t used;
	memcpy(&used, ram + USED + 2, 2);
	assert_int_equal(used, 4);
	uint32_t id;
	memcpy(&id, ram + USED + 4 + 8 * 3, 4);
	assert_int_equal(id, 3);
	/* Acknowledging lowers the restored line. */
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(irq2.level, 0);
	assert_int_equal(irq2.lowers, 1);
	/* Features stay frozen, the queue's geometry too. */
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 0);
	assert_true(virtio_mmio_driver_features(t) == f);
	free(buf);
}

/* Without an interrupt pending the restored line is driven low. */
static void test_snapshot_quiet_line(void **state)
{
	bring_up();
	uint8_t *buf;
	size_t len = save_transport(t, &buf);
	struct virtio_mmio *n = fresh_transport();
	char field[64];
	assert_int_equal(restore_transport(n, buf, len, field), 0);
	assert_int_equal(irq2.level, 0);
	assert_int_equal(irq2.sets, 1);
	assert_int_equal(irq2.raises, 0);
	/* A reset device (nothing negotiated) restores too. */
	virtio_mmio_free(n);
	free(buf);
	wr(VIRTIO_MMIO_STATUS, 0);
	len = save_transport(t, &buf);
	n = fresh_transport();
	assert_int_equal(restore_transport(n, buf, len, field), 0);
	assert_same_registers(t, n);
	virtio_mmio_free(n);
	free(buf);
}

/* Whatever state a driver can put the registers in, a save of it restores:
 * here one that enabled a queue before settling its features. */
static void test_snapshot_driver_out_of_order(void **state)
{
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1u << VIRTIO_RING_F_EVENT_IDX);
	setup_queue(0, 8, DESC, AVAIL, USED);
	assert_true(virtio_mmio_queue(t, 0)->event_idx);
	negotiate(1ULL << VIRTIO_F_VERSION_1); /* EVENT_IDX dropped, FEATURES_OK */
	assert_true(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	uint8_t *buf;
	size_t len = save_transport(t, &buf);
	struct virtio_mmio *n = fresh_transport();
	char field[64];
	assert_int_equal(restore_transport(n, buf, len, field), 0);
	assert_true(virtio_mmio_queue(n, 0)->event_idx);
	assert_same_registers(t, n);
	virtio_mmio_free(n);
	free(buf);
}

static void test_snapshot_refusals(void **state)
{
	bring_up();
	post(0);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	uint8_t *buf;
	size_t len = save_transport(t, &buf);
	uint8_t *bad = malloc(len + 1);
	char field[64];
	struct virtio_mmio *n;

	/* Every prefix is short of something; nothing is committed. */
	for (size_t l = 0; l < len; l++) {
		n = fresh_transport();
		assert_int_equal(restore_transport(n, buf, l, field), -1);
		assert_int_equal(rd_on(n, VIRTIO_MMIO_STATUS), 0);
		assert_false(virtio_mmio_queue(n, 0)->ready);
		assert_int_equal(irq2.sets, 0);
		virtio_mmio_free(n);
	}

	struct {
		size_t off;
		unsigned bytes;
		uint64_t value;
		const char *field;
	} cases[] = {
		{ TS_VERSION, 4, 2, "version" },
		{ TS_VERSION, 4, 0, "version" },
		{ TS_STATUS, 4, 0x10f, "status" },
		{ TS_ISR, 4, 4, "isr" },
		{ TS_NUM_QUEUES, 2, 3, "num_queues" },
		/* FEATURES_OK over a feature the device does not offer, or
		 * without VERSION_1. */
		{ TS_DRIVER_FEATURES, 8, (1ULL << VIRTIO_F_VERSION_1) | (1ULL << 50), "driver_features" },
		{ TS_DRIVER_FEATURES, 8, FAKE_FEATURE, "driver_features" },
		/* The live queue: what virtq_enable refuses. */
		{ TS_Q0 + TS_Q_DESC, 8, RAM_SIZE, "desc_gpa" },
		{ TS_Q0 + TS_Q_DESC, 8, DESC + 8, "desc_gpa" },
		{ TS_Q0 + TS_Q_SIZE, 2, 6, "size" },
		{ TS_Q0 + TS_Q_SIZE, 2, 0, "size" },
		/* A queue not live has no size above QueueNumMax. */
		{ TS_Q0 + 36 + TS_Q_SIZE, 2, VIRTQ_MAX_SIZE + 1, "size" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(bad, buf, len);
		le_put(bad + cases[i].off, cases[i].value, cases[i].bytes);
		n = fresh_transport();
		assert_int_equal(restore_transport(n, bad, len, field), -1);
		assert_string_equal(field, cases[i].field);
		assert_int_equal(rd_on(n, VIRTIO_MMIO_STATUS), 0);
		assert_int_equal(irq2.sets, 0);
		virtio_mmio_free(n);
	}

	/* Trailing bytes belong to a layout this build does not know. */
	memcpy(bad, buf, len);
	bad[len] = 0;
	n = fresh_transport();
	assert_int_equal(restore_transport(n, bad, len + 1, field), -1);
	assert_string_equal(field, "trailing bytes");
	virtio_mmio_free(n);

	/* What the registers can hold is kept: QueueSel past the queues, and
	 * before FEATURES_OK a DriverFeatures the device would refuse. */
	memcpy(bad, buf, len);
	le_put32(bad + TS_QUEUE_SEL, 7);
	le_put32(bad + TS_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	le_put64(bad + TS_DRIVER_FEATURES, (1ULL << VIRTIO_F_VERSION_1) | (1ULL << 50));
	n = fresh_transport();
	assert_int_equal(restore_transport(n, bad, len, field), 0);
	assert_int_equal(rd_on(n, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	/* ... and FEATURES_OK is refused then, as it would have been. */
	wr_on(n, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
						  VIRTIO_STATUS_FEATURES_OK);
	assert_false(rd_on(n, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	virtio_mmio_free(n);
	free(bad);
	free(buf);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_identity),
		T(test_device_features),
		T(test_features_ok_needs_version1),
		T(test_queue_setup),
		T(test_queue_num_too_big),
		T(test_notify_dispatch),
		T(test_interrupt_and_ack),
		T(test_config_change_while_driver_acks),
		T(test_no_interrupt_when_suppressed),
		T(test_reset_clears_state),
		T(test_broken_queue_needs_reset),
		T(test_rings_outside_ram_need_reset),
		T(test_odd_sized_accesses_ignored),
		T(test_config_space),
		T(test_concurrent_access),
		T(test_bad_ops_rejected),
		T(test_snapshot_round_trip),
		T(test_snapshot_quiet_line),
		T(test_snapshot_driver_out_of_order),
		T(test_snapshot_refusals),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
