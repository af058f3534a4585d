/* `nestvm vm ssh NAME [--user USER] [--adapter N] [--port P] [-- SSH-ARGS...]`:
 * ssh into a running VM through its NAT switch. The switch adds a TCP
 * forward from 127.0.0.1:PORT (a port it picks) to the address its DHCP
 * server leased to the adapter's MAC (net/nat_hostfwd.h), and this command
 * becomes ssh to that port.
 *
 * Host keys: the VM's own known_hosts file in its folder, under the alias
 * nestvm-NAME rather than 127.0.0.1:PORT. The port changes from run to run
 * and other VMs get it later, so keying by port would either mix VMs up or
 * warn of a changed key every time; the user's own ~/.ssh/known_hosts is
 * left alone, and deleting the VM deletes its keys. The first key is taken
 * (accept-new: the guest made it at its first boot, and nothing but this
 * host reaches 127.0.0.1); a different key later is refused, as ssh does.
 *
 * The user: --user, else root. Which user a cloud image gives the --ssh-key
 * to depends on the distribution (debian, ubuntu, fedora, cloud-user ...)
 * and nestvm cannot know it from the image. Debian's and Ubuntu's
 * cloud-init answer a login as root with one line naming that user
 * ("Please login as the user "debian" rather than the user "root""), so
 * root is the default that tells a newcomer what to type next. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/vm_cli.h"
#include "cli/vm_commands.h"
#include "mgmt/vm_nat_port.h"
#include "mgmt/vm_store.h"
#include "util/parse.h"
#include "util/state_dir.h"
#include "vmm/exit_status.h"

#define SSH_PROGRAM "ssh"
#define SSH_DEFAULT_USER "root"
#define SSH_KNOWN_HOSTS_FILE "ssh_known_hosts" /* in the VM's folder */
#define SSH_MAX_ARGS 256

static int ssh_usage(FILE *f)
{
	fprintf(f, "usage: nestvm vm ssh NAME [--user USER] [--adapter N] [--port P] [-- SSH-ARGS...]\n"
		   "Runs ssh to a running VM through its NAT switch: the switch forwards a port of\n"
		   "127.0.0.1 it picks to the address its DHCP server gave the VM's adapter.\n"
		   "  --user USER   the guest's user (default root: a cloud image's cloud-init then names\n"
		   "                its default user, e.g. debian or ubuntu, which has the --ssh-key)\n"
		   "  --adapter N   the adapter to reach (default: the first on a NAT switch)\n"
		   "  --port P      the guest's port (default 22)\n"
		   "SSH-ARGS go after the destination: ssh options, then a command to run.\n"
		   "Host keys are kept in the VM's own known_hosts file (ssh_known_hosts in its folder).\n");
	return 0;
}

/* Is ssh in PATH? Asked first: without it there is nothing to do. */
static bool ssh_in_path(void)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/bin:/bin";
	char dir[4096];
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, ":");
		if (n > 0 && n < sizeof(dir) - sizeof(SSH_PROGRAM) - 1) {
			snprintf(dir, sizeof(dir), "%.*s/%s", (int)n, p, SSH_PROGRAM);
			if (access(dir, X_OK) == 0)
				return true;
		}
		p += n;
		if (*p == ':')
			p++;
	}
	return false;
}

/* "UserKnownHostsFile=\"PATH\"" as ssh's -o reads it: PATH quoted (ssh
 * splits the value at whitespace: several files), '"' and '\\' escaped,
 * '%' doubled (ssh expands %-tokens in it). false if it does not fit. */
static bool known_hosts_option(const char *path, char *out, size_t size)
{
	size_t n = (size_t)snprintf(out, size, "UserKnownHostsFile=\"");
	for (const char *p = path; *p; p++) {
		if (n + 4 >= size)
			return false;
		if (*p == '"' || *p == '\\')
			out[n++] = '\\';
		else if (*p == '%')
			out[n++] = '%';
		out[n++] = *p;
	}
	if (n + 2 > size)
		return false;
	out[n++] = '"';
	out[n] = '\0';
	return true;
}

struct ssh_args {
	const char *name, *user;
	int adapter; /* -1: the first on a NAT switch */
	uint16_t guest_port;
	char **extra; /* after "--" */
	int nextra;
};

/* Options before "--" (split first: getopt would permute SSH-ARGS); 0, or
 * an exit status (-1: --help shown, exit 0). */
