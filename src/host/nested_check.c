#include "host/nested_check.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The way out wherever this host's own KVM cannot run a VM. */
#define LAB_FIX "run VMs inside the emulated lab host: nestvm lab -- nestvm run ..."

/* The words for this host's vendor; both when the vendor is unknown. */
struct vendor_words {
	const char *ext;    /* "AMD-V" */
	const char *module; /* "kvm_amd" */
	const char *dashed; /* "kvm-amd", as modprobe is usually typed */
	const char *flag;   /* "svm" */
};

static struct vendor_words vendor_words(const struct host_facts *f)
{
	const char *m = host_facts_native_module(f);
	if (m && !strcmp(m, "kvm_intel"))
		return (struct vendor_words){ "VT-x", "kvm_intel", "kvm-intel", "vmx" };
	if (m && !strcmp(m, "kvm_amd"))
		return (struct vendor_words){ "AMD-V", "kvm_amd", "kvm-amd", "svm" };
	return (struct vendor_words){ "VT-x or AMD-V", "kvm_intel or kvm_amd",
				      "kvm-intel (or kvm-amd)", "vmx/svm" };
}

static struct nested_problem *add(struct nested_verdict *v, bool warning)
{
	/* The last slot is reused rather than overflowing: never reached with
	 * the checks below, which add at most 8. */
	if (v->nproblems == NESTED_CHECK_MAX_PROBLEMS)
		v->nproblems--;
	struct nested_problem *p = &v->problems[v->nproblems++];
	p->warning = warning;
	if (!warning)
		v->supported = false;
	return p;
}

static void say(char *line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(char *line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, NESTED_CHECK_LINE, fmt, ap);
	va_end(ap);
}

enum nested_backend nested_check_backend(const struct host_facts *f)
{
	switch (f->kvm_module) {
	case HOST_KVM_INTEL:
	case HOST_KVM_AMD: return NESTED_BACKEND_HARDWARE;
	case HOST_KVM_PVM: return NESTED_BACKEND_PARAVIRTUAL;
	default:
		/* /sys/module may be hidden (a container given /dev/kvm): a KVM
		 * that offers VMX/SVM to guests is hardware-assisted. */
		if (f->dev_errno == 0 && (f->guest_vmx == FACT_YES || f->guest_svm == FACT_YES))
			return NESTED_BACKEND_HARDWARE;
		return NESTED_BACKEND_NONE;
	}
}

const char *nested_check_backend_text(const struct host_facts *f, char *buf, size_t n)
{
	/* A module can be in the kernel (built in) without having registered
	 * a device: then there is no backend to describe, only its absence. */
	bool no_device = f->dev_errno != 0 && f->misc_kvm == FACT_NO;
	switch (nested_check_backend(f)) {
	case NESTED_BACKEND_HARDWARE:
	{
		const char *m = host_facts_module_name(f->kvm_module);
		bool intel = f->kvm_module == HOST_KVM_INTEL || f->guest_vmx == FACT_YES;
		if (no_device)
			snprintf(buf, n, "hardware-assisted (%s), but it registered no KVM device: no VM runs here",
				 m ? m : "?");
		else
			snprintf(buf, n, "hardware-assisted (%s): guests run on %s and boot any x86-64 kernel",
				 m ? m : "vendor module not visible", intel ? "VT-x" : "AMD-V");
	}
		break;
	case NESTED_BACKEND_PARAVIRTUAL:
		if (no_device)
			snprintf(buf, n, "paravirtual (kvm_pvm), but it registered no KVM device: no VM runs here");
		else
			snprintf(buf, n, "paravirtual (kvm_pvm): guests get no VT-x/AMD-V and need a PVM-enabled kernel; a stock Linux kernel does not boot");
		break;
	default:
		snprintf(buf, n, "none (no KVM vendor module loaded)");
		break;
	}
	return buf;
}

