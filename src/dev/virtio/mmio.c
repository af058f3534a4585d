#include "dev/virtio/mmio.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/device_snapshot.h"

struct virtio_mmio {
	pthread_mutex_t lock; /* recursive: device callbacks may call back in */
	const struct guest_mem *mem;
	struct irq_line irq;
	const struct virtio_device_ops *ops;
	void *dev;

	uint32_t status;
	uint32_t dev_features_sel;
	uint32_t drv_features_sel;
	uint64_t driver_features;
	uint32_t queue_sel;
	uint32_t isr; /* InterruptStatus */
	uint32_t config_gen;
	struct virtq queues[VIRTIO_MMIO_MAX_QUEUES];
};

/* Ring features the virtq layer implements, offered for every device. */
#define TRANSPORT_FEATURES                                                        \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | \
	 (1ULL << VIRTIO_RING_F_EVENT_IDX))

static uint64_t device_features(const struct virtio_mmio *t)
{
	uint64_t f = t->ops->features ? t->ops->features(t->dev) : 0;
	return f | TRANSPORT_FEATURES;
}

/* The line is high exactly while some InterruptStatus bit is set. The pin
 * is edge-triggered (the DSDT's virtio-mmio devices), so a bit that comes
 * while another is still set gets an edge of its own: the driver may have
 * read InterruptStatus already and acknowledges only what it read, which
 * would leave the new bit set and the line high, and no later event could
 * raise it again (a balloon whose target moved while its driver handled a
 * used buffer never heard of that target, nor of anything after it). */
static void isr_set(struct virtio_mmio *t, uint32_t isr)
{
	uint32_t old = t->isr;
	t->isr = isr;
	if (old && (isr & ~old)) {
		irq_line_set(&t->irq, 0);
		irq_line_set(&t->irq, 1);
	} else if (!old && isr) {
		irq_line_set(&t->irq, 1);
	} else if (old && !isr) {
		irq_line_set(&t->irq, 0);
	}
}

/* A queue went broken (malformed ring): the device needs a reset. The VMM
 * keeps running; the driver learns of it through a config interrupt. */
