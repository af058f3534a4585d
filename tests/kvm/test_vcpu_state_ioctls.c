/* The state ioctls that save/restore will use (kvm/kvm.c), on a vCPU that
 * ran guest/pause_loop and was paused: each state read on the vCPU's own
 * thread (vcpu_run_on), written back and read again, in the spirit of the
 * kernel's state_test; then the VM-wide clock, irqchips and PIT. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "kvm/harness.h"
#include "kvm/kvm.h"
#include "kvm/pause_fixture.h"

#define NEED_KVM(h) do { if (!(h)) { print_message("no usable /dev/kvm\n"); skip(); } } while (0)

#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_LSTAR 0xc0000082
#define MSR_KERNEL_GS_BASE 0xc0000102
#define LAPIC_TIMER_CCR 0x390 /* current count: computed at each read */

/* Every check runs on the vCPU thread and reports the first failure as the
 * line of its step, for the test thread to assert on. */
struct round_trip {
	int vm_fd;
	int failed_line;
	int err;
	int nmsrs_listed;
	int nested_size;
	uint32_t nested_flags;
	bool no_xsave;
};

#define STEP(rt, expr) do { int r_ = (expr); if (r_ < 0) { (rt)->failed_line = __LINE__; (rt)->err = r_; return -1; } } while (0)
#define CHECK(rt, cond) do { if (!(cond)) { (rt)->failed_line = __LINE__; return -1; } } while (0)

static int round_trip_regs(struct vcpu *v, struct round_trip *rt)
{
	struct kvm_regs r1, r2;
	struct kvm_sregs s1, s2;
	STEP(rt, kvm_get_regs(v->fd, &r1));
	STEP(rt, kvm_get_sregs(v->fd, &s1));
	STEP(rt, kvm_set_sregs(v->fd, &s1));
	STEP(rt, kvm_set_regs(v->fd, &r1));
	STEP(rt, kvm_get_regs(v->fd, &r2));
	STEP(rt, kvm_get_sregs(v->fd, &s2));
	CHECK(rt, memcmp(&r1, &r2, sizeof(r1)) == 0);
	CHECK(rt, s1.cr0 == s2.cr0 && s1.cr3 == s2.cr3 && s1.cr4 == s2.cr4 && s1.efer == s2.efer);
	CHECK(rt, memcmp(&s1.cs, &s2.cs, sizeof(s1.cs)) == 0);

	struct kvm_mp_state mp1, mp2;
	STEP(rt, kvm_get_mp_state(v->fd, &mp1));
	STEP(rt, kvm_set_mp_state(v->fd, &mp1));
	STEP(rt, kvm_get_mp_state(v->fd, &mp2));
	CHECK(rt, mp1.mp_state == mp2.mp_state);

	struct kvm_debugregs d1, d2;
	STEP(rt, kvm_get_debugregs(v->fd, &d1));
	d1.db[0] = 0x123000;
	STEP(rt, kvm_set_debugregs(v->fd, &d1));
	STEP(rt, kvm_get_debugregs(v->fd, &d2));
	CHECK(rt, d2.db[0] == 0x123000 && d1.dr7 == d2.dr7 && d1.dr6 == d2.dr6);

	struct kvm_vcpu_events e1, e2;
	STEP(rt, kvm_get_vcpu_events(v->fd, &e1));
	STEP(rt, kvm_set_vcpu_events(v->fd, &e1));
	STEP(rt, kvm_get_vcpu_events(v->fd, &e2));
	CHECK(rt, memcmp(&e1.exception, &e2.exception, sizeof(e1.exception)) == 0);
	CHECK(rt, memcmp(&e1.interrupt, &e2.interrupt, sizeof(e1.interrupt)) == 0);
	CHECK(rt, memcmp(&e1.nmi, &e2.nmi, sizeof(e1.nmi)) == 0);
	return 0;
}

#define XSAVE_LEGACY_BYTES 512 /* the FXSAVE layout at the start */

static int xsave_get(struct vcpu *v, bool v2, struct kvm_xsave *x)
{
	return v2 ? kvm_get_xsave2(v->fd, x) : kvm_get_xsave(v->fd, x);
}

/* The XSAVE area KVM gives back is the one it takes: set what was read,
 * read again, and the legacy region (x87, SSE, MXCSR: what every x86-64
 * guest has) is the same. Which extended components are live depends on
 * the CPU and its emulation, so they are not compared. */