/* How to turn nesting on in the hypervisor this host runs under. */
static void hypervisor_fix(const struct host_facts *f, char *fix)
{
	const char *hv = host_facts_hypervisor_name(f);
	struct vendor_words w = vendor_words(f);
	const char *how;
	char kvm[160];
	if (!strcmp(hv, "Hyper-V")) {
		how = "Hyper-V: Set-VMProcessor -VMName THIS_VM -ExposeVirtualizationExtensions $true with the VM off";
	} else if (!strcmp(hv, "KVM")) {
		snprintf(kvm, sizeof(kvm), "KVM: %s nested=1 on the host and a CPU model with %s, e.g. -cpu host; "
			 "nestvm: run --expose-virtualization-extensions", w.module, w.flag);
		how = kvm;
	} else if (!strcmp(hv, "VMware")) {
		how = "VMware: \"Expose hardware assisted virtualization to the guest OS\" (vhv.enable = TRUE)";
	} else if (!strcmp(hv, "QEMU TCG")) {
		how = "QEMU TCG: a CPU model with svm and npt, e.g. -cpu EPYC,+svm,+npt";
	} else if (!strcmp(hv, "Xen")) {
		how = "Xen: nestedhvm=1 in the domain's configuration";
	} else if (!strcmp(hv, "VirtualBox")) {
		how = "VirtualBox: VBoxManage modifyvm THIS_VM --nested-hw-virt on";
	} else if (!strcmp(hv, "bhyve")) {
		how = "bhyve, if its version offers it";
	} else {
		how = "Hyper-V: Set-VMProcessor -ExposeVirtualizationExtensions $true; KVM: kvm_amd/kvm_intel nested=1 "
		      "on the host and a CPU model with svm/vmx; nestvm: run --expose-virtualization-extensions";
	}
	say(fix, "enable nested virtualization for this VM in the host hypervisor (%s), or use `nestvm lab`", how);
}

/* The CPU itself: extensions present, and not disabled by the firmware. */
static bool check_cpu(const struct host_facts *f, struct nested_verdict *v)
{
	struct vendor_words w = vendor_words(f);
	if (!f->cpu_vmx && !f->cpu_svm) {
		struct nested_problem *p = add(v, false);
		if (f->under_hypervisor) {
			say(p->reason, "this host is a VM under %s (signature \"%s\"), which does not pass %s on to it",
			    host_facts_hypervisor_name(f), f->hypervisor_sig, w.ext);
			hypervisor_fix(f, p->fix);
		} else {
			say(p->reason, "this CPU has no VT-x or AMD-V");
			say(p->fix, "use a machine whose CPU has them, or `nestvm lab`");
		}
		return false;
	}
	if (f->cpuinfo_virt == FACT_NO) {
		struct nested_problem *p = add(v, false);
		say(p->reason, "the CPU has %s but the firmware disabled it (no %s in /proc/cpuinfo flags)",
		    host_facts_extension(f), f->cpu_vmx ? "vmx" : "svm");
		say(p->fix, "enable %s in the BIOS/UEFI setup (%s), then power the machine off and on",
		    host_facts_extension(f),
		    f->cpu_vmx ? "\"Intel Virtualization Technology\"" : "\"SVM Mode\"");
		return false;
	}
	return true;
}

static void check_paravirtual(const struct host_facts *f, struct nested_verdict *v)
{
	struct nested_problem *p = add(v, false);
	say(p->reason, "this host's /dev/kvm is kvm_pvm, a paravirtual KVM without hardware extensions: "
		       "it cannot give VMs VT-x/AMD-V nor boot a stock Linux kernel");
	if (f->cpu_vmx || f->cpu_svm) {
		struct vendor_words w = vendor_words(f);
		say(p->fix, "this CPU has %s: stop the VMs, then modprobe -r kvm_pvm && modprobe %s nested=1",
		    w.ext, w.module);
	} else {
		say(p->fix, "run nestvm inside `nestvm lab`, or on a host with VT-x/AMD-V");
	}
}

/* The vendor module and its nested parameter. False when it is missing. */
static bool check_module(const struct host_facts *f, struct nested_verdict *v)
{
	struct vendor_words w = vendor_words(f);
	/* A device in /proc/misc with /sys/module hidden (a container): some
	 * KVM module is there; the device check says what is missing. */
	bool registered = f->misc_kvm == FACT_YES && f->dev_errno != 0;
	if (nested_check_backend(f) == NESTED_BACKEND_NONE && !registered) {
		struct nested_problem *p = add(v, false);
		if (f->kvm_loaded)
			say(p->reason, "the kvm module is loaded but %s is not", w.module);
		else
			say(p->reason, "the kvm module is not loaded");
		say(p->fix, "modprobe %s (as root; it creates /dev/kvm)", w.dashed);
		return false;
	}
	if (host_facts_nested(f) == FACT_NO) {
		const char *m = host_facts_module_name(f->kvm_module);
		struct nested_problem *p = add(v, false);
		say(p->reason, "%s is loaded with nested=%s: KVM does not give its VMs %s", m, f->kvm_nested,
		    f->kvm_module == HOST_KVM_INTEL ? "VT-x" : "AMD-V");
		say(p->fix, "echo 'options %s nested=1' > /etc/modprobe.d/kvm-nested.conf && modprobe -r %s && modprobe %s",
		    m, m, m);
	}
	return true;
}

