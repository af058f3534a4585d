/* Core pieces without a VM: guest memory bounds, bus dispatch, decoding of
 * every kvm_run exit the vCPU loop acts on. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/bus.h"
#include "core/guest_mem.h"
#include "core/vcpu_exit.h"

static void test_guest_mem_bounds(void **state)
{
	(void)state;
	static uint8_t ram[1 << 16];
	struct guest_mem m;
	guest_mem_init_over(&m, ram, sizeof(ram));
	assert_int_equal(m.nregions, 1);
	assert_ptr_equal(guest_mem_ptr(&m, 0, sizeof(ram)), ram);
	assert_ptr_equal(guest_mem_ptr(&m, 100, 4), ram + 100);
	assert_null(guest_mem_ptr(&m, sizeof(ram) - 3, 4));   /* straddles the end */
	assert_null(guest_mem_ptr(&m, sizeof(ram), 0));       /* just past the end */
	assert_null(guest_mem_ptr(&m, UINT64_MAX - 1, 4));    /* wraps */
	assert_null(guest_mem_ptr(&m, 8, UINT64_MAX));        /* huge length */
	uint32_t v = 0xdeadbeef, r = 0;
	assert_int_equal(guest_mem_write(&m, 40, &v, 4), 0);
	assert_int_equal(guest_mem_read(&m, 40, &r, 4), 0);
	assert_int_equal(r, v);
	assert_int_equal(guest_mem_read(&m, sizeof(ram) - 2, &r, 4), -1);
}

static void test_guest_mem_split_above_hole(void **state)
{
	(void)state;
	/* Layout only: a fake base pointer is never dereferenced here. */
	struct guest_mem m;
	uint64_t size = GUEST_MMIO_HOLE_START + (1ULL << 30);
	guest_mem_init_over(&m, (uint8_t *)(uintptr_t)0x1000, size);
	assert_int_equal(m.nregions, 2);
	assert_int_equal(guest_mem_low_end(&m), GUEST_MMIO_HOLE_START);
	assert_int_equal(m.regions[1].gpa, GUEST_MMIO_HOLE_END);
	assert_int_equal(m.regions[1].size, 1ULL << 30);
	assert_null(guest_mem_ptr(&m, GUEST_MMIO_HOLE_START, 1));  /* the hole is not RAM */
	assert_non_null(guest_mem_ptr(&m, GUEST_MMIO_HOLE_END, 1));
	assert_null(guest_mem_ptr(&m, GUEST_MMIO_HOLE_START - 1, 2));
}

/* A child process never has guest RAM (MADV_DONTFORK): whatever a VMM
 * forks cannot read or change the guest (issue 16, point 6). Both kinds:
 * anonymous, and mapped from a saved memory file. */
static void child_lacks(uint8_t *p)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(msync(p, 4096, MS_ASYNC) < 0 ? 0 : 1); /* ENOMEM: not mapped */
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_guest_mem_not_in_children(void **state)
{
	(void)state;
	struct guest_mem m;
	struct nv_err err = { 0 };
	assert_int_equal(guest_mem_alloc(&m, 16ULL << 20, &err), 0);
	uint8_t *p = guest_mem_ptr(&m, 0, 1);
	*p = 1;
	child_lacks(p);
	guest_mem_free(&m);
	FILE *f = tmpfile();
	assert_non_null(f);
	assert_int_equal(ftruncate(fileno(f), 16 << 20), 0);
	assert_int_equal(guest_mem_map_file(&m, fileno(f), 0, 16ULL << 20, &err), 0);
	child_lacks(guest_mem_ptr(&m, 0, 1));
	guest_mem_free(&m);
	fclose(f);
}

static void test_guest_mem_alloc_is_huge_page_aligned(void **state)
{
	(void)state;
	struct guest_mem m;
	struct nv_err err = { 0 };
	assert_int_equal(guest_mem_alloc(&m, 64ULL << 20, &err), 0);
	assert_int_equal((uintptr_t)m.mapping % GUEST_MEM_ALIGN, 0);
	assert_int_equal(m.ram_size, 64ULL << 20);
	/* all of it is usable RAM, first and last byte included */
	uint8_t *first = guest_mem_ptr(&m, 0, 1), *last = guest_mem_ptr(&m, (64ULL << 20) - 1, 1);
	assert_non_null(first);
	assert_non_null(last);
	*first = 1;
	*last = 2;
	assert_int_equal(*last, 2);
	guest_mem_free(&m);
}

struct rec {
	uint64_t off;
	uint32_t len;
	bool write;
	int calls;
};

static void rec_fn(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct rec *r = opaque;
	r->off = offset;
	r->len = len;
	r->write = is_write;
	r->calls++;
	if (!is_write)
		memset(data, 0x5a, len);
}

