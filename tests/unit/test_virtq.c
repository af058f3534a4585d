/* Split virtqueue: well-formed chains, hostile rings, notification
 * suppression. A guest_mem over a calloc'd buffer plays guest RAM and the
 * test writes the rings as a driver would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/device_snapshot.h"
#include "dev/virtio/virtq.h"
#include "util/le.h"

#define RAM_SIZE 0x100000ULL
#define QSZ 8
#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000
#define TABLE 0x4000 /* indirect tables */
#define DATA 0x10000

static uint8_t *ram;
static struct guest_mem mem;
static struct virtq q;
static uint16_t drv_avail_idx;

static void wr16(uint64_t gpa, uint16_t v) { memcpy(ram + gpa, &v, 2); }
static void wr32(uint64_t gpa, uint32_t v) { memcpy(ram + gpa, &v, 4); }
static void wr64(uint64_t gpa, uint64_t v) { memcpy(ram + gpa, &v, 8); }
static uint16_t rd16(uint64_t gpa) { uint16_t v; memcpy(&v, ram + gpa, 2); return v; }
static uint32_t rd32(uint64_t gpa) { uint32_t v; memcpy(&v, ram + gpa, 4); return v; }

static void put_desc(uint64_t table, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	uint64_t d = table + 16ULL * i;
	wr64(d, addr);
	wr32(d + 8, len);
	wr16(d + 12, flags);
	wr16(d + 14, next);
}

static void set_desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	put_desc(DESC, i, addr, len, flags, next);
}

static void avail_add(uint16_t head)
{
	wr16(AVAIL + 4 + 2 * (drv_avail_idx % QSZ), head);
	drv_avail_idx++;
	wr16(AVAIL + 2, drv_avail_idx);
}

static void make_queue(uint64_t features)
{
	memset(ram, 0, RAM_SIZE);
	drv_avail_idx = 0;
	virtq_init(&q, &mem);
	q.size = QSZ;
	q.desc_gpa = DESC;
	q.avail_gpa = AVAIL;
	q.used_gpa = USED;
	assert_int_equal(virtq_enable(&q, features), 0);
}

static int setup(void **state)
{
	ram = calloc(1, RAM_SIZE);
	if (!ram)
		return -1;
	guest_mem_init_over(&mem, ram, RAM_SIZE);
	make_queue(0);
	return 0;
}

static int teardown(void **state)
{
	free(ram);
	return 0;
}

#define INDIRECT (1ULL << VIRTIO_RING_F_INDIRECT_DESC)
#define EVENT_IDX (1ULL << VIRTIO_RING_F_EVENT_IDX)

static struct virtq_chain c;

/* Expect the next pop to fail and the queue to stay broken. */
static void expect_broken(void)
{
	assert_int_equal(virtq_pop(&q, &c), -1);
	assert_true(q.broken);
	assert_int_equal(virtq_pop(&q, &c), -1);
}

static void test_single_buffer(void **state)
{
	set_desc(3, DATA, 100, 0, 0);
	avail_add(3);
	assert_int_equal(virtq_pop(&q, &c), 1);
	assert_int_equal(c.head, 3);
	assert_int_equal(c.nbufs, 1);
	assert_int_equal(c.nreadable, 1);
	assert_ptr_equal(c.bufs[0].host, ram + DATA);
	assert_int_equal(c.bufs[0].len, 100);
	assert_false(c.bufs[0].writable);
	assert_int_equal(c.readable_len, 100);
	assert_int_equal(c.writable_len, 0);
	assert_int_equal(virtq_pop(&q, &c), 0);
	assert_false(q.broken);
}