/* "kvm, kvm_pvm": the KVM modules in /sys/module (built in or loaded). */
static void modules_seen(const struct host_facts *f, char *out, size_t n)
{
	const char *m = host_facts_module_name(f->kvm_module);
	snprintf(out, n, "%s%s%s", f->kvm_loaded ? "kvm" : "", f->kvm_loaded && m ? ", " : "", m ? m : "");
}

/* Why kvm_intel/kvm_amd cannot run on this CPU; "" when they can. */
static void cpu_lack(const struct host_facts *f, char *out, size_t n)
{
	struct vendor_words w = vendor_words(f);
	if ((f->cpu_vmx || f->cpu_svm) && f->cpuinfo_virt != FACT_NO) {
		if (n)
			out[0] = '\0';
	} else if (f->cpu_vmx || f->cpu_svm)
		snprintf(out, n, "the firmware disabled %s", host_facts_extension(f));
	else if (f->under_hypervisor)
		snprintf(out, n, "the CPU has no %s for %s (the %s hypervisor under this VM does not pass it on)", w.ext,
			 w.module, host_facts_hypervisor_name(f));
	else
		snprintf(out, n, "the CPU has no %s for %s", w.ext, w.module);
}

/* A fix that can give this kernel a KVM device: the vendor module where
 * the CPU allows one, else the lab. */
static void fix_no_device(const struct host_facts *f, bool failed, char *fix)
{
	struct vendor_words w = vendor_words(f);
	if (!f->cpu_vmx && !f->cpu_svm)
		say(fix, LAB_FIX ", or use a host with VT-x/AMD-V%s", failed ? " (`dmesg | grep -i kvm` tells why "
									 "no KVM device was registered)" : "");
	else if (f->cpuinfo_virt == FACT_NO)
		say(fix, "enable %s in the BIOS/UEFI setup, then power the machine off and on; or " LAB_FIX,
		    host_facts_extension(f));
	else if (failed)
		say(fix, "modprobe %s as root (`dmesg | grep -i kvm` tells why no KVM device was registered), or " LAB_FIX,
		    w.module);
	else
		say(fix, "modprobe %s as root (it registers the KVM device and creates /dev/kvm), or " LAB_FIX, w.module);
}

/* The KVM modules in /sys/module registered no device; `what` says how the
 * node looks ("/dev/kvm is missing", or a stale node that cannot be opened). */
static void no_device_problem(const struct host_facts *f, const char *what, const char *mods, char *reason, char *fix)
{
	struct vendor_words w = vendor_words(f);
	char lack[200], cause[300];
	cpu_lack(f, lack, sizeof(lack));
	const char *m = host_facts_module_name(f->kvm_module);
	if (f->kvm_module == HOST_KVM_PVM)
		snprintf(cause, sizeof(cause), "kvm_pvm did not register one%s%s", lack[0] ? ", and " : "", lack);
	else if (m)
		snprintf(cause, sizeof(cause), "%s did not register one: %s", m, lack[0] ? lack : "it failed to initialise");
	else if (lack[0])
		snprintf(cause, sizeof(cause), "%s", lack);
	else
		snprintf(cause, sizeof(cause), "%s is not loaded", w.module);
	say(reason, "%s: the kernel has KVM (%s in /sys/module) but registered no KVM device (no kvm in /proc/misc): %s",
	    what, mods, cause);
	fix_no_device(f, true, fix);
}

/* Why f->dev_path cannot be opened, with a fix that can work on this host:
 * a kernel without KVM, one whose KVM registered no device (/proc/misc), a
 * missing node for a registered device, or permissions. False when usable. */
