/* `nestvm vm create | set | delete`: define, change and remove VMs in the
 * store. Every change is load, check, modify, save under the record lock,
 * so concurrent commands lose no update. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/vm_cli.h"
#include "cli/vm_commands.h"
#include "cli/vm_options.h"
#include "cli/vm_seed.h"
#include "dev/virtio/virtio_device.h"
#include "mgmt/vm_rules.h"
#include "mgmt/vm_checkpoint.h"
#include "mgmt/vm_disks.h"
#include "mgmt/vm_store.h"
#include "net/switch_launch.h"
#include "util/parse.h"
#include "vmm/exit_status.h"
#include "vmm/vm_control.h"

#define STOP_WAIT_MS 10000

/* Adds --nic/--add-nic spec to c, with a warning for a switch that does
 * not exist yet (it may be created before the VM starts). 0 or status. */
static int add_nic(struct vm_config *c, const char *spec)
{
	int st = vm_option_nic(c, spec);
	if (st)
		return st;
	const char *sw = c->nics[c->nnics - 1].switch_name;
	if (!switch_exists(sw))
		fprintf(stderr, "nestvm: warning: no switch named %s yet (nestvm switch create %s --type ...)\n",
			sw, sw);
	return 0;
}

#define DYNAMIC_MEMORY_HELP                                                                       \
	"  --dynamic-memory on|off  Hyper-V's dynamic memory: the VM starts with --memory and\n"      \
	"                         its VMM assigns it between the minimum and the maximum by\n"       \
	"                         what the guest uses (a balloon), nested hypervisor or not\n"       \
	"  --memory-min SIZE      (default 512M, or --memory if less)\n"                            \
	"  --memory-max SIZE      (default 4 x --memory)\n"                                          \
	"  --memory-buffer PERCENT  memory kept free above the guest's use, 5..2000 (default 20)\n"  \
	"  --memory-weight N      0..100 (default 50): under host pressure, lighter VMs shrink first\n"

static void create_usage(FILE *f)
{
	char devices[128];
	virtio_device_type_option_names(devices, sizeof(devices));
	fprintf(f,
		"usage: nestvm vm create NAME [OPTIONS]\n"
		"Defines a VM (state Off); `nestvm vm start NAME` runs it.\n"
		"  --memory SIZE          guest RAM: 512M, 2G; a bare number is MiB (default 512M)\n"
		"  --cpus N               vCPUs, 1..255 (default 1)\n"
		"  --disk PATH[,readonly] a raw or qcow2 image as virtio-blk (repeatable, up to 16)\n"
		"  --nic switch=S[,mac=M][,mac-spoofing=on|off]\n"
		"                         a network adapter (repeatable, up to 8); without mac=\n"
		"                         one is derived from NAME and the adapter's index\n"
		"  --kernel PATH          bzImage or vmlinux (default: the first disk's own, when it\n"
		"                         is a raw or qcow2 image with a bootable Linux; else the\n"
		"                         default guest)\n"
		"  --initrd PATH          an initramfs\n"
		"  --append ARGS          added to the kernel command line\n"
		"  --expose-virtualization-extensions on|off   (--nested: on) give the VM VT-x/AMD-V\n"
		"                         (then --memory defaults to 1G)\n"
		"  --device NAME          a virtio device without settings (repeatable): %s\n"
		"  --run-as USER          (root) once set up, every thread of the VM's VMM becomes\n"
		"                         USER (a name, UID or UID:GID; not root) with no\n"
		"                         capabilities; what it writes then (saved state, checkpoints)\n"
		"                         goes in a part of the VM's folder USER owns\n"
		"%s"
		VM_CLOUD_INIT_HELP
		"                         (the seed and copies of the files are kept in the VM's folder)\n"
		"Exit status: 0 created; 2 bad input; 125 failure.\n", devices, DYNAMIC_MEMORY_HELP);
}

