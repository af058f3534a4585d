/* virtio-net driven as a guest driver would (MMIO writes, split rings in fake
 * guest memory), with a socketpair as the switch port. The device's I/O
 * thread runs for real, so RX checks wait (boundedly) for its work. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/device_snapshot.h"
#include "core/device.h"
#include "dev/virtio/net.h"
#include "util/eth_announce.h"
#include "virtio_driver.h"

#define RAM_SIZE 0x100000ULL
#define QSZ 16
#define RXQ_BASE 0x1000 /* desc, avail (+0x1000), used (+0x2000) */
#define TXQ_BASE 0x4000
#define RXBUF 0x10000 /* 16 x 0x800 */
#define TXBUF 0x20000 /* 16 x 0x1000 */
#define ALL_F ((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_NET_F_MAC) | \
	       (1ULL << VIRTIO_NET_F_STATUS) | (1ULL << VIRTIO_NET_F_MTU) |   \
	       (1ULL << VIRTIO_NET_F_MRG_RXBUF))

static uint8_t *ram;
static struct guest_mem mem;
static struct virtio_net *net;
static struct virtio_mmio *t;
static int peer; /* the switch's end */
static int irq_raises;
static uint16_t avail[2], used_seen[2];
static const struct mac_addr MAC = { { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 } };

static void irq_set(void *opaque, unsigned gsi, int level)
{
	if (level)
		__atomic_add_fetch(&irq_raises, 1, __ATOMIC_RELAXED);
}

static uint32_t rd(uint64_t off) { return vdrv_rd(t, off); }
static void wr(uint64_t off, uint32_t v) { vdrv_wr(t, off, v); }

static uint64_t qbase(int q) { return q == 0 ? RXQ_BASE : TXQ_BASE; }

static uint16_t used_idx(int q)
{
	return __atomic_load_n((uint16_t *)(ram + qbase(q) + 0x2000 + 2), __ATOMIC_ACQUIRE);
}

static void used_elem(int q, uint16_t i, uint32_t *id, uint32_t *len)
{
	uint64_t e = qbase(q) + 0x2000 + 4 + 8ULL * (i % QSZ);
	memcpy(id, ram + e, 4);
	memcpy(len, ram + e + 4, 4);
}

static void set_desc(int q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint64_t d = qbase(q) + 16ULL * i;
	memcpy(ram + d, &addr, 8);
	memcpy(ram + d + 8, &len, 4);
	memcpy(ram + d + 12, &flags, 2);
	memcpy(ram + d + 14, &next, 2);
}

static void publish(int q, uint16_t head)
{
	memcpy(ram + qbase(q) + 0x1000 + 4 + 2 * (avail[q] % QSZ), &head, 2);
	avail[q]++;
	__atomic_store_n((uint16_t *)(ram + qbase(q) + 0x1000 + 2), avail[q], __ATOMIC_RELEASE);
}

static void driver_init(uint64_t features)
{
	memset(ram, 0, RAM_SIZE);
	avail[0] = avail[1] = used_seen[0] = used_seen[1] = 0;
	vdrv_negotiate(t, features);
	for (uint32_t q = 0; q < 2; q++)
		vdrv_queue(t, q, QSZ, qbase((int)q), qbase((int)q) + 0x1000, qbase((int)q) + 0x2000);
	vdrv_driver_ok(t);
}

static int reconnect_calls;
static int reconnect_fd = -1;

static int do_reconnect(void *opaque)
{
	__atomic_add_fetch(&reconnect_calls, 1, __ATOMIC_SEQ_CST);
	return __atomic_exchange_n(&reconnect_fd, -1, __ATOMIC_SEQ_CST);
}

static int setup(void **state)
{
	ram = calloc(1, RAM_SIZE);
	guest_mem_init_over(&mem, ram, RAM_SIZE);
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	peer = sv[1];
	struct virtio_net_config cfg = { .mac = MAC, .fd = sv[0], .reconnect = do_reconnect };
	struct irq_line irq = { .set_level = irq_set };
	struct nv_err err = { 0 };
	net = virtio_net_new(&mem, irq, &cfg, &err);
	assert_non_null(net);
	t = virtio_net_transport(net);
	reconnect_calls = 0;
	reconnect_fd = -1;
	driver_init(ALL_F);
	return 0;
}

static int teardown(void **state)
{
	virtio_net_free(net);
	if (peer >= 0)
		close(peer);
	if (reconnect_fd >= 0)
		close(reconnect_fd);
	free(ram);
	return 0;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = ms * 1000000L };
	nanosleep(&ts, NULL);
}

