/* Live migration's pure parts: the stream's framing and the receiver's
 * checks (state/migration_stream), addresses and whole messages over a
 * socket pair (state/migration_channel), and the record's compatibility
 * check (mgmt/vm_migration_check). A good stream lands its pages; every
 * message out of order, every length, count and page range outside the
 * caps, and every bad START or CONFIG is refused with one line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mgmt/vm_migration_check.h"
#include "state/migration_channel.h"
#include "state/migration_stream.h"
#include "util/le.h"

#define RAM_PAGES 16u
#define DISK_BYTES (64u << 10)

/* The receiver's side effects, on a small RAM. */
struct sink {
	uint8_t ram[RAM_PAGES * MIG_PAGE];
	int configs, states;
	size_t state_len;
	bool refuse_config;
	uint64_t ram_bytes;
	uint8_t disk[2][DISK_BYTES]; /* disks 0 and 3 */
	unsigned disk_infos;
	bool refuse_disk_info;
};

static int s_config(void *o, uint64_t ram, uint32_t cpus, const char *json, size_t len, struct nv_err *err)
{
	struct sink *s = o;
	s->configs++;
	s->ram_bytes = ram;
	if (s->refuse_config)
		return nv_err_input(err, "refused: test");
	return 0;
}

static int s_pages(void *o, uint64_t first, uint32_t count, const uint8_t *data, struct nv_err *err)
{
	struct sink *s = o;
	assert_true(first + count <= RAM_PAGES); /* the receiver checked */
	memcpy(s->ram + first * MIG_PAGE, data, (size_t)count * MIG_PAGE);
	return 0;
}

static int s_zero(void *o, uint64_t first, uint32_t count, struct nv_err *err)
{
	struct sink *s = o;
	assert_true(first + count <= RAM_PAGES);
	memset(s->ram + first * MIG_PAGE, 0, (size_t)count * MIG_PAGE);
	return 0;
}

static int s_state(void *o, const uint8_t *img, size_t len, struct nv_err *err)
{
	struct sink *s = o;
	s->states++;
	s->state_len = len;
	return 0;
}

static const struct mig_rx_ops ops = { .config = s_config, .pages = s_pages, .zero = s_zero, .state = s_state };

static int s_disk_info(void *o, uint32_t index, unsigned format, uint64_t size, struct nv_err *err)
{
	struct sink *s = o;
	assert_true(index < MIG_MAX_DISKS && size > 0 && size % 512 == 0 && size <= MIG_MAX_DISK_SIZE);
	assert_true(format == MIG_DISK_RAW || format == MIG_DISK_QCOW2);
	s->disk_infos++;
	return s->refuse_disk_info ? nv_err_input(err, "refused: disk") : 0;
}

static int s_disk(void *o, uint32_t index, uint64_t off, const uint8_t *data, uint32_t len, struct nv_err *err)
{
	struct sink *s = o;
	assert_true(index == 0 || index == 3); /* only those were announced */
	assert_true(off + len <= DISK_BYTES);  /* the receiver checked */
	memcpy(s->disk[index == 3] + off, data, len);
	return 0;
}

static const struct mig_rx_ops disk_ops = { .config = s_config, .pages = s_pages, .zero = s_zero, .state = s_state,
					    .disk_info = s_disk_info, .disk = s_disk };

/* One message through the receiver as the target does: header, then body. */
static int feed(struct mig_rx *rx, enum mig_type t, const uint8_t *p, uint32_t len, struct nv_err *err)
{
	uint8_t raw[MIG_HEADER_BYTES];
	struct mig_hdr h;
	mig_header_put(raw, t, len);
	if (mig_rx_header(rx, raw, &h, err) < 0)
		return -1;
	return mig_rx_message(rx, &h, p, err);
}

static int start(struct mig_rx *rx, struct nv_err *err)
{
	uint8_t b[16];
	mig_start_put(b, MIG_VERSION_MEMORY);
	return feed(rx, MIG_START, b, 16, err);
}

static int config(struct mig_rx *rx, uint64_t ram, struct nv_err *err)
{
	uint8_t b[16 + 2];
	mig_config_put(b, ram, 1);
	memcpy(b + 16, "{}", 2);
	return feed(rx, MIG_CONFIG, b, sizeof(b), err);
}

