/* `nestvm container run`: a container in a VM of its own, from a root
 * filesystem or an OCI bundle, for people without a container engine
 * (issue 14). The bundle becomes a spec and shares (mgmt/container_spec.h);
 * the default guest boots with them and guest/tools/nestvm-container.c
 * turns into the container's process, whose exit status is ours. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/run_end.h"
#include "cli/vm_options.h"
#include "confine/confine.h"
#include "mgmt/container_config.h"
#include "mgmt/container_spec.h"
#include "util/parse.h"
#include "vmm/exit_status.h"
#include "vmm/kernel_cmdline.h"
#include "vmm/runner.h"
#include "vmm/terminal.h"
#include "vmm/vm_launch.h"

/* The guest's own kernel and init beside the container's memory. */
#define GUEST_OVERHEAD_MIB 64
#define DEFAULT_MEMORY_MIB 512

struct container_args {
	struct container_request req;
	bool interactive;
	uint64_t memory_mib; /* 0: the bundle's limit, else the default */
	unsigned cpus;       /* 0: the bundle's, else 1 */
	const char *nics[VM_MAX_NICS];
	unsigned nnics;
	/* --oci-state DIR: started by nestvm-runtime (doc/man/nestvm-runtime.1):
	 * say "ok" (or "error: ...") on the fd NESTVM_OCI_READY_FD names once
	 * the VM is built, then wait for `start` on DIR/start.fifo. */
	const char *oci_state;
	int ready_fd;
};

static void container_usage(FILE *f)
{
	fprintf(f, "usage: nestvm container run [OPTIONS] ROOTFS-OR-BUNDLE [COMMAND [ARG...]]\n"
		   "\n"
		   "Runs a container in a VM of its own: a folder holding a root filesystem\n"
		   "(COMMAND defaults to /bin/sh), or an OCI bundle (a folder with config.json and\n"
		   "its root; COMMAND replaces its process.args). The root and every folder given\n"
		   "with -v are shared live with the VM (virtio-fs); the exit status is the\n"
		   "container's. Nothing is kept once it ends (so --rm is what it always does).\n"
		   "\n"
		   "options:\n"
		   "  -i, --interactive     the container reads this terminal's input (else /dev/null)\n"
		   "  -t, --tty             give the container a terminal\n"
		   "  -v, --volume HOST:CTR[:ro|:rw]\n"
		   "                        share the host folder HOST at CTR (a file is copied in)\n"
		   "  --memory SIZE         the container's memory (default: the bundle's limit, else %d MiB);\n"
		   "                        the VM gets %d MiB more for its kernel\n"
		   "  --cpus N              virtual CPUs (default: the bundle's, else 1)\n"
		   "  --hostname NAME       the container's host name\n"
		   "  --nic SPEC            a network adapter, as for `nestvm run` (switch:NAME[,mac=...])\n"
		   "  --rm                  accepted for docker's and podman's habits\n",
		DEFAULT_MEMORY_MIB, GUEST_OVERHEAD_MIB);
}

enum { O_MEMORY = 256, O_CPUS, O_HOSTNAME, O_NIC, O_RM, O_OCI_STATE };

