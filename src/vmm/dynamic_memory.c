#include "vmm/dynamic_memory.h"
#include "util/mono_clock.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define BALANCE_MS 1000 /* one step a second, as Hyper-V's balancer */
#define HURRIED_MS 250  /* while demand rises */
#define NUDGE_EVERY 5      /* seconds between two reminders of the target */
#define NUDGE_SLACK_MIB 16

/* The host's memory from /proc/meminfo, MiB (zero when unreadable: the
 * balancer then sees no pressure). */
static void host_memory(int fd, uint64_t *total, uint64_t *avail)
{
	char buf[4096];
	*total = *avail = 0;
	ssize_t n = fd >= 0 ? pread(fd, buf, sizeof(buf) - 1, 0) : -1;
	if (n <= 0)
		return;
	buf[n] = '\0';
	unsigned long long kib;
	const char *t = strstr(buf, "MemTotal:"), *a = strstr(buf, "MemAvailable:");
	if (t && sscanf(t, "MemTotal: %llu kB", &kib) == 1)
		*total = kib >> 10;
	if (a && sscanf(a, "MemAvailable: %llu kB", &kib) == 1)
		*avail = kib >> 10;
}

/* Not while paused: the guest could not answer. */
static void balance(struct evloop *l, const struct evloop_event *ev, void *opaque)
{
	(void)ev;
	struct dynamic_memory *d = opaque;
	if (machine_paused(d->m))
		return;
	struct machine_memory mm;
	machine_memory_status(d->m, &mm);
	struct memory_view v = { .have_demand = mm.have_demand, .demand_mib = mm.demand_mib,
				 .assigned_mib = mm.target_mib, .sample = mm.stats_sample,
				 .now_ms = mono_ms() };
	host_memory(d->meminfo_fd, &v.host_total_mib, &v.host_avail_mib);
	uint64_t next = memory_balancer_next(&d->balancer, &d->policy, &v);
	bool hurried = memory_balancer_hurried(&d->balancer);
	if (hurried != d->hurried) {
		uint64_t period = hurried ? HURRIED_MS : BALANCE_MS;
		if (evloop_timer_arm(l, d->timer, period, period) == 0)
			d->hurried = hurried;
	}
	struct nv_err err = { 0 };
	/* A driver that deflated on an OOM holds less than asked and does not
	 * inflate again by itself: the target is said again every few seconds
	 * (once the OOM is over it inflates; while it lasts it deflates). */
	bool short_of_target = mm.balloon_mib + NUDGE_SLACK_MIB < mm.ram_mib - next;
	if (next != mm.target_mib || (short_of_target && ++d->nudge_ticks % NUDGE_EVERY == 0))
		machine_set_memory_target(d->m, next, &err);
	machine_memory_request_stats(d->m);
}

int dynamic_memory_start(struct dynamic_memory *d, struct machine *m, struct evloop *l, struct nv_err *err)
{
	const struct vm_config *c = machine_config(m);
	*d = (struct dynamic_memory){ .m = m, .on = c->dynamic_memory_enabled, .meminfo_fd = -1 };
	if (!d->on)
		return 0;
	d->policy = (struct memory_policy){ .min_mib = c->memory_min_mib, .max_mib = c->memory_max_mib,
					    .buffer_pct = c->memory_buffer_pct, .weight = c->memory_weight };
	d->meminfo_fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	int r = evloop_add_timer(l, balance, d, &d->timer);
	if (r >= 0)
		r = evloop_timer_arm(l, d->timer, BALANCE_MS, BALANCE_MS);
	return r < 0 ? nv_err_host(err, "dynamic memory's timer: %s", strerror(-r)) : 0;
}

int dynamic_memory_set_policy(struct dynamic_memory *d, const struct memory_policy *p, struct nv_err *err)
{
	uint64_t ram = d->m ? vm_config_ram_mib(machine_config(d->m)) : 0;
	if (!d->on)
		return nv_err_input(err, "the VM runs without dynamic memory (vm set --dynamic-memory on while it is Off)");
	if (p->max_mib > ram)
		return nv_err_input(err, "the VM booted with %llu MiB of RAM: a larger maximum takes a restart",
				    (unsigned long long)ram);
	d->policy = *p;
	return 0;
}

void dynamic_memory_stop(struct dynamic_memory *d)
{
	if (d->meminfo_fd >= 0)
		close(d->meminfo_fd);
	d->meminfo_fd = -1;
}
