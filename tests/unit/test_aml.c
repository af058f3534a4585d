/* AML encoder: every encoding compared byte for byte with what the ACPI spec
 * (chapter 20) defines and iasl emits for the same ASL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arch/x86/aml.h"

static uint8_t mem[8192];
static struct aml_buf b;

static int setup(void **state)
{
	memset(mem, 0xee, sizeof(mem));
	aml_init(&b, mem, sizeof(mem));
	return 0;
}

#define EXPECT_BYTES(...)                                                  \
	do {                                                               \
		const uint8_t want_[] = { __VA_ARGS__ };                   \
		assert_true(aml_ok(&b));                                   \
		assert_int_equal(b.len, sizeof(want_));                    \
		assert_memory_equal(b.data, want_, sizeof(want_));         \
	} while (0)

static void test_integer_widths(void **state)
{
	aml_integer(&b, 0);
	EXPECT_BYTES(0x00);
	b.len = 0;
	aml_integer(&b, 1);
	EXPECT_BYTES(0x01);
	b.len = 0;
	aml_integer(&b, 2);
	EXPECT_BYTES(0x0a, 0x02);
	b.len = 0;
	aml_integer(&b, 0xff);
	EXPECT_BYTES(0x0a, 0xff);
	b.len = 0;
	aml_integer(&b, 0x100);
	EXPECT_BYTES(0x0b, 0x00, 0x01);
	b.len = 0;
	aml_integer(&b, 0xffff);
	EXPECT_BYTES(0x0b, 0xff, 0xff);
	b.len = 0;
	aml_integer(&b, 0x10000);
	EXPECT_BYTES(0x0c, 0x00, 0x00, 0x01, 0x00);
	b.len = 0;
	aml_integer(&b, 0xfec00000);
	EXPECT_BYTES(0x0c, 0x00, 0x00, 0xc0, 0xfe);
	b.len = 0;
	aml_integer(&b, 0x100000000ull);
	EXPECT_BYTES(0x0e, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00);
	b.len = 0;
	aml_integer(&b, 0x0123456789abcdefull);
	EXPECT_BYTES(0x0e, 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01);
}

static void check_pkglen(uint32_t total, int n, const uint8_t *want)
{
	uint8_t out[4] = { 0 };
	assert_int_equal(aml_pkglen_encode(out, total), n);
	assert_memory_equal(out, want, (size_t)n);
}

static void test_pkglen_encode_boundaries(void **state)
{
	check_pkglen(0, 1, (const uint8_t[]){ 0x00 });
	check_pkglen(63, 1, (const uint8_t[]){ 0x3f });
	check_pkglen(64, 2, (const uint8_t[]){ 0x40, 0x04 });
	check_pkglen(0x123, 2, (const uint8_t[]){ 0x43, 0x12 });
	check_pkglen(4095, 2, (const uint8_t[]){ 0x4f, 0xff });
	check_pkglen(4096, 3, (const uint8_t[]){ 0x80, 0x00, 0x01 });
	check_pkglen(0xfffff, 3, (const uint8_t[]){ 0x8f, 0xff, 0xff });
	check_pkglen(0x100000, 4, (const uint8_t[]){ 0xc0, 0x00, 0x00, 0x01 });
	check_pkglen(0x0fffffff, 4, (const uint8_t[]){ 0xcf, 0xff, 0xff, 0xff });
	uint8_t out[4];
	assert_int_equal(aml_pkglen_encode(out, 0x10000000), -1);
}

/* Wrap body bytes in a PkgLength and check the header that was inserted. */
static void check_pkg_body(size_t body, const uint8_t *hdr, size_t hdr_len)
{
	setup(NULL);
	size_t mark = aml_pkg_begin(&b);
	for (size_t i = 0; i < body; i++)
		aml_byte(&b, (uint8_t)(i * 7));
	aml_pkg_end(&b, mark);
	assert_true(aml_ok(&b));
	assert_int_equal(b.len, hdr_len + body);
	assert_memory_equal(b.data, hdr, hdr_len);
	/* The body moved intact behind the length. */
	for (size_t i = 0; i < body; i++)
		assert_int_equal(b.data[hdr_len + i], (uint8_t)(i * 7));
}

