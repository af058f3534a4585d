/* `nestvm vm migrate NAME --to ADDR` (Hyper-V's Move-VM): the running VM
 * moves, while it runs, to a target waiting at ADDR (`nestvm vm receive NAME
 * --listen ADDR` there, or `nestvm run --incoming ADDR`); its record here
 * becomes Off ("migrated to ADDR") once the target runs it, and a failure at any point leaves it running here. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/vm_cli.h"
#include "cli/vm_commands.h"
#include "mgmt/vm_store.h"
#include "state/migration_channel.h"
#include "util/parse.h"
#include "vmm/exit_status.h"
#include "vmm/vm_control.h"

/* A large VM over a slow link (and the lab's emulator) takes a while. */
#define MIGRATE_TIMEOUT_MS 1800000

static const char usage[] =
	"usage: nestvm vm migrate NAME --to unix:PATH|tcp:ADDR:PORT [--downtime-ms N] [--bandwidth MBPS]\n"
	"       [--max-rounds N] [--pause-to-converge] [--copy-disks] [--progress]\n"
	"Moves a running VM, with any VMs it runs itself, to the target waiting at the address\n"
	"(`nestvm vm receive NAME --listen ADDR` there, or `nestvm run --incoming ADDR` with the\n"
	"same --memory, --cpus, --nested and devices). Its memory is copied while it runs; it pauses only for the last round, at\n"
	"most about --downtime-ms (default 300) at the measured link rate. --bandwidth caps the\n"
	"rate (megabytes per second). A guest that writes memory faster than the link carries\n"
	"it does not converge: after --max-rounds rounds (default 30) the migration fails, or\n"
	"with --pause-to-converge the VM pauses and the rest moves anyway (the downtime is then\n"
	"what the rest takes; the report says so). The VM is Off here once the target runs it;\n"
	"if anything fails it runs on here. On a terminal a progress line shows the round, the\n"
	"MB sent and left and how fast the guest writes; --progress prints it without one too\n"
	"(a line each, on stderr).\n"
	"Disks stay where they are: their paths must be valid on the target too (shared\n"
	"storage). --copy-disks copies each writable disk's content along (raw and qcow2,\n"
	"blocks the guest writes meanwhile too) for a target that shares nothing: it makes\n"
	"new files (`vm receive NAME --listen ADDR --storage-path DIR`, or `run --incoming`'s);\n"
	"read-only disks are not copied and must exist at the same path there. The files here\n"
	"stay as they were.\n";

static long get_int(struct json_object *o, const char *key)
{
	struct json_object *v;
	return json_object_object_get_ex(o, key, &v) ? (long)json_object_get_int64(v) : -1;
}

struct progress_line {
	bool tty;   /* rewritten in place; else a line each */
	bool shown; /* a line ends before the report */
};

/* The progress line: on a terminal rewritten in place, ended by the report. */
static void show_progress(void *opaque, struct json_object *v)
{
	struct progress_line *pl = opaque;
	long left = get_int(v, "left_bytes"), rate = get_int(v, "dirty_kbps");
	fprintf(stderr, "%snestvm: round %ld, %.1f MB sent, %.1f MB left", pl->tty ? "\r\033[K" : "",
		get_int(v, "round"), get_int(v, "bytes") / 1e6, left / 1e6);
	if (rate > 0)
		fprintf(stderr, ", the guest writes %.1f MB/s", rate / 1e3);
	fprintf(stderr, " (%.1f s)%s", get_int(v, "elapsed_ms") / 1e3, pl->tty ? "" : "\n");
	pl->shown = pl->tty;
}

