#include "vmm/vm_process.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/peer_cred.h"
#include "vmm/console_hub.h"
#include "vmm/machine_state.h"
#include "vmm/migration_send.h"
#include "vmm/dynamic_memory.h"
#include "vmm/vm_control.h"
#include "vmm/vmm_loop.h"
#include "util/mono_clock.h"

#define MAX_CONTROL 8          /* control connections waiting for their request */
#define CONTROL_DEADLINE_MS 5000
#define CONTROL_SWEEP_MS 1000

struct control_conn {
	int fd; /* -1: free */
	evloop_id id;
	int64_t since;
};

struct proc {
	struct machine *m;
	const struct vm_process_options *o;
	struct vmm_loop loop;
	struct console_hub hub;
	int ctl_lfd;
	struct control_conn ctl[MAX_CONTROL];
	evloop_id console_id;
	bool stopping;
	int64_t started; /* monotonic seconds */
	struct dynamic_memory dyn;
};

static void set_stopping(struct proc *p)
{
	if (p->stopping)
		return;
	p->stopping = true;
	if (p->o->on_stopping)
		p->o->on_stopping(p->o->opaque);
}

static const char *state_name(const struct proc *p)
{
	return p->stopping ? "Stopping" : machine_paused(p->m) ? "Paused" : "Running";
}

/* Pausing waits for every vCPU to leave the guest on its own thread and for
 * the devices to stop; the loop itself keeps serving the console and control
 * sockets meanwhile (input waits in the UART). */
static void set_paused(struct proc *p, bool paused)
{
	if (paused == machine_paused(p->m))
		return;
	if (paused)
		machine_pause(p->m);
	else
		machine_resume(p->m);
	if (p->o->on_paused)
		p->o->on_paused(p->o->opaque, paused);
}

static void reply(int fd, struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	ssize_t w = send(fd, s, strlen(s), MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)w; /* a client that left gets no answer */
	json_object_put(o);
}

static void refuse(struct json_object *o, const char *why)
{
	json_object_object_add(o, "ok", json_object_new_boolean(false));
	json_object_object_add(o, "error", json_object_new_string(why));
}

/* Paused, saved, then ended: the VMM exits and the VM is Saved. A failed
 * save leaves it running (or paused, if it was). */
static void save(struct proc *p, struct json_object *o)
{
	if (p->stopping) {
		refuse(o, "the VM is stopping");
		return;
	}
	bool was_paused = machine_paused(p->m);
	set_paused(p, true);
	struct nv_err err = { 0 };
	if (machine_save(p->m, p->o->save_dir, &err) < 0) {
		set_paused(p, was_paused);
		refuse(o, err.msg);
		return;
	}
	p->stopping = true; /* no Stopping to record: it is Saved */
	machine_request_end(p->m, MACHINE_END_SAVED, 0, "saved");
	json_object_object_add(o, "state", json_object_new_string("Saved"));
}

static void add_int(struct json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_int64((int64_t)v));
}

/* The migrating client's progress line: an interim message on its
 * control connection (dropped, not waited for, when it does not read). */
static void send_progress(void *opaque, const struct migration_progress *mp)
{
	int fd = *(const int *)opaque;
	struct json_object *o = json_object_new_object(), *v = json_object_new_object();
	add_int(v, "round", mp->round);
	add_int(v, "bytes", mp->bytes);
	add_int(v, "left_bytes", mp->left_bytes);
	add_int(v, "dirty_kbps", mp->dirty_kbps);
	add_int(v, "elapsed_ms", (uint64_t)mp->elapsed_ms);
	json_object_object_add(o, "interim", v);
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	ssize_t n = send(fd, s, strlen(s), MSG_DONTWAIT | MSG_NOSIGNAL);
	(void)n;
	json_object_put(o);
}

/* Live migration, on this thread (the loop waits meanwhile: console output
 * waits in its pipe, control clients in the socket's queue). Once the
 * target runs the VM, this VMM ends with "migrated to ADDR"; any failure
 * leaves the VM running here. */
