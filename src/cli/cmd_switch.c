/* `nestvm switch`: create, list, show, delete virtual switches and set a
 * port's anti-spoofing. The daemon itself, `nestvm switch-daemon NAME`, is
 * net/switch_daemon_main.h. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cmd_switch_show.h"
#include "cli/switch_args.h"
#include "cli/commands.h"
#include "confine/identity.h"
#include "util/state_dir.h"
#include "net/switch_path.h"
#include "net/port_client.h"
#include "net/switch_config.h"
#include "net/switch_control.h"
#include "net/switch_launch.h"
#include "net/switch_protocol.h"
#include "net/uplink.h"
#include "vmm/exit_status.h"

static void switch_usage(FILE *f)
{
	fprintf(f,
		"usage: nestvm switch COMMAND ...\n"
		"  create NAME --type private|internal|external|nat [--subnet CIDR]\n"
		"         [--interface IF] [--forward tcp|udp:[HOSTADDR:]HOSTPORT:GUESTIP:GUESTPORT]...\n"
		"         [--host-loopback on|off]\n"
		"                 a new switch and its daemon\n"
		"  list           every switch: NAME TYPE STATE PORTS DETAIL\n"
		"  show NAME [--json]   ports, MACs, anti-spoofing, counters, uplink\n"
		"  delete NAME    stop its daemon and remove it (connected VMs lose the link)\n"
		"  port NAME PORT --mac-spoofing on|off\n"
		"                 PORT is VM/ADAPTER, or VM for all of that VM's adapters\n"
		"Types: private (VMs only), internal (VMs and the host, tap nv-NAME),\n"
		"external (bridged to host interface --interface), nat (outbound NAT,\n"
		"default subnet " SWITCH_NAT_DEFAULT_SUBNET ", gateway .1, DNS .3, DHCP from .15).\n"
		"`nestvm switch COMMAND --help` shows a command's options.\n"
		"Exit status: 0 done; 2 bad input; 125 failure.\n");
}

/* ---- create -------------------------------------------------------- */

static void create_usage(FILE *f)
{
	fprintf(f,
		"usage: nestvm switch create NAME --type TYPE [OPTIONS]\n"
		"  --type private|internal|external|nat\n"
		"  --subnet CIDR       nat: the VMs' network (default " SWITCH_NAT_DEFAULT_SUBNET ");\n"
		"                      internal: the host's tap gets its first address\n"
		"  --interface IF      external: the host interface to bridge to (required)\n"
		"  --forward tcp|udp:[HOSTADDR:]HOSTPORT:GUESTIP:GUESTPORT\n"
		"                      nat: a host port to a VM (repeatable); it listens on\n"
		"                      HOSTADDR, 127.0.0.1 when not given (0.0.0.0: every address)\n"
		"  --host-loopback on|off   nat: the gateway also stands for the host's 127.0.0.1,\n"
		"                      so VMs reach services that trust local callers (default off)\n"
		"  --run-as USER       (root) once set up, the daemon becomes USER (a name, UID or\n"
		"                      UID:GID), so the code that parses guests' frames is not root\n"
		"internal needs root or CAP_NET_ADMIN, external root or CAP_NET_RAW.\n");
}

/* Creates the uplink once here and frees it: a missing privilege or an
 * unknown interface is the user's problem (exit 2) with the uplink's own
 * words, rather than a daemon that died on the way up. */
static int create_preflight(const struct switch_config *c, struct nv_err *err)
{
	struct uplink *u = NULL;
	struct nat_config nc = { .network = c->network, .prefix_len = c->prefix_len,
				 .forwards = c->forwards, .nforwards = c->nforwards,
				 .host_loopback = c->host_loopback };
	switch (c->type) {
	case SWITCH_PRIVATE: return 0;
	case SWITCH_INTERNAL: u = uplink_tap_new(c->name, NULL, err); break;
	case SWITCH_EXTERNAL: u = uplink_packet_new(c->interface, err); break;
	case SWITCH_NAT: u = uplink_nat_new(&nc, err); break;
	}
	if (!u)
		return -1;
	u->ops->free(u);
	return 0;
}

