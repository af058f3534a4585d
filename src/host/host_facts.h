/* What this host offers for nested virtualization, gathered without root and
 * without creating a VM: the CPU (CPUID instruction, /proc/cpuinfo), the
 * hypervisor under it, the KVM modules (/sys/module), whether the kernel
 * registered a KVM device (/proc/misc), /dev/kvm and what KVM
 * says through the system ioctls (API version, capabilities, the CPUID it
 * offers guests). A plain struct, so that recorded hosts (host_facts_file.h)
 * and this one go through the same check (nested_check.h). */
#ifndef NESTVM_HOST_HOST_FACTS_H
#define NESTVM_HOST_HOST_FACTS_H

#include <stdbool.h>

#include "arch/x86/cpuid.h"

/* A fact that may not be known (e.g. /dev/kvm not usable, so KVM's answers
 * are missing). UNKNOWN is 0 so that a zeroed struct knows nothing. */
enum fact { FACT_UNKNOWN = 0, FACT_NO, FACT_YES };

enum host_kvm_module {
	HOST_KVM_NONE = 0, /* kvm not loaded, or loaded without a vendor module */
	HOST_KVM_INTEL,    /* kvm_intel: VT-x */
	HOST_KVM_AMD,      /* kvm_amd: AMD-V */
	HOST_KVM_PVM,      /* kvm_pvm: paravirtual, no hardware extensions */
};

/* The KVM capabilities reported; the table in host_facts.c maps them to
 * KVM_CAP_* and to their names in reports and files. */
enum host_cap {
	HOST_CAP_USER_MEMORY,
	HOST_CAP_IRQCHIP,
	HOST_CAP_EXT_CPUID,
	HOST_CAP_NESTED_STATE, /* value = size of the nested state; 0 = none */
	HOST_CAP_VCPU_EVENTS,
	HOST_CAP_EXCEPTION_PAYLOAD,
	HOST_CAP_COUNT
};

struct host_facts {
	/* CPU, as this OS sees it through the CPUID instruction. */
	char vendor_id[16];  /* "GenuineIntel", "AuthenticAMD", ... */
	char model_name[80]; /* /proc/cpuinfo "model name", else the brand string */
	bool cpu_vmx;        /* leaf 1 ECX bit 5 */
	bool cpu_svm;        /* leaf 0x80000001 ECX bit 2 */
	/* vmx/svm in /proc/cpuinfo flags: Linux drops them when the firmware
	 * disabled the extension although CPUID has it. */
	enum fact cpuinfo_virt;
	bool cpu_ept;        /* /proc/cpuinfo flag "ept" (the VMX MSRs need root) */
	bool cpu_npt;        /* leaf 0x8000000A EDX bit 0 */

	bool under_hypervisor;   /* leaf 1 ECX bit 31 */
	char hypervisor_sig[16]; /* leaf 0x40000000 EBX ECX EDX, NULs dropped */

	/* KVM modules. */
	bool kvm_loaded;                 /* /sys/module/kvm */
	enum host_kvm_module kvm_module; /* the vendor module found */
	char kvm_nested[8];              /* its "nested" parameter as read; "" unknown */
	/* A "kvm" line in /proc/misc: the kernel registered the KVM device
	 * (a module in /sys/module may be built in yet have failed to
	 * initialise). NO: /proc/misc read without one; UNKNOWN: not read. */
	enum fact misc_kvm;
	int misc_kvm_minor; /* its misc minor (the node is char 10:minor); -1 unknown */

	/* /dev/kvm, opened read-write as this user. */
	char user[32];
	char dev_path[64]; /* the KVM device asked about */
	bool dev_present;
	int dev_errno; /* 0 = usable; else why open() failed (ENOENT, EACCES) */

	/* KVM's answers; only known when /dev/kvm is usable. */
	int api_version;          /* -1 unknown */
	int caps[HOST_CAP_COUNT]; /* KVM_CHECK_EXTENSION values; -1 unknown */
	/* What KVM_GET_SUPPORTED_CPUID offers guests. */
	enum fact guest_vmx, guest_svm, guest_npt;
};

/* A struct that knows nothing (all unknown, -1 where numbers are). */
void host_facts_init(struct host_facts *f);

/* Fills f from this host. `root` prefixes /proc and /sys (NULL: "/"), for
 * tests; kvm_path is the KVM device (NULL: /dev/kvm). Never fails: what
 * cannot be learnt stays unknown. Creates no VM. */
void host_facts_gather(struct host_facts *f, const char *root, const char *kvm_path);
/* Fills f->user with this user's name (or "uid N"); host_facts_gather
 * does so only when the KVM device is not usable. */
void host_facts_name_user(struct host_facts *f);

/* Derived facts. */
enum cpu_vendor host_facts_vendor(const struct host_facts *f);
/* "VT-x", "AMD-V" or "none" for the CPU; the same for what KVM offers guests. */
const char *host_facts_extension(const struct host_facts *f);
const char *host_facts_guest_extension(const struct host_facts *f);
/* "EPT", "NPT" or "none". */
const char *host_facts_paging(const struct host_facts *f);
/* "kvm_intel", "kvm_amd", "kvm_pvm" or NULL. */
const char *host_facts_module_name(enum host_kvm_module m);
/* The module's nested parameter: "1"/"Y" on, "0"/"N" off, else unknown. */
enum fact host_facts_nested(const struct host_facts *f);
/* "KVM", "Hyper-V", "VMware", "QEMU TCG", "Xen", "VirtualBox", "bhyve", else the raw
 * signature (or "unknown" when empty). */
const char *host_facts_hypervisor_name(const struct host_facts *f);
/* Capability names as in reports and files ("nested_state"). */
const char *host_facts_cap_name(enum host_cap c);
/* The vendor module this CPU would use: "kvm_intel" / "kvm_amd" / NULL. */
const char *host_facts_native_module(const struct host_facts *f);

#endif
