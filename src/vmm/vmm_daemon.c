/* A named VM's VMM process (vmm_daemon.h). */
#include "vmm/vmm_daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "confine/confine.h"
#include "confine/identity.h"
#include "mgmt/vm_store.h"
#include "util/parse.h"
#include "util/proc_fail.h"
#include "util/state_dir.h"
#include "vmm/exit_status.h"
#include "mgmt/vm_checkpoint.h"
#include "mgmt/vm_status_file.h"
#include "mgmt/vm_user_dir.h"
#include "vmm/machine_state.h"
#include "vmm/migration_disks.h"
#include "vmm/migration_receive.h"
#include "vmm/vm_launch.h"
#include "vmm/vm_process.h"

_Static_assert(PROC_EXIT_INPUT == NESTVM_EXIT_BAD_INPUT && PROC_EXIT_HOST == NESTVM_EXIT_VMM_FAILURE,
	       "util/proc_fail.h and vmm/exit_status.h disagree on the exit statuses");

struct daemon {
	const char *name;
	int notify_fd;
	/* A VM with run_as: once the VMM is that user it cannot write the
	 * record, and writes its runtime (rt) as status instead. */
	const struct vm_config *config;
	char status_path[VM_PATH_MAX];
	struct vm_runtime rt;
	char sock_console[VM_PATH_MAX], sock_control[VM_PATH_MAX], log[VM_PATH_MAX];
	char saved_dir[VM_PATH_MAX]; /* where `vm save` puts the machine */
	char checkpoints_dir[VM_PATH_MAX];
	bool resuming;               /* it holds a saved machine to continue */
	/* `vm receive`: the address, how long to wait for a source, and the
	 * migration until the VM runs here (then the source is told). */
	const char *incoming;
	int incoming_timeout_ms;
	const char *storage_dir; /* where disks copied along go; NULL: the source's paths */
	struct migration_incoming *rx;
	struct vm_record *record; /* the daemon's copy: the source's settings land in it */
};

static void log_line(const struct daemon *d, const char *fmt, const char *arg)
{
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime_r(&now, &tm));
	fprintf(stderr, "%s nestvm vm-daemon %s: ", when, d->name);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
}

/* Tells `vm start` how it went, once. */
static void notify(struct daemon *d, int status)
{
	if (d->notify_fd < 0)
		return;
	dprintf(d->notify_fd, "%d\n", status);
	close(d->notify_fd);
	d->notify_fd = -1;
}

enum change { TO_RECEIVING, TO_STARTING, TO_RUNNING, TO_PAUSED, TO_RESUMED, TO_STOPPING, TO_OFF, TO_SAVED };

/* The change on a runtime. */
static void apply_change(struct vm_runtime *rt, enum change to, const char *reason)
{
	switch (to) {
	case TO_RECEIVING: /* its pid, for `vm stop` */
		rt->state = VM_STATE_RECEIVING;
		rt->pid = getpid();
		break;
	case TO_STARTING:
		rt->state = VM_STATE_STARTING;
		rt->pid = getpid();
		rt->started_at = 0;
		rt->last_stop[0] = '\0';
		rt->running_at_host_stop = false; /* started: the host's last shutdown is history */
		break;
	case TO_RUNNING:
		rt->state = VM_STATE_RUNNING;
		rt->pid = getpid();
		rt->started_at = (int64_t)time(NULL);
		break;
	case TO_PAUSED:
	case TO_RESUMED: /* pid and start time stay: it is the same run */
		if (rt->state == VM_STATE_RUNNING || rt->state == VM_STATE_PAUSED)
			rt->state = to == TO_PAUSED ? VM_STATE_PAUSED : VM_STATE_RUNNING;
		break;
	case TO_STOPPING:
		if (rt->state == VM_STATE_OFF)
			break;
		rt->state = VM_STATE_STOPPING;
		break;
	case TO_OFF:
	case TO_SAVED:
		rt->state = to == TO_SAVED ? VM_STATE_SAVED : VM_STATE_OFF;
		rt->pid = 0;
		rt->started_at = 0;
		snprintf(rt->last_stop, sizeof(rt->last_stop), "%s", reason);
		break;
	}
}

/* Is this process its VM's user now (confine_thread made it so)? */
static bool is_run_as_user(const struct daemon *d)
{
	return d->config && d->config->has_run_as && geteuid() == d->config->run_as.uid;
}

/* Read-modify-write of the record under its lock; the status file once
 * the VMM is the VM's user. */
