/* `nestvm run`: one process runs one VM in the foreground. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/run_end.h"
#include "cli/vm_options.h"
#include "cli/vm_seed.h"
#include "confine/confine.h"
#include "confine/identity.h"
#include "dev/virtio/virtio_device.h"
#include "mgmt/vm_migration_check.h"
#include "util/state_dir.h"
#include "util/parse.h"
#include "vmm/exit_status.h"
#include "vmm/machine.h"
#include "state/migration_channel.h"
#include "vmm/machine_state.h"
#include "vmm/migration_disks.h"
#include "vmm/migration_receive.h"
#include "vmm/runner.h"
#include "vmm/terminal.h"
#include "vmm/vm_launch.h"
#include "vmm/warm_start.h"

/* What `run` takes besides the VM's settings, which go straight into a
 * transient record of the one schema (mgmt/vm_config.h). */
struct run_args {
	struct vm_config vm;
	struct vm_launch_options launch;
	const char *name;
	const char *save_dir;    /* --save-on-exit */
	const char *restore_dir; /* --restore */
	const char *incoming;    /* --incoming */
	char storage_path[VM_PATH_MAX]; /* --storage-path, absolute ("" none) */
	const char *run_as;      /* --run-as */
	bool cold;               /* --cold */
	bool settings_given;     /* any option --restore replaces */
	bool memory_given;
	const char *nics[VM_MAX_NICS];
	unsigned nnics;
	struct vm_cloud_init_options cloud_init; /* made into a seed once the name is known */
};