static void migrate(struct proc *p, struct json_object *o, const struct vm_control_request *req, int conn,
		    int client)
{
	if (p->stopping) {
		refuse(o, "the VM is stopping");
		return;
	}
	if (conn < 0) {
		refuse(o, "migrate needs the connection to its target passed with the request");
		return;
	}
	struct migration_options mo = { .to = req->to, .fd = conn, .downtime_ms = req->downtime_ms,
					.bandwidth_mbps = req->bandwidth_mbps, .max_rounds = req->max_rounds,
					.pause_to_converge = req->pause_to_converge, .copy_disks = req->copy_disks,
					.progress = req->progress ? send_progress : NULL, .progress_opaque = &client };
	struct migration_report r;
	struct nv_err err = { 0 };
	if (migration_send(p->m, &mo, &r, &err) < 0) {
		refuse(o, err.msg);
		return;
	}
	char why[200];
	snprintf(why, sizeof(why), "migrated to %s", req->to);
	p->stopping = true; /* no Stopping to record: it is Off, moved */
	machine_request_end(p->m, MACHINE_END_STOPPED, 0, why);
	add_int(o, "total_ms", (uint64_t)r.total_ms);
	add_int(o, "downtime_ms", (uint64_t)r.downtime_ms);
	add_int(o, "rounds", r.rounds);
	add_int(o, "bytes", r.bytes);
	add_int(o, "pages", r.pages);
	add_int(o, "final_pages", r.final_pages);
	add_int(o, "rate_kbps", r.rate_kbps);
	json_object_object_add(o, "paused_to_converge", json_object_new_boolean(r.paused_to_converge));
	if (req->copy_disks)
		add_int(o, "disk_bytes", r.disk_bytes);
	if (req->copy_disks)
		add_int(o, "disk_blocks_again", r.disk_blocks_again);
}

/* The machine at one instant, into checkpoints/NAME/; the VM goes on (a
 * paused one stays paused). The record does not pass through Paused. */
static void checkpoint(struct proc *p, struct json_object *o, const struct vm_control_request *req)
{
	const char *name = req->name;
	if (p->stopping) {
		refuse(o, "the VM is stopping");
		return;
	}
	char dir[4096];
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", p->o->checkpoints_dir, name) >= sizeof(dir)) {
		refuse(o, "checkpoint path too long");
		return;
	}
	bool was_paused = machine_paused(p->m);
	machine_pause(p->m);
	struct nv_err err = { 0 };
	int rc = machine_save(p->m, dir, &err);
	/* Writable disks move onto new differencing disks while still
	 * paused, so the images the checkpoint names are never written again. */
	if (rc == 0)
		rc = machine_disks_branch(p->m, req->overlays, req->noverlays, &err);
	if (!was_paused)
		machine_resume(p->m);
	if (rc < 0)
		refuse(o, err.msg);
}

static void add_memory_status(struct proc *p, struct json_object *o)
{
	struct machine_memory mm;
	machine_memory_status(p->m, &mm);
	if (!mm.has_balloon)
		return;
	add_int(o, "ram_mib", mm.ram_mib);
	add_int(o, "memory_target_mib", mm.target_mib);
	add_int(o, "balloon_mib", mm.balloon_mib);
	if (mm.have_demand)
		add_int(o, "demand_mib", mm.demand_mib);
	if (p->dyn.on) {
		struct json_object *d = json_object_new_object();
		add_int(d, "min_mib", p->dyn.policy.min_mib);
		add_int(d, "max_mib", p->dyn.policy.max_mib);
		add_int(d, "buffer_percent", p->dyn.policy.buffer_pct);
		add_int(d, "weight", p->dyn.policy.weight);
		json_object_object_add(o, "dynamic_memory", d);
	}
}

/* New bounds from `vm set`. */
static void set_policy(struct proc *p, struct json_object *o, const struct vm_control_request *req)
{
	struct memory_policy pol = { .min_mib = req->min_mib, .max_mib = req->max_mib,
				     .buffer_pct = req->buffer_pct, .weight = req->weight };
	struct nv_err err = { 0 };
	if (dynamic_memory_set_policy(&p->dyn, &pol, &err) < 0)
		refuse(o, err.msg);
}

