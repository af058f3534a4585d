#include "vmm/vm_launch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/boot.h"
#include "dev/virtio/blk.h"
#include "host/host_facts.h"
#include "host/nested_check.h"
#include "net/switch_launch.h"
#include "vmm/guest_files.h"
#include "vmm/image_boot.h"
#include "vmm/machine_state.h"

struct loaded_files {
	uint8_t *kernel, *initrd;
	size_t kernel_len, initrd_len;
};

/* The kernel and initrd: --kernel and --initrd, else the first disk's own
 * (ib non-NULL: taken over from it; --initrd still wins), else the
 * default guest's. */
static int load_files(const struct vm_config *c, struct image_boot *ib, struct loaded_files *f,
		      struct nv_err *err)
{
	char def_kernel[PATH_MAX], def_initrd[PATH_MAX];
	const char *kernel = c->kernel, *initrd = c->initrd[0] ? c->initrd : NULL;
	uint64_t memory = vm_config_ram_mib(c) << 20;
	if (ib) {
		f->kernel = ib->found.kernel;
		f->kernel_len = ib->found.kernel_len;
		ib->found.kernel = NULL;
		if (!initrd) {
			f->initrd = ib->found.initrd;
			f->initrd_len = ib->found.initrd_len;
			ib->found.initrd = NULL;
			return 0;
		}
		return guest_file_read(initrd, "initrd", memory, &f->initrd, &f->initrd_len, err);
	}
	if (!kernel[0]) {
		if (guest_default_paths(def_kernel, def_initrd, sizeof(def_kernel), err) < 0)
			return -1;
		kernel = def_kernel;
		if (!initrd)
			initrd = def_initrd;
	}
	if (guest_file_read(kernel, "kernel", memory, &f->kernel, &f->kernel_len, err) < 0)
		return -1;
	if (initrd && guest_file_read(initrd, "initrd", memory, &f->initrd, &f->initrd_len, err) < 0)
		return -1;
	return 0;
}

/* The caller's archive after the initrd, which the kernel unpacks next:
 * archives start on 4-byte boundaries, so the initrd is padded first. */
static int append_initrd(struct loaded_files *f, const uint8_t *extra, size_t len, struct nv_err *err)
{
	if (!len)
		return 0;
	size_t at = (f->initrd_len + 3) & ~(size_t)3;
	uint8_t *d = realloc(f->initrd, at + len);
	if (!d)
		return nv_err_host(err, "out of memory for the initrd");
	memset(d + f->initrd_len, 0, at - f->initrd_len);
	memcpy(d + at, extra, len);
	f->initrd = d;
	f->initrd_len = at + len;
	return 0;
}

/* A cloud-init seed is one more disk, read-only, right after the VM's
 * own (before the nested support disk): the launched settings hold it as
 * a disk, so a saved or migrated VM is rebuilt with it where it was. */
static void add_cloud_init_seed(struct vm_launch_state *st)
{
	struct vm_config *c = &st->config;
	if (!vm_config_has_seed(c) || c->ndisks >= VM_MAX_DISKS) /* validated: it fits */
		return;
	struct vm_disk *d = &c->disks[c->ndisks++];
	memcpy(d->path, c->cloud_init.seed, sizeof(d->path));
	d->readonly = true;
	memset(&c->cloud_init, 0, sizeof(c->cloud_init));
}

/* With the extensions exposed, the default guest also gets the nested
 * support disk (read-only, the last disk) and is told which one it is. An
 * image's own system loads its own kvm modules. */
static void add_nested_support(struct vm_launch_state *st, bool from_image)
{
	struct vm_config *c = &st->config;
	if (!c->expose_virtualization_extensions || c->kernel[0] || from_image ||
	    c->ndisks >= VM_MAX_DISKS)
		return;
	struct vm_disk *d = &c->disks[c->ndisks];
	if (guest_nested_image_path(d->path, sizeof(d->path)) < 0) {
		snprintf(st->note, sizeof(st->note), "no nested support disk (guest/build-nested); the guest "
			 "gets the extensions but not nestvm and the kvm modules");
		return;
	}
	d->readonly = true;
	snprintf(st->append, sizeof(st->append), "%s%snestvm.nested=vd%c", c->append,
		 c->append[0] ? " " : "", 'a' + c->ndisks);
	c->ndisks++;
}

/* Dynamic memory: the guest's RAM is the maximum and a balloon, its own
 * unless the VM already has one, holds what is not assigned. */
