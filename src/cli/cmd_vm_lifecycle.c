/* `nestvm vm start NAME` and `nestvm vm stop NAME [--force] [--timeout S]`:
 * a named VM's VMM process (`nestvm vm-daemon`, vmm/vmm_daemon.h) is started
 * in the background and asked to end through its control.sock. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/vm_commands.h"
#include "cli/vm_cli.h"
#include "cli/vm_lifecycle.h"
#include "util/state_dir.h"
#include "mgmt/vm_disks.h"
#include "mgmt/vm_store.h"
#include "util/parse.h"
#include "util/self_exec.h"
#include "vmm/exit_status.h"
#include "vmm/vm_control.h"

#define START_TIMEOUT_MS 60000
#define STOP_DEFAULT_TIMEOUT_S 30
#define KILL_GRACE_MS 5000     /* after "kill", before SIGKILL */
#define VMM_EXIT_WAIT_MS 10000 /* a VMM that wrote Off, until its process is gone */
#define CONTROL_TIMEOUT_MS 3000

void vm_lifecycle_sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int vm_lifecycle_wait_off(const char *name, struct vm_record *r, int timeout_ms, struct nv_err *err)
{
	for (int waited = 0;; waited += 200) {
		if (vm_store_load_reaped(name, r, err) < 0)
			return -1;
		if (r->runtime.state == VM_STATE_OFF)
			return 1;
		if (waited >= timeout_ms)
			return 0;
		vm_lifecycle_sleep_ms(200);
	}
}

static int fail_err(const struct nv_err *err)
{
	return cli_fail(err->kind == NV_ERR_HOST ? NESTVM_EXIT_VMM_FAILURE : NESTVM_EXIT_BAD_INPUT, "%s", err->msg);
}

/* Until nobody holds vmm.lock (the VMM process is gone), up to ms. */
static bool wait_vmm_gone(const char *name, int ms)
{
	for (int waited = 0; vm_store_vmm_alive(name); waited += 50) {
		if (waited >= ms)
			return false;
		vm_lifecycle_sleep_ms(50);
	}
	return true;
}

/* A VM NAME and nothing else but the options getopt took. */
static int name_arg(int argc, char **argv, const char *sub, const char **name)
{
	if (optind >= argc)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "vm %s needs a VM NAME (try `nestvm vm %s --help`)", sub, sub);
	*name = argv[optind++];
	if (!state_name_valid(*name, VM_NAME_MAX))
		return cli_fail(NESTVM_EXIT_BAD_INPUT,
				"'%s' is not a valid VM name (1-%d of A-Z a-z 0-9 _ . -, not starting with . or -)",
				*name, VM_NAME_MAX);
	if (optind < argc)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "vm %s: unexpected '%s'", sub, argv[optind]);
	return 0;
}

/* ---- start ------------------------------------------------------------ */

/* vmm.lock, locked: held from before the record says Starting until the
 * daemon (which inherits it) exits. A VMM that just wrote Off may still be
 * on its way out: wait for it a little. */
int vm_lifecycle_lock_vmm(const char *name, struct nv_err *err)
{
	char path[VM_PATH_MAX];
	if (vm_store_path(name, VM_VMM_LOCK_FILE, path, sizeof(path), err) < 0)
		return -1;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return nv_err_host(err, "cannot open %s: %s", path, strerror(errno));
	for (int waited = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; waited += 50) {
		if (waited >= VMM_EXIT_WAIT_MS) {
			close(fd);
			return nv_err_host(err, "the previous VMM process of %s is still running (its vmm.lock is held)",
					   name);
		}
		vm_lifecycle_sleep_ms(50);
	}
	return fd;
}

/* Starts `nestvm vm-daemon NAME` detached: own session, not our child,
 * stdin /dev/null, stdout and stderr appended to vmm.log; it gets vmm.lock
 * as fd 3 and the notify pipe as fd 4, and nothing else we have open. */
