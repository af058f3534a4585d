#include "core/vcpu_exit.h"

#include <string.h>

static void decode_io(struct kvm_run *run, size_t run_size, struct vcpu_exit *out)
{
	uint64_t off = run->io.data_offset;
	uint64_t bytes = (uint64_t)run->io.size * run->io.count;
	if (run->io.size == 0 || run->io.size > 8 || off > run_size || bytes > run_size - off) {
		out->kind = VCPU_EXIT_FAILED;
		return;
	}
	out->kind = VCPU_EXIT_IO;
	out->addr = run->io.port;
	out->size = run->io.size;
	out->count = run->io.count;
	out->is_write = run->io.direction == KVM_EXIT_IO_OUT;
	out->data = (uint8_t *)run + off;
}

static void decode_system_event(struct kvm_run *run, struct vcpu_exit *out)
{
	switch (run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		out->kind = VCPU_EXIT_GUEST_POWEROFF;
		break;
	case KVM_SYSTEM_EVENT_RESET:
		out->kind = VCPU_EXIT_GUEST_RESET;
		break;
	case KVM_SYSTEM_EVENT_CRASH:
		out->kind = VCPU_EXIT_GUEST_CRASH;
		break;
	default:
		out->kind = VCPU_EXIT_IGNORED;
		break;
	}
	out->detail = run->system_event.type;
}

void vcpu_exit_decode(struct kvm_run *run, size_t run_size, struct vcpu_exit *out)
{
	memset(out, 0, sizeof(*out));
	out->reason = run->exit_reason;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		decode_io(run, run_size, out);
		break;
	case KVM_EXIT_MMIO:
		if (run->mmio.len == 0 || run->mmio.len > sizeof(run->mmio.data)) {
			out->kind = VCPU_EXIT_FAILED;
			break;
		}
		out->kind = VCPU_EXIT_MMIO;
		out->addr = run->mmio.phys_addr;
		out->size = run->mmio.len;
		out->count = 1;
		out->is_write = run->mmio.is_write;
		out->data = run->mmio.data;
		break;
	case KVM_EXIT_HLT:
		out->kind = VCPU_EXIT_HLT;
		break;
	case KVM_EXIT_SHUTDOWN:
		out->kind = VCPU_EXIT_TRIPLE_FAULT;
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		decode_system_event(run, out);
		break;
	case KVM_EXIT_INTR:
		out->kind = VCPU_EXIT_INTERRUPTED;
		break;
	case KVM_EXIT_FAIL_ENTRY:
		out->kind = VCPU_EXIT_FAILED;
		out->detail = run->fail_entry.hardware_entry_failure_reason;
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		out->kind = VCPU_EXIT_FAILED;
		out->detail = run->internal.suberror;
		break;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		out->kind = VCPU_EXIT_IGNORED;
		break;
	default:
		out->kind = VCPU_EXIT_FAILED;
		break;
	}
}