/* A receiver past CONFIG, RAM_PAGES of RAM. */
static void ready(struct mig_rx *rx, struct sink *s)
{
	struct nv_err err = { 0 };
	memset(s, 0, sizeof(*s));
	mig_rx_init(rx, &ops, s);
	assert_int_equal(start(rx, &err), 0);
	assert_int_equal(config(rx, RAM_PAGES * MIG_PAGE, &err), 0);
}

static int pages(struct mig_rx *rx, uint64_t first, uint32_t count, uint32_t data_pages, uint8_t fill,
		 struct nv_err *err)
{
	size_t len = MIG_RANGE_BYTES + (size_t)data_pages * MIG_PAGE;
	uint8_t *b = malloc(len);
	mig_range_put(b, first, count);
	memset(b + MIG_RANGE_BYTES, fill, len - MIG_RANGE_BYTES);
	int rc = feed(rx, MIG_PAGES, b, (uint32_t)len, err);
	free(b);
	return rc;
}

static int zero(struct mig_rx *rx, uint64_t first, uint32_t count, struct nv_err *err)
{
	uint8_t b[MIG_RANGE_BYTES];
	mig_range_put(b, first, count);
	return feed(rx, MIG_ZERO, b, sizeof(b), err);
}

static void good_stream(void **state)
{
	struct mig_rx rx;
	struct sink *s = calloc(1, sizeof(*s));
	struct nv_err err = { 0 };
	ready(&rx, s);
	assert_int_equal(s->configs, 1);
	assert_int_equal(s->ram_bytes, RAM_PAGES * MIG_PAGE);
	assert_int_equal(pages(&rx, 2, 3, 3, 0xab, &err), 0);
	assert_int_equal(pages(&rx, 15, 1, 1, 0xcd, &err), 0);
	assert_int_equal(s->ram[2 * MIG_PAGE], 0xab);
	assert_int_equal(s->ram[5 * MIG_PAGE - 1], 0xab);
	assert_int_equal(s->ram[5 * MIG_PAGE], 0);
	assert_int_equal(s->ram[16 * MIG_PAGE - 1], 0xcd);
	assert_int_equal(zero(&rx, 3, 1, &err), 0); /* a page zeroed since */
	assert_int_equal(s->ram[3 * MIG_PAGE], 0);
	assert_int_equal(s->ram[4 * MIG_PAGE], 0xab);
	uint8_t img[40] = { 1 };
	assert_int_equal(feed(&rx, MIG_STATE, img, sizeof(img), &err), 0);
	assert_int_equal(s->states, 1);
	assert_int_equal(s->state_len, 40);
	assert_int_equal(feed(&rx, MIG_COMPLETE, NULL, 0, &err), 1);
	assert_int_equal(rx.pages, 4);
	assert_int_equal(rx.zero_pages, 1);
	/* Nothing after COMPLETE, not even ABANDON. */
	assert_int_equal(feed(&rx, MIG_ABANDON, NULL, 0, &err), -1);
	assert_string_equal(err.msg, "migration stream: ABANDON where nothing more was expected");
	free(s);
}

static void order_is_checked(void **state)
{
	struct mig_rx rx;
	struct sink s;
	struct nv_err err = { 0 };
	memset(&s, 0, sizeof(s));
	mig_rx_init(&rx, &ops, &s);
	assert_int_equal(config(&rx, MIG_PAGE, &err), -1);
	assert_string_equal(err.msg, "migration stream: CONFIG where START was expected");
	assert_int_equal(start(&rx, &err), 0);
	assert_int_equal(start(&rx, &err), -1);
	assert_string_equal(err.msg, "migration stream: START where CONFIG was expected");
	assert_int_equal(pages(&rx, 0, 1, 1, 1, &err), -1);
	assert_string_equal(err.msg, "migration stream: PAGES where CONFIG was expected");
	assert_int_equal(s.configs, 0);
	ready(&rx, &s);
	assert_int_equal(feed(&rx, MIG_COMPLETE, NULL, 0, &err), -1);
	assert_string_equal(err.msg, "migration stream: COMPLETE where PAGES, ZERO or STATE was expected");
	assert_int_equal(config(&rx, MIG_PAGE, &err), -1);
	assert_int_equal(feed(&rx, MIG_ACCEPT, NULL, 0, &err), -1); /* a reply, not the source's */
	assert_int_equal(feed(&rx, MIG_STATE, NULL, 0, &err), 0);
	assert_int_equal(pages(&rx, 0, 1, 1, 1, &err), -1);
	assert_string_equal(err.msg, "migration stream: PAGES where COMPLETE was expected");
}

