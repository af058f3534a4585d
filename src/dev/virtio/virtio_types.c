/* Every virtio device type the machine can build. Adding one is its own
 * file (defining `const struct virtio_device_type virtio_NAME_type`) and
 * its name on the line below; the machine, the CLI's --device, the record's
 * "devices" and their validation all come from this list. */
#include "dev/virtio/virtio_device.h"

#include <stdio.h>
#include <string.h>

#define VIRTIO_TYPES(X) X(virtio_blk_type) X(virtio_net_type) X(virtio_rng_type) X(virtio_balloon_type) X(virtio_fs_type)

#define DECLARE(t) extern const struct virtio_device_type t;
#define ENTRY(t) &t,
VIRTIO_TYPES(DECLARE)
static const struct virtio_device_type *const types[] = { VIRTIO_TYPES(ENTRY) };

const struct virtio_device_type *virtio_device_type_find(const char *name)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(types[i]->name, name) == 0)
			return types[i];
	return NULL;
}

void virtio_device_type_option_names(char *out, size_t len)
{
	size_t off = 0;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (types[i]->configured_by)
			continue;
		int w = snprintf(out + off, len - off, "%s%s", off ? ", " : "", types[i]->name);
		if (w < 0 || (size_t)w >= len - off)
			return;
		off += (size_t)w;
	}
}

int virtio_device_type_check_option(const char *name, struct nv_err *err)
{
	const struct virtio_device_type *t = virtio_device_type_find(name);
	char names[128];
	virtio_device_type_option_names(names, sizeof(names));
	if (!t)
		return nv_err_input(err, "--device '%s': no such device (devices: %s)", name, names);
	if (t->configured_by)
		return nv_err_input(err, "--device '%s': %s devices are given with %s", name, name,
				    t->configured_by);
	return 0;
}
