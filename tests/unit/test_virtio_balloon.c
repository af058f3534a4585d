/* virtio-balloon driven as a guest driver would: frames given on the
 * inflate queue and free ranges on the reporting queue are released from
 * the host mapping (their bytes read back as zero: RAM here is an anonymous
 * mapping, as the VMM's is), and nothing else is; hostile frames and ranges
 * (outside RAM, not whole pages) are skipped and counted; the target goes
 * to the guest through the config space with a config interrupt; the
 * driver's count comes back; the statistics buffer is kept and handed back
 * on request; queues follow the negotiated features; the state round-trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "core/device_snapshot.h"
#include "dev/virtio/balloon.h"
#include "virtio_driver.h"

extern const struct virtio_device_type virtio_balloon_type;

#define RAM_SIZE 0x400000ULL /* two 2 MiB blocks: rings in the first */
#define QSZ 8
#define PAGE 4096
#define F_STATS_VQ 1
#define F_DEFLATE_ON_OOM 2
#define F_REPORTING 5
#define FILL 0xa5

static uint8_t *ram;
static struct guest_mem mem;
static struct virtio_balloon *b;
static struct virtio_mmio *t;
static int irq_level, config_irqs;
static uint16_t avail_idx[4], used_seen[4];
/* With every feature: inflate, deflate, stats, reporting. */
#define QI 0
#define QD 1
#define QS 2
#define QR 3

/* Queue q's rings: descriptors, avail, used, one page each. */
static uint64_t ring(unsigned q, unsigned part) { return 0x1000 + (uint64_t)(3 * q + part) * 0x1000; }

static void irq_set(void *opaque, unsigned gsi, int level)
{
	(void)opaque;
	(void)gsi;
	if (level && !irq_level && (vdrv_rd(t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG))
		config_irqs++;
	irq_level = level;
}

static void driver_init(uint64_t features)
{
	memset(avail_idx, 0, sizeof(avail_idx));
	memset(used_seen, 0, sizeof(used_seen));
	vdrv_negotiate(t, features);
	for (unsigned q = 0; q < 4; q++)
		vdrv_queue(t, q, QSZ, ring(q, 0), ring(q, 1), ring(q, 2));
	vdrv_driver_ok(t);
}

static int setup(void **state)
{
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED)
		return -1;
	memset(ram, FILL, RAM_SIZE);
	memset(ram, 0, 0x10000); /* the rings */
	guest_mem_init_over(&mem, ram, RAM_SIZE);
	struct nv_err err = { 0 };
	struct irq_line line = { .set_level = irq_set, .opaque = NULL, .gsi = 12 };
	irq_level = config_irqs = 0;
	b = virtio_balloon_type.create(&mem, line, NULL, &err);
	if (!b)
		return -1;
	t = virtio_balloon_type.transport(b);
	driver_init(vdrv_device_features(t) & ~(1ULL << VIRTIO_RING_F_EVENT_IDX));
	return 0;
}

static int teardown(void **state)
{
	virtio_balloon_type.ops->destroy(b);
	munmap(ram, RAM_SIZE);
	return 0;
}

