/* `create [--bundle DIR] [--pid-file FILE] [--console-socket SOCK] ID`:
 * the container's VMM builds its VM and waits for `start`. Its folder
 * ROOT/ID holds start.fifo (the VMM waits on it) and state.json (this
 * runtime's record: container.h); create returns once the VMM says its VM
 * is ready, leaving it running in a session of its own. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "mgmt/oci_config.h"
#include "runtime/args.h"
#include "runtime/commands.h"
#include "runtime/console.h"
#include "runtime/container.h"
#include "runtime/log.h"
#include "runtime/proc_stat.h"
#include "runtime/rfc3339.h"
#include "runtime/state_record.h"
#include "runtime/vmm_spawn.h"
#include "util/file_io.h"
#include "util/parse.h"
#include "util/remove_tree.h"

struct create_args {
	const char *bundle, *pid_file, *console_socket;
	const char *id;
};

static void create_usage(void)
{
	printf("usage: nestvm-runtime create [OPTIONS] ID\n"
	       "\n"
	       "Creates the container ID from an OCI bundle: its VM is built and waits for\n"
	       "`nestvm-runtime start ID`.\n"
	       "\n"
	       "options:\n"
	       "  -b, --bundle DIR         the bundle (default: the current folder)\n"
	       "  --pid-file FILE          write the VMM's pid there\n"
	       "  --console-socket SOCK    send the terminal's master there (process.terminal)\n"
	       "  --preserve-fds N         only 0 for now\n"
	       "  --no-pivot, --no-new-keyring\n"
	       "                           accepted; meaningless in a VM\n");
}

enum { O_PID_FILE = 256, O_CONSOLE, O_NO_PIVOT, O_NO_KEYRING, O_PRESERVE };

static int parse_args(int argc, char **argv, struct create_args *a)
{
	static const struct option opts[] = {
		{ "bundle", required_argument, NULL, 'b' },
		{ "pid-file", required_argument, NULL, O_PID_FILE },
		{ "console-socket", required_argument, NULL, O_CONSOLE },
		{ "no-pivot", no_argument, NULL, O_NO_PIVOT },
		{ "no-new-keyring", no_argument, NULL, O_NO_KEYRING },
		{ "preserve-fds", required_argument, NULL, O_PRESERVE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	a->bundle = ".";
	optind = 1;
	opterr = 0;
	int o;
	while ((o = getopt_long(argc, argv, ":b:h", opts, NULL)) != -1) {
		unsigned long n;
		switch (o) {
		case 'b': a->bundle = optarg; break;
		case O_PID_FILE: a->pid_file = optarg; break;
		case O_CONSOLE: a->console_socket = optarg; break;
		case O_NO_PIVOT:
		case O_NO_KEYRING: break;
		case O_PRESERVE:
			if (parse_uint(optarg, 0, INT_MAX, &n) < 0)
				return rt_fail("create: --preserve-fds '%s': not a number", optarg);
			if (n)
				return rt_fail("create: --preserve-fds %lu: only 0 for now (a VM inherits no host "
					       "file descriptors)", n);
			break;
		case 'h': create_usage(); return 0;
		default: return rt_option_error("create", o, argv);
		}
	}
	return rt_one_id("create", argc, argv, &a->id) ? 1 : -1;
}

/* mkdir -p with mode 0700 for what it makes. */
static int make_root(const char *root)
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof(path), "%s", root) >= sizeof(path))
		return rt_fail("--root %s: path too long", root);
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p)
			continue;
		char keep = *p;
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return rt_fail("--root %s: %s: %s", root, path, strerror(errno));
		if (!keep)
			return 0;
		*p = keep;
	}
}

/* The VMM reads this stdin unless it is /dev/null (character device 1:3)
 * or closed. */
static bool stdin_is_open(void)
{
	struct stat st;
	if (fstat(STDIN_FILENO, &st) < 0)
		return false;
	return !(S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3);
}

/* From the folder made on: the VMM started and ready, the record and the
 * pid file written. 0, or 1 after the line saying why. */