int cmd_vm_migrate(int argc, char **argv)
{
	enum { O_TO = 256, O_DOWNTIME, O_BANDWIDTH, O_MAX_ROUNDS, O_PAUSE_TO_CONVERGE, O_PROGRESS, O_COPY_DISKS };
	static const struct option opts[] = {
		{ "to", required_argument, NULL, O_TO },
		{ "downtime-ms", required_argument, NULL, O_DOWNTIME },
		{ "bandwidth", required_argument, NULL, O_BANDWIDTH },
		{ "max-rounds", required_argument, NULL, O_MAX_ROUNDS },
		{ "pause-to-converge", no_argument, NULL, O_PAUSE_TO_CONVERGE },
		{ "progress", no_argument, NULL, O_PROGRESS },
		{ "copy-disks", no_argument, NULL, O_COPY_DISKS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *to = NULL;
	unsigned long downtime = 0, bandwidth = 0, rounds = 0;
	bool pause_to_converge = false, progress = false, copy_disks = false;
	opterr = 0;
	optind = 1;
	int o;
	while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) { /* NAME anywhere */
		switch (o) {
		case O_TO: to = optarg; break;
		case O_COPY_DISKS: copy_disks = true; break;
		case O_DOWNTIME:
			if (parse_uint(optarg, 1, 60000, &downtime) < 0)
				return cli_fail(NESTVM_EXIT_BAD_INPUT, "--downtime-ms '%s': a number of milliseconds, 1 to 60000", optarg);
			break;
		case O_BANDWIDTH:
			if (parse_uint(optarg, 1, 100000, &bandwidth) < 0)
				return cli_fail(NESTVM_EXIT_BAD_INPUT, "--bandwidth '%s': megabytes per second, 1 to 100000", optarg);
			break;
		case O_MAX_ROUNDS:
			if (parse_uint(optarg, 1, 1000, &rounds) < 0)
				return cli_fail(NESTVM_EXIT_BAD_INPUT, "--max-rounds '%s': a number of rounds, 1 to 1000", optarg);
			break;
		case O_PAUSE_TO_CONVERGE: pause_to_converge = true; break;
		case O_PROGRESS: progress = true; break;
		case 'h':
			printf("%s", usage);
			return 0;
		case ':':
			return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s needs a value", argv[optind - 1]);
		default:
			return cli_fail(NESTVM_EXIT_BAD_INPUT, "unknown option '%s' (try `nestvm vm migrate --help`)", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "vm migrate needs a VM name (try `nestvm vm migrate --help`)");
	const char *name = argv[optind];
	if (optind + 1 < argc)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "unexpected '%s' (try `nestvm vm migrate --help`)", argv[optind + 1]);
	if (!to)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "vm migrate needs --to unix:PATH or tcp:ADDR:PORT");
	struct nv_err err = { 0 };
	struct mig_addr addr;
	if (mig_addr_parse(to, &addr, &err) < 0)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "--to: %s", err.msg);
	struct vm_record r;
	if (vm_store_load_reaped(name, &r, &err) < 0)
		return vm_cli_fail(&err);
	if (r.runtime.state != VM_STATE_RUNNING)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "VM %s is %s: only a running VM can be migrated", name,
				vm_state_name(r.runtime.state));
	struct json_object *req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("migrate"));
	json_object_object_add(req, "to", json_object_new_string(to));
	if (downtime)
		json_object_object_add(req, "downtime_ms", json_object_new_int64((int64_t)downtime));
	if (bandwidth)
		json_object_object_add(req, "bandwidth_mbps", json_object_new_int64((int64_t)bandwidth));
	if (rounds)
		json_object_object_add(req, "max_rounds", json_object_new_int64((int64_t)rounds));
	if (pause_to_converge)
		json_object_object_add(req, "pause_to_converge", json_object_new_boolean(1));
	if (copy_disks)
		json_object_object_add(req, "copy_disks", json_object_new_boolean(1));
	struct progress_line pl = { .tty = isatty(STDERR_FILENO) };
	if (pl.tty)
		fprintf(stderr, "nestvm: migrating VM %s to %s...\n", name, to);
	if (pl.tty || progress)
		json_object_object_add(req, "progress", json_object_new_boolean(true));
	/* This command connects, as its user, and hands the connection to
	 * the VMM, whose filter allows it no network socket of its own. */
	int conn = mig_connect(&addr, &err);
	if (conn < 0) {
		json_object_put(req);
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "VM %s was not migrated (it runs on here): %s", name, err.msg);
	}
	struct json_object *rep = vm_control_call_interim(name, req, conn, MIGRATE_TIMEOUT_MS,
							  pl.tty || progress ? show_progress : NULL, &pl, &err);
	if (pl.shown)
		fputc('\n', stderr);
	close(conn);
	json_object_put(req);
	if (!rep)
		return cli_fail(err.kind == NV_ERR_HOST ? NESTVM_EXIT_VMM_FAILURE : NESTVM_EXIT_BAD_INPUT,
				"VM %s was not migrated (it runs on here): %s", name, err.msg);
	long bytes = get_int(rep, "bytes");
	struct json_object *paused;
	bool by_pausing = json_object_object_get_ex(rep, "paused_to_converge", &paused) &&
			  json_object_get_boolean(paused);
	printf("VM %s migrated to %s: total %ld ms, downtime %ld ms, %ld rounds, %.1f MB sent "
	       "(%ld pages, %ld in the paused round), link %ld KB/s%s\n",
	       name, to, get_int(rep, "total_ms"), get_int(rep, "downtime_ms"), get_int(rep, "rounds"),
	       bytes / 1e6, get_int(rep, "pages"), get_int(rep, "final_pages"), get_int(rep, "rate_kbps"),
	       by_pausing ? "; converged by pausing: the guest wrote faster than the link carried it" : "");
	if (copy_disks)
		printf("VM %s: %.1f MB of disk data copied (%ld blocks of 64 KiB again, written meanwhile)\n", name,
		       get_int(rep, "disk_bytes") / 1e6, get_int(rep, "disk_blocks_again"));
	json_object_put(rep);
	/* The VMM answers, then ends and records Off; wait for that. */
	for (int waited = 0; waited < 30000; waited += 50) {
		if (vm_store_load_reaped(name, &r, &err) == 0 && r.runtime.state == VM_STATE_OFF)
			break;
		usleep(50 * 1000);
	}
	return 0;
}
