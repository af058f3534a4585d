#include "kvm/harness.h"

#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "arch/x86/cpuid.h"
#include "arch/x86/regs.h"
#include "kvm/kvm.h"

static void on_event(void *opaque, enum platform_event ev, int value)
{
	struct harness *h = opaque;
	h->event_seen = true;
	h->event = ev;
	h->event_value = value;
}

/* The ucall port: the guest passes the address of its ucall block. */
static void ucall_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct harness *h = opaque;
	if (!is_write || len != 4)
		return;
	uint32_t gpa;
	memcpy(&gpa, data, 4);
	if (guest_mem_read(&h->vm.mem, gpa, &h->ucall, sizeof(h->ucall)) < 0)
		h->ucall.cmd = UCALL_ABORT;
}

int harness_create(struct harness *h, uint64_t ram_bytes)
{
	memset(h, 0, sizeof(*h));
	struct nv_err err = { 0 };
	if (access("/dev/kvm", R_OK | W_OK) != 0)
		return -1;
	if (kvm_vm_create(&h->vm, "/dev/kvm", ram_bytes, &err) < 0) {
		print_message("vm_create: %s\n", err.msg);
		return -1;
	}
	h->sink = (struct platform_sink){ .event = on_event, .opaque = h };
	h->host = (struct vcpu_host){ .pio = &h->vm.pio, .mmio = &h->vm.mmio };
	assert_int_equal(bus_register(&h->vm.pio, UCALL_PORT, 4, ucall_io, h), 0);
	if (vcpu_create(&h->vcpu, h->vm.fd, h->vm.run_size, 0, &h->host, &err) < 0)
		fail_msg("vcpu_create: %s", err.msg);

	struct kvm_cpuid2 *cpuid;
	unsigned cap;
	assert_int_equal(kvm_get_supported_cpuid(h->vm.kvm_fd, &cpuid, &cap), 0);
	struct cpuid_policy_input in = { .vcpu_index = 0, .ncpus = 1 };
	assert_int_equal(cpuid_policy_apply(cpuid, cap, &in, &err), 0);
	assert_int_equal(kvm_set_cpuid2(h->vcpu.fd, cpuid), 0);
	free(cpuid);
	return 0;
}

void harness_destroy(struct harness *h)
{
	vcpu_destroy(&h->vcpu);
	kvm_vm_destroy(&h->vm);
}

void harness_load_guest(struct harness *h, const char *name)
{
	char exe[PATH_MAX], path[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	snprintf(path, sizeof(path), "%s/guest/%s.bin", dirname(exe), name);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open guest program %s", path);
	uint8_t *dst = guest_mem_ptr(&h->vm.mem, HARNESS_GUEST_LOAD, 1 << 19);
	assert_non_null(dst);
	size_t got = fread(dst, 1, 1 << 19, f);
	fclose(f);
	assert_true(got > 0);

	struct nv_err err = { 0 };
	assert_int_equal(x86_regs_setup_memory(&h->vm.mem, &err), 0);
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	assert_int_equal(kvm_get_sregs(h->vcpu.fd, &sregs), 0);
	x86_regs_boot_sregs(&sregs);
	x86_regs_boot_regs(&regs, HARNESS_GUEST_LOAD, 0);
	assert_int_equal(kvm_set_sregs(h->vcpu.fd, &sregs), 0);
	assert_int_equal(kvm_set_regs(h->vcpu.fd, &regs), 0);
}

enum harness_stop harness_run(struct harness *h, unsigned max_exits)
{
	for (unsigned i = 0; i < max_exits; i++) {
		h->ucall.cmd = UCALL_NONE;
		int r = kvm_run(h->vcpu.fd);
		if (r < 0)
			continue; /* EINTR */
		vcpu_exit_decode(h->vcpu.run, h->vcpu.run_size, &h->exit);
		if (h->exit.kind == VCPU_EXIT_IO || h->exit.kind == VCPU_EXIT_MMIO) {
			vcpu_dispatch_io(&h->host, &h->exit);
			if (h->ucall.cmd != UCALL_NONE)
				return HARNESS_UCALL;
			if (h->event_seen)
				return HARNESS_PLATFORM;
			continue;
		}
		if (h->exit.kind == VCPU_EXIT_INTERRUPTED || h->exit.kind == VCPU_EXIT_IGNORED)
			continue;
		return HARNESS_EXIT;
	}
	return HARNESS_TIMEOUT;
}

int harness_run_to_done(struct harness *h)
{
	for (;;) {
		enum harness_stop s = harness_run(h, 1000000);
		if (s != HARNESS_UCALL)
			fail_msg("guest stopped without finishing (stop %d, exit kind %d, reason %u)",
				 s, h->exit.kind, h->exit.reason);
		if (h->ucall.cmd == UCALL_ABORT)
			fail_msg("guest assertion failed at line %llu (value 0x%llx)",
				 (unsigned long long)h->ucall.args[0], (unsigned long long)h->ucall.args[1]);
		if (h->ucall.cmd == UCALL_DONE)
			return (int)h->ucall.args[0];
	}
}

int harness_setup(void **state)
{
	struct harness *h = malloc(sizeof(*h));
	if (!h || harness_create(h, HARNESS_RAM) < 0) {
		free(h);
		h = NULL;
	}
	*state = h;
	return 0;
}

int harness_teardown(void **state)
{
	struct harness *h = *state;
	if (h) {
		harness_destroy(h);
		free(h);
	}
	return 0;
}