static void run_usage(FILE *f)
{
	char devices[128];
	virtio_device_type_option_names(devices, sizeof(devices));
	fprintf(f,
		"usage: nestvm run [OPTIONS] [-- COMMAND [ARGS...]]\n"
		"  --kernel PATH         bzImage or ELF vmlinux (default: the first disk's own kernel,\n"
		"                        initrd and command line when it is a raw or qcow2 image its\n"
		"                        GRUB, BLS entries or /vmlinuz link boot; else the built-in\n"
		"                        default guest)\n"
		"  --initrd PATH         initramfs (default: the image's, or the default guest's own)\n"
		"  --append \"ARGS\"       added to the kernel command line (after an image's own)\n"
		"  --memory SIZE         guest RAM, e.g. 512M, 2G (default 512M, 1G with --nested; a\n"
		"                        bare number is MiB; given as the guest touches it)\n"
		"  --cpus N              vCPUs (default 1)\n"
		"  --disk PATH[,readonly] a raw or qcow2 disk image as virtio-blk (repeatable)\n"
		"  --nic switch=NAME[,mac=MAC][,mac-spoofing=on|off]\n"
		"                        a network adapter (virtio-net) on switch NAME (repeatable, up\n"
		"                        to 8); MAC defaults to one derived from --name and the index;\n"
		"                        mac-spoofing=on lets the guest send from other MACs\n"
		"  --device NAME         a virtio device without settings (repeatable): %s\n"
		"  --share DIR:TAG[,readonly]\n"
		"                        share the host folder DIR live with the guest as virtio-fs\n"
		"                        TAG (mount -t virtiofs TAG /mnt), served by Debian's\n"
		"                        virtiofsd (qemu-system-common), which keeps the guest inside\n"
		"                        DIR; readonly: the host refuses writes. Repeatable, up to\n"
		"                        8, each with a tag of its own; such a VM cannot be saved or\n"
		"                        migrated yet\n"
		"  --dynamic-memory on   the guest starts with --memory and is given what it uses,\n"
		"                        plus a buffer, within --memory-min SIZE..--memory-max SIZE\n"
		"                        (--memory-buffer PERCENT, --memory-weight N: as for\n"
		"                        `nestvm vm create`)\n"
		"  --user-data FILE      cloud-init user-data (#cloud-config, a script, ...; up to\n"
		"                        1 MiB), passed as is in a NoCloud seed: one more disk,\n"
		"                        read-only, after the VM's own, that a cloud image's\n"
		"                        cloud-init reads at boot (a temporary file; not with\n"
		"                        --save-on-exit)\n"
		"  --ssh-key FILE        an OpenSSH public key file (.pub) for the image's default\n"
		"                        user, in the seed\n"
		"  --hostname NAME       the guest's host name (RFC 1123), in the seed\n"
		"  --name NAME           the VM's name on its switches (default vm-PID; 1-64 of\n"
		"                        A-Z a-z 0-9 _ . -)\n"
		"  --kvm-device PATH     KVM device (default /dev/kvm)\n"
		"  --expose-virtualization-extensions, --nested\n"
		"                        give the guest VT-x/AMD-V so it can run its own VMs\n"
		"  --pvm-kernel          the kernel is built for a paravirtual KVM (kvm_pvm): boot it\n"
		"                        there (without it, such a host refuses a stock kernel)\n"
		"  --save-on-exit DIR    when stopped from the host (a signal, Ctrl-A x) save the VM\n"
		"                        into DIR (vm.state and memory) instead of discarding it\n"
		"  --restore DIR         continue the VM saved in DIR, with its own settings (its\n"
		"                        disks must be as they were when it was saved)\n"
		"  --incoming ADDR       wait at ADDR (unix:PATH or tcp:IPV4:PORT) for a VM that\n"
		"                        `nestvm vm migrate NAME --to ADDR` moves here; the VM\n"
		"                        settings given (--memory, --cpus, --nested, --device,\n"
		"                        --nic) are what this target accepts\n"
	"  --storage-path DIR    with --incoming: the disks a source copies (`vm migrate\n"
	"                        --copy-disks`) are made in DIR under their file names\n"
	"                        (never over an existing file); without it, at the source's\n"
	"                        paths, which must not exist here\n"
		"  --cold                boot the default guest even where it could start from its\n"
		"                        warm-start snapshot (taken at the first run of the same\n"
		"                        settings and files; later runs start from it)\n"
		"  --run-as USER         (root) once the VM is set up (files open, switches joined)\n"
		"                        every thread of the VMM becomes USER (a name, UID or\n"
		"                        UID:GID) with no capabilities; --save-on-exit's DIR must be\n"
		"                        USER's to write\n"
		"With -- COMMAND, the default guest runs COMMAND and nestvm exits with its status.\n"
		"Without, the serial console is attached to this terminal; Ctrl-A x quits.\n"
		"Exit status: the command's; 0 guest power-off; 2 bad input; 3 guest panic or\n"
		"triple fault; 125 VMM failure; 128+N killed by signal N.\n", devices);
}

/* --share DIR:TAG[,readonly], repeatable: the last colon ends DIR (a
 * folder's name may hold colons, a tag cannot). The config refuses a bad
 * or taken tag and a ninth share. */
static int parse_share(struct vm_config *c, const char *spec)
{
	char buf[VM_PATH_MAX + VM_SHARE_TAG_MAX + 16];
	if (snprintf(buf, sizeof(buf), "%s", spec) >= (int)sizeof(buf))
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "--share %.40s...: too long", spec);
	char *colon = strrchr(buf, ':');
	if (!colon || colon == buf)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "--share '%s': give DIR:TAG (e.g. --share /srv/data:data)", spec);
	*colon = '\0';
	char *tag = colon + 1, *comma = strchr(tag, ',');
	bool readonly = false;
	if (comma) {
		*comma = '\0';
		if (strcmp(comma + 1, "readonly") != 0)
			return cli_fail(NESTVM_EXIT_BAD_INPUT, "--share '%s': unknown setting '%s' (only readonly)",
					spec, comma + 1);
		readonly = true;
	}
	char dir[VM_PATH_MAX];
	int st = vm_option_folder("--share", buf, dir, sizeof(dir));
	if (st)
		return st;
	struct nv_err e = { 0 };
	if (vm_config_add_share(c, dir, tag, readonly, &e) < 0)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "--share '%s': %s", spec, e.msg);
	return 0;
}

