/* ACPI tables: build into guest RAM, then read them back the way Linux does
 * (scan for the RSDP, follow XSDT -> FADT -> DSDT and the MADT), checking
 * every checksum, length and the fields the guest depends on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arch/x86/acpi.h"
#include "arch/x86/layout.h"

#define RAM_SIZE (2u << 20)

static uint8_t *ram;
static struct guest_mem mem;
static struct acpi_config cfg;
static struct nv_err err;

static int setup(void **state)
{
	ram = calloc(1, RAM_SIZE);
	assert_non_null(ram);
	guest_mem_init_over(&mem, ram, RAM_SIZE);
	memset(&cfg, 0, sizeof(cfg));
	cfg.ncpus = 2;
	cfg.nvirtio = 3;
	for (unsigned i = 0; i < cfg.nvirtio; i++)
		cfg.virtio[i] = (struct acpi_virtio){
			.base = 0xd0000000u + 0x1000u * i, .size = 0x1000, .gsi = 5 + i
		};
	cfg.sleep_port = 0x3c0;
	cfg.reset_port = 0x3c0;
	cfg.pvpanic = true;
	cfg.power_button_gsi = 21;
	memset(&err, 0, sizeof(err));
	return 0;
}

static int teardown(void **state)
{
	free(ram);
	return 0;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint8_t sum8(const uint8_t *p, size_t len)
{
	uint8_t s = 0;
	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

/* Linux's acpi_find_root_pointer(): "RSD PTR " on a 16-byte boundary in
 * 0xe0000-0xfffff with a valid ACPI 1.0 checksum. */
static uint64_t find_rsdp(void)
{
	for (uint64_t a = 0xe0000; a < 0x100000; a += 16) {
		const uint8_t *p = ram + a;
		if (memcmp(p, "RSD PTR ", 8) == 0 && sum8(p, 20) == 0)
			return a;
	}
	return 0;
}

/* A table at gpa inside the window with the given signature, a sane length
 * and a zero byte sum. */
static const uint8_t *table_at(uint64_t gpa, const char *sig)
{
	assert_true(gpa >= ACPI_TABLES_START && gpa + 36 <= ACPI_TABLES_END);
	const uint8_t *t = ram + gpa;
	assert_memory_equal(t, sig, 4);
	uint32_t len = rd32(t + 4);
	assert_true(len >= 36 && gpa + len <= ACPI_TABLES_END);
	assert_int_equal(sum8(t, len), 0);
	assert_memory_equal(t + 10, "NESTVM", 6);
	return t;
}

/* Build with cfg and walk RSDP -> XSDT; returns FADT and MADT. */
static void build_and_walk(const uint8_t **fadt, const uint8_t **madt)
{
	uint64_t rsdp_addr = 0;
	assert_int_equal(acpi_build(&mem, &cfg, &rsdp_addr, &err), 0);
	uint64_t found = find_rsdp();
	assert_int_equal(found, rsdp_addr);

	const uint8_t *r = ram + found;
	assert_int_equal(r[15], 2);
	assert_int_equal(rd32(r + 20), 36);
	assert_int_equal(sum8(r, 36), 0);
	assert_memory_equal(r + 9, "NESTVM", 6);

	const uint8_t *x = table_at(rd64(r + 24), "XSDT");
	uint32_t n = (rd32(x + 4) - 36) / 8;
	assert_int_equal(rd32(x + 4), 36 + 8 * n);
	*fadt = *madt = NULL;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t gpa = rd64(x + 36 + 8 * i);
		if (memcmp(ram + gpa, "FACP", 4) == 0)
			*fadt = table_at(gpa, "FACP");
		else if (memcmp(ram + gpa, "APIC", 4) == 0)
			*madt = table_at(gpa, "APIC");
		else
			fail_msg("unexpected table in the XSDT");
	}
	assert_non_null(*fadt);
	assert_non_null(*madt);
}

static const uint8_t *dsdt_of(const uint8_t *fadt)
{
	uint64_t x_dsdt = rd64(fadt + 140);
	assert_int_equal(rd32(fadt + 40), x_dsdt);
	return table_at(x_dsdt, "DSDT");
}