static void test_pkg_end_picks_smallest_form(void **state)
{
	/* The length counts its own bytes: 62 + 1 = 63 still fits one byte,
	 * 63 + 1 = 64 does not, so it becomes 63 + 2 = 65. */
	check_pkg_body(62, (const uint8_t[]){ 0x3f }, 1);
	check_pkg_body(63, (const uint8_t[]){ 0x41, 0x04 }, 2);
	check_pkg_body(4093, (const uint8_t[]){ 0x4f, 0xff }, 2);
	check_pkg_body(4094, (const uint8_t[]){ 0x81, 0x00, 0x01 }, 3);
}

static void test_name_strings(void **state)
{
	aml_name_string(&b, "_HID");
	EXPECT_BYTES('_', 'H', 'I', 'D');
	b.len = 0;
	aml_name_string(&b, "\\_SB_");
	EXPECT_BYTES(0x5c, '_', 'S', 'B', '_');
	b.len = 0;
	aml_name_string(&b, "\\_SB");
	EXPECT_BYTES(0x5c, '_', 'S', 'B', '_');
	b.len = 0;
	aml_name_string(&b, "\\_SB.PCI0");
	EXPECT_BYTES(0x5c, 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0');
	b.len = 0;
	aml_name_string(&b, "\\_SB.PCI0.LPC");
	EXPECT_BYTES(0x5c, 0x2f, 0x03, '_', 'S', 'B', '_', 'P', 'C', 'I', '0',
		     'L', 'P', 'C', '_');
	b.len = 0;
	aml_name_string(&b, "^^ABC");
	EXPECT_BYTES(0x5e, 0x5e, 'A', 'B', 'C', '_');
	b.len = 0;
	aml_name_string(&b, "\\");
	EXPECT_BYTES(0x5c, 0x00);
}

static void test_bad_names_mark_buffer_bad(void **state)
{
	const char *bad[] = { "hid", "TOOLONG", "A..B", "1ABC", "ABC.", "A-B", "\\^A" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setup(NULL);
		aml_name_string(&b, bad[i]);
		assert_false(aml_ok(&b));
	}
}

static void test_string_and_eisaid(void **state)
{
	aml_string(&b, "LNRO0005");
	EXPECT_BYTES(0x0d, 'L', 'N', 'R', 'O', '0', '0', '0', '5', 0x00);
	b.len = 0;
	aml_eisaid(&b, "PNP0501");
	EXPECT_BYTES(0x0c, 0x41, 0xd0, 0x05, 0x01);
	b.len = 0;
	aml_eisaid(&b, "PNP0A03");
	EXPECT_BYTES(0x0c, 0x41, 0xd0, 0x0a, 0x03);

	const char *bad[] = { "pnp0501", "PNP050", "PNP05011", "PNP05G1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setup(NULL);
		aml_eisaid(&b, bad[i]);
		assert_false(aml_ok(&b));
	}
}

static void test_device_with_hid(void **state)
{
	/* Device(COM1) { Name(_HID, EisaId("PNP0501")) } as iasl emits it. */
	size_t dev = aml_device_begin(&b, "COM1");
	aml_name(&b, "_HID");
	aml_eisaid(&b, "PNP0501");
	aml_device_end(&b, dev);
	EXPECT_BYTES(0x5b, 0x82, 0x0f, 'C', 'O', 'M', '1', 0x08, '_', 'H', 'I', 'D',
		     0x0c, 0x41, 0xd0, 0x05, 0x01);
}

static void test_package_and_method(void **state)
{
	/* Name(_S5_, Package(){5, 0}) */
	aml_name(&b, "_S5_");
	size_t pkg = aml_package_begin(&b, 2);
	aml_integer(&b, 5);
	aml_integer(&b, 0);
	aml_package_end(&b, pkg);
	EXPECT_BYTES(0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0a, 0x05, 0x00);

	/* Method(_STA, 0, NotSerialized) { Return(0x0F) } */
	b.len = 0;
	size_t m = aml_method_begin(&b, "_STA", 0, false);
	aml_return(&b);
	aml_integer(&b, 0x0f);
	aml_method_end(&b, m);
	EXPECT_BYTES(0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f);

	b.len = 0;
	m = aml_method_begin(&b, "_DSM", 4, true);
	aml_method_end(&b, m);
	EXPECT_BYTES(0x14, 0x06, '_', 'D', 'S', 'M', 0x0c);

	setup(NULL);
	aml_method_begin(&b, "FOO_", 8, false);
	assert_false(aml_ok(&b));
}

static void test_if_lequal_notify(void **state)
{
	/* Method(_EVT, 7, Serialized) {
	 *     If (LEqual(Arg6, 0x1234)) { Notify(PWRB, One) }
	 *     Notify(\_SB.PCI0.PWRB, 0x80)
	 * } as `iasl -oa` emits it. */
	size_t m = aml_method_begin(&b, "_EVT", 7, true);
	size_t cond = aml_if_begin(&b);
	aml_lequal(&b);
	aml_arg(&b, 6);
	aml_integer(&b, 0x1234);
	aml_notify(&b, "PWRB", 1);
	aml_if_end(&b, cond);
	aml_notify(&b, "\\_SB.PCI0.PWRB", 0x80);
	aml_method_end(&b, m);
	EXPECT_BYTES(0x14, 0x25, '_', 'E', 'V', 'T', 0x0f,
		     0xa0, 0x0c, 0x93, 0x6e, 0x0b, 0x34, 0x12,
		     0x86, 'P', 'W', 'R', 'B', 0x01,
		     0x86, 0x5c, 0x2f, 0x03, '_', 'S', 'B', '_', 'P', 'C', 'I', '0',
		     'P', 'W', 'R', 'B', 0x0a, 0x80);

	b.len = 0;
	aml_arg(&b, 0);
	EXPECT_BYTES(0x68);
	aml_arg(&b, 7); /* Arg0-Arg6 only: 0x6f is no opcode */
	assert_false(aml_ok(&b));
}

/* Scope(\_SB) {
 *     Device(GED) {
 *         Name(_HID, "ACPI0013")
 *         Name(_UID, Zero)
 *         Name(_CRS, ResourceTemplate() {
 *             Interrupt(ResourceConsumer, Edge, ActiveHigh, Exclusive) {21}
 *         })
 *         Method(_EVT, 1, Serialized) {
 *             If (LEqual(Arg0, 21)) { Notify(\_SB.PWRB, 0x80) }
 *         }
 *     }
 *     Device(PWRB) { Name(_HID, EisaId("PNP0C0C")) Name(_UID, Zero) }
 * }
 * compiled with `iasl -oa` (no name-path shortening), except the End Tag's
 * checksum: iasl writes 0 ("not checked"), the encoder the real sum (0xdf). */
static const uint8_t ged_pwrb_aml[] = {
	0x10, 0x49, 0x06, 0x5c, 0x5f, 0x53, 0x42, 0x5f, 0x5b, 0x82, 0x49, 0x04,
	0x47, 0x45, 0x44, 0x5f, 0x08, 0x5f, 0x48, 0x49, 0x44, 0x0d, 0x41, 0x43,
	0x50, 0x49, 0x30, 0x30, 0x31, 0x33, 0x00, 0x08, 0x5f, 0x55, 0x49, 0x44,
	0x00, 0x08, 0x5f, 0x43, 0x52, 0x53, 0x11, 0x0e, 0x0a, 0x0b, 0x89, 0x06,
	0x00, 0x03, 0x01, 0x15, 0x00, 0x00, 0x00, 0x79, 0xdf, 0x14, 0x19, 0x5f,
	0x45, 0x56, 0x54, 0x09, 0xa0, 0x12, 0x93, 0x68, 0x0a, 0x15, 0x86, 0x5c,
	0x2e, 0x5f, 0x53, 0x42, 0x5f, 0x50, 0x57, 0x52, 0x42, 0x0a, 0x80, 0x5b,
	0x82, 0x15, 0x50, 0x57, 0x52, 0x42, 0x08, 0x5f, 0x48, 0x49, 0x44, 0x0c,
	0x41, 0xd0, 0x0c, 0x0c, 0x08, 0x5f, 0x55, 0x49, 0x44, 0x00,
};

static void test_generic_event_device(void **state)
{
	size_t sb = aml_scope_begin(&b, "\\_SB");
	size_t dev = aml_device_begin(&b, "GED");
	aml_name(&b, "_HID");
	aml_string(&b, "ACPI0013");
	aml_name(&b, "_UID");
	aml_integer(&b, 0);
	aml_name(&b, "_CRS");
	size_t res = aml_restemplate_begin(&b);
	aml_res_interrupt(&b, AML_IRQ_EDGE, 21);
	aml_restemplate_end(&b, res);
	size_t m = aml_method_begin(&b, "_EVT", 1, true);
	size_t cond = aml_if_begin(&b);
	aml_lequal(&b);
	aml_arg(&b, 0);
	aml_integer(&b, 21);
	aml_notify(&b, "\\_SB.PWRB", 0x80);
	aml_if_end(&b, cond);
	aml_method_end(&b, m);
	aml_device_end(&b, dev);
	dev = aml_device_begin(&b, "PWRB");
	aml_name(&b, "_HID");
	aml_eisaid(&b, "PNP0C0C");
	aml_name(&b, "_UID");
	aml_integer(&b, 0);
	aml_device_end(&b, dev);
	aml_scope_end(&b, sb);

	assert_true(aml_ok(&b));
	assert_int_equal(b.len, sizeof(ged_pwrb_aml));
	assert_memory_equal(b.data, ged_pwrb_aml, sizeof(ged_pwrb_aml));
}

static void test_resource_descriptors(void **state)
{
	aml_res_memory32_fixed(&b, true, 0xd0000000, 0x1000);
	EXPECT_BYTES(0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xd0, 0x00, 0x10, 0x00, 0x00);
	b.len = 0;
	aml_res_memory32_fixed(&b, false, 0x12345678, 0x9abcdef0);
	EXPECT_BYTES(0x86, 0x09, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12, 0xf0, 0xde, 0xbc, 0x9a);
	b.len = 0;
	aml_res_io(&b, 0x3f8, 0x3f8, 1, 8);
	EXPECT_BYTES(0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08);
	b.len = 0;
	aml_res_interrupt(&b, AML_IRQ_EDGE, 5);
	EXPECT_BYTES(0x89, 0x06, 0x00, 0x03, 0x01, 0x05, 0x00, 0x00, 0x00);
	b.len = 0;
	aml_res_interrupt(&b, AML_IRQ_ACTIVE_LOW | AML_IRQ_SHARED, 0x123);
	EXPECT_BYTES(0x89, 0x06, 0x00, 0x0d, 0x01, 0x23, 0x01, 0x00, 0x00);
}

static void test_resource_template(void **state)
{
	/* Empty template: Buffer(2){0x79, cs} with cs making the sum zero. */
	size_t r = aml_restemplate_begin(&b);
	aml_restemplate_end(&b, r);
	EXPECT_BYTES(0x11, 0x05, 0x0a, 0x02, 0x79, 0x87);

	/* IO + Interrupt, as the DSDT's COM1 uses. */
	b.len = 0;
	r = aml_restemplate_begin(&b);
	aml_res_io(&b, 0x3f8, 0x3f8, 1, 8);
	aml_res_interrupt(&b, AML_IRQ_EDGE, 4);
	aml_restemplate_end(&b, r);
	const uint8_t want[] = { 0x11, 0x16, 0x0a, 0x13, 0x47, 0x01, 0xf8, 0x03,
				 0xf8, 0x03, 0x01, 0x08, 0x89, 0x06, 0x00, 0x03,
				 0x01, 0x04, 0x00, 0x00, 0x00, 0x79, 0xa9 };
	assert_true(aml_ok(&b));
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));
	uint8_t sum = 0;
	for (size_t i = 4; i < b.len; i++)
		sum = (uint8_t)(sum + b.data[i]);
	assert_int_equal(sum, 0);
}