static void headers_are_checked(void **state)
{
	uint8_t raw[MIG_HEADER_BYTES];
	struct mig_hdr h;
	struct nv_err err = { 0 };
	mig_header_put(raw, MIG_PAGES, 100);
	assert_int_equal(mig_header_parse(raw, &h, &err), 0);
	assert_int_equal(h.type, MIG_PAGES);
	assert_int_equal(h.length, 100);
	le_put16(raw, 0);
	assert_int_equal(mig_header_parse(raw, &h, &err), -1);
	assert_string_equal(err.msg, "migration stream: unknown message type 0");
	le_put16(raw, 12);
	assert_int_equal(mig_header_parse(raw, &h, &err), -1);
	mig_header_put(raw, MIG_PAGES, 100);
	raw[2] = 1;
	assert_int_equal(mig_header_parse(raw, &h, &err), -1);
	assert_string_equal(err.msg, "migration stream: PAGES: reserved field is not 0");
	mig_header_put(raw, MIG_PAGES, MIG_RANGE_BYTES + MIG_MAX_BATCH * MIG_PAGE + 1);
	assert_int_equal(mig_header_parse(raw, &h, &err), -1);
	assert_string_equal(err.msg, "migration stream: PAGES: length 1048593 (at most 1048592)");
	mig_header_put(raw, MIG_STATE, 0xffffffffu);
	assert_int_equal(mig_header_parse(raw, &h, &err), -1);
	mig_header_put(raw, MIG_COMPLETE, 1);
	assert_int_equal(mig_header_parse(raw, &h, &err), -1);
	assert_string_equal(err.msg, "migration stream: COMPLETE: length 1 (must be 0)");
	mig_header_put(raw, MIG_START, 15);
	assert_int_equal(mig_header_parse(raw, &h, &err), -1);
	mig_header_put(raw, MIG_ZERO, 17);
	assert_int_equal(mig_header_parse(raw, &h, &err), -1);
	mig_header_put(raw, MIG_ABANDON, MIG_MAX_TEXT + 1);
	assert_int_equal(mig_header_parse(raw, &h, &err), -1);
	assert_string_equal(mig_type_name(99), "unknown");
}

static void start_and_config_are_checked(void **state)
{
	struct mig_rx rx;
	struct sink s;
	struct nv_err err = { 0 };
	memset(&s, 0, sizeof(s));
	uint8_t b[16];
	mig_rx_init(&rx, &ops, &s);
	mig_start_put(b, MIG_VERSION_MEMORY);
	b[0] = 'X';
	assert_int_equal(feed(&rx, MIG_START, b, 16, &err), -1);
	assert_string_equal(err.msg, "migration stream: START: not a nestvm migration (bad magic)");
	mig_start_put(b, MIG_VERSION_MEMORY);
	le_put32(b + 8, 3);
	assert_int_equal(feed(&rx, MIG_START, b, 16, &err), -1);
	assert_string_equal(err.msg, "migration stream: START: protocol version 3 (this nestvm speaks 1 to 2)");
	le_put32(b + 8, 0);
	assert_int_equal(feed(&rx, MIG_START, b, 16, &err), -1);
	/* A receiver that takes no disk copies (no disk ops) refuses version 2. */
	mig_start_put(b, MIG_VERSION_DISKS);
	assert_int_equal(feed(&rx, MIG_START, b, 16, &err), -1);
	assert_string_equal(err.msg, "migration stream: START: the source copies disks, which this target does not take");
	mig_start_put(b, MIG_VERSION_MEMORY);
	le_put32(b + 12, 8192);
	assert_int_equal(feed(&rx, MIG_START, b, 16, &err), -1);
	assert_int_equal(start(&rx, &err), 0);
	assert_int_equal(config(&rx, 0, &err), -1);
	assert_string_equal(err.msg, "migration stream: CONFIG: RAM of 0 bytes");
	assert_int_equal(config(&rx, MIG_PAGE + 1, &err), -1);
	assert_int_equal(config(&rx, MIG_MAX_RAM + MIG_PAGE, &err), -1);
	assert_int_equal(feed(&rx, MIG_CONFIG, b, 15, &err), -1);
	assert_string_equal(err.msg, "migration stream: CONFIG: 15 bytes, shorter than its 16-byte head");
	mig_config_put(b, MIG_PAGE, 1);
	b[12] = 1;
	assert_int_equal(feed(&rx, MIG_CONFIG, b, 16, &err), -1);
	assert_int_equal(s.configs, 0);
	s.refuse_config = true;
	assert_int_equal(config(&rx, MIG_PAGE, &err), -1);
	assert_string_equal(err.msg, "refused: test");
	assert_int_equal(rx.phase, MIG_RX_CONFIG); /* no memory after a refusal */
	assert_int_equal(pages(&rx, 0, 1, 1, 1, &err), -1);
}

