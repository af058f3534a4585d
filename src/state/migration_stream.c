#include "state/migration_stream.h"

#include <string.h>

#include "util/le.h"

static const char *const names[] = {
	[MIG_START] = "START",       [MIG_CONFIG] = "CONFIG",     [MIG_PAGES] = "PAGES",
	[MIG_ZERO] = "ZERO",         [MIG_STATE] = "STATE",       [MIG_COMPLETE] = "COMPLETE",
	[MIG_ABANDON] = "ABANDON",   [MIG_ACCEPT] = "ACCEPT",     [MIG_REFUSE] = "REFUSE",
	[MIG_RESUMED] = "RESUMED",   [MIG_FAILED] = "FAILED",     [MIG_DISKINFO] = "DISKINFO",
	[MIG_DISK] = "DISK",
};

const char *mig_type_name(unsigned type)
{
	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	return "unknown";
}

void mig_header_put(uint8_t out[MIG_HEADER_BYTES], enum mig_type type, uint32_t length)
{
	le_put16(out, (uint16_t)type);
	le_put16(out + 2, 0);
	le_put32(out + 4, length);
}

/* The largest payload of each type; exact: the only length allowed. */
static void type_cap(unsigned type, uint32_t *max, bool *exact)
{
	*exact = false;
	switch (type) {
	case MIG_START: *max = 16; *exact = true; break;
	case MIG_CONFIG: *max = 16 + MIG_MAX_CONFIG; break;
	case MIG_PAGES: *max = MIG_RANGE_BYTES + MIG_MAX_BATCH * MIG_PAGE; break;
	case MIG_ZERO: *max = MIG_RANGE_BYTES; *exact = true; break;
	case MIG_STATE: *max = MIG_MAX_STATE; break;
	case MIG_DISKINFO: *max = MIG_DISK_HEAD; *exact = true; break;
	case MIG_DISK: *max = MIG_DISK_HEAD + MIG_MAX_DISK_CHUNK; break;
	case MIG_COMPLETE:
	case MIG_ACCEPT:
	case MIG_RESUMED: *max = 0; *exact = true; break;
	default: *max = MIG_MAX_TEXT; break; /* ABANDON, REFUSE, FAILED */
	}
}

int mig_header_parse(const uint8_t in[MIG_HEADER_BYTES], struct mig_hdr *h, struct nv_err *err)
{
	unsigned type = le_get16(in);
	uint32_t len = le_get32(in + 4);
	if (type < MIG_START || type > MIG_DISK)
		return nv_err_input(err, "migration stream: unknown message type %u", type);
	if (le_get16(in + 2) != 0)
		return nv_err_input(err, "migration stream: %s: reserved field is not 0", mig_type_name(type));
	uint32_t max;
	bool exact;
	type_cap(type, &max, &exact);
	if (len > max || (exact && len != max))
		return nv_err_input(err, "migration stream: %s: length %u (%s %u)", mig_type_name(type), len,
				    exact ? "must be" : "at most", max);
	h->type = (uint16_t)type;
	h->length = len;
	return 0;
}

void mig_start_put(uint8_t out[16], uint32_t version)
{
	memcpy(out, MIG_MAGIC, 8);
	le_put32(out + 8, version);
	le_put32(out + 12, MIG_PAGE);
}

void mig_range_put(uint8_t out[MIG_RANGE_BYTES], uint64_t first, uint32_t count)
{
	le_put64(out, first);
	le_put32(out + 8, count);
	le_put32(out + 12, 0);
}

void mig_diskinfo_put(uint8_t out[MIG_DISK_HEAD], uint32_t index, unsigned format, uint64_t size)
{
	le_put32(out, index);
	le_put16(out + 4, (uint16_t)format);
	le_put16(out + 6, 0);
	le_put64(out + 8, size);
}

void mig_disk_put(uint8_t out[MIG_DISK_HEAD], uint32_t index, uint64_t offset)
{
	le_put32(out, index);
	le_put32(out + 4, 0);
	le_put64(out + 8, offset);
}

void mig_config_put(uint8_t out[16], uint64_t ram_bytes, uint32_t cpus)
{
	le_put64(out, ram_bytes);
	le_put32(out + 8, cpus);
	le_put32(out + 12, 0);
}

void mig_rx_init(struct mig_rx *rx, const struct mig_rx_ops *ops, void *opaque)
{
	memset(rx, 0, sizeof(*rx));
	rx->ops = ops;
	rx->opaque = opaque;
}

static bool allowed(const struct mig_rx *rx, unsigned type)
{
	enum mig_rx_phase phase = rx->phase;
	if (type == MIG_ABANDON)
		return phase != MIG_RX_COMPLETE;
	bool disks = rx->version >= MIG_VERSION_DISKS;
	switch (phase) {
	case MIG_RX_START: return type == MIG_START;
	case MIG_RX_CONFIG: return type == MIG_CONFIG || (disks && type == MIG_DISKINFO);
	case MIG_RX_MEMORY:
		return type == MIG_PAGES || type == MIG_ZERO || type == MIG_STATE || (disks && type == MIG_DISK);
	case MIG_RX_STATE_DONE: return type == MIG_COMPLETE;
	case MIG_RX_COMPLETE: return false;
	}
	return false;
}

