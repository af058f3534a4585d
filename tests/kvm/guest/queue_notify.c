/* Kicks as a virtio-mmio driver does (the host test is test_ioeventfd.c):
 * QueueNotify written with queue 1, which the host bound to an ioeventfd,
 * then with queue 0, which it did not. */
#include "guest.h"

#define QUEUE_NOTIFY 0xd0000050ULL

int guest_main(void)
{
	mmio_write32(QUEUE_NOTIFY, 1);
	GUEST_SYNC(1);
	mmio_write32(QUEUE_NOTIFY, 0);
	GUEST_SYNC(2);
	return 0;
}