static int parse_args(int argc, char **argv, struct container_args *a)
{
	static const struct option opts[] = {
		{ "interactive", no_argument, NULL, 'i' }, { "tty", no_argument, NULL, 't' },
		{ "volume", required_argument, NULL, 'v' }, { "memory", required_argument, NULL, O_MEMORY },
		{ "cpus", required_argument, NULL, O_CPUS }, { "hostname", required_argument, NULL, O_HOSTNAME },
		{ "nic", required_argument, NULL, O_NIC },   { "rm", no_argument, NULL, O_RM },
		{ "oci-state", required_argument, NULL, O_OCI_STATE },
		{ "help", no_argument, NULL, 'h' },	     { NULL, 0, NULL, 0 },
	};
	optind = 1;
	opterr = 0;
	int o;
	/* "+": options end at the root filesystem, the command's are its own. */
	while ((o = getopt_long(argc, argv, "+:itv:h", opts, NULL)) != -1) {
		uint64_t bytes;
		unsigned long n;
		switch (o) {
		case 'i': a->interactive = true; break;
		case 't': a->req.terminal = true; break;
		case 'v':
			if (a->req.nvolumes == CONTAINER_VOLUMES_MAX)
				return cli_fail(NESTVM_EXIT_BAD_INPUT, "at most %d -v options", CONTAINER_VOLUMES_MAX);
			a->req.volumes[a->req.nvolumes++] = optarg;
			break;
		case O_MEMORY:
			if (parse_size(optarg, 20, &bytes) < 0 || bytes < (16ull << 20) || bytes > (1ull << 40))
				return cli_fail(NESTVM_EXIT_BAD_INPUT, "--memory '%s': give a size from 16M to 1T", optarg);
			a->memory_mib = (bytes + (1 << 20) - 1) >> 20;
			break;
		case O_CPUS:
			if (parse_uint(optarg, 1, VM_MAX_CPUS, &n) < 0)
				return cli_fail(NESTVM_EXIT_BAD_INPUT, "--cpus '%s': give 1 to %d", optarg, VM_MAX_CPUS);
			a->cpus = (unsigned)n;
			break;
		case O_HOSTNAME: a->req.hostname = optarg; break;
		case O_NIC:
			if (a->nnics == VM_MAX_NICS)
				return cli_fail(NESTVM_EXIT_BAD_INPUT, "at most %d --nic options", VM_MAX_NICS);
			a->nics[a->nnics++] = optarg;
			break;
		case O_RM: break;
		case O_OCI_STATE: a->oci_state = optarg; break;
		case 'h': container_usage(stdout); return 0;
		case ':': return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s needs a value", argv[optind - 1]);
		default:
			return cli_fail(NESTVM_EXIT_BAD_INPUT, "unknown option '%s' (try `nestvm container --help`)",
					argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "container run: give a root filesystem or a bundle");
	a->req.path = argv[optind++];
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	a->req.command = argv + optind;
	a->req.command_argc = argc - optind;
	return -1;
}

/* The VM for the container: its memory and CPUs, the shares, adapters. */
static int make_vm(const struct container_args *a, const struct oci_config *oc, const struct container_plan *p,
		   struct vm_config *c)
{
	struct nv_err err = { 0 };
	vm_config_defaults(c, "");
	snprintf(c->name, sizeof(c->name), "container-%ld", (long)getpid());
	uint64_t limit = a->memory_mib ? a->memory_mib : (oc->memory_limit + (1 << 20) - 1) >> 20;
	c->memory_mib = (limit ? limit : DEFAULT_MEMORY_MIB) + GUEST_OVERHEAD_MIB;
	unsigned cpus = a->cpus ? a->cpus : oci_config_cpus(oc);
	c->cpus = cpus ? cpus : 1;
	/* The output is the container's, as a command's under `nestvm run`. */
	snprintf(c->append, sizeof(c->append), "%s", KERNEL_CMDLINE_QUIET);
	if (c->cpus > VM_MAX_CPUS)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "the bundle asks for %u CPUs: a VM has %d at most", c->cpus,
				VM_MAX_CPUS);
	for (unsigned i = 0; i < p->nshares; i++)
		if (vm_config_add_share(c, p->shares[i].dir, p->shares[i].tag, p->shares[i].readonly, &err) < 0)
			return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s", err.msg);
	int st;
	for (unsigned i = 0; i < a->nnics; i++)
		if ((st = vm_option_nic(c, a->nics[i])))
			return st;
	return -1;
}

/* A failure before the VM runs: one line on stderr, and for
 * nestvm-runtime on the ready pipe too. */
static int fail(const struct container_args *a, int status, const char *msg)
{
	if (a->ready_fd >= 0) {
		dprintf(a->ready_fd, "error: %s\n", msg);
		close(a->ready_fd);
	}
	return cli_fail(status, "%s", msg);
}

static int ready_fd_from_env(void)
{
	const char *s = getenv("NESTVM_OCI_READY_FD");
	unsigned long fd;
	if (!s || parse_uint(s, 3, 1024, &fd) < 0 || fcntl((int)fd, F_GETFD) < 0)
		return -1;
	fcntl((int)fd, F_SETFD, FD_CLOEXEC); /* not the guest's helpers' */
	return (int)fd;
}

/* nestvm-runtime's create is answered; its start writes a byte into the
 * fifo (a writer that closes without one is waited out). DIR/started then
 * tells the runtime the container runs. */
static int wait_for_start(struct container_args *a, struct nv_err *err)
{
	char path[VM_PATH_MAX + 16];
	if (a->ready_fd >= 0) {
		dprintf(a->ready_fd, "ok\n");
		close(a->ready_fd);
		a->ready_fd = -1;
	}
	snprintf(path, sizeof(path), "%s/start.fifo", a->oci_state);
	for (;;) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 && errno == EINTR)
			continue;
		if (fd < 0)
			return nv_err_host(err, "%s: %s", path, strerror(errno));
		char b;
		ssize_t n = read(fd, &b, 1);
		close(fd);
		if (n == 1)
			break;
		if (n < 0 && errno != EINTR)
			return nv_err_host(err, "%s: %s", path, strerror(errno));
	}
	snprintf(path, sizeof(path), "%s/started", a->oci_state);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return nv_err_host(err, "%s: %s", path, strerror(errno));
	close(fd);
	return 0;
}

