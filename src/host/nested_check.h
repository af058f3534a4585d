/* The nested-virtualization verdict: a pure function of the host facts.
 * "Supported" means a VM that nestvm runs here with
 * --expose-virtualization-extensions gets VT-x or AMD-V: /dev/kvm is usable,
 * it is a hardware-assisted KVM with nesting on, and KVM_GET_SUPPORTED_CPUID
 * offers VMX/SVM to guests. Each thing in the way is one problem with a
 * reason and a fix; problems that only follow from an earlier one (no kvm
 * module because the CPU has no extensions) are left out. */
#ifndef NESTVM_HOST_NESTED_CHECK_H
#define NESTVM_HOST_NESTED_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "host/host_facts.h"

#define NESTED_CHECK_MAX_PROBLEMS 12
#define NESTED_CHECK_LINE 400

struct nested_problem {
	bool warning; /* nesting works, with a limit: not a reason for NO */
	char reason[NESTED_CHECK_LINE];
	char fix[NESTED_CHECK_LINE];
};

struct nested_verdict {
	bool supported; /* no problem that is not a warning */
	unsigned nproblems; /* the reasons for NO first, then the warnings */
	struct nested_problem problems[NESTED_CHECK_MAX_PROBLEMS];
};

enum nested_backend {
	NESTED_BACKEND_NONE,        /* no KVM vendor module */
	NESTED_BACKEND_HARDWARE,    /* kvm_intel / kvm_amd */
	NESTED_BACKEND_PARAVIRTUAL, /* kvm_pvm */
};

void nested_check_evaluate(const struct host_facts *f, struct nested_verdict *v);

enum nested_backend nested_check_backend(const struct host_facts *f);
/* "hardware-assisted (kvm_amd): ..." with what it means for guests. */
const char *nested_check_backend_text(const struct host_facts *f, char *buf, size_t n);

/* For `nestvm run --expose-virtualization-extensions`: 0 when this host can
 * give VMs the extensions (msg ""), else -1 with ONE line in msg,
 * "REASON; fix: FIX", from the first problem. */
int nested_check_run_error(const struct host_facts *f, char *msg, size_t n);

/* For `nestvm run` once its input is good: can this host run any KVM VM
 * through f->dev_path? 0 when the device opened (dev_errno == 0) and, where
 * known, speaks KVM API 12 with the capabilities nestvm needs (msg "");
 * else -1 with ONE line in msg (no newline), "REASON; fix: FIX": no KVM in
 * the kernel, KVM without a registered device (no kvm in /proc/misc), a
 * registered device without its node (mknod with the minor from
 * /proc/misc), a --kvm-device path that is missing, no permission, or the
 * wrong API. Where this host's KVM cannot be made to work, the fix names
 * `nestvm lab`. Truncated to n, always terminated. */
int nested_check_kvm_error(const struct host_facts *f, char *msg, size_t n);

#endif