static void test_chain_readable_then_writable(void **state)
{
	set_desc(0, DATA, 16, VIRTQ_DESC_F_NEXT, 5);
	set_desc(5, DATA + 0x100, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	set_desc(2, DATA + 0x400, 1, VIRTQ_DESC_F_WRITE, 0);
	avail_add(0);
	assert_int_equal(virtq_pop(&q, &c), 1);
	assert_int_equal(c.nbufs, 3);
	assert_int_equal(c.nreadable, 1);
	assert_int_equal(c.readable_len, 16);
	assert_int_equal(c.writable_len, 513);
	assert_true(c.bufs[1].writable && c.bufs[2].writable);
	assert_ptr_equal(c.bufs[2].host, ram + DATA + 0x400);
}

/* A migration's device-write bitmap (guest_mem_track_writes): the pages of
 * the writable buffers a pop hands out and of the used ring a push writes
 * are marked, readable buffers' are not; nothing is marked while off. */
static bool marked(const uint64_t *bits, uint64_t gpa)
{
	return bits[gpa / 4096 / 64] >> (gpa / 4096 % 64) & 1;
}

static void test_device_writes_are_marked(void **state)
{
	uint64_t bits[RAM_SIZE / 4096 / 64 + 1] = { 0 };
	set_desc(0, DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, DATA + 0x2ff0, 0x20, VIRTQ_DESC_F_WRITE, 0); /* crosses a page */
	avail_add(0);
	assert_int_equal(virtq_pop(&q, &c), 1); /* off: nothing marked */
	assert_int_equal(virtq_push(&q, 0, 0x20), 0);
	for (unsigned i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		assert_int_equal(bits[i], 0);
	guest_mem_track_writes(&mem, bits);
	avail_add(0);
	assert_int_equal(virtq_pop(&q, &c), 1);
	assert_false(marked(bits, DATA)); /* readable: the device only reads it */
	assert_true(marked(bits, DATA + 0x2000));
	assert_true(marked(bits, DATA + 0x3000));
	assert_false(marked(bits, DATA + 0x4000));
	assert_false(marked(bits, USED));
	assert_int_equal(virtq_push(&q, 0, 0x20), 0);
	assert_true(marked(bits, USED));
	guest_mem_track_writes(&mem, NULL);
	/* Outside the mapping: ignored, not a write out of bounds. */
	guest_mem_mark_written(&mem, ram + RAM_SIZE, 1);
	guest_mem_track_writes(&mem, bits);
	guest_mem_mark_written(&mem, ram + RAM_SIZE, 4096);
	guest_mem_mark_written(&mem, ram + RAM_SIZE - 1, 4096); /* clipped to RAM */
	assert_true(marked(bits, RAM_SIZE - 1));
	assert_int_equal(bits[RAM_SIZE / 4096 / 64], 0);
	guest_mem_track_writes(&mem, NULL);
}

static void test_push_and_notify(void **state)
{
	set_desc(1, DATA, 8, VIRTQ_DESC_F_WRITE, 0);
	avail_add(1);
	assert_int_equal(virtq_pop(&q, &c), 1);
	assert_false(virtq_should_notify(&q)); /* nothing used yet */
	assert_int_equal(virtq_push(&q, c.head, 8), 0);
	assert_int_equal(rd16(USED + 2), 1);
	assert_int_equal(rd32(USED + 4), 1);
	assert_int_equal(rd32(USED + 8), 8);
	assert_true(virtq_should_notify(&q));
	assert_false(virtq_should_notify(&q)); /* already signalled */

	/* The driver suppresses interrupts. */
	wr16(AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
	avail_add(1);
	assert_int_equal(virtq_pop(&q, &c), 1);
	assert_int_equal(virtq_push(&q, c.head, 0), 0);
	assert_false(virtq_should_notify(&q));
	assert_int_equal(rd16(USED + 2), 2);
	/* A head out of range is refused. */
	assert_int_equal(virtq_push(&q, QSZ, 0), -1);
}

static void test_loop_two_descriptors(void **state)
{
	set_desc(0, DATA, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, DATA, 8, VIRTQ_DESC_F_NEXT, 0);
	avail_add(0);
	expect_broken();
	/* Fixing the ring does not revive a broken queue. */
	set_desc(1, DATA, 8, 0, 0);
	expect_broken();
}

static void test_self_loop(void **state)
{
	set_desc(4, DATA, 8, VIRTQ_DESC_F_NEXT, 4);
	avail_add(4);
	expect_broken();
}

static void test_loop_through_whole_ring(void **state)
{
	for (uint16_t i = 0; i < QSZ; i++)
		set_desc(i, DATA, 4, VIRTQ_DESC_F_NEXT, (uint16_t)((i + 1) % QSZ));
	avail_add(0);
	expect_broken();
}

static void test_chain_as_long_as_ring_ok(void **state)
{
	for (uint16_t i = 0; i < QSZ; i++)
		set_desc(i, DATA + 8 * i, 4, i + 1 < QSZ ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	avail_add(0);
	assert_int_equal(virtq_pop(&q, &c), 1);
	assert_int_equal(c.nbufs, QSZ);
	assert_int_equal(c.readable_len, 4 * QSZ);
}

static void test_next_out_of_range(void **state)
{
	set_desc(0, DATA, 8, VIRTQ_DESC_F_NEXT, QSZ);
	avail_add(0);
	expect_broken();
}

static void test_head_out_of_range(void **state)
{
	avail_add(QSZ);
	expect_broken();
	make_queue(0);
	avail_add(0xffff);
	expect_broken();
}

static void test_buffer_outside_ram(void **state)
{
	set_desc(0, RAM_SIZE - 4, 8, 0, 0);
	avail_add(0);
	expect_broken();
}

static void test_buffer_beyond_ram(void **state)
{
	set_desc(0, RAM_SIZE + 0x1000, 1, 0, 0);
	avail_add(0);
	expect_broken();
}

static void test_buffer_at_ram_edge_ok(void **state)
{
	set_desc(0, RAM_SIZE - 8, 8, VIRTQ_DESC_F_WRITE, 0);
	avail_add(0);
	assert_int_equal(virtq_pop(&q, &c), 1);
	assert_ptr_equal(c.bufs[0].host, ram + RAM_SIZE - 8);
	c.bufs[0].host[7] = 0xaa; /* the whole buffer is really addressable */
}

static void test_address_wraps_64bit(void **state)
{
	set_desc(0, UINT64_MAX - 3, 16, 0, 0);
	avail_add(0);
	expect_broken();
}

static void test_address_wraps_to_ram(void **state)
{
	/* addr + len wraps around to land inside RAM. */
	set_desc(0, 0xfffffffffffff000ULL, 0x2000, 0, 0);
	avail_add(0);
	expect_broken();
}

static void test_zero_length_harmless(void **state)
{
	/* Empty descriptors are skipped wherever they point, even after
	 * writable ones. */
	set_desc(0, UINT64_MAX, 0, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, DATA, 8, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	set_desc(2, RAM_SIZE * 4, 0, 0, 0);
	avail_add(0);
	assert_int_equal(virtq_pop(&q, &c), 1);
	assert_int_equal(c.nbufs, 1);
	assert_int_equal(c.writable_len, 8);
	assert_int_equal(c.readable_len, 0);
}

static void test_writable_then_readable(void **state)
{
	set_desc(0, DATA, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, DATA + 8, 8, 0, 0);
	avail_add(0);
	expect_broken();
}

static void test_avail_idx_too_far(void **state)
{
	set_desc(0, DATA, 8, 0, 0);
	wr16(AVAIL + 2, QSZ + 1);
	expect_broken();
}

static void test_avail_idx_full_ring_ok(void **state)
{
	for (uint16_t i = 0; i < QSZ; i++) {
		set_desc(i, DATA + 16 * i, 16, 0, 0);
		avail_add(i);
	}
	for (uint16_t i = 0; i < QSZ; i++) {
		assert_int_equal(virtq_pop(&q, &c), 1);
		assert_int_equal(c.head, i);
		assert_int_equal(virtq_push(&q, c.head, 0), 0);
	}
	assert_int_equal(virtq_pop(&q, &c), 0);
}

static void test_idx_wraparound(void **state)
{
	/* The 16-bit indices wrap; distances are computed modulo 2^16. */
	q.last_avail_idx = 0xfffe;
	q.used_idx = 0xfffe;
	q.signalled_used = 0xfffe;
	drv_avail_idx = 0xfffe;
	for (uint16_t i = 0; i < 3; i++) {
		set_desc(i, DATA, 4, 0, 0);
		avail_add(i);
	}
	assert_int_equal(rd16(AVAIL + 2), 1);
	for (uint16_t i = 0; i < 3; i++) {
		assert_int_equal(virtq_pop(&q, &c), 1);
		assert_int_equal(c.head, i);
		assert_int_equal(virtq_push(&q, c.head, 4), 0);
	}
	assert_int_equal(virtq_pop(&q, &c), 0);
	assert_int_equal(rd16(USED + 2), 1);
	assert_true(virtq_should_notify(&q));
}

static void test_unpop_returns_chains(void **state)
{
	for (uint16_t i = 0; i < 3; i++) {
		set_desc(i, DATA + 16 * i, 16, VIRTQ_DESC_F_WRITE, 0);
		avail_add(i);
	}
	assert_int_equal(virtq_pop(&q, &c), 1);
	assert_int_equal(virtq_pop(&q, &c), 1);
	virtq_unpop(&q, 2);
	/* The same chains come back, in order, and nothing was used. */
	for (uint16_t i = 0; i < 3; i++) {
		assert_int_equal(virtq_pop(&q, &c), 1);
		assert_int_equal(c.head, i);
	}
	assert_int_equal(virtq_pop(&q, &c), 0);
	assert_int_equal(rd16(USED + 2), 0);
	/* Across the 16-bit wrap too. */
	q.last_avail_idx = 1;
	virtq_unpop(&q, 3);
	assert_int_equal(q.last_avail_idx, 0xfffe);
}

static void test_unpop_keeps_avail_event(void **state)
{
	make_queue(EVENT_IDX);
	set_desc(0, DATA, 16, VIRTQ_DESC_F_WRITE, 0);
	avail_add(0);
	assert_int_equal(virtq_pop(&q, &c), 1);
	assert_int_equal(virtq_pop(&q, &c), 0); /* asks for a kick at entry 1 */
	virtq_unpop(&q, 1);
	/* Still 1: the driver kicks when it adds the next buffer. */
	assert_int_equal(rd16(USED + 4 + 8 * QSZ), 1);
	assert_int_equal(virtq_pop(&q, &c), 1);
	assert_int_equal(c.head, 0);
}

static void test_push_batch(void **state)
{
	uint16_t heads[3] = { 5, 2, 7 };
	uint32_t lens[3] = { 100, 200, 44 };
	assert_int_equal(virtq_push_batch(&q, heads, lens, 3), 0);
	assert_int_equal(rd16(USED + 2), 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(rd32(USED + 4 + 8 * i), heads[i]);
		assert_int_equal(rd32(USED + 8 + 8 * i), lens[i]);
	}
	/* A bad head anywhere: nothing is written. */
	uint16_t bad[2] = { 1, QSZ };
	assert_int_equal(virtq_push_batch(&q, bad, lens, 2), -1);
	assert_int_equal(rd16(USED + 2), 3);
	assert_int_equal(virtq_push_batch(&q, heads, lens, QSZ + 1), -1);
	/* Wraps around the ring. */
	uint16_t many[QSZ];
	uint32_t ml[QSZ];
	for (int i = 0; i < QSZ; i++) {
		many[i] = (uint16_t)i;
		ml[i] = (uint32_t)i;
	}
	assert_int_equal(virtq_push_batch(&q, many, ml, QSZ), 0);
	assert_int_equal(rd16(USED + 2), 3 + QSZ);
	assert_int_equal(rd32(USED + 4 + 8 * 3), 0);
	assert_int_equal(rd32(USED + 4 + 8 * 2), QSZ - 1);
}

static void test_descriptor_rewrite_after_pop(void **state)
{
	set_desc(0, DATA, 64, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, DATA + 0x100, 32, VIRTQ_DESC_F_WRITE, 0);
	avail_add(0);
	assert_int_equal(virtq_pop(&q, &c), 1);
	/* The guest now points the descriptors elsewhere. */
	set_desc(0, RAM_SIZE - 1, 0xffffffff, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0);
	set_desc(1, 0, 0xffffffff, 0, 0);
	assert_ptr_equal(c.bufs[0].host, ram + DATA);
	assert_int_equal(c.bufs[0].len, 64);
	assert_false(c.bufs[0].writable);
	assert_ptr_equal(c.bufs[1].host, ram + DATA + 0x100);
	assert_int_equal(c.bufs[1].len, 32);
	assert_int_equal(c.readable_len, 64);
	assert_int_equal(c.writable_len, 32);
}

static void test_enable_checks(void **state)
{
	struct {
		uint16_t size;
		uint64_t desc, avail, used;
	} bad[] = {
		{ 0, DESC, AVAIL, USED },
		{ 6, DESC, AVAIL, USED },                  /* not a power of two */
		{ QSZ, DESC + 8, AVAIL, USED },            /* misaligned table */
		{ QSZ, DESC, AVAIL + 1, USED },            /* misaligned avail */
		{ QSZ, DESC, AVAIL, USED + 2 },            /* misaligned used */
		{ QSZ, RAM_SIZE - 64, AVAIL, USED },       /* table leaves RAM */
		{ QSZ, DESC, RAM_SIZE - 16, USED },        /* avail leaves RAM */
		{ QSZ, DESC, AVAIL, RAM_SIZE - 68 },       /* used (event idx) leaves RAM */
		{ QSZ, DESC, AVAIL, 0xfffffffffffffff0ULL }, /* wraps */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		virtq_init(&q, &mem);
		q.size = bad[i].size;
		q.desc_gpa = bad[i].desc;
		q.avail_gpa = bad[i].avail;
		q.used_gpa = bad[i].used;
		assert_int_equal(virtq_enable(&q, 0), -1);
		assert_false(q.ready);
		assert_true(q.broken);
		assert_int_equal(virtq_pop(&q, &c), -1);
	}
	/* Rings ending exactly at the end of RAM are fine. */
	virtq_init(&q, &mem);
	q.size = QSZ;
	q.desc_gpa = RAM_SIZE - 16 * QSZ;
	q.avail_gpa = AVAIL;
	q.used_gpa = USED;
	assert_int_equal(virtq_enable(&q, 0), 0);
	/* Reset clears everything. */
	virtq_reset(&q);
	assert_false(q.ready);
	assert_false(q.broken);
	assert_int_equal(q.desc_gpa, 0);
	assert_int_equal(q.size, VIRTQ_MAX_SIZE);
}

static void test_not_ready_pops_nothing(void **state)
{
	set_desc(0, DATA, 8, 0, 0);
	avail_add(0);
	virtq_disable(&q);
	assert_int_equal(virtq_pop(&q, &c), 0);
	assert_int_equal(virtq_push(&q, 0, 0), -1);
}

/* ---- indirect descriptors ---- */

static void test_indirect_ok(void **state)
{
	make_queue(INDIRECT);
	put_desc(TABLE, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 2);
	put_desc(TABLE, 2, DATA + 0x200, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	put_desc(TABLE, 1, DATA + 0x600, 1, VIRTQ_DESC_F_WRITE, 0);
	/* One direct descriptor before the indirect one is allowed. */
	set_desc(6, DATA + 0x800, 4, VIRTQ_DESC_F_NEXT, 7);
	set_desc(7, TABLE, 3 * 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	avail_add(6);
	assert_int_equal(virtq_pop(&q, &c), 1);
	assert_int_equal(c.head, 6);
	assert_int_equal(c.nbufs, 4);
	assert_int_equal(c.readable_len, 20);
	assert_int_equal(c.writable_len, 513);
	assert_ptr_equal(c.bufs[3].host, ram + DATA + 0x600);
}

static void indirect_case(uint64_t features, uint64_t addr, uint32_t len, uint16_t flags)
{
	make_queue(features);
	put_desc(TABLE, 0, DATA, 16, 0, 0); /* a valid entry: only the table is wrong */
	set_desc(0, addr, len, VIRTQ_DESC_F_INDIRECT | flags, 1);
	set_desc(1, DATA, 4, 0, 0);
	avail_add(0);
	expect_broken();
}

static void test_indirect_bad_tables(void **state)
{
	indirect_case(0, TABLE, 16, 0);                      /* not negotiated */
	indirect_case(INDIRECT, TABLE, 24, 0);               /* not a multiple of 16 */
	indirect_case(INDIRECT, TABLE, 0, 0);                /* empty */
	indirect_case(INDIRECT, RAM_SIZE - 16, 32, 0);       /* outside RAM */
	indirect_case(INDIRECT, UINT64_MAX - 15, 32, 0);     /* wraps */
	indirect_case(INDIRECT, TABLE, 16 * (VIRTQ_MAX_CHAIN + 1), 0); /* too long */
	indirect_case(INDIRECT, TABLE, 16, VIRTQ_DESC_F_NEXT); /* INDIRECT|NEXT */
}

static void indirect_entries_case(void (*fill)(void), uint32_t n)
{
	make_queue(INDIRECT);
	fill();
	set_desc(0, TABLE, 16 * n, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken();
}

static void fill_nested(void) { put_desc(TABLE, 0, TABLE + 0x100, 16, VIRTQ_DESC_F_INDIRECT, 0); }
static void fill_loop(void)
{
	put_desc(TABLE, 0, DATA, 4, VIRTQ_DESC_F_NEXT, 1);
	put_desc(TABLE, 1, DATA, 4, VIRTQ_DESC_F_NEXT, 0);
}
static void fill_next_beyond(void) { put_desc(TABLE, 0, DATA, 4, VIRTQ_DESC_F_NEXT, 2); }
static void fill_outside(void) { put_desc(TABLE, 0, RAM_SIZE, 4, 0, 0); }
static void fill_order(void)
{
	put_desc(TABLE, 0, DATA, 4, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	put_desc(TABLE, 1, DATA, 4, 0, 0);
}

static void test_indirect_bad_entries(void **state)
{
	indirect_entries_case(fill_nested, 1);
	indirect_entries_case(fill_loop, 2);
	indirect_entries_case(fill_next_beyond, 2);
	indirect_entries_case(fill_outside, 1);
	indirect_entries_case(fill_order, 2);
}

static void test_indirect_writable_then_direct_readable(void **state)
{
	/* The direct part is writable, the indirect part readable. */
	make_queue(INDIRECT);
	put_desc(TABLE, 0, DATA, 4, 0, 0);
	set_desc(0, DATA, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken();
}

static void test_indirect_total_limit(void **state)
{
	/* A full 256-entry table plus one direct descriptor is too long. */
	make_queue(INDIRECT);
	for (uint16_t i = 0; i < VIRTQ_MAX_CHAIN; i++)
		put_desc(TABLE, i, DATA, 1, i + 1 < VIRTQ_MAX_CHAIN ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	set_desc(0, TABLE, 16 * VIRTQ_MAX_CHAIN, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	assert_int_equal(virtq_pop(&q, &c), 1);
	assert_int_equal(c.nbufs, VIRTQ_MAX_CHAIN);
	set_desc(1, DATA, 1, VIRTQ_DESC_F_NEXT, 0);
	avail_add(1);
	expect_broken();
}

/* ---- event index ---- */

static void test_event_idx(void **state)
{
	make_queue(EVENT_IDX);
	uint64_t used_event = AVAIL + 4 + 2 * QSZ;
	uint64_t avail_event = USED + 4 + 8 * QSZ;
	for (uint16_t i = 0; i < QSZ; i++)
		set_desc(i, DATA, 4, VIRTQ_DESC_F_WRITE, 0);

	/* Popping keeps avail_event at our position, so the driver kicks. */
	avail_add(0);
	assert_int_equal(virtq_pop(&q, &c), 1);
	assert_int_equal(rd16(avail_event), 1);
	assert_int_equal(virtq_pop(&q, &c), 0);
	assert_int_equal(rd16(avail_event), 1);

	/* used_event 0: the first used entry interrupts. */
	wr16(used_event, 0);
	assert_int_equal(virtq_push(&q, 0, 4), 0);
	assert_true(virtq_should_notify(&q));
	/* used_event still 0: the driver has not re-armed, no interrupt. */
	avail_add(1);
	assert_int_equal(virtq_pop(&q, &c), 1);
	assert_int_equal(virtq_push(&q, 1, 4), 0);
	assert_false(virtq_should_notify(&q));
	/* Driver wants an interrupt once used idx passes 4. */
	wr16(used_event, 4);
	for (uint16_t i = 2; i < 4; i++) {
		avail_add(i);
		assert_int_equal(virtq_pop(&q, &c), 1);
		assert_int_equal(virtq_push(&q, i, 4), 0);
		assert_false(virtq_should_notify(&q));
	}
	/* Batch: two pushes cross used_event=4 together. */
	for (uint16_t i = 4; i < 6; i++) {
		avail_add(i);
		assert_int_equal(virtq_pop(&q, &c), 1);
		assert_int_equal(virtq_push(&q, i, 4), 0);
	}
	assert_true(virtq_should_notify(&q));
	/* NO_INTERRUPT is ignored with EVENT_IDX: used_event rules. */
	wr16(AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
	wr16(used_event, 6);
	avail_add(6);
	assert_int_equal(virtq_pop(&q, &c), 1);
	assert_int_equal(virtq_push(&q, 6, 4), 0);
	assert_true(virtq_should_notify(&q));
}

/* ---- chain helpers ---- */

static void test_chain_copy_helpers(void **state)
{
	set_desc(0, DATA, 3, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, DATA + 0x10, 5, VIRTQ_DESC_F_NEXT, 2);
	set_desc(2, DATA + 0x100, 4, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3);
	set_desc(3, DATA + 0x200, 4, VIRTQ_DESC_F_WRITE, 0);
	memcpy(ram + DATA, "abc", 3);
	memcpy(ram + DATA + 0x10, "defgh", 5);
	avail_add(0);
	assert_int_equal(virtq_pop(&q, &c), 1);

	char buf[16] = { 0 };
	assert_int_equal(virtq_chain_read(&c, 1, buf, 6), 6);
	assert_memory_equal(buf, "bcdefg", 6);
	assert_int_equal(virtq_chain_read(&c, 6, buf, 10), 2); /* stream ends at 8 */
	assert_int_equal(virtq_chain_read(&c, 20, buf, 4), 0);

	assert_int_equal(virtq_chain_write(&c, 2, "WXYZ", 4), 4);
	assert_memory_equal(ram + DATA + 0x102, "WX", 2);
	assert_memory_equal(ram + DATA + 0x200, "YZ", 2);
	assert_int_equal(virtq_chain_write(&c, 7, "12", 2), 1);

	struct iovec iov[4];
	assert_int_equal(virtq_chain_iov(&c, true, 2, 5, iov, 4), 2);
	assert_ptr_equal(iov[0].iov_base, ram + DATA + 0x102);
	assert_int_equal(iov[0].iov_len, 2);
	assert_ptr_equal(iov[1].iov_base, ram + DATA + 0x200);
	assert_int_equal(iov[1].iov_len, 3);
	assert_int_equal(virtq_chain_iov(&c, false, 0, 8, iov, 4), 2);
	assert_int_equal(virtq_chain_iov(&c, false, 0, 9, iov, 4), -1); /* past the end */
	assert_int_equal(virtq_chain_iov(&c, true, UINT64_MAX, 2, iov, 4), -1);
	assert_int_equal(virtq_chain_iov(&c, false, 0, 8, iov, 1), -1); /* too few iovecs */
	assert_int_equal(virtq_chain_iov(&c, true, 8, 0, iov, 4), 0);
}

/* ---- snapshot ---- */

/* Where virtq_snapshot puts each field (little-endian, no padding). */
#define SNAP_SIZE 0
#define SNAP_DESC 2
#define SNAP_AVAIL 10
#define SNAP_USED 18
#define SNAP_READY 26
#define SNAP_INDIRECT 28
#define SNAP_EVENT_IDX 29
#define SNAP_LAST_AVAIL 30
#define SNAP_USED_IDX 32
#define SNAP_SIGNALLED 34
#define SNAP_LEN 36

static uint8_t saved[SNAP_LEN];

/* Field by field (a struct compare would see padding). */
static void assert_same_queue(const struct virtq *a, const struct virtq *b)
{
	assert_ptr_equal(a->mem, b->mem);
	assert_int_equal(a->size, b->size);
	assert_int_equal(a->desc_gpa, b->desc_gpa);
	assert_int_equal(a->avail_gpa, b->avail_gpa);
	assert_int_equal(a->used_gpa, b->used_gpa);
	assert_int_equal(a->ready, b->ready);
	assert_int_equal(a->broken, b->broken);
	assert_int_equal(a->indirect, b->indirect);
	assert_int_equal(a->event_idx, b->event_idx);
	assert_int_equal(a->last_avail_idx, b->last_avail_idx);
	assert_int_equal(a->used_idx, b->used_idx);
	assert_int_equal(a->signalled_used, b->signalled_used);
	assert_ptr_equal(a->desc, b->desc);
	assert_ptr_equal(a->avail, b->avail);
	assert_ptr_equal(a->used, b->used);
}

static void save_queue(uint64_t features)
{
	struct device_snapshot s;
	snapshot_init_save(&s);
	assert_int_equal(virtq_snapshot(&q, features, &s), 0);
	assert_true(snapshot_done(&s));
	assert_int_equal(s.len, SNAP_LEN);
	memcpy(saved, s.buf, SNAP_LEN);
	snapshot_free(&s);
}

/* Restores buf[0..len) into a fresh queue r, then expects its end: 0, or -1
 * with the failed field in *field. */
static int restore_queue(struct virtq *r, const uint8_t *buf, size_t len, uint64_t features,
			 char *field)
{
	virtq_init(r, &mem);
	struct virtq fresh = *r;
	struct device_snapshot s;
	snapshot_init_restore(&s, buf, len);
	int rc = virtq_snapshot(r, features, &s);
	if (rc < 0)
		assert_same_queue(r, &fresh); /* a failed restore commits nothing */
	else if (!snapshot_done(&s))
		rc = -1; /* the queue was fine: what follows it is not */
	if (rc < 0) {
		assert_true(s.failed);
		strcpy(field, s.failed_field);
	}
	return rc;
}

/* Some traffic, a save, a new queue restored over the same RAM: the ring
 * carries on where it was (indices not reset, rings found again). */
static void test_snapshot_round_trip(void **state)
{
	uint64_t f = INDIRECT | EVENT_IDX;
	make_queue(f);
	uint64_t used_event = AVAIL + 4 + 2 * QSZ;
	for (uint16_t i = 0; i < QSZ; i++)
		set_desc(i, DATA + 0x100ULL * i, 16, VIRTQ_DESC_F_WRITE, 0);
	for (int i = 0; i < 11; i++) { /* past the ring size: indices wrap the slots */
		avail_add((uint16_t)(i % QSZ));
		assert_int_equal(virtq_pop(&q, &c), 1);
		assert_int_equal(virtq_push(&q, c.head, 16), 0);
	}
	wr16(used_event, 10);
	assert_true(virtq_should_notify(&q));
	avail_add(3); /* published, not yet seen by the device */
	struct virtq before = q;
	save_queue(f);

	char field[64];
	struct virtq r;
	assert_int_equal(restore_queue(&r, saved, SNAP_LEN, f, field), 0);
	assert_same_queue(&r, &before); /* host views included */
	q = r;
	/* The next request completes into the next used slot. */
	assert_int_equal(virtq_pop(&q, &c), 1);
	assert_int_equal(c.head, 3);
	assert_ptr_equal(c.bufs[0].host, ram + DATA + 0x300);
	assert_int_equal(virtq_push(&q, c.head, 5), 0);
	assert_int_equal(rd16(USED + 2), 12);
	assert_int_equal(rd32(USED + 4 + 8 * (11 % QSZ)), 3);
	assert_int_equal(rd32(USED + 4 + 8 * (11 % QSZ) + 4), 5);
	wr16(used_event, 11);
	assert_true(virtq_should_notify(&q)); /* signalled_used came back as 11 */
	assert_int_equal(rd16(USED + 4 + 8 * QSZ), 12); /* avail_event moved on */

	/* A queue that is not live comes back as it was, views and all NULL. */
	virtq_init(&q, &mem);
	q.size = 6; /* the driver wrote it; it never went live */
	q.desc_gpa = 0x123;
	q.broken = true;
	before = q;
	save_queue(0);
	assert_int_equal(restore_queue(&r, saved, SNAP_LEN, 0, field), 0);
	assert_same_queue(&r, &before);
	assert_null(r.desc);
}

static void test_snapshot_refusals(void **state)
{
	uint64_t f = EVENT_IDX;
	make_queue(f);
	set_desc(0, DATA, 16, 0, 0);
	avail_add(0);
	assert_int_equal(virtq_pop(&q, &c), 1);
	assert_int_equal(virtq_push(&q, 0, 0), 0);
	save_queue(f);
	char field[64];
	struct virtq r;
	uint8_t bad[SNAP_LEN + 1];

	/* Every prefix is short of something. */
	for (size_t len = 0; len < SNAP_LEN; len++)
		assert_int_equal(restore_queue(&r, saved, len, f, field), -1);
	/* Bytes after the queue are not ours. */
	memcpy(bad, saved, SNAP_LEN);
	bad[SNAP_LEN] = 0;
	assert_int_equal(restore_queue(&r, bad, SNAP_LEN + 1, f, field), -1);
	assert_string_equal(field, "trailing bytes");

	/* What virtq_enable refuses, named. */
	struct {
		uint16_t size;
		uint64_t desc, avail, used;
		const char *field;
	} geo[] = {
		{ 0, DESC, AVAIL, USED, "size" },
		{ 6, DESC, AVAIL, USED, "size" },
		{ VIRTQ_MAX_SIZE * 2, DESC, AVAIL, USED, "size" },
		{ QSZ, DESC + 8, AVAIL, USED, "desc_gpa" },
		{ QSZ, DESC, AVAIL + 1, USED, "avail_gpa" },
		{ QSZ, DESC, AVAIL, USED + 2, "used_gpa" },
		{ QSZ, RAM_SIZE - 64, AVAIL, USED, "desc_gpa" },
		{ QSZ, 0x4000000000ULL, AVAIL, USED, "desc_gpa" },
		{ QSZ, DESC, RAM_SIZE - 16, USED, "avail_gpa" },
		{ QSZ, DESC, AVAIL, RAM_SIZE - 68, "used_gpa" },
		{ QSZ, DESC, AVAIL, 0xfffffffffffffff0ULL, "used_gpa" },
	};
	for (size_t i = 0; i < sizeof(geo) / sizeof(geo[0]); i++) {
		memcpy(bad, saved, SNAP_LEN);
		le_put16(bad + SNAP_SIZE, geo[i].size);
		le_put64(bad + SNAP_DESC, geo[i].desc);
		le_put64(bad + SNAP_AVAIL, geo[i].avail);
		le_put64(bad + SNAP_USED, geo[i].used);
		assert_int_equal(restore_queue(&r, bad, SNAP_LEN, f, field), -1);
		assert_string_equal(field, geo[i].field);
		/* The driver could have left all that in a queue not live. */
		bad[SNAP_READY] = 0;
		le_put16(bad + SNAP_LAST_AVAIL, 0);
		le_put16(bad + SNAP_USED_IDX, 0);
		le_put16(bad + SNAP_SIGNALLED, 0);
		assert_int_equal(restore_queue(&r, bad, SNAP_LEN, f, field),
				 geo[i].size > VIRTQ_MAX_SIZE ? -1 : 0);
	}

	/* Ring features outside those offered are refused; fewer are fine. */
	assert_int_equal(restore_queue(&r, saved, SNAP_LEN, f | INDIRECT, field), 0);
	assert_false(r.indirect);
	assert_true(r.event_idx);
	assert_int_equal(restore_queue(&r, saved, SNAP_LEN, INDIRECT, field), -1);
	assert_string_equal(field, "event_idx");
	memcpy(bad, saved, SNAP_LEN);
	bad[SNAP_INDIRECT] = 1;
	assert_int_equal(restore_queue(&r, bad, SNAP_LEN, f, field), -1);
	assert_string_equal(field, "indirect");
	/* A bool is 0 or 1. */
	memcpy(bad, saved, SNAP_LEN);
	bad[SNAP_EVENT_IDX] = 2;
	assert_int_equal(restore_queue(&r, bad, SNAP_LEN, f, field), -1);
	assert_string_equal(field, "event_idx");
	/* A queue not live has its indices at 0. */
	memcpy(bad, saved, SNAP_LEN);
	bad[SNAP_READY] = 0;
	assert_int_equal(restore_queue(&r, bad, SNAP_LEN, f, field), -1);
	assert_string_equal(field, "last_avail_idx");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_single_buffer),
		T(test_chain_readable_then_writable),
		T(test_push_and_notify),
		T(test_device_writes_are_marked),
		T(test_loop_two_descriptors),
		T(test_self_loop),
		T(test_loop_through_whole_ring),
		T(test_chain_as_long_as_ring_ok),
		T(test_next_out_of_range),
		T(test_head_out_of_range),
		T(test_buffer_outside_ram),
		T(test_buffer_beyond_ram),
		T(test_buffer_at_ram_edge_ok),
		T(test_address_wraps_64bit),
		T(test_address_wraps_to_ram),
		T(test_zero_length_harmless),
		T(test_writable_then_readable),
		T(test_avail_idx_too_far),
		T(test_avail_idx_full_ring_ok),
		T(test_idx_wraparound),
		T(test_unpop_returns_chains),
		T(test_unpop_keeps_avail_event),
		T(test_push_batch),
		T(test_descriptor_rewrite_after_pop),
		T(test_enable_checks),
		T(test_not_ready_pops_nothing),
		T(test_indirect_ok),
		T(test_indirect_bad_tables),
		T(test_indirect_bad_entries),
		T(test_indirect_writable_then_direct_readable),
		T(test_indirect_total_limit),
		T(test_event_idx),
		T(test_chain_copy_helpers),
		T(test_snapshot_round_trip),
		T(test_snapshot_refusals),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
