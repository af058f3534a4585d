/* virtio-rng, the entropy device (virtio 1.1, section 5.4): one request
 * queue whose device-writable buffers the device fills from the host's
 * getrandom(). Requests are served on the vCPU thread that kicks the queue.
 * `nestvm run --device rng`; Linux's virtio_rng feeds /dev/hwrng and the
 * kernel's entropy pool, which a guest booting without other entropy
 * sources (no RDRAND passed through, no disk activity) waits for. */
#include "dev/virtio/virtio_device.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "core/device_snapshot.h"

#define VIRTIO_ID_RNG 4
/* Bytes given per request at most: a guest posting huge buffers gets them
 * filled a part at a time instead of holding a vCPU in getrandom(). */
#define VIRTIO_RNG_MAX_PER_REQUEST 65536

struct virtio_rng {
	struct virtio_mmio *t;
	/* Scratch for the request being served (the transport lock makes the
	 * device single-threaded); off the vCPU stacks. */
	struct virtq_chain chain;
};

/* Fills up to VIRTIO_RNG_MAX_PER_REQUEST bytes of the chain's writable
 * stream; returns how many were written. Readable buffers are ignored: a
 * request carries nothing to read. */
static uint32_t rng_fill(const struct virtq_chain *c)
{
	uint64_t want = c->writable_len < VIRTIO_RNG_MAX_PER_REQUEST ? c->writable_len
								    : VIRTIO_RNG_MAX_PER_REQUEST;
	uint8_t buf[256];
	uint64_t done = 0;
	while (done < want) {
		size_t n = want - done < sizeof(buf) ? (size_t)(want - done) : sizeof(buf);
		ssize_t r = getrandom(buf, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break; /* the guest gets what we have; it asks again */
		done += virtq_chain_write(c, done, buf, (size_t)r);
	}
	return (uint32_t)done;
}

static void rng_queue_notify(void *dev, struct virtio_mmio *t, uint16_t qidx)
{
	struct virtio_rng *r = dev;
	struct virtq *q = virtio_mmio_queue(t, qidx);
	if (!q)
		return;
	/* At most a ring's worth per kick: a driver cannot have more
	 * outstanding, and a hostile ring whose buffers overlap the ring
	 * itself can make our own writes post new entries, keeping this vCPU
	 * thread (and so pause and stop) in the VMM: fuzz_device_state hung
	 * here before the bound. */
	for (unsigned n = 0; n < q->size && virtq_pop(q, &r->chain) == 1; n++)
		if (virtq_push(q, r->chain.head, rng_fill(&r->chain)) < 0)
			break;
	virtio_mmio_notify_used(t, qidx);
}

static const struct virtio_device_ops rng_virtio_ops = {
	.device_id = VIRTIO_ID_RNG,
	.num_queues = 1,
	/* No feature bits and no config space of its own (reads as zero). */
	.queue_notify = rng_queue_notify,
};

static void rng_destroy(void *dev)
{
	struct virtio_rng *r = dev;
	virtio_mmio_free(r->t);
	free(r);
}

static void *rng_create(const struct guest_mem *mem, struct irq_line irq, const void *spec,
			struct nv_err *err)
{
	(void)spec;
	struct virtio_rng *r = calloc(1, sizeof(*r));
	if (r)
		r->t = virtio_mmio_new(mem, irq, &rng_virtio_ops, r);
	if (!r || !r->t) {
		free(r);
		nv_err_host(err, "out of memory for virtio-rng");
		return NULL;
	}
	return r;
}

static struct virtio_mmio *rng_transport(void *dev)
{
	return ((struct virtio_rng *)dev)->t;
}

/* The transport is all the state: requests complete on the kicking vCPU
 * and there is no config space. Still a versioned section of its own, for
 * whatever a later version adds. */
static int rng_snapshot(void *dev, struct device_snapshot *s, struct nv_err *err)
{
	(void)err;
	struct virtio_rng *r = dev;
	snapshot_version(s, 1);
	virtio_mmio_snapshot(r->t, s);
	return snapshot_done(s) ? 0 : -1;
}

/* Requests complete on the kicking vCPU: nothing runs while vCPUs are
 * paused, so no pause or resume hooks. */
static const struct device_ops rng_device_ops = {
	.kind = "virtio-rng",
	.snapshot = rng_snapshot,
	.destroy = rng_destroy,
};

const struct virtio_device_type virtio_rng_type = {
	.name = "rng",
	.ops = &rng_device_ops,
	.create = rng_create,
	.transport = rng_transport,
};
