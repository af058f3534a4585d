/* virtio-fs end to end on this host, without a guest: the real Debian
 * virtiofsd (started as `run --share` starts it) serving a temporary
 * folder, nestvm's virtio-fs device on shared memory driven through its
 * MMIO registers as Linux's driver would, and FUSE requests laid out by
 * hand in the request queue: FUSE_INIT, a LOOKUP of a file made in the
 * folder (found, with its size), and lookups that try to leave the folder
 * ("../outside", and ".." then "outside"), which must fail; a MKDIR that
 * makes a folder on the host, refused (EROFS) with ",readonly". Each reply is
 * read from the used ring after the device raised its interrupt with
 * InterruptStatus set. The lookups run under both of virtiofsd's sandboxes
 * (namespace, and chroot as in the lab). Two shares of one VM (one
 * readonly) are two virtiofsd and two devices, each with its own folder
 * and setting. Skipped without virtiofsd or root (its sandbox). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/guest_mem.h"
#include "dev/virtio/fs.h"
#include "util/le.h"
#include "vmm/virtiofsd.h"
#include "vmm/virtiofsd_set.h"
#include "virtio_driver.h"

#define RAM (4ULL << 20)
#define QSZ 8
#define REQ_Q 1
#define HIPRIO_Q 0
/* Rings of the request queue and the hiprio queue, then request buffers. */
#define DESC1 0x1000
#define AVAIL1 0x2000
#define USED1 0x3000
#define DESC0 0x4000
#define AVAIL0 0x5000
#define USED0 0x6000
#define IN_BUF 0x10000
#define OUT_BUF 0x20000
#define OUT_LEN 4096

#define FUSE_LOOKUP 1
#define FUSE_MKDIR 9
#define FUSE_INIT 26
#define FUSE_ROOT_ID 1
#define FUSE_IN_HEADER 40
#define FUSE_OUT_HEADER 16
#define HELLO "hello from the host\n"

struct irq_rec {
	int raises;
};

static void rec_set(void *opaque, unsigned gsi, int level)
{
	(void)gsi;
	struct irq_rec *r = opaque;
	if (level)
		__atomic_add_fetch(&r->raises, 1, __ATOMIC_SEQ_CST);
}

struct fixture {
	char tmp[64], share[96];
	struct guest_mem mem;
	struct virtiofsd d;
	void *fs;
	struct virtio_mmio *t;
	struct irq_rec irq;
	uint16_t avail_idx;
	uint64_t unique;
};

/* The device under test: fxs[0], or in test_two_shares each share's in turn. */
static struct fixture fxs[2];
static struct fixture *fx = &fxs[0];
/* The two shares' virtiofsd (test_two_shares only). */
static struct virtiofsd_set set;