static void add_dynamic_balloon(struct vm_launch_state *st)
{
	struct vm_config *c = &st->config;
	if (!c->dynamic_memory_enabled || vm_config_has_device(c, "balloon") || c->ndevices >= VM_MAX_DEVICES)
		return;
	snprintf(c->devices[c->ndevices++], sizeof(c->devices[0]), "balloon");
}

static int nic_reconnect(void *opaque)
{
	struct vm_launch_port *p = opaque;
	/* The switch's daemon again if it died (the starter's job: this
	 * thread starts no process); quiet on failure (the device retries
	 * every second while the link is down). */
	if (!switch_running(p->switch_name))
		switch_starter_ensure(p->starter, p->switch_name);
	return port_client_attach(p->switch_name, &p->hello, NULL, 0, NULL);
}

/* Names validated to fit (vm_config_validate); cut, never overrun. */
static void copy_name(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Connects every adapter to its switch before the VM starts. 0, or -1 with
 * err (the fds connected so far are closed). */
static int connect_nics(struct vm_launch_state *st, struct machine_resources *r, struct nv_err *err)
{
	const struct vm_config *c = &st->config;
	/* Forked now, before guest memory exists. */
	if (c->nnics > 0 && !st->starter.pid && switch_starter_open(&st->starter, err) < 0)
		return -1;
	for (unsigned i = 0; i < c->nnics; i++) {
		const struct vm_nic *n = &c->nics[i];
		struct vm_launch_port *p = &st->ports[i];
		copy_name(p->switch_name, sizeof(p->switch_name), n->switch_name);
		copy_name(p->vm_name, sizeof(p->vm_name), c->name);
		p->hello = (struct port_hello){
			.vm = p->vm_name, .adapter = i, .mac = n->mac, .mac_spoofing = n->mac_spoofing,
		};
		p->starter = &st->starter;
		int fd = port_client_connect(p->switch_name, &p->hello, NULL, 0, err);
		if (fd < 0) {
			for (unsigned j = 0; j < i; j++)
				close(r->nics[j].fd);
			return -1;
		}
		r->nics[i] = (struct machine_nic){ .fd = fd, .reconnect = nic_reconnect, .reconnect_opaque = p };
	}
	return 0;
}

/* The host's RAM and swap, MiB (/proc/meminfo; sysconf's RAM alone if it
 * cannot be read). */
static uint64_t host_memory_mib(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
	uint64_t ram = pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size >> 20 : UINT64_MAX, swap = 0;
	FILE *f = fopen("/proc/meminfo", "re");
	char line[128];
	unsigned long long kib;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "SwapTotal: %llu kB", &kib) == 1)
			swap = kib >> 10;
	if (f)
		fclose(f);
	return ram == UINT64_MAX ? ram : ram + swap;
}

/* What the settings name outside the VM: its disks and switches. */
static int check_references(const struct vm_config *c, struct nv_err *err)
{
	for (unsigned i = 0; i < c->ndisks; i++)
		if (virtio_blk_check_image(c->disks[i].path, c->disks[i].readonly, err) < 0)
			return -1;
	for (unsigned i = 0; i < c->nnics; i++)
		if (!switch_exists(c->nics[i].switch_name))
			return nv_err_input(err, "no switch named %s: create it with `nestvm switch create %s "
					    "--type nat` (or private, internal, external)",
					    c->nics[i].switch_name, c->nics[i].switch_name);
	return 0;
}

/* Every input, before anything touches KVM, so that a bad file or name is
 * what the user hears about on any host, with or without a usable KVM. */
static int check_input(const struct vm_config *c, const struct loaded_files *f, const char *cmdline,
		       const char *kernel_from, struct nv_err *err)
{
	if (vm_config_validate(c, NULL, err) < 0)
		return -1;
	uint64_t host = host_memory_mib(), ram = vm_config_ram_mib(c);
	if (host != UINT64_MAX && ram > host * VM_MEMORY_OVERCOMMIT_MAX)
		return nv_err_input(err, "%s %llu MiB is more than %d times what this host has (%llu MiB "
				    "of RAM and swap): guest RAM is given as it is touched, but not that much",
				    c->dynamic_memory_enabled ? "--memory-max" : "--memory", (unsigned long long)ram,
				    VM_MEMORY_OVERCOMMIT_MAX, (unsigned long long)host);
	struct x86_boot_params_in bin = {
		.kernel = f->kernel, .kernel_len = f->kernel_len,
		.initrd = f->initrd, .initrd_len = f->initrd_len,
		.cmdline = cmdline,
	};
	if (x86_boot_check(ram << 20, &bin, err) < 0) {
		if (kernel_from) { /* the user named no kernel: say whose it is */
			char why[sizeof(err->msg)];
			memcpy(why, err->msg, sizeof(why));
			nv_err_input(err, "%.700s: %s", kernel_from, why);
		}
		return -1;
	}
	if (vm_config_has_share(c) && virtiofsd_check(err) < 0)
		return -1;
	return check_references(c, err);
}

