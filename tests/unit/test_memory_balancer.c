/* Dynamic memory's policy: demand from the guest's statistics (with and
 * without deflate-on-OOM, missing or impossible figures), growth at once
 * (more when the guest is inside half its buffer, and ahead of a rise,
 * and no shrinking while demand rises),
 * shrinking only after a few low seconds and in steps, the bounds, never
 * below demand, and host pressure by weight. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vmm/memory_balancer.h"

#define MIB (1ull << 20)

static struct virtio_balloon_stats stats(uint64_t total_mib, uint64_t avail_mib, bool doom, uint64_t balloon_mib)
{
	struct virtio_balloon_stats st = { .updates = 1, .deflate_on_oom = doom,
					   .actual_pages = (uint32_t)(balloon_mib * 256) };
	st.value[VIRTIO_BALLOON_S_MEMTOT] = total_mib * MIB;
	st.value[VIRTIO_BALLOON_S_AVAIL] = avail_mib * MIB;
	st.present = (1u << VIRTIO_BALLOON_S_MEMTOT) | (1u << VIRTIO_BALLOON_S_AVAIL);
	return st;
}

static void test_demand(void **state)
{
	uint64_t d = 0;
	struct virtio_balloon_stats st = stats(2048, 1500, false, 300);
	assert_true(memory_guest_demand(&st, &d));
	assert_int_equal(d, 548); /* MemTotal has no balloon in it */
	/* MemTotal still counts the 1024 MiB the balloon held when the
	 * figures came. */
	st = stats(2048, 500, true, 1024);
	assert_true(memory_guest_demand(&st, &d));
	assert_int_equal(d, 524);
	st = stats(2048, 2100, false, 0); /* more available than total */
	assert_false(memory_guest_demand(&st, &d));
	st.present = 1u << VIRTIO_BALLOON_S_MEMTOT; /* no AVAIL */
	st.value[VIRTIO_BALLOON_S_AVAIL] = 0;
	assert_false(memory_guest_demand(&st, &d));
	st = stats(2048, 100, false, 0);
	st.updates = 0; /* nothing sent yet */
	assert_false(memory_guest_demand(&st, &d));
	st = stats(100, 10, true, 500); /* a balloon bigger than the use */
	assert_true(memory_guest_demand(&st, &d));
	assert_int_equal(d, 0);
}

static const struct memory_policy pol = { .min_mib = 256, .max_mib = 4096, .buffer_pct = 20, .weight = 50 };

static void test_grows_at_once(void **state)
{
	struct memory_balancer b = { 0 };
	struct memory_view v = { .have_demand = true, .demand_mib = 1000, .assigned_mib = 1150 };
	assert_int_equal(memory_balancer_next(&b, &pol, &v), 1200); /* demand + 20 % */
	/* Inside half its buffer (150 MiB left of 200): the buffer twice. */
	v.assigned_mib = 1090;
	assert_int_equal(memory_balancer_next(&b, &pol, &v), 1400);
	v.assigned_mib = 512; /* using more than assigned (deflated on an OOM) */
	assert_int_equal(memory_balancer_next(&b, &pol, &v), 1400);
	v.demand_mib = 200; /* a small buffer still grows by 64 MiB at least */
	v.assigned_mib = 210;
	assert_int_equal(memory_balancer_next(&b, &pol, &v), 200 + 40 + 64);
	v.demand_mib = 5000; /* beyond the maximum */
	assert_int_equal(memory_balancer_next(&b, &pol, &v), 4096);
}

/* A guest filling its memory: the next two seconds at the rate demand rose
 * between two new sets of statistics; a set seen again changes nothing,
 * and the hurry ends once demand stops rising. */