static uint8_t *gpa(uint64_t a)
{
	return guest_mem_ptr(&fx->mem, a, 1);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup_as(bool readonly)
{
	memset(fxs, 0, sizeof(fxs));
	fx = &fxs[0];
	fx->d.pidfd = -1;
	virtiofsd_set_init(&set);
	if (geteuid() != 0 || access(VIRTIOFSD_PATH, X_OK) != 0)
		return 0; /* each test skips */
	snprintf(fx->tmp, sizeof(fx->tmp), "/tmp/nestvm-vfs-test-XXXXXX");
	assert_non_null(mkdtemp(fx->tmp));
	snprintf(fx->share, sizeof(fx->share), "%s/share", fx->tmp);
	assert_int_equal(mkdir(fx->share, 0755), 0);
	char p[160];
	snprintf(p, sizeof(p), "%s/hello.txt", fx->share);
	write_file(p, HELLO);
	snprintf(p, sizeof(p), "%s/outside", fx->tmp);
	write_file(p, "the guest must not see this\n");

	struct nv_err err = { 0 };
	assert_int_equal(guest_mem_alloc_shared(&fx->mem, RAM, &err), 0);
	int sock;
	if (virtiofsd_start(&fx->d, fx->share, readonly, &sock, &err) < 0)
		fail_msg("%s", err.msg);
	struct virtio_fs_spec spec = { .socket_fd = sock, .tag = "hostshare" };
	struct irq_line line = { .set_level = rec_set, .opaque = &fx->irq, .gsi = 5 };
	fx->fs = virtio_fs_type.create(&fx->mem, line, &spec, &err);
	if (!fx->fs)
		fail_msg("%s", err.msg);
	fx->t = virtio_fs_type.transport(fx->fs);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	return setup_as(false);
}

static int setup_readonly(void **state)
{
	(void)state;
	return setup_as(true);
}

/* The lab's sandbox (its root is the initial ramfs): chroot. */
static int setup_chroot(void **state)
{
	(void)state;
	setenv("NESTVM_VIRTIOFSD_SANDBOX", "chroot", 1);
	int rc = setup_as(false);
	unsetenv("NESTVM_VIRTIOFSD_SANDBOX");
	return rc;
}

/* Two shares of one VM, as `run --share DIR/rw:rw --share DIR/ro:ro,readonly`
 * starts them: one virtiofsd each (vmm/virtiofsd_set.h), one device each
 * (on RAM of its own here: each device only needs RAM its back-end maps). */
static int setup_two(void **state)
{
	(void)state;
	memset(fxs, 0, sizeof(fxs));
	fx = &fxs[0];
	virtiofsd_set_init(&set);
	if (geteuid() != 0 || access(VIRTIOFSD_PATH, X_OK) != 0)
		return 0; /* the test skips */
	snprintf(fxs[0].tmp, sizeof(fxs[0].tmp), "/tmp/nestvm-vfs-test-XXXXXX");
	assert_non_null(mkdtemp(fxs[0].tmp));
	struct vm_share shares[2] = { { .tag = "rw" }, { .tag = "ro", .readonly = true } };
	for (int k = 0; k < 2; k++) {
		snprintf(fxs[k].share, sizeof(fxs[k].share), "%s/%s", fxs[0].tmp, shares[k].tag);
		assert_int_equal(mkdir(fxs[k].share, 0755), 0);
		snprintf(shares[k].dir, sizeof(shares[k].dir), "%s", fxs[k].share);
		char p[160];
		snprintf(p, sizeof(p), "%s/hello.txt", fxs[k].share);
		write_file(p, HELLO);
	}
	struct nv_err err = { 0 };
	int socks[2];
	if (virtiofsd_set_start(&set, shares, 2, socks, &err) < 0)
		fail_msg("%s", err.msg);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(guest_mem_alloc_shared(&fxs[k].mem, RAM, &err), 0);
		struct virtio_fs_spec spec = { .socket_fd = socks[k], .tag = shares[k].tag };
		struct irq_line line = { .set_level = rec_set, .opaque = &fxs[k].irq, .gsi = 5 + (unsigned)k };
		fxs[k].fs = virtio_fs_type.create(&fxs[k].mem, line, &spec, &err);
		if (!fxs[k].fs)
			fail_msg("%s", err.msg);
		fxs[k].t = virtio_fs_type.transport(fxs[k].fs);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	/* The devices first: their closed connections end the back-ends. */
	for (int k = 0; k < 2; k++) {
		if (fxs[k].fs)
			virtio_fs_type.ops->destroy(fxs[k].fs);
		virtiofsd_stop(&fxs[k].d);
		guest_mem_free(&fxs[k].mem);
	}
	virtiofsd_set_stop(&set);
	if (fxs[0].tmp[0]) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", fxs[0].tmp);
		assert_int_equal(system(cmd), 0);
	}
	fx = &fxs[0];
	return 0;
}

/* Posts one request (in_len bytes at IN_BUF, then OUT_LEN writable bytes
 * at OUT_BUF) on the request queue, kicks it through QueueNotify, and
 * waits for its used entry and the interrupt. Returns the written length. */