/* The host, once the input is good: a KVM that can run a VM at all, give it
 * the extensions when asked, and boot a Linux kernel (a paravirtual KVM
 * cannot: such a boot hangs instead of failing). Refusals are NV_ERR_INPUT:
 * the user's choice of host or options, said with the fix. */
static int check_host(const struct vm_config *c, const struct vm_launch_options *o,
		      const char *kvm_path, struct nv_err *err)
{
	struct host_facts hf;
	char why[1024];
	host_facts_gather(&hf, NULL, kvm_path);
	/* Asked for the extensions, the user hears first why they cannot be
	 * had (a missing /dev/kvm is among those reasons). */
	if (c->expose_virtualization_extensions && nested_check_run_error(&hf, why, sizeof(why)) < 0)
		return nv_err_input(err, "--expose-virtualization-extensions: %s", why);
	if (nested_check_kvm_error(&hf, why, sizeof(why)) < 0)
		return nv_err_input(err, "%s", why);
	if (nested_check_backend(&hf) == NESTED_BACKEND_PARAVIRTUAL && !o->pvm_kernel)
		return nv_err_input(err, "%s is a paravirtual KVM (kvm_pvm), on which a stock Linux kernel "
				    "does not boot; fix: run the VM inside the emulated lab host (nestvm lab -- "
				    "nestvm run ...), or pass --pvm-kernel if this kernel is built for PVM", kvm_path);
	return 0;
}

/* A saved machine: its settings as it was launched (the support disk
 * included), the files it needs now (disks, switches), the host. */
static int disks_from_caller(struct vm_config *saved, const struct vm_config *caller,
			     struct nv_err *err)
{
	/* The saved settings may have one more: the nested support disk. */
	if (caller->ndisks > saved->ndisks)
		return nv_err_input(err, "VM %s has more disks than when it was saved", caller->name);
	for (unsigned i = 0; i < caller->ndisks; i++) {
		if (caller->disks[i].readonly != saved->disks[i].readonly)
			return nv_err_input(err, "VM %s's disk %u is not as it was when the VM was saved",
					    caller->name, i);
		memcpy(saved->disks[i].path, caller->disks[i].path, sizeof(saved->disks[i].path));
	}
	return 0;
}

struct machine *vm_launch_saved_prepare(const struct vm_config *caller, const struct vm_launch_options *o,
					const struct vm_config *saved_config, int memory_fd,
					struct vm_launch_state *st, struct nv_err *err)
{
	memset(st, 0, sizeof(*st));
	virtiofsd_set_init(&st->shares); /* a saved VM has none */
	st->config = *saved_config;
	if (o->name_from_caller)
		memcpy(st->config.name, caller->name, sizeof(st->config.name));
	if (o->disk_paths_from_caller && disks_from_caller(&st->config, caller, err) < 0)
		return NULL;
	struct machine_resources r = {
		.kvm_path = o->kvm_device ? o->kvm_device : "/dev/kvm",
		.cmdline = st->cmdline,
		.console_fd = o->console_fd,
		.stdio_demux = o->stdio_demux,
		.stderr_fd = o->stderr_fd,
		.from_saved = true,
		.saved_memory_fd = memory_fd,
	};
	const struct vm_config *c = &st->config;
	if (vm_config_validate(c, NULL, err) < 0 || check_references(c, err) < 0 || check_host(c, o, r.kvm_path, err) < 0 || connect_nics(st, &r, err) < 0)
		return NULL;
	return machine_create(c, &r, err);
}

static struct machine *launch_saved(const struct vm_config *caller, const struct vm_launch_options *o,
				    struct vm_launch_state *st, struct nv_err *err)
{
	struct machine *m = vm_launch_saved_prepare(caller, o, &o->saved->config, o->saved->memory_fd, st, err);
	if (m && machine_restore(m, o->saved, err) < 0) {
		machine_destroy(m);
		return NULL;
	}
	return m;
}