static bool device_problem(const struct host_facts *f, char *reason, char *fix)
{
	int e = f->dev_errno;
	if (e == 0)
		return false;
	const char *path = f->dev_path;
	if (e == EACCES || e == EPERM) {
		say(reason, "%s is not usable by %s (%s)", path, f->user[0] ? f->user : "this user",
		    e == EACCES ? "permission denied" : "operation not permitted");
		unsigned uid;
		if (sscanf(f->user, "uid %u", &uid) == 1) /* no user name: usermod cannot name it */
			say(fix, "setfacl -m u:%u:rw %s (or run as root)", uid, path);
		else
			say(fix, "usermod -aG kvm %s, then log in again (or run as root)", f->user[0] ? f->user : "USER");
		return true;
	}
	bool missing = e == ENOENT || !f->dev_present;
	bool custom = strcmp(path, "/dev/kvm") != 0;
	char what[200], mods[32], minor[16], in_misc[48];
	if (missing)
		snprintf(what, sizeof(what), "%s is missing", path);
	else
		snprintf(what, sizeof(what), "%s cannot be opened (%s)", path, strerror(e));
	modules_seen(f, mods, sizeof(mods));
	/* The node's minor is what the kernel registered, not always 232. */
	if (f->misc_kvm_minor >= 0) {
		snprintf(minor, sizeof(minor), "%d", f->misc_kvm_minor);
		snprintf(in_misc, sizeof(in_misc), "misc minor %d in /proc/misc", f->misc_kvm_minor);
	} else {
		snprintf(minor, sizeof(minor), "MINOR");
		snprintf(in_misc, sizeof(in_misc), "kvm in /proc/misc");
	}

	if (missing && custom && f->misc_kvm != FACT_NO) {
		/* --kvm-device named a path that is not there. */
		say(reason, "%s", what);
		say(fix, "point --kvm-device at an existing KVM device%s%s%s, or leave it out to use /dev/kvm",
		    f->misc_kvm_minor >= 0 ? " (char 10:" : "", f->misc_kvm_minor >= 0 ? minor : "",
		    f->misc_kvm_minor >= 0 ? ")" : "");
	} else if (f->misc_kvm == FACT_YES && missing) {
		say(reason, "%s although the kernel registered the KVM device (%s)", what, in_misc);
		say(fix, "create it as root: mknod /dev/kvm c 10 %s && chgrp kvm /dev/kvm && chmod 660 /dev/kvm; "
			 "or pass /dev/kvm into this container", minor);
	} else if (f->misc_kvm == FACT_YES) {
		say(reason, "%s although the kernel registered the KVM device (%s)", what, in_misc);
		say(fix, "check that `ls -l %s` is char 10:%s and see `dmesg | grep -i kvm`; or " LAB_FIX, path, minor);
	} else if (!mods[0]) {
		char lack[200];
		cpu_lack(f, lack, sizeof(lack));
		say(reason, "%s: this kernel has no KVM (no /sys/module/kvm%s)%s%s", what,
		    f->misc_kvm == FACT_NO ? ", no kvm in /proc/misc" : "", lack[0] ? ", and " : "", lack);
		fix_no_device(f, false, fix);
	} else if (f->misc_kvm == FACT_NO) {
		no_device_problem(f, what, mods, reason, fix);
	} else if (missing) {
		/* /proc/misc not read: either way may be true. */
		say(reason, "%s although the kernel has KVM (%s in /sys/module); /proc/misc was not read, so whether "
			    "it registered a KVM device is unknown", what, mods);
		say(fix, "if `grep -w kvm /proc/misc` shows MINOR kvm: mknod /dev/kvm c 10 MINOR && chgrp kvm /dev/kvm && "
			 "chmod 660 /dev/kvm, or pass /dev/kvm into this container; if not, see `dmesg | grep -i kvm`, or "
			 LAB_FIX);
	} else {
		say(reason, "%s", what);
		say(fix, "check `ls -l %s` and `dmesg | grep -i kvm`, or " LAB_FIX, path);
	}
	return true;
}

/* /dev/kvm present and openable read-write. */
static bool check_device(const struct host_facts *f, struct nested_verdict *v)
{
	char reason[NESTED_CHECK_LINE], fix[NESTED_CHECK_LINE];
	if (!device_problem(f, reason, fix))
		return true;
	struct nested_problem *p = add(v, false);
	memcpy(p->reason, reason, sizeof(reason));
	memcpy(p->fix, fix, sizeof(fix));
	return false;
}

/* What KVM itself says: API version and the capabilities nestvm needs. */
static void check_kvm_api(const struct host_facts *f, struct nested_verdict *v)
{
	if (f->api_version >= 0 && f->api_version != KVM_API_VERSION) {
		struct nested_problem *p = add(v, false);
		say(p->reason, "%s speaks KVM API %d, nestvm needs %d", f->dev_path, f->api_version, KVM_API_VERSION);
		say(p->fix, "use a Linux kernel with the standard KVM API, or " LAB_FIX);
		return;
	}
	static const enum host_cap needed[] = { HOST_CAP_USER_MEMORY, HOST_CAP_IRQCHIP, HOST_CAP_EXT_CPUID };
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		if (f->caps[needed[i]] == 0) {
			struct nested_problem *p = add(v, false);
			say(p->reason, "KVM lacks the %s capability, which nestvm needs", host_facts_cap_name(needed[i]));
			say(p->fix, "use a newer Linux kernel, or " LAB_FIX);
		}
}