static int record_change(struct daemon *d, enum change to, const char *reason)
{
	struct nv_err err = { 0 };
	if (is_run_as_user(d)) {
		apply_change(&d->rt, to, reason);
		struct vm_runtime st = d->rt;
		st.pid = getpid(); /* the status is believed for this VMM only */
		if (vm_status_file_write(d->status_path, &st, &err) == 0)
			return 0;
		goto fail;
	}
	struct vm_lock lk;
	struct vm_record r;
	if (vm_store_lock(d->name, &lk, &err) < 0)
		goto fail;
	if (vm_store_load(d->name, &r, &err) < 0) {
		vm_store_unlock(&lk);
		goto fail;
	}
	apply_change(&r.runtime, to, reason);
	d->rt = r.runtime;
	int rc = vm_store_save(&r, &err);
	vm_store_unlock(&lk);
	if (rc == 0)
		return 0;
fail:
	log_line(d, "cannot update the record: %s", err.msg);
	return -1;
}

static void on_running(void *opaque)
{
	struct daemon *d = opaque;
	record_change(d, TO_RUNNING, NULL);
	log_line(d, "%s", "running");
	notify(d, 0);
	if (d->rx) { /* a received VM: the source may let go of it now */
		migration_incoming_end(d->rx, true, NULL);
		d->rx = NULL;
		log_line(d, "%s", "the migrated VM runs here: the source was told");
	}
}

static void on_paused(void *opaque, bool paused)
{
	struct daemon *d = opaque;
	record_change(d, paused ? TO_PAUSED : TO_RESUMED, NULL);
	log_line(d, "%s", paused ? "paused" : "resumed");
}

static void on_stopping(void *opaque)
{
	struct daemon *d = opaque;
	record_change(d, TO_STOPPING, NULL);
	log_line(d, "%s", "stopping");
}

static void on_ended(void *opaque, const struct machine_result *res)
{
	struct daemon *d = opaque;
	char reason[256];
	vm_process_stop_reason(res, reason, sizeof(reason));
	record_change(d, res->end == MACHINE_END_SAVED ? TO_SAVED : TO_OFF, reason);
	log_line(d, "off: %s", reason);
	notify(d, NESTVM_EXIT_VMM_FAILURE); /* only if it never ran */
}

/* The VMM's loop for d, its console read from console_read_fd. */
static struct vm_process_options process_options(struct daemon *d, int console_read_fd)
{
	return (struct vm_process_options){
		.console_sock = d->sock_console, .control_sock = d->sock_control, .console_log = d->log,
		.console_read_fd = console_read_fd, .save_dir = d->saved_dir, .checkpoints_dir = d->checkpoints_dir,
		.on_running = on_running, .on_stopping = on_stopping, .on_paused = on_paused, .on_ended = on_ended, .opaque = d,
	};
}

/* The VM did not get to run: Off with why (a saved VM stays Saved, its
 * state kept), and the status for `vm start`. */
static int fail_start(struct daemon *d, const struct nv_err *err)
{
	int status = err->kind == NV_ERR_HOST ? NESTVM_EXIT_VMM_FAILURE : NESTVM_EXIT_BAD_INPUT;
	record_change(d, d->resuming ? TO_SAVED : TO_OFF, err->msg);
	log_line(d, "did not start: %s", err->msg);
	notify(d, status);
	return status;
}

/* vmm.lock: inherited from `vm start`, or taken here. -1 if another VMM
 * holds it. Close-on-exec either way, so that nothing this process starts
 * (a switch's daemon) keeps the VM looking alive after it died. */
