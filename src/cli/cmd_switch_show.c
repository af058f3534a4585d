/* `nestvm switch list | show | port`: what the switches are and do, read
 * from their config and their daemons' `show` replies. */
#include <dirent.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd_switch_show.h"
#include "cli/commands.h"
#include "cli/switch_args.h"
#include "util/state_dir.h"
#include "net/switch_path.h"
#include "net/port_client.h"
#include "net/switch_config.h"
#include "net/switch_control.h"
#include "net/switch_launch.h"
#include "net/switch_protocol.h"
#include "net/uplink_tap.h"
#include "vmm/exit_status.h"

#define CONTROL_TIMEOUT_MS 5000
#define LIST_MAX 1024

static struct json_object *show_request(const char *name, struct nv_err *err)
{
	struct json_object *req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("show"));
	struct json_object *rep = switch_control_request(name, req, CONTROL_TIMEOUT_MS, err);
	json_object_put(req);
	return rep;
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return "?";
	return json_object_get_string(v);
}

static long long jnum(struct json_object *o, const char *key)
{
	struct json_object *v;
	return json_object_object_get_ex(o, key, &v) ? (long long)json_object_get_int64(v) : 0;
}

static struct json_object *jarr(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array))
		return NULL;
	return v;
}

static void config_detail(const struct switch_config *c, char *out, size_t len)
{
	char sub[19] = "", tap[UPLINK_TAP_IFNAME_LEN];
	if (c->has_subnet)
		switch_subnet_format(c->network, c->prefix_len, sub);
	switch (c->type) {
	case SWITCH_PRIVATE: snprintf(out, len, "VMs only"); break;
	case SWITCH_INTERNAL:
		uplink_tap_ifname(c->name, tap);
		snprintf(out, len, "host tap %s%s%s", tap, sub[0] ? ", subnet " : "", sub);
		break;
	case SWITCH_EXTERNAL: snprintf(out, len, "interface %s", c->interface); break;
	case SWITCH_NAT:
		snprintf(out, len, "subnet %s, %u forward%s%s", sub, c->nforwards, c->nforwards == 1 ? "" : "s",
			 c->host_loopback ? ", host loopback" : "");
		break;
	}
	if (c->has_run_as) {
		size_t n = strlen(out);
		snprintf(out + n, len - n, ", runs as %s", c->run_as.name);
	}
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cmd_switch_list(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: nestvm switch list\nEvery switch: NAME TYPE STATE (running|stopped) PORTS DETAIL.\n");
		return 0;
	}
	if (argc > 1)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "unexpected '%s' (try `nestvm switch list --help`)", argv[1]);
	char base[4096], dir[4200];
	struct nv_err err = { 0 };
	if (state_dir_path(base, sizeof(base), &err) < 0)
		return cli_err_fail(&err);
	snprintf(dir, sizeof(dir), "%s/%s", base, SWITCH_DIR);
	char *names[LIST_MAX];
	size_t n = 0;
	DIR *dh = opendir(dir);
	struct dirent *e;
	while (dh && n < LIST_MAX && (e = readdir(dh)))
		if (state_name_valid(e->d_name, SWITCH_NAME_MAX) && switch_exists(e->d_name))
			names[n++] = strdup(e->d_name);
	if (dh)
		closedir(dh);
	qsort(names, n, sizeof(names[0]), name_cmp);
	printf("%-20s %-9s %-8s %-5s %s\n", "NAME", "TYPE", "STATE", "PORTS", "DETAIL");
	for (size_t i = 0; i < n; i++) {
		char cfg_path[4400], detail[600], ports[16] = "-";
		struct switch_config c;
		snprintf(cfg_path, sizeof(cfg_path), "%s/%s/%s", dir, names[i], SWITCH_CONFIG_FILE);
		bool ok = switch_config_load(cfg_path, &c, &err) == 0;
		if (ok)
			config_detail(&c, detail, sizeof(detail));
		else
			snprintf(detail, sizeof(detail), "%s", err.msg);
		bool running = switch_running(names[i]);
		if (running) {
			struct json_object *rep = show_request(names[i], NULL);
			struct json_object *p = rep ? jarr(rep, "ports") : NULL;
			if (p)
				snprintf(ports, sizeof(ports), "%zu", json_object_array_length(p));
			json_object_put(rep);
		}
		printf("%-20s %-9s %-8s %-5s %s\n", names[i], ok ? switch_type_name(c.type) : "broken",
		       running ? "running" : "stopped", ports, detail);
		free(names[i]);
	}
	return 0;
}

