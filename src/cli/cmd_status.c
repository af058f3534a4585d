/* `nestvm status`: can this host give VMs VT-x/AMD-V? A report, like
 * Hyper-V's Get-NestedVirtStatus: exit status 0 for YES and for NO. Runs
 * without root and creates no VM. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "mgmt/host_facts.h"
#include "mgmt/host_facts_file.h"
#include "mgmt/nested_check.h"
#include "mgmt/status_report.h"
#include "vmm/exit_status.h"

static void status_usage(FILE *f)
{
	fprintf(f,
		"usage: nestvm status [OPTIONS]\n"
		"Reports whether this host supports nested virtualization (VMs that get\n"
		"VT-x/AMD-V), what it found, and for each NO the reason and the fix.\n"
		"  --json               the same as one JSON object\n"
		"  --kvm-device PATH    KVM device (default /dev/kvm)\n"
		"  --record             print this host's facts in the recorded-host format\n"
		"  --facts FILE         report on recorded facts instead of this host\n"
		"Exit status: 0 (YES or NO); 2 bad input; 125 failure.\n");
}

int cmd_status(int argc, char **argv)
{
	enum { O_JSON = 256, O_KVM, O_RECORD, O_FACTS };
	static const struct option opts[] = {
		{ "json", no_argument, NULL, O_JSON },
		{ "kvm-device", required_argument, NULL, O_KVM },
		{ "record", no_argument, NULL, O_RECORD },
		{ "facts", required_argument, NULL, O_FACTS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false, record = false;
	const char *kvm_path = "/dev/kvm", *facts_path = NULL;
	opterr = 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (c) {
		case O_JSON: json = true; break;
		case O_KVM: kvm_path = optarg; break;
		case O_RECORD: record = true; break;
		case O_FACTS: facts_path = optarg; break;
		case 'h':
			status_usage(stdout);
			return 0;
		case ':':
			return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s needs a value", argv[optind - 1]);
		default:
			return cli_fail(NESTVM_EXIT_BAD_INPUT, "unknown option '%s' (try `nestvm status --help`)",
					argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "unexpected '%s' (try `nestvm status --help`)", argv[optind]);
	if (record && json)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "--record and --json do not go together");

	struct host_facts f;
	struct nv_err err = { 0 };
	if (facts_path) {
		if (host_facts_file_load(facts_path, &f, &err) < 0)
			return cli_fail(err.kind == NV_ERR_HOST ? NESTVM_EXIT_VMM_FAILURE : NESTVM_EXIT_BAD_INPUT,
					"%s", err.msg);
	} else {
		host_facts_gather(&f, NULL, kvm_path);
	}
	if (record) {
		char buf[4096];
		if (host_facts_file_format(&f, buf, sizeof(buf)) < 0)
			return cli_fail(NESTVM_EXIT_VMM_FAILURE, "host facts do not fit the record buffer");
		fputs(buf, stdout);
		return 0;
	}
	struct nested_verdict v;
	nested_check_evaluate(&f, &v);
	char *out = json ? status_report_json(&f, &v) : status_report_text(&f, &v);
	if (!out)
		return cli_fail(NESTVM_EXIT_VMM_FAILURE, "out of memory");
	fputs(out, stdout);
	free(out);
	return fflush(stdout) == 0 ? 0 : cli_fail(NESTVM_EXIT_VMM_FAILURE, "cannot write the report");
}
