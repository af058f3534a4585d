/* Reads the virtio-mmio identification registers and negotiates features. */
#include "guest.h"

#define BASE 0xd0000000ULL

int guest_main(void)
{
	GUEST_ASSERT_EQ(mmio_read32(BASE + 0x000), 0x74726976); /* "virt" */
	GUEST_ASSERT_EQ(mmio_read32(BASE + 0x004), 2);          /* modern */
	GUEST_ASSERT_EQ(mmio_read32(BASE + 0x008), 2);          /* block device */
	mmio_write32(BASE + 0x070, 0);                          /* reset */
	mmio_write32(BASE + 0x070, 1 | 2);                      /* ACK | DRIVER */
	mmio_write32(BASE + 0x014, 1);                          /* features 32..63 */
	uint32_t hi = mmio_read32(BASE + 0x010);
	GUEST_ASSERT(hi & 1);                                   /* VIRTIO_F_VERSION_1 */
	mmio_write32(BASE + 0x024, 1);
	mmio_write32(BASE + 0x020, 1);
	mmio_write32(BASE + 0x024, 0);
	mmio_write32(BASE + 0x020, 0);
	mmio_write32(BASE + 0x070, 1 | 2 | 8);                  /* FEATURES_OK */
	GUEST_ASSERT(mmio_read32(BASE + 0x070) & 8);
	/* capacity (sectors) is the first config field */
	GUEST_SYNC(mmio_read32(BASE + 0x100));
	return 0;
}
