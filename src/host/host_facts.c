#include "host/host_facts.h"

#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/x86/nested.h"
#include "kvm/kvm.h"
#include "util/user_db.h"

#define BIT(n) (1u << (n))

static const struct {
	const char *name;
	long kvm_cap;
} caps[HOST_CAP_COUNT] = {
	[HOST_CAP_USER_MEMORY] = { "user_memory", KVM_CAP_USER_MEMORY },
	[HOST_CAP_IRQCHIP] = { "irqchip", KVM_CAP_IRQCHIP },
	[HOST_CAP_EXT_CPUID] = { "ext_cpuid", KVM_CAP_EXT_CPUID },
	[HOST_CAP_NESTED_STATE] = { "nested_state", KVM_CAP_NESTED_STATE },
	[HOST_CAP_VCPU_EVENTS] = { "vcpu_events", KVM_CAP_VCPU_EVENTS },
	[HOST_CAP_EXCEPTION_PAYLOAD] = { "exception_payload", KVM_CAP_EXCEPTION_PAYLOAD },
};

void host_facts_init(struct host_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->dev_errno = ENOENT;
	snprintf(f->dev_path, sizeof(f->dev_path), "/dev/kvm");
	f->api_version = -1;
	f->misc_kvm_minor = -1;
	for (int i = 0; i < HOST_CAP_COUNT; i++)
		f->caps[i] = -1;
}

static void regs_to_str(char *out, uint32_t a, uint32_t b, uint32_t c)
{
	memcpy(out, &a, 4);
	memcpy(out + 4, &b, 4);
	memcpy(out + 8, &c, 4);
	out[12] = '\0';
}

/* The signature at `base` (EBX ECX EDX), NULs dropped and anything else
 * unprintable shown as '?', so that it is safe in reports and files. */
static void hypervisor_signature(uint32_t base, char *out)
{
	uint32_t a, b, c, d;
	char raw[13];
	__cpuid(base, a, b, c, d);
	(void)a;
	regs_to_str(raw, b, c, d);
	size_t n = 0;
	for (size_t i = 0; i < 12; i++)
		if (raw[i])
			out[n++] = raw[i] >= 0x20 && raw[i] < 0x7f ? raw[i] : '?';
	/* Trailing blanks are padding ("bhyve bhyve "), and a facts file
	 * could not keep them. */
	while (n && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

static void gather_cpuid(struct host_facts *f)
{
	uint32_t a, b, c, d;
	__cpuid(0, a, b, c, d);
	regs_to_str(f->vendor_id, b, d, c);
	__cpuid(1, a, b, c, d);
	f->cpu_vmx = c & BIT(5);
	f->under_hypervisor = c & BIT(31);

	__cpuid(0x80000000, a, b, c, d);
	uint32_t max_ext = a;
	if (max_ext >= 0x80000001) {
		__cpuid(0x80000001, a, b, c, d);
		f->cpu_svm = c & BIT(2);
	}
	if (f->cpu_svm && max_ext >= 0x8000000a) {
		__cpuid(0x8000000a, a, b, c, d);
		f->cpu_npt = d & BIT(0);
	}
	if (max_ext >= 0x80000004) {
		/* Brand string: the fallback model name. */
		uint32_t r[12];
		for (unsigned i = 0; i < 3; i++)
			__cpuid(0x80000002 + i, r[i * 4], r[i * 4 + 1], r[i * 4 + 2], r[i * 4 + 3]);
		char brand[49];
		memcpy(brand, r, 48);
		brand[48] = '\0';
		const char *s = brand + strspn(brand, " ");
		snprintf(f->model_name, sizeof(f->model_name), "%s", s);
	}
	if (f->under_hypervisor) {
		hypervisor_signature(0x40000000, f->hypervisor_sig);
		/* KVM with Hyper-V enlightenments shows "Microsoft Hv" first and
		 * its own signature at 0x40000100, as Linux itself checks. */
		if (!strcmp(f->hypervisor_sig, "Microsoft Hv")) {
			char alt[16];
			hypervisor_signature(0x40000100, alt);
			if (!strcmp(alt, "KVMKVMKVM"))
				memcpy(f->hypervisor_sig, alt, sizeof(alt));
		}
	}
}

/* Does the space-separated list contain the word? */
static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ' || p[-1] == '\t') &&
		    (p[n] == '\0' || p[n] == ' ' || p[n] == '\n'))
			return true;
	return false;
}

