/* A hostile virtio-balloon driver (the host test is test_virtio_balloon.c):
 * frames outside RAM, in MMIO space and at the top of the 32-bit range,
 * part of a 2 MiB block, then a whole block (which must come back zeroed),
 * free page reports that are unaligned or short (skipped), beyond RAM or
 * larger than RAM (a broken ring: the device needs a reset, as QEMU's),
 * and a descriptor chain that loops (the same); after each reset the
 * device works again. The host checks the counters after each step, and
 * the guest checks what it reads. Queues: VERSION_1 and
 * REPORTING only, so 0 inflate, 1 deflate, 2 reporting. Polled. */
#include "guest.h"

#define BASE 0xd0000000ULL
#define QSZ 8
#define Q_INFLATE 0
#define Q_REPORT 2
#define RINGS 0x200000ULL /* three pages a queue */
#define PFNS 0x300000ULL  /* the frame arrays */
#define BLOCK 0x800000ULL /* a 2 MiB block the guest fills and gives */
#define REPORTED 0xa00000ULL
#define PAGE 4096u

struct desc { uint64_t addr; uint32_t len; uint16_t flags; uint16_t next; };

static uint16_t next_idx[3];

static volatile struct desc *descs(unsigned q) { return (volatile struct desc *)(RINGS + q * 0x3000ULL); }
static volatile uint16_t *avail(unsigned q) { return (volatile uint16_t *)(RINGS + q * 0x3000ULL + 0x1000); }
static volatile uint16_t *used_idx(unsigned q) { return (volatile uint16_t *)(RINGS + q * 0x3000ULL + 0x2002); }

static void setup_queue(unsigned q)
{
	uint64_t base = RINGS + q * 0x3000ULL;
	for (uint64_t i = 0; i < 0x3000; i += 8)
		*(volatile uint64_t *)(base + i) = 0;
	mmio_write32(BASE + 0x030, q);
	GUEST_ASSERT(mmio_read32(BASE + 0x034) >= QSZ);
	mmio_write32(BASE + 0x038, QSZ);
	mmio_write32(BASE + 0x080, (uint32_t)base);
	mmio_write32(BASE + 0x084, 0);
	mmio_write32(BASE + 0x090, (uint32_t)(base + 0x1000));
	mmio_write32(BASE + 0x094, 0);
	mmio_write32(BASE + 0x0a0, (uint32_t)(base + 0x2000));
	mmio_write32(BASE + 0x0a4, 0);
	mmio_write32(BASE + 0x044, 1);
}

/* Descriptor 0 (and on) as given, made available and kicked; 1 once the
 * device returned it (it serves a kick before the write returns), else 0. */
static int kick(unsigned q)
{
	uint16_t n = next_idx[q];
	avail(q)[2 + (n % QSZ)] = 0;
	__asm__ volatile("" ::: "memory");
	avail(q)[1] = (uint16_t)(n + 1);
	next_idx[q] = (uint16_t)(n + 1);
	mmio_write32(BASE + 0x050, q);
	return *used_idx(q) == next_idx[q];
}

/* Reset, features VERSION_1 and REPORTING, three queues, DRIVER_OK. */
static void init_device(void)
{
	mmio_write32(BASE + 0x070, 0);
	GUEST_ASSERT_EQ(mmio_read32(BASE + 0x070), 0);
	mmio_write32(BASE + 0x070, 1 | 2);
	mmio_write32(BASE + 0x024, 1);
	mmio_write32(BASE + 0x020, 1); /* VERSION_1 */
	mmio_write32(BASE + 0x024, 0);
	mmio_write32(BASE + 0x020, 1u << 5); /* REPORTING */
	mmio_write32(BASE + 0x070, 1 | 2 | 8);
	GUEST_ASSERT(mmio_read32(BASE + 0x070) & 8);
	for (unsigned q = 0; q < 3; q++) {
		setup_queue(q);
		next_idx[q] = 0;
	}
	mmio_write32(BASE + 0x070, 1 | 2 | 8 | 4);
}