static int round_trip_xsave(struct vcpu *v, struct round_trip *rt)
{
	int size = kvm_xsave_size(rt->vm_fd);
	STEP(rt, size);
	CHECK(rt, size >= (int)sizeof(struct kvm_xsave));
	bool v2 = kvm_check_extension(rt->vm_fd, KVM_CAP_XSAVE2) > 0;
	uint8_t *orig = calloc(2, (size_t)size), *again = orig ? orig + size : NULL;
	CHECK(rt, orig != NULL);
	int r = xsave_get(v, v2, (struct kvm_xsave *)orig);
	if (r >= 0)
		r = kvm_set_xsave(v->fd, (struct kvm_xsave *)orig);
	if (r >= 0)
		r = xsave_get(v, v2, (struct kvm_xsave *)again);
	bool same = r >= 0 && memcmp(orig, again, XSAVE_LEGACY_BYTES) == 0;
	free(orig);
	STEP(rt, r);
	CHECK(rt, same);
	return 0;
}

static int round_trip_fpu(struct vcpu *v, struct round_trip *rt)
{
	struct kvm_fpu f1, f2;
	STEP(rt, kvm_get_fpu(v->fd, &f1));
	STEP(rt, kvm_set_fpu(v->fd, &f1));
	STEP(rt, kvm_get_fpu(v->fd, &f2));
	CHECK(rt, f1.fcw == f2.fcw && f1.mxcsr == f2.mxcsr);
	/* Without XSAVE on the host KVM refuses KVM_SET_XCRS. */
	if (kvm_check_extension(rt->vm_fd, KVM_CAP_XSAVE) <= 0 || kvm_check_extension(rt->vm_fd, KVM_CAP_XCRS) <= 0) {
		rt->no_xsave = true;
		return 0;
	}
	if (round_trip_xsave(v, rt) < 0)
		return -1;
	struct kvm_xcrs c1, c2;
	STEP(rt, kvm_get_xcrs(v->fd, &c1));
	STEP(rt, kvm_set_xcrs(v->fd, &c1));
	STEP(rt, kvm_get_xcrs(v->fd, &c2));
	CHECK(rt, c1.nr_xcrs >= 1 && c1.nr_xcrs == c2.nr_xcrs);
	CHECK(rt, c1.xcrs[0].value == c2.xcrs[0].value);
	return 0;
}

static int round_trip_lapic_msrs(struct vcpu *v, struct round_trip *rt)
{
	struct kvm_lapic_state *l1 = calloc(2, sizeof(*l1)), *l2 = l1 + 1;
	CHECK(rt, l1 != NULL);
	int r = kvm_get_lapic(v->fd, l1);
	if (r >= 0)
		r = kvm_set_lapic(v->fd, l1);
	if (r >= 0)
		r = kvm_get_lapic(v->fd, l2);
	bool same = memcmp(l1->regs, l2->regs, LAPIC_TIMER_CCR) == 0 &&
		    memcmp(l1->regs + LAPIC_TIMER_CCR + 4, l2->regs + LAPIC_TIMER_CCR + 4,
			   sizeof(l1->regs) - LAPIC_TIMER_CCR - 4) == 0;
	free(l1);
	STEP(rt, r);
	CHECK(rt, same);

	static const uint32_t index[] = { MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_LSTAR,
					  MSR_KERNEL_GS_BASE };
	enum { N = sizeof(index) / sizeof(index[0]) };
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[N];
	} m, saved;
	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = N;
	for (unsigned i = 0; i < N; i++)
		m.e[i].index = index[i];
	r = kvm_get_msrs(v->fd, &m.hdr);
	STEP(rt, r);
	CHECK(rt, r == N);
	saved = m;
	/* SYSENTER_ESP in 32 bits: AMD keeps only those for an AMD guest. */
	static const uint64_t value[N] = { 0x10, 0x7000, 0xffffffff81000020ULL, 0xffff888000001000ULL };
	for (unsigned i = 0; i < N; i++)
		m.e[i].data = value[i];
	CHECK(rt, kvm_set_msrs(v->fd, &m.hdr) == N);
	struct kvm_msr_entry set[N];
	memcpy(set, m.e, sizeof(set));
	CHECK(rt, kvm_get_msrs(v->fd, &m.hdr) == N);
	CHECK(rt, memcmp(set, m.e, sizeof(set)) == 0);
	CHECK(rt, kvm_set_msrs(v->fd, &saved.hdr) == N);
	return 0;
}

/* The state of a nested hypervisor (none runs here: a header, VMXON off or
 * GIF set), with the size protocol: too small says E2BIG and the size. */
static int round_trip_nested(struct vcpu *v, struct round_trip *rt)
{
	int max = rt->nested_size;
	struct kvm_nested_state *s = calloc(1, (size_t)max);
	CHECK(rt, s != NULL);
	s->size = 0;
	int r = kvm_get_nested_state(v->fd, s);
	uint32_t needed = s->size;
	if (r == -E2BIG) {
		memset(s, 0, (size_t)max);
		s->size = (uint32_t)max;
		r = kvm_get_nested_state(v->fd, s);
	} else {
		r = -1000; /* a zero-size buffer must be refused */
	}
	if (r >= 0)
		r = kvm_set_nested_state(v->fd, s);
	rt->nested_flags = s->flags;
	free(s);
	STEP(rt, r);
	CHECK(rt, needed >= sizeof(struct kvm_nested_state) && needed <= (uint32_t)max);
	return 0;
}