/* Returns -1 to go on, or an exit status. */
static int parse_args(int argc, char **argv, struct run_args *a)
{
	enum { O_KERNEL = 256, O_INITRD, O_APPEND, O_MEMORY, O_CPUS, O_DISK, O_KVM, O_NESTED, O_NIC, O_DEVICE,
	       O_SHARE, O_NAME, O_PVM_KERNEL, O_SAVE_ON_EXIT, O_RESTORE, O_RUN_AS, O_COLD,
	       O_INCOMING, O_STORAGE_PATH };
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, O_KERNEL },
		{ "initrd", required_argument, NULL, O_INITRD },
		{ "append", required_argument, NULL, O_APPEND },
		{ "memory", required_argument, NULL, O_MEMORY },
		{ "cpus", required_argument, NULL, O_CPUS },
		{ "disk", required_argument, NULL, O_DISK },
		{ "kvm-device", required_argument, NULL, O_KVM },
		{ "nic", required_argument, NULL, O_NIC },
		{ "device", required_argument, NULL, O_DEVICE },
		{ "share", required_argument, NULL, O_SHARE },
		{ "name", required_argument, NULL, O_NAME },
		{ "expose-virtualization-extensions", no_argument, NULL, O_NESTED },
		{ "nested", no_argument, NULL, O_NESTED },
		{ "pvm-kernel", no_argument, NULL, O_PVM_KERNEL },
		{ "save-on-exit", required_argument, NULL, O_SAVE_ON_EXIT },
		{ "restore", required_argument, NULL, O_RESTORE },
		{ "run-as", required_argument, NULL, O_RUN_AS },
		{ "cold", no_argument, NULL, O_COLD },
		{ "incoming", required_argument, NULL, O_INCOMING },
		{ "storage-path", required_argument, NULL, O_STORAGE_PATH },
		VM_MEMORY_LONG_OPTIONS,
		VM_CLOUD_INIT_LONG_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	memset(a, 0, sizeof(*a));
	struct vm_memory_options mo = { 0 };
	vm_config_defaults(&a->vm, "");
	a->launch = (struct vm_launch_options){ .kvm_device = "/dev/kvm", .console_fd = STDOUT_FILENO };
	struct vm_config *c = &a->vm;
	opterr = 0;
	optind = 1;
	int o, st = 0;
	while (!st && (o = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		if (o >= O_KERNEL && o <= O_NAME && o != O_KVM)
			a->settings_given = true;
		switch (o) {
		case O_SAVE_ON_EXIT: a->save_dir = optarg; break;
		case O_RESTORE: a->restore_dir = optarg; break;
		case O_INCOMING: a->incoming = optarg; break;
		case O_STORAGE_PATH:
			if ((st = vm_option_folder("--storage-path", optarg, a->storage_path, sizeof(a->storage_path))))
				return st;
			break;
		case O_RUN_AS: a->run_as = optarg; break;
		case O_COLD: a->cold = true; break;
		case O_KERNEL: st = vm_option_file("--kernel", optarg, false, c->kernel, sizeof(c->kernel)); break;
		case O_INITRD: st = vm_option_file("--initrd", optarg, false, c->initrd, sizeof(c->initrd)); break;
		case O_APPEND: st = vm_option_append(c, optarg); break;
		case O_MEMORY:
			st = vm_option_memory(optarg, &c->memory_mib);
			a->memory_given = true;
			break;
		case O_CPUS: st = vm_option_cpus(optarg, &c->cpus); break;
		case O_DISK: st = vm_option_disk(c, optarg, false); break;
		case O_DEVICE: st = vm_option_device(c, optarg); break;
		case O_SHARE: st = parse_share(c, optarg); break;
		case O_NESTED: c->expose_virtualization_extensions = true; break;
		case O_KVM: a->launch.kvm_device = optarg; break;
		case O_PVM_KERNEL: a->launch.pvm_kernel = true; break;
		case O_NAME: a->name = optarg; break;
		case VM_OPT_DYNAMIC:
		case VM_OPT_MEMORY_MIN:
		case VM_OPT_MEMORY_MAX:
		case VM_OPT_MEMORY_BUFFER:
		case VM_OPT_MEMORY_WEIGHT:
			a->settings_given = true;
			st = vm_option_memory_policy(o, optarg, &mo);
			break;
		case VM_OPT_USER_DATA:
		case VM_OPT_SSH_KEY:
		case VM_OPT_HOSTNAME:
			a->settings_given = true;
			st = vm_option_cloud_init(o, optarg, &a->cloud_init);
			break;
		case O_NIC:
			/* Applied once the name is known: MACs derive from it. */
			if (a->nnics == VM_MAX_NICS)
				return cli_fail(NESTVM_EXIT_BAD_INPUT, "at most %d --nic options", VM_MAX_NICS);
			a->nics[a->nnics++] = optarg;
			break;
		case 'h':
			run_usage(stdout);
			return 0;
		case ':':
			return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s needs a value", argv[optind - 1]);
		default:
			return cli_fail(NESTVM_EXIT_BAD_INPUT, "unknown option '%s' (try `nestvm run --help`)", argv[optind - 1]);
		}
	}
	if (st)
		return st;
	if (optind < argc) {
		if (strcmp(argv[optind - 1], "--") != 0)
			return cli_fail(NESTVM_EXIT_BAD_INPUT, "unexpected '%s': put the guest command after --", argv[optind]);
		a->launch.command = argv + optind;
		a->launch.command_argc = argc - optind;
	}
	if (vm_config_has_share(c) && (a->save_dir || a->restore_dir || a->incoming))
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s: a VM with a shared folder cannot be saved yet",
				a->save_dir ? "--save-on-exit" : a->restore_dir ? "--restore" : "--incoming");
	if (a->restore_dir && (a->settings_given || a->launch.command))
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "--restore continues a saved VM with its own settings: "
				"give it no VM settings or command (only --kvm-device, --save-on-exit and --run-as)");
	if (a->incoming && (a->restore_dir || a->launch.command))
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "--incoming continues a migrated VM: give it no --restore or command");
	if (a->save_dir && vm_cloud_init_given(&a->cloud_init))
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "--save-on-exit: run's cloud-init seed is temporary, so the VM "
				"could not be continued: make it a named VM (nestvm vm create NAME --user-data ...)");
	if (a->incoming && vm_cloud_init_given(&a->cloud_init))
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "--user-data, --ssh-key and --hostname make a seed for a VM that "
				"boots: a migrated VM brings its own");
	if (a->storage_path[0] && !a->incoming)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "--storage-path is where --incoming puts copied disks: give --incoming too");
	if (a->incoming) {
		struct mig_addr addr;
		struct nv_err e = { 0 };
		if (mig_addr_parse(a->incoming, &addr, &e) < 0)
			return cli_fail(NESTVM_EXIT_BAD_INPUT, "--incoming: %s", e.msg);
	}
	if (c->expose_virtualization_extensions && !a->memory_given)
		c->memory_mib = VM_NESTED_DEFAULT_MEMORY_MIB;
	vm_config_dynamic_defaults(c); /* for the startup memory now known */
	vm_memory_options_apply(c, &mo);
	if (!c->dynamic_memory_enabled && vm_memory_policy_given(&mo))
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "--memory-min, --memory-max, --memory-buffer and --memory-weight "
				"go with --dynamic-memory on");
	if (a->name && !state_name_valid(a->name, VM_NAME_MAX))
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "--name '%s' is not a valid VM name (1-%d of A-Z a-z 0-9 _ . -, "
				"not starting with . or -)", a->name, VM_NAME_MAX);
	if (a->name)
		snprintf(c->name, sizeof(c->name), "%s", a->name);
	else
		snprintf(c->name, sizeof(c->name), "vm-%ld", (long)getpid());
	for (unsigned i = 0; i < a->nnics; i++)
		if ((st = vm_option_nic(c, a->nics[i])))
			return st;
	if (vm_cloud_init_given(&a->cloud_init) && (st = vm_seed_for_run(c, &a->cloud_init)))
		return st;
	return -1;
}

