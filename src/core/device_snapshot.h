/* A device's state in both directions with one function (bhyve's habit, so
 * the field order of save and restore cannot drift): a device's snapshot
 * hook calls snapshot_u32(s, &field) and friends once per field; on save
 * they append the value, little-endian, on restore they read it back.
 *
 * Everything read on restore comes from a file someone may have written by
 * hand: a read past the end, a version from the future or a value the
 * device refuses (snapshot_check) marks the snapshot failed with the name
 * of the field, every later call does nothing, and the device's hook
 * returns -1. The caller reports "section S: field F". */
#ifndef NESTVM_CORE_DEVICE_SNAPSHOT_H
#define NESTVM_CORE_DEVICE_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum snapshot_dir {
	SNAPSHOT_SAVE,
	SNAPSHOT_RESTORE,
};

/* Largest state one device or vCPU may have: a cap on load, and far above
 * any real one (a vCPU with AMX XSAVE and nested state is under 64 KiB). */
#define SNAPSHOT_MAX_BYTES (4u << 20)

struct device_snapshot {
	enum snapshot_dir dir;
	uint8_t *buf; /* save: grown with realloc, the caller frees it */
	size_t len;   /* save: bytes written; restore: bytes given */
	size_t cap;
	size_t pos;   /* restore: next byte to read */
	bool failed;
	char failed_field[64]; /* what failed: a field name, or "out of memory" */
};

/* A saving snapshot, empty. */
void snapshot_init_save(struct device_snapshot *s);
/* A restoring snapshot over buf[0..len) (not copied, not freed). */
void snapshot_init_restore(struct device_snapshot *s, const uint8_t *buf, size_t len);
void snapshot_free(struct device_snapshot *s);

/* The section's format version: save writes current, restore reads it and
 * fails unless 1 <= version <= current. Returns the version (0 failed), so
 * a device can read an older layout. */
uint32_t snapshot_version(struct device_snapshot *s, uint32_t current);

void snapshot_u8(struct device_snapshot *s, uint8_t *v, const char *field);
void snapshot_u16(struct device_snapshot *s, uint16_t *v, const char *field);
void snapshot_u32(struct device_snapshot *s, uint32_t *v, const char *field);
void snapshot_u64(struct device_snapshot *s, uint64_t *v, const char *field);
/* Saved as one byte 0 or 1; anything else is refused on restore. */
void snapshot_bool(struct device_snapshot *s, bool *v, const char *field);
/* len raw bytes (a fixed-size array, or a kernel ABI struct). */
void snapshot_bytes(struct device_snapshot *s, void *p, size_t len, const char *field);

/* Restore only: fails with field unless ok. Returns ok && !failed, so a
 * hook can stop early. On save it returns !failed. */
bool snapshot_check(struct device_snapshot *s, bool ok, const char *field);
/* Restore: true once every byte was read and nothing failed (trailing bytes
 * are refused: they belong to a layout this build does not know). */
bool snapshot_done(struct device_snapshot *s);

#define SNAPSHOT_U8(s, x) snapshot_u8((s), &(x), #x)
#define SNAPSHOT_U16(s, x) snapshot_u16((s), &(x), #x)
#define SNAPSHOT_U32(s, x) snapshot_u32((s), &(x), #x)
#define SNAPSHOT_U64(s, x) snapshot_u64((s), &(x), #x)
#define SNAPSHOT_BOOL(s, x) snapshot_bool((s), &(x), #x)
#define SNAPSHOT_BYTES(s, x) snapshot_bytes((s), &(x), sizeof(x), #x)

#endif
