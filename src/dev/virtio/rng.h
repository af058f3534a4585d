/* virtio-rng, the entropy device (virtio 1.1, section 5.4): one request
 * queue whose device-writable buffers the device fills from the host's
 * getrandom(). Requests are served on the vCPU thread that kicks the queue.
 * `nestvm run --device rng`; Linux's virtio_rng feeds /dev/hwrng and the
 * kernel's entropy pool, which a guest booting without other entropy
 * sources (no RDRAND passed through, no disk activity) waits for. */
#ifndef NESTVM_DEV_VIRTIO_RNG_H
#define NESTVM_DEV_VIRTIO_RNG_H

#include "dev/virtio/virtio_device.h"

#define VIRTIO_ID_RNG 4
/* Bytes given per request at most: a guest posting huge buffers gets them
 * filled a part at a time instead of holding a vCPU in getrandom(). */
#define VIRTIO_RNG_MAX_PER_REQUEST 65536

extern const struct virtio_device_type virtio_rng_type;

#endif