static int take_vmm_lock(const struct daemon *d, int fd)
{
	if (fd < 0) {
		char path[VM_PATH_MAX];
		struct nv_err err = { 0 };
		if (vm_store_path(d->name, VM_VMM_LOCK_FILE, path, sizeof(path), &err) < 0)
			return -1;
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return -1;
	} else if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int parse_fd_opt(const char *v, int *out)
{
	unsigned long n;
	if (parse_uint(v, 3, 1024, &n) < 0)
		return -1;
	*out = (int)n;
	return 0;
}

/* saved/ is in the user's part for a VM with run_as: root reads and
 * removes it as the user (mgmt/vm_user_dir.h). */
static int saved_load_as_user(const struct daemon *d, struct machine_saved *saved, struct nv_err *err)
{
	struct identity_fs_saved ids;
	if (vm_user_dir_enter(d->config, &ids, err) < 0)
		return -1;
	int rc = machine_saved_load(d->saved_dir, saved, err);
	vm_user_dir_leave(d->config, &ids);
	return rc;
}

static int saved_remove_as_user(const struct daemon *d, struct nv_err *err)
{
	struct identity_fs_saved ids;
	if (vm_user_dir_enter(d->config, &ids, err) < 0)
		return -1;
	int rc = machine_saved_remove(d->saved_dir, err);
	vm_user_dir_leave(d->config, &ids);
	return rc;
}

static bool saved_exists_as_user(const struct daemon *d)
{
	struct identity_fs_saved ids;
	struct nv_err ignored = { 0 };
	if (vm_user_dir_enter(d->config, &ids, &ignored) < 0)
		return false;
	bool yes = machine_saved_exists(d->saved_dir);
	vm_user_dir_leave(d->config, &ids);
	return yes;
}

/* A VM with run_as: its VMM's threads become the user once set up
 * (confine_thread), and the user's part of its folder is ready for what
 * they write then. */
static int prepare_run_as(const struct vm_config *c, struct nv_err *err)
{
	if (!c->has_run_as)
		return 0;
	if (identity_set(&c->run_as, err) < 0)
		return nv_err_input(err, "VM %s runs as %s (--run-as): only root can start it", c->name, c->run_as.name);
	return vm_store_prepare_user_dir(c, err);
}

static int run_vm(struct daemon *d, const struct vm_record *r)
{
	struct nv_err err = { 0 };
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		nv_err_host(&err, "pipe: %s", strerror(errno));
		return fail_start(d, &err);
	}
	struct vm_launch_options lo = { .console_fd = pipefd[1] };
	static struct vm_launch_state launch; /* lives as long as the machine */
	struct machine_saved saved = { .memory_fd = -1 };
	if (d->resuming) {
		if (saved_load_as_user(d, &saved, &err) < 0) {
			close(pipefd[0]);
			close(pipefd[1]);
			return fail_start(d, &err);
		}
		lo.saved = &saved;
		lo.disk_paths_from_caller = true; /* the record follows checkpoints */
	}
	struct machine *m = vm_launch(&r->config, &lo, &launch, &err);
	machine_saved_free(&saved); /* its memory is mapped now (or never) */
	/* Resumed: the saved state is used up (Hyper-V's too), and the memory
	 * file stays readable through the mapping until the VM ends. */
	struct nv_err rm_err = { 0 };
	if (m && d->resuming && saved_remove_as_user(d, &rm_err) < 0)
		log_line(d, "%s", rm_err.msg);
	if (launch.note[0])
		log_line(d, "note: %s", launch.note);
	if (!m) {
		close(pipefd[0]);
		close(pipefd[1]);
		return fail_start(d, &err);
	}
	struct vm_process_options po = process_options(d, pipefd[0]);
	struct machine_result res;
	if (vm_process_run(m, &po, &res, &err) < 0)
		log_line(d, "%s", err.msg);
	machine_destroy(m);
	close(pipefd[0]);
	close(pipefd[1]);
	return exit_status_from_result(&res);
}

/* ---- `vm receive`: a VM that arrives by live migration ---------------- */

/* A VM that did not arrive is not here: its record goes (the source runs
 * it on and says why). Before it listened, `vm receive` is told the status
 * and reads why from the record, and removes it. */
static int fail_receive(struct daemon *d, const struct nv_err *err)
{
	int status = err->kind == NV_ERR_HOST ? NESTVM_EXIT_VMM_FAILURE : NESTVM_EXIT_BAD_INPUT;
	log_line(d, "did not arrive: %s", err->msg);
	if (d->notify_fd >= 0) {
		record_change(d, TO_OFF, err->msg);
		notify(d, status);
		return status;
	}
	struct nv_err ignored = { 0 };
	vm_store_delete(d->name, &ignored);
	return status;
}

struct receive_build {
	struct daemon *d;
	struct vm_launch_options lo;
	struct vm_launch_state *launch;
	struct machine *m;
};

static void receive_listening(void *opaque)
{
	struct receive_build *b = opaque;
	log_line(b->d, "waiting for a migrating VM at %s", b->d->incoming);
	notify(b->d, 0);
}

/* The source's record, accepted: its settings become this VM's (the name
 * stays ours), and the machine is built while RAM streams in. */