static void test_buffer_size_prefix_grows(void **state)
{
	size_t m = aml_buffer_begin(&b);
	for (int i = 0; i < 300; i++)
		aml_byte(&b, 0x5a);
	aml_buffer_end(&b, m);
	/* body = 0b 2c 01 + 300 bytes = 303, total 305 = 0x131 */
	assert_true(aml_ok(&b));
	assert_int_equal(b.len, 1 + 2 + 3 + 300);
	const uint8_t hdr[] = { 0x11, 0x41, 0x13, 0x0b, 0x2c, 0x01 };
	assert_memory_equal(b.data, hdr, sizeof(hdr));
	assert_int_equal(b.data[b.len - 1], 0x5a);
}

static void test_nesting_fixes_outer_length(void **state)
{
	/* Scope(\_SB) { Device(DEV0) { 70 raw bytes } }: the inner length
	 * needs two bytes, and the outer one must count them. */
	size_t s = aml_scope_begin(&b, "\\_SB_");
	size_t d = aml_device_begin(&b, "DEV0");
	for (int i = 0; i < 70; i++)
		aml_byte(&b, 0xa3); /* NoopOp */
	aml_device_end(&b, d);
	aml_scope_end(&b, s);
	assert_true(aml_ok(&b));
	const uint8_t hdr[] = { 0x10, 0x45, 0x05, 0x5c, '_', 'S', 'B', '_', 0x5b, 0x82,
				0x4c, 0x04, 'D', 'E', 'V', '0' };
	assert_int_equal(b.len, sizeof(hdr) + 70);
	assert_memory_equal(b.data, hdr, sizeof(hdr));
	/* Outer PkgLength 0x55 = 85 bytes from the length byte to the end. */
	assert_int_equal(b.len - 1, 85);
}

