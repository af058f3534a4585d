#include "arch/x86/acpi.h"

#include <stdio.h>
#include <string.h>

#include "arch/x86/aml.h"
#include "util/le.h"

#if defined(__has_include)
#if __has_include("arch/x86/layout.h")
#include "arch/x86/layout.h"
#endif
#endif
#ifndef ACPI_TABLES_START
#define ACPI_TABLES_START 0xe0000ULL
#endif
#ifndef ACPI_TABLES_END
#define ACPI_TABLES_END 0x100000ULL
#endif

#define OEM_ID "NESTVM"        /* 6 bytes */
#define OEM_TABLE_ID "NESTVM  " /* 8 bytes */
#define OEM_REVISION 1
#define CREATOR_ID "NEST"
#define CREATOR_REVISION 1

#define HEADER_LEN 36
#define RSDP_LEN 36
#define FADT_LEN 276 /* ACPI 6.0 and later */
#define MADT_HEADER_LEN 44
#define MADT_LAPIC_LEN 8
#define MADT_IOAPIC_LEN 12
#define MADT_ISO_LEN 10
#define XSDT_ENTRIES 2 /* FADT, MADT */

/* FADT flags and IA-PC boot architecture flags (ACPI 6.5, 5.2.9). */
#define FADT_PWR_BUTTON (1u << 4)  /* no fixed-feature power button */
#define FADT_SLP_BUTTON (1u << 5)  /* no fixed-feature sleep button */
#define FADT_RESET_REG_SUP (1u << 10)
#define FADT_HW_REDUCED_ACPI (1u << 20)
#define BOOT_VGA_NOT_PRESENT (1u << 2)
#define BOOT_CMOS_RTC_NOT_PRESENT (1u << 5)

#define GAS_SYSTEM_IO 1
#define GAS_ACCESS_BYTE 1

#define MADT_TYPE_LAPIC 0
#define MADT_TYPE_IOAPIC 1
#define MADT_TYPE_ISO 2
#define MADT_LAPIC_ENABLED 1

/* The free part of the table window and where the next table goes. */
struct acpi_area {
	uint8_t *host;
	uint64_t gpa;
	size_t size;
	size_t off;
};

static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)(0x100 - sum);
}

/* Reserve len bytes at the next 16-byte boundary (the RSDP must be 16-byte
 * aligned; the rest simply follow suit). NULL when the window is full. */
static uint8_t *area_take(struct acpi_area *a, size_t len, uint64_t *gpa)
{
	size_t off = (a->off + 15) & ~(size_t)15;
	if (off > a->size || len > a->size - off)
		return NULL;
	a->off = off + len;
	*gpa = a->gpa + off;
	return a->host + off;
}

static void header_fill(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	le_put32(t + 4, len);
	t[8] = rev;
	t[9] = 0; /* checksum, set by header_seal() */
	memcpy(t + 10, OEM_ID, 6);
	memcpy(t + 16, OEM_TABLE_ID, 8);
	le_put32(t + 24, OEM_REVISION);
	memcpy(t + 28, CREATOR_ID, 4);
	le_put32(t + 32, CREATOR_REVISION);
}

static void header_seal(uint8_t *t, uint32_t len)
{
	t[9] = 0;
	t[9] = checksum(t, len);
}

/* Generic Address Structure for a one-byte I/O port. */
static void gas_io_port(uint8_t *g, uint16_t port)
{
	g[0] = GAS_SYSTEM_IO;
	g[1] = 8; /* register bit width */
	g[2] = 0; /* bit offset */
	g[3] = GAS_ACCESS_BYTE;
	le_put64(g + 4, port);
}

