/* A minimal virtio-blk driver: one queue, polled; reads sector 0 and
 * writes sector 1, the host checks the image file. */
#include "guest.h"

#define BASE 0xd0000000ULL
#define QSZ 8
#define DESC 0x200000ULL
#define AVAIL 0x201000ULL
#define USED 0x202000ULL
#define HDR 0x203000ULL
#define DATA 0x204000ULL
#define STATUS 0x205000ULL

struct desc { uint64_t addr; uint32_t len; uint16_t flags; uint16_t next; };
struct req_hdr { uint32_t type; uint32_t reserved; uint64_t sector; };

static volatile struct desc *const d = (volatile struct desc *)DESC;
static volatile uint16_t *const avail = (volatile uint16_t *)AVAIL; /* flags, idx, ring[] */
static volatile uint16_t *const used_idx = (volatile uint16_t *)(USED + 2);

static uint8_t do_request(uint32_t type, uint64_t sector, uint16_t n)
{
	volatile struct req_hdr *h = (volatile struct req_hdr *)HDR;
	h->type = type;
	h->reserved = 0;
	h->sector = sector;
	*(volatile uint8_t *)STATUS = 0xff;
	d[0] = (struct desc){ HDR, 16, 1, 1 };                       /* NEXT */
	d[1] = (struct desc){ DATA, 512, (uint16_t)(1 | (type == 0 ? 2 : 0)), 2 }; /* NEXT | WRITE for reads */
	d[2] = (struct desc){ STATUS, 1, 2, 0 };                     /* WRITE */
	avail[2 + (n % QSZ)] = 0;
	__asm__ volatile("" ::: "memory");
	avail[1] = (uint16_t)(n + 1);
	mmio_write32(BASE + 0x050, 0);                               /* notify queue 0 */
	while (*used_idx != (uint16_t)(n + 1))
		;
	return *(volatile uint8_t *)STATUS;
}

int guest_main(void)
{
	mmio_write32(BASE + 0x070, 0);
	mmio_write32(BASE + 0x070, 1 | 2);
	mmio_write32(BASE + 0x024, 1);
	mmio_write32(BASE + 0x020, 1); /* VERSION_1 only */
	mmio_write32(BASE + 0x024, 0);
	mmio_write32(BASE + 0x020, 0);
	mmio_write32(BASE + 0x070, 1 | 2 | 8);
	GUEST_ASSERT(mmio_read32(BASE + 0x070) & 8);
	mmio_write32(BASE + 0x030, 0);
	GUEST_ASSERT(mmio_read32(BASE + 0x034) >= QSZ);
	mmio_write32(BASE + 0x038, QSZ);
	mmio_write32(BASE + 0x080, (uint32_t)DESC);
	mmio_write32(BASE + 0x084, 0);
	mmio_write32(BASE + 0x090, (uint32_t)AVAIL);
	mmio_write32(BASE + 0x094, 0);
	mmio_write32(BASE + 0x0a0, (uint32_t)USED);
	mmio_write32(BASE + 0x0a4, 0);
	mmio_write32(BASE + 0x044, 1);
	mmio_write32(BASE + 0x070, 1 | 2 | 8 | 4); /* DRIVER_OK */

	GUEST_ASSERT_EQ(do_request(0, 0, 0), 0);   /* IN sector 0 */
	volatile uint8_t *data = (volatile uint8_t *)DATA;
	GUEST_ASSERT_EQ(data[0], 'N');
	GUEST_ASSERT_EQ(data[511], 'V');
	for (int i = 0; i < 512; i++)
		data[i] = (uint8_t)(i * 7);
	GUEST_ASSERT_EQ(do_request(1, 1, 1), 0);   /* OUT sector 1 */
	GUEST_ASSERT_EQ(do_request(0, 1u << 30, 2), 1); /* beyond the image: IOERR */
	return 0;
}
