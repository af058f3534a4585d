/* virtio-fs over vhost-user. The guest's kicks reach the back-end through
 * an eventfd per queue: an ioeventfd KVM signals itself on the QueueNotify
 * write, or else written on the kicking vCPU's thread; the
 * back-end's "call" eventfds are read by this device's own thread, which
 * sets InterruptStatus and raises the line, as virtio-mmio requires (an
 * irqfd straight into KVM would interrupt the guest with InterruptStatus
 * still 0, and Linux's vm_interrupt then ignores it). */
#include "dev/virtio/fs.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "confine/confine.h"
#include "dev/vhost_user/vhost_user_frontend.h"
#include "util/le.h"

/* Config space: tag[36], then le32 num_request_queues. */
#define FS_CONFIG_SIZE (VIRTIO_FS_TAG_MAX + 4)

struct virtio_fs {
	struct virtio_mmio *t;
	const struct guest_mem *mem;
	struct vhost_user_frontend fe;
	uint8_t config[FS_CONFIG_SIZE];
	int kick_fd[VIRTIO_FS_QUEUES];
	int call_fd[VIRTIO_FS_QUEUES];
	int stop_fd;
	/* Rings the back-end serves now (between DRIVER_OK and a reset);
	 * under the transport lock. */
	bool ring_started[VIRTIO_FS_QUEUES];
	char last_error[sizeof(((struct nv_err *)0)->msg)];

	pthread_t thread;
	bool thread_started;
	sem_t confined;
	int confine_rc;
	struct nv_err confine_err;
};

static void fs_config_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
	struct virtio_fs *fs = dev;
	if (off < FS_CONFIG_SIZE && len <= FS_CONFIG_SIZE - off)
		memcpy(data, fs->config + off, len);
}

/* The device fails until the driver resets it: the guest sees
 * NEEDS_RESET, the reason is kept for the log. */
static void fail(struct virtio_fs *fs, const struct nv_err *err)
{
	snprintf(fs->last_error, sizeof(fs->last_error), "%s", err->msg);
	virtio_mmio_set_needs_reset(fs->t);
}

static int set_mem_table(struct virtio_fs *fs, struct nv_err *err)
{
	struct vhost_user_region r[2];
	const struct guest_mem *m = fs->mem;
	for (int i = 0; i < m->nregions; i++)
		r[i] = (struct vhost_user_region){
			.guest_phys_addr = m->regions[i].gpa,
			.memory_size = m->regions[i].size,
			.userspace_addr = (uint64_t)(uintptr_t)m->regions[i].host,
			.mmap_offset = (uint64_t)(m->regions[i].host - m->mapping),
		};
	return vhost_user_frontend_set_mem_table(&fs->fe, r, (unsigned)m->nregions, m->fd, err);
}

/* DRIVER_OK: the features the driver took, the memory, then each ready
 * ring (its addresses already checked and translated by virtq_enable). */
static void fs_driver_ok(void *dev, struct virtio_mmio *t)
{
	struct virtio_fs *fs = dev;
	struct nv_err err = { 0 };
	if (vhost_user_frontend_set_features(&fs->fe, virtio_mmio_driver_features(t), &err) < 0 ||
	    set_mem_table(fs, &err) < 0) {
		fail(fs, &err);
		return;
	}
	for (uint16_t i = 0; i < VIRTIO_FS_QUEUES; i++) {
		struct virtq *q = virtio_mmio_queue(t, i);
		if (!q || !q->ready)
			continue;
		struct vhost_user_ring r = {
			.size = q->size, .base = q->last_avail_idx,
			.desc = q->desc, .avail = q->avail, .used = q->used,
			.kick_fd = fs->kick_fd[i], .call_fd = fs->call_fd[i],
		};
		if (vhost_user_frontend_start_ring(&fs->fe, i, &r, &err) < 0) {
			fail(fs, &err);
			return;
		}
		fs->ring_started[i] = true;
	}
}

