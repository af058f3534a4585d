/* virtio-rng driven as a guest driver would: MMIO register writes plus a
 * split ring in fake guest memory. The bytes are random, so tests check
 * lengths, what was left untouched, and that the bytes are not a constant. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/device_snapshot.h"
#include "dev/virtio/virtio_device.h"

/* What rng.c promises: virtio's entropy device id, and at most 64 KiB per
 * request. */
#define VIRTIO_ID_RNG 4
#define VIRTIO_RNG_MAX_PER_REQUEST 65536
extern const struct virtio_device_type virtio_rng_type;
#include "virtio_driver.h"

#define RAM_SIZE 0x100000ULL
#define QSZ 16
#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000
#define DATA 0x10000
#define FILL 0xa5 /* what the "driver" puts in buffers before a request */

struct irq_rec {
	int level;
	int raises;
	uint16_t used_idx_at_raise; /* used->idx in guest RAM when the line rose */
};

struct seg {
	uint64_t gpa;
	uint32_t len;
	bool w;
};

static uint8_t *ram;
static struct guest_mem mem;
static struct irq_rec irq;
static void *rng;
static struct virtio_mmio *t;
static uint16_t avail_idx, used_seen;

static uint16_t used_idx(void)
{
	uint16_t v;
	memcpy(&v, ram + USED + 2, 2);
	return v;
}

/* Records used->idx at the rising edge: a driver woken by the interrupt
 * must already see the used entries. */
static void irq_set(void *opaque, unsigned gsi, int level)
{
	struct irq_rec *r = opaque;
	assert_int_equal(gsi, 11);
	if (level && !r->level) {
		r->raises++;
		r->used_idx_at_raise = used_idx();
	}
	r->level = level;
}

static uint32_t rd(uint64_t off) { return vdrv_rd(t, off); }
static void wr(uint64_t off, uint32_t v) { vdrv_wr(t, off, v); }

/* Reset, accept the offer minus EVENT_IDX (so every completion
 * interrupts), one queue of QSZ, DRIVER_OK. */
static void driver_init(void)
{
	memset(ram, 0, RAM_SIZE);
	avail_idx = used_seen = 0;
	vdrv_negotiate(t, vdrv_device_features(t) & ~(1ULL << VIRTIO_RING_F_EVENT_IDX));
	vdrv_queue(t, 0, QSZ, DESC, AVAIL, USED);
	vdrv_driver_ok(t);
}

static int setup(void **state)
{
	ram = calloc(1, RAM_SIZE);
	if (!ram)
		return -1;
	guest_mem_init_over(&mem, ram, RAM_SIZE);
	memset(&irq, 0, sizeof(irq));
	struct nv_err err = { 0 };
	struct irq_line line = { .set_level = irq_set, .opaque = &irq, .gsi = 11 };
	rng = virtio_rng_type.create(&mem, line, NULL, &err);
	if (!rng)
		return -1;
	t = virtio_rng_type.transport(rng);
	driver_init();
	return 0;
}

static int teardown(void **state)
{
	if (rng)
		virtio_rng_type.ops->destroy(rng);
	rng = NULL;
	free(ram);
	return 0;
}

/* Descriptor i; next < 0 ends the chain. */
static void put_desc(uint16_t i, const struct seg *s, int next)
{
	uint64_t d = DESC + 16ULL * i;
	uint16_t flags = (uint16_t)((s->w ? VIRTQ_DESC_F_WRITE : 0) |
				    (next >= 0 ? VIRTQ_DESC_F_NEXT : 0));
	uint16_t nx = next >= 0 ? (uint16_t)next : 0;
	memcpy(ram + d, &s->gpa, 8);
	memcpy(ram + d + 8, &s->len, 4);
	memcpy(ram + d + 12, &flags, 2);
	memcpy(ram + d + 14, &nx, 2);
}

static void post(uint16_t head)
{
	memcpy(ram + AVAIL + 4 + 2 * (avail_idx % QSZ), &head, 2);
	avail_idx++;
	memcpy(ram + AVAIL + 2, &avail_idx, 2);
}

/* The next used entry must be for `head`; returns its length. */
static uint32_t next_used(uint16_t head)
{
	assert_int_not_equal(used_idx(), used_seen);
	uint64_t e = USED + 4 + 8ULL * (used_seen % QSZ);
	uint32_t id, len;
	memcpy(&id, ram + e, 4);
	memcpy(&len, ram + e + 4, 4);
	assert_int_equal(id, head);
	used_seen++;
	return len;
}

