#include "dev/virtio/net.h"
#include "dev/virtio/net_private.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "confine/confine.h"
#include "util/eth_announce.h"
#include "util/le.h"

/* Frames read per wakeup before looking at the other fds again. */
#define RX_BATCH 64
#define RECONNECT_MS 1000

void virtio_net_wake(struct virtio_net *n)
{
	uint64_t one = 1;
	ssize_t r = write(n->kick_fd, &one, sizeof(one));
	(void)r; /* an eventfd at its limit is already readable */
}

/* Offloads: none. Checksum and GSO features would hand the switch frames
 * with missing checksums or of 64 KiB, which other ports (VMs without the
 * feature, a TAP or the NAT uplink) cannot take; frames stay plain Ethernet. */
static uint64_t net_features(void *dev)
{
	(void)dev;
	return (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS) |
	       (1ULL << VIRTIO_NET_F_MRG_RXBUF) | (1ULL << VIRTIO_NET_F_MTU);
}

static void net_config_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
	struct virtio_net *n = dev;
	if (off >= sizeof(n->config))
		return; /* data arrives zeroed */
	uint64_t avail = sizeof(n->config) - off;
	memcpy(data, n->config + off, avail < len ? avail : len);
}

static bool driver_ok(struct virtio_net *n)
{
	return virtio_mmio_status(n->t) & VIRTIO_STATUS_DRIVER_OK;
}