static void fs_queue_notify(void *dev, struct virtio_mmio *t, uint16_t qidx)
{
	struct virtio_fs *fs = dev;
	(void)t;
	if (qidx >= VIRTIO_FS_QUEUES || !fs->ring_started[qidx])
		return;
	uint64_t one = 1;
	ssize_t w = write(fs->kick_fd[qidx], &one, sizeof(one));
	(void)w; /* a full counter is a kick already pending */
}

/* GET_VRING_BASE stops each ring the back-end serves: after a reset it
 * must not touch the rings the driver frees. */
static void fs_reset(void *dev)
{
	struct virtio_fs *fs = dev;
	for (uint32_t i = 0; i < VIRTIO_FS_QUEUES; i++) {
		if (!fs->ring_started[i])
			continue;
		fs->ring_started[i] = false;
		uint32_t base;
		struct nv_err err = { 0 };
		if (vhost_user_frontend_stop_ring(&fs->fe, i, &base, &err) < 0)
			snprintf(fs->last_error, sizeof(fs->last_error), "%s", err.msg);
	}
}

static const struct virtio_device_ops fs_virtio_ops = {
	.device_id = VIRTIO_ID_FS,
	.num_queues = VIRTIO_FS_QUEUES,
	.config_read = fs_config_read,
	.queue_notify = fs_queue_notify,
	.reset = fs_reset,
	.driver_ok = fs_driver_ok,
};

/* The back-end's calls become used-buffer interrupts; its hang-up makes
 * the device NEEDS_RESET (no more requests will be served). */
static void *call_thread(void *arg)
{
	struct virtio_fs *fs = arg;
	fs->confine_rc = confine_thread(CONFINE_DEVICE_IO, &fs->confine_err);
	sem_post(&fs->confined);
	if (fs->confine_rc < 0)
		return NULL;
	bool backend_gone = false;
	for (;;) {
		struct pollfd p[2 + VIRTIO_FS_QUEUES] = {
			{ .fd = fs->stop_fd, .events = POLLIN },
			{ .fd = backend_gone ? -1 : fs->fe.fd, .events = POLLRDHUP },
		};
		for (int i = 0; i < VIRTIO_FS_QUEUES; i++)
			p[2 + i] = (struct pollfd){ .fd = fs->call_fd[i], .events = POLLIN };
		if (poll(p, 2 + VIRTIO_FS_QUEUES, -1) < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		if (p[0].revents)
			return NULL;
		if (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR)) {
			backend_gone = true;
			virtio_mmio_set_needs_reset(fs->t);
		}
		for (int i = 0; i < VIRTIO_FS_QUEUES; i++) {
			uint64_t n;
			if ((p[2 + i].revents & POLLIN) && read(fs->call_fd[i], &n, sizeof(n)) > 0)
				virtio_mmio_interrupt(fs->t);
		}
	}
}

static void fs_destroy(void *dev)
{
	struct virtio_fs *fs = dev;
	if (fs->thread_started) {
		uint64_t one = 1;
		ssize_t w = write(fs->stop_fd, &one, sizeof(one));
		(void)w;
		pthread_join(fs->thread, NULL);
	}
	vhost_user_frontend_close(&fs->fe); /* the back-end ends with its connection */
	for (int i = 0; i < VIRTIO_FS_QUEUES; i++) {
		if (fs->kick_fd[i] >= 0)
			close(fs->kick_fd[i]);
		if (fs->call_fd[i] >= 0)
			close(fs->call_fd[i]);
	}
	if (fs->stop_fd >= 0)
		close(fs->stop_fd);
	virtio_mmio_free(fs->t);
	free(fs);
}

/* The ring features the transport offers the driver: the back-end must
 * serve every one of them. */
#define FS_RING_FEATURES                                                          \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | \
	 (1ULL << VIRTIO_RING_F_EVENT_IDX))