int vm_lifecycle_spawn_daemon(const char *name, int lock_fd, int notify_fd, const char *const *extra,
			      struct nv_err *err)
{
	char log[VM_PATH_MAX];
	if (vm_store_path(name, "vmm.log", log, sizeof(log), err) < 0)
		return -1;
	char *argv[16] = { "nestvm", "vm-daemon", (char *)name, "--lock-fd", "3", "--notify-fd", "4" };
	for (size_t i = 0, n = 7; extra && extra[i]; i++)
		if (n < sizeof(argv) / sizeof(argv[0]) - 1)
			argv[n++] = (char *)extra[i];
	int keep[] = { lock_fd, notify_fd };
	struct self_exec_options o = {
		.argv = argv, .detach = true, .log = log, .log_append = true, .keep_fds = keep, .nkeep = 2,
		.exec_error = "cannot run nestvm vm-daemon", .fail_status = 127,
	};
	pid_t pid = self_exec_start(&o);
	if (pid < 0)
		return nv_err_host(err, "fork: %s", strerror((int)-pid));
	return 0;
}

/* The daemon's one line ("0", "2", "125"), or -1 for none (it died, or the
 * deadline passed: *timed_out). */
int vm_lifecycle_read_notify(int fd, int timeout_ms, bool *timed_out)
{
	char buf[16];
	size_t len = 0;
	*timed_out = false;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	for (;;) {
		int r = poll(&p, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			*timed_out = true;
			return -1;
		}
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0 || (len += (size_t)n) >= sizeof(buf) - 1 || memchr(buf, '\n', len))
			break;
	}
	buf[len] = '\0';
	unsigned long v;
	char *nl = strchr(buf, '\n');
	if (!nl)
		return -1;
	*nl = '\0';
	return parse_uint(buf, 0, 255, &v) == 0 ? (int)v : -1;
}

static int start_usage(FILE *f)
{
	fprintf(f, "usage: nestvm vm start NAME\n"
		   "Starts the VM's VMM process in the background and waits (up to 60 s) until its vCPUs run.\n"
		   "`nestvm vm console NAME` attaches to its console; `nestvm vm stop NAME` stops it.\n");
	return 0;
}

