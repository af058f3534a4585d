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

struct loaded_files {
	uint8_t *kernel, *initrd;
	size_t kernel_len, initrd_len;
};

static int load_files(const struct vm_launch_options *o, struct loaded_files *f, struct nv_err *err)
{
	char def_kernel[PATH_MAX], def_initrd[PATH_MAX];
	const char *kernel = o->kernel, *initrd = o->initrd;
	if (!kernel) {
		if (guest_default_paths(def_kernel, def_initrd, sizeof(def_kernel), err) < 0)
			return -1;
		kernel = def_kernel;
		if (!initrd)
			initrd = def_initrd;
	}
	if (guest_file_read(kernel, "kernel", o->memory, &f->kernel, &f->kernel_len, err) < 0)
		return -1;
	if (initrd && guest_file_read(initrd, "initrd", o->memory, &f->initrd, &f->initrd_len, err) < 0)
		return -1;
	return 0;
}

/* With the extensions exposed, the default guest also gets the nested
 * support disk (read-only, the last disk) and is told which one it is. */
static void add_nested_support(const struct vm_launch_options *o, struct vm_launch_state *st,
			       struct machine_config *cfg, const char **append)
{
	if (!o->nested || o->kernel || cfg->ndisks >= MACHINE_MAX_DISKS)
		return;
	if (guest_nested_image_path(st->nested_image, sizeof(st->nested_image)) < 0) {
		snprintf(st->note, sizeof(st->note), "no nested support disk (guest/build-nested); the guest "
			 "gets the extensions but not nestvm and the kvm modules");
		return;
	}
	unsigned idx = cfg->ndisks;
	cfg->disks[cfg->ndisks++] = (struct machine_disk){ .path = st->nested_image, .readonly = true };
	snprintf(st->append, sizeof(st->append), "%s%snestvm.nested=vd%c", *append ? *append : "",
		 *append ? " " : "", 'a' + idx);
	*append = st->append;
}

static int nic_reconnect(void *opaque)
{
	struct vm_launch_port *p = opaque;
	/* Starts the switch's daemon again if it died; quiet on failure (the
	 * device retries every second while the link is down). */
	return port_client_connect(p->switch_name, &p->hello, NULL, 0, NULL);
}

/* Connects every adapter to its switch before the VM starts. 0, or -1 with
 * err (the fds connected so far are closed). */
static int connect_nics(const struct vm_launch_options *o, struct vm_launch_state *st,
			struct machine_config *cfg, struct nv_err *err)
{
	char fallback[32];
	const char *vm_name = o->name;
	if (!vm_name) {
		snprintf(fallback, sizeof(fallback), "vm-%ld", (long)getpid());
		vm_name = fallback;
	}
	for (unsigned i = 0; i < o->nnics; i++) {
		const struct nic_spec *s = &o->nics[i];
		struct vm_launch_port *p = &st->ports[i];
		snprintf(p->switch_name, sizeof(p->switch_name), "%s", s->switch_name);
		snprintf(p->vm_name, sizeof(p->vm_name), "%s", vm_name);
		p->hello = (struct port_hello){ .vm = p->vm_name, .adapter = i, .mac_spoofing = s->mac_spoofing };
		if (s->has_mac)
			p->hello.mac = s->mac;
		else
			mac_generate(vm_name, i, &p->hello.mac);
		int fd = port_client_connect(p->switch_name, &p->hello, NULL, 0, err);
		if (fd < 0) {
			for (unsigned j = 0; j < i; j++)
				close(cfg->nics[j].fd);
			return -1;
		}
		cfg->nics[i] = (struct machine_nic){
			.mac = p->hello.mac, .fd = fd, .reconnect = nic_reconnect, .reconnect_opaque = p,
		};
	}
	cfg->nnics = o->nnics;
	return 0;
}

/* Every input, before anything touches KVM, so that a bad file or name is
 * what the user hears about on any host, with or without a usable KVM. */