int cmd_vm_create(int argc, char **argv)
{
	enum { O_MEM = 256, O_CPUS, O_DISK, O_NIC, O_KERNEL, O_INITRD, O_APPEND, O_EXPOSE, O_NESTED, O_DEVICE,
	       O_RUN_AS };
	static const struct option opts[] = {
		{ "memory", required_argument, NULL, O_MEM },
		{ "cpus", required_argument, NULL, O_CPUS },
		{ "disk", required_argument, NULL, O_DISK },
		{ "nic", required_argument, NULL, O_NIC },
		{ "kernel", required_argument, NULL, O_KERNEL },
		{ "initrd", required_argument, NULL, O_INITRD },
		{ "append", required_argument, NULL, O_APPEND },
		{ "expose-virtualization-extensions", required_argument, NULL, O_EXPOSE },
		{ "nested", no_argument, NULL, O_NESTED },
		{ "device", required_argument, NULL, O_DEVICE },
		VM_MEMORY_LONG_OPTIONS,
		VM_CLOUD_INIT_LONG_OPTIONS,
		{ "run-as", required_argument, NULL, O_RUN_AS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vm_memory_options mo = { 0 };
	struct vm_cloud_init_options cio = { 0 };
	/* Options first, checked against the name afterwards (MACs need it). */
	const char *nics[VM_MAX_NICS + 1], *disks[VM_MAX_DISKS + 1];
	unsigned nn = 0, nd = 0;
	bool memory_given = false;
	struct vm_record r;
	memset(&r, 0, sizeof(r));
	vm_config_defaults(&r.config, "");
	struct vm_config *c = &r.config;
	int o, st = 0;
	opterr = 0;
	optind = 1;
	while (!st && (o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (o) {
		case O_MEM:
			st = vm_option_memory(optarg, &c->memory_mib);
			memory_given = true;
			break;
		case O_CPUS: st = vm_option_cpus(optarg, &c->cpus); break;
		case O_DEVICE: st = vm_option_device(c, optarg); break;
		case O_DISK:
			if (nd == VM_MAX_DISKS)
				return cli_fail(NESTVM_EXIT_BAD_INPUT, "at most %d --disk options", VM_MAX_DISKS);
			disks[nd++] = optarg;
			break;
		case O_NIC:
			if (nn == VM_MAX_NICS)
				return cli_fail(NESTVM_EXIT_BAD_INPUT, "at most %d --nic options", VM_MAX_NICS);
			nics[nn++] = optarg;
			break;
		case O_KERNEL: st = vm_option_file("--kernel", optarg, true, c->kernel, sizeof(c->kernel)); break;
		case O_INITRD: st = vm_option_file("--initrd", optarg, true, c->initrd, sizeof(c->initrd)); break;
		case O_APPEND: st = vm_option_append(c, optarg); break;
		case O_EXPOSE:
			st = vm_cli_on_off("--expose-virtualization-extensions", optarg,
					   &c->expose_virtualization_extensions);
			break;
		case O_NESTED: c->expose_virtualization_extensions = true; break;
		case VM_OPT_DYNAMIC:
		case VM_OPT_MEMORY_MIN:
		case VM_OPT_MEMORY_MAX:
		case VM_OPT_MEMORY_BUFFER:
		case VM_OPT_MEMORY_WEIGHT: st = vm_option_memory_policy(o, optarg, &mo); break;
		case VM_OPT_USER_DATA:
		case VM_OPT_SSH_KEY:
		case VM_OPT_HOSTNAME: st = vm_option_cloud_init(o, optarg, &cio); break;
		case O_RUN_AS: st = vm_option_run_as(c, optarg, false); break;
		case 'h': create_usage(stdout); return 0;
		default: return vm_cli_getopt_error(o, argv, "create");
		}
	}
	if (st)
		return st;
	if (c->expose_virtualization_extensions && !memory_given)
		c->memory_mib = VM_NESTED_DEFAULT_MEMORY_MIB;
	vm_config_dynamic_defaults(c); /* for the startup memory now known */
	vm_memory_options_apply(c, &mo);
	const char *name;
	if ((st = vm_cli_name_arg(argc, argv, "create", &name)))
		return st;
	if (optind < argc)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "unexpected '%s' (try `nestvm vm create --help`)", argv[optind]);
	snprintf(c->name, sizeof(c->name), "%s", name);
	if (vm_store_exists(name))
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "a VM named '%s' already exists (nestvm vm show %s)", name, name);
	for (unsigned i = 0; i < nd; i++)
		if ((st = vm_option_disk(c, disks[i], true)))
			return st;
	for (unsigned i = 0; i < nn; i++)
		if ((st = add_nic(c, nics[i])))
			return st;
	r.runtime.state = VM_STATE_OFF;
	struct nv_err err = { 0 };
	struct vm_cloud_init next;
	struct cloud_init_seed_input in = { 0 };
	bool seed = vm_cloud_init_given(&cio);
	/* Every input checked before the VM exists: a refusal creates nothing. */
	if (seed)
		st = vm_seed_prepare(c, &cio, false, &next, &in);
	if (!st && vm_store_create(&r, &err) < 0)
		st = vm_cli_fail(&err);
	if (!st && seed)
		st = vm_seed_create(&r, &next, &in);
	cloud_init_seed_input_free(&in);
	if (st)
		return st;
	if (c->has_run_as)
		printf("VM %s created (Off; its VMM runs as %s)\n", name, c->run_as.name);
	else
		printf("VM %s created (Off)\n", name);
	return 0;
}

/* ---- set ---- */

struct set_args {
	bool want[VM_SETTING_COUNT];
	bool expose, spoof;
	unsigned cpus;
	uint64_t memory_mib;
	long adapter; /* -1: all */
	const char *add[VM_MAX_NICS + 1];
	unsigned nadd;
	unsigned long remove;
	const char *append;
	enum vm_start_action start_action;
	enum vm_stop_action stop_action;
	struct vm_memory_options mo;
	struct vm_config run_as; /* --run-as: its has_run_as and run_as */
	struct vm_cloud_init_options cloud_init;
};

static void set_usage(FILE *f)
{
	fprintf(f,
		"usage: nestvm vm set NAME [OPTIONS]\n"
		"Only while the VM is Off (as in Hyper-V):\n"
		"  --expose-virtualization-extensions on|off   give the VM VT-x/AMD-V (--nested on|off)\n"
		"  --cpus N | --memory SIZE | --append ARGS\n"
		"                         (--memory while it runs, with a balloon: the guest keeps\n"
		"                         SIZE and gives the rest back; the next start boots as before)\n"
		"  --add-nic switch=S[,mac=M][,mac-spoofing=on|off]   (repeatable)\n"
		"  --remove-nic N         remove adapter N (eth N; later adapters move down)\n"
		"  --dynamic-memory on|off   Hyper-V's dynamic memory (see `nestvm vm create --help`)\n"
		"  --run-as USER|none     (root) the VMM's threads become USER once set up (a name,\n"
		"                         UID or UID:GID; not root); none: they keep root's uid\n"
		"  --user-data FILE|none | --ssh-key FILE|none | --hostname NAME|none\n"
		"                         the cloud-init seed's (see `nestvm vm create --help`): it is\n"
		"                         made again; none takes one away (none of them: no seed)\n"
		"At any time but Saved (applied at once to a running VM):\n"
		"  --mac-spoofing on|off [--adapter N]   on adapter N, or every adapter\n"
		"  --memory-min SIZE | --memory-max SIZE | --memory-buffer PERCENT | --memory-weight N\n"
		"                         dynamic memory's bounds and policy (with dynamic memory, a\n"
		"                         running VM's maximum can only grow up to the RAM it booted with)\n"
		"At any time, a Saved VM's too (what `nestvm service start|stop` does with it at\n"
		"the host's boot and shutdown; Hyper-V's defaults: start-if-running, save):\n"
		"  --automatic-start-action nothing|start|start-if-running\n"
		"  --automatic-stop-action turn-off|shutdown|save\n"
		"Exit status: 0 changed; 2 bad input or not allowed in this state; 125 failure.\n");
}

static int set_parse(int argc, char **argv, struct set_args *a)
{
	enum { O_EXPOSE = 256, O_CPUS, O_MEM, O_SPOOF, O_ADAPTER, O_ADD, O_REMOVE, O_APPEND, O_START_ACT,
	       O_STOP_ACT, O_RUN_AS };
	static const struct option opts[] = {
		{ "expose-virtualization-extensions", required_argument, NULL, O_EXPOSE },
		{ "nested", required_argument, NULL, O_EXPOSE },
		{ "cpus", required_argument, NULL, O_CPUS },
		{ "memory", required_argument, NULL, O_MEM },
		VM_MEMORY_LONG_OPTIONS,
		{ "mac-spoofing", required_argument, NULL, O_SPOOF },
		{ "adapter", required_argument, NULL, O_ADAPTER },
		{ "add-nic", required_argument, NULL, O_ADD },
		{ "remove-nic", required_argument, NULL, O_REMOVE },
		{ "append", required_argument, NULL, O_APPEND },
		{ "automatic-start-action", required_argument, NULL, O_START_ACT },
		{ "automatic-stop-action", required_argument, NULL, O_STOP_ACT },
		{ "run-as", required_argument, NULL, O_RUN_AS },
		VM_CLOUD_INIT_LONG_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long n;
	int o, st = 0;
	a->adapter = -1;
	opterr = 0;
	optind = 1;
	while (!st && (o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (o) {
		case O_EXPOSE:
			a->want[VM_SETTING_EXPOSE_VIRT] = true;
			st = vm_cli_on_off("--expose-virtualization-extensions", optarg, &a->expose);
			break;
		case O_CPUS: a->want[VM_SETTING_CPUS] = true; st = vm_option_cpus(optarg, &a->cpus); break;
		case O_MEM: a->want[VM_SETTING_MEMORY] = true; st = vm_option_memory(optarg, &a->memory_mib); break;
		case VM_OPT_DYNAMIC:
			a->want[VM_SETTING_DYNAMIC_MEMORY] = true;
			st = vm_option_memory_policy(o, optarg, &a->mo);
			break;
		case VM_OPT_MEMORY_MIN:
		case VM_OPT_MEMORY_MAX:
		case VM_OPT_MEMORY_BUFFER:
		case VM_OPT_MEMORY_WEIGHT:
			a->want[VM_SETTING_MEMORY_POLICY] = true;
			st = vm_option_memory_policy(o, optarg, &a->mo);
			break;
		case O_SPOOF:
			a->want[VM_SETTING_MAC_SPOOFING] = true;
			st = vm_cli_on_off("--mac-spoofing", optarg, &a->spoof);
			break;
		case O_ADAPTER:
			if (parse_uint(optarg, 0, VM_MAX_NICS - 1, &n) < 0)
				return cli_fail(NESTVM_EXIT_BAD_INPUT, "--adapter '%s' must be 0..%d", optarg, VM_MAX_NICS - 1);
			a->adapter = (long)n;
			break;
		case O_ADD:
			if (a->nadd == VM_MAX_NICS)
				return cli_fail(NESTVM_EXIT_BAD_INPUT, "at most %d --add-nic options", VM_MAX_NICS);
			a->want[VM_SETTING_ADD_NIC] = true;
			a->add[a->nadd++] = optarg;
			break;
		case O_REMOVE:
			if (a->want[VM_SETTING_REMOVE_NIC])
				return cli_fail(NESTVM_EXIT_BAD_INPUT, "--remove-nic given twice (one adapter at a time)");
			if (parse_uint(optarg, 0, VM_MAX_NICS - 1, &a->remove) < 0)
				return cli_fail(NESTVM_EXIT_BAD_INPUT, "--remove-nic '%s' must be 0..%d", optarg,
						VM_MAX_NICS - 1);
			a->want[VM_SETTING_REMOVE_NIC] = true;
			break;
		case O_APPEND:
			if (strlen(optarg) >= VM_APPEND_MAX)
				return cli_fail(NESTVM_EXIT_BAD_INPUT, "--append is longer than %d characters",
						VM_APPEND_MAX - 1);
			a->want[VM_SETTING_APPEND] = true;
			a->append = optarg;
			break;
		case O_START_ACT:
			a->want[VM_SETTING_START_ACTION] = true;
			if (vm_start_action_parse(optarg, &a->start_action) < 0)
				return cli_fail(NESTVM_EXIT_BAD_INPUT, "--automatic-start-action '%s' is not nothing, "
						"start or start-if-running", optarg);
			break;
		case O_STOP_ACT:
			a->want[VM_SETTING_STOP_ACTION] = true;
			if (vm_stop_action_parse(optarg, &a->stop_action) < 0)
				return cli_fail(NESTVM_EXIT_BAD_INPUT, "--automatic-stop-action '%s' is not turn-off, "
						"shutdown or save", optarg);
			break;
		case O_RUN_AS:
			a->want[VM_SETTING_RUN_AS] = true;
			st = vm_option_run_as(&a->run_as, optarg, true);
			break;
		case VM_OPT_USER_DATA:
		case VM_OPT_SSH_KEY:
		case VM_OPT_HOSTNAME:
			a->want[VM_SETTING_CLOUD_INIT] = true;
			st = vm_option_cloud_init(o, optarg, &a->cloud_init);
			break;
		case 'h': set_usage(stdout); return -1;
		default: return vm_cli_getopt_error(o, argv, "set");
		}
	}
	if (st)
		return st;
	if (a->adapter >= 0 && !a->want[VM_SETTING_MAC_SPOOFING])
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "--adapter goes with --mac-spoofing");
	bool any = false;
	for (int i = 0; i < VM_SETTING_COUNT; i++)
		any = any || a->want[i];
	if (!any && optind < argc)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "vm set %s: nothing to set (try `nestvm vm set --help`)",
				argv[optind]);
	if (!any)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "vm set needs a VM NAME and a setting (try `nestvm vm set --help`)");
	return 0;
}