void vm_launch_end(struct vm_launch_state *st)
{
	virtiofsd_set_stop(&st->shares);
}

struct machine *vm_launch(const struct vm_config *c, const struct vm_launch_options *o,
			  struct vm_launch_state *st, struct nv_err *err)
{
	if (o->saved)
		return launch_saved(c, o, st, err);
	memset(st, 0, sizeof(*st));
	st->config = *c;
	virtiofsd_set_init(&st->shares);
	struct image_boot ib;
	int from_image = image_boot_find(c, &ib, err);
	if (from_image < 0)
		return NULL;
	if (from_image && o->command) {
		nv_err_input(err, "%s boots its own system (%.600s): a command runs in the default guest "
			     "only; give --kernel, or no command", c->disks[0].path, ib.from);
		image_boot_free(&ib);
		return NULL;
	}
	if (from_image) {
		/* The image's command line, then --append: later parameters win. */
		const char *own = ib.found.cmdline;
		if (strlen(own) + 1 + strlen(c->append) >= sizeof(st->append)) {
			image_boot_free(&ib);
			nv_err_input(err, "%s: its kernel command line and --append together are longer "
				     "than %zu bytes", c->disks[0].path, sizeof(st->append) - 1);
			return NULL;
		}
		size_t n = strlen(own);
		memcpy(st->append, own, n);
		if (n && c->append[0])
			st->append[n++] = ' ';
		memcpy(st->append + n, c->append, strlen(c->append) + 1);
	} else {
		snprintf(st->append, sizeof(st->append), "%s", c->append);
	}
	add_cloud_init_seed(st);
	add_nested_support(st, from_image);
	if (o->warm_boot) {
		size_t n = strlen(st->append);
		snprintf(st->append + n, sizeof(st->append) - n, "%s%s", n ? " " : "", KERNEL_CMDLINE_WARM);
	}
	add_dynamic_balloon(st);
	struct machine_resources r = {
		.kvm_path = o->kvm_device ? o->kvm_device : "/dev/kvm",
		.cmdline = st->cmdline,
		.console_fd = o->console_fd,
		.stdio_demux = o->stdio_demux,
		.stderr_fd = o->stderr_fd,
	};
	const struct vm_config *eff = &st->config;
	struct loaded_files files = { 0 };
	struct machine *m = NULL;
	if (load_files(eff, from_image ? &ib : NULL, &files, err) < 0 ||
	    append_initrd(&files, o->initrd_extra, o->initrd_extra_len, err) < 0 ||
	    kernel_cmdline_build(st->cmdline, sizeof(st->cmdline), st->append[0] ? st->append : NULL,
				 o->warm_boot ? NULL : o->command, o->warm_boot ? 0 : o->command_argc, err) < 0 ||
	    check_input(eff, &files, st->cmdline, from_image ? ib.from : NULL, err) < 0 || check_host(eff, o, r.kvm_path, err) < 0 ||
	    connect_nics(st, &r, err) < 0)
		goto out;
	/* All of them before the machine: its devices' handshakes need them. */
	if (virtiofsd_set_start(&st->shares, eff->shares, eff->nshares, r.share_fds, err) < 0) {
		for (unsigned i = 0; i < eff->nnics; i++) /* machine_create would have owned them */
			close(r.nics[i].fd);
		goto out;
	}
	r.kernel = files.kernel;
	r.kernel_len = files.kernel_len;
	r.initrd = files.initrd;
	r.initrd_len = files.initrd_len;
	m = machine_create(eff, &r, err); /* owns the nic and share fds from here on */
	/* It boots with its startup memory assigned: the balloon's target is
	 * there before the driver reads it. */
	if (m && eff->dynamic_memory_enabled && machine_set_memory_target(m, eff->memory_mib, err) < 0) {
		machine_destroy(m);
		m = NULL;
	}
out:
	if (!m)
		virtiofsd_set_stop(&st->shares); /* their connections are closed by now */
	/* The kernel and initrd now live in guest memory (or nowhere). */
	free(files.kernel);
	free(files.initrd);
	if (m && from_image && !st->note[0]) /* what it boots, since the user named no kernel */
		snprintf(st->note, sizeof(st->note), "booting the image's own kernel: %.200s", ib.from);
	if (from_image)
		image_boot_free(&ib);
	return m;
}
