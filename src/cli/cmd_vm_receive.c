/* `nestvm vm receive NAME --listen ADDR`: the target's side of `vm
 * migrate` for a named VM (Hyper-V's Move-VM makes the VM on the
 * destination). NAME appears as Receiving, its VMM listening at ADDR; the
 * first source's record becomes NAME's settings (checked: a valid record,
 * RAM and vCPUs as it says), the VM runs here (Running) and the source is
 * told. A migration that fails leaves nothing here and the source running. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/vm_cli.h"
#include "cli/vm_commands.h"
#include "cli/vm_lifecycle.h"
#include "cli/vm_options.h"
#include "mgmt/vm_store.h"
#include "state/migration_channel.h"
#include "util/parse.h"
#include "vmm/exit_status.h"

#define RECEIVE_DEFAULT_TIMEOUT_S 600
#define LISTEN_NOTIFY_MS 30000 /* from spawning the VMM to its listening */

static const char usage[] =
	"usage: nestvm vm receive NAME --listen unix:PATH|tcp:ADDR:PORT [--timeout SECONDS]\n"
	"       [--storage-path DIR]\n"
	"Makes VM NAME here from a VM that `nestvm vm migrate SOURCE --to ADDR` sends from\n"
	"another host (or this one): NAME is Receiving while its VMM waits at ADDR, takes the\n"
	"source's settings (memory, vCPUs, the extensions, disks at the same paths, adapters on\n"
	"the switches of the same names, the same MACs) and runs on from where the source was\n"
	"(Running). Disks the source copies along (`vm migrate --copy-disks`) become new files\n"
	"in --storage-path DIR (each under its file name; without it at the source's path),\n"
	"never over an existing file. No source within --timeout seconds (default 600; 0: no\n"
	"limit), or a migration that fails, and NAME is gone again; the source runs on.\n";

static int remove_failed(const char *name, int status)
{
	struct vm_record r;
	struct nv_err err = { 0 };
	char why[sizeof(r.runtime.last_stop)] = "its VMM process ended (see its log)";
	if (vm_store_load_reaped(name, &r, &err) == 0 && r.runtime.last_stop[0])
		snprintf(why, sizeof(why), "%s", r.runtime.last_stop);
	vm_store_delete(name, &err);
	return cli_fail(status, "VM %s cannot receive: %s", name, why);
}

int cmd_vm_receive(int argc, char **argv)
{
	enum { O_LISTEN = 256, O_TIMEOUT, O_STORAGE_PATH };
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "storage-path", required_argument, NULL, O_STORAGE_PATH },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen = NULL;
	char storage[VM_PATH_MAX] = "";
	unsigned long timeout_s = RECEIVE_DEFAULT_TIMEOUT_S;
	opterr = 0;
	optind = 1;
	int o;
	while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) { /* NAME anywhere */
		switch (o) {
		case O_LISTEN: listen = optarg; break;
		case O_TIMEOUT:
			if (parse_uint(optarg, 0, 86400, &timeout_s) < 0)
				return cli_fail(NESTVM_EXIT_BAD_INPUT, "--timeout '%s': seconds, 0 (no limit) to 86400", optarg);
			break;
		case O_STORAGE_PATH: {
			int st = vm_option_folder("--storage-path", optarg, storage, sizeof(storage));
			if (st)
				return st;
			break;
		}
		case 'h':
			printf("%s", usage);
			return 0;
		default: return vm_cli_getopt_error(o, argv, "receive");
		}
	}
	const char *name;
	int st = vm_cli_name_arg(argc, argv, "receive", &name);
	if (st)
		return st;
	if (optind < argc)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "unexpected '%s' (try `nestvm vm receive --help`)", argv[optind]);
	if (!listen)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "vm receive needs --listen unix:PATH or tcp:ADDR:PORT");
	struct nv_err err = { 0 };
	struct mig_addr addr;
	if (mig_addr_parse(listen, &addr, &err) < 0)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "--listen: %s", err.msg);
	if (vm_store_exists(name))
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "a VM named '%s' already exists here: the migrated VM needs a new name",
				name);

	struct vm_record r;
	memset(&r, 0, sizeof(r));
	vm_config_defaults(&r.config, name);
	r.runtime.state = VM_STATE_RECEIVING;
	if (vm_store_create(&r, &err) < 0)
		return vm_cli_fail(&err);
	int lock_fd = vm_lifecycle_lock_vmm(name, &err);
	int pipefd[2] = { -1, -1 };
	char ms[24];
	snprintf(ms, sizeof(ms), "%lu", timeout_s * 1000);
	const char *extra[] = { "--incoming", listen, "--incoming-timeout-ms", ms,
				storage[0] ? "--storage-path" : NULL, storage, NULL };
	if (lock_fd < 0 || (pipe2(pipefd, O_CLOEXEC) < 0 && nv_err_host(&err, "pipe: %s", strerror(errno))) ||
	    vm_lifecycle_spawn_daemon(name, lock_fd, pipefd[1], extra, &err) < 0) {
		struct nv_err ignored = { 0 };
		vm_store_delete(name, &ignored);
		if (lock_fd >= 0)
			close(lock_fd);
		if (pipefd[0] >= 0) {
			close(pipefd[0]);
			close(pipefd[1]);
		}
		return vm_cli_fail(&err);
	}
	close(lock_fd);
	close(pipefd[1]);
	bool timed_out;
	int status = vm_lifecycle_read_notify(pipefd[0], LISTEN_NOTIFY_MS, &timed_out);
	close(pipefd[0]);
	if (status != 0)
		return remove_failed(name, status > 0 ? status : NESTVM_EXIT_VMM_FAILURE);
	if (timeout_s)
		printf("VM %s is Receiving: waiting at %s for `nestvm vm migrate` from its source (up to %lu s)\n", name,
		       listen, timeout_s);
	else
		printf("VM %s is Receiving: waiting at %s for `nestvm vm migrate` from its source\n", name, listen);
	return 0;
}