int cmd_vm_start(int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	opterr = 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'h')
			return start_usage(stdout);
		return vm_cli_getopt_error(c, argv, "start");
	}
	const char *name;
	int st = name_arg(argc, argv, "start", &name);
	if (st)
		return st;

	struct nv_err err = { 0 };
	struct vm_lock lk;
	struct vm_record r;
	if (vm_store_lock_load(name, &lk, &r, &err) < 0)
		return fail_err(&err);
	/* A saved VM starts where it was saved (its VMM finds saved/). */
	enum vm_state before = r.runtime.state;
	if (before != VM_STATE_OFF && before != VM_STATE_SAVED) {
		vm_store_unlock(&lk);
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "VM %s is already %s", name, vm_state_name(r.runtime.state));
	}
	int lock_fd = vm_lifecycle_lock_vmm(name, &err);
	if (lock_fd < 0) {
		vm_store_unlock(&lk);
		return fail_err(&err);
	}
	/* Merges a checkpoint deletion left for when the VM was not running. */
	if (vm_disks_collect(name, &r, &err) < 0) {
		close(lock_fd);
		vm_store_unlock(&lk);
		return cli_fail(err.kind == NV_ERR_HOST ? NESTVM_EXIT_VMM_FAILURE : NESTVM_EXIT_BAD_INPUT,
				"VM %s was not started: merging its differencing disks failed: %s", name, err.msg);
	}
	r.runtime = (struct vm_runtime){ .state = VM_STATE_STARTING };
	int pipefd[2] = { -1, -1 };
	if (vm_store_save(&r, &err) < 0 || (pipe2(pipefd, O_CLOEXEC) < 0 && nv_err_host(&err, "pipe: %s", strerror(errno))) ||
	    vm_lifecycle_spawn_daemon(name, lock_fd, pipefd[1], NULL, &err) < 0) {
		/* Nobody will run it: as it was, with why. */
		r.runtime = (struct vm_runtime){ .state = before };
		snprintf(r.runtime.last_stop, sizeof(r.runtime.last_stop), "not started: %.200s", err.msg);
		struct nv_err ignored;
		vm_store_save(&r, &ignored);
		close(lock_fd);
		if (pipefd[0] >= 0) {
			close(pipefd[0]);
			close(pipefd[1]);
		}
		vm_store_unlock(&lk);
		return fail_err(&err);
	}
	/* The daemon holds vmm.lock now (or has died, and then nobody does). */
	close(lock_fd);
	close(pipefd[1]);
	vm_store_unlock(&lk);

	bool timed_out;
	int status = vm_lifecycle_read_notify(pipefd[0], START_TIMEOUT_MS, &timed_out);
	close(pipefd[0]);
	if (vm_store_load_reaped(name, &r, &err) < 0)
		return fail_err(&err);
	char log[VM_PATH_MAX];
	vm_store_path(name, "vmm.log", log, sizeof(log), NULL);
	switch (r.runtime.state) {
	case VM_STATE_RUNNING:
	case VM_STATE_STOPPING:
		printf("VM %s %s (pid %d)\n", name, before == VM_STATE_SAVED ? "resumed from its saved state" : "started",
		       (int)r.runtime.pid);
		return 0;
	case VM_STATE_SAVED:
		if (before != VM_STATE_SAVED)
			return cli_fail(NESTVM_EXIT_VMM_FAILURE, "VM %s was saved before it started", name);
		if (status < 0 || status == 0)
			status = NESTVM_EXIT_VMM_FAILURE;
		return cli_fail(status, "VM %s did not resume its saved state (kept: nestvm vm "
				"delete-saved-state %s discards it): %s", name, name, r.runtime.last_stop);
	case VM_STATE_OFF:
		if (status < 0 || status == 0)
			status = NESTVM_EXIT_VMM_FAILURE;
		return cli_fail(status, "VM %s did not start: %s%s%s", name, r.runtime.last_stop,
				status == NESTVM_EXIT_VMM_FAILURE ? " (see " : "",
				status == NESTVM_EXIT_VMM_FAILURE ? log : "");
	case VM_STATE_STARTING:
	default:
		if (timed_out)
			return cli_fail(NESTVM_EXIT_VMM_FAILURE, "VM %s is still starting after %d s (see %s)", name,
					START_TIMEOUT_MS / 1000, log);
		return cli_fail(NESTVM_EXIT_VMM_FAILURE, "VM %s: its VMM process says it started, but the record is %s",
				name, vm_state_name(r.runtime.state));
	}
}

/* ---- stop ------------------------------------------------------------- */


static int send_cmd(const char *name, const char *cmd, const char *reason, struct nv_err *err)
{
	struct json_object *req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string(cmd));
	if (reason)
		json_object_object_add(req, "reason", json_object_new_string(reason));
	struct json_object *rep = vm_control_call(name, req, CONTROL_TIMEOUT_MS, err);
	json_object_put(req);
	if (!rep)
		return -1;
	json_object_put(rep);
	return 0;
}

/* The VMM did not end on "kill" (or never answered): SIGKILL the pid the
 * record names, but only while that process holds the VM's vmm.lock. */
static void kill_vmm(const char *name, pid_t pid)
{
	if (vm_store_vmm_pid(name, pid)) {
		fprintf(stderr, "nestvm: the VMM of %s (pid %d) does not end: killing it\n", name, (int)pid);
		kill(pid, SIGKILL);
		wait_vmm_gone(name, KILL_GRACE_MS);
	}
}

