/* virtio-blk driven as a guest driver would: MMIO register writes plus a
 * split ring in fake guest memory, over a temporary image file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/device_snapshot.h"
#include "dev/virtio/blk.h"
#include "virtio_driver.h"

#define RAM_SIZE 0x100000ULL
#define QSZ 16
#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000
#define TABLE 0x4000
#define HDR 0x10000
#define DATA 0x20000
#define STATUS 0x40000
#define SECTORS 16

struct irq_rec {
	int level;
	int raises;
};

static uint8_t *ram;
static struct guest_mem mem;
static struct irq_rec irq;
static char path[64];
static struct virtio_blk *blk;
static struct virtio_mmio *t;
static uint16_t avail_idx, used_seen;

struct seg {
	uint64_t gpa;
	uint32_t len;
	bool w;
};

static void irq_set(void *opaque, unsigned gsi, int level)
{
	struct irq_rec *r = opaque;
	if (level && !r->level)
		r->raises++;
	r->level = level;
}

static struct irq_line line(void)
{
	return (struct irq_line){ .set_level = irq_set, .opaque = &irq, .gsi = 9 };
}

static uint32_t rd(uint64_t off) { return vdrv_rd(t, off); }
static void wr(uint64_t off, uint32_t v) { vdrv_wr(t, off, v); }

static uint8_t pattern(uint64_t off)
{
	return (uint8_t)(off * 7 + off / 512);
}

/* A fresh image of `bytes` bytes filled with pattern(). */
static void make_image(size_t bytes)
{
	strcpy(path, "/tmp/nestvm-blk-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	uint8_t *buf = malloc(bytes + 1);
	for (size_t i = 0; i < bytes; i++)
		buf[i] = pattern(i);
	assert_int_equal(write(fd, buf, bytes), (ssize_t)bytes);
	free(buf);
	close(fd);
}

static void file_read(uint64_t off, void *dst, size_t len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, (long)off, SEEK_SET), 0);
	assert_int_equal(fread(dst, 1, len, f), len);
	fclose(f);
}

/* Reset, negotiate (accepting what we are offered, minus EVENT_IDX so that
 * every completion interrupts), one queue of QSZ, DRIVER_OK. */
static void driver_init(void)
{
	memset(ram, 0, RAM_SIZE);
	avail_idx = used_seen = 0;
	vdrv_negotiate(t, vdrv_device_features(t) & ~(1ULL << VIRTIO_RING_F_EVENT_IDX));
	vdrv_queue(t, 0, QSZ, DESC, AVAIL, USED);
	vdrv_driver_ok(t);
}

static void open_blk(bool readonly)
{
	struct nv_err err = { 0 };
	blk = virtio_blk_new(&mem, line(), path, readonly, &err);
	assert_non_null(blk);
	t = virtio_blk_transport(blk);
	driver_init();
}

static int setup(void **state)
{
	ram = calloc(1, RAM_SIZE);
	if (!ram)
		return -1;
	guest_mem_init_over(&mem, ram, RAM_SIZE);
	memset(&irq, 0, sizeof(irq));
	make_image(SECTORS * 512);
	blk = NULL;
	return 0;
}

static int teardown(void **state)
{
	virtio_blk_free(blk);
	unlink(path);
	free(ram);
	return 0;
}

static void put_desc(uint64_t table, uint16_t i, const struct seg *s, bool more)
{
	uint64_t d = table + 16ULL * i;
	uint16_t flags = (uint16_t)((s->w ? VIRTQ_DESC_F_WRITE : 0) | (more ? VIRTQ_DESC_F_NEXT : 0));
	uint16_t next = (uint16_t)(i + 1);
	memcpy(ram + d, &s->gpa, 8);
	memcpy(ram + d + 8, &s->len, 4);
	memcpy(ram + d + 12, &flags, 2);
	memcpy(ram + d + 14, &next, 2);
}

/* Publish head 0 and kick. Returns true if a used entry came back, with its
 * length in *used_len. */
static bool kick(uint32_t *used_len)
{
	memcpy(ram + AVAIL + 4 + 2 * (avail_idx % QSZ), &(uint16_t){ 0 }, 2);
	avail_idx++;
	memcpy(ram + AVAIL + 2, &avail_idx, 2);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	uint16_t used;
	memcpy(&used, ram + USED + 2, 2);
	if (used == used_seen)
		return false;
	uint64_t e = USED + 4 + 8ULL * (used_seen % QSZ);
	uint32_t id;
	memcpy(&id, ram + e, 4);
	assert_int_equal(id, 0);
	memcpy(used_len, ram + e + 4, 4);
	used_seen++;
	assert_int_equal(used, used_seen);
	return true;
}