static int receive_prepare(void *opaque, const struct vm_config *config, int memory_fd, struct nv_err *err)
{
	struct receive_build *b = opaque;
	struct daemon *d = b->d;
	if (config->has_run_as)
		return nv_err_input(err, "refused: the source VM runs as user %s (--run-as); `vm receive` takes "
				    "root's VMs only", config->run_as.name);
	struct vm_lock lk;
	struct vm_record r;
	if (vm_store_lock(d->name, &lk, err) < 0)
		return -1;
	if (vm_store_load(d->name, &r, err) < 0) {
		vm_store_unlock(&lk);
		return -1;
	}
	r.config = *config;
	memcpy(r.config.name, d->record->config.name, sizeof(r.config.name));
	int rc = vm_store_save(&r, err);
	vm_store_unlock(&lk);
	if (rc < 0)
		return -1;
	*d->record = r;
	b->lo.name_from_caller = true;
	b->m = vm_launch_saved_prepare(&r.config, &b->lo, config, memory_fd, b->launch, err);
	return b->m ? 0 : -1;
}

/* A disk the source copies along, into the machine's own open disk. */
static int receive_disk_write(void *opaque, unsigned index, uint64_t off, const uint8_t *data, uint32_t len,
			      struct nv_err *err)
{
	struct receive_build *b = opaque;
	return mig_disks_write(b->m, index, off, data, len, err);
}

static int receive_vm(struct daemon *d)
{
	struct nv_err err = { 0 };
	char dir[VM_PATH_MAX];
	int pipefd[2];
	if (vm_store_path(d->name, NULL, dir, sizeof(dir), &err) < 0)
		return fail_receive(d, &err);
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		nv_err_host(&err, "pipe: %s", strerror(errno));
		return fail_receive(d, &err);
	}
	static struct vm_launch_state launch; /* lives as long as the machine */
	static struct migration_incoming in;
	struct receive_build b = { .d = d, .lo = { .console_fd = pipefd[1] }, .launch = &launch };
	const struct migration_prepare prep = { .fn = receive_prepare, .listening = receive_listening, .opaque = &b,
						.disk_write = receive_disk_write, .storage_dir = d->storage_dir };
	int rc = migration_receive(d->incoming, d->incoming_timeout_ms, NULL, dir, &prep, &in, &err);
	if (rc == 0 && !b.m)
		rc = nv_err_host(&err, "the migration completed without a machine built");
	if (rc == 0 && machine_restore(b.m, &in.saved, &err) < 0)
		rc = -1;
	machine_saved_free(&in.saved);
	if (rc < 0) {
		machine_destroy(b.m);
		migration_incoming_end(&in, false, err.msg);
		close(pipefd[0]);
		close(pipefd[1]);
		return fail_receive(d, &err);
	}
	char got[160];
	snprintf(got, sizeof(got), "received %llu pages (%llu zeroed again, %llu MB) in %lld ms",
		 (unsigned long long)in.pages, (unsigned long long)in.zero_pages,
		 (unsigned long long)(in.bytes / 1000000), (long long)in.receive_ms);
	log_line(d, "%s", got);
	d->rx = &in;
	struct vm_process_options po = process_options(d, pipefd[0]);
	struct machine_result res;
	if (vm_process_run(b.m, &po, &res, &err) < 0)
		log_line(d, "%s", err.msg);
	if (d->rx) /* it never ran: the source takes it back */
		migration_incoming_end(d->rx, false, err.msg[0] ? err.msg : "the VM did not run on the target");
	machine_destroy(b.m);
	close(pipefd[0]);
	close(pipefd[1]);
	return exit_status_from_result(&res);
}

int vmm_daemon_parse(int argc, char **argv, struct vmm_daemon_options *o)
{
	*o = (struct vmm_daemon_options){ .lock_fd = -1, .notify_fd = -1, .incoming_timeout_ms = -1 };
	if (argc < 2 || !state_name_valid(argv[1], VM_NAME_MAX))
		return proc_fail(NESTVM_EXIT_BAD_INPUT, "usage: nestvm vm-daemon NAME (started by `nestvm vm start`)");
	o->name = argv[1];
	for (int i = 2; i < argc; i += 2) {
		if (!strcmp(argv[i], "--incoming") && i + 1 < argc) {
			o->incoming = argv[i + 1];
			continue;
		}
		if (!strcmp(argv[i], "--storage-path") && i + 1 < argc && argv[i + 1][0] == '/') {
			o->storage_dir = argv[i + 1];
			continue;
		}
		if (!strcmp(argv[i], "--incoming-timeout-ms") && i + 1 < argc) {
			unsigned long ms;
			if (parse_uint(argv[i + 1], 0, 86400000, &ms) < 0)
				return proc_fail(NESTVM_EXIT_BAD_INPUT, "vm-daemon: bad option '%s'", argv[i]);
			o->incoming_timeout_ms = ms ? (int)ms : -1;
			continue;
		}
		int *dst = !strcmp(argv[i], "--lock-fd") ? &o->lock_fd : !strcmp(argv[i], "--notify-fd") ? &o->notify_fd : NULL;
		if (!dst || i + 1 >= argc || parse_fd_opt(argv[i + 1], dst) < 0)
			return proc_fail(NESTVM_EXIT_BAD_INPUT, "vm-daemon: bad option '%s'", argv[i]);
	}
	return 0;
}