static void ranges_are_checked(void **state)
{
	struct mig_rx rx;
	struct sink *s = calloc(1, sizeof(*s));
	struct nv_err err = { 0 };
	ready(&rx, s);
	assert_int_equal(pages(&rx, RAM_PAGES, 1, 1, 1, &err), -1);
	assert_string_equal(err.msg, "migration stream: PAGES: pages 16+1 outside RAM (16 pages)");
	assert_int_equal(pages(&rx, 15, 2, 2, 1, &err), -1);
	assert_int_equal(pages(&rx, UINT64_MAX, 2, 2, 1, &err), -1); /* no wrap */
	assert_int_equal(pages(&rx, 0, 0, 0, 1, &err), -1);
	assert_string_equal(err.msg, "migration stream: PAGES: 0 pages (1 to 256)");
	assert_int_equal(pages(&rx, 0, 257, 1, 1, &err), -1);
	assert_int_equal(pages(&rx, 0, 2, 1, 1, &err), -1);
	assert_string_equal(err.msg, "migration stream: PAGES: 2 pages but 4096 bytes of data");
	assert_int_equal(pages(&rx, 0, 1, 2, 1, &err), -1);
	assert_int_equal(feed(&rx, MIG_PAGES, (const uint8_t *)"x", 1, &err), -1);
	assert_string_equal(err.msg, "migration stream: PAGES: 1 bytes, shorter than its range");
	assert_int_equal(zero(&rx, 0, RAM_PAGES + 1, &err), -1);
	assert_int_equal(zero(&rx, UINT64_MAX - 1, 4, &err), -1);
	assert_int_equal(zero(&rx, 0, MIG_MAX_ZERO_RUN + 1, &err), -1);
	assert_string_equal(err.msg, "migration stream: ZERO: 1048577 pages (1 to 1048576)");
	for (unsigned i = 0; i < sizeof(s->ram); i++)
		assert_int_equal(s->ram[i], 0); /* nothing refused was written */
	assert_int_equal(pages(&rx, 0, RAM_PAGES, RAM_PAGES, 7, &err), 0);
	free(s);
}

static int diskinfo(struct mig_rx *rx, uint32_t index, unsigned format, uint64_t size, struct nv_err *err)
{
	uint8_t b[MIG_DISK_HEAD];
	mig_diskinfo_put(b, index, format, size);
	return feed(rx, MIG_DISKINFO, b, sizeof(b), err);
}

static int disk(struct mig_rx *rx, uint32_t index, uint64_t off, uint32_t len, uint8_t fill, struct nv_err *err)
{
	uint8_t *b = malloc(MIG_DISK_HEAD + (size_t)len);
	mig_disk_put(b, index, off);
	memset(b + MIG_DISK_HEAD, fill, len);
	int rc = feed(rx, MIG_DISK, b, MIG_DISK_HEAD + len, err);
	free(b);
	return rc;
}