/* The real answer: does KVM offer VMX/SVM in the CPUID it gives guests? */
static void check_guest_cpuid(const struct host_facts *f, struct nested_verdict *v)
{
	if (f->guest_vmx == FACT_YES || f->guest_svm == FACT_YES)
		return;
	struct vendor_words w = vendor_words(f);
	const char *m = host_facts_module_name(f->kvm_module);
	struct nested_problem *p = add(v, false);
	if (f->guest_vmx == FACT_UNKNOWN && f->guest_svm == FACT_UNKNOWN)
		say(p->reason, "KVM_GET_SUPPORTED_CPUID could not be read, so it is not known whether KVM offers %s to guests",
		    w.ext);
	else
		say(p->reason, "KVM_GET_SUPPORTED_CPUID does not offer %s to guests although %s is loaded%s%s",
		    w.ext, m ? m : "KVM", f->kvm_nested[0] ? " with nested=" : "", f->kvm_nested);
	if (m)
		say(p->fix, "reload it with nesting on (modprobe -r %s && modprobe %s nested=1) and see `dmesg | grep -i %s` for why it is off",
		    m, m, m);
	else
		say(p->fix, "see `dmesg | grep -i kvm`");
}

static void check_warnings(const struct host_facts *f, struct nested_verdict *v)
{
	if (nested_check_backend(f) != NESTED_BACKEND_HARDWARE)
		return;
	if (f->caps[HOST_CAP_NESTED_STATE] == 0) {
		struct nested_problem *p = add(v, true);
		say(p->reason, "KVM has no nested state (KVM_CAP_NESTED_STATE = 0): nested guests run, "
			       "but a VM running them cannot be snapshotted or migrated");
		say(p->fix, "a newer Linux kernel on this host (nested state: 4.19 for kvm_intel, 5.10 for kvm_amd)");
	}
	bool paging_known = f->cpu_svm || f->cpuinfo_virt != FACT_UNKNOWN; /* EPT comes from cpuinfo */
	if ((f->cpu_vmx || f->cpu_svm) && paging_known && !strcmp(host_facts_paging(f), "none")) {
		struct nested_problem *p = add(v, true);
		const char *sl = f->cpu_vmx ? "EPT" : "NPT";
		say(p->reason, "the CPU has no %s: nested guests run with shadow paging, slowly", sl);
		say(p->fix, f->under_hypervisor ? "give this VM a CPU model with %s (e.g. -cpu host)"
						: "use a CPU with %s", f->cpu_vmx ? "ept" : "npt");
	}
}

void nested_check_evaluate(const struct host_facts *f, struct nested_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->supported = true;
	enum nested_backend be = nested_check_backend(f);
	bool pvm = be == NESTED_BACKEND_PARAVIRTUAL;
	/* kvm_pvm that registered no device: there is no paravirtual /dev/kvm
	 * to describe; the missing device is the first problem. */
	bool pvm_no_device = pvm && f->dev_errno != 0 && f->misc_kvm == FACT_NO;
	if (pvm_no_device)
		check_device(f, v);
	else if (pvm)
		check_paravirtual(f, v);
	bool cpu_ok = check_cpu(f, v);
	/* Without usable extensions, a missing kvm module or /dev/kvm only
	 * follows from that; kvm_pvm has both without them. */
	if (pvm ? !pvm_no_device : cpu_ok && check_module(f, v)) {
		if (check_device(f, v))
			check_kvm_api(f, v);
	}
	if (v->supported && be == NESTED_BACKEND_HARDWARE)
		check_guest_cpuid(f, v);
	check_warnings(f, v);
}

/* The first problem that is not a warning, as one line. */
static int first_error(const struct nested_verdict *v, char *msg, size_t n)
{
	for (unsigned i = 0; i < v->nproblems; i++)
		if (!v->problems[i].warning) {
			snprintf(msg, n, "%s; fix: %s", v->problems[i].reason, v->problems[i].fix);
			return -1;
		}
	return 0;
}

int nested_check_run_error(const struct host_facts *f, char *msg, size_t n)
{
	struct nested_verdict v;
	nested_check_evaluate(f, &v);
	if (n)
		msg[0] = '\0';
	if (v.supported)
		return 0;
	first_error(&v, msg, n);
	return -1;
}

int nested_check_kvm_error(const struct host_facts *f, char *msg, size_t n)
{
	struct nested_verdict v;
	memset(&v, 0, sizeof(v));
	v.supported = true;
	if (n)
		msg[0] = '\0';
	if (check_device(f, &v))
		check_kvm_api(f, &v);
	return first_error(&v, msg, n);
}
