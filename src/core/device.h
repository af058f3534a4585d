/* The lifecycle every device of a machine shares. A machine keeps one table
 * of (ops, instance) entries in creation order and walks it for pause,
 * resume, reset and teardown, so a new device type is its own file plus one
 * table line, never an edit of the machine. */
#ifndef NESTVM_CORE_DEVICE_H
#define NESTVM_CORE_DEVICE_H

#include <stdbool.h>

#include "util/err.h"

struct device_snapshot; /* core/device_snapshot.h */

struct device_ops {
	const char *kind; /* "uart16550", "virtio-blk", ... */
	/* The guest reset the machine: back to power-on state. May be NULL. */
	void (*reset)(void *dev);
	/* Stop (and resume) everything the device does off the vCPU threads:
	 * no guest-memory access, no interrupt. Called with every vCPU paused.
	 * May be NULL for devices that only run on vCPU threads. */
	void (*pause)(void *dev);
	void (*resume)(void *dev);
	/* Saves or restores the device's state (s->dir says which), called
	 * with the machine paused; on restore the device was just created
	 * from the same settings. NULL: the device keeps no state of its own.
	 * -1 with s->failed set (a bad field) or err (anything else). */
	int (*snapshot)(void *dev, struct device_snapshot *s, struct nv_err *err);
	/* The machine runs on another host (or port) than before: tell the
	 * network where the device is now (a NIC's RARP). Called once the
	 * machine runs. NULL for devices nobody outside has to find. */
	void (*announce)(void *dev);
	/* Frees the instance. May be NULL when someone else owns it. */
	void (*destroy)(void *dev);
};

#define DEVICE_NAME_MAX 32
#define DEVICE_TABLE_MAX 64

struct device {
	const struct device_ops *ops;
	void *dev;
	char name[DEVICE_NAME_MAX]; /* unique in the table: "uart0", "virtio-blk1" */
};

struct device_table {
	struct device items[DEVICE_TABLE_MAX];
	unsigned n;
	bool paused;
};

/* Adds an entry. On failure (table full, duplicate name) the instance is
 * destroyed, so the caller never leaks it. */
int device_table_add(struct device_table *t, const struct device_ops *ops, void *dev,
		     const char *name, struct nv_err *err);
const struct device *device_table_find(const struct device_table *t, const char *name);
/* In creation order; pause and resume are idempotent. */
void device_table_pause(struct device_table *t);
void device_table_resume(struct device_table *t);
void device_table_reset(struct device_table *t);
void device_table_announce(struct device_table *t);
/* In reverse order (later devices may use earlier ones); empties the table. */
void device_table_destroy(struct device_table *t);

#endif