static int check_input(const struct vm_launch_options *o, const struct machine_config *cfg,
		       const struct loaded_files *f, struct nv_err *err)
{
	struct x86_boot_params_in bin = {
		.kernel = f->kernel, .kernel_len = f->kernel_len,
		.initrd = f->initrd, .initrd_len = f->initrd_len,
		.cmdline = cfg->cmdline,
	};
	if (x86_boot_check(o->memory, &bin, err) < 0)
		return -1;
	for (unsigned i = 0; i < cfg->ndisks; i++)
		if (virtio_blk_check_image(cfg->disks[i].path, cfg->disks[i].readonly, err) < 0)
			return -1;
	for (unsigned i = 0; i < o->nnics; i++)
		if (!switch_exists(o->nics[i].switch_name))
			return nv_err_input(err, "no switch named %s: create it with `nestvm switch create %s "
					    "--type nat` (or private, internal, external)",
					    o->nics[i].switch_name, o->nics[i].switch_name);
	return 0;
}

/* The host, once the input is good: a KVM that can run a VM at all, give it
 * the extensions when asked, and boot a Linux kernel (a paravirtual KVM
 * cannot: such a boot hangs instead of failing). Refusals are NV_ERR_INPUT:
 * the user's choice of host or options, said with the fix. */
static int check_host(const struct vm_launch_options *o, const char *kvm_path, struct nv_err *err)
{
	struct host_facts hf;
	char why[1024];
	host_facts_gather(&hf, NULL, kvm_path);
	if (nested_check_kvm_error(&hf, why, sizeof(why)) < 0)
		return nv_err_input(err, "%s", why);
	if (o->nested && nested_check_run_error(&hf, why, sizeof(why)) < 0)
		return nv_err_input(err, "--expose-virtualization-extensions: %s", why);
	if (nested_check_backend(&hf) == NESTED_BACKEND_PARAVIRTUAL && !o->pvm_kernel)
		return nv_err_input(err, "%s is a paravirtual KVM (kvm_pvm), on which a stock Linux kernel "
				    "does not boot; fix: run the VM inside the emulated lab host (nestvm lab -- "
				    "nestvm run ...), or pass --pvm-kernel if this kernel is built for PVM", kvm_path);
	return 0;
}

struct machine *vm_launch(const struct vm_launch_options *o, struct vm_launch_state *st,
			  struct nv_err *err)
{
	memset(st, 0, sizeof(*st));
	struct machine_config cfg = {
		.kvm_path = o->kvm_device ? o->kvm_device : "/dev/kvm",
		.cmdline = st->cmdline,
		.ram_bytes = o->memory,
		.ncpus = o->cpus,
		.ndisks = o->ndisks,
		.expose_virtualization_extensions = o->nested,
		.console_fd = o->console_fd,
	};
	memcpy(cfg.disks, o->disks, sizeof(o->disks[0]) * o->ndisks);
	const char *append = o->append;
	add_nested_support(o, st, &cfg, &append);
	struct loaded_files files = { 0 };
	struct machine *m = NULL;
	if (load_files(o, &files, err) < 0 ||
	    kernel_cmdline_build(st->cmdline, sizeof(st->cmdline), append, o->command, o->command_argc, err) < 0 ||
	    check_input(o, &cfg, &files, err) < 0 || check_host(o, cfg.kvm_path, err) < 0 ||
	    connect_nics(o, st, &cfg, err) < 0)
		goto out;
	cfg.kernel = files.kernel;
	cfg.kernel_len = files.kernel_len;
	cfg.initrd = files.initrd;
	cfg.initrd_len = files.initrd_len;
	m = machine_create(&cfg, err); /* owns the nic fds from here on */
out:
	/* The kernel and initrd now live in guest memory (or nowhere). */
	free(files.kernel);
	free(files.initrd);
	return m;
}
