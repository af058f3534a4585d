/* `nestvm enable-nested VM [--yes]`: Hyper-V's Enable-NestedVm, but every
 * answer counts. Shows the plan (enable_nested_plan.h), asks for the
 * required steps, for stopping a running VM and for the optional MAC
 * address spoofing, and only then changes anything: stop through
 * `nestvm vm stop` in a child process, then the record under its lock. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/vm_cli.h"
#include "mgmt/enable_nested_plan.h"
#include "mgmt/vm_store.h"
#include "util/self_exec.h"
#include "vmm/exit_status.h"

#define CANCELLED 1

/* Prints question and reads one line of stdin (a terminal or a pipe): true
 * for y/yes, false for n/no or end of input; anything else asks again. */
static bool ask(const char *question, bool yes)
{
	printf("%s ", question);
	if (yes) {
		printf("Y (--yes)\n");
		fflush(stdout);
		return true;
	}
	fflush(stdout);
	char line[256];
	while (fgets(line, sizeof(line), stdin)) {
		char *s = line, *e = line + strlen(line);
		while (*s && isspace((unsigned char)*s))
			s++;
		while (e > s && isspace((unsigned char)e[-1]))
			*--e = '\0';
		if (!isatty(STDIN_FILENO)) /* no terminal echo: show the answer */
			printf("%s\n", s);
		if (!strcasecmp(s, "y") || !strcasecmp(s, "yes"))
			return true;
		if (!strcasecmp(s, "n") || !strcasecmp(s, "no"))
			return false;
		printf("Please answer Y or N: ");
		fflush(stdout);
	}
	printf("\n"); /* end of input: end the prompt's line */
	return false;
}

/* Runs `nestvm vm stop NAME` (the VMM engineer's command, whatever its
 * internals) and returns its exit status, or -1. */