static const uint8_t *find_bytes(const uint8_t *hay, size_t len, const void *needle, size_t n)
{
	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(hay + i, needle, n) == 0)
			return hay + i;
	return NULL;
}

static unsigned count_bytes(const uint8_t *hay, size_t len, const void *needle, size_t n)
{
	unsigned c = 0;
	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(hay + i, needle, n) == 0)
			c++;
	return c;
}

static void check_gas_io(const uint8_t *g, uint16_t port)
{
	assert_int_equal(g[0], 1); /* system I/O */
	assert_int_equal(g[1], 8);
	assert_int_equal(g[2], 0);
	assert_int_equal(g[3], 1); /* byte access */
	assert_int_equal(rd64(g + 4), port);
}

static void test_fadt_is_hw_reduced_with_sleep_regs(void **state)
{
	const uint8_t *fadt, *madt;
	build_and_walk(&fadt, &madt);
	assert_int_equal(rd32(fadt + 4), 276);
	assert_int_equal(fadt[8], 6);
	uint32_t flags = rd32(fadt + 112);
	assert_true(flags & (1u << 20)); /* HW_REDUCED_ACPI */
	assert_true(flags & (1u << 10)); /* RESET_REG_SUP */
	assert_int_equal(rd16(fadt + 46), 0); /* no SCI */
	assert_int_equal(rd32(fadt + 76), 0); /* no PM timer */
	assert_int_equal(rd16(fadt + 109), (1u << 2) | (1u << 5)); /* no VGA, no RTC */
	check_gas_io(fadt + 116, 0x3c0);
	assert_int_equal(fadt[128], ACPI_RESET_VALUE);
	check_gas_io(fadt + 244, 0x3c0);
	check_gas_io(fadt + 256, 0x3c0);
	assert_memory_equal(fadt + 268, "NESTVM", 6);
	dsdt_of(fadt);
}

static void test_no_reset_port_means_no_reset_reg(void **state)
{
	cfg.reset_port = 0;
	const uint8_t *fadt, *madt;
	build_and_walk(&fadt, &madt);
	assert_false(rd32(fadt + 112) & (1u << 10));
	const uint8_t zero[13] = { 0 };
	assert_memory_equal(fadt + 116, zero, 13);
}

static void test_madt_lists_cpus_ioapic_override(void **state)
{
	cfg.ncpus = 5;
	const uint8_t *fadt, *madt;
	build_and_walk(&fadt, &madt);
	assert_int_equal(rd32(madt + 36), 0xfee00000u);
	assert_int_equal(rd32(madt + 40) & 1, 0); /* no PCAT_COMPAT */

	uint32_t len = rd32(madt + 4);
	unsigned entries = 0, lapics = 0, ioapics = 0, isos = 0;
	for (uint32_t off = 44; off < len;) {
		const uint8_t *e = madt + off;
		assert_true(e[1] >= 2 && off + e[1] <= len);
		switch (e[0]) {
		case 0:
			assert_int_equal(e[1], 8);
			assert_int_equal(e[2], lapics); /* UID */
			assert_int_equal(e[3], lapics); /* APIC id */
			assert_int_equal(rd32(e + 4), 1); /* enabled */
			lapics++;
			break;
		case 1:
			assert_int_equal(e[1], 12);
			assert_int_equal(e[2], cfg.ncpus);
			assert_int_equal(rd32(e + 4), 0xfec00000u);
			assert_int_equal(rd32(e + 8), 0);
			ioapics++;
			break;
		case 2:
			assert_int_equal(e[1], 10);
			assert_int_equal(e[2], 0); /* ISA */
			assert_int_equal(e[3], 0); /* IRQ0 */
			assert_int_equal(rd32(e + 4), 2);
			isos++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", e[0]);
		}
		entries++;
		off += e[1];
	}
	assert_int_equal(lapics, cfg.ncpus);
	assert_int_equal(ioapics, 1);
	assert_int_equal(isos, 1);
	assert_int_equal(entries, cfg.ncpus + 2);
}