/* The first processor's "model name" and "flags". */
static void gather_cpuinfo(struct host_facts *f, const char *root)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/proc/cpuinfo", root);
	FILE *in = fopen(path, "re");
	if (!in)
		return;
	char *line = NULL;
	size_t cap = 0;
	bool got_model = false, got_flags = false;
	while ((!got_model || !got_flags) && getline(&line, &cap, in) > 0) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		char *val = colon + 1 + strspn(colon + 1, " \t");
		val[strcspn(val, "\n")] = '\0';
		if (!got_model && !strncmp(line, "model name", 10)) {
			snprintf(f->model_name, sizeof(f->model_name), "%s", val);
			got_model = true;
		} else if (!got_flags && !strncmp(line, "flags", 5)) {
			f->cpuinfo_virt = has_word(val, "vmx") || has_word(val, "svm") ? FACT_YES : FACT_NO;
			f->cpu_ept = has_word(val, "ept");
			got_flags = true;
		}
	}
	free(line);
	fclose(in);
}

static bool path_exists(const char *root, const char *rel)
{
	char path[512];
	snprintf(path, sizeof(path), "%s%s", root, rel);
	return access(path, F_OK) == 0;
}

static void gather_modules(struct host_facts *f, const char *root)
{
	f->kvm_loaded = path_exists(root, "/sys/module/kvm");
	/* kvm_pvm first: on a PVM host it owns /dev/kvm. */
	if (path_exists(root, "/sys/module/kvm_pvm"))
		f->kvm_module = HOST_KVM_PVM;
	else if (path_exists(root, "/sys/module/kvm_amd"))
		f->kvm_module = HOST_KVM_AMD;
	else if (path_exists(root, "/sys/module/kvm_intel"))
		f->kvm_module = HOST_KVM_INTEL;
	if (f->kvm_module != HOST_KVM_AMD && f->kvm_module != HOST_KVM_INTEL)
		return;
	char path[512];
	snprintf(path, sizeof(path), "%s/sys/module/%s/parameters/nested", root,
		 host_facts_module_name(f->kvm_module));
	FILE *in = fopen(path, "re");
	if (!in)
		return;
	if (fgets(f->kvm_nested, sizeof(f->kvm_nested), in))
		f->kvm_nested[strcspn(f->kvm_nested, "\n")] = '\0';
	fclose(in);
}

/* /proc/misc lists the misc devices the kernel registered, "%3i %s\n"
 * (minor, name): KVM's is "kvm" once kvm_intel, kvm_amd or kvm_pvm
 * initialised. Tells a kernel without a KVM device from a missing node. */
static void gather_misc(struct host_facts *f, const char *root)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/proc/misc", root);
	FILE *in = fopen(path, "re");
	if (!in)
		return;
	f->misc_kvm = FACT_NO;
	char line[128];
	while (fgets(line, sizeof(line), in)) {
		int minor;
		char name[64];
		if (sscanf(line, "%d %63s", &minor, name) == 2 && !strcmp(name, "kvm") && minor >= 0) {
			f->misc_kvm = FACT_YES;
			f->misc_kvm_minor = minor;
			break;
		}
	}
	fclose(in);
}

/* System ioctls only: a /dev/kvm fd answers these without a VM. */
static void gather_kvm(struct host_facts *f, const char *kvm_path)
{
	snprintf(f->dev_path, sizeof(f->dev_path), "%s", kvm_path);
	struct stat st;
	f->dev_present = stat(kvm_path, &st) == 0;
	int fd = open(kvm_path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		f->dev_errno = errno;
		return;
	}
	f->dev_errno = 0;
	f->dev_present = true;
	int v = kvm_get_api_version(fd);
	f->api_version = v < 0 ? -1 : v;
	if (v == KVM_API_VERSION) {
		for (int i = 0; i < HOST_CAP_COUNT; i++) {
			int r = kvm_check_extension(fd, caps[i].kvm_cap);
			f->caps[i] = r < 0 ? 0 : r;
		}
		struct kvm_cpuid2 *c = NULL;
		unsigned cap;
		if (kvm_get_supported_cpuid(fd, &c, &cap) == 0) {
			/* The same test `run --expose-virtualization-extensions` makes. */
			enum nested_kind k = nested_offered(c);
			f->guest_vmx = k == NESTED_VMX ? FACT_YES : FACT_NO;
			f->guest_svm = k == NESTED_SVM ? FACT_YES : FACT_NO;
			const struct kvm_cpuid_entry2 *e = cpuid_find(c, 0x8000000a, 0);
			f->guest_npt = k == NESTED_SVM && e && (e->edx & BIT(0)) ? FACT_YES : FACT_NO;
			free(c);
		}
	}
	close(fd);
}