/* Removes a switch's directory and whatever is in it (all ours). */
static void switch_remove_dir(const char *name)
{
	char dir[4096], p[4400];
	if (switch_path(name, NULL, dir, sizeof(dir), NULL) < 0)
		return;
	DIR *dh = opendir(dir);
	if (dh) {
		struct dirent *e;
		while ((e = readdir(dh)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
				snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
				unlink(p);
			}
		closedir(dh);
	}
	rmdir(dir);
}

static int cmd_switch_create(int argc, char **argv)
{
	enum { O_TYPE = 256, O_SUBNET, O_IF, O_FWD, O_LOOPBACK, O_RUN_AS };
	static const struct option opts[] = {
		{ "type", required_argument, NULL, O_TYPE },
		{ "subnet", required_argument, NULL, O_SUBNET },
		{ "interface", required_argument, NULL, O_IF },
		{ "forward", required_argument, NULL, O_FWD },
		{ "host-loopback", required_argument, NULL, O_LOOPBACK },
		{ "run-as", required_argument, NULL, O_RUN_AS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct switch_config c = { 0 };
	const char *type = NULL, *subnet = NULL, *name, *fwd[SWITCH_MAX_FORWARDS];
	unsigned nfwd = 0;
	struct nv_err err = { 0 };
	int o;
	opterr = 0;
	optind = 1;
	while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (o) {
		case O_TYPE: type = optarg; break;
		case O_SUBNET: subnet = optarg; break;
		case O_IF:
			if (!switch_ifname_valid(optarg))
				return cli_fail(NESTVM_EXIT_BAD_INPUT, "--interface '%s' is not an interface name", optarg);
			snprintf(c.interface, sizeof(c.interface), "%s", optarg);
			break;
		case O_FWD:
			if (nfwd == SWITCH_MAX_FORWARDS)
				return cli_fail(NESTVM_EXIT_BAD_INPUT, "at most %d --forward", SWITCH_MAX_FORWARDS);
			fwd[nfwd++] = optarg;
			break;
		case O_LOOPBACK:
			if (strcmp(optarg, "on") && strcmp(optarg, "off"))
				return cli_fail(NESTVM_EXIT_BAD_INPUT, "--host-loopback '%s' is not on or off", optarg);
			c.host_loopback = !strcmp(optarg, "on");
			break;
		case O_RUN_AS:
			if (identity_parse(optarg, &c.run_as, &err) < 0)
				return cli_err_fail(&err);
			if (geteuid() != 0)
				return cli_fail(NESTVM_EXIT_BAD_INPUT, "--run-as %s needs root: the daemon already runs "
						"as you (uid %u)", optarg, (unsigned)geteuid());
			c.has_run_as = true;
			break;
		case 'h': create_usage(stdout); return 0;
		default: return switch_getopt_error(o, argv, "create");
		}
	}
	int st = switch_name_arg(argc, argv, "create", &name);
	if (st)
		return st;
	if (optind < argc)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "unexpected '%s' (try `nestvm switch create --help`)", argv[optind]);
	if (!type)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "switch create needs --type private, internal, external or nat");
	if (switch_type_parse(type, &c.type) < 0)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "--type '%s' is not private, internal, external or nat", type);
	snprintf(c.name, sizeof(c.name), "%s", name);
	if (subnet) {
		if (switch_subnet_parse(subnet, &c.network, &c.prefix_len, &err) < 0)
			return cli_fail(NESTVM_EXIT_BAD_INPUT, "--subnet: %s", err.msg);
		c.has_subnet = true;
	}
	if (nfwd && c.type != SWITCH_NAT)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "--forward is only for nat switches, not %s", type);
	/* Validate first: it fills the NAT default subnet the forwards need. */
	if (switch_config_validate(&c, &err) < 0)
		return cli_err_fail(&err);
	for (unsigned i = 0; i < nfwd; i++)
		if (switch_forward_parse(fwd[i], c.network, c.prefix_len, &c.forwards[i], &err) < 0)
			return cli_fail(NESTVM_EXIT_BAD_INPUT, "--forward: %s", err.msg);
	c.nforwards = nfwd;
	if (switch_config_validate(&c, &err) < 0)
		return cli_err_fail(&err);

	char dir[4096], cfg[4200];
	if (switch_exists(name))
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "switch %s exists already (nestvm switch delete %s first)",
				name, name);
	if (create_preflight(&c, &err) < 0)
		return cli_err_fail(&err);
	if (state_dir_ensure(SWITCH_DIR, dir, sizeof(dir), &err) < 0)
		return cli_err_fail(&err);
	snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "/%s", name);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return cli_fail(NESTVM_EXIT_VMM_FAILURE, "cannot create %s: %s", dir, strerror(errno));
	snprintf(cfg, sizeof(cfg), "%s/%s", dir, SWITCH_CONFIG_FILE);
	if (switch_config_save(cfg, &c, &err) < 0) {
		switch_remove_dir(name);
		return cli_err_fail(&err);
	}
	if (switch_ensure_running(name, &err) < 0) {
		switch_remove_dir(name);
		return cli_err_fail(&err);
	}
	printf("switch %s created (%s)\n", name, switch_type_name(c.type));
	return 0;
}