void vm_lifecycle_force_off(const char *name, pid_t pid, const char *reason)
{
	struct nv_err err = { 0 };
	if (send_cmd(name, "kill", reason, &err) < 0 && vm_store_vmm_pid(name, pid))
		kill(pid, SIGTERM); /* no control socket (yet): the daemon takes SIGTERM as kill */
	if (!wait_vmm_gone(name, KILL_GRACE_MS))
		kill_vmm(name, pid);
}

static int stop_usage(FILE *f)
{
	fprintf(f, "usage: nestvm vm stop NAME [--force] [--timeout SECONDS]\n"
		   "Presses the VM's ACPI power button and waits up to --timeout (default %d s) for the\n"
		   "guest to power off; then, or at once with --force, ends the VM (the guest loses what it\n"
		   "has not written).\n", STOP_DEFAULT_TIMEOUT_S);
	return 0;
}

int cmd_vm_stop(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool force = false;
	unsigned long timeout = STOP_DEFAULT_TIMEOUT_S;
	opterr = 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': force = true; break;
		case 't':
			if (parse_uint(optarg, 0, 86400, &timeout) < 0)
				return cli_fail(NESTVM_EXIT_BAD_INPUT, "--timeout '%s' must be a number of seconds (0 to 86400)", optarg);
			break;
		case 'h': return stop_usage(stdout);
		default: return vm_cli_getopt_error(c, argv, "stop");
		}
	}
	const char *name;
	int st = name_arg(argc, argv, "stop", &name);
	if (st)
		return st;
	struct nv_err err = { 0 };
	struct vm_record r;
	if (vm_store_load_reaped(name, &r, &err) < 0)
		return fail_err(&err);
	if (r.runtime.state == VM_STATE_OFF) {
		printf("VM %s is already off%s%s\n", name, r.runtime.last_stop[0] ? ": " : "", r.runtime.last_stop);
		return 0;
	}
	if (r.runtime.state == VM_STATE_SAVED)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "VM %s is Saved (no VMM runs): `nestvm vm start %s` continues it, "
				"`nestvm vm delete-saved-state %s` discards it", name, name, name);
	pid_t pid = r.runtime.pid;
	int off = 0;
	char reason[160];
	if (r.runtime.state == VM_STATE_RECEIVING)
		force = true; /* no guest yet to ask */
	if (!force) {
		if (send_cmd(name, "shutdown", NULL, &err) == 0) {
			printf("asking the guest of %s to power off…\n", name);
			fflush(stdout);
			off = vm_lifecycle_wait_off(name, &r, (int)timeout * 1000, &err);
			if (off < 0)
				return fail_err(&err);
			if (!off)
				printf("the guest of %s did not power off within %lu s: forcing it off\n", name, timeout);
		} else {
			fprintf(stderr, "nestvm: cannot ask the guest of %s to power off (%s): forcing it off\n", name, err.msg);
		}
		snprintf(reason, sizeof(reason), "forced by nestvm vm stop (the guest did not power off within %lu s)",
			 timeout);
	} else {
		snprintf(reason, sizeof(reason), "forced by nestvm vm stop --force");
	}
	if (!off) {
		vm_lifecycle_force_off(name, pid, reason);
		off = vm_lifecycle_wait_off(name, &r, 0, &err);
		if (off < 0)
			return fail_err(&err);
	}
	/* Off is written before the VMM exits: "stopped" means its process is
	 * gone too, so that `vm start` right after works. */
	if (!wait_vmm_gone(name, VMM_EXIT_WAIT_MS))
		kill_vmm(name, pid);
	if (vm_lifecycle_wait_off(name, &r, 0, &err) < 0)
		return fail_err(&err);
	if (r.runtime.state != VM_STATE_OFF)
		return cli_fail(NESTVM_EXIT_VMM_FAILURE, "VM %s is still %s", name, vm_state_name(r.runtime.state));
	printf("VM %s is off: %s\n", name, r.runtime.last_stop);
	return 0;
}