/* Version 2: disks announced before CONFIG, their data among the pages. */
static void disks_land(void **state)
{
	struct mig_rx rx;
	struct sink *s = calloc(1, sizeof(*s));
	struct nv_err err = { 0 };
	uint8_t b[16];
	mig_rx_init(&rx, &disk_ops, s);
	mig_start_put(b, MIG_VERSION_DISKS);
	assert_int_equal(feed(&rx, MIG_START, b, 16, &err), 0);
	assert_int_equal(diskinfo(&rx, 0, MIG_DISK_RAW, DISK_BYTES, &err), 0);
	assert_int_equal(diskinfo(&rx, 3, MIG_DISK_QCOW2, DISK_BYTES, &err), 0);
	assert_int_equal(disk(&rx, 0, 0, 512, 1, &err), -1); /* not before CONFIG */
	assert_string_equal(err.msg, "migration stream: DISK where DISKINFO or CONFIG was expected");
	assert_int_equal(config(&rx, RAM_PAGES * MIG_PAGE, &err), 0);
	assert_int_equal(diskinfo(&rx, 1, MIG_DISK_RAW, 512, &err), -1); /* not after it */
	assert_int_equal(disk(&rx, 0, 512, 1024, 0xab, &err), 0);
	assert_int_equal(pages(&rx, 0, 1, 1, 2, &err), 0);
	assert_int_equal(disk(&rx, 3, DISK_BYTES - 512, 512, 0xcd, &err), 0);
	assert_int_equal(feed(&rx, MIG_STATE, (const uint8_t *)"s", 1, &err), 0);
	assert_int_equal(s->disk_infos, 2);
	assert_int_equal(s->disk[0][511], 0);
	assert_int_equal(s->disk[0][512], 0xab);
	assert_int_equal(s->disk[0][1535], 0xab);
	assert_int_equal(s->disk[0][1536], 0);
	assert_int_equal(s->disk[1][DISK_BYTES - 1], 0xcd);
	assert_int_equal(rx.disk_bytes, 1536);
	free(s);
}

static void disks_are_checked(void **state)
{
	struct mig_rx rx;
	struct sink *s = calloc(1, sizeof(*s));
	struct nv_err err = { 0 };
	uint8_t b[16];
	/* Version 1: no disk messages at all. */
	mig_rx_init(&rx, &disk_ops, s);
	assert_int_equal(start(&rx, &err), 0);
	assert_int_equal(diskinfo(&rx, 0, MIG_DISK_RAW, DISK_BYTES, &err), -1);
	assert_string_equal(err.msg, "migration stream: DISKINFO where CONFIG was expected");

	mig_rx_init(&rx, &disk_ops, s);
	mig_start_put(b, MIG_VERSION_DISKS);
	assert_int_equal(feed(&rx, MIG_START, b, 16, &err), 0);
	assert_int_equal(diskinfo(&rx, MIG_MAX_DISKS, MIG_DISK_RAW, DISK_BYTES, &err), -1);
	assert_string_equal(err.msg, "migration stream: DISKINFO: disk 16 (at most 16 disks)");
	assert_int_equal(diskinfo(&rx, 0, 2, DISK_BYTES, &err), -1);
	assert_string_equal(err.msg, "migration stream: DISKINFO: disk 0: unknown format 2");
	assert_int_equal(diskinfo(&rx, 0, MIG_DISK_RAW, 0, &err), -1);
	assert_int_equal(diskinfo(&rx, 0, MIG_DISK_RAW, 1000, &err), -1);
	assert_string_equal(err.msg, "migration stream: DISKINFO: disk 0: size of 1000 bytes");
	assert_int_equal(diskinfo(&rx, 0, MIG_DISK_RAW, MIG_MAX_DISK_SIZE + 512, &err), -1);
	mig_diskinfo_put(b, 0, MIG_DISK_RAW, DISK_BYTES);
	b[6] = 1;
	assert_int_equal(feed(&rx, MIG_DISKINFO, b, MIG_DISK_HEAD, &err), -1);
	assert_string_equal(err.msg, "migration stream: DISKINFO: reserved field is not 0");
	assert_int_equal(feed(&rx, MIG_DISKINFO, b, MIG_DISK_HEAD - 1, &err), -1);
	assert_string_equal(err.msg, "migration stream: DISKINFO: length 15 (must be 16)");
	assert_int_equal(s->disk_infos, 0); /* nothing refused reached the target */
	s->refuse_disk_info = true;
	assert_int_equal(diskinfo(&rx, 0, MIG_DISK_RAW, DISK_BYTES, &err), -1);
	assert_string_equal(err.msg, "refused: disk");
	s->refuse_disk_info = false;
	assert_int_equal(diskinfo(&rx, 0, MIG_DISK_RAW, DISK_BYTES, &err), 0);
	assert_int_equal(diskinfo(&rx, 0, MIG_DISK_RAW, DISK_BYTES, &err), -1);
	assert_string_equal(err.msg, "migration stream: DISKINFO: disk 0 announced twice");
	assert_int_equal(config(&rx, RAM_PAGES * MIG_PAGE, &err), 0);

	assert_int_equal(disk(&rx, 1, 0, 512, 1, &err), -1);
	assert_string_equal(err.msg, "migration stream: DISK: disk 1 was not announced");
	assert_int_equal(disk(&rx, 0xffffffffu, 0, 512, 1, &err), -1);
	assert_int_equal(disk(&rx, 0, DISK_BYTES, 512, 1, &err), -1);
	assert_string_equal(err.msg, "migration stream: DISK: disk 0: bytes 65536+512 outside its 65536");
	assert_int_equal(disk(&rx, 0, DISK_BYTES - 512, 1024, 1, &err), -1);
	assert_int_equal(disk(&rx, 0, UINT64_MAX - 511, 512, 1, &err), -1); /* no wrap */
	assert_int_equal(disk(&rx, 0, 1, 512, 1, &err), -1);
	assert_string_equal(err.msg, "migration stream: DISK: disk 0: 512 bytes at 1 (512-byte sectors only)");
	assert_int_equal(disk(&rx, 0, 0, 100, 1, &err), -1);
	assert_int_equal(disk(&rx, 0, 0, 0, 1, &err), -1);
	assert_int_equal(disk(&rx, 0, 0, MIG_MAX_DISK_CHUNK + 512, 1, &err), -1);
	assert_string_equal(err.msg, "migration stream: DISK: length 1049104 (at most 1048592)");
	assert_int_equal(feed(&rx, MIG_DISK, b, MIG_DISK_HEAD - 1, &err), -1);
	assert_string_equal(err.msg, "migration stream: DISK: 15 bytes, shorter than its head");
	mig_disk_put(b, 0, 0);
	b[4] = 1;
	assert_int_equal(feed(&rx, MIG_DISK, b, MIG_DISK_HEAD, &err), -1);
	assert_string_equal(err.msg, "migration stream: DISK: reserved field is not 0");
	for (unsigned i = 0; i < DISK_BYTES; i++)
		assert_int_equal(s->disk[0][i], 0); /* nothing refused was written */
	assert_int_equal(rx.disk_bytes, 0);
	free(s);
}