/* Submit a chain; returns the status byte (0xee if the device never wrote
 * it) and the used length. */
static int submit(const struct seg *s, int n, uint32_t *used_len)
{
	for (int i = 0; i < n; i++)
		put_desc(DESC, (uint16_t)i, &s[i], i + 1 < n);
	ram[STATUS] = 0xee;
	uint32_t dummy;
	if (!kick(used_len ? used_len : &dummy))
		return -1;
	return ram[STATUS];
}

static void put_hdr(uint32_t type, uint64_t sector)
{
	memset(ram + HDR, 0, 16);
	memcpy(ram + HDR, &type, 4);
	memcpy(ram + HDR + 8, &sector, 8);
}

/* header | data (device-writable unless OUT) | status */
static int request(uint32_t type, uint64_t sector, uint32_t data_len, uint32_t *used_len)
{
	put_hdr(type, sector);
	struct seg s[3] = { { HDR, 16, false } };
	int n = 1;
	if (data_len)
		s[n++] = (struct seg){ DATA, data_len, type != VIRTIO_BLK_T_OUT };
	s[n++] = (struct seg){ STATUS, 1, true };
	return submit(s, n, used_len);
}

static void test_config_and_features(void **state)
{
	open_blk(false);
	uint8_t cap[8];
	virtio_mmio_access(t, VIRTIO_MMIO_CONFIG + VIRTIO_BLK_CFG_CAPACITY, cap, 8, false);
	uint64_t c;
	memcpy(&c, cap, 8);
	assert_int_equal(c, SECTORS);
	assert_int_equal(virtio_blk_capacity(blk), SECTORS);
	assert_int_equal(rd(VIRTIO_MMIO_CONFIG + VIRTIO_BLK_CFG_BLK_SIZE), 512);
	assert_int_equal(rd(VIRTIO_MMIO_CONFIG + VIRTIO_BLK_CFG_SEG_MAX), VIRTQ_MAX_SIZE - 2);
	assert_int_equal(rd(VIRTIO_MMIO_CONFIG + VIRTIO_BLK_CFG_SIZE_MAX), VIRTIO_BLK_SIZE_MAX);
	assert_int_equal(rd(VIRTIO_MMIO_CONFIG + 0x80), 0); /* past the config */
	assert_int_equal(rd(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	uint64_t f = vdrv_device_features(t);
	assert_true(f & (1ULL << VIRTIO_BLK_F_FLUSH));
	assert_true(f & (1ULL << VIRTIO_BLK_F_BLK_SIZE));
	assert_true(f & (1ULL << VIRTIO_BLK_F_SEG_MAX));
	assert_true(f & (1ULL << VIRTIO_BLK_F_SIZE_MAX));
	assert_false(f & (1ULL << VIRTIO_BLK_F_RO));
}

static void test_read(void **state)
{
	open_blk(false);
	uint32_t used;
	assert_int_equal(request(VIRTIO_BLK_T_IN, 3, 512, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 513);
	for (int i = 0; i < 512; i++)
		assert_int_equal(ram[DATA + i], pattern(3 * 512 + i));
	assert_int_equal(irq.level, 1);
	assert_true(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(irq.level, 0);
}

static void test_read_scattered(void **state)
{
	open_blk(false);
	put_hdr(VIRTIO_BLK_T_IN, 5);
	struct seg s[] = {
		{ HDR, 16, false },      { DATA, 100, true },  { DATA + 0x1000, 700, true },
		{ DATA + 0x2000, 224, true }, { STATUS, 1, true },
	};
	uint32_t used;
	assert_int_equal(submit(s, 5, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1025);
	assert_int_equal(ram[DATA + 99], pattern(5 * 512 + 99));
	assert_int_equal(ram[DATA + 0x1000], pattern(5 * 512 + 100));
	assert_int_equal(ram[DATA + 0x2000 + 223], pattern(7 * 512 - 1));

	/* Any layout: the status byte ends the single data buffer. */
	put_hdr(VIRTIO_BLK_T_IN, 1);
	struct seg s2[] = { { HDR, 16, false }, { DATA, 513, true } };
	ram[DATA + 512] = 0xee;
	assert_int_not_equal(submit(s2, 2, &used), -1);
	assert_int_equal(used, 513);
	assert_int_equal(ram[DATA + 512], VIRTIO_BLK_S_OK);
	assert_int_equal(ram[DATA], pattern(512));
}

static void test_write(void **state)
{
	open_blk(false);
	for (int i = 0; i < 1024; i++)
		ram[DATA + i] = (uint8_t)(0xa5 ^ i);
	/* Header split over two descriptors. */
	put_hdr(VIRTIO_BLK_T_OUT, 6);
	struct seg s[] = {
		{ HDR, 8, false }, { HDR + 8, 8, false }, { DATA, 1024, false }, { STATUS, 1, true },
	};
	uint32_t used;
	assert_int_equal(submit(s, 4, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	uint8_t buf[2048];
	file_read(5 * 512, buf, sizeof(buf));
	for (int i = 0; i < 512; i++)
		assert_int_equal(buf[i], pattern(5 * 512 + i)); /* neighbour untouched */
	assert_memory_equal(buf + 512, ram + DATA, 1024);
	for (int i = 0; i < 512; i++)
		assert_int_equal(buf[1536 + i], pattern(8 * 512 + i));
	/* Read it back through the device. */
	memset(ram + DATA, 0, 1024);
	assert_int_equal(request(VIRTIO_BLK_T_IN, 6, 1024, NULL), VIRTIO_BLK_S_OK);
	assert_memory_equal(buf + 512, ram + DATA, 1024);
}

/* A migration's copy: the guest's writes mark their blocks (512-byte
 * blocks here) while tracking is on; reads are not marked; a take clears
 * what it returns; the copy reads and writes the image, inside it only. */
static void test_copy_and_written_blocks(void **state)
{
	open_blk(false);
	uint64_t bits[2] = { 0 }, nblocks = SECTORS;
	assert_int_equal(request(VIRTIO_BLK_T_OUT, 1, 512, NULL), VIRTIO_BLK_S_OK); /* before: not marked */
	assert_int_equal(virtio_blk_take_written(blk, bits, nblocks), 0);
	assert_int_equal(virtio_blk_track_writes(blk, 9), 0);
	assert_int_equal(request(VIRTIO_BLK_T_OUT, 2, 1024, NULL), VIRTIO_BLK_S_OK); /* sectors 2, 3 */
	assert_int_equal(request(VIRTIO_BLK_T_IN, 5, 512, NULL), VIRTIO_BLK_S_OK);   /* a read */
	assert_int_equal(virtio_blk_take_written(blk, bits, nblocks), 2);
	assert_true(bits[0] == 0xc);
	assert_int_equal(virtio_blk_take_written(blk, bits, nblocks), 0); /* cleared */
	assert_int_equal(request(VIRTIO_BLK_T_OUT, 3, 512, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(virtio_blk_take_written(blk, bits, nblocks), 0); /* already set in bits */
	assert_int_equal(virtio_blk_track_writes(blk, 0), 0);
	assert_int_equal(request(VIRTIO_BLK_T_OUT, 7, 512, NULL), VIRTIO_BLK_S_OK);
	memset(bits, 0, sizeof(bits));
	assert_int_equal(virtio_blk_take_written(blk, bits, nblocks), 0); /* off: nothing */

	uint8_t buf[1024], file[1024];
	memset(buf, 0x5a, sizeof(buf));
	assert_int_equal(virtio_blk_copy_write(blk, 10 * 512, buf, sizeof(buf)), 0);
	file_read(10 * 512, file, sizeof(file));
	assert_memory_equal(file, buf, sizeof(buf));
	memset(buf, 0, sizeof(buf));
	assert_int_equal(virtio_blk_copy_read(blk, 10 * 512, buf, sizeof(buf)), 0);
	assert_memory_equal(file, buf, sizeof(buf));
	uint64_t size = virtio_blk_capacity(blk) * 512;
	assert_int_equal(virtio_blk_copy_read(blk, size - 512, buf, 1024), -1);
	assert_int_equal(virtio_blk_copy_write(blk, UINT64_MAX - 511, buf, 1024), -1);
	assert_false(virtio_blk_is_qcow2(blk));
	assert_false(virtio_blk_readonly(blk));
}

static void test_flush(void **state)
{
	open_blk(false);
	assert_int_equal(request(VIRTIO_BLK_T_FLUSH, 0, 0, NULL), VIRTIO_BLK_S_OK);
}

static void test_readonly(void **state)
{
	open_blk(true);
	assert_true(vdrv_device_features(t) & (1ULL << VIRTIO_BLK_F_RO));
	memset(ram + DATA, 0x11, 512);
	assert_int_equal(request(VIRTIO_BLK_T_OUT, 2, 512, NULL), VIRTIO_BLK_S_IOERR);
	uint8_t buf[512];
	file_read(2 * 512, buf, sizeof(buf));
	for (int i = 0; i < 512; i++)
		assert_int_equal(buf[i], pattern(2 * 512 + i));
	assert_int_equal(request(VIRTIO_BLK_T_IN, 2, 512, NULL), VIRTIO_BLK_S_OK);
	assert_memory_equal(ram + DATA, buf, 512);
	assert_int_equal(request(VIRTIO_BLK_T_FLUSH, 0, 0, NULL), VIRTIO_BLK_S_OK);
}

static void test_out_of_range(void **state)
{
	open_blk(false);
	memset(ram + DATA, 0x5a, 1024);
	assert_int_equal(request(VIRTIO_BLK_T_IN, SECTORS, 512, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(VIRTIO_BLK_T_IN, SECTORS - 1, 1024, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(VIRTIO_BLK_T_IN, UINT64_MAX, 512, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(VIRTIO_BLK_T_IN, UINT64_MAX / 512 + 1, 512, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(VIRTIO_BLK_T_IN, 0, 100, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(ram[DATA], 0x5a); /* nothing was read */
	assert_int_equal(request(VIRTIO_BLK_T_OUT, SECTORS - 1, 1024, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(VIRTIO_BLK_T_OUT, 1ULL << 60, 512, NULL), VIRTIO_BLK_S_IOERR);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, SECTORS * 512); /* the image did not grow */
	/* The last sector itself is fine. */
	assert_int_equal(request(VIRTIO_BLK_T_IN, SECTORS - 1, 512, NULL), VIRTIO_BLK_S_OK);
	assert_false(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_get_id(void **state)
{
	open_blk(false);
	memset(ram + DATA, 0xee, 32);
	uint32_t used;
	assert_int_equal(request(VIRTIO_BLK_T_GET_ID, 0, 20, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 21);
	assert_memory_equal(ram + DATA, "nv", 2);
	char first[20];
	memcpy(first, ram + DATA, 20);
	/* A short buffer gets a truncated id. */
	memset(ram + DATA, 0xee, 32);
	assert_int_equal(request(VIRTIO_BLK_T_GET_ID, 0, 8, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 9);
	assert_memory_equal(ram + DATA, first, 8);
	assert_int_equal(ram[DATA + 8], 0xee);
}

static void test_unsupported(void **state)
{
	open_blk(false);
	assert_int_equal(request(11 /* DISCARD */, 0, 0, NULL), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(request(0xffffffff, 0, 512, NULL), VIRTIO_BLK_S_UNSUPP);
}

static void test_open_errors(void **state)
{
	struct nv_err err = { 0 };
	const char *missing = "/tmp/nestvm-no-such-image.img";
	assert_null(virtio_blk_new(&mem, line(), missing, false, &err));
	assert_int_equal(err.kind, NV_ERR_INPUT);
	assert_non_null(strstr(err.msg, missing));
	assert_non_null(strstr(err.msg, "No such file"));

	memset(&err, 0, sizeof(err));
	assert_null(virtio_blk_new(&mem, line(), "/tmp", true, &err));
	assert_int_equal(err.kind, NV_ERR_INPUT);
	assert_non_null(strstr(err.msg, "/tmp"));

	/* A writer locks the image against everyone else. */
	open_blk(false);
	memset(&err, 0, sizeof(err));
	assert_null(virtio_blk_new(&mem, line(), path, false, &err));
	assert_int_equal(err.kind, NV_ERR_INPUT);
	assert_non_null(strstr(err.msg, path));
	assert_null(virtio_blk_new(&mem, line(), path, true, &err));
	virtio_blk_free(blk);
	blk = NULL;
	/* Readers share it. */
	struct virtio_blk *r1 = virtio_blk_new(&mem, line(), path, true, &err);
	struct virtio_blk *r2 = virtio_blk_new(&mem, line(), path, true, &err);
	assert_non_null(r1);
	assert_non_null(r2);
	assert_null(virtio_blk_new(&mem, line(), path, false, &err));
	virtio_blk_free(r1);
	virtio_blk_free(r2);
}

/* The check before a VM exists says what virtio_blk_new would, and keeps
 * neither the image open nor its lock. */
static void test_check_image(void **state)
{
	struct nv_err check = { 0 }, made = { 0 };
	const char *missing = "/tmp/nestvm-no-such-image.img";
	assert_int_equal(virtio_blk_check_image(missing, false, &check), -1);
	assert_null(virtio_blk_new(&mem, line(), missing, false, &made));
	assert_int_equal(check.kind, NV_ERR_INPUT);
	assert_string_equal(check.msg, made.msg);

	memset(&check, 0, sizeof(check));
	assert_int_equal(virtio_blk_check_image("/tmp", true, &check), -1);
	assert_non_null(strstr(check.msg, "not a regular file or block device"));

	make_image(4096);
	assert_int_equal(virtio_blk_check_image(path, false, &check), 0);
	/* No lock left behind: a writer opens it afterwards. */
	open_blk(false);
	memset(&check, 0, sizeof(check));
	assert_int_equal(virtio_blk_check_image(path, true, &check), -1);
	assert_non_null(strstr(check.msg, "in use by another process"));
	virtio_blk_free(blk);
	blk = NULL;
	assert_int_equal(virtio_blk_check_image(path, true, &check), 0);
}

static void test_malformed_requests(void **state)
{
	open_blk(false);
	/* Header too short. */
	put_hdr(VIRTIO_BLK_T_IN, 0);
	struct seg shorthdr[] = { { HDR, 8, false }, { STATUS, 1, true } };
	assert_int_equal(submit(shorthdr, 2, NULL), -1);
	assert_true(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);

	/* The driver resets and carries on. */
	driver_init();
	assert_false(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(request(VIRTIO_BLK_T_IN, 0, 512, NULL), VIRTIO_BLK_S_OK);

	/* No status buffer at all. */
	driver_init();
	struct seg nostatus[] = { { HDR, 16, false }, { DATA, 512, false } };
	put_hdr(VIRTIO_BLK_T_OUT, 0);
	assert_int_equal(submit(nostatus, 2, NULL), -1);
	assert_true(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	uint8_t buf[512];
	file_read(0, buf, sizeof(buf));
	assert_int_equal(buf[0], pattern(0)); /* not written */

	/* Data buffer outside guest RAM. */
	driver_init();
	put_hdr(VIRTIO_BLK_T_IN, 0);
	struct seg outside[] = { { HDR, 16, false }, { RAM_SIZE - 256, 512, true }, { STATUS, 1, true } };
	assert_int_equal(submit(outside, 3, NULL), -1);
	assert_true(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);

	/* Empty chain made only of zero-length descriptors. */
	driver_init();
	struct seg empty[] = { { HDR, 0, false }, { STATUS, 0, true } };
	assert_int_equal(submit(empty, 2, NULL), -1);
	assert_true(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_empty_and_odd_images(void **state)
{
	unlink(path);
	make_image(0);
	open_blk(false);
	assert_int_equal(virtio_blk_capacity(blk), 0);
	assert_int_equal(request(VIRTIO_BLK_T_IN, 0, 512, NULL), VIRTIO_BLK_S_IOERR);
	virtio_blk_free(blk);
	unlink(path);
	/* 1000 bytes: one whole sector, the tail is not addressable. */
	make_image(1000);
	open_blk(false);
	assert_int_equal(virtio_blk_capacity(blk), 1);
	assert_int_equal(request(VIRTIO_BLK_T_IN, 0, 512, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(request(VIRTIO_BLK_T_IN, 1, 512, NULL), VIRTIO_BLK_S_IOERR);
}

static void test_indirect_read(void **state)
{
	open_blk(false);
	put_hdr(VIRTIO_BLK_T_IN, 9);
	struct seg s[] = { { HDR, 16, false }, { DATA, 512, true }, { STATUS, 1, true } };
	for (uint16_t i = 0; i < 3; i++)
		put_desc(TABLE, i, &s[i], i < 2);
	uint16_t flags = VIRTQ_DESC_F_INDIRECT;
	uint64_t tbl = TABLE;
	uint32_t len = 48;
	memset(ram + DESC, 0, 16);
	memcpy(ram + DESC, &tbl, 8);
	memcpy(ram + DESC + 8, &len, 4);
	memcpy(ram + DESC + 12, &flags, 2);
	ram[STATUS] = 0xee;
	uint32_t used;
	assert_true(kick(&used));
	assert_int_equal(ram[STATUS], VIRTIO_BLK_S_OK);
	assert_int_equal(used, 513);
	assert_int_equal(ram[DATA + 17], pattern(9 * 512 + 17));
}

static void test_many_requests_wrap_ring(void **state)
{
	open_blk(false);
	for (int i = 0; i < 3 * QSZ + 1; i++) {
		uint64_t sector = (uint64_t)i % SECTORS;
		assert_int_equal(request(VIRTIO_BLK_T_IN, sector, 512, NULL), VIRTIO_BLK_S_OK);
		assert_int_equal(ram[DATA + 1], pattern(sector * 512 + 1));
	}
}

/* ---- snapshot ---- */

/* The section: device version, the transport (its version, 34 bytes of
 * registers, one queue of 36), then capacity, readonly, serial. */
#define BS_TRANSPORT 4
#define BS_Q0_DESC (BS_TRANSPORT + 38 + 2)
#define BS_CAPACITY (BS_TRANSPORT + 38 + 36)
#define BS_READONLY (BS_CAPACITY + 8)
#define BS_LEN (BS_READONLY + 1 + VIRTIO_BLK_ID_BYTES)

static size_t blk_save(struct virtio_blk *b, uint8_t **buf)
{
	return vdrv_save(virtio_blk_type.ops, b, buf);
}

static int blk_restore(struct virtio_blk *b, const uint8_t *buf, size_t len, char *field)
{
	return vdrv_restore(virtio_blk_type.ops, b, buf, len, field);
}

static const uint64_t regs[] = {
	VIRTIO_MMIO_DEVICE_ID,   VIRTIO_MMIO_DEVICE_FEATURES,    VIRTIO_MMIO_QUEUE_NUM_MAX,
	VIRTIO_MMIO_QUEUE_READY, VIRTIO_MMIO_INTERRUPT_STATUS,   VIRTIO_MMIO_STATUS,
	VIRTIO_MMIO_CONFIG_GENERATION, VIRTIO_MMIO_CONFIG + VIRTIO_BLK_CFG_CAPACITY,
	VIRTIO_MMIO_CONFIG + VIRTIO_BLK_CFG_SEG_MAX,
};
#define NREGS (sizeof(regs) / sizeof(regs[0]))

static void read_regs(uint32_t *out)
{
	for (size_t i = 0; i < NREGS; i++)
		out[i] = rd(regs[i]);
}

/* The old process's device is gone; a new one over the image at `image`. */
static void replace_blk(const char *image, bool readonly)
{
	virtio_blk_free(blk);
	memset(&irq, 0, sizeof(irq));
	struct nv_err err = { 0 };
	blk = virtio_blk_new(&mem, line(), image, readonly, &err);
	assert_non_null(blk);
	t = virtio_blk_transport(blk);
}

static void test_snapshot_round_trip(void **state)
{
	open_blk(false);
	for (int i = 0; i < 3 * QSZ / 2; i++)
		assert_int_equal(request(VIRTIO_BLK_T_IN, (uint64_t)i % SECTORS, 512, NULL),
				 VIRTIO_BLK_S_OK);
	memset(ram + DATA, 0x3c, 512);
	assert_int_equal(request(VIRTIO_BLK_T_OUT, 4, 512, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(request(VIRTIO_BLK_T_GET_ID, 0, 20, NULL), VIRTIO_BLK_S_OK);
	char serial[20];
	memcpy(serial, ram + DATA, 20);
	assert_int_equal(irq.level, 1); /* the last completion is not acknowledged */
	uint32_t before[NREGS], after[NREGS];
	read_regs(before);
	uint8_t *buf;
	size_t len = blk_save(blk, &buf);
	assert_int_equal(len, BS_LEN);

	replace_blk(path, false);
	char field[64];
	assert_int_equal(blk_restore(blk, buf, len, field), 0);
	read_regs(after);
	assert_memory_equal(before, after, sizeof(before));
	assert_int_equal(irq.level, 1); /* driven from InterruptStatus */
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(irq.level, 0);

	/* The ring carries on: kick() checks the next used slot and index. */
	uint16_t used_before = used_seen;
	assert_int_equal(request(VIRTIO_BLK_T_IN, 4, 512, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(used_seen, used_before + 1);
	for (int i = 0; i < 512; i++)
		assert_int_equal(ram[DATA + i], 0x3c);
	assert_int_equal(irq.level, 1);
	memset(ram + DATA, 0, 20);
	assert_int_equal(request(VIRTIO_BLK_T_GET_ID, 0, 20, NULL), VIRTIO_BLK_S_OK);
	assert_memory_equal(ram + DATA, serial, 20);
	free(buf);
}

/* The image moved with the snapshot (a copy: another inode): the guest's
 * disk keeps its serial. A different size or mode is another disk. */
static void test_snapshot_other_image(void **state)
{
	open_blk(false);
	assert_int_equal(request(VIRTIO_BLK_T_GET_ID, 0, 20, NULL), VIRTIO_BLK_S_OK);
	char serial[20];
	memcpy(serial, ram + DATA, 20);
	uint8_t *buf;
	size_t len = blk_save(blk, &buf);
	char first[sizeof(path)];
	strcpy(first, path);
	char field[64];

	make_image(SECTORS * 512); /* the copy, at a new path */
	replace_blk(path, false);
	assert_int_equal(blk_restore(blk, buf, len, field), 0);
	memset(ram + DATA, 0, 20);
	assert_int_equal(request(VIRTIO_BLK_T_GET_ID, 0, 20, NULL), VIRTIO_BLK_S_OK);
	assert_memory_equal(ram + DATA, serial, 20);
	assert_int_equal(request(VIRTIO_BLK_T_IN, 1, 512, NULL), VIRTIO_BLK_S_OK);

	replace_blk(path, true);
	assert_int_equal(blk_restore(blk, buf, len, field), -1);
	assert_string_equal(field, "readonly");
	unlink(path);
	make_image((SECTORS + 1) * 512);
	replace_blk(path, false);
	assert_int_equal(blk_restore(blk, buf, len, field), -1);
	assert_string_equal(field, "capacity");
	unlink(first);
	free(buf);
}

static void test_snapshot_refusals(void **state)
{
	open_blk(false);
	assert_int_equal(request(VIRTIO_BLK_T_IN, 0, 512, NULL), VIRTIO_BLK_S_OK);
	uint8_t *buf;
	size_t len = blk_save(blk, &buf);
	uint8_t *bad = malloc(len + 1);
	char field[64];
	replace_blk(path, false);
	for (size_t l = 0; l < len; l++)
		assert_int_equal(blk_restore(blk, buf, l, field), -1);
	struct {
		size_t off;
		unsigned bytes;
		uint64_t value;
		const char *field;
	} cases[] = {
		{ 0, 4, 2, "version" },
		{ BS_TRANSPORT, 4, 2, "version" },
		{ BS_Q0_DESC, 8, RAM_SIZE - 8, "desc_gpa" },
		{ BS_Q0_DESC - 2, 2, 12, "size" },
		{ BS_CAPACITY, 8, SECTORS * 2, "capacity" },
		{ BS_READONLY, 1, 1, "readonly" },
		{ BS_READONLY, 1, 2, "readonly" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(bad, buf, len);
		le_put(bad + cases[i].off, cases[i].value, cases[i].bytes);
		assert_int_equal(blk_restore(blk, bad, len, field), -1);
		assert_string_equal(field, cases[i].field);
	}
	memcpy(bad, buf, len);
	bad[len] = 0;
	assert_int_equal(blk_restore(blk, bad, len + 1, field), -1);
	assert_string_equal(field, "trailing bytes");
	/* After all that, the good section still restores and works. */
	assert_int_equal(blk_restore(blk, buf, len, field), 0);
	assert_int_equal(request(VIRTIO_BLK_T_IN, 1, 512, NULL), VIRTIO_BLK_S_OK);
	free(bad);
	free(buf);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_config_and_features),
		T(test_read),
		T(test_read_scattered),
		T(test_write),
		T(test_flush),
		T(test_copy_and_written_blocks),
		T(test_readonly),
		T(test_out_of_range),
		T(test_get_id),
		T(test_unsupported),
		T(test_open_errors),
		T(test_check_image),
		T(test_malformed_requests),
		T(test_empty_and_odd_images),
		T(test_indirect_read),
		T(test_many_requests_wrap_ring),
		T(test_snapshot_round_trip),
		T(test_snapshot_other_image),
		T(test_snapshot_refusals),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