static void test_overflow_sticks(void **state)
{
	aml_init(&b, mem, 4);
	aml_integer(&b, 0xffff);
	assert_true(aml_ok(&b));
	aml_integer(&b, 0xffff); /* needs 3, 1 left */
	assert_false(aml_ok(&b));
	size_t len = b.len; /* what was written is garbage, but bounded */
	assert_true(len <= 4);
	aml_byte(&b, 0);
	aml_integer(&b, 1);
	assert_int_equal(b.len, len);
	assert_int_equal(mem[4], 0xee);

	/* A PkgLength that no longer fits once inserted. */
	aml_init(&b, mem, 63);
	size_t m = aml_pkg_begin(&b);
	for (int i = 0; i < 63; i++)
		aml_byte(&b, 1);
	assert_true(aml_ok(&b));
	aml_pkg_end(&b, m);
	assert_false(aml_ok(&b));
	assert_int_equal(mem[63], 0xee);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_integer_widths, setup),
		cmocka_unit_test_setup(test_pkglen_encode_boundaries, setup),
		cmocka_unit_test_setup(test_pkg_end_picks_smallest_form, setup),
		cmocka_unit_test_setup(test_name_strings, setup),
		cmocka_unit_test_setup(test_bad_names_mark_buffer_bad, setup),
		cmocka_unit_test_setup(test_string_and_eisaid, setup),
		cmocka_unit_test_setup(test_device_with_hid, setup),
		cmocka_unit_test_setup(test_package_and_method, setup),
		cmocka_unit_test_setup(test_if_lequal_notify, setup),
		cmocka_unit_test_setup(test_generic_event_device, setup),
		cmocka_unit_test_setup(test_resource_descriptors, setup),
		cmocka_unit_test_setup(test_resource_template, setup),
		cmocka_unit_test_setup(test_buffer_size_prefix_grows, setup),
		cmocka_unit_test_setup(test_nesting_fixes_outer_length, setup),
		cmocka_unit_test_setup(test_overflow_sticks, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
