/* A virtio device type: how the machine creates one instance on a
 * virtio-mmio window and which lifecycle it has. Each type lives in its own
 * file (blk.c, net.c, rng.c, ...) and is listed once in virtio_types.c; the
 * machine and the CLI know types only through that list. */
#ifndef NESTVM_DEV_VIRTIO_VIRTIO_DEVICE_H
#define NESTVM_DEV_VIRTIO_VIRTIO_DEVICE_H

#include <stddef.h>

#include "core/device.h"
#include "core/guest_mem.h"
#include "core/irq.h"
#include "dev/virtio/mmio.h"
#include "util/err.h"

struct virtio_device_type {
	const char *name; /* "rng": what `--device rng` names, and the log's */
	/* NULL: created by `--device NAME` with no settings. Else the option
	 * that configures its instances ("--disk"), for the error that
	 * refuses `--device NAME`. */
	const char *configured_by;
	const struct device_ops *ops;
	/* One instance. spec is the type's own settings (struct
	 * virtio_blk_spec, struct virtio_net_config) or NULL. NULL with err. */
	void *(*create)(const struct guest_mem *mem, struct irq_line irq, const void *spec,
			struct nv_err *err);
	struct virtio_mmio *(*transport)(void *dev);
};

/* The type called name, or NULL. */
const struct virtio_device_type *virtio_device_type_find(const char *name);
/* Checks a `--device NAME`: known and settable that way. 0, or -1 with an
 * NV_ERR_INPUT naming the device and what to use instead. */
int virtio_device_type_check_option(const char *name, struct nv_err *err);
/* "rng, ..." : the types `--device` takes, for usage lines and errors. */
void virtio_device_type_option_names(char *out, size_t len);

#endif