static void test_dsdt_describes_devices(void **state)
{
	const uint8_t *fadt, *madt;
	build_and_walk(&fadt, &madt);
	const uint8_t *d = dsdt_of(fadt);
	uint32_t len = rd32(d + 4);
	assert_int_equal(d[8], 2);

	assert_int_equal(count_bytes(d, len, "LNRO0005", 8), cfg.nvirtio);
	assert_non_null(find_bytes(d, len, "QEMU0001", 8));
	assert_non_null(find_bytes(d, len, "VR02", 4));
	/* Name(_HID, EisaId("PNP0501")) */
	const uint8_t com1_hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01 };
	assert_non_null(find_bytes(d, len, com1_hid, sizeof(com1_hid)));

	/* Name(_CRS, ResourceTemplate(){ Memory32Fixed(ReadWrite, 0xd0002000,
	 * 0x1000) Interrupt(ResourceConsumer, Edge, ActiveHigh, Exclusive){7} })
	 * for the third virtio device, EndTag checksum included. */
	const uint8_t vr02_crs[] = {
		0x08, '_', 'C', 'R', 'S', 0x11, 0x1a, 0x0a, 0x17,
		0x86, 0x09, 0x00, 0x01, 0x00, 0x20, 0x00, 0xd0, 0x00, 0x10, 0x00, 0x00,
		0x89, 0x06, 0x00, 0x03, 0x01, 0x07, 0x00, 0x00, 0x00,
		0x79, 0x5d,
	};
	assert_non_null(find_bytes(d, len, vr02_crs, sizeof(vr02_crs)));

	/* COM1: IO(Decode16, 0x3f8, 0x3f8, 1, 8) + Interrupt(Edge){4} */
	const uint8_t com1_crs[] = { 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08,
				     0x89, 0x06, 0x00, 0x03, 0x01, 0x04, 0x00, 0x00, 0x00 };
	assert_non_null(find_bytes(d, len, com1_crs, sizeof(com1_crs)));
	/* pvpanic: IO(Decode16, 0x505, 0x505, 1, 1) */
	const uint8_t pv_crs[] = { 0x47, 0x01, 0x05, 0x05, 0x05, 0x05, 0x01, 0x01 };
	assert_non_null(find_bytes(d, len, pv_crs, sizeof(pv_crs)));
}

/* Device(GED_) and Device(PWRB) inside \_SB, with GSI 21: the bytes of
 * `iasl -oa` for the ASL in test_aml.c's ged_pwrb_aml, End Tag checksum
 * computed (iasl writes 0). */
static const uint8_t ged_dev[] = {
	0x5b, 0x82, 0x49, 0x04, 'G', 'E', 'D', '_',
	0x08, '_', 'H', 'I', 'D', 0x0d, 'A', 'C', 'P', 'I', '0', '0', '1', '3', 0x00,
	0x08, '_', 'U', 'I', 'D', 0x00,
	0x08, '_', 'C', 'R', 'S', 0x11, 0x0e, 0x0a, 0x0b,
	0x89, 0x06, 0x00, 0x03, 0x01, 0x15, 0x00, 0x00, 0x00, 0x79, 0xdf,
	0x14, 0x19, '_', 'E', 'V', 'T', 0x09,              /* Method(_EVT, 1, Serialized) */
	0xa0, 0x12, 0x93, 0x68, 0x0a, 0x15,                 /* If (LEqual(Arg0, 21)) */
	0x86, 0x5c, 0x2e, '_', 'S', 'B', '_', 'P', 'W', 'R', 'B', 0x0a, 0x80,
};
static const uint8_t pwrb_dev[] = {
	0x5b, 0x82, 0x15, 'P', 'W', 'R', 'B',
	0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0c, 0x0c, /* EisaId("PNP0C0C") */
	0x08, '_', 'U', 'I', 'D', 0x00,
};