static void handle_request(struct proc *p, int fd, const char *msg, size_t len, int passed)
{
	struct vm_control_request req;
	vm_control_parse(msg, len, &req);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(req.cmd != VM_CONTROL_INVALID));
	switch (req.cmd) {
	case VM_CONTROL_STATUS: {
		json_object_object_add(o, "state", json_object_new_string(state_name(p)));
		json_object_object_add(o, "pid", json_object_new_int64(getpid()));
		json_object_object_add(o, "uptime", json_object_new_int64(mono_ms() / 1000 - p->started));
		add_memory_status(p, o);
		break;
	}
	case VM_CONTROL_MEMORY: {
		struct nv_err err = { 0 };
		if (machine_set_memory_target(p->m, req.mib, &err) < 0)
			refuse(o, err.msg);
		else
			json_object_object_add(o, "target_mib", json_object_new_int64((int64_t)req.mib));
		break;
	}
	case VM_CONTROL_MEMORY_POLICY:
		set_policy(p, o, &req);
		break;
	case VM_CONTROL_SHUTDOWN:
		/* Only a request: the guest decides (and may ignore it); a paused
		 * guest could not hear it, so it runs again first. */
		set_paused(p, false);
		set_stopping(p);
		machine_press_power_button(p->m);
		break;
	case VM_CONTROL_PAUSE:
	case VM_CONTROL_RESUME:
		if (p->stopping) {
			json_object_object_add(o, "ok", json_object_new_boolean(false));
			json_object_object_add(o, "error", json_object_new_string("the VM is stopping"));
			break;
		}
		set_paused(p, req.cmd == VM_CONTROL_PAUSE);
		json_object_object_add(o, "state", json_object_new_string(state_name(p)));
		break;
	case VM_CONTROL_SAVE:
		save(p, o);
		break;
	case VM_CONTROL_CHECKPOINT:
		checkpoint(p, o, &req);
		break;
	case VM_CONTROL_MIGRATE:
		migrate(p, o, &req, passed, fd);
		break;
	case VM_CONTROL_KILL:
		set_stopping(p);
		machine_request_end(p->m, MACHINE_END_STOPPED, 0,
				    req.reason[0] ? req.reason : VM_PROCESS_KILL_DEFAULT);
		break;
	case VM_CONTROL_INVALID:
	default:
		json_object_object_add(o, "error", json_object_new_string(req.error));
		break;
	}
	reply(fd, o);
}

static void control_close(struct proc *p, struct control_conn *c)
{
	evloop_remove(p->loop.ev, c->id);
	close(c->fd);
	*c = (struct control_conn){ .fd = -1 };
}

/* One request, and the descriptor passed with it (SCM_RIGHTS) if any. */
static ssize_t recv_request(int fd, char *msg, size_t size, int *passed)
{
	struct iovec iov = { msg, size };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			    .msg_controllen = sizeof(ctl.buf) };
	ssize_t n = recvmsg(fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	for (struct cmsghdr *c = n >= 0 ? CMSG_FIRSTHDR(&m) : NULL; c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfd; i++) { /* the first kept, any others closed */
			int f;
			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*passed < 0)
				*passed = f;
			else
				close(f);
		}
	}
	return n;
}

/* One request per connection, then it closes. */
static void control_event(struct evloop *l, const struct evloop_event *ev, void *opaque)
{
	struct proc *p = opaque;
	struct control_conn *c = NULL;
	for (int i = 0; i < MAX_CONTROL && !c; i++)
		if (p->ctl[i].fd >= 0 && p->ctl[i].id == ev->id)
			c = &p->ctl[i];
	if (!c)
		return;
	char msg[VM_CONTROL_MAX + 1];
	int passed = -1; /* migrate's connection to its target */
	ssize_t n = recv_request(c->fd, msg, sizeof(msg), &passed);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		handle_request(p, c->fd, msg, (size_t)n, passed);
	if (passed >= 0)
		close(passed);
	control_close(p, c);
}

