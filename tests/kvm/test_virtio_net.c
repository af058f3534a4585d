/* virtio-net on this machine's /dev/kvm: a guest driver (guest/virtio_net.c)
 * sends good and hostile frames and receives over mergeable buffers; the
 * test is the switch, on the other end of a socketpair. */
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "dev/virtio/mmio.h"
#include "dev/virtio/net.h"
#include "kvm/harness.h"

#define VIRTIO_BASE 0xd0000000ULL

static const struct mac_addr MAC = { { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc } };

static uint8_t pattern(uint8_t seed, uint32_t i)
{
	return (uint8_t)(seed + i * 13);
}

/* Runs the guest to its next GUEST_SYNC and checks which step it is. */
static void expect_sync(struct harness *h, uint64_t step)
{
	enum harness_stop s = harness_run(h, 1000000);
	if (s != HARNESS_UCALL)
		fail_msg("guest stopped (stop %d, exit kind %d, reason %u)", s, h->exit.kind, h->exit.reason);
	if (h->ucall.cmd == UCALL_ABORT)
		fail_msg("guest assertion failed at line %llu (value 0x%llx)",
			 (unsigned long long)h->ucall.args[0], (unsigned long long)h->ucall.args[1]);
	assert_int_equal(h->ucall.cmd, UCALL_SYNC);
	assert_int_equal(h->ucall.args[0], step);
}

static void expect_frame(int peer, uint32_t len, uint8_t seed)
{
	uint8_t buf[4096];
	struct pollfd p = { .fd = peer, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 3000), 1);
	assert_int_equal(recv(peer, buf, sizeof(buf), MSG_DONTWAIT), (ssize_t)len);
	for (uint32_t i = 0; i < len; i++)
		if (buf[i] != pattern(seed, i))
			fail_msg("frame %u byte %u: 0x%02x, sent 0x%02x", seed, i, buf[i], pattern(seed, i));
}

static void expect_nothing(int peer)
{
	uint8_t b[16];
	assert_int_equal(recv(peer, b, sizeof(b), MSG_DONTWAIT), -1);
}

static void send_frame(int peer, uint32_t len, uint8_t seed)
{
	uint8_t buf[4096];
	for (uint32_t i = 0; i < len; i++)
		buf[i] = pattern(seed, i);
	assert_int_equal(send(peer, buf, len, 0), (ssize_t)len);
}

static struct virtio_net_stats stats(struct virtio_net *n)
{
	struct virtio_net_stats s;
	virtio_net_stats(n, &s);
	return s;
}

static void test_virtio_net_hostile_guest(void **state)
{
	struct harness *h = *state;
	if (!h) {
		print_message("no usable /dev/kvm\n");
		skip();
	}
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	int peer = sv[1];
	struct virtio_net_config cfg = { .mac = MAC, .fd = sv[0] };
	struct nv_err err = { 0 };
	struct virtio_net *n = virtio_net_new(&h->vm.mem, kvm_vm_irq_line(&h->vm, 5), &cfg, &err);
	assert_non_null(n);
	assert_int_equal(bus_register(&h->vm.mmio, VIRTIO_BASE, VIRTIO_MMIO_WINDOW, virtio_mmio_access,
				      virtio_net_transport(n)), 0);
	harness_load_guest(h, "virtio_net");

	expect_sync(h, 0xccbbaa005452ULL); /* the MAC, byte 0 lowest */
	expect_sync(h, 1);
	expect_frame(peer, 60, 1);
	expect_sync(h, 2);
	expect_frame(peer, 100, 2); /* as kicked, not as rewritten */
	expect_nothing(peer);
	expect_sync(h, 3);
	expect_nothing(peer);
	assert_int_equal(stats(n).tx_dropped_malformed, 3);

	expect_sync(h, 4);
	send_frame(peer, 1000, 5);
	struct timespec ms50 = { .tv_nsec = 50000000 };
	nanosleep(&ms50, NULL);
	assert_int_equal(stats(n).rx_frames, 0); /* held until buffers come */
	expect_sync(h, 5);
	assert_int_equal(stats(n).rx_frames, 1);
	send_frame(peer, 3000, 0);
	send_frame(peer, 200, 6);
	expect_sync(h, 6);
	expect_nothing(peer); /* the out-of-RAM descriptor sent nothing */
	send_frame(peer, 100, 7);
	expect_sync(h, 7);
	expect_frame(peer, 64, 8);
	send_frame(peer, 700, 9);
	assert_int_equal(harness_run_to_done(h), 0);

	struct virtio_net_stats s = stats(n);
	assert_int_equal(s.tx_frames, 3);
	assert_int_equal(s.tx_dropped_malformed, 3);
	assert_int_equal(s.rx_frames, 4);
	assert_int_equal(s.rx_dropped_oversize, 1);
	assert_int_equal(s.rx_dropped_no_buffer, 0);
	assert_true(virtio_net_link_up(n));
	virtio_net_free(n);
	close(peer);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_virtio_net_hostile_guest, harness_setup, harness_teardown),
	};
	return cmocka_run_group_tests_name("kvm_virtio_net", tests, NULL, NULL);
}
