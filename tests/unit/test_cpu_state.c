/* The vCPU state's section (state/cpu_state.c) and the snapshot cursor under
 * it (core/device_snapshot.c), without KVM: a full round trip gives back
 * every byte, and a hostile section (short, long, oversized parts, nested
 * state whose header disagrees with its length) is refused naming the
 * field. KVM's own get/put order is exercised in the lab (e2e). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/device_snapshot.h"
#include "state/cpu_state.h"

/* A state with every part non-trivial, as KVM would give it. */
static void fill(struct cpu_state *st, bool nested, bool guest_mode)
{
	memset(st, 0, sizeof(*st));
	uint8_t *p = (uint8_t *)&st->regs;
	for (size_t i = 0; i < sizeof(st->regs); i++)
		p[i] = (uint8_t)(i * 7 + 1);
	st->sregs.cr0 = 0x80050033;
	st->sregs.efer = 0x1d01; /* LME LMA NXE SVME */
	st->sregs.tr.type = 11;
	st->xcrs.nr_xcrs = 1;
	st->xcrs.xcrs[0].value = 7;
	st->lapic.regs[0x20] = 0x01;
	st->events.exception.injected = 1;
	st->mp_state.mp_state = KVM_MP_STATE_HALTED;
	st->debugregs.dr7 = 0x400;
	st->tsc_khz = 2999999;
	st->nmsrs = 3;
	st->msrs = calloc(3, sizeof(*st->msrs));
	st->msrs[0] = (struct kvm_msr_entry){ .index = 0x10, .data = 0x123456789abcULL };
	st->msrs[1] = (struct kvm_msr_entry){ .index = 0xc0010117, .data = 0x7f000 };
	st->msrs[2] = (struct kvm_msr_entry){ .index = 0x4b564d01, .data = 0x1001 };
	st->xsave_len = 4096 + 64;
	st->xsave = calloc(1, st->xsave_len);
	for (uint32_t i = 0; i < st->xsave_len; i++)
		st->xsave[i] = (uint8_t)(i ^ 0x5a);
	if (nested) {
		st->nested_len = sizeof(struct kvm_nested_state) + 4096;
		st->nested = calloc(1, st->nested_len);
		struct kvm_nested_state *n = (void *)st->nested;
		n->format = KVM_STATE_NESTED_FORMAT_SVM;
		n->size = st->nested_len;
		n->flags = guest_mode ? KVM_STATE_NESTED_GUEST_MODE | KVM_STATE_NESTED_RUN_PENDING : 0;
		n->hdr.svm.vmcb_pa = 0x1234000;
		st->nested[sizeof(*n) + 10] = 0xab;
	}
}

static void save(struct cpu_state *st, struct device_snapshot *s)
{
	snapshot_init_save(s);
	assert_int_equal(cpu_state_snapshot(st, s), 0);
	assert_false(s->failed);
}

static void assert_same(const struct cpu_state *a, const struct cpu_state *b)
{
	assert_memory_equal(&a->regs, &b->regs, sizeof(a->regs));
	assert_memory_equal(&a->sregs, &b->sregs, sizeof(a->sregs));
	assert_memory_equal(&a->xcrs, &b->xcrs, sizeof(a->xcrs));
	assert_memory_equal(&a->lapic, &b->lapic, sizeof(a->lapic));
	assert_memory_equal(&a->events, &b->events, sizeof(a->events));
	assert_memory_equal(&a->mp_state, &b->mp_state, sizeof(a->mp_state));
	assert_memory_equal(&a->debugregs, &b->debugregs, sizeof(a->debugregs));
	assert_int_equal(a->tsc_khz, b->tsc_khz);
	assert_int_equal(a->nmsrs, b->nmsrs);
	for (uint32_t i = 0; i < a->nmsrs; i++) {
		assert_int_equal(a->msrs[i].index, b->msrs[i].index);
		assert_int_equal(a->msrs[i].data, b->msrs[i].data);
	}
	assert_int_equal(a->xsave_len, b->xsave_len);
	assert_memory_equal(a->xsave, b->xsave, a->xsave_len);
	assert_int_equal(a->nested_len, b->nested_len);
	if (a->nested_len)
		assert_memory_equal(a->nested, b->nested, a->nested_len);
}