static const char *expected(const struct mig_rx *rx)
{
	bool disks = rx->version >= MIG_VERSION_DISKS;
	switch (rx->phase) {
	case MIG_RX_START: return "START";
	case MIG_RX_CONFIG: return disks ? "DISKINFO or CONFIG" : "CONFIG";
	case MIG_RX_MEMORY: return disks ? "PAGES, ZERO, DISK or STATE" : "PAGES, ZERO or STATE";
	case MIG_RX_STATE_DONE: return "COMPLETE";
	default: return "nothing more";
	}
}

int mig_rx_header(const struct mig_rx *rx, const uint8_t in[MIG_HEADER_BYTES], struct mig_hdr *h,
		  struct nv_err *err)
{
	if (mig_header_parse(in, h, err) < 0)
		return -1;
	if (!allowed(rx, h->type))
		return nv_err_input(err, "migration stream: %s where %s was expected", mig_type_name(h->type),
				    expected(rx));
	return 0;
}

static int rx_start(struct mig_rx *rx, const uint8_t *p, struct nv_err *err)
{
	if (memcmp(p, MIG_MAGIC, 8) != 0)
		return nv_err_input(err, "migration stream: START: not a nestvm migration (bad magic)");
	uint32_t v = le_get32(p + 8), page = le_get32(p + 12);
	if (v < MIG_VERSION_MEMORY || v > MIG_VERSION)
		return nv_err_input(err, "migration stream: START: protocol version %u (this nestvm speaks %u to %u)", v,
				    MIG_VERSION_MEMORY, MIG_VERSION);
	if (v >= MIG_VERSION_DISKS && !rx->ops->disk_info)
		return nv_err_input(err, "migration stream: START: the source copies disks, which this target does not take");
	if (page != MIG_PAGE)
		return nv_err_input(err, "migration stream: START: page size %u (expected %u)", page, MIG_PAGE);
	rx->version = v;
	return 0;
}

static int rx_diskinfo(struct mig_rx *rx, const uint8_t *p, struct nv_err *err)
{
	uint32_t index = le_get32(p);
	unsigned format = le_get16(p + 4);
	uint64_t size = le_get64(p + 8);
	if (le_get16(p + 6) != 0)
		return nv_err_input(err, "migration stream: DISKINFO: reserved field is not 0");
	if (index >= MIG_MAX_DISKS)
		return nv_err_input(err, "migration stream: DISKINFO: disk %u (at most %u disks)", index, MIG_MAX_DISKS);
	if (rx->disk_size[index])
		return nv_err_input(err, "migration stream: DISKINFO: disk %u announced twice", index);
	if (format != MIG_DISK_RAW && format != MIG_DISK_QCOW2)
		return nv_err_input(err, "migration stream: DISKINFO: disk %u: unknown format %u", index, format);
	if (size == 0 || size % MIG_DISK_SECTOR || size > MIG_MAX_DISK_SIZE)
		return nv_err_input(err, "migration stream: DISKINFO: disk %u: size of %llu bytes", index,
				    (unsigned long long)size);
	if (rx->ops->disk_info(rx->opaque, index, format, size, err) < 0)
		return -1;
	rx->disk_size[index] = size;
	return 0;
}

static int rx_disk(struct mig_rx *rx, const struct mig_hdr *h, const uint8_t *p, struct nv_err *err)
{
	if (h->length < MIG_DISK_HEAD)
		return nv_err_input(err, "migration stream: DISK: %u bytes, shorter than its head", h->length);
	uint32_t index = le_get32(p), len = h->length - MIG_DISK_HEAD;
	uint64_t off = le_get64(p + 8);
	if (le_get32(p + 4) != 0)
		return nv_err_input(err, "migration stream: DISK: reserved field is not 0");
	if (index >= MIG_MAX_DISKS || !rx->disk_size[index])
		return nv_err_input(err, "migration stream: DISK: disk %u was not announced", index);
	if (len == 0 || len % MIG_DISK_SECTOR || off % MIG_DISK_SECTOR)
		return nv_err_input(err, "migration stream: DISK: disk %u: %u bytes at %llu (512-byte sectors only)",
				    index, len, (unsigned long long)off);
	uint64_t size = rx->disk_size[index];
	if (off >= size || len > size - off)
		return nv_err_input(err, "migration stream: DISK: disk %u: bytes %llu+%u outside its %llu", index,
				    (unsigned long long)off, len, (unsigned long long)size);
	rx->disk_bytes += len;
	return rx->ops->disk(rx->opaque, index, off, p + MIG_DISK_HEAD, len, err);
}