static void test_dsdt_power_button(void **state)
{
	const uint8_t *fadt, *madt;
	build_and_walk(&fadt, &madt);
	const uint8_t *d = dsdt_of(fadt); /* checksum and length checked */
	uint32_t len = rd32(d + 4);
	const uint8_t *ged = find_bytes(d, len, ged_dev, sizeof(ged_dev));
	const uint8_t *pwrb = find_bytes(d, len, pwrb_dev, sizeof(pwrb_dev));
	assert_non_null(ged);
	assert_non_null(pwrb);
	assert_int_equal(count_bytes(d, len, "ACPI0013", 8), 1);
	/* Both lie inside Scope(\_SB), whose PkgLength takes two bytes here
	 * and which ends where \_S5_ starts. */
	assert_int_equal(d[36], 0x10);
	assert_int_equal(d[37] >> 6, 1);
	const uint8_t *scope_end = d + 37 + ((d[37] & 0x0f) | (uint32_t)d[38] << 4);
	assert_true(ged > d + 36 && ged + sizeof(ged_dev) <= scope_end);
	assert_true(pwrb > d + 36 && pwrb + sizeof(pwrb_dev) <= scope_end);
	/* No interrupt source override: the GSI's edge/high comes from _CRS,
	 * as for the virtio devices. */
	assert_int_equal(rd32(madt + 4), 44 + 8 * cfg.ncpus + 12 + 10);
}

/* The VM generation ID: Device(VGEN) with _HID "VMGENCTR" and
 * ADDR = Package(2){0xff000, 0}; the GED takes GSI 22 as well and its
 * _EVT notifies VGEN on it; the ID's page is cleared and holds no table
 * (the machine writes the ID there). */
static void test_dsdt_vmgenid(void **state)
{
	cfg.vmgenid_addr = 0xff000;
	cfg.vmgenid_gsi = 22;
	memset(ram + 0xff000, 0xab, 16);
	const uint8_t *fadt, *madt;
	build_and_walk(&fadt, &madt);
	const uint8_t *d = dsdt_of(fadt);
	uint32_t len = rd32(d + 4);
	const uint8_t hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0d, 'V', 'M', 'G', 'E', 'N', 'C', 'T', 'R', 0x00 };
	const uint8_t addr[] = { 0x08, 'A', 'D', 'D', 'R', 0x12, 0x08, 0x02, 0x0c, 0x00, 0xf0, 0x0f, 0x00, 0x00 };
	const uint8_t vgen[] = { 'V', 'G', 'E', 'N', 0x08, '_', 'H', 'I', 'D' };
	const uint8_t crs[] = { 0x89, 0x06, 0x00, 0x03, 0x01, 0x15, 0x00, 0x00, 0x00,
				0x89, 0x06, 0x00, 0x03, 0x01, 0x16, 0x00, 0x00, 0x00, 0x79 };
	const uint8_t evt[] = { 0xa0, 0x12, 0x93, 0x68, 0x0a, 0x16,
				0x86, 0x5c, 0x2e, '_', 'S', 'B', '_', 'V', 'G', 'E', 'N', 0x0a, 0x80 };
	assert_non_null(find_bytes(d, len, vgen, sizeof(vgen)));
	assert_non_null(find_bytes(d, len, hid, sizeof(hid)));
	assert_non_null(find_bytes(d, len, addr, sizeof(addr)));
	assert_non_null(find_bytes(d, len, crs, sizeof(crs)));
	assert_non_null(find_bytes(d, len, evt, sizeof(evt)));
	for (unsigned i = 0; i < 0x1000; i++)
		assert_int_equal(ram[0xff000 + i], 0); /* cleared, and not the tables' */
	/* Refused: its GSI taken, or no GED to carry it. */
	uint64_t rsdp;
	cfg.vmgenid_gsi = 21;
	assert_int_equal(acpi_build(&mem, &cfg, &rsdp, &err), -1);
	cfg.vmgenid_gsi = 5;
	assert_int_equal(acpi_build(&mem, &cfg, &rsdp, &err), -1);
	cfg.vmgenid_gsi = 22;
	cfg.power_button_gsi = 0;
	assert_int_equal(acpi_build(&mem, &cfg, &rsdp, &err), -1);
}

static void test_no_power_button(void **state)
{
	cfg.power_button_gsi = 0;
	const uint8_t *fadt, *madt;
	build_and_walk(&fadt, &madt);
	const uint8_t *d = dsdt_of(fadt);
	uint32_t len = rd32(d + 4);
	const uint8_t pnp0c0c[] = { 0x0c, 0x41, 0xd0, 0x0c, 0x0c };
	assert_null(find_bytes(d, len, "ACPI0013", 8));
	assert_null(find_bytes(d, len, pnp0c0c, sizeof(pnp0c0c)));
	assert_null(find_bytes(d, len, "PWRB", 4));
	assert_non_null(find_bytes(d, len, "LNRO0005", 8));
}

