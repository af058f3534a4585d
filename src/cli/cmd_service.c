/* `nestvm service start|stop`: what nestvm.service runs at the host's boot
 * and shutdown, Hyper-V's automatic actions (Set-VM -AutomaticStartAction
 * -AutomaticStopAction; `vm set --automatic-start-action ...`).
 *   stop:  every VM that runs gets its stop action (save; turn-off: power
 *          off at once; shutdown: the ACPI power button, turned off after
 *          the timeout), all at once since the host's shutdown is waiting;
 *          a save that fails falls back to shutdown. Each such VM is marked
 *          as running at the host's stop. The switches' daemons the service
 *          started end with it (systemd stops what is left in its cgroup,
 *          and a daemon ends cleanly on SIGTERM).
 *   start: every switch's daemon, then each VM whose start action says so
 *          (start; start-if-running: marked at the last stop).
 * Each action is the nestvm command a user would type, run as a child. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/vm_cli.h"
#include "mgmt/vm_store.h"
#include "net/switch_launch.h"
#include "net/switch_protocol.h"
#include "util/self_exec.h"
#include "util/state_dir.h"
#include "vmm/exit_status.h"

#define MAX_VMS 1024

static void usage(FILE *f)
{
	fprintf(f, "usage: nestvm service start|stop\n"
		   "What nestvm.service runs when the host boots and shuts down (systemctl enable\n"
		   "nestvm): each VM's automatic actions (nestvm vm set NAME --automatic-start-action\n"
		   "nothing|start|start-if-running --automatic-stop-action turn-off|shutdown|save).\n"
		   "  stop   every running VM: its stop action, all at once (a failed save shuts it\n"
		   "         down instead)\n"
		   "  start  every switch's daemon; then each VM to start: start, or start-if-running\n"
		   "         and it was running when the host last stopped\n"
		   "Exit status: 0 all done; 125 some VM or switch failed (each said on stderr).\n");
}

static pid_t spawn(char **argv)
{
	struct self_exec_options o = { .argv = argv, .exec_error = "nestvm: cannot run nestvm",
				       .fail_status = NESTVM_EXIT_VMM_FAILURE };
	return self_exec_start(&o);
}

static int wait_for(pid_t pid)
{
	int ws;
	if (pid < 0)
		return NESTVM_EXIT_VMM_FAILURE;
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return NESTVM_EXIT_VMM_FAILURE;
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

static int run(char **argv)
{
	return wait_for(spawn(argv));
}

/* Under the VM's lock: marks it as running at the host's stop. */
static int mark_running(const char *name)
{
	struct vm_lock lk;
	struct vm_record r;
	struct nv_err err = { 0 };
	if (vm_store_lock_load(name, &lk, &r, &err) < 0)
		return -1;
	r.runtime.running_at_host_stop = true;
	int rc = vm_store_save(&r, &err);
	vm_store_unlock(&lk);
	return rc;
}

static bool on(enum vm_state s)
{
	return s == VM_STATE_STARTING || s == VM_STATE_RUNNING || s == VM_STATE_PAUSED || s == VM_STATE_STOPPING;
}

/* The switches' names (their folders). */
static size_t switch_names(char names[][SWITCH_NAME_MAX + 1], size_t max)
{
	char base[4096], dir[4200];
	struct nv_err err = { 0 };
	size_t n = 0;
	if (state_dir_path(base, sizeof(base), &err) < 0)
		return 0;
	snprintf(dir, sizeof(dir), "%s/%s", base, SWITCH_DIR);
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && n < max && (e = readdir(d)))
		if (e->d_name[0] != '.' && strlen(e->d_name) <= SWITCH_NAME_MAX && switch_exists(e->d_name))
			snprintf(names[n++], SWITCH_NAME_MAX + 1, "%s", e->d_name);
	if (d)
		closedir(d);
	return n;
}

static int service_stop(void)
{
	char **names = NULL;
	size_t n = 0;
	struct nv_err err = { 0 };
	if (vm_store_list(&names, &n, &err) < 0)
		return vm_cli_fail(&err);
	static pid_t pids[MAX_VMS];
	static enum vm_stop_action acts[MAX_VMS];
	int status = 0;
	for (size_t i = 0; i < n && i < MAX_VMS; i++) {
		struct vm_record r;
		struct nv_err e = { 0 };
		pids[i] = 0;
		if (vm_store_load_reaped(names[i], &r, &e) < 0) {
			status = cli_fail(NESTVM_EXIT_VMM_FAILURE, "%s", e.msg);
			continue;
		}
		if (!on(r.runtime.state))
			continue;
		if (mark_running(names[i]) < 0)
			status = cli_fail(NESTVM_EXIT_VMM_FAILURE, "VM %s: cannot record that it ran", names[i]);
		acts[i] = r.config.automatic_stop_action;
		char *save[] = { "nestvm", "vm", "save", names[i], NULL };
		char *off[] = { "nestvm", "vm", "stop", names[i], "--force", NULL };
		char *down[] = { "nestvm", "vm", "stop", names[i], NULL };
		pids[i] = spawn(acts[i] == VM_STOP_SAVE ? save : acts[i] == VM_STOP_TURN_OFF ? off : down);
	}
	for (size_t i = 0; i < n && i < MAX_VMS; i++) {
		if (!pids[i])
			continue;
		int st = wait_for(pids[i]);
		if (st && acts[i] == VM_STOP_SAVE) { /* the host goes down anyway: an orderly stop */
			cli_fail(0, "VM %s: not saved (status %d): shutting it down instead", names[i], st);
			char *down[] = { "nestvm", "vm", "stop", names[i], NULL };
			st = run(down);
		}
		if (st)
			status = cli_fail(NESTVM_EXIT_VMM_FAILURE, "VM %s: its stop action failed (status %d)",
					  names[i], st);
		else
			printf("VM %s: %s\n", names[i], acts[i] == VM_STOP_SAVE ? "saved" : "stopped");
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return status;
}

static int service_start(void)
{
	int status = 0;
	static char sw[256][SWITCH_NAME_MAX + 1];
	size_t ns = switch_names(sw, 256);
	for (size_t i = 0; i < ns; i++) {
		struct nv_err err = { 0 };
		if (switch_ensure_running(sw[i], &err) < 0)
			status = cli_fail(NESTVM_EXIT_VMM_FAILURE, "switch %s: %s", sw[i], err.msg);
	}
	char **names = NULL;
	size_t n = 0;
	struct nv_err err = { 0 };
	if (vm_store_list(&names, &n, &err) < 0)
		return vm_cli_fail(&err);
	for (size_t i = 0; i < n; i++) {
		struct vm_record r;
		struct nv_err e = { 0 };
		if (vm_store_load_reaped(names[i], &r, &e) < 0) {
			status = cli_fail(NESTVM_EXIT_VMM_FAILURE, "%s", e.msg);
			continue;
		}
		enum vm_start_action a = r.config.automatic_start_action;
		bool go = !on(r.runtime.state) &&
			  (a == VM_START_ALWAYS || (a == VM_START_IF_RUNNING && r.runtime.running_at_host_stop));
		if (!go)
			continue;
		char *argv[] = { "nestvm", "vm", "start", names[i], NULL };
		int st = run(argv);
		if (st)
			status = cli_fail(NESTVM_EXIT_VMM_FAILURE, "VM %s: did not start (status %d)", names[i], st);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return status;
}

int cmd_service(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "start"))
		return service_start();
	if (argc == 2 && !strcmp(argv[1], "stop"))
		return service_stop();
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return NESTVM_EXIT_BAD_INPUT;
}