static void abandon_and_replies(void **state)
{
	struct mig_rx rx;
	struct sink *s = calloc(1, sizeof(*s));
	struct nv_err err = { 0 };
	ready(&rx, s);
	assert_int_equal(feed(&rx, MIG_ABANDON, (const uint8_t *)"gone\n\x1b[2J", 9, &err), -1);
	assert_string_equal(err.msg, "the source abandoned the migration: gone??[2J");
	mig_rx_init(&rx, &ops, s);
	assert_int_equal(feed(&rx, MIG_ABANDON, NULL, 0, &err), -1); /* at any point */
	assert_string_equal(err.msg, "the source abandoned the migration");

	struct mig_hdr h = { .type = MIG_REFUSE, .length = 3 };
	char text[MIG_MAX_TEXT + 1];
	assert_int_equal(mig_reply_parse(&h, (const uint8_t *)"no\n", text, &err), 0);
	assert_string_equal(text, "no?");
	h = (struct mig_hdr){ .type = MIG_PAGES, .length = 0 };
	assert_int_equal(mig_reply_parse(&h, NULL, text, &err), -1);
	assert_string_equal(err.msg, "migration stream: the target sent PAGES");
	free(s);
}

static void addresses(void **state)
{
	struct mig_addr a;
	struct nv_err err = { 0 };
	assert_int_equal(mig_addr_parse("unix:/tmp/x.sock", &a, &err), 0);
	assert_int_equal(a.family, AF_UNIX);
	assert_int_equal(mig_addr_parse("tcp:127.0.0.1:4444", &a, &err), 0);
	assert_int_equal(a.family, AF_INET);
	assert_int_equal(mig_addr_parse("unix:", &a, &err), -1);
	assert_int_equal(mig_addr_parse("tcp:127.0.0.1", &a, &err), -1);
	assert_string_equal(err.msg, "migration address 'tcp:127.0.0.1': expected tcp:ADDR:PORT");
	assert_int_equal(mig_addr_parse("tcp:127.0.0.1:", &a, &err), -1);
	assert_string_equal(err.msg, "migration address 'tcp:127.0.0.1:': port must be 1 to 65535");
	assert_int_equal(mig_addr_parse("tcp:127.0.0.1:0", &a, &err), -1);
	assert_int_equal(mig_addr_parse("tcp:127.0.0.1:70000", &a, &err), -1);
	assert_int_equal(mig_addr_parse("tcp:host.example:80", &a, &err), -1);
	assert_string_equal(err.msg, "migration address 'tcp:host.example:80': 'host.example' is not a numeric IPv4 address");
	assert_int_equal(mig_addr_parse("tcp::80", &a, &err), -1);
	assert_int_equal(mig_addr_parse("http://x", &a, &err), -1);
	assert_string_equal(err.msg, "migration address 'http://x': expected unix:PATH or tcp:ADDR:PORT");
	char longp[200] = "unix:/";
	memset(longp + 6, 'a', 150);
	longp[156] = '\0';
	assert_int_equal(mig_addr_parse(longp, &a, &err), -1);
}