static uint32_t roundtrip(uint32_t in_len)
{
	uint8_t *d = gpa(DESC1);
	le_put64(d, IN_BUF);
	le_put32(d + 8, in_len);
	le_put16(d + 12, 1); /* NEXT */
	le_put16(d + 14, 1);
	le_put64(d + 16, OUT_BUF);
	le_put32(d + 24, OUT_LEN);
	le_put16(d + 28, 2); /* WRITE */
	le_put16(d + 30, 0);
	memset(gpa(OUT_BUF), 0xee, OUT_LEN);
	uint8_t *avail = gpa(AVAIL1);
	le_put16(avail + 4 + 2 * (fx->avail_idx % QSZ), 0);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	le_put16(avail + 2, ++fx->avail_idx);
	/* The interrupt handler's part: acknowledge what came before (the
	 * back-end signals each ring once when given its call fd). */
	usleep(20000);
	vdrv_wr(fx->t, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	int raises = __atomic_load_n(&fx->irq.raises, __ATOMIC_SEQ_CST);
	vdrv_wr(fx->t, VIRTIO_MMIO_QUEUE_NOTIFY, REQ_Q);
	uint8_t *used = gpa(USED1);
	for (int i = 0; i < 5000; i++) {
		if (le_get16(used + 2) == fx->avail_idx &&
		    (vdrv_rd(fx->t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING))
			break;
		struct timespec ms = { .tv_nsec = 1000000 };
		nanosleep(&ms, NULL);
	}
	assert_int_equal(le_get16(used + 2), fx->avail_idx);
	/* What Linux's vm_interrupt reads first: the used-ring bit, with the
	 * line raised again for it. */
	assert_int_equal(vdrv_rd(fx->t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING,
			 VIRTIO_MMIO_INT_VRING);
	assert_true(__atomic_load_n(&fx->irq.raises, __ATOMIC_SEQ_CST) > raises);
	vdrv_wr(fx->t, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	uint8_t *e = used + 4 + 8 * ((fx->avail_idx - 1) % QSZ);
	assert_int_equal(le_get32(e), 0); /* head */
	return le_get32(e + 4);
}

static void fuse_header(uint32_t len, uint32_t opcode, uint64_t nodeid)
{
	uint8_t *h = gpa(IN_BUF);
	memset(h, 0, FUSE_IN_HEADER);
	le_put32(h, len);
	le_put32(h + 4, opcode);
	le_put64(h + 8, ++fx->unique);
	le_put64(h + 16, nodeid);
}

/* The reply's error (0 or -errno), after checking its header. */
static int32_t fuse_reply(uint32_t written)
{
	uint8_t *o = gpa(OUT_BUF);
	assert_true(written >= FUSE_OUT_HEADER);
	assert_int_equal(le_get32(o), written);
	assert_int_equal(le_get64(o + 8), fx->unique);
	return (int32_t)le_get32(o + 4);
}

static void fuse_init(void)
{
	uint8_t *a = gpa(IN_BUF) + FUSE_IN_HEADER;
	memset(a, 0, 16);
	le_put32(a, 7);      /* major */
	le_put32(a + 4, 31); /* minor */
	fuse_header(FUSE_IN_HEADER + 16, FUSE_INIT, 0);
	uint32_t n = roundtrip(FUSE_IN_HEADER + 16);
	assert_int_equal(fuse_reply(n), 0);
	assert_int_equal(le_get32(gpa(OUT_BUF) + FUSE_OUT_HEADER), 7); /* its major */
}

/* LOOKUP name in nodeid: 0 and the entry's node id and size, or -errno. */
static int32_t fuse_lookup(uint64_t nodeid, const char *name, uint64_t *node, uint64_t *size)
{
	size_t n = strlen(name) + 1;
	memcpy(gpa(IN_BUF) + FUSE_IN_HEADER, name, n);
	fuse_header(FUSE_IN_HEADER + (uint32_t)n, FUSE_LOOKUP, nodeid);
	int32_t e = fuse_reply(roundtrip(FUSE_IN_HEADER + (uint32_t)n));
	const uint8_t *entry = gpa(OUT_BUF) + FUSE_OUT_HEADER;
	*node = le_get64(entry);
	*size = le_get64(entry + 40 + 8); /* fuse_attr after 40 bytes; ino, then size */
	return e;
}

/* What Linux's virtio_fs driver does: features, both queues, DRIVER_OK. */
static void driver_start(void)
{
	uint64_t offered = vdrv_device_features(fx->t);
	assert_true(offered & (1ULL << VIRTIO_F_VERSION_1));
	/* Without EVENT_IDX the back-end interrupts for every used buffer. */
	vdrv_negotiate(fx->t, 1ULL << VIRTIO_F_VERSION_1);
	vdrv_queue(fx->t, HIPRIO_Q, QSZ, DESC0, AVAIL0, USED0);
	vdrv_queue(fx->t, REQ_Q, QSZ, DESC1, AVAIL1, USED1);
	vdrv_driver_ok(fx->t);
	assert_string_equal(virtio_fs_last_error(fx->fs), "");
	assert_false(vdrv_rd(fx->t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_lookup_inside_and_outside(void **state)
{
	(void)state;
	if (!fx->fs)
		skip();
	/* The tag the guest mounts by. */
	uint8_t tag[16] = { 0 };
	virtio_mmio_access(fx->t, VIRTIO_MMIO_CONFIG, tag, 8, false);
	virtio_mmio_access(fx->t, VIRTIO_MMIO_CONFIG + 8, tag + 8, 1, false);
	assert_memory_equal(tag, "hostshare", 9);
	assert_int_equal(vdrv_rd(fx->t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_FS);

	driver_start();
	fuse_init();
	uint64_t node, size;
	assert_int_equal(fuse_lookup(FUSE_ROOT_ID, "hello.txt", &node, &size), 0);
	assert_true(node != 0);
	assert_int_equal(size, strlen(HELLO));
	/* A name with a slash is no single component: refused outright. */
	assert_true(fuse_lookup(FUSE_ROOT_ID, "../outside", &node, &size) < 0);
	/* ".." of the folder is the folder itself inside the sandbox: what
	 * lies beside the folder on the host is not there. */
	uint64_t dotdot;
	assert_int_equal(fuse_lookup(FUSE_ROOT_ID, "..", &dotdot, &size), 0);
	assert_int_equal(fuse_lookup(dotdot, "outside", &node, &size), -2 /* ENOENT */);
	assert_int_equal(fuse_lookup(dotdot, "hello.txt", &node, &size), 0);
	assert_int_equal(fuse_lookup(FUSE_ROOT_ID, "outside", &node, &size), -2);

	/* A reset stops the back-end's rings (GET_VRING_BASE answered). */
	vdrv_wr(fx->t, VIRTIO_MMIO_STATUS, 0);
	assert_string_equal(virtio_fs_last_error(fx->fs), "");
	/* And the device starts again after it, as after a guest's reboot. */
	memset(gpa(USED1), 0, 0x1000);
	memset(gpa(AVAIL1), 0, 0x1000);
	fx->avail_idx = 0;
	driver_start();
	fuse_init();
	assert_int_equal(fuse_lookup(FUSE_ROOT_ID, "hello.txt", &node, &size), 0);
}

/* MKDIR name in the folder's root: 0 or -errno. */
static int32_t fuse_mkdir(const char *name)
{
	uint8_t *a = gpa(IN_BUF) + FUSE_IN_HEADER;
	le_put32(a, 0755); /* mode */
	le_put32(a + 4, 022); /* umask */
	size_t n = strlen(name) + 1;
	memcpy(a + 8, name, n);
	uint32_t len = FUSE_IN_HEADER + 8 + (uint32_t)n;
	fuse_header(len, FUSE_MKDIR, FUSE_ROOT_ID);
	return fuse_reply(roundtrip(len));
}

static void test_mkdir(void **state)
{
	(void)state;
	if (!fx->fs)
		skip();
	driver_start();
	fuse_init();
	assert_int_equal(fuse_mkdir("made-by-guest"), 0);
	char p[160];
	struct stat st;
	snprintf(p, sizeof(p), "%s/made-by-guest", fx->share);
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
}

/* ",readonly": the host refuses the write, whatever the guest mounts. */
static void test_readonly_refuses_writes(void **state)
{
	(void)state;
	if (!fx->fs)
		skip();
	driver_start();
	fuse_init();
	uint64_t node, size;
	assert_int_equal(fuse_lookup(FUSE_ROOT_ID, "hello.txt", &node, &size), 0);
	assert_int_equal(fuse_mkdir("made-by-guest"), -30 /* EROFS */);
	char p[160];
	struct stat st;
	snprintf(p, sizeof(p), "%s/made-by-guest", fx->share);
	assert_int_equal(stat(p, &st), -1);
}

/* Both at once, each its own folder with its own setting: the readonly
 * one's read-only bind mount is its virtiofsd's alone. */
static void test_two_shares(void **state)
{
	(void)state;
	if (!fxs[1].fs)
		skip();
	static const char *const tags[2] = { "rw", "ro" };
	for (int k = 0; k < 2; k++) {
		fx = &fxs[k];
		uint8_t tag[3] = { 0 };
		virtio_mmio_access(fx->t, VIRTIO_MMIO_CONFIG, tag, 2, false);
		assert_string_equal((char *)tag, tags[k]);
		driver_start();
		fuse_init();
		uint64_t node, size;
		assert_int_equal(fuse_lookup(FUSE_ROOT_ID, "hello.txt", &node, &size), 0);
		assert_int_equal(fuse_mkdir("made-by-guest"), k == 0 ? 0 : -30 /* EROFS */);
	}
	char p[160];
	struct stat st;
	snprintf(p, sizeof(p), "%s/made-by-guest", fxs[0].share);
	assert_int_equal(stat(p, &st), 0);
	snprintf(p, sizeof(p), "%s/made-by-guest", fxs[1].share);
	assert_int_equal(stat(p, &st), -1);
	assert_int_equal(set.n, 2);
	assert_true(set.d[0].pid > 0 && set.d[1].pid > 0 && set.d[0].pid != set.d[1].pid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lookup_inside_and_outside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_inside_and_outside, setup_chroot, teardown),
		cmocka_unit_test_setup_teardown(test_mkdir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_refuses_writes, setup_readonly, teardown),
		cmocka_unit_test_setup_teardown(test_two_shares, setup_two, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
