/* A minimal, polled virtio-net driver that also misbehaves on purpose: good
 * frames, then oversized, truncated and out-of-RAM TX chains and a frame
 * rewritten right after the kick, RX over small mergeable buffers, and a
 * reset. The host test (test_virtio_net.c) plays the switch on a socketpair;
 * GUEST_SYNC(step) hands over to it between steps. */
#include "guest.h"

#define BASE 0xd0000000ULL
#define QSZ 16
#define RXQ 0x200000ULL /* desc; avail +0x1000; used +0x2000 */
#define TXQ 0x210000ULL
#define RXBUF 0x300000ULL /* QSZ x 0x800 */
#define TXBUF 0x400000ULL /* QSZ x 0x1000 */
#define HDR 12
#define RXSZ 256
#define SPIN (1ULL << 31)

#define F_MTU (1u << 3)
#define F_MAC (1u << 5)
#define F_MRG (1u << 15)
#define F_STATUS (1u << 16)

struct desc { uint64_t addr; uint32_t len; uint16_t flags; uint16_t next; };

static uint16_t avail_idx[2], used_seen[2];

static uint64_t qbase(int q) { return q ? TXQ : RXQ; }
static volatile struct desc *descs(int q) { return (volatile struct desc *)qbase(q); }
static volatile uint16_t *avail(int q) { return (volatile uint16_t *)(qbase(q) + 0x1000); }
static volatile uint16_t *used_idx(int q) { return (volatile uint16_t *)(qbase(q) + 0x2002); }
static volatile uint32_t *used_ring(int q) { return (volatile uint32_t *)(qbase(q) + 0x2004); }

static uint8_t pattern(uint8_t seed, uint32_t i) { return (uint8_t)(seed + i * 13); }

static void publish(int q, uint16_t head)
{
	avail(q)[2 + avail_idx[q] % QSZ] = head;
	__asm__ volatile("" ::: "memory");
	avail_idx[q]++;
	avail(q)[1] = avail_idx[q];
	mmio_write32(BASE + 0x050, (uint32_t)q);
}

/* Spin (boundedly) until queue q's used index reaches want. */
static void wait_used(int q, uint16_t want)
{
	uint64_t n = 0;
	while (*used_idx(q) != want && n < SPIN)
		n++;
	GUEST_ASSERT_EQ(*used_idx(q), want);
}

static void setup_queue(int q)
{
	mmio_write32(BASE + 0x030, (uint32_t)q);
	GUEST_ASSERT(mmio_read32(BASE + 0x034) >= QSZ);
	mmio_write32(BASE + 0x038, QSZ);
	mmio_write32(BASE + 0x080, (uint32_t)qbase(q));
	mmio_write32(BASE + 0x084, 0);
	mmio_write32(BASE + 0x090, (uint32_t)qbase(q) + 0x1000);
	mmio_write32(BASE + 0x094, 0);
	mmio_write32(BASE + 0x0a0, (uint32_t)qbase(q) + 0x2000);
	mmio_write32(BASE + 0x0a4, 0);
	mmio_write32(BASE + 0x044, 1);
}

static void device_init(void)
{
	for (uint64_t a = RXQ; a < TXQ + 0x3000; a += 8)
		*(volatile uint64_t *)a = 0;
	avail_idx[0] = avail_idx[1] = used_seen[0] = used_seen[1] = 0;
	mmio_write32(BASE + 0x070, 0);
	mmio_write32(BASE + 0x070, 1 | 2);
	mmio_write32(BASE + 0x014, 0);
	uint32_t want = F_MTU | F_MAC | F_MRG | F_STATUS;
	GUEST_ASSERT_EQ(mmio_read32(BASE + 0x010) & want, want);
	mmio_write32(BASE + 0x024, 1);
	mmio_write32(BASE + 0x020, 1); /* VERSION_1 */
	mmio_write32(BASE + 0x024, 0);
	mmio_write32(BASE + 0x020, want);
	mmio_write32(BASE + 0x070, 1 | 2 | 8);
	GUEST_ASSERT(mmio_read32(BASE + 0x070) & 8);
	setup_queue(0);
	setup_queue(1);
	mmio_write32(BASE + 0x070, 1 | 2 | 8 | 4);
}

/* Header then frame, in descriptors 0 and 1; returns after the device used
 * it. rewrite: scribble over the frame right after the kick. */
