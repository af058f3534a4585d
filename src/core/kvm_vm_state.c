#include "core/kvm_vm_state.h"

#include <string.h>

#include "kvm/kvm.h"

static const struct {
	unsigned id;
	const char *name;
} chips[] = {
	{ KVM_IRQCHIP_PIC_MASTER, "pic_master" },
	{ KVM_IRQCHIP_PIC_SLAVE, "pic_slave" },
	{ KVM_IRQCHIP_IOAPIC, "ioapic" },
};

int kvm_vm_snapshot_irqchip(struct kvm_vm *vm, struct device_snapshot *s, struct nv_err *err)
{
	snapshot_version(s, 1);
	for (unsigned i = 0; i < sizeof(chips) / sizeof(chips[0]); i++) {
		struct kvm_irqchip c;
		memset(&c, 0, sizeof(c));
		c.chip_id = chips[i].id;
		int r;
		if (s->dir == SNAPSHOT_SAVE && (r = kvm_get_irqchip(vm->fd, &c)) < 0)
			return nv_err_host(err, "cannot read the %s: %s", chips[i].name, strerror(-r));
		snapshot_bytes(s, &c.chip, sizeof(c.chip), chips[i].name);
		if (s->failed)
			return -1;
		c.chip_id = chips[i].id;
		if (s->dir == SNAPSHOT_RESTORE && (r = kvm_set_irqchip(vm->fd, &c)) < 0)
			return nv_err_input(err, "KVM refused the saved %s: %s", chips[i].name, strerror(-r));
	}
	struct kvm_pit_state2 pit;
	memset(&pit, 0, sizeof(pit));
	int r;
	if (s->dir == SNAPSHOT_SAVE && (r = kvm_get_pit2(vm->fd, &pit)) < 0)
		return nv_err_host(err, "cannot read the PIT: %s", strerror(-r));
	snapshot_bytes(s, &pit, sizeof(pit), "pit");
	if (!snapshot_done(s))
		return -1;
	if (s->dir == SNAPSHOT_RESTORE && (r = kvm_set_pit2(vm->fd, &pit)) < 0)
		return nv_err_input(err, "KVM refused the saved PIT: %s", strerror(-r));
	return 0;
}

int kvm_vm_snapshot_clock(struct kvm_vm *vm, struct device_snapshot *s, struct nv_err *err)
{
	struct kvm_clock_data c;
	memset(&c, 0, sizeof(c));
	int r;
	if (s->dir == SNAPSHOT_SAVE && (r = kvm_get_clock(vm->fd, &c)) < 0)
		return nv_err_host(err, "cannot read kvm-clock: %s", strerror(-r));
	snapshot_version(s, 1);
	uint64_t ns = c.clock;
	snapshot_u64(s, &ns, "clock");
	if (!snapshot_done(s))
		return -1;
	if (s->dir == SNAPSHOT_RESTORE) {
		memset(&c, 0, sizeof(c));
		c.clock = ns;
		if ((r = kvm_set_clock(vm->fd, &c)) < 0)
			return nv_err_input(err, "KVM refused the saved kvm-clock: %s", strerror(-r));
	}
	return 0;
}