static void show_human(struct json_object *rep)
{
	printf("switch %s (%s), running, pid %lld\n", jstr(rep, "name"), jstr(rep, "type"), jnum(rep, "pid"));
	struct json_object *v;
	if (json_object_object_get_ex(rep, "subnet", &v) && json_object_is_type(v, json_type_string))
		printf("  subnet     %s\n", json_object_get_string(v));
	if (json_object_object_get_ex(rep, "interface", &v))
		printf("  interface  %s\n", json_object_get_string(v));
	struct json_object *fw = jarr(rep, "forwards");
	for (size_t i = 0; fw && i < json_object_array_length(fw); i++)
		printf("  forward    %s\n", json_object_get_string(json_object_array_get_idx(fw, i)));
	if (json_object_object_get_ex(rep, "host_loopback", &v))
		printf("  host loopback %s\n", json_object_get_boolean(v)
							? "on (VMs reach the host's 127.0.0.1 at the gateway)"
							: "off");
	if (json_object_object_get_ex(rep, "uplink", &v) && json_object_is_type(v, json_type_object)) {
		printf("  uplink     %s: rx %lld  tx %lld  dropped %lld  malformed %lld\n", jstr(v, "kind"),
		       jnum(v, "rx_frames"), jnum(v, "tx_frames"), jnum(v, "dropped"),
		       jnum(v, "dropped_malformed"));
		json_object_object_foreach(v, key, val) {
			if (strcmp(key, "kind") && strcmp(key, "rx_frames") && strcmp(key, "tx_frames") &&
			    strcmp(key, "dropped") && strcmp(key, "dropped_malformed"))
				printf("             %s: %s\n", key,
				       json_object_is_type(val, json_type_string)
					       ? json_object_get_string(val)
					       : json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		}
	}
	struct json_object *ports = jarr(rep, "ports");
	size_t np = ports ? json_object_array_length(ports) : 0;
	printf("  ports      %zu\n", np);
	for (size_t i = 0; i < np; i++) {
		struct json_object *p = json_object_array_get_idx(ports, i);
		bool spoof = json_object_object_get_ex(p, "mac_spoofing", &v) && json_object_get_boolean(v);
		printf("  port %s  mac %s  mac-spoofing %s\n", jstr(p, "port"), jstr(p, "mac"), spoof ? "on" : "off");
		printf("      rx %lld  tx %lld  dropped: spoofed %lld  queue-full %lld  malformed %lld\n",
		       jnum(p, "rx_frames"), jnum(p, "tx_frames"), jnum(p, "dropped_spoofed"),
		       jnum(p, "dropped_queue_full"), jnum(p, "dropped_malformed"));
		struct json_object *l = jarr(p, "learned_macs");
		printf("      learned");
		for (size_t j = 0; l && j < json_object_array_length(l); j++)
			printf(" %s", json_object_get_string(json_object_array_get_idx(l, j)));
		printf("%s\n", l && json_object_array_length(l) ? "" : " (none)");
	}
}

/* A stopped switch: what its config says. */
static int show_stopped(const char *name, bool json)
{
	char path[4096], detail[200];
	struct switch_config c;
	struct nv_err err = { 0 };
	if (switch_path(name, SWITCH_CONFIG_FILE, path, sizeof(path), &err) < 0 ||
	    switch_config_load(path, &c, &err) < 0)
		return cli_err_fail(&err);
	config_detail(&c, detail, sizeof(detail));
	if (!json) {
		printf("switch %s (%s), stopped\n  %s\n", name, switch_type_name(c.type), detail);
		return 0;
	}
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "type", json_object_new_string(switch_type_name(c.type)));
	json_object_object_add(o, "state", json_object_new_string("stopped"));
	json_object_object_add(o, "detail", json_object_new_string(detail));
	json_object_object_add(o, "ports", json_object_new_array());
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return 0;
}