/* Chain s[0..n) at descriptors 0..n-1, posted as head 0 and kicked. Buffers
 * are prefilled with FILL. Returns the used length. */
static uint32_t request(const struct seg *s, int n)
{
	for (int i = 0; i < n; i++) {
		memset(ram + s[i].gpa, FILL, s[i].len);
		put_desc((uint16_t)i, &s[i], i + 1 < n ? i + 1 : -1);
	}
	post(0);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	uint32_t len = next_used(0);
	assert_int_equal(used_idx(), used_seen); /* exactly one completion */
	return len;
}

static bool all_fill(uint64_t gpa, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (ram[gpa + i] != FILL)
			return false;
	return true;
}

static bool all_zero(uint64_t gpa, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (ram[gpa + i])
			return false;
	return true;
}

static void test_identity_and_features(void **state)
{
	assert_string_equal(virtio_rng_type.name, "rng");
	assert_string_equal(virtio_rng_type.ops->kind, "virtio-rng");
	assert_int_equal(rd(VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
	assert_int_equal(rd(VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(rd(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	assert_int_equal(VIRTIO_ID_RNG, 4);
	/* Nothing device-specific: only what the transport offers for all. */
	uint64_t transport = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
			     (1ULL << VIRTIO_RING_F_EVENT_IDX);
	uint64_t f = vdrv_device_features(t);
	assert_true(f & (1ULL << VIRTIO_F_VERSION_1));
	assert_int_equal(f & ~transport, 0);
	/* One queue: the second does not exist. */
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTQ_MAX_SIZE);
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	/* No config space: reads as zero. */
	assert_int_equal(rd(VIRTIO_MMIO_CONFIG), 0);
	assert_int_equal(rd(VIRTIO_MMIO_CONFIG + 4), 0);
}

static void test_single_buffer_filled(void **state)
{
	struct seg s = { DATA, 64, true };
	memset(ram + DATA + 64, FILL, 64); /* just past the buffer */
	assert_int_equal(request(&s, 1), 64);
	assert_false(all_fill(DATA, 64));
	assert_true(all_fill(DATA + 64, 64));
	/* Not zeros either: the device wrote real bytes. */
	assert_false(all_zero(DATA, 64));
	uint8_t first[64];
	memcpy(first, ram + DATA, 64);

	/* A second request gets different bytes (chance of equal: 2^-512). */
	struct seg s2 = { DATA + 0x100, 64, true };
	assert_int_equal(request(&s2, 1), 64);
	assert_memory_not_equal(first, ram + DATA + 0x100, 64);
	assert_memory_equal(first, ram + DATA, 64); /* the first is left alone */
}

static void test_chain_filled_across_buffers(void **state)
{
	struct seg s[] = {
		{ DATA, 16, true }, { DATA + 0x100, 100, true }, { DATA + 0x200, 7, true }
	};
	memset(ram + DATA, FILL, 0x300); /* gaps between the buffers too */
	assert_int_equal(request(s, 3), 16 + 100 + 7);
	for (int i = 0; i < 3; i++)
		assert_false(all_fill(s[i].gpa, s[i].len));
	assert_true(all_fill(DATA + 16, 0x100 - 16));
	assert_true(all_fill(DATA + 0x100 + 100, 0x100 - 100));
	assert_true(all_fill(DATA + 0x200 + 7, 0x100 - 7));
}

static void test_capped_per_request(void **state)
{
	const uint32_t extra = 0x1000;
	struct seg big = { DATA, VIRTIO_RNG_MAX_PER_REQUEST + extra, true };
	assert_int_equal(request(&big, 1), VIRTIO_RNG_MAX_PER_REQUEST);
	assert_false(all_fill(DATA + VIRTIO_RNG_MAX_PER_REQUEST - 64, 64));
	assert_true(all_fill(DATA + VIRTIO_RNG_MAX_PER_REQUEST, extra));

	/* The cap counts the whole chain, not each buffer. */
	const uint32_t half = VIRTIO_RNG_MAX_PER_REQUEST / 2 + 0x100;
	struct seg two[] = { { DATA, half, true }, { DATA + 0x20000, half, true } };
	assert_int_equal(request(two, 2), VIRTIO_RNG_MAX_PER_REQUEST);
	uint32_t in_second = VIRTIO_RNG_MAX_PER_REQUEST - half;
	assert_false(all_fill(DATA + 0x20000 + in_second - 64, 64));
	assert_true(all_fill(DATA + 0x20000 + in_second, half - in_second));
}

static void test_readable_only_gets_nothing(void **state)
{
	struct seg r = { DATA, 64, false };
	assert_int_equal(request(&r, 1), 0);
	assert_true(all_fill(DATA, 64));

	/* Readable buffers in a mixed chain are skipped, not written. */
	struct seg mixed[] = { { DATA, 32, false }, { DATA + 0x100, 48, true } };
	assert_int_equal(request(mixed, 2), 48);
	assert_true(all_fill(DATA, 32));
	assert_false(all_fill(DATA + 0x100, 48));
	assert_false(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

/* A buffer outside RAM: queue broken, NEEDS_RESET, config interrupt, no
 * used entry; the VMM carries on and a reset revives the device. */
static void expect_broken_by(uint64_t gpa, uint32_t len)
{
	driver_init();
	struct seg bad = { gpa, len, true };
	put_desc(0, &bad, -1);
	post(0);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(used_idx(), 0);
	assert_true(virtio_mmio_queue(t, 0)->broken);
	uint32_t st = rd(VIRTIO_MMIO_STATUS);
	assert_true(st & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(st & VIRTIO_STATUS_DRIVER_OK);
	assert_true(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(irq.level, 1);
	/* Further kicks reach nothing. */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(used_idx(), 0);
}

static void test_buffer_outside_ram_breaks_queue(void **state)
{
	expect_broken_by(RAM_SIZE - 16, 64);   /* straddles the end */
	expect_broken_by(RAM_SIZE + 0x1000, 64); /* wholly past it */
	expect_broken_by(UINT64_MAX - 8, 64);  /* wraps around */

	driver_init();
	assert_false(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(irq.level, 0);
	struct seg s = { DATA, 64, true };
	assert_int_equal(request(&s, 1), 64);
}

static void test_interrupt_after_used(void **state)
{
	struct seg s = { DATA, 64, true };
	assert_int_equal(request(&s, 1), 64);
	assert_int_equal(irq.raises, 1);
	assert_int_equal(irq.used_idx_at_raise, 1);
	assert_true(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(irq.level, 0);

	/* Two chains in one kick: both completed before the one interrupt. */
	struct seg a = { DATA, 32, true }, b = { DATA + 0x100, 16, true };
	put_desc(3, &a, -1);
	put_desc(7, &b, -1);
	post(3);
	post(7);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(irq.raises, 2);
	assert_int_equal(irq.used_idx_at_raise, 3);
	assert_int_equal(next_used(3), 32);
	assert_int_equal(next_used(7), 16);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);

	/* A kick with nothing posted completes nothing and stays quiet. */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(irq.raises, 2);
	assert_int_equal(used_idx(), 3);
}

static void test_many_requests_wrap_ring(void **state)
{
	struct seg s = { DATA, 64, true };
	for (int i = 0; i < 3 * QSZ + 1; i++) {
		assert_int_equal(request(&s, 1), 64);
		wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	}
	assert_int_equal(irq.raises, 3 * QSZ + 1);
}

/* ---- snapshot ---- */

/* The section: device version, then the transport (its version, 34 bytes
 * of registers, one queue of 36). Nothing of the rng's own. */
#define RS_TRANSPORT 4
#define RS_STATUS (RS_TRANSPORT + 4)
#define RS_DRIVER_FEATURES (RS_TRANSPORT + 16)
#define RS_Q0 (RS_TRANSPORT + 38)
#define RS_LEN (RS_Q0 + 36)

static size_t rng_save(uint8_t **buf)
{
	return vdrv_save(virtio_rng_type.ops, rng, buf);
}

static int rng_restore(const uint8_t *buf, size_t len, char *field)
{
	return vdrv_restore(virtio_rng_type.ops, rng, buf, len, field);
}

/* A new process's device: same type, same RAM. */
static void replace_rng(void)
{
	virtio_rng_type.ops->destroy(rng);
	memset(&irq, 0, sizeof(irq));
	struct nv_err err = { 0 };
	struct irq_line line = { .set_level = irq_set, .opaque = &irq, .gsi = 11 };
	rng = virtio_rng_type.create(&mem, line, NULL, &err);
	assert_non_null(rng);
	t = virtio_rng_type.transport(rng);
}

static const uint64_t regs[] = {
	VIRTIO_MMIO_DEVICE_ID,         VIRTIO_MMIO_DEVICE_FEATURES, VIRTIO_MMIO_QUEUE_NUM_MAX,
	VIRTIO_MMIO_QUEUE_READY,       VIRTIO_MMIO_INTERRUPT_STATUS, VIRTIO_MMIO_STATUS,
	VIRTIO_MMIO_CONFIG_GENERATION,
};
#define NREGS (sizeof(regs) / sizeof(regs[0]))

static void read_regs(uint32_t *out)
{
	for (size_t i = 0; i < NREGS; i++)
		out[i] = rd(regs[i]);
}

static void test_snapshot_round_trip(void **state)
{
	struct seg s = { DATA, 64, true };
	for (int i = 0; i < QSZ + 3; i++)
		assert_int_equal(request(&s, 1), 64);
	uint32_t before[NREGS], after[NREGS];
	read_regs(before);
	assert_int_equal(irq.level, 1);
	uint8_t *buf;
	size_t len = rng_save(&buf);
	assert_int_equal(len, RS_LEN);

	replace_rng();
	char field[64];
	assert_int_equal(rng_restore(buf, len, field), 0);
	read_regs(after);
	assert_memory_equal(before, after, sizeof(before));
	assert_int_equal(irq.level, 1);
	assert_int_equal(irq.raises, 1);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(irq.level, 0);
	/* request() checks the next used slot: used->idx carries on. */
	assert_int_equal(request(&s, 1), 64);
	assert_int_equal(used_idx(), QSZ + 4);
	assert_int_equal(irq.raises, 2);
	assert_int_equal(irq.used_idx_at_raise, QSZ + 4);
	free(buf);
}

static void test_snapshot_refusals(void **state)
{
	struct seg sg = { DATA, 64, true };
	assert_int_equal(request(&sg, 1), 64);
	uint8_t *buf;
	size_t len = rng_save(&buf);
	uint8_t *bad = malloc(len + 1);
	char field[64];
	replace_rng();
	for (size_t l = 0; l < len; l++) {
		assert_int_equal(rng_restore(buf, l, field), -1);
		assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0); /* nothing committed */
	}
	struct {
		size_t off;
		unsigned bytes;
		uint64_t value;
		const char *field;
	} cases[] = {
		{ 0, 4, 2, "version" },
		{ RS_TRANSPORT, 4, 2, "version" },
		{ RS_STATUS, 4, 0x100 | VIRTIO_STATUS_DRIVER_OK, "status" },
		/* No device feature of its own: bit 0 is not offered. */
		{ RS_DRIVER_FEATURES, 8, (1ULL << VIRTIO_F_VERSION_1) | 1, "driver_features" },
		{ RS_Q0, 2, 24, "size" },
		{ RS_Q0 + 2, 8, RAM_SIZE + 0x1000, "desc_gpa" },
		{ RS_Q0 + 10, 8, RAM_SIZE - 2, "avail_gpa" },
		{ RS_Q0 + 18, 8, USED + 1, "used_gpa" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(bad, buf, len);
		le_put(bad + cases[i].off, cases[i].value, cases[i].bytes);
		assert_int_equal(rng_restore(bad, len, field), -1);
		assert_string_equal(field, cases[i].field);
		assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0);
		assert_int_equal(irq.raises, 0);
	}
	memcpy(bad, buf, len);
	bad[len] = 0;
	assert_int_equal(rng_restore(bad, len + 1, field), -1);
	assert_string_equal(field, "trailing bytes");
	free(bad);
	free(buf);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_identity_and_features),
		T(test_single_buffer_filled),
		T(test_chain_filled_across_buffers),
		T(test_capped_per_request),
		T(test_readable_only_gets_nothing),
		T(test_buffer_outside_ram_breaks_queue),
		T(test_interrupt_after_used),
		T(test_many_requests_wrap_ring),
		T(test_snapshot_round_trip),
		T(test_snapshot_refusals),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
