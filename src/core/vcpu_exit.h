/* Decoding of struct kvm_run after KVM_RUN returns: a pure function, so each
 * exit reason can be unit-tested without a VM. */
#ifndef NESTVM_CORE_VCPU_EXIT_H
#define NESTVM_CORE_VCPU_EXIT_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vcpu_exit_kind {
	VCPU_EXIT_IO,            /* port I/O: addr = port, size, count, data */
	VCPU_EXIT_MMIO,          /* addr = gpa, size, data */
	VCPU_EXIT_HLT,           /* only without an in-kernel LAPIC */
	VCPU_EXIT_TRIPLE_FAULT,  /* KVM_EXIT_SHUTDOWN */
	VCPU_EXIT_GUEST_POWEROFF,/* KVM_SYSTEM_EVENT_SHUTDOWN */
	VCPU_EXIT_GUEST_RESET,   /* KVM_SYSTEM_EVENT_RESET */
	VCPU_EXIT_GUEST_CRASH,   /* KVM_SYSTEM_EVENT_CRASH */
	VCPU_EXIT_INTERRUPTED,   /* KVM_EXIT_INTR: a signal kicked us out */
	VCPU_EXIT_FAILED,        /* entry failure, internal error, bad kvm_run: the VMM cannot go on */
	VCPU_EXIT_IGNORED,       /* exits that need no action (IRQ window, ...) */
};

struct vcpu_exit {
	enum vcpu_exit_kind kind;
	uint64_t addr;
	uint32_t size;   /* bytes per access */
	uint32_t count;  /* repetitions of a string port access */
	bool is_write;
	uint8_t *data;   /* inside the kvm_run mapping */
	uint32_t reason; /* raw exit_reason, for messages */
	uint64_t detail; /* suberror / hardware entry failure reason */
};

/* run_size is the mmap size of the kvm_run area: I/O data offsets are
 * checked against it. */
void vcpu_exit_decode(struct kvm_run *run, size_t run_size, struct vcpu_exit *out);

#endif
