/* `nestvm vm list | show`: what the VMs are, read from the store. A record
 * that says the VM runs while no VMM holds its vmm.lock is reaped (made
 * Off with the reason) first, so a dead VMM never shows as Running. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/vm_cli.h"
#include "cli/vm_commands.h"
#include "mgmt/vm_checkpoint.h"
#include "mgmt/vm_nat_port.h"
#include "mgmt/vm_store.h"
#include "vmm/exit_status.h"
#include "vmm/vm_control.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE)

static void rtrim_print(char *line)
{
	size_t n = strlen(line);
	while (n && line[n - 1] == ' ')
		line[--n] = '\0';
	puts(line);
}

/* A running VM's memory from its VMM (with a balloon): what the guest is
 * assigned now (its RAM less what the balloon is to hold), what the balloon
 * holds, and its demand once the guest sent statistics; -1: unknown. */
struct live_memory {
	int64_t ram, target, balloon, demand;
};

static bool live_memory(const struct vm_record *r, struct live_memory *lm)
{
	*lm = (struct live_memory){ -1, -1, -1, -1 };
	if (!vm_config_has_balloon(&r->config) ||
	    (r->runtime.state != VM_STATE_RUNNING && r->runtime.state != VM_STATE_PAUSED))
		return false;
	struct json_object *req = json_object_new_object(), *rep, *v;
	json_object_object_add(req, "cmd", json_object_new_string("status"));
	struct nv_err err = { 0 };
	rep = vm_control_call(r->config.name, req, 2000, &err);
	json_object_put(req);
	if (rep && json_object_object_get_ex(rep, "ram_mib", &v))
		lm->ram = json_object_get_int64(v);
	if (rep && json_object_object_get_ex(rep, "memory_target_mib", &v))
		lm->target = json_object_get_int64(v);
	if (rep && json_object_object_get_ex(rep, "balloon_mib", &v))
		lm->balloon = json_object_get_int64(v);
	if (rep && json_object_object_get_ex(rep, "demand_mib", &v))
		lm->demand = json_object_get_int64(v);
	json_object_put(rep);
	return lm->ram >= 0 && lm->target >= 0 && lm->balloon >= 0;
}

struct list_row {
	char name[VM_NAME_MAX + 1];
	bool ok;
	struct vm_record r;
	char error[512];
};

static struct json_object *list_row_json(const struct list_row *row)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(row->name));
	if (!row->ok) {
		json_object_object_add(o, "state", json_object_new_string("Broken"));
		json_object_object_add(o, "error", json_object_new_string(row->error));
		return o;
	}
	const struct vm_record *r = &row->r;
	int64_t up = vm_cli_uptime_seconds(r);
	json_object_object_add(o, "state", json_object_new_string(vm_state_name(r->runtime.state)));
	json_object_object_add(o, "cpus", json_object_new_int64(r->config.cpus));
	json_object_object_add(o, "memory_mib", json_object_new_int64((int64_t)r->config.memory_mib));
	json_object_object_add(o, "nested", json_object_new_boolean(r->config.expose_virtualization_extensions));
	json_object_object_add(o, "uptime_seconds", up < 0 ? NULL : json_object_new_int64(up));
	json_object_object_add(o, "pid", json_object_new_int64(r->runtime.pid));
	json_object_object_add(o, "dynamic_memory", json_object_new_boolean(r->config.dynamic_memory_enabled));
	struct live_memory lm;
	if (live_memory(r, &lm)) {
		json_object_object_add(o, "memory_assigned_mib", json_object_new_int64(lm.ram - lm.balloon));
		json_object_object_add(o, "memory_demand_mib", lm.demand < 0 ? NULL : json_object_new_int64(lm.demand));
	}
	return o;
}

static void list_text(const struct list_row *rows, size_t n)
{
	int w = 4;
	for (size_t i = 0; i < n; i++)
		if ((int)strlen(rows[i].name) > w)
			w = (int)strlen(rows[i].name);
	char line[512];
	snprintf(line, sizeof(line), "%-*s %-9s %-4s %-6s %-6s %s", w, "Name", "State", "CPUs", "Memory", "Nested",
		 "Uptime");
	rtrim_print(line);
	for (size_t i = 0; i < n; i++) {
		const struct vm_record *r = &rows[i].r;
		if (!rows[i].ok) {
			snprintf(line, sizeof(line), "%-*s %-9s", w, rows[i].name, "Broken");
			rtrim_print(line);
			continue;
		}
		char cpus[16], mem[32], up[32];
		snprintf(cpus, sizeof(cpus), "%u", r->config.cpus);
		vm_cli_memory(r->config.memory_mib, mem, sizeof(mem));
		vm_cli_uptime(vm_cli_uptime_seconds(r), up, sizeof(up));
		snprintf(line, sizeof(line), "%-*s %-9s %-4s %-6s %-6s %s", w, rows[i].name,
			 vm_state_name(r->runtime.state), cpus, mem,
			 r->config.expose_virtualization_extensions ? "On" : "Off", up);
		rtrim_print(line);
	}
}