static bool same_user(const struct vm_config *a, const struct vm_config *b)
{
	return a->has_run_as == b->has_run_as &&
	       (!a->has_run_as || (a->run_as.uid == b->run_as.uid && a->run_as.gid == b->run_as.gid));
}

/* --run-as: who the VMM becomes. The state of the VM's checkpoints is
 * kept in the part of its folder the user owns: a change would leave it
 * with the old owner, so they must go first. */
static int set_run_as(struct vm_record *r, const struct vm_config *want, FILE *out)
{
	struct vm_config *c = &r->config;
	struct vm_checkpoint *cps = NULL;
	size_t n = 0;
	struct nv_err err = { 0 };
	if (vm_checkpoint_list(c->name, &cps, &n, &err) < 0)
		return vm_cli_fail(&err);
	free(cps);
	if (n && !same_user(want, c))
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "VM %s has %zu checkpoint%s, kept for the user its VMM runs as "
				"now: delete them before --run-as changes (nestvm vm checkpoint list %s)", c->name, n,
				n == 1 ? "" : "s", c->name);
	c->has_run_as = want->has_run_as;
	c->run_as = want->run_as;
	if (c->has_run_as)
		fprintf(out, "VM %s: RunAs %s (uid %u, gid %u)\n", c->name, c->run_as.name, (unsigned)c->run_as.uid,
			(unsigned)c->run_as.gid);
	else
		fprintf(out, "VM %s: RunAs none (its VMM keeps the uid that starts it)\n", c->name);
	return 0;
}

