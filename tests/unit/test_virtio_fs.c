/* virtio-fs against a fake vhost-user back-end (a thread on a socketpair
 * that records each request and the fds it carries): the config space, the
 * handshake at creation, the hand-over at DRIVER_OK in the spec's order,
 * a kick reaching the back-end's eventfd, a call becoming InterruptStatus
 * and an edge, the rings stopped at a reset, and back-ends that answer
 * wrongly refused with one line. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/guest_mem.h"
#include "dev/vhost_user/vhost_user_msg.h"
#include "dev/virtio/fs.h"
#include "util/le.h"
#include "virtio_driver.h"

#define RAM (2ULL << 20)
#define QSZ 16

enum fake_mode { FAKE_GOOD, FAKE_WRONG_REQUEST, FAKE_WRONG_SIZE, FAKE_NO_VERSION_1 };

struct fake {
	int fd;
	enum fake_mode mode;
	pthread_t thread;
	pthread_mutex_t lock;
	uint32_t reqs[64];
	unsigned nreqs;
	int kick[2], call[2]; /* the fds the back-end got, per ring */
	int mem_fds;
	uint64_t features_set;
	uint64_t ring_addr_desc[2];
};

static void send_reply(struct fake *f, uint32_t req, uint32_t size, uint64_t a, uint64_t b)
{
	uint8_t m[24];
	le_put32(m, req);
	le_put32(m + 4, VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY);
	le_put32(m + 8, size);
	if (size == 8 && b == UINT64_MAX) {
		le_put64(m + 12, a);
	} else {
		le_put32(m + 12, (uint32_t)a);
		le_put32(m + 16, (uint32_t)b);
	}
	assert_int_equal(send(f->fd, m, 12 + size, 0), (ssize_t)(12 + size));
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	for (;;) {
		uint8_t m[VHOST_USER_MAX_MSG];
		union {
			char buf[CMSG_SPACE(8 * sizeof(int))];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { .iov_base = m, .iov_len = VHOST_USER_HEADER_SIZE };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
				     .msg_controllen = sizeof(ctl.buf) };
		if (recvmsg(f->fd, &mh, MSG_WAITALL) != VHOST_USER_HEADER_SIZE)
			return NULL;
		int fds[8], nfds = 0;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			nfds = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			memcpy(fds, CMSG_DATA(c), (size_t)nfds * sizeof(int));
		}
		uint32_t req = le_get32(m), flags = le_get32(m + 4), size = le_get32(m + 8);
		if (size && recv(f->fd, m + 12, size, MSG_WAITALL) != (ssize_t)size)
			return NULL;
		pthread_mutex_lock(&f->lock);
		if (f->nreqs < 64)
			f->reqs[f->nreqs++] = req;
		uint32_t index = size >= 4 ? le_get32(m + 12) : 0;
		switch (req) {
		case VHOST_USER_SET_MEM_TABLE:
			f->mem_fds = nfds;
			break;
		case VHOST_USER_SET_FEATURES:
			f->features_set = le_get64(m + 12);
			break;
		case VHOST_USER_SET_VRING_ADDR:
			if (index < 2)
				f->ring_addr_desc[index] = le_get64(m + 20);
			break;
		case VHOST_USER_SET_VRING_KICK:
		case VHOST_USER_SET_VRING_CALL:
			if (index < 2 && nfds == 1)
				(req == VHOST_USER_SET_VRING_KICK ? f->kick : f->call)[index] = fds[0];
			nfds = 0;
			break;
		}
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		pthread_mutex_unlock(&f->lock);
		if (req == VHOST_USER_GET_FEATURES) {
			uint64_t feat = (1ULL << VHOST_USER_F_PROTOCOL_FEATURES) | (1ULL << 28) | (1ULL << 29) |
					(f->mode == FAKE_NO_VERSION_1 ? 0 : 1ULL << 32);
			if (f->mode == FAKE_WRONG_REQUEST)
				send_reply(f, VHOST_USER_GET_PROTOCOL_FEATURES, 8, feat, UINT64_MAX);
			else if (f->mode == FAKE_WRONG_SIZE)
				send_reply(f, req, 4, feat, 0);
			else
				send_reply(f, req, 8, feat, UINT64_MAX);
		} else if (req == VHOST_USER_GET_PROTOCOL_FEATURES) {
			send_reply(f, req, 8, 1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK, UINT64_MAX);
		} else if (req == VHOST_USER_GET_VRING_BASE) {
			send_reply(f, req, 8, index, 7);
		} else if (flags & VHOST_USER_FLAG_NEED_REPLY) {
			send_reply(f, req, 8, 0, UINT64_MAX);
		}
	}
}

