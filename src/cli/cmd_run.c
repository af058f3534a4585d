/* `nestvm run`: one process runs one VM in the foreground. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "util/state_dir.h"
#include "util/parse.h"
#include "vmm/exit_status.h"
#include "vmm/machine.h"
#include "vmm/nic_spec.h"
#include "vmm/runner.h"
#include "vmm/terminal.h"
#include "vmm/vm_launch.h"

#define RUN_DEFAULT_MEMORY (512ULL << 20)
#define RUN_MIN_MEMORY (16ULL << 20)
#define RUN_NAME_MAX 64

struct run_args {
	const char *kernel;
	const char *initrd;
	const char *append;
	const char *kvm_device;
	bool nested;
	bool pvm_kernel;
	uint64_t memory;
	unsigned cpus;
	struct machine_disk disks[MACHINE_MAX_DISKS];
	unsigned ndisks;
	struct nic_spec nics[MACHINE_MAX_NICS];
	unsigned nnics;
	const char *name;
	char **command;
	int command_argc;
};

static void run_usage(FILE *f)
{
	fprintf(f,
		"usage: nestvm run [OPTIONS] [-- COMMAND [ARGS...]]\n"
		"  --kernel PATH         bzImage or ELF vmlinux (default: the built-in default guest)\n"
		"  --initrd PATH         initramfs (default guest: its own)\n"
		"  --append \"ARGS\"       added to the kernel command line\n"
		"  --memory SIZE         guest RAM, e.g. 512M, 2G (default 512M; a bare number is MiB)\n"
		"  --cpus N              vCPUs (default 1)\n"
		"  --disk PATH[,readonly] a raw disk image as virtio-blk (repeatable)\n"
		"  --nic switch=NAME[,mac=MAC][,mac-spoofing=on|off]\n"
		"                        a network adapter (virtio-net) on switch NAME (repeatable, up\n"
		"                        to 8); MAC defaults to one derived from --name and the index;\n"
		"                        mac-spoofing=on lets the guest send from other MACs\n"
		"  --name NAME           the VM's name on its switches (default vm-PID; 1-64 of\n"
		"                        A-Z a-z 0-9 _ . -)\n"
		"  --kvm-device PATH     KVM device (default /dev/kvm)\n"
		"  --expose-virtualization-extensions, --nested\n"
		"                        give the guest VT-x/AMD-V so it can run its own VMs\n"
		"  --pvm-kernel          the kernel is built for a paravirtual KVM (kvm_pvm): boot it\n"
		"                        there (without it, such a host refuses a stock kernel)\n"
		"With -- COMMAND, the default guest runs COMMAND and nestvm exits with its status.\n"
		"Without, the serial console is attached to this terminal; Ctrl-A x quits.\n"
		"Exit status: the command's; 0 guest power-off; 2 bad input; 3 guest panic or\n"
		"triple fault; 125 VMM failure; 128+N killed by signal N.\n");
}

static uint64_t host_memory_bytes(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
	return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : UINT64_MAX;
}

/* 0, or the exit status after printing why. */
static int parse_disk(struct run_args *a, const char *spec)
{
	if (a->ndisks == MACHINE_MAX_DISKS)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "at most %d --disk options", MACHINE_MAX_DISKS);
	char *copy = strdup(spec); /* lives as long as the process */
	if (!copy)
		return cli_fail(NESTVM_EXIT_VMM_FAILURE, "out of memory");
	bool ro = false;
	char *comma = strchr(copy, ',');
	if (comma) {
		*comma = '\0';
		for (char *opt = strtok(comma + 1, ","); opt; opt = strtok(NULL, ",")) {
			if (!strcmp(opt, "readonly") || !strcmp(opt, "ro"))
				ro = true;
			else
				return cli_fail(NESTVM_EXIT_BAD_INPUT, "--disk %s: unknown option '%s' (only 'readonly')", spec, opt);
		}
	}
	if (!*copy)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "--disk needs a path");
	a->disks[a->ndisks++] = (struct machine_disk){ .path = copy, .readonly = ro };
	return 0;
}

static int parse_nic(struct run_args *a, const char *spec)
{
	if (a->nnics == MACHINE_MAX_NICS)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "at most %d --nic options", MACHINE_MAX_NICS);
	struct nv_err err = { 0 };
	if (nic_spec_parse(spec, &a->nics[a->nnics], &err) < 0)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s", err.msg);
	a->nnics++;
	return 0;
}