/* One chain of one buffer on queue q (descriptor slot), kicked. */
static void put(unsigned q, uint16_t head, uint64_t gpa, uint32_t len, bool writable)
{
	uint64_t d = ring(q, 0) + 16u * head;
	uint16_t flags = writable ? VIRTQ_DESC_F_WRITE : 0, zero = 0;
	memcpy(ram + d, &gpa, 8);
	memcpy(ram + d + 8, &len, 4);
	memcpy(ram + d + 12, &flags, 2);
	memcpy(ram + d + 14, &zero, 2);
	memcpy(ram + ring(q, 1) + 4 + 2 * (avail_idx[q] % QSZ), &head, 2);
	avail_idx[q]++;
	memcpy(ram + ring(q, 1) + 2, &avail_idx[q], 2);
	vdrv_wr(t, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

static uint16_t used_idx(unsigned q)
{
	uint16_t used;
	memcpy(&used, ram + ring(q, 2) + 2, 2);
	return used;
}

/* One chain of one buffer on queue q: kicked, and it must come back. */
static void send(unsigned q, uint64_t gpa, uint32_t len, bool writable)
{
	put(q, 0, gpa, len, writable);
	uint16_t used = used_idx(q);
	assert_int_equal(used, (uint16_t)(used_seen[q] + 1)); /* returned, once */
	used_seen[q] = used;
}

static bool page_is(uint64_t gpa, uint8_t v)
{
	for (unsigned i = 0; i < PAGE; i++)
		if (ram[gpa + i] != v)
			return false;
	return true;
}

static void test_features_and_queues(void **state)
{
	uint64_t f = vdrv_device_features(t);
	assert_true(f & (1ULL << F_DEFLATE_ON_OOM));
	assert_true(f & (1ULL << F_REPORTING));
	assert_false(f & 1ULL); /* MUST_TELL_HOST: not asked */
	assert_int_equal(vdrv_rd(t, VIRTIO_MMIO_DEVICE_ID), 5);
	assert_true(f & (1ULL << F_STATS_VQ));
	vdrv_wr(t, VIRTIO_MMIO_QUEUE_SEL, 4);
	assert_int_equal(vdrv_rd(t, VIRTIO_MMIO_QUEUE_NUM_MAX), 0); /* four queues */
}

/* Host memory goes back a whole 2 MiB block at a time: single pages stay
 * (releasing them would split the host's huge pages); the block's last
 * page releases all of it; a page given twice counts once, one taken back
 * must be given again. */
static void test_inflate_releases_whole_blocks(void **state)
{
	uint32_t pfns[] = { 0x40, 0x41, 0x100000 /* far outside RAM */, 0x3ff /* the last page */ };
	memcpy(ram + 0x20000, pfns, sizeof(pfns));
	send(QI, 0x20000, sizeof(pfns), false);
	assert_true(page_is(0x40000, FILL) && page_is(0x41000, FILL) && page_is(0x3ff000, FILL));
	struct virtio_balloon_counters c;
	virtio_balloon_counters(b, &c);
	assert_int_equal(c.inflated_pages, 3);
	assert_int_equal(c.refused, 1);
	assert_int_equal(c.released_bytes, 0);
	/* The second block but its first page, the last page twice. */
	static uint32_t block[512];
	for (unsigned i = 0; i < 511; i++)
		block[i] = 0x201 + i;
	block[511] = 0x3ff;
	memcpy(ram + 0x30000, block, sizeof(block));
	send(QI, 0x30000, sizeof(block), false);
	assert_true(page_is(0x3ff000, FILL) && page_is(0x200000, FILL));
	/* Its first page taken back, given, taken back and given again. */
	uint32_t first = 0x200;
	memcpy(ram + 0x21000, &first, 4);
	send(QI, 0x21000, 4, false);
	assert_true(page_is(0x3ff000, 0) && page_is(0x200000, 0) && page_is(0x300000, 0));
	virtio_balloon_counters(b, &c);
	assert_int_equal(c.released_bytes, 0x200000);
	memset(ram + 0x200000, FILL, 0x200000);
	send(QD, 0x21000, 4, false);
	send(QI, 0x21000, 4, false); /* whole again: released again */
	assert_true(page_is(0x200000, 0) && page_is(0x201000, 0));
	memset(ram + 0x200000, FILL, 0x200000);
	send(QD, 0x21000, 4, false);
	send(QD, 0x21000, 4, false); /* taken back twice: counted once */
	send(QI, 0x21000, 4, false);
	assert_true(page_is(0x200000, 0));
	virtio_balloon_counters(b, &c);
	assert_int_equal(c.deflated_pages, 3);
	assert_int_equal(c.released_bytes, 3 * 0x200000);
	assert_true(page_is(0x42000, FILL) && page_is(0x3f000, FILL)); /* the first block kept */
}

static void test_reporting_releases_ranges(void **state)
{
	send(QR, 0x80000, 0x3000, true);
	assert_true(page_is(0x80000, 0) && page_is(0x81000, 0) && page_is(0x82000, 0));
	assert_true(page_is(0x83000, FILL));
	struct virtio_balloon_counters c;
	virtio_balloon_counters(b, &c);
	assert_int_equal(c.reported_bytes, 0x3000);
	/* Not whole pages: skipped, counted, untouched. */
	send(QR, 0x90010, 0x1000, true);
	send(QR, 0xa0000, 0x800, true);
	assert_true(page_is(0x90000, FILL) && page_is(0x91000, FILL) && page_is(0xa0000, FILL));
	virtio_balloon_counters(b, &c);
	assert_int_equal(c.refused, 2);
	assert_int_equal(c.released_bytes, 0x3000);
	/* A readable buffer on the reporting queue is no range. */
	send(QR, 0xb0000, 0x1000, false);
	assert_true(page_is(0xb0000, FILL));
}

/* Without reporting, queue 3 has no role; without stats either, queue 2
 * is the reporting queue (the driver numbers only what it negotiated). */
static void test_queues_follow_the_features(void **state)
{
	driver_init(vdrv_device_features(t) & ~((1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << F_REPORTING)));
	send(3, 0x80000, 0x1000, true);
	assert_true(page_is(0x80000, FILL));
	struct virtio_balloon_counters c;
	virtio_balloon_counters(b, &c);
	assert_int_equal(c.refused, 1);
	driver_init(vdrv_device_features(t) & ~((1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << F_STATS_VQ)));
	send(2, 0x80000, 0x1000, true);
	assert_true(page_is(0x80000, 0));
}

static void put_stat(uint8_t *p, uint16_t tag, uint64_t v)
{
	memcpy(p, &tag, 2);
	memcpy(p + 2, &v, 8);
}

/* The driver's buffer is kept (not used) until the host asks; then it
 * comes back, and its refill is read. Unknown tags and a partial record
 * are skipped. */
static void test_stats_kept_and_requested(void **state)
{
	struct virtio_balloon_stats st;
	virtio_balloon_stats(b, &st);
	assert_int_equal(st.updates, 0);
	virtio_balloon_request_stats(b); /* nothing held: nothing happens */
	assert_int_equal(used_idx(QS), 0);

	uint8_t *p = ram + 0x30000;
	put_stat(p, 5, 256ull << 20);  /* MEMTOT */
	put_stat(p + 10, 6, 100ull << 20); /* AVAIL */
	put_stat(p + 20, 99, 7);       /* a tag from the future */
	put_stat(p + 30, 4, 50ull << 20); /* MEMFREE */
	vdrv_wr(t, VIRTIO_MMIO_CONFIG + 4, 77); /* the driver's actual now */
	put(QS, 0, 0x30000, 45, false); /* 4 records and half of one */
	assert_int_equal(used_idx(QS), 0); /* held */
	virtio_balloon_stats(b, &st);
	assert_int_equal(st.updates, 1);
	assert_true(st.deflate_on_oom);
	assert_int_equal(st.value[5], 256ull << 20);
	assert_int_equal(st.value[6], 100ull << 20);
	assert_int_equal(st.value[4], 50ull << 20);
	assert_int_equal(st.present, (1u << 4) | (1u << 5) | (1u << 6));
	assert_int_equal(st.actual_pages, 77); /* the balloon of that instant */

	virtio_balloon_request_stats(b);
	assert_int_equal(used_idx(QS), 1);
	assert_true(irq_level); /* the used buffer interrupts the driver */
	virtio_balloon_request_stats(b); /* given back already: once only */
	assert_int_equal(used_idx(QS), 1);
	put_stat(p + 10, 6, 30ull << 20);
	put(QS, 0, 0x30000, 20, false);
	virtio_balloon_stats(b, &st);
	assert_int_equal(st.updates, 2);
	assert_int_equal(st.value[6], 30ull << 20);
	assert_int_equal(st.present, (1u << 5) | (1u << 6));

	/* A second buffer while one is held: the older goes back. */
	put(QS, 1, 0x30000, 10, false);
	assert_int_equal(used_idx(QS), 2);

	/* The held buffer survives a snapshot: a restored device can still
	 * ask for fresh figures. */
	uint8_t *buf;
	size_t len = vdrv_save(virtio_balloon_type.ops, b, &buf);
	virtio_balloon_request_stats(b);
	assert_int_equal(used_idx(QS), 3);
	char field[64];
	assert_int_equal(vdrv_restore(virtio_balloon_type.ops, b, buf, len, field), 0);
	memset(ram + ring(QS, 2) + 2, 0, 2); /* the ring as the snapshot saw it */
	virtio_balloon_request_stats(b);
	assert_int_equal(used_idx(QS), 3); /* the device's own count, restored: 2, and one more */
	/* A held head beyond the ring is refused (version, num_pages and
	 * actual are 4 bytes each, then held, then the head). */
	assert_int_equal(buf[12], 1);
	buf[13] = QSZ;
	buf[14] = 0;
	assert_int_equal(vdrv_restore(virtio_balloon_type.ops, b, buf, len, field), -1);
	assert_string_equal(field, "stats_head");
	buf[4] = 3; /* and version 1, the balloon without stats */
	buf[0] = 1;
	assert_int_equal(vdrv_restore(virtio_balloon_type.ops, b, buf, len, field), -1);
	free(buf);
}

static void test_target_and_actual(void **state)
{
	virtio_balloon_set_target(b, 8 << 20);
	assert_int_equal(vdrv_rd(t, VIRTIO_MMIO_CONFIG), 2048);
	assert_int_equal(config_irqs, 1);
	vdrv_wr(t, VIRTIO_MMIO_CONFIG + 4, 512);
	vdrv_wr(t, VIRTIO_MMIO_CONFIG, 7); /* num_pages is the host's: ignored */
	assert_int_equal(vdrv_rd(t, VIRTIO_MMIO_CONFIG), 2048);
	assert_int_equal(vdrv_rd(t, VIRTIO_MMIO_CONFIG + 4), 512);
	assert_int_equal(vdrv_rd(t, VIRTIO_MMIO_CONFIG + 0xf0), 0); /* past the config: zero */
	struct virtio_balloon_counters c;
	virtio_balloon_counters(b, &c);
	assert_int_equal(c.target_pages, 2048);
	assert_int_equal(c.actual_pages, 512);

	uint8_t *buf;
	size_t len = vdrv_save(virtio_balloon_type.ops, b, &buf);
	virtio_balloon_set_target(b, 0);
	vdrv_wr(t, VIRTIO_MMIO_CONFIG + 4, 0);
	char field[64];
	assert_int_equal(vdrv_restore(virtio_balloon_type.ops, b, buf, len, field), 0);
	assert_int_equal(vdrv_rd(t, VIRTIO_MMIO_CONFIG), 2048);
	assert_int_equal(vdrv_rd(t, VIRTIO_MMIO_CONFIG + 4), 512);
	assert_int_equal(vdrv_restore(virtio_balloon_type.ops, b, buf, len - 3, field), -1);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_features_and_queues, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inflate_releases_whole_blocks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reporting_releases_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queues_follow_the_features, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_kept_and_requested, setup, teardown),
		cmocka_unit_test_setup_teardown(test_target_and_actual, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