static int start_thread(struct virtio_fs *fs, struct nv_err *err)
{
	/* Signals belong to the VMM's main thread (its signalfd). */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	sem_init(&fs->confined, 0, 0);
	int rc = pthread_create(&fs->thread, NULL, call_thread, fs);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		sem_destroy(&fs->confined);
		return nv_err_host(err, "cannot start the virtio-fs thread: %s", strerror(rc));
	}
	while (sem_wait(&fs->confined) < 0)
		;
	sem_destroy(&fs->confined);
	if (fs->confine_rc < 0) {
		pthread_join(fs->thread, NULL);
		return nv_err_host(err, "virtio-fs thread: %s", fs->confine_err.msg);
	}
	fs->thread_started = true;
	return 0;
}

static void *fs_create(const struct guest_mem *mem, struct irq_line irq, const void *spec,
		       struct nv_err *err)
{
	const struct virtio_fs_spec *s = spec;
	struct virtio_fs *fs = calloc(1, sizeof(*fs));
	if (!fs) {
		close(s->socket_fd);
		nv_err_host(err, "out of memory for virtio-fs");
		return NULL;
	}
	fs->fe.fd = -1;
	fs->stop_fd = -1;
	for (int i = 0; i < VIRTIO_FS_QUEUES; i++)
		fs->kick_fd[i] = fs->call_fd[i] = -1;
	size_t taglen = s->tag ? strlen(s->tag) : 0;
	if (taglen == 0 || taglen > VIRTIO_FS_TAG_MAX) {
		close(s->socket_fd);
		nv_err_input(err, "a virtio-fs tag is 1 to %d bytes", VIRTIO_FS_TAG_MAX);
		goto fail;
	}
	memcpy(fs->config, s->tag, taglen);
	le_put32(fs->config + VIRTIO_FS_TAG_MAX, 1); /* num_request_queues */
	fs->mem = mem;
	if (!mem->shared || mem->nregions < 1 || mem->nregions > 2) {
		close(s->socket_fd);
		nv_err_host(err, "virtio-fs needs guest RAM its back-end can map (shared memory)");
		goto fail;
	}
	if (vhost_user_frontend_open(&fs->fe, s->socket_fd, err) < 0)
		goto fail;
	if ((fs->fe.features & FS_RING_FEATURES) != FS_RING_FEATURES) {
		nv_err_host(err, "the vhost-user back-end lacks ring features 0x%llx virtio-fs needs",
			    (unsigned long long)(FS_RING_FEATURES & ~fs->fe.features));
		goto fail;
	}
	fs->stop_fd = eventfd(0, EFD_CLOEXEC);
	bool fds_ok = fs->stop_fd >= 0;
	for (int i = 0; i < VIRTIO_FS_QUEUES; i++) {
		fs->kick_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		fs->call_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		fds_ok = fds_ok && fs->kick_fd[i] >= 0 && fs->call_fd[i] >= 0;
	}
	if (!fds_ok) {
		nv_err_host(err, "virtio-fs: eventfd: %s", strerror(errno));
		goto fail;
	}
	for (uint16_t i = 0; i < VIRTIO_FS_QUEUES && s->bind_kick; i++)
		s->bind_kick(s->bind_opaque, i, fs->kick_fd[i]);
	fs->t = virtio_mmio_new(mem, irq, &fs_virtio_ops, fs);
	if (!fs->t) {
		nv_err_host(err, "out of memory for the virtio-fs transport");
		goto fail;
	}
	if (start_thread(fs, err) < 0)
		goto fail;
	return fs;
fail:
	fs_destroy(fs);
	return NULL;
}

static struct virtio_mmio *fs_transport(void *dev)
{
	return ((struct virtio_fs *)dev)->t;
}

const char *virtio_fs_last_error(struct virtio_fs *fs)
{
	return fs->last_error;
}

/* No snapshot hook: the back-end's state (open files, its ring indices)
 * cannot be saved yet, and a VM with a shared folder refuses to be saved
 * before it gets here. No pause hook either: the back-end serves requests
 * the guest already posted while vCPUs are paused. */
static const struct device_ops fs_device_ops = {
	.kind = "virtio-fs",
	.destroy = fs_destroy,
};

const struct virtio_device_type virtio_fs_type = {
	.name = "fs",
	.configured_by = "--share",
	.ops = &fs_device_ops,
	.create = fs_create,
	.transport = fs_transport,
};