static void fadt_fill(uint8_t *t, const struct acpi_config *cfg, uint64_t dsdt)
{
	header_fill(t, "FACP", FADT_LEN, 6);
	/* Hardware-reduced: no FACS, SCI, SMI command port, PM1/PM2/GPE
	 * blocks or PM timer, so all of those stay zero. */
	le_put32(t + 40, (uint32_t)dsdt);
	le_put16(t + 109, BOOT_VGA_NOT_PRESENT | BOOT_CMOS_RTC_NOT_PRESENT);
	uint32_t flags = FADT_HW_REDUCED_ACPI | FADT_PWR_BUTTON | FADT_SLP_BUTTON;
	if (cfg->reset_port) {
		flags |= FADT_RESET_REG_SUP;
		gas_io_port(t + 116, cfg->reset_port);
		t[128] = ACPI_RESET_VALUE;
	}
	le_put32(t + 112, flags);
	t[131] = 0; /* FADT minor version: ACPI 6.0 */
	le_put64(t + 140, dsdt); /* X_DSDT */
	gas_io_port(t + 244, cfg->sleep_port); /* SLEEP_CONTROL_REG */
	gas_io_port(t + 256, cfg->sleep_port); /* SLEEP_STATUS_REG */
	memcpy(t + 268, "NESTVM\0\0", 8);   /* hypervisor vendor identity */
	header_seal(t, FADT_LEN);
}

static size_t madt_len(const struct acpi_config *cfg)
{
	return MADT_HEADER_LEN + (size_t)cfg->ncpus * MADT_LAPIC_LEN +
	       MADT_IOAPIC_LEN + MADT_ISO_LEN;
}

static void madt_fill(uint8_t *t, const struct acpi_config *cfg)
{
	uint32_t len = (uint32_t)madt_len(cfg);
	header_fill(t, "APIC", len, 5);
	le_put32(t + 36, ACPI_LAPIC_ADDR);
	/* Flags: PCAT_COMPAT stays clear, there is no 8259 to mask. */
	le_put32(t + 40, 0);

	uint8_t *e = t + MADT_HEADER_LEN;
	for (unsigned i = 0; i < cfg->ncpus; i++, e += MADT_LAPIC_LEN) {
		e[0] = MADT_TYPE_LAPIC;
		e[1] = MADT_LAPIC_LEN;
		e[2] = (uint8_t)i; /* ACPI processor UID */
		e[3] = (uint8_t)i; /* APIC id: KVM's default is the vCPU index */
		le_put32(e + 4, MADT_LAPIC_ENABLED);
	}

	e[0] = MADT_TYPE_IOAPIC;
	e[1] = MADT_IOAPIC_LEN;
	e[2] = (uint8_t)cfg->ncpus; /* first id after the local APICs */
	e[3] = 0;
	le_put32(e + 4, ACPI_IOAPIC_ADDR);
	le_put32(e + 8, 0); /* GSI base */
	e += MADT_IOAPIC_LEN;

	/* The PIT's ISA IRQ 0 is wired to IOAPIC pin 2, as on a PC. Flags 0:
	 * polarity and trigger conform to the ISA bus (edge, high). */
	e[0] = MADT_TYPE_ISO;
	e[1] = MADT_ISO_LEN;
	e[2] = 0; /* bus: ISA */
	e[3] = 0; /* source IRQ */
	le_put32(e + 4, 2);
	le_put16(e + 8, 0);

	header_seal(t, len);
}

static void dsdt_com1(struct aml_buf *b)
{
	size_t dev = aml_device_begin(b, "COM1");
	aml_name(b, "_HID");
	aml_eisaid(b, "PNP0501");
	aml_name(b, "_UID");
	aml_integer(b, 1);
	aml_name(b, "_CRS");
	size_t res = aml_restemplate_begin(b);
	aml_res_io(b, ACPI_COM1_PORT, ACPI_COM1_PORT, 1, 8);
	aml_res_interrupt(b, AML_IRQ_EDGE, ACPI_COM1_IRQ);
	aml_restemplate_end(b, res);
	aml_device_end(b, dev);
}