static void list_usage(FILE *f)
{
	fprintf(f, "usage: nestvm vm list [NAME...] [--json]\n"
		   "Every VM (or the NAMEs): Name, State (Off, Starting, Running, Stopping, Paused,\n"
		   "Saved, Receiving;\n"
		   "Broken for an unreadable record, whose error goes to stderr), CPUs, Memory,\n"
		   "Nested (the virtualization extensions exposed: On/Off), Uptime (HH:MM:SS).\n"
		   "Exit status: 0 listed (broken records included); 2 a NAME that is no VM;\n"
		   "125 failure.\n");
}

int cmd_vm_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	int o;
	opterr = 0;
	optind = 1;
	while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (o == 'j')
			json = true;
		else if (o == 'h')
			return list_usage(stdout), 0;
		else
			return vm_cli_getopt_error(o, argv, "list");
	}
	struct nv_err err = { 0 };
	char **names = NULL;
	size_t n = 0;
	int status = 0;
	if (optind < argc) {
		names = calloc((size_t)(argc - optind), sizeof(char *));
		for (int i = optind; names && i < argc; i++) {
			if (!vm_store_exists(argv[i])) {
				status = cli_fail(NESTVM_EXIT_BAD_INPUT, "there is no VM named '%s' (nestvm vm list)",
						  argv[i]);
				continue;
			}
			names[n++] = strdup(argv[i]);
		}
		if (!names)
			return cli_fail(NESTVM_EXIT_VMM_FAILURE, "out of memory");
	} else if (vm_store_list(&names, &n, &err) < 0) {
		return vm_cli_fail(&err);
	}
	struct list_row *rows = calloc(n ? n : 1, sizeof(*rows));
	if (!rows)
		return cli_fail(NESTVM_EXIT_VMM_FAILURE, "out of memory");
	for (size_t i = 0; i < n; i++) {
		snprintf(rows[i].name, sizeof(rows[i].name), "%s", names[i] ? names[i] : "?");
		struct nv_err e = { 0 };
		rows[i].ok = names[i] && vm_store_load_reaped(names[i], &rows[i].r, &e) == 0;
		if (!rows[i].ok) {
			snprintf(rows[i].error, sizeof(rows[i].error), "%s", e.msg);
			cli_fail(0, "%s", e.msg); /* the others still list */
		}
	}
	if (json) {
		struct json_object *a = json_object_new_array();
		for (size_t i = 0; i < n; i++)
			json_object_array_add(a, list_row_json(&rows[i]));
		printf("%s\n", json_object_to_json_string_ext(a, JSON_FLAGS));
		json_object_put(a);
	} else {
		list_text(rows, n);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(rows);
	if (fflush(stdout) != 0)
		return cli_fail(NESTVM_EXIT_VMM_FAILURE, "cannot write the list");
	return status;
}

/* ---- show ---- */