static void round_trip(bool nested, bool guest_mode)
{
	struct cpu_state a, b;
	struct device_snapshot s, r;
	fill(&a, nested, guest_mode);
	save(&a, &s);
	memset(&b, 0, sizeof(b));
	snapshot_init_restore(&r, s.buf, s.len);
	assert_int_equal(cpu_state_snapshot(&b, &r), 0);
	assert_same(&a, &b);
	assert_int_equal(cpu_state_in_guest_mode(&b), guest_mode);
	/* Saved again, the bytes are the same: nothing is lost or reordered. */
	struct device_snapshot s2;
	save(&b, &s2);
	assert_int_equal(s2.len, s.len);
	assert_memory_equal(s2.buf, s.buf, s.len);
	snapshot_free(&s2);
	snapshot_free(&s);
	cpu_state_free(&a);
	cpu_state_free(&b);
}

static void test_round_trip_plain(void **state) { (void)state; round_trip(false, false); }
static void test_round_trip_nested(void **state) { (void)state; round_trip(true, false); }
static void test_round_trip_in_l2(void **state) { (void)state; round_trip(true, true); }

/* Restores buf[0..len) into a fresh state; returns the failed field or NULL. */
static const char *restore_fails(const uint8_t *buf, size_t len, char *field, size_t n)
{
	struct cpu_state b;
	memset(&b, 0, sizeof(b));
	struct device_snapshot r;
	snapshot_init_restore(&r, buf, len);
	int rc = cpu_state_snapshot(&b, &r);
	cpu_state_free(&b);
	if (rc == 0)
		return NULL;
	assert_true(r.failed);
	snprintf(field, n, "%s", r.failed_field);
	return field;
}

static void test_every_prefix_refused(void **state)
{
	(void)state;
	struct cpu_state a;
	struct device_snapshot s;
	fill(&a, true, true);
	save(&a, &s);
	char f[64];
	for (size_t len = 0; len < s.len; len++)
		assert_non_null(restore_fails(s.buf, len, f, sizeof(f)));
	/* A byte more is refused too: a layout this build does not know. */
	uint8_t *longer = calloc(1, s.len + 1);
	memcpy(longer, s.buf, s.len);
	assert_string_equal(restore_fails(longer, s.len + 1, f, sizeof(f)), "trailing bytes");
	free(longer);
	snapshot_free(&s);
	cpu_state_free(&a);
}