static int create_in(const struct create_args *a, const char *dir, const char *bundle, bool terminal)
{
	struct nv_err err = { 0 };
	char path[PATH_MAX + 32], nestvm[PATH_MAX];
	snprintf(path, sizeof(path), "%s/start.fifo", dir);
	if (mkfifo(path, 0600) < 0)
		return rt_fail("create: %s: %s", path, strerror(errno));
	if (vmm_program(nestvm, sizeof(nestvm), &err) < 0)
		return rt_fail("create: %s", err.msg);
	struct vmm_spawn s = { .nestvm = nestvm, .dir = dir, .bundle = bundle, .stdio_fd = -1 };
	if (terminal) {
		s.tty = true;
		if ((s.stdio_fd = console_make(a->console_socket, &err)) < 0)
			return rt_fail("create: %s", err.msg);
	} else {
		s.interactive = stdin_is_open();
	}
	rt_debug("create %s: %s container run --oci-state %s%s%s %s", a->id, nestvm, dir, s.interactive ? " -i" : "",
		 s.tty ? " -t" : "", bundle);
	int ready;
	struct state_record rec = { .pid = 0 };
	pid_t pid = vmm_spawn(&s, &ready, &err);
	if (s.stdio_fd >= 0)
		close(s.stdio_fd);
	if (pid < 0)
		return rt_fail("create: %s", err.msg);
	snprintf(rec.id, sizeof(rec.id), "%s", a->id);
	snprintf(rec.bundle, sizeof(rec.bundle), "%s", bundle);
	rfc3339_now(rec.created, sizeof(rec.created), true);
	rec.pid = pid;
	char state;
	if (proc_stat_read(pid, &state, &rec.pid_start) < 0 || state_record_save(dir, &rec, &err) < 0) {
		if (!err.msg[0])
			nv_err_host(&err, "/proc/%ld/stat: unreadable", (long)pid);
		vmm_wait_ready(pid, ready, 0, NULL);
		return rt_fail("create: %s", err.msg);
	}
	if (vmm_wait_ready(pid, ready, VMM_READY_TIMEOUT_MS, &err) < 0)
		return rt_fail("%s", err.msg);
	if (a->pid_file) {
		char num[24];
		int n = snprintf(num, sizeof(num), "%ld", (long)pid);
		int e = file_write_atomic(a->pid_file, num, (size_t)n);
		if (e < 0) {
			proc_signal(pid, rec.pid_start, SIGKILL);
			return rt_fail("create: --pid-file %s: %s", a->pid_file, strerror(-e));
		}
	}
	rt_debug("create %s: the VM is ready (VMM pid %ld)", a->id, (long)pid);
	return 0;
}

int rt_cmd_create(const struct rt_globals *g, int argc, char **argv)
{
	struct create_args a = { 0 };
	int st = parse_args(argc, argv, &a);
	if (st >= 0)
		return st;
	struct nv_err err = { 0 };
	char dir[PATH_MAX], bundle[PATH_MAX];
	if (container_dir(g->root, a.id, dir, sizeof(dir), &err) < 0)
		return rt_fail("create: %s", err.msg);
	if (!realpath(a.bundle, bundle))
		return rt_fail("create: bundle %s: %s", a.bundle, strerror(errno));
	struct oci_config oc;
	if (oci_config_load(bundle, &oc, &err) < 0)
		return rt_fail("create: %s", err.msg);
	bool terminal = oc.terminal;
	oci_config_free(&oc);
	if (terminal && !a.console_socket)
		return rt_fail("create: process.terminal is true: give --console-socket");
	if (!terminal && a.console_socket)
		return rt_fail("create: --console-socket without process.terminal in config.json");
	if (make_root(g->root))
		return 1;
	if (mkdir(dir, 0700) < 0) {
		if (errno == EEXIST)
			return rt_fail("container with id exists: %s", a.id);
		return rt_fail("create: %s: %s", dir, strerror(errno));
	}
	st = create_in(&a, dir, bundle, terminal);
	if (st)
		remove_tree(dir, 2);
	return st;
}