/* --run-as: who the VMM's threads become once set up. Returns -1 to go
 * on, or an exit status. */
static int set_run_as(const struct run_args *a)
{
	struct identity who;
	struct nv_err err = { 0 };
	if (identity_parse(a->run_as, &who, &err) < 0 || identity_set(&who, &err) < 0)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s", err.msg);
	if (a->save_dir) { /* it is written at the end, as the user */
		char dir[VM_PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", a->save_dir);
		struct stat st;
		if (stat(dir, &st) < 0) { /* created then: its parent must be writable */
			char *slash = strrchr(dir, '/');
			if (slash && slash != dir)
				*slash = '\0';
			else
				snprintf(dir, sizeof(dir), "%s", slash ? "/" : ".");
		}
		if (!identity_can_write(&who, dir))
			return cli_fail(NESTVM_EXIT_BAD_INPUT, "--save-on-exit %s: user %s cannot write in %s",
					a->save_dir, who.name, dir);
	}
	return -1;
}

/* A warm start (vmm/warm_start.h): the snapshot restored, or a boot that
 * takes it. */
struct warm_run {
	bool on;
	bool restored;
	struct warm_start w;
	char *const *command;
	int command_argc;
	char line[WARM_START_LINE_MAX + 1];
};

static bool warm_wanted(const struct run_args *a)
{
	return !a->cold && !vm_config_has_share(&a->vm) && !a->restore_dir && !a->incoming && !a->save_dir && !a->run_as && !a->launch.pvm_kernel &&
	       strcmp(a->launch.kvm_device, "/dev/kvm") == 0 && !warm_start_unsupported(&a->vm);
}

/* Restores the snapshot when there is a good one, else boots to take it
 * (from the set-up's second run on); an unusable snapshot is said, removed
 * and taken again. Where no snapshot can be kept (no state directory), a
 * plain boot. */
static struct machine *warm_launch(struct run_args *a, struct warm_run *wr, struct machine_saved *saved,
				   struct vm_launch_state *launch, struct nv_err *err)
{
	wr->command = a->launch.command;
	wr->command_argc = a->launch.command_argc;
	if (warm_start_prepare(&wr->w, &a->vm, err) < 0) {
		*err = (struct nv_err){ 0 };
		return vm_launch(&a->vm, &a->launch, launch, err);
	}
	if (!warm_start_exists(&wr->w) && !warm_start_seen(&wr->w)) {
		warm_start_free(&wr->w);
		return vm_launch(&a->vm, &a->launch, launch, err);
	}
	wr->on = true;
	/* The line is made again when it is sent (its time); a command too
	 * long for it is refused now. */
	if (warm_start_line(wr->line, sizeof(wr->line), false, wr->command, wr->command_argc, err) < 0)
		return NULL;
	if (warm_start_exists(&wr->w)) {
		struct vm_launch_options o = a->launch;
		o.saved = saved;
		o.name_from_caller = true;
		struct machine *m = NULL;
		if (warm_start_load(&wr->w, saved, err) == 0) {
			m = vm_launch(&a->vm, &o, launch, err);
			if (m || err->kind == NV_ERR_INPUT) {
				wr->restored = m != NULL;
				return m;
			}
		}
		fprintf(stderr, "nestvm: note: warm start: %s; booting and taking a new snapshot\n", err->msg);
		*err = (struct nv_err){ 0 };
		machine_saved_free(saved);
		warm_start_discard(&wr->w);
	}
	a->launch.warm_boot = true;
	return vm_launch(&a->vm, &a->launch, launch, err);
}

/* The guest booted for the snapshot is ready: take it, then its line. */
static void warm_take_snapshot(struct machine *m, void *opaque)
{
	struct warm_run *wr = opaque;
	struct nv_err err = { 0 };
	if (warm_start_save(&wr->w, m, &err) < 0)
		fprintf(stderr, "nestvm: note: warm start: no snapshot taken: %s\n", err.msg);
	if (warm_start_line(wr->line, sizeof(wr->line), false, wr->command, wr->command_argc, &err) < 0)
		snprintf(wr->line, sizeof(wr->line), "\n"); /* the guest says the line is bad */
}

static int warm_runner_options(struct warm_run *wr, struct runner_options *ro, struct nv_err *err)
{
	ro->first_input = wr->line;
	ro->first_input_at = WARM_START_MAILBOX;
	ro->first_input_room = WARM_START_MAILBOX_ROOM;
	if (wr->restored)
		return warm_start_line(wr->line, sizeof(wr->line), true, wr->command, wr->command_argc, err);
	ro->on_ready = warm_take_snapshot;
	ro->ready_opaque = wr;
	return 0;
}

/* The incoming machine, built as soon as the source's record is accepted
 * (KVM's VM, its vCPUs and devices: a large part of a restore, in the lab
 * most of it) while RAM streams in, so that the source's downtime holds
 * only the state's restore. */
struct incoming_build {
	struct run_args *a;
	struct vm_launch_state *st;
	struct vm_config config; /* what it was built from */
	struct machine *m;
};

static int incoming_prepare(void *opaque, const struct vm_config *config, int memory_fd, struct nv_err *err)
{
	struct incoming_build *b = opaque;
	b->config = *config;
	b->m = vm_launch_saved_prepare(&b->a->vm, &b->a->launch, config, memory_fd, b->st, err);
	return b->m ? 0 : -1;
}

static int incoming_disk_write(void *opaque, unsigned index, uint64_t off, const uint8_t *data, uint32_t len,
			       struct nv_err *err)
{
	struct incoming_build *b = opaque;
	return mig_disks_write(b->m, index, off, data, len, err);
}

/* --incoming: the VM's RAM and state from a source, checked against what
 * this command line describes, into b->m. Returns -1 to go on, or an exit
 * status. */
static int receive_incoming(struct run_args *a, struct migration_incoming *in, struct incoming_build *b)
{
	struct nv_err err = { 0 };
	const char *tmp = getenv("TMPDIR");
	const struct migration_prepare prep = { .fn = incoming_prepare, .opaque = b, .disk_write = incoming_disk_write,
						.storage_dir = a->storage_path[0] ? a->storage_path : NULL };
	fprintf(stderr, "nestvm: waiting for a migrating VM at %s\n", a->incoming);
	int rc = migration_receive(a->incoming, -1, &a->vm, tmp && tmp[0] ? tmp : "/tmp", &prep, in, &err);
	/* The state's settings must be those it was built from (the stream
	 * has CONFIG before COMPLETE: no machine here would be a bug). */
	if (rc == 0 && !b->m)
		rc = nv_err_host(&err, "the migration completed without a machine built");
	if (rc == 0 && (vm_migration_check(&b->config, &in->saved.config, &err) < 0 ||
			machine_restore(b->m, &in->saved, &err) < 0))
		rc = -1;
	if (rc < 0) {
		machine_destroy(b->m);
		b->m = NULL;
		migration_incoming_end(in, false, err.msg);
		return cli_fail(err.kind == NV_ERR_HOST ? NESTVM_EXIT_VMM_FAILURE : NESTVM_EXIT_BAD_INPUT,
				"the migration did not arrive: %s", err.msg);
	}
	if (in->ndisk_files)
		fprintf(stderr, "nestvm: received %.1f MB of disk data into %u new files (%s%s)\n",
			in->disk_bytes / 1e6, in->ndisk_files, in->disk_files[0],
			in->ndisk_files > 1 ? ", ..." : "");
	fprintf(stderr, "nestvm: received %llu pages (%llu zeroed again, %llu MB) in %lld ms\n",
		(unsigned long long)in->pages, (unsigned long long)in->zero_pages,
		(unsigned long long)(in->bytes / 1000000), (long long)in->receive_ms);
	return -1;
}

/* The migrated VM runs here: the source may let go of it. */
static void incoming_running(void *opaque)
{
	struct migration_incoming *in = opaque;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	long long ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - in->complete_at_ms;
	migration_incoming_end(in, true, NULL);
	fprintf(stderr, "nestvm: the migrated VM runs here (%lld ms after its last message: the restore)\n", ms);
}

int cmd_run(int argc, char **argv)
{
	static struct run_args a; /* the record is large; one per process */
	int st = parse_args(argc, argv, &a);
	if (st >= 0)
		return st;
	static struct vm_launch_state launch; /* lives as long as the VM */
	struct nv_err err = { 0 };
	if (confine_init(&err) < 0)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s", err.msg);
	if (a.run_as && (st = set_run_as(&a)) >= 0)
		return st;
	static struct machine_saved saved; /* its memory is mapped for the VM's life */
	saved.memory_fd = -1;
	if (a.restore_dir) {
		if (machine_saved_load(a.restore_dir, &saved, &err) < 0)
			return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s", err.msg);
		a.launch.saved = &saved;
	}
	static struct migration_incoming inc = { .fd = -1, .saved = { .memory_fd = -1 } };
	struct incoming_build built = { .a = &a, .st = &launch };
	if (a.incoming && (st = receive_incoming(&a, &inc, &built)) >= 0)
		return st;
	static struct warm_run warm;
	struct machine *m = a.incoming     ? built.m
			    : warm_wanted(&a) ? warm_launch(&a, &warm, &saved, &launch, &err)
					      : vm_launch(&a.vm, &a.launch, &launch, &err);
	vm_seed_run_release(); /* the seed is open as a disk now (or never) */
	/* The memory file is mapped now (or never): its fd is not needed. */
	machine_saved_free(&saved);
	machine_saved_free(&inc.saved);
	if (launch.note[0])
		fprintf(stderr, "nestvm: note: %s\n", launch.note);
	if (!m) {
		if (a.incoming)
			migration_incoming_end(&inc, false, err.msg);
		return cli_fail(err.kind == NV_ERR_HOST ? NESTVM_EXIT_VMM_FAILURE : NESTVM_EXIT_BAD_INPUT, "%s", err.msg);
	}

	struct terminal term;
	bool tty = terminal_enter_raw(&term, STDIN_FILENO) == 0;
	static char note[VM_PATH_MAX + 64];
	if (a.restore_dir)
		snprintf(note, sizeof(note), "nestvm: continuing the VM saved in %s", a.restore_dir);
	struct runner_options ro = { .input_fd = STDIN_FILENO, .escape_keys = tty,
				     .keep_for_save = a.save_dir != NULL,
				     .running_note = a.restore_dir ? note : NULL,
				     .on_running = a.incoming ? incoming_running : NULL, .opaque = &inc };
	if (warm.on && warm_runner_options(&warm, &ro, &err) < 0) {
		machine_destroy(m);
		return cli_fail(NESTVM_EXIT_VMM_FAILURE, "%s", err.msg);
	}
	struct machine_result res;
	if (runner_run(m, &ro, &res, &err) < 0 && res.end == MACHINE_END_NONE)
		res = (struct machine_result){ .end = MACHINE_END_VMM_FAILURE };
	if (a.incoming) /* not running: the source takes it back (a no-op once told) */
		migration_incoming_end(&inc, false, err.msg);
	if (tty)
		terminal_restore(&term);
	if (a.save_dir && res.end == MACHINE_END_STOPPED) {
		int rc = machine_save(m, a.save_dir, &err);
		machine_destroy(m);
		vm_launch_end(&launch);
		if (rc < 0)
			return cli_fail(NESTVM_EXIT_VMM_FAILURE, "the VM could not be saved: %s", err.msg);
		fprintf(stderr, "nestvm: saved to %s (continue it with: nestvm run --restore %s)\n",
			a.save_dir, a.save_dir);
		return 0;
	}
	machine_destroy(m);
	vm_launch_end(&launch);
	warm_start_free(&warm.w);
	return run_report_end(&res);
}