/* Offsets in the section (version, then the fixed structs). */
static size_t fixed_part(void)
{
	return 4 + sizeof(struct kvm_regs) + sizeof(struct kvm_sregs) + sizeof(struct kvm_xcrs) +
	       sizeof(struct kvm_lapic_state) + sizeof(struct kvm_vcpu_events) +
	       sizeof(struct kvm_mp_state) + sizeof(struct kvm_debugregs) + 4;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void test_hostile_fields_refused(void **state)
{
	(void)state;
	struct cpu_state a;
	struct device_snapshot s;
	fill(&a, true, false);
	save(&a, &s);
	char f[64];
	uint8_t *b = malloc(s.len);

	memcpy(b, s.buf, s.len);
	put32(b, 2); /* a version from the future */
	assert_string_equal(restore_fails(b, s.len, f, sizeof(f)), "version");

	memcpy(b, s.buf, s.len);
	put32(b + fixed_part(), CPU_STATE_MAX_MSRS + 1);
	assert_string_equal(restore_fails(b, s.len, f, sizeof(f)), "nmsrs");

	memcpy(b, s.buf, s.len);
	put32(b + fixed_part(), 0xffffffffu); /* would overflow a size computation */
	assert_string_equal(restore_fails(b, s.len, f, sizeof(f)), "nmsrs");

	size_t xsave_at = fixed_part() + 4 + 3 * 12;
	memcpy(b, s.buf, s.len);
	put32(b + xsave_at, CPU_STATE_MAX_XSAVE + 1);
	assert_string_equal(restore_fails(b, s.len, f, sizeof(f)), "xsave_len");
	memcpy(b, s.buf, s.len);
	put32(b + xsave_at, 100); /* smaller than any XSAVE area */
	assert_string_equal(restore_fails(b, s.len, f, sizeof(f)), "xsave_len");

	size_t nested_at = xsave_at + 4 + a.xsave_len;
	memcpy(b, s.buf, s.len);
	put32(b + nested_at, 16); /* shorter than its own header */
	assert_string_equal(restore_fails(b, s.len, f, sizeof(f)), "nested_len");

	/* The header's size disagrees with the section's length. */
	memcpy(b, s.buf, s.len);
	uint8_t *hdr = b + nested_at + 4; /* unaligned: written bytewise */
	put32(hdr + offsetof(struct kvm_nested_state, size), 64);
	assert_string_equal(restore_fails(b, s.len, f, sizeof(f)), "nested.size");

	memcpy(b, s.buf, s.len);
	hdr[offsetof(struct kvm_nested_state, format)] = 9;
	assert_string_equal(restore_fails(b, s.len, f, sizeof(f)), "nested.format");

	/* xcrs.nr_xcrs indexes a fixed array: capped. */
	memcpy(b, s.buf, s.len);
	size_t xcrs_at = 4 + sizeof(struct kvm_regs) + sizeof(struct kvm_sregs);
	put32(b + xcrs_at, KVM_MAX_XCRS + 1);
	assert_string_equal(restore_fails(b, s.len, f, sizeof(f)), "xcrs.nr_xcrs");
	free(b);
	snapshot_free(&s);
	cpu_state_free(&a);
}

/* The cursor itself: booleans are 0 or 1, and a failure sticks. */
static void test_snapshot_cursor(void **state)
{
	(void)state;
	struct device_snapshot s;
	snapshot_init_save(&s);
	bool t = true;
	uint16_t h = 0xbeef;
	uint64_t q = 0x0102030405060708ULL;
	assert_int_equal(snapshot_version(&s, 3), 3);
	SNAPSHOT_BOOL(&s, t);
	SNAPSHOT_U16(&s, h);
	SNAPSHOT_U64(&s, q);
	assert_int_equal(s.len, 4 + 1 + 2 + 8);
	assert_int_equal(s.buf[5], 0xef); /* little-endian */
	assert_int_equal(s.buf[6], 0xbe);

	struct device_snapshot r;
	snapshot_init_restore(&r, s.buf, s.len);
	bool t2 = false;
	uint16_t h2 = 0;
	uint64_t q2 = 0;
	assert_int_equal(snapshot_version(&r, 3), 3);
	snapshot_bool(&r, &t2, "t");
	snapshot_u16(&r, &h2, "h");
	snapshot_u64(&r, &q2, "q");
	assert_true(snapshot_done(&r));
	assert_true(t2);
	assert_int_equal(h2, 0xbeef);
	assert_int_equal(q2, q);

	/* Older readers refuse newer sections; a bool of 2 is refused. */
	snapshot_init_restore(&r, s.buf, s.len);
	assert_int_equal(snapshot_version(&r, 2), 0);
	assert_string_equal(r.failed_field, "version");
	s.buf[4] = 2;
	snapshot_init_restore(&r, s.buf, s.len);
	snapshot_version(&r, 3);
	snapshot_bool(&r, &t2, "t");
	assert_true(r.failed);
	assert_string_equal(r.failed_field, "t");
	/* Later calls do nothing and keep the first failure. */
	h2 = 7;
	snapshot_u16(&r, &h2, "h");
	assert_int_equal(h2, 7);
	assert_string_equal(r.failed_field, "t");
	assert_false(snapshot_check(&r, true, "x"));
	snapshot_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_plain),
		cmocka_unit_test(test_round_trip_nested),
		cmocka_unit_test(test_round_trip_in_l2),
		cmocka_unit_test(test_every_prefix_refused),
		cmocka_unit_test(test_hostile_fields_refused),
		cmocka_unit_test(test_snapshot_cursor),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