static void dsdt_virtio(struct aml_buf *b, unsigned idx, const struct acpi_virtio *v)
{
	char name[16];
	snprintf(name, sizeof(name), "VR%02u", idx);
	size_t dev = aml_device_begin(b, name);
	/* The ACPI id Linux's virtio_mmio driver matches. */
	aml_name(b, "_HID");
	aml_string(b, "LNRO0005");
	aml_name(b, "_UID");
	aml_integer(b, idx);
	aml_name(b, "_CCA"); /* DMA is cache-coherent */
	aml_integer(b, 1);
	aml_name(b, "_CRS");
	size_t res = aml_restemplate_begin(b);
	aml_res_memory32_fixed(b, true, (uint32_t)v->base, v->size);
	aml_res_interrupt(b, AML_IRQ_EDGE, v->gsi);
	aml_restemplate_end(b, res);
	aml_device_end(b, dev);
}

static void dsdt_pvpanic(struct aml_buf *b, uint16_t port)
{
	size_t dev = aml_device_begin(b, "PEVT");
	aml_name(b, "_HID");
	aml_string(b, "QEMU0001");
	aml_name(b, "_UID");
	aml_integer(b, 0);
	aml_name(b, "_CRS");
	size_t res = aml_restemplate_begin(b);
	aml_res_io(b, port, port, 1, 1);
	aml_restemplate_end(b, res);
	aml_device_end(b, dev);
}

/* If (Arg0 == gsi) Notify(path, 0x80) */
static void ged_event(struct aml_buf *b, uint32_t gsi, const char *path)
{
	size_t cond = aml_if_begin(b);
	aml_lequal(b);
	aml_arg(b, 0);
	aml_integer(b, gsi);
	aml_notify(b, path, 0x80);
	aml_if_end(b, cond);
}

/* The Generic Event Device: the OS runs _EVT with the interrupt's GSI when
 * it fires, and _EVT tells the events apart by Arg0: the power button
 * (0x80: pressed) and the VM generation ID (0x80: it changed). */
static void dsdt_ged(struct aml_buf *b, const struct acpi_config *cfg)
{
	size_t dev = aml_device_begin(b, "GED_");
	aml_name(b, "_HID");
	aml_string(b, "ACPI0013");
	aml_name(b, "_UID");
	aml_integer(b, 0);
	aml_name(b, "_CRS");
	size_t res = aml_restemplate_begin(b);
	aml_res_interrupt(b, AML_IRQ_EDGE, cfg->power_button_gsi);
	if (cfg->vmgenid_addr)
		aml_res_interrupt(b, AML_IRQ_EDGE, cfg->vmgenid_gsi);
	aml_restemplate_end(b, res);
	/* Serialized: two interrupts in a row must not run it concurrently. */
	size_t m = aml_method_begin(b, "_EVT", 1, true);
	ged_event(b, cfg->power_button_gsi, "\\_SB_.PWRB");
	if (cfg->vmgenid_addr)
		ged_event(b, cfg->vmgenid_gsi, "\\_SB_.VGEN");
	aml_method_end(b, m);
	aml_device_end(b, dev);
}

/* The VM generation ID: ADDR is a package of the low and high 32 bits of
 * its guest-physical address, as Linux's vmgenid and Windows read it. */
static void dsdt_vmgenid(struct aml_buf *b, uint64_t addr)
{
	size_t dev = aml_device_begin(b, "VGEN");
	aml_name(b, "_HID");
	aml_string(b, "VMGENCTR");
	aml_name(b, "_UID");
	aml_integer(b, 0);
	aml_name(b, "_DDN");
	aml_string(b, "VM_Gen_Counter");
	aml_name(b, "ADDR");
	size_t pkg = aml_package_begin(b, 2);
	aml_integer(b, addr & 0xffffffffu);
	aml_integer(b, addr >> 32);
	aml_package_end(b, pkg);
	aml_device_end(b, dev);
}

/* The control-method power button that the GED's notify goes to. */
static void dsdt_power_button(struct aml_buf *b)
{
	size_t dev = aml_device_begin(b, "PWRB");
	aml_name(b, "_HID");
	aml_eisaid(b, "PNP0C0C");
	aml_name(b, "_UID");
	aml_integer(b, 0);
	aml_device_end(b, dev);
}