/* Checks and applies a to the locked record r; prints what changed. 0 or
 * exit status (nothing saved then). */
static int set_apply(struct vm_record *r, const struct set_args *a, FILE *out)
{
	struct vm_config *c = &r->config;
	struct nv_err err = { 0 };
	int st;
	for (int s = 0; s < VM_SETTING_COUNT; s++)
		if (a->want[s] && vm_setting_check((enum vm_setting)s, c->name, r->runtime.state, &err) < 0)
			return vm_cli_fail(&err);
	if (a->want[VM_SETTING_MAC_SPOOFING]) {
		if (!c->nnics)
			return cli_fail(NESTVM_EXIT_BAD_INPUT, "VM %s has no network adapters (--add-nic)", c->name);
		if (a->adapter >= (long)c->nnics)
			return cli_fail(NESTVM_EXIT_BAD_INPUT, "VM %s has no adapter %ld (it has 0..%u)", c->name,
					a->adapter, c->nnics - 1);
	}
	if (a->want[VM_SETTING_REMOVE_NIC] && a->remove >= c->nnics)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "VM %s has no adapter %lu to remove (it has %u)", c->name,
				a->remove, c->nnics);
	if (a->want[VM_SETTING_RUN_AS] && (st = set_run_as(r, &a->run_as, out)))
		return st;
	if (a->want[VM_SETTING_EXPOSE_VIRT]) {
		c->expose_virtualization_extensions = a->expose;
		fprintf(out, "VM %s: ExposeVirtualizationExtensions %s\n", c->name, a->expose ? "True" : "False");
	}
	if (a->want[VM_SETTING_CPUS]) {
		c->cpus = a->cpus;
		fprintf(out, "VM %s: CPUs %u\n", c->name, c->cpus);
	}
	if (a->want[VM_SETTING_MEMORY]) {
		char m[32];
		c->memory_mib = a->memory_mib;
		vm_cli_memory(c->memory_mib, m, sizeof(m));
		fprintf(out, "VM %s: Memory %s\n", c->name, m);
	}
	if (a->want[VM_SETTING_DYNAMIC_MEMORY] || a->want[VM_SETTING_MEMORY_POLICY]) {
		vm_memory_options_apply(c, &a->mo);
		if (a->want[VM_SETTING_DYNAMIC_MEMORY])
			fprintf(out, "VM %s: DynamicMemoryEnabled %s\n", c->name,
				c->dynamic_memory_enabled ? "True" : "False");
		if (c->dynamic_memory_enabled)
			fprintf(out, "VM %s: MemoryMinimum %llu MiB, MemoryMaximum %llu MiB, MemoryBuffer %u %%, "
				"MemoryWeight %u\n", c->name, (unsigned long long)c->memory_min_mib,
				(unsigned long long)c->memory_max_mib, c->memory_buffer_pct, c->memory_weight);
	}
	if (a->want[VM_SETTING_APPEND]) {
		snprintf(c->append, sizeof(c->append), "%s", a->append);
		fprintf(out, "VM %s: Append '%s'\n", c->name, c->append);
	}
	if (a->want[VM_SETTING_REMOVE_NIC]) {
		unsigned i = (unsigned)a->remove;
		fprintf(out, "VM %s: removed adapter eth%u (switch %s)\n", c->name, i, c->nics[i].switch_name);
		memmove(&c->nics[i], &c->nics[i + 1], (c->nnics - i - 1) * sizeof(c->nics[0]));
		c->nnics--;
	}
	for (unsigned k = 0; k < a->nadd; k++) {
		st = add_nic(c, a->add[k]);
		if (st)
			return st;
		char mac[18];
		mac_format(&c->nics[c->nnics - 1].mac, mac);
		fprintf(out, "VM %s: added adapter eth%u on switch %s (MAC %s)\n", c->name, c->nnics - 1,
		       c->nics[c->nnics - 1].switch_name, mac);
	}
	if (a->want[VM_SETTING_START_ACTION]) {
		c->automatic_start_action = a->start_action;
		fprintf(out, "VM %s: AutomaticStartAction %s\n", c->name, vm_start_action_name(a->start_action));
	}
	if (a->want[VM_SETTING_STOP_ACTION]) {
		c->automatic_stop_action = a->stop_action;
		fprintf(out, "VM %s: AutomaticStopAction %s\n", c->name, vm_stop_action_name(a->stop_action));
	}
	if (a->want[VM_SETTING_MAC_SPOOFING])
		for (unsigned i = 0; i < c->nnics; i++)
			if (a->adapter < 0 || (unsigned)a->adapter == i) {
				c->nics[i].mac_spoofing = a->spoof;
				fprintf(out, "VM %s: MacAddressSpoofing %s (eth%u, switch %s)\n", c->name,
				       a->spoof ? "On" : "Off", i, c->nics[i].switch_name);
			}
	return 0;
}

