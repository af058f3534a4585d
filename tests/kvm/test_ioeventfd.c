/* virtio-fs's kicks on this machine's /dev/kvm: an eventfd bound to the
 * QueueNotify register with datamatch (kvm_vm_ioeventfd) is signalled by
 * KVM for the bound queue's index without an exit to the VMM (the bus never
 * sees that write), and another value still reaches the bus. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "kvm/harness.h"

#define WINDOW 0xd0000000ULL
#define QUEUE_NOTIFY 0x50

struct writes {
	unsigned n;
	uint32_t last;
};

static void window_access(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct writes *w = opaque;
	if (is_write && off == QUEUE_NOTIFY && len == 4) {
		w->n++;
		memcpy(&w->last, data, 4);
	} else if (!is_write) {
		memset(data, 0, len);
	}
}

static void run_to(struct harness *h, uint64_t step)
{
	assert_int_equal(harness_run(h, 100000), HARNESS_UCALL);
	assert_int_equal(h->ucall.cmd, UCALL_SYNC);
	assert_int_equal(h->ucall.args[0], step);
}

static void test_kick_without_exit(void **state)
{
	struct harness *h = *state;
	if (!h) {
		print_message("no usable /dev/kvm\n");
		skip();
	}
	struct writes w = { 0 };
	assert_int_equal(bus_register(&h->vm.mmio, WINDOW, 0x200, window_access, &w), 0);
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(efd >= 0);
	int rc = kvm_vm_ioeventfd(&h->vm, WINDOW + QUEUE_NOTIFY, 1, efd);
	if (rc < 0) {
		print_message("this KVM has no ioeventfd: %s\n", strerror(-rc));
		close(efd);
		skip();
	}
	harness_load_guest(h, "queue_notify");
	uint64_t n = 0;
	run_to(h, 1);
	assert_int_equal(read(efd, &n, sizeof(n)), 8);
	assert_int_equal(n, 1);
	assert_int_equal(w.n, 0);
	run_to(h, 2);
	assert_int_equal(read(efd, &n, sizeof(n)), -1); /* not signalled again */
	assert_int_equal(w.n, 1);
	assert_int_equal(w.last, 0);
	assert_int_equal(harness_run_to_done(h), 0);
	close(efd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kick_without_exit, harness_setup, harness_teardown),
	};
	return cmocka_run_group_tests_name("kvm_ioeventfd", tests, NULL, NULL);
}