struct irq_rec {
	int level, raises;
};

static void rec_set(void *opaque, unsigned gsi, int level)
{
	(void)gsi;
	struct irq_rec *r = opaque;
	if (level && !r->level)
		__atomic_add_fetch(&r->raises, 1, __ATOMIC_SEQ_CST);
	r->level = level;
}

struct fx {
	int bound[2]; /* the kick fd bound per queue (bind_kick), -1 none */
	struct guest_mem mem;
	struct fake fake;
	struct irq_rec irq;
	void *fs;
	struct virtio_mmio *t;
	struct nv_err err;
};

static int rec_bind(void *opaque, uint16_t qidx, int fd)
{
	struct fx *x = opaque;
	if (qidx >= 2)
		return -EINVAL;
	x->bound[qidx] = fd;
	return 0;
}

static void *fx_create(struct fx *x, enum fake_mode mode, const char *tag)
{
	memset(x, 0, sizeof(*x));
	assert_int_equal(guest_mem_alloc_shared(&x->mem, RAM, &x->err), 0);
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	x->fake.fd = sv[1];
	x->fake.mode = mode;
	x->fake.kick[0] = x->fake.kick[1] = x->fake.call[0] = x->fake.call[1] = -1;
	pthread_mutex_init(&x->fake.lock, NULL);
	assert_int_equal(pthread_create(&x->fake.thread, NULL, fake_main, &x->fake), 0);
	x->bound[0] = x->bound[1] = -1;
	struct virtio_fs_spec spec = { .socket_fd = sv[0], .tag = tag, .bind_kick = rec_bind, .bind_opaque = x };
	struct irq_line line = { .set_level = rec_set, .opaque = &x->irq, .gsi = 5 };
	x->fs = virtio_fs_type.create(&x->mem, line, &spec, &x->err);
	if (x->fs)
		x->t = virtio_fs_type.transport(x->fs);
	return x->fs;
}

static void fx_destroy(struct fx *x)
{
	if (x->fs)
		virtio_fs_type.ops->destroy(x->fs);
	else
		shutdown(x->fake.fd, SHUT_RDWR);
	pthread_join(x->fake.thread, NULL); /* ends with the connection */
	close(x->fake.fd);
	for (int i = 0; i < 2; i++) {
		if (x->fake.kick[i] >= 0)
			close(x->fake.kick[i]);
		if (x->fake.call[i] >= 0)
			close(x->fake.call[i]);
	}
	pthread_mutex_destroy(&x->fake.lock);
	guest_mem_free(&x->mem);
}

static unsigned count(struct fx *x, uint32_t req)
{
	unsigned n = 0;
	pthread_mutex_lock(&x->fake.lock);
	for (unsigned i = 0; i < x->fake.nreqs; i++)
		n += x->fake.reqs[i] == req;
	pthread_mutex_unlock(&x->fake.lock);
	return n;
}

static void test_config_space(void **state)
{
	(void)state;
	static struct fx x;
	assert_non_null(fx_create(&x, FAKE_GOOD, "data"));
	assert_int_equal(vdrv_rd(x.t, VIRTIO_MMIO_DEVICE_ID), 26);
	uint8_t cfg[40];
	for (unsigned i = 0; i < sizeof(cfg); i += 4)
		virtio_mmio_access(x.t, VIRTIO_MMIO_CONFIG + i, cfg + i, 4, false);
	assert_memory_equal(cfg, "data\0\0\0\0", 8);
	assert_int_equal(le_get32(cfg + 36), 1); /* num_request_queues */
	/* Past the config space reads as zero. */
	uint8_t past[4] = { 0xff, 0xff, 0xff, 0xff };
	virtio_mmio_access(x.t, VIRTIO_MMIO_CONFIG + 40, past, 4, false);
	assert_int_equal(le_get32(past), 0);
	/* Writes are ignored: the tag is the host's. */
	uint8_t w[4] = { 'x', 'x', 'x', 'x' };
	virtio_mmio_access(x.t, VIRTIO_MMIO_CONFIG, w, 4, true);
	virtio_mmio_access(x.t, VIRTIO_MMIO_CONFIG, cfg, 4, false);
	assert_memory_equal(cfg, "data", 4);
	/* A tag of the full 36 bytes has no NUL. */
	fx_destroy(&x);
	const char *t36 = "abcdefghijklmnopqrstuvwxyz0123456789";
	assert_non_null(fx_create(&x, FAKE_GOOD, t36));
	for (unsigned i = 0; i < 36; i += 4)
		virtio_mmio_access(x.t, VIRTIO_MMIO_CONFIG + i, cfg + i, 4, false);
	assert_memory_equal(cfg, t36, 36);
	fx_destroy(&x);
}