static void messages_over_a_socket(void **state)
{
	int sv[2];
	struct nv_err err = { 0 };
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(mig_send(sv[0], MIG_REFUSE, "ab", 2, "cd", 2, &err), 0);
	uint8_t raw[MIG_HEADER_BYTES], body[4];
	struct mig_hdr h;
	assert_int_equal(mig_recv_exact(sv[1], raw, sizeof(raw), 1000, &err), 0);
	assert_int_equal(mig_header_parse(raw, &h, &err), 0);
	assert_int_equal(h.type, MIG_REFUSE);
	assert_int_equal(h.length, 4);
	assert_int_equal(mig_recv_exact(sv[1], body, 4, 1000, &err), 0);
	assert_memory_equal(body, "abcd", 4);
	assert_int_equal(mig_recv_exact(sv[1], body, 1, 100, &err), -1);
	assert_string_equal(err.msg, "migration stream: the peer sent nothing for 0 s");
	close(sv[0]);
	assert_int_equal(mig_recv_exact(sv[1], body, 1, 1000, &err), -1);
	assert_string_equal(err.msg, "migration stream: the peer closed the connection");
	close(sv[1]);
}

static void compatibility(void **state)
{
	struct vm_config t, s;
	struct nv_err err = { 0 };
	vm_config_defaults(&t, "t");
	vm_config_defaults(&s, "s");
	t.memory_mib = s.memory_mib = 1024;
	assert_int_equal(vm_migration_check(&t, &s, &err), 0);
	s.memory_mib = 2048;
	assert_int_equal(vm_migration_check(&t, &s, &err), -1);
	assert_int_equal(err.kind, NV_ERR_INPUT);
	assert_string_equal(err.msg, "refused: the source VM has 2048 MiB of RAM, this target expects 1024 MiB");
	s.memory_mib = 1024;
	s.cpus = t.cpus + 1;
	assert_int_equal(vm_migration_check(&t, &s, &err), -1);
	s.cpus = t.cpus;
	s.expose_virtualization_extensions = true;
	assert_int_equal(vm_migration_check(&t, &s, &err), -1);
	assert_string_equal(err.msg, "refused: the source VM has the virtualization extensions on, this target expects them off");
	t.expose_virtualization_extensions = true;
	assert_int_equal(vm_migration_check(&t, &s, &err), 0);
	snprintf(s.devices[0], sizeof(s.devices[0]), "rng");
	s.ndevices = 1;
	assert_int_equal(vm_migration_check(&t, &s, &err), -1);
	assert_string_equal(err.msg, "refused: the source VM has 1 other devices (rng), this target expects 0 (none)");
	snprintf(t.devices[0], sizeof(t.devices[0]), "balloon");
	t.ndevices = 1;
	assert_int_equal(vm_migration_check(&t, &s, &err), -1);
	snprintf(t.devices[0], sizeof(t.devices[0]), "rng");
	assert_int_equal(vm_migration_check(&t, &s, &err), 0);
	s.nnics = 1;
	assert_int_equal(vm_migration_check(&t, &s, &err), -1);
	assert_string_equal(err.msg, "refused: the source VM has 1 network adapters, this target expects 0");
	s.nnics = 0;
	/* Paths and names are the source's own. */
	snprintf(s.kernel, sizeof(s.kernel), "/elsewhere/vmlinuz");
	assert_int_equal(vm_migration_check(&t, &s, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_stream),
		cmocka_unit_test(order_is_checked),
		cmocka_unit_test(headers_are_checked),
		cmocka_unit_test(start_and_config_are_checked),
		cmocka_unit_test(ranges_are_checked),
		cmocka_unit_test(disks_land),
		cmocka_unit_test(disks_are_checked),
		cmocka_unit_test(abandon_and_replies),
		cmocka_unit_test(addresses),
		cmocka_unit_test(messages_over_a_socket),
		cmocka_unit_test(compatibility),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