/* --memory while the VM runs: with a balloon, the guest keeps that much and
 * gives the rest of its startup memory back (the record's startup memory
 * stays: the next start boots with it). */
static int set_memory_running(const struct vm_record *r, const struct set_args *a)
{
	const char *name = r->config.name;
	for (int s = 0; s < VM_SETTING_COUNT; s++)
		if (s != VM_SETTING_MEMORY && a->want[s])
			return cli_fail(NESTVM_EXIT_BAD_INPUT, "VM %s is %s: --memory resizes it through its balloon "
					"and goes alone (set %s in another command)", name,
					vm_state_name(r->runtime.state), vm_setting_option((enum vm_setting)s));
	if (!vm_config_has_balloon(&r->config))
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "VM %s is %s: --memory can only be changed while the VM is "
				"Off (nestvm vm stop %s), or while it runs when it has a balloon (nestvm vm create "
				"... --device balloon, or --dynamic-memory on)", name, vm_state_name(r->runtime.state),
				name);
	struct json_object *req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("memory"));
	json_object_object_add(req, "mib", json_object_new_int64((int64_t)a->memory_mib));
	struct nv_err err = { 0 };
	struct json_object *rep = vm_control_call(name, req, 5000, &err);
	json_object_put(req);
	if (!rep)
		return vm_cli_fail(&err);
	json_object_put(rep);
	printf("VM %s: memory target %llu MiB of its %llu MiB (the balloon gives the rest back; it boots "
	       "with %llu MiB again%s)\n", name, (unsigned long long)a->memory_mib,
	       (unsigned long long)vm_config_ram_mib(&r->config), (unsigned long long)r->config.memory_mib,
	       r->config.dynamic_memory_enabled ? "; dynamic memory moves it on from here" : "");
	return 0;
}

