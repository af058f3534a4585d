/* virtio-balloon on this machine's /dev/kvm, driven by a hostile guest
 * driver (guest/virtio_balloon.c): frames and free page reports outside
 * RAM, unaligned or huge are refused and counted, never followed; part of
 * a 2 MiB block keeps its memory, a whole block is released (the guest
 * reads zeroes); a looping descriptor chain is survived. The VMM's side
 * of issue 13's hostile-driver test. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "dev/virtio/balloon.h"
#include "dev/virtio/mmio.h"
#include "kvm/harness.h"

#define VIRTIO_BASE 0xd0000000ULL
#define NEED_KVM(h) do { if (!(h)) { print_message("no usable /dev/kvm\n"); skip(); } } while (0)

/* Runs the guest to its GUEST_SYNC(step). */
static void run_to(struct harness *h, uint64_t step)
{
	assert_int_equal(harness_run(h, 1000000), HARNESS_UCALL);
	if (h->ucall.cmd == UCALL_ABORT)
		fail_msg("guest assert at line %llu (value %llu)", (unsigned long long)h->ucall.args[0],
			 (unsigned long long)h->ucall.args[1]);
	assert_int_equal(h->ucall.cmd, UCALL_SYNC);
	assert_int_equal(h->ucall.args[0], step);
}

static void test_hostile_driver(void **state)
{
	struct harness *h = *state;
	NEED_KVM(h);
	struct virtio_balloon *b = virtio_balloon_new(&h->vm.mem, kvm_vm_irq_line(&h->vm, 5));
	assert_non_null(b);
	assert_int_equal(bus_register(&h->vm.mmio, VIRTIO_BASE, VIRTIO_MMIO_WINDOW, virtio_mmio_access,
				      virtio_balloon_transport(b)), 0);
	harness_load_guest(h, "virtio_balloon");
	struct virtio_balloon_counters c;

	run_to(h, 1);
	virtio_balloon_counters(b, &c);
	assert_int_equal(c.refused, 3);        /* beyond RAM, MMIO, 0xffffffff */
	assert_int_equal(c.inflated_pages, 3); /* part of a block */
	assert_int_equal(c.released_bytes, 0);

	run_to(h, 2);
	virtio_balloon_counters(b, &c);
	assert_int_equal(c.inflated_pages, 3 + 510);
	assert_int_equal(c.released_bytes, 2u << 20);

	run_to(h, 3);
	virtio_balloon_counters(b, &c);
	assert_int_equal(c.refused, 3 + 2);           /* unaligned, short */
	assert_int_equal(c.reported_bytes, 2u << 20); /* only the good report */
	assert_int_equal(c.released_bytes, 4u << 20);

	run_to(h, 4); /* three broken rings, each reset: nothing more released */
	virtio_balloon_counters(b, &c);
	assert_int_equal(c.reported_bytes, 2u << 20);
	assert_int_equal(c.released_bytes, 4u << 20);

	run_to(h, 5);
	virtio_balloon_counters(b, &c);
	assert_int_equal(c.inflated_pages, 3 + 510 + 1);
	assert_int_equal(harness_run_to_done(h), 0);
	virtio_balloon_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hostile_driver, harness_setup, harness_teardown),
	};
	return cmocka_run_group_tests_name("kvm_virtio_balloon", tests, NULL, NULL);
}