/* ---- delete -------------------------------------------------------- */

static pid_t switch_read_pid(const char *name)
{
	char p[4096], buf[32] = { 0 };
	if (switch_path(name, SWITCH_PID_FILE, p, sizeof(p), NULL) < 0)
		return -1;
	FILE *f = fopen(p, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	long v = strtol(buf, NULL, 10);
	return v > 1 && v < (1L << 22) ? (pid_t)v : -1;
}

/* Alive and not a zombie (an init that does not reap keeps those). */
static bool pid_alive(pid_t pid)
{
	char p[64], buf[256];
	if (pid <= 1 || kill(pid, 0) < 0)
		return false;
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(p, "r");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *rp = strrchr(buf, ')');
	return !(rp && rp[1] == ' ' && rp[2] == 'Z');
}

/* Is pid this switch's daemon (not a recycled pid)? */
static bool pid_is_daemon(pid_t pid, const char *name)
{
	char p[64], buf[512];
	snprintf(p, sizeof(p), "/proc/%d/cmdline", (int)pid);
	FILE *f = fopen(p, "r");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* argv: nestvm\0switch-daemon\0NAME\0 */
	const char *a1 = buf + strlen(buf) + 1;
	if ((size_t)(a1 - buf) >= n || strcmp(a1, "switch-daemon"))
		return false;
	const char *a2 = a1 + strlen(a1) + 1;
	return (size_t)(a2 - buf) < n && !strcmp(a2, name);
}

static bool wait_gone(pid_t pid, int ms)
{
	for (int i = 0; i < ms / 50; i++) {
		if (!pid_alive(pid))
			return true;
		struct timespec ts = { .tv_nsec = 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return !pid_alive(pid);
}

static int switch_stop_daemon(const char *name, struct nv_err *err)
{
	pid_t pid = switch_read_pid(name);
	struct json_object *req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("shutdown"));
	struct json_object *rep = switch_control_request(name, req, 2000, NULL);
	bool answered = rep != NULL;
	json_object_put(req);
	json_object_put(rep);
	if (pid < 0 || !pid_is_daemon(pid, name))
		return 0; /* nothing (else) to wait for */
	if (answered && wait_gone(pid, 5000))
		return 0;
	kill(pid, SIGTERM);
	if (wait_gone(pid, 3000))
		return 0;
	kill(pid, SIGKILL);
	if (wait_gone(pid, 2000))
		return 0;
	return nv_err_host(err, "the daemon of switch %s (pid %d) does not stop", name, (int)pid);
}

static int cmd_switch_delete(int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	const char *name;
	int o;
	opterr = 0;
	optind = 1;
	while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (o == 'h') {
			printf("usage: nestvm switch delete NAME\n"
			       "Stops the switch's daemon (VMs on it lose their link) and removes it.\n");
			return 0;
		}
		return switch_getopt_error(o, argv, "delete");
	}
	int st = switch_name_arg(argc, argv, "delete", &name);
	if (st)
		return st;
	if (optind < argc)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "unexpected '%s'", argv[optind]);
	if (!switch_exists(name))
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "no switch named %s (see nestvm switch list)", name);
	struct nv_err err = { 0 };
	if (switch_stop_daemon(name, &err) < 0)
		return cli_err_fail(&err);
	switch_remove_dir(name);
	printf("switch %s deleted\n", name);
	return 0;
}

/* ---- the dispatch -------------------------------------------------- */

int cmd_switch(int argc, char **argv)
{
	if (argc < 2) {
		switch_usage(stderr);
		return NESTVM_EXIT_BAD_INPUT;
	}
	const char *sub = argv[1];
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
		switch_usage(stdout);
		return 0;
	}
	if (!strcmp(sub, "create"))
		return cmd_switch_create(argc - 1, argv + 1);
	if (!strcmp(sub, "list") || !strcmp(sub, "ls"))
		return cmd_switch_list(argc - 1, argv + 1);
	if (!strcmp(sub, "show"))
		return cmd_switch_show(argc - 1, argv + 1);
	if (!strcmp(sub, "delete") || !strcmp(sub, "rm"))
		return cmd_switch_delete(argc - 1, argv + 1);
	if (!strcmp(sub, "port"))
		return cmd_switch_port(argc - 1, argv + 1);
	return cli_fail(NESTVM_EXIT_BAD_INPUT, "unknown switch command '%s' (try `nestvm switch --help`)", sub);
}
