/* The machine's device table: lifecycle walks in the right order, and every
 * refused add still frees the instance (ASan's leak check is the proof). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/device.h"

/* Fake device: the hooks append "name:hook" to one log, so a test asserts
 * the exact interleaving across devices. */
struct fake {
	char name[DEVICE_NAME_MAX + 8];
};

#define LOG_MAX 256
static char log_[LOG_MAX][64];
static int nlog;
static struct device_table tab;

static void log_hook(void *dev, const char *hook)
{
	assert_true(nlog < LOG_MAX);
	snprintf(log_[nlog++], sizeof(log_[0]), "%s:%s", ((struct fake *)dev)->name, hook);
}

static void f_reset(void *dev) { log_hook(dev, "reset"); }
static void f_pause(void *dev) { log_hook(dev, "pause"); }
static void f_resume(void *dev) { log_hook(dev, "resume"); }
static void f_announce(void *dev) { log_hook(dev, "announce"); }

static void f_destroy(void *dev)
{
	log_hook(dev, "destroy");
	free(dev);
}

static const struct device_ops full_ops = {
	.kind = "fake",
	.reset = f_reset,
	.pause = f_pause,
	.resume = f_resume,
	.announce = f_announce,
	.destroy = f_destroy,
};

/* A device that only runs on vCPU threads: no pause/resume/reset. */
static const struct device_ops bare_ops = {
	.kind = "bare",
	.destroy = f_destroy,
};

/* Owned by someone else: the table must not free it. */
static const struct device_ops unowned_ops = {
	.kind = "unowned",
	.pause = f_pause,
};

static struct fake *fake_new(const char *name)
{
	struct fake *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->name, sizeof(f->name), "%s", name);
	return f;
}

static void add_ok(const struct device_ops *ops, const char *name)
{
	struct nv_err err = { 0 };
	assert_int_equal(device_table_add(&tab, ops, fake_new(name), name, &err), 0);
	assert_int_equal(err.kind, NV_ERR_NONE);
}

/* The log equals the NULL-terminated list exactly; then it is cleared. */
static void expect_log(const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	int i = 0;
	for (const char *s = first; s; s = va_arg(ap, const char *), i++) {
		assert_true(i < nlog);
		assert_string_equal(log_[i], s);
	}
	va_end(ap);
	assert_int_equal(nlog, i);
	nlog = 0;
}

static int setup(void **state)
{
	memset(&tab, 0, sizeof(tab));
	nlog = 0;
	return 0;
}

/* Frees whatever a failing test left behind, so ASan reports real leaks. */
static int teardown(void **state)
{
	device_table_destroy(&tab);
	return 0;
}

static void test_creation_order_and_find(void **state)
{
	add_ok(&full_ops, "uart0");
	add_ok(&bare_ops, "virtio-rng0");
	add_ok(&full_ops, "virtio-blk1");
	assert_int_equal(tab.n, 3);
	assert_string_equal(tab.items[0].name, "uart0");
	assert_string_equal(tab.items[1].name, "virtio-rng0");
	assert_string_equal(tab.items[2].name, "virtio-blk1");

	const struct device *d = device_table_find(&tab, "virtio-rng0");
	assert_ptr_equal(d, &tab.items[1]);
	assert_ptr_equal(d->ops, &bare_ops);
	assert_string_equal(((struct fake *)d->dev)->name, "virtio-rng0");
	/* Exact names only. */
	assert_null(device_table_find(&tab, "uart"));
	assert_null(device_table_find(&tab, "uart00"));
	assert_null(device_table_find(&tab, ""));
	expect_log(NULL); /* adding calls no hook */
}

static void test_pause_resume_order_and_idempotence(void **state)
{
	add_ok(&full_ops, "a");
	add_ok(&bare_ops, "b"); /* NULL hooks: skipped, not called */
	add_ok(&full_ops, "c");

	device_table_resume(&tab); /* not paused: nothing to resume */
	expect_log(NULL);

	device_table_pause(&tab);
	expect_log("a:pause", "c:pause", NULL);
	assert_true(tab.paused);
	device_table_pause(&tab);
	expect_log(NULL);

	device_table_resume(&tab);
	expect_log("a:resume", "c:resume", NULL);
	assert_false(tab.paused);
	device_table_resume(&tab);
	expect_log(NULL);

	/* Idempotence is per state, not once per table. */
	device_table_pause(&tab);
	expect_log("a:pause", "c:pause", NULL);
}

static void test_reset_calls_each(void **state)
{
	add_ok(&full_ops, "a");
	add_ok(&bare_ops, "b");
	add_ok(&full_ops, "c");
	device_table_reset(&tab);
	expect_log("a:reset", "c:reset", NULL);
	/* Reset is not a state toggle: a second reset resets again. */
	device_table_reset(&tab);
	expect_log("a:reset", "c:reset", NULL);
}