static void test_grows_ahead_of_a_rise(void **state)
{
	struct memory_balancer b = { 0 };
	struct memory_view v = { .have_demand = true, .demand_mib = 600, .assigned_mib = 800,
				 .sample = 1, .now_ms = 10000 };
	memory_balancer_next(&b, &pol, &v);
	assert_false(memory_balancer_hurried(&b));
	v.sample = 2;
	v.now_ms = 10500;
	v.demand_mib = 700; /* 100 MiB in 0.5 s: 200 MiB/s */
	assert_int_equal(memory_balancer_next(&b, &pol, &v), 700 + 140 + 400);
	assert_true(memory_balancer_hurried(&b));
	v.now_ms = 10750; /* the same set again: the same rate */
	assert_int_equal(memory_balancer_next(&b, &pol, &v), 700 + 140 + 400);
	/* Far more assigned than that, demand rising: kept, not shrunk. */
	v.assigned_mib = 3000;
	for (int i = 0; i < 5; i++)
		assert_int_equal(memory_balancer_next(&b, &pol, &v), 3000);
	v.sample = 3;
	v.now_ms = 11000; /* no rise since */
	v.assigned_mib = 1240;
	assert_int_equal(memory_balancer_next(&b, &pol, &v), 1240); /* a low step: kept */
	assert_false(memory_balancer_hurried(&b));
	/* No clock (0): no rate. */
	struct memory_balancer c = { 0 };
	v = (struct memory_view){ .have_demand = true, .demand_mib = 600, .assigned_mib = 2000, .sample = 1 };
	memory_balancer_next(&c, &pol, &v);
	v.sample = 2;
	v.demand_mib = 900;
	v.assigned_mib = 1000;
	assert_int_equal(memory_balancer_next(&c, &pol, &v), 1080);
	assert_false(memory_balancer_hurried(&c));
}

static void test_shrinks_slowly(void **state)
{
	struct memory_balancer b = { 0 };
	struct memory_view v = { .have_demand = true, .demand_mib = 100, .assigned_mib = 2000 };
	assert_int_equal(memory_balancer_next(&b, &pol, &v), 2000);
	assert_int_equal(memory_balancer_next(&b, &pol, &v), 2000);
	uint64_t next = memory_balancer_next(&b, &pol, &v); /* the third low second */
	assert_int_equal(next, 1900);                         /* 5 % of 2000 */
	v.assigned_mib = next;
	for (int i = 0; i < 200 && v.assigned_mib > 256; i++)
		v.assigned_mib = memory_balancer_next(&b, &pol, &v);
	assert_int_equal(v.assigned_mib, 256); /* the minimum, above demand + buffer */
	/* A rise in between starts the count again. */
	b.low_ticks = 0;
	v = (struct memory_view){ .have_demand = true, .demand_mib = 100, .assigned_mib = 1000 };
	memory_balancer_next(&b, &pol, &v);
	memory_balancer_next(&b, &pol, &v);
	v.demand_mib = 900;
	assert_int_equal(memory_balancer_next(&b, &pol, &v), 1080);
	v.demand_mib = 100;
	v.assigned_mib = 1080;
	assert_int_equal(memory_balancer_next(&b, &pol, &v), 1080);
}

static void test_never_below_demand(void **state)
{
	struct memory_balancer b = { .low_ticks = 10 };
	struct memory_policy p = pol;
	p.buffer_pct = 0;
	struct memory_view v = { .have_demand = true, .demand_mib = 1000, .assigned_mib = 1010 };
	assert_int_equal(memory_balancer_next(&b, &p, &v), 1000);
	/* Without statistics nothing moves, but the bounds hold. */
	v = (struct memory_view){ .assigned_mib = 8000 };
	assert_int_equal(memory_balancer_next(&b, &pol, &v), 4096);
	v.assigned_mib = 100;
	assert_int_equal(memory_balancer_next(&b, &pol, &v), 256);
}

static void test_host_pressure_by_weight(void **state)
{
	struct memory_view v = { .host_total_mib = 10000, .host_avail_mib = 1000 }; /* 10 % */
	assert_true(memory_host_pressed(&v, 0));    /* below 15 % */
	assert_false(memory_host_pressed(&v, 50));  /* 10 %: not below it */
	v.host_avail_mib = 999;
	assert_true(memory_host_pressed(&v, 50));
	assert_false(memory_host_pressed(&v, 100)); /* 5 % */
	v.host_avail_mib = 400;
	assert_true(memory_host_pressed(&v, 100));
	v.host_total_mib = 0; /* unknown: never pressed */
	assert_false(memory_host_pressed(&v, 0));
	/* Pressed: at once, a quarter of the buffer, steps of a fifth. */
	struct memory_balancer b = { 0 };
	v = (struct memory_view){ .have_demand = true, .demand_mib = 400, .assigned_mib = 2000,
				  .host_total_mib = 10000, .host_avail_mib = 100 };
	assert_int_equal(memory_balancer_next(&b, &pol, &v), 1600);
	v.assigned_mib = 420;
	assert_int_equal(memory_balancer_next(&b, &pol, &v), 420); /* 400 + 5 % */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_demand),
		cmocka_unit_test(test_grows_at_once),
		cmocka_unit_test(test_grows_ahead_of_a_rise),
		cmocka_unit_test(test_shrinks_slowly),
		cmocka_unit_test(test_never_below_demand),
		cmocka_unit_test(test_host_pressure_by_weight),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