static int rx_config(struct mig_rx *rx, const uint8_t *p, uint32_t len, struct nv_err *err)
{
	if (len < 16)
		return nv_err_input(err, "migration stream: CONFIG: %u bytes, shorter than its 16-byte head", len);
	uint64_t ram = le_get64(p);
	uint32_t cpus = le_get32(p + 8);
	if (le_get32(p + 12) != 0)
		return nv_err_input(err, "migration stream: CONFIG: reserved field is not 0");
	if (ram == 0 || ram % MIG_PAGE || ram > MIG_MAX_RAM)
		return nv_err_input(err, "migration stream: CONFIG: RAM of %llu bytes", (unsigned long long)ram);
	if (rx->ops->config(rx->opaque, ram, cpus, (const char *)p + 16, len - 16, err) < 0)
		return -1;
	rx->ram_pages = ram / MIG_PAGE;
	return 0;
}

static int rx_range(struct mig_rx *rx, const struct mig_hdr *h, const uint8_t *p, struct nv_err *err)
{
	const char *what = mig_type_name(h->type);
	if (h->length < MIG_RANGE_BYTES)
		return nv_err_input(err, "migration stream: %s: %u bytes, shorter than its range", what, h->length);
	uint64_t first = le_get64(p);
	uint32_t count = le_get32(p + 8);
	uint32_t max = h->type == MIG_PAGES ? MIG_MAX_BATCH : MIG_MAX_ZERO_RUN;
	if (le_get32(p + 12) != 0)
		return nv_err_input(err, "migration stream: %s: reserved field is not 0", what);
	if (count == 0 || count > max)
		return nv_err_input(err, "migration stream: %s: %u pages (1 to %u)", what, count, max);
	if (first >= rx->ram_pages || count > rx->ram_pages - first)
		return nv_err_input(err, "migration stream: %s: pages %llu+%u outside RAM (%llu pages)", what,
				    (unsigned long long)first, count, (unsigned long long)rx->ram_pages);
	if (h->type == MIG_ZERO) {
		rx->zero_pages += count;
		return rx->ops->zero(rx->opaque, first, count, err);
	}
	if (h->length - MIG_RANGE_BYTES != (uint64_t)count * MIG_PAGE)
		return nv_err_input(err, "migration stream: PAGES: %u pages but %u bytes of data", count,
				    h->length - MIG_RANGE_BYTES);
	rx->pages += count;
	return rx->ops->pages(rx->opaque, first, count, p + MIG_RANGE_BYTES, err);
}

/* Text of an ABANDON, REFUSE or FAILED: printable or '?', NUL-ended. */
static void text_copy(char *out, const uint8_t *p, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		out[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '?';
	out[len] = '\0';
}

int mig_rx_message(struct mig_rx *rx, const struct mig_hdr *h, const uint8_t *payload,
		   struct nv_err *err)
{
	if (!allowed(rx, h->type))
		return nv_err_input(err, "migration stream: %s where %s was expected", mig_type_name(h->type),
				    expected(rx));
	rx->bytes += MIG_HEADER_BYTES + (uint64_t)h->length;
	switch (h->type) {
	case MIG_START:
		if (rx_start(rx, payload, err) < 0)
			return -1;
		rx->phase = MIG_RX_CONFIG;
		return 0;
	case MIG_CONFIG:
		if (rx_config(rx, payload, h->length, err) < 0)
			return -1;
		rx->phase = MIG_RX_MEMORY;
		return 0;
	case MIG_DISKINFO:
		return rx_diskinfo(rx, payload, err);
	case MIG_PAGES:
	case MIG_ZERO:
		return rx_range(rx, h, payload, err);
	case MIG_DISK:
		return rx_disk(rx, h, payload, err);
	case MIG_STATE:
		if (rx->ops->state(rx->opaque, payload, h->length, err) < 0)
			return -1;
		rx->phase = MIG_RX_STATE_DONE;
		return 0;
	case MIG_COMPLETE:
		rx->phase = MIG_RX_COMPLETE;
		return 1;
	case MIG_ABANDON: {
		char text[MIG_MAX_TEXT + 1];
		text_copy(text, payload, h->length);
		return nv_err_input(err, "the source abandoned the migration%s%s", text[0] ? ": " : "", text);
	}
	default:
		return nv_err_input(err, "migration stream: %s where %s was expected", mig_type_name(h->type),
				    expected(rx));
	}
}

int mig_reply_parse(const struct mig_hdr *h, const uint8_t *payload, char *text, struct nv_err *err)
{
	switch (h->type) {
	case MIG_ACCEPT:
	case MIG_RESUMED:
	case MIG_REFUSE:
	case MIG_FAILED:
	case MIG_ABANDON:
		text_copy(text, payload, h->length);
		return 0;
	default:
		return nv_err_input(err, "migration stream: the target sent %s", mig_type_name(h->type));
	}
}