/* The DSDT is Scope(\_SB){...} followed by Name(\_S5_, Package(){5, 0}):
 * decoding the scope's PkgLength must land exactly on the _S5_ object, and
 * that must end the table. */
static void test_dsdt_structure_lengths(void **state)
{
	const uint8_t *fadt, *madt;
	build_and_walk(&fadt, &madt);
	const uint8_t *d = dsdt_of(fadt);
	uint32_t len = rd32(d + 4);
	const uint8_t *p = d + 36;
	assert_int_equal(p[0], 0x10); /* ScopeOp */
	unsigned follow = p[1] >> 6;
	uint32_t pkglen = follow ? (p[1] & 0x0f) : (p[1] & 0x3f);
	for (unsigned i = 0; i < follow; i++)
		pkglen |= (uint32_t)p[2 + i] << (4 + 8 * i);
	assert_memory_equal(p + 2 + follow, "\\_SB_", 5);
	const uint8_t *after = p + 1 + pkglen;
	const uint8_t s5[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0a, 0x05, 0x00 };
	assert_memory_equal(after, s5, sizeof(s5));
	assert_ptr_equal(after + sizeof(s5), d + len);
	assert_int_equal(ACPI_SLEEP_S5_VALUE, (5 << 2) | 0x20);
}

static void test_without_pvpanic_or_virtio(void **state)
{
	cfg.pvpanic = false;
	cfg.nvirtio = 0;
	const uint8_t *fadt, *madt;
	build_and_walk(&fadt, &madt);
	const uint8_t *d = dsdt_of(fadt);
	uint32_t len = rd32(d + 4);
	assert_null(find_bytes(d, len, "QEMU0001", 8));
	assert_null(find_bytes(d, len, "LNRO0005", 8));
	assert_non_null(find_bytes(d, len, "COM1", 4));
}

static void test_largest_config_fits(void **state)
{
	cfg.ncpus = ACPI_MAX_CPUS;
	cfg.nvirtio = ACPI_MAX_VIRTIO;
	for (unsigned i = 0; i < cfg.nvirtio; i++)
		cfg.virtio[i] = (struct acpi_virtio){
			.base = 0xd0000000u + 0x1000u * i, .size = 0x1000, .gsi = 5 + i
		};
	const uint8_t *fadt, *madt;
	build_and_walk(&fadt, &madt);
	assert_int_equal(rd32(madt + 4), 44 + 8 * ACPI_MAX_CPUS + 12 + 10);
	const uint8_t *d = dsdt_of(fadt);
	assert_int_equal(count_bytes(d, rd32(d + 4), "LNRO0005", 8), ACPI_MAX_VIRTIO);
	assert_non_null(find_bytes(d, rd32(d + 4), "VR15", 4));
}

static void test_stale_tables_are_cleared(void **state)
{
	/* An old RSDP (e.g. from a previous boot) must not survive a rebuild. */
	memset(ram + ACPI_TABLES_START, 0xaa, ACPI_TABLES_END - ACPI_TABLES_START);
	memcpy(ram + 0xf0000, "RSD PTR ", 8);
	uint64_t rsdp = 0;
	assert_int_equal(acpi_build(&mem, &cfg, &rsdp, &err), 0);
	assert_int_equal(ram[0xf0000], 0);
	assert_int_equal(ram[ACPI_TABLES_END - 1], 0);
	assert_int_equal(count_bytes(ram + ACPI_TABLES_START,
				     ACPI_TABLES_END - ACPI_TABLES_START, "RSD PTR ", 8), 1);
	assert_int_equal(ram[0x100000], 0); /* nothing written past the window */
}