static void test_handshake_handover_and_reset(void **state)
{
	(void)state;
	static struct fx x;
	assert_non_null(fx_create(&x, FAKE_GOOD, "data"));
	assert_int_equal(count(&x, VHOST_USER_GET_FEATURES), 1);
	assert_int_equal(count(&x, VHOST_USER_SET_PROTOCOL_FEATURES), 1);
	assert_int_equal(count(&x, VHOST_USER_SET_OWNER), 1);
	assert_int_equal(count(&x, VHOST_USER_SET_MEM_TABLE), 0); /* at DRIVER_OK */

	uint64_t drv = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX);
	vdrv_negotiate(x.t, drv);
	vdrv_queue(x.t, 0, QSZ, 0x1000, 0x2000, 0x3000);
	vdrv_queue(x.t, 1, QSZ, 0x4000, 0x5000, 0x6000);
	/* A kick before DRIVER_OK goes nowhere. */
	vdrv_wr(x.t, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	vdrv_driver_ok(x.t);
	assert_string_equal(virtio_fs_last_error(x.fs), "");
	pthread_mutex_lock(&x.fake.lock);
	/* The spec's order after SET_OWNER. */
	static const uint32_t want[] = {
		VHOST_USER_SET_FEATURES, VHOST_USER_SET_MEM_TABLE,
		VHOST_USER_SET_VRING_NUM, VHOST_USER_SET_VRING_BASE, VHOST_USER_SET_VRING_ADDR,
		VHOST_USER_SET_VRING_KICK, VHOST_USER_SET_VRING_CALL, VHOST_USER_SET_VRING_ENABLE,
		VHOST_USER_SET_VRING_NUM, VHOST_USER_SET_VRING_BASE, VHOST_USER_SET_VRING_ADDR,
		VHOST_USER_SET_VRING_KICK, VHOST_USER_SET_VRING_CALL, VHOST_USER_SET_VRING_ENABLE,
	};
	assert_int_equal(x.fake.nreqs, 4 + sizeof(want) / sizeof(want[0]));
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_int_equal(x.fake.reqs[4 + i], want[i]);
	assert_int_equal(x.fake.features_set, drv | (1ULL << VHOST_USER_F_PROTOCOL_FEATURES));
	assert_int_equal(x.fake.mem_fds, 1);
	/* Ring addresses are this process's, as vhost-user wants. */
	assert_int_equal(x.fake.ring_addr_desc[1], (uint64_t)(uintptr_t)guest_mem_ptr(&x.mem, 0x4000, 1));
	int kick = x.fake.kick[1], call = x.fake.call[1];
	pthread_mutex_unlock(&x.fake.lock);
	assert_true(kick >= 0 && call >= 0);

	/* Each queue's kick fd is bound as its QueueNotify ioeventfd: the one
	 * the back-end got (the same file: a write to one reads on the other). */
	assert_true(x.bound[0] >= 0 && x.bound[1] >= 0 && x.bound[0] != x.bound[1]);
	uint64_t one = 1;
	assert_int_equal(write(x.bound[1], &one, sizeof(one)), 8);
	struct pollfd pk = { .fd = kick, .events = POLLIN };
	assert_int_equal(poll(&pk, 1, 2000), 1);
	uint64_t got;
	assert_int_equal(read(kick, &got, sizeof(got)), 8);
	/* Without KVM's ioeventfd, the guest's kick of queue 1 still reaches
	 * the back-end's eventfd, through the transport. */
	vdrv_wr(x.t, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	struct pollfd p = { .fd = kick, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 2000), 1);
	uint64_t n;
	assert_int_equal(read(kick, &n, sizeof(n)), 8);
	/* Out-of-range queue numbers are ignored. */
	vdrv_wr(x.t, VIRTIO_MMIO_QUEUE_NOTIFY, 7);

	/* The back-end's call: InterruptStatus says "used buffer", the line
	 * rises; acknowledged, it falls. */
	n = 1;
	assert_int_equal(write(call, &n, sizeof(n)), 8);
	for (int i = 0; i < 2000 && !(vdrv_rd(x.t, VIRTIO_MMIO_INTERRUPT_STATUS) & 1); i++)
		usleep(1000);
	assert_int_equal(vdrv_rd(x.t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	assert_int_equal(x.irq.level, 1);
	vdrv_wr(x.t, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(x.irq.level, 0);

	/* A reset stops both rings. */
	vdrv_wr(x.t, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(count(&x, VHOST_USER_GET_VRING_BASE), 2);
	assert_string_equal(virtio_fs_last_error(x.fs), "");
	/* A second reset has nothing to stop. */
	vdrv_wr(x.t, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(count(&x, VHOST_USER_GET_VRING_BASE), 2);
	fx_destroy(&x);
}

static void test_backend_gone_needs_reset(void **state)
{
	(void)state;
	static struct fx x;
	assert_non_null(fx_create(&x, FAKE_GOOD, "data"));
	vdrv_negotiate(x.t, 1ULL << VIRTIO_F_VERSION_1);
	vdrv_queue(x.t, 0, QSZ, 0x1000, 0x2000, 0x3000);
	vdrv_queue(x.t, 1, QSZ, 0x4000, 0x5000, 0x6000);
	vdrv_driver_ok(x.t);
	shutdown(x.fake.fd, SHUT_RDWR);
	for (int i = 0; i < 2000 && !(vdrv_rd(x.t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET); i++)
		usleep(1000);
	assert_true(vdrv_rd(x.t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(vdrv_rd(x.t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	/* The reset's GET_VRING_BASE fails: said, not fatal. */
	vdrv_wr(x.t, VIRTIO_MMIO_STATUS, 0);
	assert_true(strstr(virtio_fs_last_error(x.fs), "vhost-user back-end") != NULL);
	fx_destroy(&x);
}

static void test_bad_backends_refused(void **state)
{
	(void)state;
	static struct fx x;
	assert_null(fx_create(&x, FAKE_WRONG_REQUEST, "data"));
	assert_string_equal(x.err.msg, "vhost-user back-end answered GET_FEATURES with a reply to request 15");
	fx_destroy(&x);
	assert_null(fx_create(&x, FAKE_WRONG_SIZE, "data"));
	assert_string_equal(x.err.msg, "vhost-user back-end's reply to GET_FEATURES has 4 bytes (expected 8)");
	fx_destroy(&x);
	assert_null(fx_create(&x, FAKE_NO_VERSION_1, "data"));
	assert_string_equal(x.err.msg, "the vhost-user back-end lacks ring features 0x100000000 virtio-fs needs");
	fx_destroy(&x);
	assert_null(fx_create(&x, FAKE_GOOD, ""));
	assert_string_equal(x.err.msg, "a virtio-fs tag is 1 to 36 bytes");
	fx_destroy(&x);
}

static void test_needs_shared_memory(void **state)
{
	(void)state;
	static uint8_t ram[RAM];
	struct guest_mem mem;
	guest_mem_init_over(&mem, ram, sizeof(ram));
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct virtio_fs_spec spec = { .socket_fd = sv[0], .tag = "data" };
	struct nv_err err = { 0 };
	assert_null(virtio_fs_type.create(&mem, (struct irq_line){ 0 }, &spec, &err));
	assert_string_equal(err.msg, "virtio-fs needs guest RAM its back-end can map (shared memory)");
	/* The device closed its socket: the other end sees the end. */
	char c;
	assert_int_equal(read(sv[1], &c, 1), 0);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_space),
		cmocka_unit_test(test_handshake_handover_and_reset),
		cmocka_unit_test(test_backend_gone_needs_reset),
		cmocka_unit_test(test_bad_backends_refused),
		cmocka_unit_test(test_needs_shared_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