/* Returns -1 to go on, or an exit status. */
static int parse_args(int argc, char **argv, struct run_args *a)
{
	enum { O_KERNEL = 256, O_INITRD, O_APPEND, O_MEMORY, O_CPUS, O_DISK, O_KVM, O_NESTED, O_NIC,
	       O_NAME, O_PVM_KERNEL };
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, O_KERNEL },
		{ "initrd", required_argument, NULL, O_INITRD },
		{ "append", required_argument, NULL, O_APPEND },
		{ "memory", required_argument, NULL, O_MEMORY },
		{ "cpus", required_argument, NULL, O_CPUS },
		{ "disk", required_argument, NULL, O_DISK },
		{ "kvm-device", required_argument, NULL, O_KVM },
		{ "nic", required_argument, NULL, O_NIC },
		{ "name", required_argument, NULL, O_NAME },
		{ "expose-virtualization-extensions", no_argument, NULL, O_NESTED },
		{ "nested", no_argument, NULL, O_NESTED },
		{ "pvm-kernel", no_argument, NULL, O_PVM_KERNEL },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	memset(a, 0, sizeof(*a));
	a->memory = RUN_DEFAULT_MEMORY;
	a->cpus = 1;
	a->kvm_device = "/dev/kvm";
	opterr = 0;
	optind = 1;
	int c;
	unsigned long v;
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (c) {
		case O_KERNEL: a->kernel = optarg; break;
		case O_INITRD: a->initrd = optarg; break;
		case O_APPEND: a->append = optarg; break;
		case O_KVM: a->kvm_device = optarg; break;
		case O_NESTED: a->nested = true; break;
		case O_PVM_KERNEL: a->pvm_kernel = true; break;
		case O_NAME: a->name = optarg; break;
		case O_NIC: {
			int st = parse_nic(a, optarg);
			if (st)
				return st;
			break;
		}
		case O_MEMORY:
			if (parse_size(optarg, 20, &a->memory) < 0)
				return cli_fail(NESTVM_EXIT_BAD_INPUT, "--memory '%s' is not a size (try 512M or 2G)", optarg);
			break;
		case O_CPUS:
			if (parse_uint(optarg, 1, MACHINE_MAX_CPUS, &v) < 0)
				return cli_fail(NESTVM_EXIT_BAD_INPUT, "--cpus '%s' must be a number from 1 to %d", optarg, MACHINE_MAX_CPUS);
			a->cpus = (unsigned)v;
			break;
		case O_DISK: {
			int st = parse_disk(a, optarg);
			if (st)
				return st;
			break;
		}
		case 'h':
			run_usage(stdout);
			return 0;
		case ':':
			return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s needs a value", argv[optind - 1]);
		default:
			return cli_fail(NESTVM_EXIT_BAD_INPUT, "unknown option '%s' (try `nestvm run --help`)", argv[optind - 1]);
		}
	}
	if (optind < argc) {
		if (strcmp(argv[optind - 1], "--") != 0)
			return cli_fail(NESTVM_EXIT_BAD_INPUT, "unexpected '%s': put the guest command after --", argv[optind]);
		a->command = argv + optind;
		a->command_argc = argc - optind;
	}
	if (a->name && !state_name_valid(a->name, RUN_NAME_MAX))
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "--name '%s' is not a valid VM name (1-%d of A-Z a-z 0-9 _ . -, "
				"not starting with . or -)", a->name, RUN_NAME_MAX);
	if (a->memory < RUN_MIN_MEMORY)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "--memory %llu MiB is too small (at least %llu MiB)",
				(unsigned long long)(a->memory >> 20), RUN_MIN_MEMORY >> 20);
	uint64_t host = host_memory_bytes();
	if (a->memory > host)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "--memory %llu MiB is more than this host has (%llu MiB)",
				(unsigned long long)(a->memory >> 20), (unsigned long long)(host >> 20));
	return -1;
}

static int report_end(const struct machine_result *res)
{
	int status = exit_status_from_result(res);
	switch (res->end) {
	case MACHINE_END_PANIC:
	case MACHINE_END_TRIPLE_FAULT:
		fprintf(stderr, "nestvm: the guest crashed: %s\n", res->detail);
		break;
	case MACHINE_END_VMM_FAILURE:
		fprintf(stderr, "nestvm: VMM failure: %s\n", res->detail);
		break;
	case MACHINE_END_STOPPED:
		if (res->status)
			fprintf(stderr, "nestvm: stopped by %s\n", res->detail);
		break;
	default:
		break;
	}
	return status;
}

int cmd_run(int argc, char **argv)
{
	struct run_args a;
	int st = parse_args(argc, argv, &a);
	if (st >= 0)
		return st;
	struct vm_launch_options lo = {
		.kvm_device = a.kvm_device, .kernel = a.kernel, .initrd = a.initrd, .append = a.append,
		.memory = a.memory, .cpus = a.cpus, .ndisks = a.ndisks, .nnics = a.nnics,
		.name = a.name, .nested = a.nested, .pvm_kernel = a.pvm_kernel, .command = a.command, .command_argc = a.command_argc,
		.console_fd = STDOUT_FILENO,
	};
	memcpy(lo.disks, a.disks, sizeof(a.disks));
	memcpy(lo.nics, a.nics, sizeof(a.nics));
	static struct vm_launch_state launch; /* lives as long as the VM */
	struct nv_err err = { 0 };
	struct machine *m = vm_launch(&lo, &launch, &err);
	if (launch.note[0])
		fprintf(stderr, "nestvm: note: %s\n", launch.note);
	if (!m)
		return cli_fail(err.kind == NV_ERR_HOST ? NESTVM_EXIT_VMM_FAILURE : NESTVM_EXIT_BAD_INPUT, "%s", err.msg);

	struct terminal term;
	bool tty = terminal_enter_raw(&term, STDIN_FILENO) == 0;
	struct runner_options ro = { .input_fd = STDIN_FILENO, .escape_keys = tty };
	struct machine_result res;
	if (runner_run(m, &ro, &res, &err) < 0 && res.end == MACHINE_END_NONE)
		res = (struct machine_result){ .end = MACHINE_END_VMM_FAILURE };
	if (tty)
		terminal_restore(&term);
	machine_destroy(m);
	return report_end(&res);
}