static int parse_args(int argc, char **argv, struct ssh_args *a)
{
	int end = argc;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			end = i;
			break;
		}
	a->extra = argv + (end < argc ? end + 1 : argc);
	a->nextra = end < argc ? argc - end - 1 : 0;
	static const struct option opts[] = { { "user", required_argument, NULL, 'u' },
					      { "adapter", required_argument, NULL, 'a' },
					      { "port", required_argument, NULL, 'p' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	opterr = 0;
	optind = 1;
	int c;
	unsigned long v;
	while ((c = getopt_long(end, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			ssh_usage(stdout);
			return -1;
		case 'u':
			/* ssh would take "-x" or "a@b" as something else. */
			if (!*optarg || optarg[0] == '-' || strpbrk(optarg, "@ \t\n"))
				return cli_fail(NESTVM_EXIT_BAD_INPUT, "--user '%s' is not a user name", optarg);
			a->user = optarg;
			break;
		case 'a':
			if (parse_uint(optarg, 0, VM_MAX_NICS - 1, &v) < 0)
				return cli_fail(NESTVM_EXIT_BAD_INPUT, "--adapter '%s' is not 0..%d", optarg,
						VM_MAX_NICS - 1);
			a->adapter = (int)v;
			break;
		case 'p':
			if (parse_uint(optarg, 1, 65535, &v) < 0)
				return cli_fail(NESTVM_EXIT_BAD_INPUT, "--port '%s' is not 1..65535", optarg);
			a->guest_port = (uint16_t)v;
			break;
		default:
			return vm_cli_getopt_error(c, argv, "ssh");
		}
	}
	if (optind >= end)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "vm ssh needs a VM NAME (try `nestvm vm ssh --help`)");
	a->name = argv[optind++];
	if (optind < end)
		return cli_fail(NESTVM_EXIT_BAD_INPUT,
				"vm ssh: unexpected '%s' (ssh's arguments go after --: `nestvm vm ssh %s -- %s`)",
				argv[optind], a->name, argv[optind]);
	if (!state_name_valid(a->name, VM_NAME_MAX))
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "'%s' is not a valid VM name", a->name);
	if (a->nextra > SSH_MAX_ARGS)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "vm ssh: more than %d arguments for ssh", SSH_MAX_ARGS);
	return 0;
}

/* The adapter to reach, checked to be on a NAT switch; -1 after printing. */
static int pick_adapter(const struct vm_record *r, int want, int *status)
{
	struct nv_err err = { 0 };
	const struct vm_config *c = &r->config;
	if (want < 0) {
		int i = vm_nat_port_find(c, &err);
		if (i < 0)
			*status = vm_cli_fail(&err);
		return i;
	}
	if ((unsigned)want >= c->nnics) {
		*status = cli_fail(NESTVM_EXIT_BAD_INPUT, "VM %s has no adapter %d (it has %u)", c->name, want,
				   c->nnics);
		return -1;
	}
	int nat = vm_nat_port_is_nat(c, (unsigned)want, &err);
	if (nat == 1)
		return want;
	if (nat == 0)
		*status = cli_fail(NESTVM_EXIT_BAD_INPUT, "VM %s's adapter %d is on switch %s, which is not a NAT switch "
				   "(vm ssh goes through a NAT switch's forward)", c->name, want,
				   c->nics[want].switch_name);
	else
		*status = vm_cli_fail(&err);
	return -1;
}

int cmd_vm_ssh(int argc, char **argv)
{
	struct ssh_args a = { .user = SSH_DEFAULT_USER, .adapter = -1, .guest_port = 22 };
	int status = parse_args(argc, argv, &a);
	if (status)
		return status < 0 ? 0 : status;
	if (!ssh_in_path())
		return cli_fail(NESTVM_EXIT_VMM_FAILURE, "vm ssh needs ssh, which is not installed "
				"(apt-get install openssh-client)");

	struct nv_err err = { 0 };
	struct vm_record r;
	char known_hosts[VM_PATH_MAX];
	if (vm_store_load_reaped(a.name, &r, &err) < 0 ||
	    vm_store_path(a.name, SSH_KNOWN_HOSTS_FILE, known_hosts, sizeof(known_hosts), &err) < 0)
		return vm_cli_fail(&err);
	int adapter = pick_adapter(&r, a.adapter, &status);
	if (adapter < 0)
		return status;
	if (r.runtime.state != VM_STATE_RUNNING) {
		bool startable = r.runtime.state == VM_STATE_OFF || r.runtime.state == VM_STATE_SAVED;
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "VM %s is not running (%s)%s%s%s", a.name,
				vm_state_name(r.runtime.state), startable ? ": start it with `nestvm vm start " : "",
				startable ? a.name : "", startable ? "`" : "");
	}
	const char *sw = r.config.nics[adapter].switch_name;
	char ip[INET_ADDRSTRLEN];
	int leased = vm_nat_port_lease(&r.config, (unsigned)adapter, ip, &err);
	if (leased < 0)
		return vm_cli_fail(&err);
	if (leased == 0)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "VM %s has no address on switch %s yet (its DHCP has not finished)",
				a.name, sw);
	uint16_t port;
	if (vm_nat_port_forward(&r.config, (unsigned)adapter, a.guest_port, &port, &err) < 0)
		return vm_cli_fail(&err);

	char port_s[8], dest[300], alias[VM_NAME_MAX + 32], known[2 * VM_PATH_MAX + 32];
	if (!known_hosts_option(known_hosts, known, sizeof(known)))
		return cli_fail(NESTVM_EXIT_VMM_FAILURE, "the path of VM %s's known_hosts is too long", a.name);
	snprintf(port_s, sizeof(port_s), "%u", port);
	snprintf(dest, sizeof(dest), "%s@127.0.0.1", a.user);
	snprintf(alias, sizeof(alias), "HostKeyAlias=nestvm-%s", a.name);
	char *args[SSH_MAX_ARGS + 16];
	int n = 0;
	args[n++] = SSH_PROGRAM;
	args[n++] = "-p";
	args[n++] = port_s;
	args[n++] = "-o";
	args[n++] = "StrictHostKeyChecking=accept-new";
	args[n++] = "-o";
	args[n++] = known;
	args[n++] = "-o";
	args[n++] = alias;
	args[n++] = dest;
	for (int i = 0; i < a.nextra; i++)
		args[n++] = a.extra[i];
	args[n] = NULL;
	fflush(NULL);
	execvp(SSH_PROGRAM, args);
	return cli_fail(NESTVM_EXIT_VMM_FAILURE, "cannot run ssh: %s (apt-get install openssh-client)", strerror(errno));
}