static void test_bus_dispatch(void **state)
{
	(void)state;
	struct bus b;
	struct rec a = { 0 }, c = { 0 };
	bus_init(&b);
	assert_int_equal(bus_register(&b, 0x3f8, 8, rec_fn, &a), 0);
	assert_int_equal(bus_register(&b, 0x3fc, 8, rec_fn, &c), -1);   /* overlap */
	assert_int_equal(bus_register(&b, 0x400, 0, rec_fn, &c), -1);   /* empty */
	assert_int_equal(bus_register(&b, UINT64_MAX - 2, 8, rec_fn, &c), -1); /* wraps */
	assert_int_equal(bus_register(&b, 0x60, 5, rec_fn, &c), 0);
	uint8_t d[4] = { 0 };
	assert_true(bus_dispatch(&b, 0x3fd, d, 1, false));
	assert_int_equal(a.off, 5);
	assert_int_equal(d[0], 0x5a);
	assert_true(bus_dispatch(&b, 0x64, d, 1, true));
	assert_int_equal(c.off, 4);
	assert_true(c.write);
	/* unclaimed reads float high, a straddling access is refused */
	assert_false(bus_dispatch(&b, 0x80, d, 2, false));
	assert_int_equal(d[0], 0xff);
	assert_int_equal(d[1], 0xff);
	assert_false(bus_dispatch(&b, 0x3fe, d, 4, false));
	assert_int_equal(a.calls, 1);
}

static void test_exit_decode_io(void **state)
{
	(void)state;
	size_t size = 4096;
	struct kvm_run *run = calloc(1, size);
	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = KVM_EXIT_IO_OUT;
	run->io.size = 1;
	run->io.port = 0x3f8;
	run->io.count = 3;
	run->io.data_offset = 1024;
	struct vcpu_exit e;
	vcpu_exit_decode(run, size, &e);
	assert_int_equal(e.kind, VCPU_EXIT_IO);
	assert_int_equal(e.addr, 0x3f8);
	assert_int_equal(e.count, 3);
	assert_true(e.is_write);
	assert_ptr_equal(e.data, (uint8_t *)run + 1024);
	/* a data area outside the mapping is refused, not followed */
	run->io.data_offset = 4095;
	vcpu_exit_decode(run, size, &e);
	assert_int_equal(e.kind, VCPU_EXIT_FAILED);
	run->io.data_offset = 0;
	run->io.size = 0;
	vcpu_exit_decode(run, size, &e);
	assert_int_equal(e.kind, VCPU_EXIT_FAILED);
	free(run);
}

static void test_exit_decode_others(void **state)
{
	(void)state;
	struct kvm_run *run = calloc(1, 4096);
	struct vcpu_exit e;
	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = 0xd0000050;
	run->mmio.len = 4;
	run->mmio.is_write = 1;
	vcpu_exit_decode(run, 4096, &e);
	assert_int_equal(e.kind, VCPU_EXIT_MMIO);
	assert_int_equal(e.addr, 0xd0000050);
	assert_int_equal(e.size, 4);
	run->mmio.len = 9;
	vcpu_exit_decode(run, 4096, &e);
	assert_int_equal(e.kind, VCPU_EXIT_FAILED);

	static const struct { uint32_t reason, type; enum vcpu_exit_kind kind; } table[] = {
		{ KVM_EXIT_SHUTDOWN, 0, VCPU_EXIT_TRIPLE_FAULT },
		{ KVM_EXIT_HLT, 0, VCPU_EXIT_HLT },
		{ KVM_EXIT_INTR, 0, VCPU_EXIT_INTERRUPTED },
		{ KVM_EXIT_FAIL_ENTRY, 0, VCPU_EXIT_FAILED },
		{ KVM_EXIT_INTERNAL_ERROR, 0, VCPU_EXIT_FAILED },
		{ KVM_EXIT_UNKNOWN, 0, VCPU_EXIT_FAILED },
		{ KVM_EXIT_SYSTEM_EVENT, KVM_SYSTEM_EVENT_SHUTDOWN, VCPU_EXIT_GUEST_POWEROFF },
		{ KVM_EXIT_SYSTEM_EVENT, KVM_SYSTEM_EVENT_RESET, VCPU_EXIT_GUEST_RESET },
		{ KVM_EXIT_SYSTEM_EVENT, KVM_SYSTEM_EVENT_CRASH, VCPU_EXIT_GUEST_CRASH },
		{ 9999, 0, VCPU_EXIT_FAILED },
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		memset(run, 0, 4096);
		run->exit_reason = table[i].reason;
		run->system_event.type = table[i].type;
		vcpu_exit_decode(run, 4096, &e);
		assert_int_equal(e.kind, table[i].kind);
		assert_int_equal(e.reason, table[i].reason);
	}
	free(run);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest_mem_bounds),
		cmocka_unit_test(test_guest_mem_split_above_hole),
		cmocka_unit_test(test_guest_mem_alloc_is_huge_page_aligned),
		cmocka_unit_test(test_guest_mem_not_in_children),
		cmocka_unit_test(test_bus_dispatch),
		cmocka_unit_test(test_exit_decode_io),
		cmocka_unit_test(test_exit_decode_others),
	};
	return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
