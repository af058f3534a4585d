/* KVM-API tests in the style of the kernel's KVM selftests: tiny guest
 * programs (tests/kvm/guest/) run on this machine's /dev/kvm against
 * nestvm's real device models, buses and boot state. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/vcpu_fault.h"
#include "dev/legacy/i8042.h"
#include "dev/legacy/uart16550.h"
#include "dev/platform/debug_exit.h"
#include "dev/virtio/blk.h"
#include "dev/virtio/mmio.h"
#include "kvm/harness.h"
#include "kvm/kvm.h"

#define VIRTIO_BASE 0xd0000000ULL

#define NEED_KVM(h) do { if (!(h)) { print_message("no usable /dev/kvm\n"); skip(); } } while (0)

struct capture {
	char buf[256];
	size_t len;
};

static void capture_tx(void *opaque, const uint8_t *buf, size_t len)
{
	struct capture *c = opaque;
	for (size_t i = 0; i < len && c->len < sizeof(c->buf) - 1; i++)
		c->buf[c->len++] = (char)buf[i];
}

static void test_uart_output_and_input(void **state)
{
	struct harness *h = *state;
	NEED_KVM(h);
	struct capture cap = { .len = 0 };
	struct uart16550 *u = uart16550_new(kvm_vm_irq_line(&h->vm, 4), capture_tx, &cap);
	assert_non_null(u);
	assert_int_equal(bus_register(&h->vm.pio, 0x3f8, 8, uart16550_io, u), 0);
	harness_load_guest(h, "uart");
	assert_int_equal(harness_run(h, 100000), HARNESS_UCALL);
	assert_int_equal(h->ucall.cmd, UCALL_SYNC);
	assert_string_equal(cap.buf, "hello from guest code\n");
	assert_int_equal(uart16550_receive(u, (const uint8_t *)"Z", 1), 1);
	assert_int_equal(harness_run_to_done(h), 'Z');
	uart16550_free(u);
}

static void on_reset(void *opaque)
{
	platform_sink_report(opaque, PLATFORM_EVENT_RESET, 0);
}

static void test_i8042_reset(void **state)
{
	struct harness *h = *state;
	NEED_KVM(h);
	struct i8042 *k = i8042_new(on_reset, &h->sink);
	assert_non_null(k);
	assert_int_equal(bus_register(&h->vm.pio, 0x60, 5, i8042_io, k), 0);
	harness_load_guest(h, "i8042");
	enum harness_stop s = harness_run(h, 100000);
	if (s == HARNESS_UCALL && h->ucall.cmd == UCALL_ABORT)
		fail_msg("guest assert at line %llu", (unsigned long long)h->ucall.args[0]);
	assert_int_equal(s, HARNESS_PLATFORM);
	assert_int_equal(h->event, PLATFORM_EVENT_RESET);
	i8042_free(k);
}

static void test_debug_exit_status(void **state)
{
	struct harness *h = *state;
	NEED_KVM(h);
	assert_int_equal(bus_register(&h->vm.pio, DEBUG_EXIT_PORT, DEBUG_EXIT_LEN, debug_exit_io, &h->sink), 0);
	harness_load_guest(h, "debug_exit");
	assert_int_equal(harness_run(h, 100000), HARNESS_PLATFORM);
	assert_int_equal(h->event, PLATFORM_EVENT_EXIT_STATUS);
	assert_int_equal(h->event_value, 42);
}

/* A triple fault's line (the VM's LastStop) says where the vCPU was: its
 * rip in the guest's code, paging and long mode on, not in guest mode. On
 * AMD, KVM INITs the vCPU at a shutdown (the VMCB is undefined then), and
 * the line says that this was lost instead. */