static void control_accept(struct evloop *l, const struct evloop_event *ev, void *opaque)
{
	struct proc *p = opaque;
	int fd = accept4(p->ctl_lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	if (!peer_cred_trusted(fd, NULL)) { /* another user: no say over this VM */
		close(fd);
		return;
	}
	for (int i = 0; i < MAX_CONTROL; i++) {
		struct control_conn *c = &p->ctl[i];
		if (c->fd >= 0)
			continue;
		if (evloop_add_fd(l, fd, EVLOOP_IN, control_event, p, &c->id) < 0)
			break;
		c->fd = fd;
		c->since = mono_ms();
		return;
	}
	close(fd); /* too many at once: that client retries */
}

/* Connected and never asked: not our problem. */
static void control_sweep(struct evloop *l, const struct evloop_event *ev, void *opaque)
{
	struct proc *p = opaque;
	int64_t now = mono_ms();
	for (int i = 0; i < MAX_CONTROL; i++)
		if (p->ctl[i].fd >= 0 && now - p->ctl[i].since > CONTROL_DEADLINE_MS)
			control_close(p, &p->ctl[i]);
}

/* The guest's console output: all of it that the pipe holds. false once
 * the pipe has closed. */
static bool console_read(struct proc *p)
{
	uint8_t buf[16384];
	for (int rounds = 0; rounds < 16; rounds++) {
		ssize_t n = read(p->o->console_read_fd, buf, sizeof(buf));
		if (n <= 0)
			return n < 0;
		console_hub_output(&p->hub, buf, (size_t)n);
	}
	return true;
}

static void console_event(struct evloop *l, const struct evloop_event *ev, void *opaque)
{
	struct proc *p = opaque;
	if (!console_read(p)) {
		evloop_remove(l, p->console_id); /* closed: its hang-up would repeat */
		p->console_id = 0;
	}
}

static size_t give_input(void *opaque, const uint8_t *buf, size_t n)
{
	struct proc *p = opaque;
	return machine_console_input(p->m, buf, n);
}

static bool on_signal(void *opaque, int signo)
{
	struct proc *p = opaque;
	char why[96];
	snprintf(why, sizeof(why), "the VMM got signal %d (%s)", signo, strsignal(signo));
	set_stopping(p);
	machine_request_end(p->m, MACHINE_END_STOPPED, signo, why);
	return true;
}

/* Input from clients only while the UART has taken the last. */
static void input_gate(void *opaque, bool open)
{
	struct proc *p = opaque;
	console_hub_want_input(&p->hub, open);
}

static size_t hub_room(void *opaque)
{
	struct proc *p = opaque;
	return vmm_loop_input_room(&p->loop);
}

static void hub_put(void *opaque, const uint8_t *buf, size_t n)
{
	struct proc *p = opaque;
	vmm_loop_input(&p->loop, buf, n);
}

/* The loop and everything on it, before the vCPUs start (they inherit the
 * signal mask the loop sets). */
static int setup(struct proc *p, struct nv_err *err)
{
	const struct vmm_loop_ops ops = {
		.console_input = give_input, .on_signal = on_signal, .input_gate = input_gate, .opaque = p,
	};
	if (vmm_loop_open(&p->loop, machine_end_fd(p->m), &ops, err) < 0)
		return -1;
	struct evloop *l = p->loop.ev;
	signal(SIGPIPE, SIG_IGN); /* a console client that left is not our end */
	int fl = fcntl(p->o->console_read_fd, F_GETFL);
	if (fl < 0 || fcntl(p->o->console_read_fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return nv_err_host(err, "console pipe: %s", strerror(errno));
	if (console_hub_open(&p->hub, p->o->console_sock, p->o->console_log, err) < 0)
		return -1;
	p->ctl_lfd = vm_control_listen(p->o->control_sock, SOCK_SEQPACKET, err);
	if (p->ctl_lfd < 0)
		return -1;
	const struct console_hub_input in = { .room = hub_room, .put = hub_put, .opaque = p };
	if (console_hub_attach(&p->hub, l, &in, err) < 0)
		return -1;
	evloop_id id;
	int r = evloop_add_fd(l, p->o->console_read_fd, EVLOOP_IN, console_event, p, &p->console_id);
	if (r >= 0)
		r = evloop_add_fd(l, p->ctl_lfd, EVLOOP_IN, control_accept, p, &id);
	if (r >= 0)
		r = evloop_add_timer(l, control_sweep, p, &id);
	if (r >= 0)
		r = evloop_timer_arm(l, id, CONTROL_SWEEP_MS, CONTROL_SWEEP_MS);
	if (r < 0)
		return nv_err_host(err, "event loop: %s", strerror(-r));
	return dynamic_memory_start(&p->dyn, p->m, l, err);
}

int vm_process_run(struct machine *m, const struct vm_process_options *o,
		   struct machine_result *res, struct nv_err *err)
{
	static struct proc proc; /* big (buffers); one per process */
	struct proc *p = &proc;
	memset(p, 0, sizeof(*p));
	p->m = m;
	p->o = o;
	p->ctl_lfd = -1;
	p->dyn.meminfo_fd = -1;
	p->hub.listen_fd = -1;
	p->hub.log.fd = -1;
	for (int i = 0; i < MAX_CONTROL; i++)
		p->ctl[i].fd = -1;
	int rc = 0;
	if (setup(p, err) < 0 || machine_start(m, err) < 0) {
		machine_request_end(m, MACHINE_END_VMM_FAILURE, 0, err->msg);
		machine_finish(m, res);
		rc = -1;
		goto ended;
	}
	p->started = mono_ms() / 1000;
	if (o->on_running)
		o->on_running(o->opaque);
	if (vmm_loop_run(&p->loop, err) < 0)
		machine_request_end(m, MACHINE_END_VMM_FAILURE, 0, err->msg);
	machine_finish(m, res);
	console_read(p); /* what the guest printed last */
	console_hub_flush(&p->hub);
ended:
	if (o->on_ended)
		o->on_ended(o->opaque, res);
	for (int i = 0; i < MAX_CONTROL; i++)
		if (p->ctl[i].fd >= 0)
			control_close(p, &p->ctl[i]);
	if (p->ctl_lfd >= 0) {
		close(p->ctl_lfd);
		unlink(o->control_sock);
	}
	dynamic_memory_stop(&p->dyn);
	if (p->hub.listen_fd >= 0)
		unlink(o->console_sock);
	console_hub_close(&p->hub); /* before the loop it is attached to */
	vmm_loop_close(&p->loop);   /* unblocks the signals */
	return rc;
}

void vm_process_stop_reason(const struct machine_result *res, char *out, size_t size)
{
	switch (res->end) {
	case MACHINE_END_EXIT_STATUS:
		/* The default guest's init reports its shell's status, then
		 * powers off. */
		if (res->status == 0)
			snprintf(out, size, "the guest powered off");
		else
			snprintf(out, size, "the guest powered off (its shell exited with status %d)", res->status);
		break;
	case MACHINE_END_POWEROFF:
		snprintf(out, size, "the guest powered off");
		break;
	case MACHINE_END_RESET:
		snprintf(out, size, "the guest rebooted");
		break;
	case MACHINE_END_PANIC:
		snprintf(out, size, "the guest kernel panicked");
		break;
	case MACHINE_END_TRIPLE_FAULT:
		snprintf(out, size, "the guest crashed: %s", res->detail);
		break;
	case MACHINE_END_SAVED:
		snprintf(out, size, "saved");
		break;
	case MACHINE_END_STOPPED:
		snprintf(out, size, "stopped: %s", res->detail[0] ? res->detail : VM_PROCESS_KILL_DEFAULT);
		break;
	case MACHINE_END_VMM_FAILURE:
	case MACHINE_END_NONE:
	default:
		snprintf(out, size, "VMM failure: %s", res->detail[0] ? res->detail : "unknown");
		break;
	}
}