/* Waits up to 3 s for used->idx of queue q to reach want. */
static void wait_used(int q, uint16_t want)
{
	for (int i = 0; i < 3000 && used_idx(q) != want; i++)
		sleep_ms(1);
	assert_int_equal(used_idx(q), want);
}

static struct virtio_net_stats stats(void)
{
	struct virtio_net_stats s;
	virtio_net_stats(net, &s);
	return s;
}

static void fill(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 13);
}

/* One TX chain at slot `slot`: header, then the frame in two pieces. */
static void tx_chain(uint16_t slot, uint32_t frame_len, uint8_t seed)
{
	uint64_t b = TXBUF + 0x1000ULL * slot;
	memset(ram + b, 0, VIRTIO_NET_HDR_LEN);
	fill(ram + b + 0x20, frame_len, seed);
	uint32_t first = frame_len / 2;
	uint16_t d = (uint16_t)(slot * 3 % QSZ);
	set_desc(1, d, b, VIRTIO_NET_HDR_LEN, VIRTQ_DESC_F_NEXT, (uint16_t)((d + 1) % QSZ));
	set_desc(1, (uint16_t)((d + 1) % QSZ), b + 0x20, first, VIRTQ_DESC_F_NEXT, (uint16_t)((d + 2) % QSZ));
	set_desc(1, (uint16_t)((d + 2) % QSZ), b + 0x20 + first, frame_len - first, 0, 0);
	publish(1, d);
}

static void expect_frame(uint32_t len, uint8_t seed)
{
	uint8_t buf[4096], want[4096];
	struct pollfd p = { .fd = peer, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 3000), 1);
	ssize_t r = recv(peer, buf, sizeof(buf), MSG_DONTWAIT);
	assert_int_equal(r, len);
	fill(want, len, seed);
	assert_memory_equal(buf, want, len);
}

static void expect_no_frame(void)
{
	uint8_t buf[16];
	assert_int_equal(recv(peer, buf, sizeof(buf), MSG_DONTWAIT), -1);
}