static void kv(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void kv(const char *key, const char *fmt, ...)
{
	char value[2048], line[2200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "%-30s : %s", key, value);
	rtrim_print(line);
}

static void show_balloon(const struct vm_record *r)
{
	const struct vm_config *c = &r->config;
	if (c->dynamic_memory_enabled) {
		kv("MemoryMinimum", "%llu MiB", (unsigned long long)c->memory_min_mib);
		kv("MemoryMaximum", "%llu MiB", (unsigned long long)c->memory_max_mib);
		kv("MemoryBuffer", "%u %%", c->memory_buffer_pct);
		kv("MemoryWeight", "%u", c->memory_weight);
	}
	struct live_memory lm;
	if (!live_memory(r, &lm))
		return;
	kv("MemoryAssigned", "%lld MiB (its balloon holds %lld MiB)", (long long)(lm.ram - lm.balloon),
	   (long long)lm.balloon);
	kv("MemoryTarget", "%lld MiB", (long long)lm.target);
	if (lm.demand >= 0)
		kv("MemoryDemand", "%lld MiB", (long long)lm.demand);
	else
		kv("MemoryDemand", "%s", "(no statistics from the guest yet)");
}

/* A running VM's adapter on a NAT switch: the address the switch's DHCP
 * server gave it, as the switch knows it (nothing if it cannot be asked). */
static void show_nat_address(const struct vm_record *r, unsigned adapter)
{
	const struct vm_config *c = &r->config;
	struct nv_err ignored = { 0 };
	char key[64], ip[INET_ADDRSTRLEN];
	if ((r->runtime.state != VM_STATE_RUNNING && r->runtime.state != VM_STATE_PAUSED) ||
	    vm_nat_port_is_nat(c, adapter, &ignored) != 1)
		return;
	int leased = vm_nat_port_lease(c, adapter, ip, &ignored);
	if (leased < 0)
		return;
	snprintf(key, sizeof(key), "Adapter eth%u IPv4", adapter);
	kv(key, "%s", leased ? ip : "(none yet: its DHCP has not finished)");
}

static void show_text(const struct vm_record *r)
{
	const struct vm_config *c = &r->config;
	char mem[32], up[32], key[64];
	vm_cli_memory(c->memory_mib, mem, sizeof(mem));
	vm_cli_uptime(vm_cli_uptime_seconds(r), up, sizeof(up));
	bool on = r->runtime.state != VM_STATE_OFF && r->runtime.state != VM_STATE_SAVED;
	kv("Name", "%s", c->name);
	kv("State", "%s", vm_state_name(r->runtime.state));
	if (on)
		kv("Pid", "%d", (int)r->runtime.pid);
	else
		kv("Pid", "%s", "");
	kv("Uptime", "%s", up);
	kv("LastStop", "%s", r->runtime.last_stop);
	struct vm_checkpoint *cps = NULL;
	size_t ncps = 0;
	char current[VM_NAME_MAX + 1];
	struct nv_err ignored = { 0 };
	vm_checkpoint_list(c->name, &cps, &ncps, &ignored);
	free(cps);
	vm_checkpoint_current(c->name, current, sizeof(current));
	kv("Checkpoints", "%zu%s%s%s", ncps, current[0] ? " (current: " : "", current, current[0] ? ")" : "");
	kv("CPUs", "%u", c->cpus);
	kv("Memory", "%s", mem);
	kv("DynamicMemoryEnabled", "%s", c->dynamic_memory_enabled ? "True" : "False");
	show_balloon(r);
	kv("ExposeVirtualizationExtensions", "%s", c->expose_virtualization_extensions ? "True" : "False");
	kv("AutomaticStartAction", "%s", vm_start_action_name(c->automatic_start_action));
	kv("AutomaticStopAction", "%s", vm_stop_action_name(c->automatic_stop_action));
	if (c->has_run_as)
		kv("RunAs", "%s (uid %u, gid %u)", c->run_as.name, (unsigned)c->run_as.uid, (unsigned)c->run_as.gid);
	else
		kv("RunAs", "%s", "(the user that starts it)");
	kv("Kernel", "%s", c->kernel[0] ? c->kernel : "(default guest)");
	kv("Initrd", "%s", c->initrd[0] ? c->initrd : c->kernel[0] ? "(none)" : "(default guest)");
	kv("Append", "%s", c->append);
	for (unsigned i = 0; i < c->ndisks; i++) {
		snprintf(key, sizeof(key), "Disk %u", i);
		kv(key, "%s%s", c->disks[i].path, c->disks[i].readonly ? " (readonly)" : "");
	}
	if (vm_config_has_seed(c)) {
		const struct vm_cloud_init *ci = &c->cloud_init;
		kv("CloudInitUserData", "%s", ci->user_data[0] ? ci->user_data : "(made from the key and host name)");
		kv("CloudInitSshKey", "%s", ci->ssh_key[0] ? ci->ssh_key : "(none)");
		kv("CloudInitHostname", "%s", ci->hostname[0] ? ci->hostname : "(none)");
		kv("CloudInitInstanceId", "%s", ci->instance_id);
		kv("CloudInitSeed", "%s (readonly, Disk %u when it runs)", ci->seed, c->ndisks);
	}
	for (unsigned i = 0; i < c->nnics; i++) {
		char mac[18];
		mac_format(&c->nics[i].mac, mac);
		snprintf(key, sizeof(key), "Adapter eth%u", i);
		kv(key, "switch %s, MAC %s, MacAddressSpoofing %s", c->nics[i].switch_name, mac,
		   c->nics[i].mac_spoofing ? "On" : "Off");
		show_nat_address(r, i);
	}
	for (unsigned i = 0; i < c->ndevices; i++) {
		snprintf(key, sizeof(key), "Device %u", i);
		kv(key, "%s", c->devices[i]);
	}
}

int cmd_vm_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	int o, st;
	opterr = 0;
	optind = 1;
	while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (o == 'j') {
			json = true;
		} else if (o == 'h') {
			printf("usage: nestvm vm show NAME [--json]\n"
			       "Every setting, the state, the VMM's pid, uptime, why it last stopped, and the\n"
			       "network adapters (switch, MAC, spoofing; a running VM's address on a NAT\n"
			       "switch). --json: the record as stored ({\"version\",\"config\",\"runtime\"})\n"
			       "plus \"uptime_seconds\".\n"
			       "Exit status: 0; 2 no such VM or a broken record (the line names file and\n"
			       "field); 125 failure.\n");
			return 0;
		} else {
			return vm_cli_getopt_error(o, argv, "show");
		}
	}
	const char *name;
	if ((st = vm_cli_name_arg(argc, argv, "show", &name)))
		return st;
	if (optind < argc)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "unexpected '%s' (try `nestvm vm show --help`)", argv[optind]);
	struct vm_record r;
	struct nv_err err = { 0 };
	if (vm_store_load_reaped(name, &r, &err) < 0)
		return vm_cli_fail(&err);
	if (json) {
		struct json_object *doc = vm_record_to_json(&r);
		int64_t up = vm_cli_uptime_seconds(&r);
		json_object_object_add(doc, "uptime_seconds", up < 0 ? NULL : json_object_new_int64(up));
		printf("%s\n", json_object_to_json_string_ext(doc, JSON_FLAGS));
		json_object_put(doc);
	} else {
		show_text(&r);
	}
	return fflush(stdout) == 0 ? 0 : cli_fail(NESTVM_EXIT_VMM_FAILURE, "cannot write the report");
}