static void test_too_many_devices_do_not_fit(void **state)
{
	cfg.nvirtio = ACPI_MAX_VIRTIO + 1;
	uint64_t rsdp = 0;
	assert_int_equal(acpi_build(&mem, &cfg, &rsdp, &err), -1);
	assert_int_equal(err.kind, NV_ERR_INPUT);

	/* A window big enough for the fixed tables but not for the DSDT. */
	cfg.nvirtio = ACPI_MAX_VIRTIO;
	for (unsigned i = 0; i < cfg.nvirtio; i++)
		cfg.virtio[i] = (struct acpi_virtio){
			.base = 0xd0000000u + 0x1000u * i, .size = 0x1000, .gsi = 5 + i
		};
	memset(&err, 0, sizeof(err));
	assert_int_equal(acpi_build_at(&mem, &cfg, 0xe0000, 0xe0000 + 1024, &rsdp, &err), -1);
	assert_int_equal(err.kind, NV_ERR_INPUT);
	assert_non_null(strstr(err.msg, "do not fit"));
	assert_int_equal(find_rsdp(), 0); /* nothing half-built left behind */

	/* The same devices fit a window of the real size. */
	assert_int_equal(acpi_build_at(&mem, &cfg, 0xe0000, 0xe0000 + 4096, &rsdp, &err), 0);
	assert_int_equal(find_rsdp(), 0xe0000);
}

static void test_bad_configs_rejected(void **state)
{
	uint64_t rsdp = 0;
	struct acpi_config good = cfg;

	cfg.ncpus = 0;
	assert_int_equal(acpi_build(&mem, &cfg, &rsdp, &err), -1);
	cfg = good;
	cfg.ncpus = ACPI_MAX_CPUS + 1;
	assert_int_equal(acpi_build(&mem, &cfg, &rsdp, &err), -1);
	cfg = good;
	cfg.sleep_port = 0;
	assert_int_equal(acpi_build(&mem, &cfg, &rsdp, &err), -1);
	cfg = good;
	cfg.virtio[1].gsi = cfg.virtio[0].gsi; /* shared edge GSI */
	assert_int_equal(acpi_build(&mem, &cfg, &rsdp, &err), -1);
	cfg = good;
	cfg.virtio[0].gsi = ACPI_COM1_IRQ;
	assert_int_equal(acpi_build(&mem, &cfg, &rsdp, &err), -1);
	cfg = good;
	cfg.virtio[0].gsi = ACPI_IOAPIC_PINS;
	assert_int_equal(acpi_build(&mem, &cfg, &rsdp, &err), -1);
	cfg = good;
	cfg.virtio[0].base = 0xfffff000u;
	cfg.virtio[0].size = 0x2000; /* crosses 4 GiB */
	assert_int_equal(acpi_build(&mem, &cfg, &rsdp, &err), -1);
	cfg = good;
	cfg.virtio[0].size = 0;
	assert_int_equal(acpi_build(&mem, &cfg, &rsdp, &err), -1);
	cfg = good;
	cfg.power_button_gsi = cfg.virtio[2].gsi; /* one edge GSI, two devices */
	assert_int_equal(acpi_build(&mem, &cfg, &rsdp, &err), -1);
	cfg = good;
	cfg.power_button_gsi = ACPI_COM1_IRQ;
	assert_int_equal(acpi_build(&mem, &cfg, &rsdp, &err), -1);
	cfg = good;
	cfg.power_button_gsi = 2; /* the PIT's pin */
	assert_int_equal(acpi_build(&mem, &cfg, &rsdp, &err), -1);
	cfg = good;
	cfg.power_button_gsi = ACPI_IOAPIC_PINS;
	assert_int_equal(acpi_build(&mem, &cfg, &rsdp, &err), -1);
	assert_int_equal(find_rsdp(), 0);

	/* Guest RAM that does not reach the table window. */
	cfg = good;
	struct guest_mem small;
	guest_mem_init_over(&small, ram, 0xe0000);
	assert_int_equal(acpi_build(&small, &cfg, &rsdp, &err), -1);
	assert_int_equal(err.kind, NV_ERR_INPUT);

	assert_int_equal(acpi_build(&mem, &cfg, &rsdp, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fadt_is_hw_reduced_with_sleep_regs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_reset_port_means_no_reset_reg, setup, teardown),
		cmocka_unit_test_setup_teardown(test_madt_lists_cpus_ioapic_override, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dsdt_describes_devices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dsdt_power_button, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dsdt_vmgenid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_power_button, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dsdt_structure_lengths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_without_pvpanic_or_virtio, setup, teardown),
		cmocka_unit_test_setup_teardown(test_largest_config_fits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_tables_are_cleared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_devices_do_not_fit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_configs_rejected, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
