#include "core/device.h"

#include <stdio.h>
#include <string.h>

static void destroy_one(const struct device_ops *ops, void *dev)
{
	if (ops && ops->destroy && dev)
		ops->destroy(dev);
}

int device_table_add(struct device_table *t, const struct device_ops *ops, void *dev,
		     const char *name, struct nv_err *err)
{
	if (!ops || !dev || !name || !*name || strlen(name) >= DEVICE_NAME_MAX) {
		destroy_one(ops, dev);
		return nv_err_host(err, "device '%s': bad table entry", name ? name : "");
	}
	if (t->n >= DEVICE_TABLE_MAX) {
		destroy_one(ops, dev);
		return nv_err_input(err, "too many devices (at most %d)", DEVICE_TABLE_MAX);
	}
	if (device_table_find(t, name)) {
		destroy_one(ops, dev);
		return nv_err_host(err, "device '%s' is added twice", name);
	}
	struct device *d = &t->items[t->n++];
	d->ops = ops;
	d->dev = dev;
	snprintf(d->name, sizeof(d->name), "%s", name);
	return 0;
}

const struct device *device_table_find(const struct device_table *t, const char *name)
{
	for (unsigned i = 0; i < t->n; i++)
		if (strcmp(t->items[i].name, name) == 0)
			return &t->items[i];
	return NULL;
}

void device_table_pause(struct device_table *t)
{
	if (t->paused)
		return;
	for (unsigned i = 0; i < t->n; i++)
		if (t->items[i].ops->pause)
			t->items[i].ops->pause(t->items[i].dev);
	t->paused = true;
}

void device_table_resume(struct device_table *t)
{
	if (!t->paused)
		return;
	for (unsigned i = 0; i < t->n; i++)
		if (t->items[i].ops->resume)
			t->items[i].ops->resume(t->items[i].dev);
	t->paused = false;
}

void device_table_announce(struct device_table *t)
{
	for (unsigned i = 0; i < t->n; i++)
		if (t->items[i].ops->announce)
			t->items[i].ops->announce(t->items[i].dev);
}

void device_table_reset(struct device_table *t)
{
	for (unsigned i = 0; i < t->n; i++)
		if (t->items[i].ops->reset)
			t->items[i].ops->reset(t->items[i].dev);
}

void device_table_destroy(struct device_table *t)
{
	while (t->n > 0) {
		struct device *d = &t->items[--t->n];
		destroy_one(d->ops, d->dev);
		memset(d, 0, sizeof(*d));
	}
	t->paused = false;
}
