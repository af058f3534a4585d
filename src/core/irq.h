/* An interrupt line as seen by a device model: the VMM backs it with
 * KVM_IRQ_LINE on a GSI, unit tests with a recorder. Devices never know which. */
#ifndef NESTVM_CORE_IRQ_H
#define NESTVM_CORE_IRQ_H

struct irq_line {
	void (*set_level)(void *opaque, unsigned gsi, int level);
	void *opaque;
	unsigned gsi;
};

static inline void irq_line_set(const struct irq_line *l, int level)
{
	if (l && l->set_level)
		l->set_level(l->opaque, l->gsi, level);
}

/* Edge-triggered pulse: what virtio-mmio and the UART use with an edge
 * configuration in the IOAPIC/ACPI tables. */
static inline void irq_line_pulse(const struct irq_line *l)
{
	irq_line_set(l, 1);
	irq_line_set(l, 0);
}

#endif