static void check_broken(struct virtio_mmio *t)
{
	if (t->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	for (unsigned i = 0; i < t->ops->num_queues; i++) {
		if (t->queues[i].broken) {
			t->status |= VIRTIO_STATUS_NEEDS_RESET;
			t->config_gen++;
			isr_set(t, t->isr | VIRTIO_MMIO_INT_CONFIG);
			return;
		}
	}
}

static void transport_reset(struct virtio_mmio *t)
{
	if (t->ops->reset)
		t->ops->reset(t->dev);
	for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
		virtq_reset(&t->queues[i]);
	t->status = 0;
	t->dev_features_sel = 0;
	t->drv_features_sel = 0;
	t->driver_features = 0;
	t->queue_sel = 0;
	isr_set(t, 0);
}

/* FEATURES_OK is only accepted for a modern driver that took nothing the
 * device did not offer. */
static bool features_acceptable(const struct virtio_mmio *t)
{
	uint64_t f = t->driver_features;
	if (!(f & (1ULL << VIRTIO_F_VERSION_1)))
		return false;
	return (f & ~device_features(t)) == 0;
}

static struct virtq *selected_queue(struct virtio_mmio *t)
{
	return t->queue_sel < t->ops->num_queues ? &t->queues[t->queue_sel] : NULL;
}

static uint32_t reg_read(struct virtio_mmio *t, uint64_t off)
{
	struct virtq *q = selected_queue(t);
	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return 2;
	case VIRTIO_MMIO_DEVICE_ID:
		return t->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (t->dev_features_sel > 1)
			return 0;
		return (uint32_t)(device_features(t) >> (32 * t->dev_features_sel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return q ? VIRTQ_MAX_SIZE : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return q && q->ready;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return t->isr;
	case VIRTIO_MMIO_STATUS:
		return t->status;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		return 0xffffffff; /* no shared memory regions: length -1 */
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return t->config_gen;
	default:
		return 0; /* write-only or reserved */
	}
}

/* Replace the low or high half of a 64-bit ring address. */
static void set_half(uint64_t *addr, uint32_t v, bool high)
{
	if (high)
		*addr = (*addr & 0xffffffffULL) | ((uint64_t)v << 32);
	else
		*addr = (*addr & ~0xffffffffULL) | v;
}

static void write_status(struct virtio_mmio *t, uint32_t v)
{
	if (v == 0) {
		transport_reset(t);
		return;
	}
	/* NEEDS_RESET belongs to the device: the driver can neither set nor
	 * clear it (only a reset does). */
	uint32_t s = v & 0xff & ~(uint32_t)VIRTIO_STATUS_NEEDS_RESET;
	if ((s & VIRTIO_STATUS_FEATURES_OK) && !(t->status & VIRTIO_STATUS_FEATURES_OK) &&
	    !features_acceptable(t))
		s &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK;
	bool now_ok = (s & VIRTIO_STATUS_DRIVER_OK) && !(t->status & VIRTIO_STATUS_DRIVER_OK);
	t->status = s | (t->status & VIRTIO_STATUS_NEEDS_RESET);
	if (now_ok && t->ops->driver_ok)
		t->ops->driver_ok(t->dev, t);
}

static void write_queue_ready(struct virtio_mmio *t, struct virtq *q, uint32_t v)
{
	if (!q)
		return;
	if (v == 1 && !q->ready) {
		if (virtq_enable(q, t->driver_features) < 0)
			check_broken(t);
	} else if (v == 0 && q->ready) {
		virtq_disable(q);
	}
}

static void reg_write(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	struct virtq *q = selected_queue(t);
	/* Ring geometry is frozen while the queue is live. */
	struct virtq *qcfg = q && !q->ready ? q : NULL;
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		t->dev_features_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (t->status & VIRTIO_STATUS_FEATURES_OK || t->drv_features_sel > 1)
			break;
		set_half(&t->driver_features, v, t->drv_features_sel == 1);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		t->drv_features_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		t->queue_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
		/* Out-of-range sizes become 0 so that enabling fails, rather
		 * than being truncated into something valid. */
		if (qcfg)
			qcfg->size = v <= VIRTQ_MAX_SIZE ? (uint16_t)v : 0;
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		write_queue_ready(t, q, v);
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* Without NOTIFICATION_DATA the value is just the queue index. */
		if (v < t->ops->num_queues && t->queues[v].ready && !t->queues[v].broken) {
			if (t->ops->queue_notify)
				t->ops->queue_notify(t->dev, t, (uint16_t)v);
			check_broken(t);
		}
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		isr_set(t, t->isr & ~v);
		break;
	case VIRTIO_MMIO_STATUS:
		write_status(t, v);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		if (qcfg)
			set_half(&qcfg->desc_gpa, v, off == VIRTIO_MMIO_QUEUE_DESC_HIGH);
		break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		if (qcfg)
			set_half(&qcfg->avail_gpa, v, off == VIRTIO_MMIO_QUEUE_DRIVER_HIGH);
		break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		if (qcfg)
			set_half(&qcfg->used_gpa, v, off == VIRTIO_MMIO_QUEUE_DEVICE_HIGH);
		break;
	default:
		break; /* read-only, SHMSel (no regions) or reserved */
	}
}

static void config_access(struct virtio_mmio *t, uint64_t off, uint8_t *data, uint32_t len,
			  bool is_write)
{
	if (len == 0 || len > 8 || off >= VIRTIO_MMIO_WINDOW - VIRTIO_MMIO_CONFIG ||
	    len > VIRTIO_MMIO_WINDOW - VIRTIO_MMIO_CONFIG - off)
		return;
	if (is_write) {
		if (t->ops->config_write)
			t->ops->config_write(t->dev, off, data, len);
	} else if (t->ops->config_read) {
		t->ops->config_read(t->dev, off, data, len);
	}
}

void virtio_mmio_access(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			bool is_write)
{
	struct virtio_mmio *t = opaque;
	if (!is_write)
		memset(data, 0, len);
	pthread_mutex_lock(&t->lock);
	if (offset >= VIRTIO_MMIO_CONFIG) {
		config_access(t, offset - VIRTIO_MMIO_CONFIG, data, len, is_write);
	} else if (len == 4 && offset % 4 == 0) {
		/* Registers are 32-bit only; anything else is ignored. */
		if (is_write) {
			uint32_t v = (uint32_t)data[0] | (uint32_t)data[1] << 8 |
				     (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
			reg_write(t, offset, v);
		} else {
			uint32_t v = reg_read(t, offset);
			for (int i = 0; i < 4; i++)
				data[i] = (uint8_t)(v >> (8 * i));
		}
	}
	pthread_mutex_unlock(&t->lock);
}

struct virtio_mmio *virtio_mmio_new(const struct guest_mem *mem, struct irq_line irq,
				    const struct virtio_device_ops *ops, void *dev)
{
	if (!mem || !ops || ops->num_queues == 0 || ops->num_queues > VIRTIO_MMIO_MAX_QUEUES)
		return NULL;
	struct virtio_mmio *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	pthread_mutexattr_t attr;
	if (pthread_mutexattr_init(&attr) != 0) {
		free(t);
		return NULL;
	}
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	int rc = pthread_mutex_init(&t->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	if (rc != 0) {
		free(t);
		return NULL;
	}
	t->mem = mem;
	t->irq = irq;
	t->ops = ops;
	t->dev = dev;
	for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
		virtq_init(&t->queues[i], mem);
	return t;
}

void virtio_mmio_free(struct virtio_mmio *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t);
}

struct virtq *virtio_mmio_queue(struct virtio_mmio *t, uint16_t idx)
{
	return idx < t->ops->num_queues ? &t->queues[idx] : NULL;
}

void virtio_mmio_notify_used(struct virtio_mmio *t, uint16_t qidx)
{
	pthread_mutex_lock(&t->lock);
	struct virtq *q = virtio_mmio_queue(t, qidx);
	if (q && virtq_should_notify(q))
		isr_set(t, t->isr | VIRTIO_MMIO_INT_VRING);
	check_broken(t);
	pthread_mutex_unlock(&t->lock);
}

void virtio_mmio_interrupt(struct virtio_mmio *t)
{
	pthread_mutex_lock(&t->lock);
	if (t->status & VIRTIO_STATUS_DRIVER_OK)
		isr_set(t, t->isr | VIRTIO_MMIO_INT_VRING);
	pthread_mutex_unlock(&t->lock);
}

void virtio_mmio_set_needs_reset(struct virtio_mmio *t)
{
	pthread_mutex_lock(&t->lock);
	if (!(t->status & VIRTIO_STATUS_NEEDS_RESET)) {
		t->status |= VIRTIO_STATUS_NEEDS_RESET;
		t->config_gen++;
		isr_set(t, t->isr | VIRTIO_MMIO_INT_CONFIG);
	}
	pthread_mutex_unlock(&t->lock);
}

void virtio_mmio_config_changed(struct virtio_mmio *t)
{
	pthread_mutex_lock(&t->lock);
	t->config_gen++;
	/* No interrupt before the driver is ready (virtio 1.1, 2.1.2): a
	 * driver reads the config when it starts, and a line raised while the
	 * guest has not even booted (a target set at creation) is noise. */
	if (t->status & VIRTIO_STATUS_DRIVER_OK)
		isr_set(t, t->isr | VIRTIO_MMIO_INT_CONFIG);
	pthread_mutex_unlock(&t->lock);
}

uint64_t virtio_mmio_driver_features(const struct virtio_mmio *t)
{
	struct virtio_mmio *m = (struct virtio_mmio *)(uintptr_t)t;
	pthread_mutex_lock(&m->lock);
	uint64_t f = m->driver_features;
	pthread_mutex_unlock(&m->lock);
	return f;
}

uint32_t virtio_mmio_status(const struct virtio_mmio *t)
{
	struct virtio_mmio *m = (struct virtio_mmio *)(uintptr_t)t;
	pthread_mutex_lock(&m->lock);
	uint32_t s = m->status;
	pthread_mutex_unlock(&m->lock);
	return s;
}

/* The transport's own layout version, inside each device's section: it
 * changes without every device type changing its own. */
#define TRANSPORT_SNAPSHOT_VERSION 1

int virtio_mmio_snapshot(struct virtio_mmio *t, struct device_snapshot *s)
{
	pthread_mutex_lock(&t->lock);
	/* Restored into copies, committed once all of it checks out. */
	uint32_t status = t->status;
	uint32_t dev_features_sel = t->dev_features_sel;
	uint32_t drv_features_sel = t->drv_features_sel;
	uint64_t driver_features = t->driver_features;
	uint32_t queue_sel = t->queue_sel;
	uint32_t isr = t->isr;
	uint32_t config_gen = t->config_gen;
	uint16_t num_queues = t->ops->num_queues;
	struct virtq queues[VIRTIO_MMIO_MAX_QUEUES];
	memcpy(queues, t->queues, sizeof(queues));

	snapshot_version(s, TRANSPORT_SNAPSHOT_VERSION);
	SNAPSHOT_U32(s, status);
	SNAPSHOT_U32(s, dev_features_sel);
	SNAPSHOT_U32(s, drv_features_sel);
	SNAPSHOT_U64(s, driver_features);
	SNAPSHOT_U32(s, queue_sel);
	SNAPSHOT_U32(s, isr);
	SNAPSHOT_U32(s, config_gen);
	SNAPSHOT_U16(s, num_queues);
	/* What the registers can hold: Status is a byte (write_status), the
	 * two InterruptStatus bits, FEATURES_OK only over features the device
	 * offers with VERSION_1 (features_acceptable; before FEATURES_OK the
	 * DriverFeatures register takes any value, and that is kept). The
	 * selectors take any value, as the registers do. */
	snapshot_check(s, (status & ~0xffu) == 0, "status");
	snapshot_check(s, (isr & ~(uint32_t)(VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG)) == 0,
		       "isr");
	snapshot_check(s, num_queues == t->ops->num_queues, "num_queues");
	if (status & VIRTIO_STATUS_FEATURES_OK) {
		snapshot_check(s, (driver_features & ~device_features(t)) == 0, "driver_features");
		snapshot_check(s, driver_features & (1ULL << VIRTIO_F_VERSION_1),
			       "driver_features");
	}
	/* A queue took its ring features from DriverFeatures when enabled,
	 * which the driver may have rewritten since (before FEATURES_OK): the
	 * offer is what bounds them. */
	uint64_t offered = device_features(t);
	for (unsigned i = 0; i < t->ops->num_queues && !s->failed; i++)
		virtq_snapshot(&queues[i], offered, s);

	int rc = s->failed ? -1 : 0;
	if (rc == 0 && s->dir == SNAPSHOT_RESTORE) {
		t->status = status;
		t->dev_features_sel = dev_features_sel;
		t->drv_features_sel = drv_features_sel;
		t->driver_features = driver_features;
		t->queue_sel = queue_sel;
		t->isr = isr;
		t->config_gen = config_gen;
		memcpy(t->queues, queues, sizeof(queues));
		/* isr_set moves the line on changes only: put it where isr says
		 * (the interrupt controller's pin comes back on its own and
		 * agrees), so the next acknowledge or interrupt is an edge. */
		irq_line_set(&t->irq, isr != 0);
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

void virtio_mmio_lock(struct virtio_mmio *t)
{
	pthread_mutex_lock(&t->lock);
}

void virtio_mmio_unlock(struct virtio_mmio *t)
{
	pthread_mutex_unlock(&t->lock);
}