static void tx(uint32_t hdr_len, uint32_t frame_len, uint8_t seed, int rewrite)
{
	volatile uint8_t *b = (volatile uint8_t *)TXBUF;
	for (uint32_t i = 0; i < HDR; i++)
		b[i] = 0;
	for (uint32_t i = 0; i < frame_len; i++)
		b[0x100 + i] = pattern(seed, i);
	volatile struct desc *d = descs(1);
	d[0] = (struct desc){ TXBUF, hdr_len, frame_len ? 1 : 0, 1 };
	d[1] = (struct desc){ TXBUF + 0x100, frame_len, 0, 0 };
	publish(1, 0);
	if (rewrite)
		for (uint32_t i = 0; i < frame_len; i++)
			b[0x100 + i] = 0xee;
	used_seen[1]++;
	wait_used(1, used_seen[1]);
	GUEST_ASSERT_EQ(used_ring(1)[2 * ((used_seen[1] - 1) % QSZ) + 1], 0); /* TX writes nothing */
}

static void rx_post(uint16_t n)
{
	for (uint16_t k = 0; k < n; k++) {
		uint16_t slot = avail_idx[0] % QSZ;
		descs(0)[slot] = (struct desc){ RXBUF + 0x800ULL * slot, RXSZ, 2, 0 }; /* WRITE */
		avail(0)[2 + slot] = slot;
		__asm__ volatile("" ::: "memory");
		avail_idx[0]++;
		avail(0)[1] = avail_idx[0];
	}
	mmio_write32(BASE + 0x050, 0);
}

/* Wait for one frame of len bytes over nbuf chains and check every byte. */
static void rx_expect(uint32_t len, uint8_t seed, uint16_t nbuf)
{
	uint16_t first = used_seen[0];
	used_seen[0] = (uint16_t)(used_seen[0] + nbuf);
	wait_used(0, used_seen[0]);
	uint32_t total = HDR + len, k = 0;
	for (uint16_t j = 0; j < nbuf; j++) {
		uint16_t e = (uint16_t)(first + j) % QSZ;
		uint32_t id = used_ring(0)[2 * e], l = used_ring(0)[2 * e + 1];
		GUEST_ASSERT(id < QSZ);
		GUEST_ASSERT_EQ(l, total - k < RXSZ ? total - k : RXSZ);
		volatile uint8_t *p = (volatile uint8_t *)(RXBUF + 0x800ULL * id);
		if (j == 0)
			GUEST_ASSERT_EQ(p[10] | p[11] << 8, nbuf); /* num_buffers */
		for (uint32_t i = 0; i < l; i++, k++)
			if (k >= HDR)
				GUEST_ASSERT_EQ(p[i], pattern(seed, k - HDR));
	}
	GUEST_ASSERT_EQ(k, total);
}

int guest_main(void)
{
	device_init();
	GUEST_ASSERT_EQ(mmio_read32(BASE + 0x008), 1); /* network card */
	uint64_t mac = 0;
	for (int i = 0; i < 6; i++)
		mac |= (uint64_t)mmio_read8(BASE + 0x100 + i) << (8 * i);
	GUEST_ASSERT_EQ(mmio_read8(BASE + 0x106) & 1, 1);       /* link up */
	GUEST_ASSERT_EQ(mmio_read8(BASE + 0x10a) | mmio_read8(BASE + 0x10b) << 8, 1500);
	GUEST_SYNC(mac);

	tx(HDR, 60, 1, 0);
	GUEST_SYNC(1); /* the host reads frame 1 */
	tx(HDR, 100, 2, 1);
	GUEST_SYNC(2); /* the host sees frame 2 as sent, not the rewrite */
	tx(HDR, 2000, 3, 0);   /* oversized */
	tx(HDR, 10, 3, 0);     /* shorter than an Ethernet header */
	tx(5, 0, 3, 0);        /* not even a virtio-net header */
	GUEST_SYNC(3); /* the host checks nothing came out */

	rx_post(2);
	GUEST_SYNC(4); /* the host sends 1000 bytes: 512 cannot hold them */
	rx_post(2);
	rx_expect(1000, 5, 4);
	rx_post(4);
	GUEST_SYNC(5); /* an oversized frame (dropped), then 200 bytes */
	rx_expect(200, 6, 1);

	/* A TX descriptor far outside RAM: the TX queue breaks, RX goes on. */
	descs(1)[2] = (struct desc){ 0x4000000000ULL, 100, 0, 0 };
	publish(1, 2);
	GUEST_ASSERT(mmio_read32(BASE + 0x070) & 0x40); /* DEVICE_NEEDS_RESET */
	GUEST_SYNC(6); /* the host sends 100 bytes */
	rx_expect(100, 7, 1);

	/* Reset and start over: the device works as new. */
	device_init();
	rx_post(8);
	tx(HDR, 64, 8, 0);
	GUEST_SYNC(7); /* the host reads frame 8 and sends 700 bytes */
	rx_expect(700, 9, 3);
	return 0;
}
