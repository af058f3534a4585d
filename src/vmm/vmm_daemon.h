/* A named VM's VMM process: `nestvm vm-daemon NAME [--lock-fd N]
 * [--notify-fd N]`, started in the background by `nestvm vm start` (which
 * detaches it and sends its stdout/stderr to vmm.log; not for users). It
 * holds vmm.lock for its whole life, builds the machine from the record's
 * config as `nestvm run` does (vm_launch), runs it (vm_process) and writes
 * each state change to the record under the record lock:
 *   Starting (pid) -> Running (pid, started_at) -> [Stopping] -> Off (last_stop)
 * A VM with run_as: the daemon prepares the user's part of the VM's folder
 * while root, its threads become the user once set up, and from then on
 * it writes the changes to its status file there (mgmt/vm_status_file.h).
 * Its errors are one line each, "nestvm: ..." (util/proc_fail.h); its log
 * lines are timestamped, "... nestvm vm-daemon NAME: ...". */
#ifndef NESTVM_VMM_VMM_DAEMON_H
#define NESTVM_VMM_VMM_DAEMON_H

struct vmm_daemon_options {
	const char *name; /* the VM */
	/* vmm.lock as `vm start` locked it (the same open file, so there is
	 * no moment where the record says Starting and nobody holds the
	 * lock); -1: taken here. */
	int lock_fd;
	/* One line for `vm start` once the VM is Running ("0") or has failed
	 * (the exit status for the user: "2" or "125"), then closed; -1: none. */
	int notify_fd;
	/* `vm receive`: the record is Receiving; the VM arrives by live
	 * migration at this address (unix:PATH or tcp:ADDR:PORT), waited for
	 * incoming_timeout_ms (-1: for ever). "0" is notified once it listens. */
	const char *incoming;
	int incoming_timeout_ms;
	const char *storage_dir; /* --storage-path: disks copied along go there (absolute) */
};

/* The command line (argv[0] is "vm-daemon"): 0, or an exit status after
 * a one-line error. */
int vmm_daemon_parse(int argc, char **argv, struct vmm_daemon_options *o);

/* The process: until the VM ends. Its exit status (vmm/exit_status.h). */
int vmm_daemon_run(const struct vmm_daemon_options *o);

/* Both: what the `nestvm` command table runs for `vm-daemon`. */
int vmm_daemon_main(int argc, char **argv);

#endif
