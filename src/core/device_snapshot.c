#include "core/device_snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/le.h"

void snapshot_init_save(struct device_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->dir = SNAPSHOT_SAVE;
}

void snapshot_init_restore(struct device_snapshot *s, const uint8_t *buf, size_t len)
{
	memset(s, 0, sizeof(*s));
	s->dir = SNAPSHOT_RESTORE;
	s->buf = (uint8_t *)buf; /* only read in this direction */
	s->len = len;
}

void snapshot_free(struct device_snapshot *s)
{
	if (s->dir == SNAPSHOT_SAVE)
		free(s->buf);
	s->buf = NULL;
	s->len = s->cap = s->pos = 0;
}

static void fail(struct device_snapshot *s, const char *field)
{
	if (s->failed)
		return;
	s->failed = true;
	snprintf(s->failed_field, sizeof(s->failed_field), "%s", field ? field : "?");
}

/* Save: room for n more bytes, or NULL (failed). Restore: the next n bytes
 * to read, or NULL when they are not there. */
static uint8_t *take(struct device_snapshot *s, size_t n, const char *field)
{
	if (s->failed)
		return NULL;
	if (s->dir == SNAPSHOT_RESTORE) {
		if (n > s->len - s->pos) {
			fail(s, field);
			return NULL;
		}
		uint8_t *p = s->buf + s->pos;
		s->pos += n;
		return p;
	}
	if (n > SNAPSHOT_MAX_BYTES - s->len) {
		fail(s, field);
		return NULL;
	}
	if (s->len + n > s->cap) {
		size_t cap = s->cap ? s->cap : 256;
		while (cap < s->len + n)
			cap *= 2;
		uint8_t *b = realloc(s->buf, cap);
		if (!b) {
			fail(s, "out of memory");
			return NULL;
		}
		s->buf = b;
		s->cap = cap;
	}
	uint8_t *p = s->buf + s->len;
	s->len += n;
	return p;
}

static void scalar(struct device_snapshot *s, uint64_t *v, unsigned bytes, const char *field)
{
	uint8_t *p = take(s, bytes, field);
	if (!p)
		return;
	if (s->dir == SNAPSHOT_SAVE)
		le_put(p, *v, bytes);
	else
		*v = le_get(p, bytes);
}

uint32_t snapshot_version(struct device_snapshot *s, uint32_t current)
{
	uint32_t v = current;
	snapshot_u32(s, &v, "version");
	if (s->failed)
		return 0;
	if (v == 0 || v > current) {
		fail(s, "version");
		return 0;
	}
	return v;
}

void snapshot_u8(struct device_snapshot *s, uint8_t *v, const char *field)
{
	uint64_t x = *v;
	scalar(s, &x, 1, field);
	if (s->dir == SNAPSHOT_RESTORE && !s->failed)
		*v = (uint8_t)x;
}

void snapshot_u16(struct device_snapshot *s, uint16_t *v, const char *field)
{
	uint64_t x = *v;
	scalar(s, &x, 2, field);
	if (s->dir == SNAPSHOT_RESTORE && !s->failed)
		*v = (uint16_t)x;
}

void snapshot_u32(struct device_snapshot *s, uint32_t *v, const char *field)
{
	uint64_t x = *v;
	scalar(s, &x, 4, field);
	if (s->dir == SNAPSHOT_RESTORE && !s->failed)
		*v = (uint32_t)x;
}

void snapshot_u64(struct device_snapshot *s, uint64_t *v, const char *field)
{
	scalar(s, v, 8, field);
}

void snapshot_bool(struct device_snapshot *s, bool *v, const char *field)
{
	uint8_t x = *v ? 1 : 0;
	snapshot_u8(s, &x, field);
	if (s->dir == SNAPSHOT_RESTORE && !s->failed) {
		if (x > 1)
			fail(s, field);
		else
			*v = x == 1;
	}
}

void snapshot_bytes(struct device_snapshot *s, void *p, size_t len, const char *field)
{
	uint8_t *q = take(s, len, field);
	if (!q || len == 0)
		return;
	if (s->dir == SNAPSHOT_SAVE)
		memcpy(q, p, len);
	else
		memcpy(p, q, len);
}

bool snapshot_check(struct device_snapshot *s, bool ok, const char *field)
{
	if (s->dir == SNAPSHOT_RESTORE && !ok)
		fail(s, field);
	return !s->failed;
}

bool snapshot_done(struct device_snapshot *s)
{
	if (s->dir == SNAPSHOT_RESTORE && !s->failed && s->pos != s->len)
		fail(s, "trailing bytes");
	return !s->failed;
}