int cmd_switch_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	const char *name;
	int o;
	opterr = 0;
	optind = 1;
	while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (o == 'j') {
			json = true;
		} else if (o == 'h') {
			printf("usage: nestvm switch show NAME [--json]\n"
			       "Its ports (VM/ADAPTER), their MACs, anti-spoofing, counters and learned\n"
			       "MACs, and its uplink's counters.\n");
			return 0;
		} else {
			return switch_getopt_error(o, argv, "show");
		}
	}
	int st = switch_name_arg(argc, argv, "show", &name);
	if (st)
		return st;
	if (optind < argc)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "unexpected '%s'", argv[optind]);
	if (!switch_exists(name))
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "no switch named %s (see nestvm switch list)", name);
	if (!switch_running(name))
		return show_stopped(name, json);
	struct nv_err err = { 0 };
	struct json_object *rep = show_request(name, &err);
	if (!rep)
		return cli_err_fail(&err);
	json_object_object_del(rep, "ok");
	json_object_object_add(rep, "state", json_object_new_string("running"));
	if (json)
		printf("%s\n", json_object_to_json_string_ext(rep, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		show_human(rep);
	json_object_put(rep);
	return 0;
}

static int set_port(const char *name, const char *port, bool on)
{
	struct json_object *req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("set-port"));
	json_object_object_add(req, "port", json_object_new_string(port));
	json_object_object_add(req, "mac_spoofing", json_object_new_boolean(on));
	struct nv_err err = { 0 };
	struct json_object *rep = switch_control_request(name, req, CONTROL_TIMEOUT_MS, &err);
	json_object_put(req);
	if (!rep)
		return cli_err_fail(&err);
	json_object_put(rep);
	printf("%s: mac spoofing %s\n", port, on ? "on" : "off");
	return 0;
}

/* Does a port name match PORT ("vm/0" exactly, or "vm" for vm's adapters)? */
static bool port_matches(const char *port, const char *want)
{
	size_t n = strlen(want);
	if (!strcmp(port, want))
		return true;
	return !strchr(want, '/') && !strncmp(port, want, n) && port[n] == '/';
}

int cmd_switch_port(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mac-spoofing", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *spoof = NULL, *name;
	int o;
	opterr = 0;
	optind = 1;
	while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (o == 'm') {
			spoof = optarg;
		} else if (o == 'h') {
			printf("usage: nestvm switch port NAME PORT --mac-spoofing on|off\n"
			       "PORT is VM/ADAPTER (see nestvm switch show NAME), or VM for every adapter\n"
			       "of that VM on this switch. Applies to the next frame; a VM that reconnects\n"
			       "gets the setting it asks for.\n");
			return 0;
		} else {
			return switch_getopt_error(o, argv, "port");
		}
	}
	int st = switch_name_arg(argc, argv, "port", &name);
	if (st)
		return st;
	if (optind >= argc)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "switch port needs a PORT (VM/ADAPTER or VM)");
	const char *want = argv[optind++];
	if (optind < argc)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "unexpected '%s'", argv[optind]);
	if (!spoof)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "switch port needs --mac-spoofing on|off");
	if (strcmp(spoof, "on") && strcmp(spoof, "off"))
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "--mac-spoofing '%s' is not on or off", spoof);
	if (!switch_exists(name))
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "no switch named %s (see nestvm switch list)", name);
	struct nv_err err = { 0 };
	struct json_object *rep = show_request(name, &err);
	if (!rep)
		return cli_err_fail(&err);
	struct json_object *ports = jarr(rep, "ports");
	char names[1024] = "";
	int matched = 0, ret = 0;
	for (size_t i = 0; ports && i < json_object_array_length(ports) && !ret; i++) {
		const char *p = jstr(json_object_array_get_idx(ports, i), "port");
		if (port_matches(p, want)) {
			matched++;
			ret = set_port(name, p, !strcmp(spoof, "on"));
		} else if (strlen(names) + strlen(p) + 3 < sizeof(names)) {
			strcat(names, names[0] ? ", " : "");
			strcat(names, p);
		}
	}
	json_object_put(rep);
	if (!matched && !ret)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "switch %s has no port %s (connected: %s)", name, want,
				names[0] ? names : "none");
	return ret;
}