static int round_trip_vcpu(struct vcpu *v, void *arg)
{
	struct round_trip *rt = arg;
	if (round_trip_regs(v, rt) < 0 || round_trip_fpu(v, rt) < 0 || round_trip_lapic_msrs(v, rt) < 0)
		return -1;
	if (rt->nested_size > 0 && round_trip_nested(v, rt) < 0)
		return -1;
	return 0;
}

static void assert_round_trip(struct vcpu *v, struct round_trip *rt)
{
	if (vcpu_run_on(v, round_trip_vcpu, rt) < 0)
		fail_msg("state round trip failed at line %d: %s", rt->failed_line,
			 rt->err < 0 ? strerror(-rt->err) : "values differ");
}

static void vm_round_trip(struct harness *h)
{
	struct kvm_clock_data c1, c2;
	memset(&c1, 0, sizeof(c1));
	assert_int_equal(kvm_get_clock(h->vm.fd, &c1), 0);
	struct kvm_clock_data set = { .clock = c1.clock };
	assert_int_equal(kvm_set_clock(h->vm.fd, &set), 0);
	assert_int_equal(kvm_get_clock(h->vm.fd, &c2), 0);
	assert_true(c2.clock >= c1.clock);

	static const uint32_t chips[] = { KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE, KVM_IRQCHIP_IOAPIC };
	for (unsigned i = 0; i < 3; i++) {
		struct kvm_irqchip a, b;
		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		a.chip_id = b.chip_id = chips[i];
		assert_int_equal(kvm_get_irqchip(h->vm.fd, &a), 0);
		assert_int_equal(kvm_set_irqchip(h->vm.fd, &a), 0);
		assert_int_equal(kvm_get_irqchip(h->vm.fd, &b), 0);
		assert_memory_equal(&a, &b, sizeof(a));
	}

	struct kvm_pit_state2 p1, p2;
	assert_int_equal(kvm_get_pit2(h->vm.fd, &p1), 0);
	assert_int_equal(kvm_set_pit2(h->vm.fd, &p1), 0);
	assert_int_equal(kvm_get_pit2(h->vm.fd, &p2), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(p1.channels[i].mode, p2.channels[i].mode);
}

static void test_msr_index_list(void **state)
{
	struct harness *h = *state;
	NEED_KVM(h);
	struct kvm_msr_list *l = NULL;
	assert_int_equal(kvm_get_msr_index_list(h->vm.kvm_fd, &l), 0);
	assert_true(l->nmsrs > 0);
	bool sysenter = false;
	for (uint32_t i = 0; i < l->nmsrs; i++)
		sysenter |= l->indices[i] == MSR_IA32_SYSENTER_CS;
	print_message("KVM saves %u MSRs\n", l->nmsrs);
	free(l);
	assert_true(sysenter);
}

/* Before the thread exists vcpu_run_on runs on the caller's thread. */
static void test_state_round_trip_before_start(void **state)
{
	struct harness *h = *state;
	NEED_KVM(h);
	harness_load_guest(h, "pause_loop");
	struct round_trip rt = { .vm_fd = h->vm.fd, .nested_size = kvm_nested_state_size(h->vm.fd) };
	assert_round_trip(&h->vcpu, &rt);
}

static void test_state_round_trip_paused(void **state)
{
	struct harness *h = *state;
	NEED_KVM(h);
	struct pause_fixture *f = pause_fixture_start(h);
	pause_fixture_wait_counter(f, 10);
	assert_int_equal(vcpu_pause(&h->vcpu), 0);
	struct round_trip rt = { .vm_fd = h->vm.fd, .nested_size = kvm_nested_state_size(h->vm.fd) };
	if (rt.nested_size <= 0)
		print_message("KVM_CAP_NESTED_STATE: 0, no nested state on this host\n");
	assert_round_trip(&h->vcpu, &rt);
	if (rt.nested_size > 0)
		print_message("nested state: up to %d bytes, flags 0x%x\n", rt.nested_size, rt.nested_flags);
	if (rt.no_xsave)
		print_message("no XSAVE on this host: XSAVE and XCRS not tried\n");
	vm_round_trip(h);
	pause_fixture_assert_settled(f);
	/* The guest goes on from the state written back, none the wiser. */
	uint64_t count = pause_fixture_counter(f);
	assert_int_equal(vcpu_resume(&h->vcpu), 0);
	pause_fixture_wait_counter(f, count + 10);
	assert_int_equal(vcpu_pause(&h->vcpu), 0);
	pause_fixture_check(f);
	vcpu_stop(&h->vcpu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_msr_index_list, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_state_round_trip_before_start, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_state_round_trip_paused, harness_setup, harness_teardown),
	};
	return cmocka_run_group_tests_name("kvm_vcpu_state_ioctls", tests, NULL, NULL);
}