static int needs_reset(void)
{
	return (mmio_read32(BASE + 0x070) & 0x40) != 0;
}

static int inflate(const uint32_t *pfns, unsigned n)
{
	volatile uint32_t *arr = (volatile uint32_t *)PFNS;
	for (unsigned i = 0; i < n; i++)
		arr[i] = pfns[i];
	descs(Q_INFLATE)[0] = (struct desc){ PFNS, n * 4, 0, 0 };
	return kick(Q_INFLATE);
}

static int report(uint64_t addr, uint32_t len)
{
	descs(Q_REPORT)[0] = (struct desc){ addr, len, 2 /* WRITE */, 0 };
	return kick(Q_REPORT);
}

static void fill(uint64_t at, uint64_t len, uint8_t v)
{
	for (uint64_t i = 0; i < len; i += 8)
		*(volatile uint64_t *)(at + i) = 0x0101010101010101ULL * v;
}

int guest_main(void)
{
	init_device();

	fill(BLOCK, 0x200000, 0x5a);
	fill(REPORTED, 0x200000, 0x6b);
	/* Outside RAM, in the MMIO window, the top of the 32-bit range; and
	 * three pages of the block: counted, nothing released. */
	const uint32_t bad[] = { 0x100000, 0xd0000, 0xffffffffu,
				 BLOCK / PAGE, BLOCK / PAGE + 1, BLOCK / PAGE + 511 };
	GUEST_ASSERT(inflate(bad, 6));
	GUEST_ASSERT_EQ(*(volatile uint8_t *)BLOCK, 0x5a);
	GUEST_SYNC(1);

	/* The rest of the block, one frame twice: all of it released. */
	static uint32_t rest[512];
	unsigned n = 0;
	for (unsigned i = 2; i < 511; i++)
		rest[n++] = BLOCK / PAGE + i;
	rest[n++] = BLOCK / PAGE + 2;
	GUEST_ASSERT(inflate(rest, n));
	GUEST_ASSERT_EQ(*(volatile uint8_t *)BLOCK, 0);
	GUEST_ASSERT_EQ(*(volatile uint8_t *)(BLOCK + 0x1fffff), 0);
	GUEST_SYNC(2);

	/* Reports in RAM but unaligned or not whole pages: skipped, the
	 * buffers returned; then a good one. */
	GUEST_ASSERT(report(REPORTED + 16, PAGE));
	GUEST_ASSERT(report(REPORTED, 100));
	GUEST_ASSERT_EQ(*(volatile uint8_t *)REPORTED, 0x6b);
	GUEST_ASSERT(report(REPORTED, 0x200000));
	GUEST_ASSERT_EQ(*(volatile uint8_t *)REPORTED, 0);
	GUEST_ASSERT(!needs_reset());
	GUEST_SYNC(3);

	/* Beyond RAM, then larger than RAM: broken, not followed. */
	GUEST_ASSERT(!report(0x10000000ULL, PAGE));
	GUEST_ASSERT(needs_reset());
	init_device();
	GUEST_ASSERT(!report(REPORTED, 0xfffff000u));
	GUEST_ASSERT(needs_reset());
	/* A chain that loops back to itself (NEXT to its own index). */
	init_device();
	descs(Q_INFLATE)[0] = (struct desc){ PFNS, 4, 1, 0 };
	GUEST_ASSERT(!kick(Q_INFLATE));
	GUEST_ASSERT(needs_reset());
	GUEST_SYNC(4);

	/* After a reset it works: one more page of another block. */
	init_device();
	const uint32_t one[] = { REPORTED / PAGE + 7 };
	GUEST_ASSERT(inflate(one, 1));
	GUEST_ASSERT(!needs_reset());
	GUEST_SYNC(5);
	return 0;
}