/* Send the frame in tx_buf. 1 sent (or dropped for good), 0 backend full. */
static int tx_send(struct virtio_net *n)
{
	if (n->fd < 0) {
		n->stats.tx_dropped_link_down++;
		return 1;
	}
	ssize_t w;
	do {
		w = send(n->fd, n->tx_buf + HDR, n->tx_len - HDR, MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (w < 0 && errno == EINTR);
	if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
		return 0;
	if (w < 0)
		n->stats.tx_dropped_link_down++; /* the I/O thread sees the hangup */
	else
		n->stats.tx_frames++;
	return 1;
}

/* Gives the held TX head back to the ring it came from, unsent; a ring
 * the driver has since disabled (and perhaps re-enabled elsewhere) gets
 * nothing: that head is no longer its own. Lock held. */
static void tx_drop_held(struct virtio_net *n)
{
	struct virtq *q = virtio_mmio_queue(n->t, VIRTIO_NET_TXQ);
	n->tx_held = false;
	n->stats.tx_dropped_link_down++;
	if (q->ready && q->epoch == n->tx_epoch) {
		virtq_push(q, n->tx_head, 0);
		virtio_mmio_notify_used(n->t, VIRTIO_NET_TXQ);
	}
}

/* Drain the TX ring into the backend, at most a ring's worth per call (a
 * guest refilling it from another vCPU cannot keep us here: the I/O thread
 * goes on). Lock held. */
static void tx_process(struct virtio_net *n)
{
	struct virtq *q = virtio_mmio_queue(n->t, VIRTIO_NET_TXQ);
	if (!driver_ok(n))
		return;
	if (n->tx_held && (!q->ready || q->epoch != n->tx_epoch))
		tx_drop_held(n);
	if (!q->ready)
		return; /* nothing to pop; and its size may be 0, no budget */
	if (n->tx_held) {
		if (!tx_send(n))
			return;
		n->tx_held = false;
		virtq_push(q, n->tx_head, 0);
	}
	n->tx_more = false;
	for (unsigned budget = q->size;; budget--) {
		if (budget == 0) {
			n->tx_more = true;
			virtio_net_wake(n);
			break;
		}
		if (virtq_pop(q, &n->chain) != 1)
			break; /* empty, or broken: notify_used reports NEEDS_RESET */
		const struct virtq_chain *c = &n->chain;
		if (c->writable_len > 0) {
			virtq_mark_broken(q); /* TX buffers are device-readable only */
			break;
		}
		if (c->readable_len < HDR + NET_FRAME_MIN || c->readable_len > HDR + NET_FRAME_MAX) {
			n->stats.tx_dropped_malformed++;
			virtq_push(q, c->head, 0);
			continue;
		}
		/* The one copy out of guest memory: what the switch judges is
		 * this, whatever the guest writes into its buffer afterwards. */
		n->tx_len = virtq_chain_read(c, 0, n->tx_buf, (size_t)c->readable_len);
		if (!tx_send(n)) {
			n->tx_held = true;
			n->tx_head = c->head;
			n->tx_epoch = q->epoch;
			virtio_net_wake(n); /* the I/O thread starts polling for POLLOUT */
			break;
		}
		virtq_push(q, c->head, 0);
	}
	virtio_mmio_notify_used(n->t, VIRTIO_NET_TXQ);
}

/* Put the frame in rx_buf into the RX ring. Lock held. 1 delivered, 0 no
 * room yet (keep it), -1 dropped. */
static int rx_deliver(struct virtio_net *n)
{
	struct virtq *q = virtio_mmio_queue(n->t, VIRTIO_NET_RXQ);
	if (!driver_ok(n) || !q->ready || q->broken) {
		n->stats.rx_dropped_no_buffer++;
		return -1;
	}
	bool mrg = virtio_mmio_driver_features(n->t) & (1ULL << VIRTIO_NET_F_MRG_RXBUF);
	unsigned max = mrg ? q->size : 1;
	size_t total = n->rx_len, done = 0;
	unsigned nch = 0;
	uint8_t *nb[2] = { NULL, NULL }; /* num_buffers in the first chain */
	/* Fill chains as they are popped (each read once); if they run out
	 * before the frame does, they go back unused by the driver's view. */
	while (done < total && nch < max) {
		int r = virtq_pop(q, &n->chain);
		if (r == 0)
			break;
		if (r < 0 || n->chain.writable_len < HDR) {
			/* Every RX buffer must hold at least a header (5.1.6.3.1). */
			virtq_mark_broken(q);
			virtio_mmio_notify_used(n->t, VIRTIO_NET_RXQ);
			n->stats.rx_dropped_no_buffer++;
			return -1;
		}
		if (nch == 0) {
			struct iovec iov;
			for (int i = 0; i < 2; i++) {
				virtq_chain_iov(&n->chain, true, VIRTIO_NET_HDR_NUM_BUFFERS + i, 1, &iov, 1);
				nb[i] = iov.iov_base;
			}
		}
		size_t room = n->chain.writable_len < total - done ? (size_t)n->chain.writable_len
								   : total - done;
		virtq_chain_write(&n->chain, 0, n->rx_buf + done, room);
		n->heads[nch] = n->chain.head;
		n->lens[nch] = (uint32_t)room;
		nch++;
		done += room;
	}
	if (done < total) {
		virtq_unpop(q, (uint16_t)nch);
		if (nch == max) {
			/* Even all it may use cannot hold the frame: waiting would
			 * stall the port for good. */
			n->stats.rx_dropped_no_buffer++;
			return -1;
		}
		return 0;
	}
	*nb[0] = (uint8_t)nch;
	*nb[1] = (uint8_t)(nch >> 8);
	virtq_push_batch(q, n->heads, n->lens, nch);
	n->stats.rx_frames++;
	virtio_mmio_notify_used(n->t, VIRTIO_NET_RXQ);
	return 1;
}

static void net_queue_notify(void *dev, struct virtio_mmio *t, uint16_t qidx)
{
	struct virtio_net *n = dev;
	if (qidx == VIRTIO_NET_TXQ)
		tx_process(n);
	else
		virtio_net_wake(n); /* new RX buffers: a held frame may fit now */
}

static void net_reset(void *dev)
{
	struct virtio_net *n = dev;
	/* The rings go away: a held TX frame is not sent, a pending RX frame
	 * not delivered. The I/O thread keeps running and reads again. */
	if (n->tx_held)
		n->stats.tx_dropped_link_down++;
	if (n->rx_pending)
		n->stats.rx_dropped_no_buffer++;
	n->tx_held = false;
	n->tx_more = false;
	n->rx_pending = false;
	virtio_net_wake(n);
}

static const struct virtio_device_ops net_ops = {
	.device_id = VIRTIO_ID_NET,
	.num_queues = 2,
	.features = net_features,
	.config_read = net_config_read,
	.config_write = NULL, /* the MAC is read-only for a modern driver */
	.queue_notify = net_queue_notify,
	.reset = net_reset,
};

static void set_link(struct virtio_net *n, bool up)
{
	le_put16(n->config + VIRTIO_NET_CFG_STATUS, up ? VIRTIO_NET_S_LINK_UP : 0);
	virtio_mmio_config_changed(n->t);
}

/* The switch went away: link down, and frames for it are dropped. */
static void backend_down(struct virtio_net *n)
{
	virtio_mmio_lock(n->t);
	/* Paused: the hangup stays readable and is handled after resume. */
	if (n->fd >= 0 && !n->paused) {
		close(n->fd);
		n->fd = -1;
		set_link(n, false);
		if (n->tx_held)
			tx_drop_held(n);
	}
	virtio_mmio_unlock(n->t);
}

static void rx_read(struct virtio_net *n, int fd, short revents)
{
	for (int i = 0; i < RX_BATCH; i++) {
		virtio_mmio_lock(n->t);
		bool pending = n->rx_pending, paused = n->paused;
		virtio_mmio_unlock(n->t);
		if (paused)
			return;
		if (pending) {
			if (revents & (POLLHUP | POLLERR))
				backend_down(n);
			return;
		}
		/* MSG_TRUNC: the real length of an oversized message. */
		ssize_t r = recv(fd, n->rx_in, NET_FRAME_MAX, MSG_DONTWAIT | MSG_TRUNC);
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		/* 0 is EOF after a hangup, else an empty message (a runt). */
		if (r < 0 || (r == 0 && (revents & (POLLHUP | POLLRDHUP | POLLERR)))) {
			backend_down(n);
			return;
		}
		virtio_mmio_lock(n->t);
		if (r > NET_FRAME_MAX) {
			n->stats.rx_dropped_oversize++;
		} else if (r < NET_FRAME_MIN) {
			n->stats.rx_dropped_runt++;
		} else if (n->rx_pending) {
			/* A restore put an earlier frame there meanwhile. */
			n->stats.rx_dropped_no_buffer++;
		} else {
			memset(n->rx_buf, 0, HDR); /* no offloads: flags, gso_type 0 */
			memcpy(n->rx_buf + HDR, n->rx_in, (size_t)r);
			n->rx_len = HDR + (size_t)r;
			/* Paused since the check above: keep it for resume. */
			if (n->paused || rx_deliver(n) == 0)
				n->rx_pending = true;
		}
		virtio_mmio_unlock(n->t);
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void try_reconnect(struct virtio_net *n)
{
	int fd = n->reconnect(n->reconnect_opaque); /* unlocked: it may block */
	if (fd < 0)
		return;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	virtio_mmio_lock(n->t);
	n->fd = fd;
	n->stats.reconnects++;
	set_link(n, true);
	virtio_mmio_unlock(n->t);
}

/* One round of the announcement, if due: the frame goes to the backend as
 * if the guest had sent it (the switch checks and learns it like any
 * other). A link that is down or full loses that round; the next ones may
 * get through. Lock held. */
static void announce_if_due(struct virtio_net *n, uint64_t now)
{
	if (n->paused || n->announce_left == 0 || now < n->announce_at_ms)
		return;
	uint8_t frame[ETH_ANNOUNCE_LEN];
	struct mac_addr mac;
	memcpy(mac.b, n->config + VIRTIO_NET_CFG_MAC, ETH_ALEN_);
	size_t len = eth_announce_frame(&mac, frame);
	if (n->fd >= 0 && send(n->fd, frame, len, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)len)
		n->stats.announce_frames++;
	n->announce_left--;
	unsigned done = ETH_ANNOUNCE_ROUNDS - n->announce_left;
	n->announce_at_ms = now + eth_announce_gap_ms(done - 1);
}

/* The poll timeout that wakes the I/O thread for the next round, folded
 * into the one it has; -1 waits for ever. Lock held. */
static int announce_timeout(const struct virtio_net *n, uint64_t now, int timeout)
{
	if (n->paused || n->announce_left == 0)
		return timeout;
	int due = n->announce_at_ms > now ? (int)(n->announce_at_ms - now) : 0;
	return timeout < 0 || due < timeout ? due : timeout;
}

static void *io_thread(void *arg)
{
	struct virtio_net *n = arg;
	/* Before the first frame or guest buffer. */
	n->confine_rc = confine_thread(CONFINE_DEVICE_IO, &n->confine_err);
	sem_post(&n->confined);
	if (n->confine_rc < 0)
		return NULL;
	uint64_t next_try = 0;
	for (;;) {
		virtio_mmio_lock(n->t);
		bool paused = n->paused;
		if (!paused && n->link_notify) {
			n->link_notify = false;
			virtio_mmio_config_changed(n->t);
		}
		int fd = paused ? -1 : n->fd; /* poll ignores -1 */
		short ev = (n->rx_pending ? 0 : POLLIN | POLLRDHUP) | (n->tx_held ? POLLOUT : 0);
		bool link_down = n->fd < 0;
		uint64_t now = now_ms();
		int timeout = announce_timeout(n, now, -1);
		virtio_mmio_unlock(n->t);
		if (!paused && link_down && n->reconnect) {
			if (next_try == 0)
				next_try = now + RECONNECT_MS;
			int retry = next_try > now ? (int)(next_try - now) : 0;
			timeout = timeout < 0 || retry < timeout ? retry : timeout;
		}
		struct pollfd p[3] = {
			{ .fd = n->stop_fd, .events = POLLIN },
			{ .fd = n->kick_fd, .events = POLLIN },
			{ .fd = fd, .events = ev },
		};
		if (poll(p, 3, timeout) < 0 && errno != EINTR)
			break; /* cannot happen with valid fds; do not spin */
		if (p[0].revents)
			break;
		if (p[1].revents & POLLIN) {
			uint64_t v;
			ssize_t r = read(n->kick_fd, &v, sizeof(v));
			(void)r;
			virtio_mmio_lock(n->t);
			if (!n->paused && n->rx_pending && rx_deliver(n) != 0)
				n->rx_pending = false;
			if (!n->paused && n->tx_more && !n->tx_held)
				tx_process(n);
			virtio_mmio_unlock(n->t);
		}
		if (paused)
			continue;
		virtio_mmio_lock(n->t);
		announce_if_due(n, now_ms());
		virtio_mmio_unlock(n->t);
		if (fd >= 0) {
			next_try = 0;
			if (p[2].revents & POLLOUT) {
				virtio_mmio_lock(n->t);
				if (!n->paused)
					tx_process(n);
				virtio_mmio_unlock(n->t);
			}
			if (p[2].revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))
				rx_read(n, fd, p[2].revents);
		} else if (n->reconnect && now_ms() >= next_try) {
			try_reconnect(n);
			next_try = now_ms() + RECONNECT_MS;
		}
	}
	return NULL;
}

struct virtio_net *virtio_net_new(const struct guest_mem *mem, struct irq_line irq,
				  const struct virtio_net_config *cfg, struct nv_err *err)
{
	struct virtio_net *n = calloc(1, sizeof(*n));
	if (!n) {
		nv_err_host(err, "out of memory for virtio-net");
		if (cfg->fd >= 0)
			close(cfg->fd);
		return NULL;
	}
	n->fd = cfg->fd;
	n->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	n->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	n->reconnect = cfg->reconnect;
	n->reconnect_opaque = cfg->reconnect_opaque;
	memcpy(n->config + VIRTIO_NET_CFG_MAC, cfg->mac.b, ETH_ALEN_);
	le_put16(n->config + VIRTIO_NET_CFG_STATUS, n->fd >= 0 ? VIRTIO_NET_S_LINK_UP : 0);
	le_put16(n->config + VIRTIO_NET_CFG_MAX_PAIRS, 1);
	le_put16(n->config + VIRTIO_NET_CFG_MTU, NET_MTU);
	if (n->kick_fd < 0 || n->stop_fd < 0) {
		nv_err_host(err, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if (n->fd >= 0)
		fcntl(n->fd, F_SETFL, fcntl(n->fd, F_GETFL) | O_NONBLOCK);
	n->t = virtio_mmio_new(mem, irq, &net_ops, n);
	if (!n->t) {
		nv_err_host(err, "out of memory for the virtio-net transport");
		goto fail;
	}
	/* All signals blocked: they belong to the VMM's main thread (its
	 * signalfd), and this thread may start before that one blocks them. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	sem_init(&n->confined, 0, 0);
	int rc = pthread_create(&n->thread, NULL, io_thread, n);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		sem_destroy(&n->confined);
		nv_err_host(err, "cannot start the virtio-net I/O thread: %s", strerror(rc));
		goto fail;
	}
	while (sem_wait(&n->confined) < 0)
		;
	sem_destroy(&n->confined);
	if (n->confine_rc < 0) {
		pthread_join(n->thread, NULL);
		nv_err_host(err, "virtio-net I/O thread: %s", n->confine_err.msg);
		goto fail;
	}
	n->thread_started = true;
	return n;
fail:
	virtio_net_free(n);
	return NULL;
}

struct virtio_mmio *virtio_net_transport(struct virtio_net *n)
{
	return n->t;
}

void virtio_net_stats(struct virtio_net *n, struct virtio_net_stats *out)
{
	virtio_mmio_lock(n->t);
	*out = n->stats;
	virtio_mmio_unlock(n->t);
}

bool virtio_net_link_up(struct virtio_net *n)
{
	virtio_mmio_lock(n->t);
	bool up = n->config[VIRTIO_NET_CFG_STATUS] & VIRTIO_NET_S_LINK_UP;
	virtio_mmio_unlock(n->t);
	return up;
}

void virtio_net_free(struct virtio_net *n)
{
	if (!n)
		return;
	if (n->thread_started) {
		uint64_t one = 1;
		ssize_t r = write(n->stop_fd, &one, sizeof(one));
		(void)r;
		pthread_join(n->thread, NULL);
	}
	virtio_mmio_free(n->t);
	if (n->fd >= 0)
		close(n->fd);
	if (n->kick_fd >= 0)
		close(n->kick_fd);
	if (n->stop_fd >= 0)
		close(n->stop_fd);
	free(n);
}

/* Pausing takes the transport lock, under which the I/O thread does all
 * its guest-memory and interrupt work: once it returns, that work waits. */
static void net_pause(void *dev)
{
	struct virtio_net *n = dev;
	virtio_mmio_lock(n->t);
	n->paused = true;
	virtio_mmio_unlock(n->t);
	virtio_net_wake(n);
}

void virtio_net_announce(struct virtio_net *n)
{
	virtio_mmio_lock(n->t);
	n->announce_left = ETH_ANNOUNCE_ROUNDS;
	n->announce_at_ms = now_ms(); /* the first round at once */
	virtio_mmio_unlock(n->t);
	virtio_net_wake(n);
}

static void net_announce(void *dev)
{
	virtio_net_announce(dev);
}

static void net_resume(void *dev)
{
	struct virtio_net *n = dev;
	virtio_mmio_lock(n->t);
	n->paused = false;
	virtio_mmio_unlock(n->t);
	virtio_net_wake(n); /* a frame kept while paused is delivered now */
}

static void *net_create(const struct guest_mem *mem, struct irq_line irq, const void *spec,
			struct nv_err *err)
{
	return virtio_net_new(mem, irq, spec, err);
}

static void net_destroy(void *dev)
{
	virtio_net_free(dev);
}

static struct virtio_mmio *net_transport(void *dev)
{
	return virtio_net_transport(dev);
}

static const struct device_ops net_device_ops = {
	.kind = "virtio-net",
	.pause = net_pause,
	.resume = net_resume,
	.snapshot = virtio_net_snapshot,
	.announce = net_announce,
	.destroy = net_destroy,
};

const struct virtio_device_type virtio_net_type = {
	.name = "net",
	.configured_by = "--nic",
	.ops = &net_device_ops,
	.create = net_create,
	.transport = net_transport,
};