static int run_vm_stop(const char *name)
{
	/* Its stdin is /dev/null: ours holds the user's answers, not the child's to read. */
	char *argv[] = { "nestvm", "vm", "stop", (char *)name, NULL };
	struct self_exec_options o = {
		.argv = argv, .exec_error = "nestvm: cannot run nestvm vm stop", .fail_status = NESTVM_EXIT_VMM_FAILURE,
	};
	pid_t pid = self_exec_start(&o);
	if (pid < 0)
		return -1;
	int ws;
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

/* Applies the accepted steps under the lock and says what changed. */
static int apply(const char *name, const struct enable_nested_plan *p, bool required, bool spoof)
{
	struct vm_lock lk;
	struct vm_record r;
	struct nv_err err = { 0 };
	int st = vm_cli_lock_load(name, &lk, &r);
	if (st)
		return st;
	if (required && r.runtime.state != VM_STATE_OFF) {
		vm_store_unlock(&lk);
		return cli_fail(NESTVM_EXIT_VMM_FAILURE, "VM %s is %s again: nothing changed", name,
				vm_state_name(r.runtime.state));
	}
	struct vm_config before = r.config;
	enable_nested_plan_apply(p, required, spoof, &r.config);
	if (vm_store_save(&r, &err) < 0) {
		vm_store_unlock(&lk);
		return vm_cli_fail(&err);
	}
	vm_store_unlock(&lk);
	const struct vm_config *c = &r.config;
	if (c->expose_virtualization_extensions != before.expose_virtualization_extensions)
		printf("VM %s: ExposeVirtualizationExtensions True\n", name);
	if (c->memory_mib != before.memory_mib)
		printf("VM %s: MemoryStartup %llu MB\n", name, (unsigned long long)c->memory_mib);
	bool pushed = false;
	for (unsigned i = 0; i < c->nnics; i++)
		if (c->nics[i].mac_spoofing != before.nics[i].mac_spoofing) {
			printf("VM %s: MacAddressSpoofing On (eth%u, switch %s)\n", name, i, c->nics[i].switch_name);
			pushed = true;
		}
	if (pushed && r.runtime.state != VM_STATE_OFF)
		vm_cli_push_spoofing(&r, -1);
	return 0;
}

int cmd_enable_nested(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "yes", no_argument, NULL, 'y' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool yes = false;
	int o, st;
	opterr = 0;
	optind = 1;
	while ((o = getopt_long(argc, argv, ":hy", opts, NULL)) != -1) {
		if (o == 'y') {
			yes = true;
		} else if (o == 'h') {
			printf("usage: nestvm enable-nested VM [--yes]\n"
			       "Sets VM up to run its own VMs (Hyper-V's Enable-NestedVm): exposes the\n"
			       "virtualization extensions, raises memory to at least %d MB (stopping the VM\n"
			       "first if it runs, when you agree), and optionally turns MAC address spoofing\n"
			       "on for its adapters. Shows the plan and asks; answers are read line by line\n"
			       "from stdin (end of input is No). --yes answers Y to everything.\n"
			       "Exit status: 0 done or nothing to do; 1 cancelled (nothing changed);\n"
			       "2 bad input; 125 failure.\n",
			       VM_NESTED_MIN_MEMORY_MIB);
			return 0;
		} else if (o == ':') {
			return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s needs a value", argv[optind - 1]);
		} else {
			return cli_fail(NESTVM_EXIT_BAD_INPUT, "unknown option '%s' (try `nestvm enable-nested --help`)",
					argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "enable-nested needs a VM name (try `nestvm enable-nested --help`)");
	const char *name = argv[optind++];
	if (optind < argc)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "unexpected '%s' (try `nestvm enable-nested --help`)", argv[optind]);
	struct vm_lock lk;
	struct vm_record r;
	if (!vm_store_exists(name))
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "there is no VM named '%s' (nestvm vm list)", name);
	if ((st = vm_cli_lock_load(name, &lk, &r)))
		return st;
	vm_store_unlock(&lk);

	struct enable_nested_plan p;
	enable_nested_plan_make(&r, &p);
	if (enable_nested_plan_empty(&p)) {
		printf("None, VM %s is already set up for nesting\n", name);
		return 0;
	}
	char text[2048];
	enable_nested_plan_text(&r, &p, text, sizeof(text));
	printf("This will set the following for VM %s in order to enable nesting:\n%s", name, text);
	bool required = enable_nested_plan_required(&p);
	if (required && !ask("Input Y to accept or N to cancel:", yes)) {
		printf("Cancelled: nothing changed for VM %s\n", name);
		return CANCELLED;
	}
	if (p.stop) {
		char q[200];
		snprintf(q, sizeof(q), "VM %s is %s and must be stopped. Stop it now? (Y/N)", name,
			 vm_state_name(p.state));
		if (!ask(q, yes)) {
			printf("VM %s was not stopped: nothing changed (nestvm vm stop %s, then nestvm enable-nested %s)\n",
			       name, name, name);
			return CANCELLED;
		}
	}
	bool spoof = p.nspoof && ask("Would you like to enable MAC address spoofing? (Y/N)", yes);
	if (!required && !spoof) {
		printf("Nothing changed for VM %s\n", name);
	} else {
		if (p.stop) {
			printf("Stopping VM %s ...\n", name);
			int s = run_vm_stop(name);
			if (s != 0)
				return cli_fail(NESTVM_EXIT_VMM_FAILURE,
						"nestvm vm stop %s failed (exit status %d): nothing changed", name, s);
		}
		if ((st = apply(name, &p, required, spoof)))
			return st;
	}
	if (p.nspoof && !spoof)
		printf("Warning: MAC address spoofing isn't enabled: nested guests won't have network unless they "
		       "use a NAT switch inside VM %s (nestvm switch create NAME --type nat)\n", name);
	if (required)
		printf("VM %s is set up for nesting%s\n", name, p.stop ? " (it is Off: nestvm vm start to run it)" : "");
	return 0;
}