static int container_run(int argc, char **argv)
{
	static struct container_args a;
	static struct oci_config oc;
	static struct container_plan plan;
	static struct vm_config vm;
	static struct vm_launch_state launch;
	static char bundle[VM_PATH_MAX];
	struct nv_err err = { 0 };
	a.ready_fd = -1;
	int st = parse_args(argc, argv, &a);
	if (st >= 0)
		return st;
	if (a.oci_state)
		a.ready_fd = ready_fd_from_env();
	bool stdin_open = a.interactive || a.req.terminal;
	if (container_config_make(&a.req, &oc, bundle, sizeof(bundle), &err) < 0)
		return fail(&a, NESTVM_EXIT_BAD_INPUT, err.msg);
	/* --memory is the container's limit too (a cgroup in the guest). */
	if (a.memory_mib)
		oc.memory_limit = a.memory_mib << 20;
	if (container_plan_make(&oc, bundle, stdin_open, &plan, &err) < 0)
		return fail(&a, NESTVM_EXIT_BAD_INPUT, err.msg);
	/* Without a terminal the guest's relay carries stdin, stdout and
	 * stderr apart over the console (util/stdio_mux.h). */
	bool mux = !oc.terminal;
	if ((st = make_vm(&a, &oc, &plan, &vm)) >= 0) {
		if (a.ready_fd >= 0)
			dprintf(a.ready_fd, "error: the container's VM settings were refused (see its stderr)\n");
		return st;
	}
	oci_config_free(&oc);
	if (confine_init(&err) < 0)
		return fail(&a, NESTVM_EXIT_BAD_INPUT, err.msg);
	struct vm_launch_options o = { .console_fd = STDOUT_FILENO,
				       .stdio_demux = mux,
				       .stderr_fd = STDERR_FILENO,
				       .initrd_extra = plan.initramfs.data,
				       .initrd_extra_len = plan.initramfs.len };
	struct machine *m = vm_launch(&vm, &o, &launch, &err);
	container_plan_free(&plan);
	if (!m)
		return fail(&a, err.kind == NV_ERR_HOST ? NESTVM_EXIT_VMM_FAILURE : NESTVM_EXIT_BAD_INPUT, err.msg);
	if (a.oci_state && wait_for_start(&a, &err) < 0) {
		machine_destroy(m);
		vm_launch_end(&launch);
		return cli_fail(NESTVM_EXIT_VMM_FAILURE, "%s", err.msg);
	}
	struct terminal term;
	/* A terminal is raw only for a container's terminal: without one, the
	 * terminal's own line editing and Ctrl-D reach the container. */
	bool tty = !mux && terminal_enter_raw(&term, STDIN_FILENO) == 0;
	struct runner_options ro = { .input_fd = stdin_open ? STDIN_FILENO : -1,
				     .escape_keys = tty && !a.oci_state,
				     .stdio_mux = mux,
				     .term_presses_power_button = a.oci_state != NULL };
	struct machine_result res;
	if (runner_run(m, &ro, &res, &err) < 0 && res.end == MACHINE_END_NONE)
		res = (struct machine_result){ .end = MACHINE_END_VMM_FAILURE };
	if (tty)
		terminal_restore(&term);
	machine_destroy(m);
	vm_launch_end(&launch);
	return run_report_end(&res);
}

int cmd_container(int argc, char **argv)
{
	if (argc < 2)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "usage: nestvm container run [OPTIONS] ROOTFS-OR-BUNDLE "
				"[COMMAND [ARG...]] (nestvm container --help)");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		container_usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "run"))
		return container_run(argc - 1, argv + 1);
	return cli_fail(NESTVM_EXIT_BAD_INPUT, "container: unknown command '%s' (only run)", argv[1]);
}