static void test_config_and_features(void **state)
{
	uint8_t b[8] = { 0 };
	for (int i = 0; i < 6; i++) {
		virtio_mmio_access(t, VIRTIO_MMIO_CONFIG + i, b, 1, false);
		assert_int_equal(b[0], MAC.b[i]);
	}
	virtio_mmio_access(t, VIRTIO_MMIO_CONFIG + VIRTIO_NET_CFG_STATUS, b, 2, false);
	assert_int_equal(b[0], VIRTIO_NET_S_LINK_UP);
	virtio_mmio_access(t, VIRTIO_MMIO_CONFIG + VIRTIO_NET_CFG_MTU, b, 2, false);
	assert_int_equal(b[0] | b[1] << 8, 1500);
	virtio_mmio_access(t, VIRTIO_MMIO_CONFIG + 0xf8, b, 8, false); /* past the end: zeros */
	assert_int_equal(b[0] | b[7], 0);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint32_t f = rd(VIRTIO_MMIO_DEVICE_FEATURES);
	assert_int_equal(f & (uint32_t)ALL_F, (uint32_t)ALL_F);
	assert_int_equal(f & 0x3, 0); /* no CSUM, GUEST_CSUM */
	assert_int_equal(f & (0xfu << 7), 0); /* no GUEST_TSO/UFO */
	assert_int_equal(rd(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_NET);
}

static void test_tx_copies_frame_once(void **state)
{
	tx_chain(0, 60, 1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_int_equal(used_idx(1), 1);
	uint32_t id, len;
	used_elem(1, 0, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, 0);
	/* The guest rewrites its buffer after the kick: nothing changes. */
	memset(ram + TXBUF + 0x20, 0xee, 60);
	expect_frame(60, 1);
	expect_no_frame();
	assert_int_equal(stats().tx_frames, 1);
}

static void test_tx_malformed_sizes(void **state)
{
	static const uint32_t bad[] = { NET_FRAME_MIN - 1, NET_FRAME_MAX + 1, 3000 };
	for (uint16_t i = 0; i < 3; i++)
		tx_chain(i, bad[i], 0);
	/* Only a header, split over one descriptor. */
	set_desc(1, 15, TXBUF + 0x8000, 5, 0, 0);
	publish(1, 15);
	tx_chain(4, NET_FRAME_MAX, 9); /* the largest good frame */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_int_equal(used_idx(1), 5);
	expect_frame(NET_FRAME_MAX, 9);
	expect_no_frame();
	struct virtio_net_stats s = stats();
	assert_int_equal(s.tx_dropped_malformed, 4);
	assert_int_equal(s.tx_frames, 1);
	assert_false(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

/* RX buffers: n chains of `size` bytes from slot `first`, then a kick. */
static void rx_post(uint16_t first, uint16_t n, uint32_t size)
{
	for (uint16_t i = first; i < first + n; i++) {
		set_desc(0, i, RXBUF + 0x800ULL * i, size, VIRTQ_DESC_F_WRITE, 0);
		publish(0, i);
	}
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

static void peer_send(uint32_t len, uint8_t seed)
{
	uint8_t buf[4096];
	fill(buf, len, seed);
	assert_int_equal(send(peer, buf, len, 0), (ssize_t)len);
}

/* Checks a frame delivered over chains 0..n-1 (posted from slot 0). */
static void check_rx(uint16_t from, uint16_t n, uint32_t size, uint32_t len, uint8_t seed)
{
	uint8_t got[4096], want[4096];
	size_t total = VIRTIO_NET_HDR_LEN + len, done = 0;
	for (uint16_t i = 0; i < n; i++) {
		uint32_t id, l;
		used_elem(0, (uint16_t)(from + i), &id, &l);
		assert_int_equal(l, total - done < size ? total - done : size);
		memcpy(got + done, ram + RXBUF + 0x800ULL * id, l);
		done += l;
	}
	assert_int_equal(done, total);
	assert_int_equal(got[VIRTIO_NET_HDR_NUM_BUFFERS] | got[VIRTIO_NET_HDR_NUM_BUFFERS + 1] << 8, n);
	assert_int_equal(got[0], 0); /* flags: no offloads */
	fill(want, len, seed);
	assert_memory_equal(got + VIRTIO_NET_HDR_LEN, want, len);
}

static void test_rx_mergeable_across_chains(void **state)
{
	rx_post(0, 8, 256);
	peer_send(1000, 3); /* 1012 bytes with the header: 4 chains */
	wait_used(0, 4);
	check_rx(0, 4, 256, 1000, 3);
	peer_send(60, 4);
	wait_used(0, 5);
	check_rx(4, 1, 256, 60, 4);
	assert_int_equal(stats().rx_frames, 2);
	assert_true(irq_raises > 0);
}

static void test_rx_waits_for_buffers(void **state)
{
	rx_post(0, 2, 256);
	peer_send(1000, 5);
	peer_send(100, 6);
	sleep_ms(50);
	assert_int_equal(used_idx(0), 0); /* 512 bytes cannot hold it */
	assert_int_equal(stats().rx_frames, 0);
	rx_post(2, 2, 256);
	wait_used(0, 4);
	check_rx(0, 4, 256, 1000, 5);
	rx_post(4, 1, 256); /* the second frame was not lost either */
	wait_used(0, 5);
	check_rx(4, 1, 256, 100, 6);
	assert_int_equal(stats().rx_dropped_no_buffer, 0);
}

static void test_rx_oversize_and_runt_dropped(void **state)
{
	rx_post(0, 8, 256);
	peer_send(NET_FRAME_MAX + 1, 0);
	peer_send(4000, 0);
	peer_send(NET_FRAME_MIN - 1, 0);
	assert_int_equal(send(peer, "", 0, 0), 0);
	peer_send(NET_FRAME_MAX, 7);
	wait_used(0, 6); /* 1530 bytes: 6 chains */
	check_rx(0, 6, 256, NET_FRAME_MAX, 7);
	struct virtio_net_stats s = stats();
	assert_int_equal(s.rx_dropped_oversize, 2);
	assert_int_equal(s.rx_dropped_runt, 2);
	assert_int_equal(s.rx_frames, 1);
	assert_true(virtio_net_link_up(net));
}

static void test_rx_without_mergeable(void **state)
{
	driver_init(ALL_F & ~(1ULL << VIRTIO_NET_F_MRG_RXBUF));
	rx_post(0, 1, 100);
	peer_send(500, 1); /* does not fit the one chain it may use: dropped */
	peer_send(80, 2);
	wait_used(0, 1);
	check_rx(0, 1, 100, 80, 2);
	assert_int_equal(stats().rx_dropped_no_buffer, 1);
}

static void test_tx_writable_descriptor_breaks_only_tx(void **state)
{
	set_desc(1, 0, TXBUF, VIRTIO_NET_HDR_LEN, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, 1, TXBUF + 0x20, 60, VIRTQ_DESC_F_WRITE, 0);
	publish(1, 0);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_true(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	/* Outside RAM too. */
	set_desc(1, 2, 0xfff00000ULL, 100, 0, 0);
	publish(1, 2);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	expect_no_frame();
	rx_post(0, 8, 256);
	peer_send(200, 8);
	wait_used(0, 1);
	check_rx(0, 1, 256, 200, 8);
	/* A reset brings TX back; the I/O thread survived it. */
	driver_init(ALL_F);
	tx_chain(0, 64, 2);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	expect_frame(64, 2);
	rx_post(0, 8, 256);
	peer_send(300, 9);
	wait_used(0, 2);
	check_rx(0, 2, 256, 300, 9);
}

/* Nobody reads the switch's end: sends through the device, the ring kept
 * full of frames, until the socket refuses one (then held). */
static void fill_until_held(void)
{
	for (uint16_t i = 0; i < QSZ / 3; i++)
		tx_chain(i, 1500, (uint8_t)i);
	for (int round = 0; round < 400; round++) {
		/* Keep the ring full of frames until the backend blocks. */
		wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
		if (used_idx(1) != avail[1])
			break;
		for (uint16_t i = 0; i < QSZ / 3; i++)
			tx_chain(i, 1500, (uint8_t)i);
	}
}

static void test_tx_backend_full_resumes(void **state)
{
	fill_until_held();
	uint16_t blocked_at = used_idx(1);
	assert_true(blocked_at != avail[1]); /* some frames wait for room */
	/* Reading on the switch side makes room; the I/O thread resumes. */
	int got = 0;
	uint8_t buf[2048];
	for (int i = 0; i < 5000 && used_idx(1) != avail[1]; i++) {
		while (recv(peer, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			got++;
		sleep_ms(1);
	}
	wait_used(1, avail[1]);
	while (recv(peer, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		got++;
	assert_int_equal(got, avail[1]);
	struct virtio_net_stats s = stats();
	assert_int_equal(s.tx_frames, avail[1]);
	assert_int_equal(s.tx_dropped_link_down, 0);
}

/* Another vCPU of a hostile guest, made deterministic: this test's send()
 * stands in for libc's (the device's sends resolve to it), and while
 * refills are left it puts a chain back into the TX ring each time the
 * device sends a frame, so the ring never runs dry. It also counts the
 * sends made on the notifying thread. */
static int refills_left;
static pid_t notifier;
static int sends_by_notifier;

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	if (gettid() == notifier)
		sends_by_notifier++;
	/* The device's lock is held here (the notifying vCPU's, or the I/O
	 * thread's): one refiller at a time. */
	if (__atomic_load_n(&refills_left, __ATOMIC_ACQUIRE) > 0 && (uint16_t)(avail[1] - used_idx(1)) < QSZ - 1) {
		publish(1, 0);
		__atomic_sub_fetch(&refills_left, 1, __ATOMIC_RELEASE);
	}
	return syscall(SYS_sendto, fd, buf, len, flags, NULL, 0);
}

/* A notify handles at most a ring's worth of frames: a guest that refills
 * the ring from another vCPU without end cannot keep the notifying vCPU
 * inside the device; the I/O thread takes the rest (issue 16, point 6). */
static void test_tx_drain_is_bounded(void **state)
{
	uint64_t b = TXBUF;
	memset(ram + b, 0, VIRTIO_NET_HDR_LEN + 60);
	set_desc(1, 0, b, VIRTIO_NET_HDR_LEN + 60, 0, 0);
	for (int i = 0; i < QSZ - 1; i++)
		publish(1, 0);
	refills_left = 100;
	sends_by_notifier = 0;
	notifier = gettid();
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	notifier = 0;
	if (sends_by_notifier > QSZ)
		fail_msg("one notify sent %d frames (the ring holds %d)", sends_by_notifier, QSZ);
	/* The I/O thread sends the rest: every frame the guest gave. */
	for (int i = 0; i < 3000 && __atomic_load_n(&refills_left, __ATOMIC_ACQUIRE) > 0; i++)
		sleep_ms(1);
	assert_int_equal(__atomic_load_n(&refills_left, __ATOMIC_ACQUIRE), 0);
	wait_used(1, (uint16_t)(QSZ - 1 + 100));
	uint8_t buf[2048];
	int got = 0;
	while (recv(peer, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		got++;
	assert_int_equal(got, QSZ - 1 + 100);
}

/* A frame held for room when the driver disables the TX queue (QueueReady
 * 0) and sets up a new ring: its head belonged to the old ring, so it is
 * dropped, never pushed into the new one (issue 16, point 6). */
static void test_tx_held_head_not_pushed_into_new_ring(void **state)
{
	fill_until_held();
	assert_true(used_idx(1) != avail[1]); /* a frame is held */
	uint64_t dropped = stats().tx_dropped_link_down;
	/* The driver takes the TX ring away and sets up a fresh one. */
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	wr(VIRTIO_MMIO_QUEUE_READY, 0);
	memset(ram + TXQ_BASE, 0, 0x3000);
	avail[1] = 0;
	vdrv_queue(t, 1, QSZ, TXQ_BASE, TXQ_BASE + 0x1000, TXQ_BASE + 0x2000);
	/* Room on the switch's side: the I/O thread sees POLLOUT. */
	uint8_t buf[2048];
	for (int i = 0; i < 300; i++) {
		while (recv(peer, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
		sleep_ms(1);
	}
	assert_int_equal(used_idx(1), 0); /* nothing the driver did not give */
	assert_int_equal(stats().tx_dropped_link_down, dropped + 1);
	/* The new ring works. */
	tx_chain(0, 100, 7);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	wait_used(1, 1);
}

static void test_backend_eof_link_down_then_reconnect(void **state)
{
	uint32_t gen = rd(VIRTIO_MMIO_CONFIG_GENERATION);
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	close(peer);
	peer = -1;
	for (int i = 0; i < 3000 && virtio_net_link_up(net); i++)
		sleep_ms(1);
	assert_false(virtio_net_link_up(net));
	assert_true(rd(VIRTIO_MMIO_CONFIG_GENERATION) != gen);
	assert_true(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	/* Frames sent while the link is down are dropped, chains returned. */
	tx_chain(0, 60, 1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_int_equal(used_idx(1), 1);
	assert_int_equal(stats().tx_dropped_link_down, 1);
	/* The next reconnect attempt (every second) succeeds. */
	__atomic_store_n(&reconnect_fd, sv[0], __ATOMIC_SEQ_CST);
	for (int i = 0; i < 3000 && !virtio_net_link_up(net); i++)
		sleep_ms(1);
	assert_true(virtio_net_link_up(net));
	peer = sv[1];
	assert_int_equal(stats().reconnects, 1);
	tx_chain(1, 70, 4);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	expect_frame(70, 4);
	rx_post(0, 8, 256);
	peer_send(90, 5);
	wait_used(0, 1);
	check_rx(0, 1, 256, 90, 5);
}

static void test_rx_dropped_before_driver_ok(void **state)
{
	wr(VIRTIO_MMIO_STATUS, 0);
	peer_send(60, 1);
	for (int i = 0; i < 3000 && stats().rx_dropped_no_buffer == 0; i++)
		sleep_ms(1);
	assert_int_equal(stats().rx_dropped_no_buffer, 1);
	driver_init(ALL_F);
	rx_post(0, 4, 256);
	peer_send(61, 2);
	wait_used(0, 1);
	check_rx(0, 1, 256, 61, 2);
}

/* ---- snapshot ---- */

/* The section: device version, the transport (its version, 34 bytes of
 * registers, two queues of 36), the MAC, link_up, tx_held [tx_head,
 * tx_frame_len, frame], rx_pending [rx_frame_len, frame]. */
#define NS_TRANSPORT 4
#define NS_Q0_DESC (NS_TRANSPORT + 38 + 2)
#define NS_MAC (NS_TRANSPORT + 38 + 2 * 36)
#define NS_LINK (NS_MAC + 6)
#define NS_TX_HELD (NS_LINK + 1)

struct section {
	uint8_t *buf;
	size_t len;
};

static struct section net_save(void)
{
	struct section sec;
	sec.len = vdrv_save(virtio_net_type.ops, net, &sec.buf);
	return sec;
}

static int net_restore(const uint8_t *buf, size_t len, char *field)
{
	return vdrv_restore(virtio_net_type.ops, net, buf, len, field);
}

/* Offset of the rx_pending flag (after a held TX frame, if any). */
static size_t rx_pending_at(const struct section *sec)
{
	if (sec->buf[NS_TX_HELD] == 0)
		return NS_TX_HELD + 1;
	uint32_t flen = le_get32(sec->buf + NS_TX_HELD + 3);
	return NS_TX_HELD + 7 + flen;
}

static const uint64_t regs[] = {
	VIRTIO_MMIO_DEVICE_FEATURES,   VIRTIO_MMIO_QUEUE_NUM_MAX, VIRTIO_MMIO_QUEUE_READY,
	VIRTIO_MMIO_INTERRUPT_STATUS,  VIRTIO_MMIO_STATUS,        VIRTIO_MMIO_CONFIG_GENERATION,
	VIRTIO_MMIO_CONFIG,            VIRTIO_MMIO_CONFIG + 4,    VIRTIO_MMIO_CONFIG + 8,
};
#define NREGS (sizeof(regs) / sizeof(regs[0]))

static void read_regs(uint32_t *out)
{
	for (size_t i = 0; i < NREGS; i++)
		out[i] = rd(regs[i]);
}

/* The old process is gone (its switch connection with it); a new one
 * creates the adapter from the same settings, on a new connection. */
static void replace_net(void)
{
	virtio_net_free(net);
	if (peer >= 0)
		close(peer);
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	peer = sv[1];
	struct virtio_net_config cfg = { .mac = MAC, .fd = sv[0], .reconnect = do_reconnect };
	struct irq_line irq = { .set_level = irq_set };
	struct nv_err err = { 0 };
	net = virtio_net_new(&mem, irq, &cfg, &err);
	assert_non_null(net);
	t = virtio_net_transport(net);
}

static void test_snapshot_round_trip(void **state)
{
	tx_chain(0, 60, 1);
	tx_chain(1, 70, 2);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	expect_frame(60, 1);
	expect_frame(70, 2);
	rx_post(0, 4, 256);
	peer_send(300, 3);
	wait_used(0, 2);
	check_rx(0, 2, 256, 300, 3);
	virtio_net_type.ops->pause(net);
	uint32_t before[NREGS], after[NREGS];
	read_regs(before);
	struct section sec = net_save();
	assert_int_equal(sec.len, NS_TX_HELD + 2); /* nothing held */
	assert_int_equal(sec.buf[NS_LINK], 1);

	replace_net();
	char field[64];
	assert_int_equal(net_restore(sec.buf, sec.len, field), 0);
	read_regs(after);
	assert_memory_equal(before, after, sizeof(before));

	/* Both rings carry on. */
	tx_chain(2, 80, 4);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_int_equal(used_idx(1), 3);
	expect_frame(80, 4);
	peer_send(100, 5); /* the two chains left of the four */
	wait_used(0, 3);
	check_rx(2, 1, 256, 100, 5);
	assert_int_equal(rd(VIRTIO_MMIO_CONFIG_GENERATION), before[5]); /* same link: no news */
	free(sec.buf);
}

/* A TX frame the switch had no room for and an RX frame the ring had no
 * room for survive the snapshot: the new adapter sends the one and
 * delivers the other when the driver adds buffers. */
static void test_snapshot_held_frames(void **state)
{
	rx_post(0, 2, 256);
	peer_send(1000, 5); /* needs four chains */
	for (uint16_t i = 0; i < QSZ / 3; i++)
		tx_chain(i, 1500, (uint8_t)i);
	for (int round = 0; round < 400; round++) {
		wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
		if (used_idx(1) != avail[1])
			break;
		for (uint16_t i = 0; i < QSZ / 3; i++)
			tx_chain(i, 1500, (uint8_t)i);
	}
	uint16_t blocked_at = used_idx(1);
	assert_true(blocked_at != avail[1]);
	struct section sec = { 0 };
	for (int i = 0; i < 3000; i++) {
		free(sec.buf);
		sec = net_save();
		if (sec.buf[rx_pending_at(&sec)] == 1)
			break;
		sleep_ms(1);
	}
	virtio_net_type.ops->pause(net);
	free(sec.buf);
	sec = net_save();
	assert_int_equal(sec.buf[NS_TX_HELD], 1);
	assert_int_equal(le_get32(sec.buf + NS_TX_HELD + 3), 1500);
	assert_int_equal(sec.buf[rx_pending_at(&sec)], 1);
	assert_int_equal(le_get32(sec.buf + rx_pending_at(&sec) + 1), 1000);
	assert_int_equal(sec.len, rx_pending_at(&sec) + 5 + 1000);

	replace_net();
	char field[64];
	assert_int_equal(net_restore(sec.buf, sec.len, field), 0);
	/* The held frame goes first, then what the ring still holds. */
	expect_frame(1500, (uint8_t)(blocked_at % (QSZ / 3)));
	for (uint16_t k = (uint16_t)(blocked_at + 1); k != avail[1]; k++)
		expect_frame(1500, (uint8_t)(k % (QSZ / 3)));
	wait_used(1, avail[1]);
	expect_no_frame();
	/* The pending frame waits for buffers, then takes the first chains. */
	sleep_ms(20);
	assert_int_equal(used_idx(0), 0);
	rx_post(2, 2, 256);
	wait_used(0, 4);
	check_rx(0, 4, 256, 1000, 5);
	/* Statistics are the new process's own. */
	assert_int_equal(stats().tx_frames, (uint16_t)(avail[1] - blocked_at));
	assert_int_equal(stats().rx_frames, 1);
	assert_int_equal(stats().rx_dropped_no_buffer, 0);
	free(sec.buf);
}

/* The link the guest was shown is not the new connection's: the guest is
 * told, as of any link change, once the adapter runs. */
static void test_snapshot_link_change(void **state)
{
	close(peer);
	peer = -1;
	for (int i = 0; i < 3000 && virtio_net_link_up(net); i++)
		sleep_ms(1);
	assert_false(virtio_net_link_up(net));
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	virtio_net_type.ops->pause(net);
	uint32_t gen = rd(VIRTIO_MMIO_CONFIG_GENERATION);
	struct section sec = net_save();
	assert_int_equal(sec.buf[NS_LINK], 0);

	replace_net();
	virtio_net_type.ops->pause(net); /* as a machine restoring would be */
	char field[64];
	assert_int_equal(net_restore(sec.buf, sec.len, field), 0);
	assert_true(virtio_net_link_up(net)); /* the connection's own */
	sleep_ms(20);
	assert_int_equal(rd(VIRTIO_MMIO_CONFIG_GENERATION), gen);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	virtio_net_type.ops->resume(net);
	for (int i = 0; i < 3000 && rd(VIRTIO_MMIO_CONFIG_GENERATION) == gen; i++)
		sleep_ms(1);
	assert_int_equal(rd(VIRTIO_MMIO_CONFIG_GENERATION), gen + 1);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	/* And it works. */
	tx_chain(0, 64, 7);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	expect_frame(64, 7);
	free(sec.buf);
}

/* A copy of sec with tx and rx parts of our making after link_up. */
static size_t build(uint8_t *out, const struct section *sec, bool tx, uint16_t head, uint32_t tlen,
		    bool rx, uint32_t rlen)
{
	size_t n = NS_TX_HELD;
	memcpy(out, sec->buf, n);
	out[n++] = tx;
	if (tx) {
		le_put16(out + n, head);
		le_put32(out + n + 2, tlen);
		n += 6;
		memset(out + n, 0x77, tlen);
		n += tlen;
	}
	out[n++] = rx;
	if (rx) {
		le_put32(out + n, rlen);
		n += 4;
		memset(out + n, 0x66, rlen);
		n += rlen;
	}
	return n;
}

static void test_snapshot_refusals(void **state)
{
	tx_chain(0, 60, 1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	expect_frame(60, 1);
	virtio_net_type.ops->pause(net);
	struct section sec = net_save();
	uint8_t *bad = malloc(sec.len + 2 * 4096);
	char field[64];
	replace_net();
	for (size_t l = 0; l < sec.len; l++)
		assert_int_equal(net_restore(sec.buf, l, field), -1);
	struct {
		size_t off;
		unsigned bytes;
		uint64_t value;
		const char *field;
	} cases[] = {
		{ 0, 4, 2, "version" },
		{ NS_TRANSPORT, 4, 2, "version" },
		{ NS_Q0_DESC, 8, RAM_SIZE, "desc_gpa" },
		{ NS_Q0_DESC - 2, 2, 3, "size" },
		{ NS_MAC + 5, 1, 0x57, "mac" },
		{ NS_LINK, 1, 2, "link_up" },
		{ NS_TX_HELD, 1, 2, "tx_held" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(bad, sec.buf, sec.len);
		le_put(bad + cases[i].off, cases[i].value, cases[i].bytes);
		assert_int_equal(net_restore(bad, sec.len, field), -1);
		assert_string_equal(field, cases[i].field);
	}
	struct {
		bool tx;
		uint16_t head;
		uint32_t tlen;
		bool rx;
		uint32_t rlen;
		const char *field;
	} frames[] = {
		{ true, 0, NET_FRAME_MIN - 1, false, 0, "tx_frame_len" },
		{ true, 0, NET_FRAME_MAX + 1, false, 0, "tx_frame_len" },
		{ true, QSZ, 60, false, 0, "tx_head" },
		{ false, 0, 0, true, 0, "rx_frame_len" },
		{ false, 0, 0, true, NET_FRAME_MAX + 1, "rx_frame_len" },
	};
	for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
		size_t n = build(bad, &sec, frames[i].tx, frames[i].head, frames[i].tlen, frames[i].rx,
				 frames[i].rlen);
		assert_int_equal(net_restore(bad, n, field), -1);
		assert_string_equal(field, frames[i].field);
	}
	/* A frame cut short, and bytes past the end. */
	size_t n = build(bad, &sec, false, 0, 0, true, 100);
	assert_int_equal(net_restore(bad, n - 1, field), -1);
	assert_string_equal(field, "rx_frame");
	memcpy(bad, sec.buf, sec.len);
	bad[sec.len] = 0;
	assert_int_equal(net_restore(bad, sec.len + 1, field), -1);
	assert_string_equal(field, "trailing bytes");
	/* Nothing of those stuck: the good section restores and works. */
	assert_int_equal(net_restore(sec.buf, sec.len, field), 0);
	tx_chain(1, 61, 2);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	expect_frame(61, 2);
	assert_int_equal(used_idx(1), 2);
	free(bad);
	free(sec.buf);
}

static uint64_t mono_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Waits up to wait_ms for one announcement on the switch's end; its
 * arrival time, or 0 if none came. */
static uint64_t next_announce(int wait_ms)
{
	uint8_t buf[128], want[ETH_ANNOUNCE_LEN];
	struct pollfd p = { .fd = peer, .events = POLLIN };
	if (poll(&p, 1, wait_ms) != 1)
		return 0;
	uint64_t at = mono_now_ms();
	assert_int_equal(recv(peer, buf, sizeof(buf), MSG_DONTWAIT), ETH_ANNOUNCE_LEN);
	eth_announce_frame(&MAC, want);
	assert_memory_equal(buf, want, ETH_ANNOUNCE_LEN);
	return at;
}

/* After a move the adapter sends QEMU's five RARPs from its MAC into the
 * backend, the gaps growing 50, 150, 250, 350 ms; the guest sees nothing. */
static void test_announce_rounds(void **state)
{
	uint64_t start = mono_now_ms();
	virtio_net_announce(net);
	uint64_t at[ETH_ANNOUNCE_ROUNDS];
	for (unsigned i = 0; i < ETH_ANNOUNCE_ROUNDS; i++) {
		at[i] = next_announce(3000);
		assert_true(at[i] != 0);
	}
	assert_true(at[0] - start < 40); /* the first at once */
	for (unsigned i = 1; i < ETH_ANNOUNCE_ROUNDS; i++)
		assert_true(at[i] - at[i - 1] + 2 >= eth_announce_gap_ms(i - 1));
	assert_int_equal(next_announce(700), 0); /* five, no more */
	assert_int_equal(stats().announce_frames, ETH_ANNOUNCE_ROUNDS);
	assert_int_equal(stats().tx_frames, 0); /* not the guest's traffic */
	assert_int_equal(used_idx(0), 0);
}

/* Paused (a machine not yet running, or paused again), the rounds wait;
 * the device table's announce hook is the one the machine calls. */
static void test_announce_waits_while_paused(void **state)
{
	const struct device_ops *ops = virtio_net_type.ops;
	assert_non_null(ops->announce);
	ops->pause(net);
	ops->announce(net);
	assert_int_equal(next_announce(300), 0);
	ops->resume(net);
	assert_true(next_announce(1000) != 0);
	assert_true(next_announce(1000) != 0);
	ops->pause(net);
	assert_int_equal(next_announce(600), 0);
	ops->resume(net);
	for (int i = 0; i < ETH_ANNOUNCE_ROUNDS - 2; i++)
		assert_true(next_announce(1000) != 0);
	assert_int_equal(next_announce(700), 0);
	assert_int_equal(stats().announce_frames, ETH_ANNOUNCE_ROUNDS);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_config_and_features),
		T(test_tx_copies_frame_once),
		T(test_tx_malformed_sizes),
		T(test_rx_mergeable_across_chains),
		T(test_rx_waits_for_buffers),
		T(test_rx_oversize_and_runt_dropped),
		T(test_rx_without_mergeable),
		T(test_tx_writable_descriptor_breaks_only_tx),
		T(test_tx_backend_full_resumes),
		T(test_backend_eof_link_down_then_reconnect),
		T(test_rx_dropped_before_driver_ok),
		T(test_snapshot_round_trip),
		T(test_snapshot_held_frames),
		T(test_tx_held_head_not_pushed_into_new_ring),
		T(test_tx_drain_is_bounded),
		T(test_snapshot_link_change),
		T(test_snapshot_refusals),
		T(test_announce_rounds),
		T(test_announce_waits_while_paused),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