/* New dynamic memory bounds for a running VM: its VMM takes them first
 * (it refuses a maximum above the RAM it booted with), then the record. */
static int push_memory_policy(const struct vm_config *c)
{
	struct json_object *req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("memory-policy"));
	json_object_object_add(req, "min_mib", json_object_new_int64((int64_t)c->memory_min_mib));
	json_object_object_add(req, "max_mib", json_object_new_int64((int64_t)c->memory_max_mib));
	json_object_object_add(req, "buffer_percent", json_object_new_int64(c->memory_buffer_pct));
	json_object_object_add(req, "weight", json_object_new_int64(c->memory_weight));
	struct nv_err err = { 0 };
	struct json_object *rep = vm_control_call(c->name, req, 5000, &err);
	json_object_put(req);
	if (!rep)
		return vm_cli_fail(&err);
	json_object_put(rep);
	return 0;
}

int cmd_vm_set(int argc, char **argv)
{
	struct set_args a;
	memset(&a, 0, sizeof(a));
	int st = set_parse(argc, argv, &a);
	if (st)
		return st < 0 ? 0 : st;
	const char *name;
	if ((st = vm_cli_name_arg(argc, argv, "set", &name)))
		return st;
	if (optind < argc)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "unexpected '%s' (try `nestvm vm set --help`)", argv[optind]);
	struct vm_lock lk;
	struct vm_record r;
	struct nv_err err = { 0 };
	if (vm_store_lock_load(name, &lk, &r, &err) < 0)
		return vm_cli_fail(&err);
	if (a.want[VM_SETTING_MEMORY] && (r.runtime.state == VM_STATE_RUNNING || r.runtime.state == VM_STATE_PAUSED)) {
		vm_store_unlock(&lk);
		return set_memory_running(&r, &a);
	}
	/* Output is held until the record is saved: a refused change prints
	 * only the refusal. */
	char *out = NULL;
	size_t outlen = 0;
	const struct vm_config old = { .has_run_as = r.config.has_run_as, .run_as = r.config.run_as };
	FILE *mem = open_memstream(&out, &outlen);
	st = set_apply(&r, &a, mem ? mem : stdout);
	if (mem)
		fclose(mem);
	bool on = r.runtime.state == VM_STATE_RUNNING || r.runtime.state == VM_STATE_PAUSED;
	if (!st && a.want[VM_SETTING_CLOUD_INIT])
		st = vm_seed_set(&r, &a.cloud_init, &out);
	if (!st && a.want[VM_SETTING_MEMORY_POLICY] && on && r.config.dynamic_memory_enabled) {
		st = vm_config_validate(&r.config, NULL, &err) < 0 ? vm_cli_fail(&err) : push_memory_policy(&r.config);
	}
	if (!st && vm_store_save(&r, &err) < 0)
		st = vm_cli_fail(&err);
	/* The old user's part goes (the next start makes the new one). */
	if (!st && !same_user(&old, &r.config) && vm_store_remove_user_dir(name, &err) < 0)
		st = vm_cli_fail(&err);
	vm_store_unlock(&lk);
	if (!st && out)
		fputs(out, stdout);
	free(out);
	if (!st && a.want[VM_SETTING_MAC_SPOOFING] && r.runtime.state != VM_STATE_OFF &&
	    vm_cli_push_spoofing(&r, (int)a.adapter) == 0)
		printf("VM %s is %s: MAC address spoofing applied now\n", name, vm_state_name(r.runtime.state));
	return st;
}

