/* ACPI tables for a hardware-reduced x86 machine (no PIC, no PM timer, no
 * SCI): RSDP -> XSDT -> {FADT -> DSDT, MADT}. The MADT lists the vCPUs and
 * the IOAPIC; the DSDT describes COM1, the virtio-mmio devices, pvpanic, the
 * power button and the S5 (power-off) sleep type. Linux finds the RSDP
 * through boot_params.acpi_rsdp_addr or by scanning 0xe0000-0xfffff.
 *
 * Power button: a hardware-reduced machine has no fixed-feature button, so
 * (as Cloud Hypervisor and QEMU's virt machines do) a Generic Event Device
 * (ACPI0013) owns one edge-triggered GSI, and its _EVT method, which the OS
 * runs on that interrupt with the GSI as Arg0, does Notify(\_SB.PWRB, 0x80)
 * on a PNP0C0C power button device. Linux: evged (built in) runs _EVT, the
 * button driver turns the notify into KEY_POWER.
 *
 * VM generation ID (Microsoft's "Virtual Machine Generation ID" spec, as
 * QEMU and Hyper-V give it): a device VGEN (_HID "VMGENCTR", what Linux's
 * vmgenid driver and Windows look for) whose ADDR names 16 bytes of guest
 * memory holding a random ID. The VMM writes a new one whenever the VM
 * continues from a saved state and pulses the GED's second GSI, whose _EVT
 * does Notify(\_SB.VGEN, 0x80): the guest reseeds its RNG, so two VMs
 * restored from one state never share random numbers.
 *
 * Power off: Linux writes (SLP_TYP << 2) | SLP_EN to the FADT's sleep
 * control register, with SLP_TYP = 5 from \_S5, i.e. ACPI_SLEEP_S5_VALUE
 * (0x34). Just before, it writes ACPI_SLEEP_WAKE_STATUS (0x80) to the sleep
 * status register (same port), which the VMM must ignore. */
#ifndef NESTVM_ARCH_X86_ACPI_H
#define NESTVM_ARCH_X86_ACPI_H

#include <stdbool.h>
#include <stdint.h>

#include "core/guest_mem.h"
#include "util/err.h"

#define ACPI_SLEEP_S5_TYP 5
#define ACPI_SLEEP_S5_VALUE 0x34     /* (ACPI_SLEEP_S5_TYP << 2) | 0x20 */
#define ACPI_SLEEP_WAKE_STATUS 0x80  /* WAK_STS, written to the status reg */
#define ACPI_RESET_VALUE 0x01        /* written to the reset port, if any */

#define ACPI_MAX_CPUS 254      /* xAPIC ids are 8 bits; the IOAPIC takes one */
#define ACPI_MAX_VIRTIO 16
#define ACPI_IOAPIC_PINS 24    /* KVM's in-kernel IOAPIC: GSIs 0-23 */
#define ACPI_LAPIC_ADDR 0xfee00000u
#define ACPI_IOAPIC_ADDR 0xfec00000u
#define ACPI_COM1_PORT 0x3f8
#define ACPI_COM1_IRQ 4
#define ACPI_PVPANIC_PORT 0x505 /* QEMU's port, what Linux's driver expects */

struct acpi_virtio {
	uint64_t base; /* MMIO window, must lie below 4 GiB */
	uint32_t size;
	uint32_t gsi;  /* IOAPIC pin, edge-triggered, active-high */
};

struct acpi_config {
	unsigned ncpus;        /* 1..ACPI_MAX_CPUS, APIC ids 0..ncpus-1 */
	unsigned nvirtio;      /* 0..ACPI_MAX_VIRTIO */
	struct acpi_virtio virtio[ACPI_MAX_VIRTIO];
	uint16_t sleep_port;   /* required: sleep control and status, 1 byte */
	uint16_t reset_port;   /* 0: no FADT reset register */
	bool pvpanic;          /* describe pvpanic at ACPI_PVPANIC_PORT */
	uint32_t power_button_gsi; /* 0: none; else the GED's IOAPIC pin (edge,
				    * active-high), free of the others */
	uint64_t vmgenid_addr; /* 0: no VM generation ID; else its 16 bytes */
	uint32_t vmgenid_gsi;  /* with it: the GED's pin for its notify, free
				* of the others (needs power_button_gsi) */
};

/* Write all tables into guest RAM at ACPI_TABLES_START..ACPI_TABLES_END and
 * return the RSDP's guest-physical address. The range is cleared first. */
int acpi_build(const struct guest_mem *mem, const struct acpi_config *cfg,
	       uint64_t *rsdp_addr, struct nv_err *err);

/* Same into [start, end); start must be 16-byte aligned. For tests and for
 * a caller with another layout. */
int acpi_build_at(const struct guest_mem *mem, const struct acpi_config *cfg,
		  uint64_t start, uint64_t end, uint64_t *rsdp_addr,
		  struct nv_err *err);

#endif