void host_facts_gather(struct host_facts *f, const char *root, const char *kvm_path)
{
	host_facts_init(f);
	if (!root || !strcmp(root, "/"))
		root = "";
	gather_cpuid(f);
	gather_cpuinfo(f, root);
	gather_modules(f, root);
	gather_misc(f, root);
	gather_kvm(f, kvm_path ? kvm_path : "/dev/kvm");
	/* A VM's start names the user only about a /dev/kvm it cannot use;
	 * the lookup (/etc/passwd) is skipped otherwise. */
	if (f->dev_errno != 0)
		host_facts_name_user(f);
}

void host_facts_name_user(struct host_facts *f)
{
	if (!user_db_find(NULL, geteuid(), NULL, NULL, f->user, sizeof(f->user)))
		snprintf(f->user, sizeof(f->user), "uid %u", (unsigned)geteuid());
}

enum cpu_vendor host_facts_vendor(const struct host_facts *f)
{
	if (!strcmp(f->vendor_id, "GenuineIntel"))
		return CPU_VENDOR_INTEL;
	if (!strcmp(f->vendor_id, "AuthenticAMD"))
		return CPU_VENDOR_AMD;
	if (!strcmp(f->vendor_id, "HygonGenuine"))
		return CPU_VENDOR_HYGON;
	return CPU_VENDOR_OTHER;
}

const char *host_facts_extension(const struct host_facts *f)
{
	return f->cpu_vmx ? "VT-x" : f->cpu_svm ? "AMD-V" : "none";
}

const char *host_facts_guest_extension(const struct host_facts *f)
{
	if (f->guest_vmx == FACT_YES)
		return "VT-x";
	if (f->guest_svm == FACT_YES)
		return "AMD-V";
	return f->guest_vmx == FACT_UNKNOWN && f->guest_svm == FACT_UNKNOWN ? "unknown" : "none";
}

const char *host_facts_paging(const struct host_facts *f)
{
	if (f->cpu_vmx && f->cpu_ept)
		return "EPT";
	if (f->cpu_svm && f->cpu_npt)
		return "NPT";
	return "none";
}

const char *host_facts_module_name(enum host_kvm_module m)
{
	switch (m) {
	case HOST_KVM_INTEL: return "kvm_intel";
	case HOST_KVM_AMD: return "kvm_amd";
	case HOST_KVM_PVM: return "kvm_pvm";
	default: return NULL;
	}
}

enum fact host_facts_nested(const struct host_facts *f)
{
	const char *n = f->kvm_nested;
	if (!strcmp(n, "1") || !strcmp(n, "Y") || !strcmp(n, "y"))
		return FACT_YES;
	if (!strcmp(n, "0") || !strcmp(n, "N") || !strcmp(n, "n"))
		return FACT_NO;
	return FACT_UNKNOWN;
}

const char *host_facts_hypervisor_name(const struct host_facts *f)
{
	static const struct {
		const char *sig, *name;
	} known[] = {
		{ "KVMKVMKVM", "KVM" },
		{ "Microsoft Hv", "Hyper-V" },
		{ "VMwareVMware", "VMware" },
		{ "TCGTCGTCGTCG", "QEMU TCG" },
		{ "XenVMMXenVMM", "Xen" },
		{ "VBoxVBoxVBox", "VirtualBox" },
		{ "bhyve bhyve", "bhyve" },
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(f->hypervisor_sig, known[i].sig))
			return known[i].name;
	return f->hypervisor_sig[0] ? f->hypervisor_sig : "unknown";
}

const char *host_facts_cap_name(enum host_cap c)
{
	return c < HOST_CAP_COUNT ? caps[c].name : NULL;
}

const char *host_facts_native_module(const struct host_facts *f)
{
	switch (host_facts_vendor(f)) {
	case CPU_VENDOR_INTEL: return "kvm_intel";
	case CPU_VENDOR_AMD:
	case CPU_VENDOR_HYGON: return "kvm_amd";
	default: return f->cpu_vmx ? "kvm_intel" : f->cpu_svm ? "kvm_amd" : NULL;
	}
}