/* ---- delete ---- */

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Every checkpoint goes, and so the images only they needed; the line the
 * VM is on is merged into its own disk files. */
static int merge_disks_back(const char *name, struct vm_record *r, struct nv_err *err)
{
	struct vm_checkpoint *all = NULL;
	size_t n = 0;
	if (vm_checkpoint_list(name, &all, &n, err) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = vm_checkpoint_delete(name, all[i].name, err);
	free(all);
	return rc == 0 ? vm_disks_collect(name, r, err) : -1;
}

int cmd_vm_delete(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool force = false;
	int o, st;
	opterr = 0;
	optind = 1;
	while ((o = getopt_long(argc, argv, ":hf", opts, NULL)) != -1) {
		if (o == 'f') {
			force = true;
		} else if (o == 'h') {
			printf("usage: nestvm vm delete NAME [--force]\n"
			       "Removes the VM's definition. It must be Off; --force stops a running VM first\n"
			       "(SIGTERM to its VMM process, up to 10 s). Disk images are not touched.\n");
			return 0;
		} else {
			return vm_cli_getopt_error(o, argv, "delete");
		}
	}
	const char *name;
	if ((st = vm_cli_name_arg(argc, argv, "delete", &name)))
		return st;
	if (optind < argc)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "unexpected '%s' (try `nestvm vm delete --help`)", argv[optind]);
	struct vm_lock lk;
	struct vm_record r;
	struct nv_err err = { 0 };
	if (vm_store_lock(name, &lk, &err) < 0)
		return vm_cli_fail(&err);
	if (vm_store_load(name, &r, &err) < 0) {
		/* A broken record can go when no VMM holds vmm.lock: its state
		 * is unknown, but nothing runs it. */
		if (err.kind != NV_ERR_INPUT || vm_store_vmm_alive(name)) {
			vm_store_unlock(&lk);
			return vm_cli_fail(&err);
		}
		fprintf(stderr, "nestvm: warning: deleting a broken record: %s\n", err.msg);
		memset(&r, 0, sizeof(r));
	} else if (vm_store_reap(&r, &err) < 0) {
		vm_store_unlock(&lk);
		return vm_cli_fail(&err);
	}
	/* A saved VM has no VMM: it goes with its saved state. */
	if (r.runtime.state != VM_STATE_OFF && r.runtime.state != VM_STATE_SAVED) {
		vm_store_unlock(&lk);
		if (!force)
			return cli_fail(NESTVM_EXIT_BAD_INPUT, "VM %s is %s: stop it first (nestvm vm stop %s), or --force",
					name, vm_state_name(r.runtime.state), name);
		/* Not under the lock: the VMM takes it to record its stop. */
		pid_t pid = r.runtime.pid;
		if (vm_store_vmm_pid(name, pid) && kill(pid, SIGTERM) < 0 && errno != ESRCH)
			return cli_fail(NESTVM_EXIT_VMM_FAILURE, "cannot stop VM %s's VMM (pid %d): %s", name, (int)pid,
					strerror(errno));
		int waited = 0;
		while (vm_store_vmm_alive(name) && waited < STOP_WAIT_MS) {
			sleep_ms(50);
			waited += 50;
		}
		if (vm_store_vmm_alive(name))
			return cli_fail(NESTVM_EXIT_VMM_FAILURE, "VM %s's VMM (pid %d) did not stop within %d s",
					name, (int)pid, STOP_WAIT_MS / 1000);
		if ((st = vm_cli_lock_load(name, &lk, &r)))
			return st;
		if (r.runtime.state != VM_STATE_OFF) { /* started again meanwhile */
			vm_store_unlock(&lk);
			return cli_fail(NESTVM_EXIT_VMM_FAILURE, "VM %s is %s again: not deleted", name,
					vm_state_name(r.runtime.state));
		}
	}
	/* Its disk files keep every write: the differencing disks of its
	 * checkpoints are merged back into them first. */
	if (r.config.name[0] && merge_disks_back(name, &r, &err) < 0) {
		vm_store_unlock(&lk);
		return cli_fail(err.kind == NV_ERR_HOST ? NESTVM_EXIT_VMM_FAILURE : NESTVM_EXIT_BAD_INPUT,
				"VM %s was not deleted: merging its differencing disks back into its disk files failed: %s",
				name, err.msg);
	}
	if (vm_store_delete(name, &err) < 0) {
		vm_store_unlock(&lk);
		return vm_cli_fail(&err);
	}
	vm_store_unlock(&lk);
	printf("VM %s deleted\n", name);
	return 0;
}