int vmm_daemon_run(const struct vmm_daemon_options *o)
{
	struct daemon d = { .name = o->name, .notify_fd = o->notify_fd, .incoming = o->incoming,
			    .incoming_timeout_ms = o->incoming_timeout_ms, .storage_dir = o->storage_dir };
	if (d.notify_fd >= 0)
		fcntl(d.notify_fd, F_SETFD, FD_CLOEXEC);
	/* A `vm start` that gave up waiting, or a console client that left,
	 * must not kill the VM's process. */
	signal(SIGPIPE, SIG_IGN);
	struct nv_err err = { 0 };
	if (confine_init(&err) < 0) {
		notify(&d, NESTVM_EXIT_BAD_INPUT);
		return proc_fail(NESTVM_EXIT_BAD_INPUT, "%s", err.msg);
	}
	if (vm_store_path(d.name, VM_CONSOLE_SOCKET, d.sock_console, sizeof(d.sock_console), &err) < 0 ||
	    vm_store_path(d.name, VM_CONTROL_SOCKET, d.sock_control, sizeof(d.sock_control), &err) < 0 ||
	    vm_store_path(d.name, VM_CONSOLE_LOG, d.log, sizeof(d.log), &err) < 0)
		return proc_fail(NESTVM_EXIT_BAD_INPUT, "%s", err.msg);
	/* Held until this process exits: the store's sign that the VM lives. */
	int vmm_lock = take_vmm_lock(&d, o->lock_fd);
	if (vmm_lock < 0) {
		notify(&d, NESTVM_EXIT_BAD_INPUT);
		return proc_fail(NESTVM_EXIT_BAD_INPUT, "VM %s already has a VMM process (its vmm.lock is held)", d.name);
	}
	struct vm_record r;
	if (vm_store_load(d.name, &r, &err) < 0) {
		/* A record we cannot read is not ours to rewrite. */
		notify(&d, err.kind == NV_ERR_HOST ? NESTVM_EXIT_VMM_FAILURE : NESTVM_EXIT_BAD_INPUT);
		return proc_fail(NESTVM_EXIT_BAD_INPUT, "%s", err.msg);
	}
	d.config = &r.config;
	d.record = &r;
	if (vm_store_vmm_file(&r.config, VM_SAVED_DIR, d.saved_dir, sizeof(d.saved_dir), &err) < 0 ||
	    vm_store_vmm_file(&r.config, VM_CHECKPOINTS_DIR, d.checkpoints_dir, sizeof(d.checkpoints_dir), &err) < 0 ||
	    vm_store_vmm_file(&r.config, VM_STATUS_FILE, d.status_path, sizeof(d.status_path), &err) < 0)
		return proc_fail(NESTVM_EXIT_BAD_INPUT, "%s", err.msg);
	if (d.incoming) {
		if (r.runtime.state != VM_STATE_RECEIVING) {
			notify(&d, NESTVM_EXIT_BAD_INPUT);
			return proc_fail(NESTVM_EXIT_BAD_INPUT, "VM %s is %s, not Receiving (`nestvm vm receive` makes it so)",
					 d.name, vm_state_name(r.runtime.state));
		}
		record_change(&d, TO_RECEIVING, NULL);
		return receive_vm(&d);
	}
	if (prepare_run_as(&r.config, &err) < 0) {
		d.resuming = machine_saved_exists(d.saved_dir); /* kept: it stays Saved */
		return fail_start(&d, &err);
	}
	d.resuming = saved_exists_as_user(&d);
	record_change(&d, TO_STARTING, NULL);
	log_line(&d, "%s", d.resuming ? "resuming its saved state" : "starting");
	return run_vm(&d, &r);
}

int vmm_daemon_main(int argc, char **argv)
{
	struct vmm_daemon_options o;
	int st = vmm_daemon_parse(argc, argv, &o);
	return st ? st : vmm_daemon_run(&o);
}