static void test_destroy_reverse_and_empties(void **state)
{
	static struct fake shared = { "shared" };
	struct nv_err err = { 0 };
	add_ok(&full_ops, "first");
	assert_int_equal(device_table_add(&tab, &unowned_ops, &shared, "shared", &err), 0);
	add_ok(&bare_ops, "second");
	add_ok(&full_ops, "third");
	device_table_pause(&tab);
	nlog = 0;

	device_table_destroy(&tab);
	/* Later devices may use earlier ones; the unowned one is not freed. */
	expect_log("third:destroy", "second:destroy", "first:destroy", NULL);
	assert_int_equal(tab.n, 0);
	assert_false(tab.paused);
	assert_null(device_table_find(&tab, "first"));
	assert_null(tab.items[0].ops);
	assert_null(tab.items[0].dev);

	device_table_destroy(&tab); /* already empty */
	expect_log(NULL);
	/* The emptied table is usable again, names included. */
	add_ok(&full_ops, "first");
	device_table_pause(&tab);
	expect_log("first:pause", NULL);
}

static void test_add_full_table(void **state)
{
	char name[16];
	for (int i = 0; i < DEVICE_TABLE_MAX; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		add_ok(&full_ops, name);
	}
	assert_int_equal(tab.n, DEVICE_TABLE_MAX);

	struct nv_err err = { 0 };
	assert_int_equal(device_table_add(&tab, &full_ops, fake_new("extra"), "extra", &err), -1);
	expect_log("extra:destroy", NULL);
	assert_int_not_equal(err.kind, NV_ERR_NONE);
	assert_non_null(strstr(err.msg, "too many devices"));
	assert_int_equal(tab.n, DEVICE_TABLE_MAX);
	assert_null(device_table_find(&tab, "extra"));
}

static void test_add_duplicate(void **state)
{
	add_ok(&full_ops, "uart0");
	struct nv_err err = { 0 };
	assert_int_equal(device_table_add(&tab, &full_ops, fake_new("dup"), "uart0", &err), -1);
	expect_log("dup:destroy", NULL);
	assert_int_not_equal(err.kind, NV_ERR_NONE);
	assert_non_null(strstr(err.msg, "'uart0'"));
	assert_non_null(strstr(err.msg, "twice"));
	assert_int_equal(tab.n, 1);
	/* The original entry is untouched. */
	assert_string_equal(((struct fake *)tab.items[0].dev)->name, "uart0");
}

static void test_add_bad_names(void **state)
{
	char longest[DEVICE_NAME_MAX];  /* DEVICE_NAME_MAX - 1 chars: fits */
	char too_long[DEVICE_NAME_MAX + 1]; /* DEVICE_NAME_MAX chars: no room for NUL */
	memset(longest, 'x', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	memset(too_long, 'y', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';

	struct nv_err err = { 0 };
	assert_int_equal(device_table_add(&tab, &full_ops, fake_new("null"), NULL, &err), -1);
	expect_log("null:destroy", NULL);
	assert_int_not_equal(err.kind, NV_ERR_NONE);
	assert_non_null(strstr(err.msg, "bad table entry"));

	memset(&err, 0, sizeof(err));
	assert_int_equal(device_table_add(&tab, &full_ops, fake_new("empty"), "", &err), -1);
	expect_log("empty:destroy", NULL);
	assert_non_null(strstr(err.msg, "bad table entry"));

	memset(&err, 0, sizeof(err));
	assert_int_equal(device_table_add(&tab, &full_ops, fake_new("long"), too_long, &err), -1);
	expect_log("long:destroy", NULL);
	assert_non_null(strstr(err.msg, too_long)); /* the user can see which one */
	assert_non_null(strstr(err.msg, "bad table entry"));
	assert_int_equal(tab.n, 0);

	/* One shorter is the longest accepted, stored whole. */
	add_ok(&full_ops, longest);
	assert_string_equal(tab.items[0].name, longest);
	assert_non_null(device_table_find(&tab, longest));
}

static void test_add_missing_instance_or_ops(void **state)
{
	struct nv_err err = { 0 };
	/* No instance: nothing to destroy, still refused. */
	assert_int_equal(device_table_add(&tab, &full_ops, NULL, "ghost", &err), -1);
	assert_non_null(strstr(err.msg, "ghost"));
	expect_log(NULL);
	/* No ops: the table cannot free it, so the caller keeps ownership. */
	static struct fake orphan = { "orphan" };
	memset(&err, 0, sizeof(err));
	assert_int_equal(device_table_add(&tab, NULL, &orphan, "orphan", &err), -1);
	assert_int_not_equal(err.kind, NV_ERR_NONE);
	expect_log(NULL);
	assert_int_equal(tab.n, 0);
	/* A NULL err is allowed: the message is dropped. */
	assert_int_equal(device_table_add(&tab, &full_ops, fake_new("noerr"), "", NULL), -1);
	expect_log("noerr:destroy", NULL);
}

/* A restored machine's devices announce themselves in creation order;
 * those without the hook (bare: nobody outside looks for them) are skipped. */
static void test_announce_calls_each_with_the_hook(void **state)
{
	add_ok(&full_ops, "virtio-net0");
	add_ok(&bare_ops, "virtio-rng0");
	add_ok(&full_ops, "virtio-net1");
	device_table_announce(&tab);
	expect_log("virtio-net0:announce", "virtio-net1:announce", NULL);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_creation_order_and_find),
		T(test_pause_resume_order_and_idempotence),
		T(test_reset_calls_each),
		T(test_destroy_reverse_and_empties),
		T(test_add_full_table),
		T(test_add_duplicate),
		T(test_add_bad_names),
		T(test_add_missing_instance_or_ops),
		T(test_announce_calls_each_with_the_hook),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