/* The DSDT body goes straight after its header; returns the table length
 * or 0 when it does not fit in room bytes. */
static size_t dsdt_fill(uint8_t *t, size_t room, const struct acpi_config *cfg)
{
	if (room < HEADER_LEN)
		return 0;
	struct aml_buf b;
	aml_init(&b, t + HEADER_LEN, room - HEADER_LEN);

	size_t sb = aml_scope_begin(&b, "\\_SB_");
	dsdt_com1(&b);
	for (unsigned i = 0; i < cfg->nvirtio; i++)
		dsdt_virtio(&b, i, &cfg->virtio[i]);
	if (cfg->pvpanic)
		dsdt_pvpanic(&b, ACPI_PVPANIC_PORT);
	if (cfg->power_button_gsi) {
		dsdt_ged(&b, cfg);
		dsdt_power_button(&b);
		if (cfg->vmgenid_addr)
			dsdt_vmgenid(&b, cfg->vmgenid_addr);
	}
	aml_scope_end(&b, sb);

	/* Only SLP_TYPa is used on hardware-reduced machines. */
	aml_name(&b, "\\_S5_");
	size_t pkg = aml_package_begin(&b, 2);
	aml_integer(&b, ACPI_SLEEP_S5_TYP);
	aml_integer(&b, 0);
	aml_package_end(&b, pkg);

	if (!aml_ok(&b) || b.len > UINT32_MAX - HEADER_LEN)
		return 0;
	uint32_t len = (uint32_t)(HEADER_LEN + b.len);
	header_fill(t, "DSDT", len, 2); /* revision 2: 64-bit integers */
	header_seal(t, len);
	return len;
}

static void xsdt_fill(uint8_t *t, const uint64_t *entries, unsigned n)
{
	uint32_t len = HEADER_LEN + 8 * n;
	header_fill(t, "XSDT", len, 1);
	for (unsigned i = 0; i < n; i++)
		le_put64(t + HEADER_LEN + 8 * i, entries[i]);
	header_seal(t, len);
}

static void rsdp_fill(uint8_t *r, uint64_t xsdt)
{
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, OEM_ID, 6);
	r[15] = 2;           /* revision: ACPI 2.0+, XSDT present */
	le_put32(r + 16, 0);    /* no RSDT */
	le_put32(r + 20, RSDP_LEN);
	le_put64(r + 24, xsdt);
	r[8] = 0;
	r[8] = checksum(r, 20); /* ACPI 1.0 part */
	r[32] = 0;
	r[32] = checksum(r, RSDP_LEN);
}

static int config_check(const struct acpi_config *cfg, struct nv_err *err)
{
	if (cfg->ncpus < 1 || cfg->ncpus > ACPI_MAX_CPUS)
		return nv_err_input(err, "ACPI: %u vCPUs, must be 1 to %u",
				    cfg->ncpus, ACPI_MAX_CPUS);
	if (cfg->nvirtio > ACPI_MAX_VIRTIO)
		return nv_err_input(err, "ACPI: %u virtio devices, at most %u",
				    cfg->nvirtio, ACPI_MAX_VIRTIO);
	if (cfg->sleep_port == 0)
		return nv_err_host(err, "ACPI: no sleep control port");
	uint32_t used = (1u << ACPI_COM1_IRQ) | 0x7; /* 0-2: timer, cascade */
	for (unsigned i = 0; i < cfg->nvirtio; i++) {
		const struct acpi_virtio *v = &cfg->virtio[i];
		if (v->size == 0 || v->base >= GUEST_MMIO_HOLE_END ||
		    v->size > GUEST_MMIO_HOLE_END - v->base)
			return nv_err_host(err, "ACPI: virtio device %u window "
					   "0x%llx+0x%x is not below 4 GiB",
					   i, (unsigned long long)v->base, v->size);
		if (v->gsi >= ACPI_IOAPIC_PINS || (used & (1u << v->gsi)))
			return nv_err_host(err, "ACPI: virtio device %u GSI %u is "
					   "taken or not an IOAPIC pin", i, v->gsi);
		used |= 1u << v->gsi;
	}
	uint32_t pb = cfg->power_button_gsi;
	if (pb && (pb >= ACPI_IOAPIC_PINS || (used & (1u << pb))))
		return nv_err_host(err, "ACPI: power button GSI %u is taken or "
				   "not an IOAPIC pin", pb);
	uint32_t vg = cfg->vmgenid_gsi;
	if (cfg->vmgenid_addr && (!pb || vg == pb || vg >= ACPI_IOAPIC_PINS || (used & (1u << vg))))
		return nv_err_host(err, "ACPI: the VM generation ID's GSI %u is taken, "
				   "not an IOAPIC pin, or has no GED", vg);
	return 0;
}