static void test_triple_fault_described(void **state)
{
	struct harness *h = *state;
	NEED_KVM(h);
	harness_load_guest(h, "triple_fault");
	assert_int_equal(harness_run(h, 100000), HARNESS_EXIT);
	assert_int_equal(h->exit.kind, VCPU_EXIT_TRIPLE_FAULT);
	char where[200];
	vcpu_fault_describe(h->vcpu.fd, where, sizeof(where));
	print_message("%s\n", where);
	struct kvm_regs regs;
	assert_int_equal(kvm_get_regs(h->vcpu.fd, &regs), 0);
	if (regs.rip == 0xfff0) { /* reset: AMD */
		assert_string_equal(where, "where is lost: KVM reset the vCPU at the shutdown, as it does on AMD");
		return;
	}
	unsigned long long rip = 0, cr0 = 0, efer = 0;
	assert_int_equal(sscanf(where, "rip 0x%llx, cs 0x%*x, cr0 0x%llx, cr3 0x%*x, cr4 0x%*x, efer 0x%llx", &rip,
				&cr0, &efer),
			 3);
	assert_in_range(rip, HARNESS_GUEST_LOAD, HARNESS_GUEST_LOAD + 0x10000);
	assert_true(cr0 & (1ULL << 31)); /* paging */
	assert_true(efer & (1ULL << 10)); /* long mode active */
	assert_null(strstr(where, "guest mode"));
}

/* A raw image with recognisable first and last bytes in sector 0. */
static void make_image(char *path, size_t size)
{
	strcpy(path, "/tmp/nestvm-kvmtest-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	uint8_t *buf = calloc(1, size);
	buf[0] = 'N';
	buf[511] = 'V';
	assert_int_equal(write(fd, buf, size), (ssize_t)size);
	free(buf);
	close(fd);
}

/* A 1 MiB image as virtio-blk at VIRTIO_BASE, GSI 5. */
static struct virtio_blk *attach_blk(struct harness *h, char *path)
{
	make_image(path, 1 << 20);
	struct nv_err err = { 0 };
	struct virtio_blk *b = virtio_blk_new(&h->vm.mem, kvm_vm_irq_line(&h->vm, 5), path, false, &err);
	assert_non_null(b);
	assert_int_equal(bus_register(&h->vm.mmio, VIRTIO_BASE, VIRTIO_MMIO_WINDOW, virtio_mmio_access,
				      virtio_blk_transport(b)), 0);
	return b;
}

static void test_virtio_mmio_registers(void **state)
{
	struct harness *h = *state;
	NEED_KVM(h);
	char path[64];
	struct virtio_blk *b = attach_blk(h, path);
	harness_load_guest(h, "virtio_mmio");
	assert_int_equal(harness_run(h, 100000), HARNESS_UCALL);
	if (h->ucall.cmd == UCALL_ABORT)
		fail_msg("guest assert at line %llu", (unsigned long long)h->ucall.args[0]);
	assert_int_equal(h->ucall.cmd, UCALL_SYNC);
	assert_int_equal(h->ucall.args[0], (1 << 20) / 512); /* capacity in sectors */
	assert_int_equal(harness_run_to_done(h), 0);
	virtio_blk_free(b);
	unlink(path);
}

static void test_virtio_blk_request_from_guest(void **state)
{
	struct harness *h = *state;
	NEED_KVM(h);
	char path[64];
	struct virtio_blk *b = attach_blk(h, path);
	harness_load_guest(h, "virtio_blk");
	assert_int_equal(harness_run_to_done(h), 0);
	virtio_blk_free(b);
	/* The guest's write of sector 1 is in the file. */
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	uint8_t sec[512];
	assert_int_equal(fseek(f, 512, SEEK_SET), 0);
	assert_int_equal(fread(sec, 1, 512, f), 512);
	fclose(f);
	for (int i = 0; i < 512; i++)
		assert_int_equal(sec[i], (uint8_t)(i * 7));
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_uart_output_and_input, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_i8042_reset, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_debug_exit_status, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_triple_fault_described, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_virtio_mmio_registers, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_virtio_blk_request_from_guest, harness_setup, harness_teardown),
	};
	return cmocka_run_group_tests_name("kvm_devices", tests, NULL, NULL);
}