int acpi_build_at(const struct guest_mem *mem, const struct acpi_config *cfg,
		  uint64_t start, uint64_t end, uint64_t *rsdp_addr,
		  struct nv_err *err)
{
	if (config_check(cfg, err) < 0)
		return -1;
	if ((start & 15) || end <= start)
		return nv_err_host(err, "ACPI: bad table window 0x%llx-0x%llx",
				   (unsigned long long)start, (unsigned long long)end);
	uint8_t *host = guest_mem_ptr(mem, start, end - start);
	if (!host)
		return nv_err_input(err, "ACPI: the table window 0x%llx-0x%llx "
				    "is not guest RAM",
				    (unsigned long long)start, (unsigned long long)end);
	memset(host, 0, end - start);
	struct acpi_area a = { .host = host, .gpa = start, .size = end - start };

	uint64_t rsdp_gpa = 0, xsdt_gpa = 0, fadt_gpa = 0, madt_gpa = 0, dsdt_gpa = 0;
	uint8_t *rsdp = area_take(&a, RSDP_LEN, &rsdp_gpa);
	uint8_t *xsdt = area_take(&a, HEADER_LEN + 8 * XSDT_ENTRIES, &xsdt_gpa);
	uint8_t *fadt = area_take(&a, FADT_LEN, &fadt_gpa);
	uint8_t *madt = area_take(&a, madt_len(cfg), &madt_gpa);
	uint8_t *dsdt = area_take(&a, 0, &dsdt_gpa); /* takes the rest */
	size_t dsdt_size = dsdt ? dsdt_fill(dsdt, a.size - a.off, cfg) : 0;
	if (!rsdp || !xsdt || !fadt || !madt || dsdt_size == 0) {
		memset(host, 0, end - start); /* leave no half-built tables */
		return nv_err_input(err, "ACPI: tables for %u vCPUs and %u virtio "
				    "devices do not fit in %llu bytes", cfg->ncpus,
				    cfg->nvirtio, (unsigned long long)(end - start));
	}

	fadt_fill(fadt, cfg, dsdt_gpa);
	madt_fill(madt, cfg);
	uint64_t entries[XSDT_ENTRIES] = { fadt_gpa, madt_gpa };
	xsdt_fill(xsdt, entries, XSDT_ENTRIES);
	rsdp_fill(rsdp, xsdt_gpa);
	*rsdp_addr = rsdp_gpa;
	return 0;
}

int acpi_build(const struct guest_mem *mem, const struct acpi_config *cfg,
	       uint64_t *rsdp_addr, struct nv_err *err)
{
	/* The whole window is cleared (no stale RSDP anywhere in it); the
	 * tables end where the VM generation ID's page starts. */
	uint8_t *window = guest_mem_ptr(mem, ACPI_TABLES_START, ACPI_TABLES_END - ACPI_TABLES_START);
	if (window)
		memset(window, 0, ACPI_TABLES_END - ACPI_TABLES_START);
	return acpi_build_at(mem, cfg, ACPI_TABLES_START, VMGENID_ADDR,
			     rsdp_addr, err);
}
