/* `nestvm status`: can this host give VMs VT-x/AMD-V? A report, like
 * Hyper-V's Get-NestedVirtStatus: exit status 0 for YES and for NO. Runs
 * without root and creates no VM. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "host/host_facts.h"
#include "host/host_facts_file.h"
#include "host/nested_check.h"
#include "util/state_dir.h"
#include "host/status_report.h"
#include "mgmt/vm_nested_check.h"
#include "mgmt/vm_store.h"
#include "vmm/exit_status.h"

static void status_usage(FILE *f)
{
	fprintf(f,
		"usage: nestvm status [OPTIONS] [VM...]\n"
		"Reports whether this host supports nested virtualization (VMs that get\n"
		"VT-x/AMD-V), what it found, and for each NO the reason and the fix.\n"
		"For each VM named: whether it can run VMs of its own, its settings that\n"
		"matter (extensions exposed, memory, MAC address spoofing), reasons and fixes.\n"
		"  --json               the same as one JSON object\n"
		"  --kvm-device PATH    KVM device (default /dev/kvm)\n"
		"  --record             print this host's facts in the recorded-host format\n"
		"  --facts FILE         report on recorded facts instead of this host\n"
		"Exit status: 0 (YES or NO); 2 bad input (an unknown VM too); 125 failure.\n");
}

/* The per-VM blocks after the host report; the text report is out, the
 * JSON one gets a "vms" array. 0 or exit status. */
static int vm_reports(char **names, int n, const struct nested_verdict *host, bool json, char **out)
{
	struct vm_record *recs = calloc((size_t)n, sizeof(*recs));
	if (!recs)
		return cli_fail(NESTVM_EXIT_VMM_FAILURE, "out of memory");
	/* Every name first, so a typo prints nothing but its error. */
	for (int i = 0; i < n; i++) {
		struct nv_err err = { 0 };
		int st = 0;
		if (!state_name_valid(names[i], VM_NAME_MAX) || !vm_store_exists(names[i]))
			st = cli_fail(NESTVM_EXIT_BAD_INPUT, "unexpected '%s': there is no VM of that name (nestvm vm list)",
				      names[i]);
		else if (vm_store_load(names[i], &recs[i], &err) < 0)
			st = cli_fail(err.kind == NV_ERR_HOST ? NESTVM_EXIT_VMM_FAILURE : NESTVM_EXIT_BAD_INPUT, "%s",
				      err.msg);
		if (st) {
			free(recs);
			return st;
		}
	}
	struct json_object *doc = NULL, *vms = NULL;
	if (json) {
		doc = json_tokener_parse(*out);
		vms = json_object_new_array();
	}
	for (int i = 0; i < n; i++) {
		struct vm_nested_verdict v;
		vm_nested_check_evaluate(&recs[i], host, &v);
		if (json) {
			json_object_array_add(vms, vm_nested_report_json(&recs[i], &v));
			continue;
		}
		char *block = vm_nested_report_text(&recs[i], &v);
		size_t a = strlen(*out), b = block ? strlen(block) : 0;
		char *grown = block ? realloc(*out, a + b + 2) : NULL;
		if (!grown) {
			free(block);
			free(recs);
			return cli_fail(NESTVM_EXIT_VMM_FAILURE, "out of memory");
		}
		grown[a] = '\n';
		memcpy(grown + a + 1, block, b + 1);
		*out = grown;
		free(block);
	}
	free(recs);
	if (json) {
		if (!doc) {
			json_object_put(vms);
			return cli_fail(NESTVM_EXIT_VMM_FAILURE, "cannot add the VMs to the JSON report");
		}
		json_object_object_add(doc, "vms", vms);
		const char *s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
									 JSON_C_TO_STRING_NOSLASHESCAPE);
		char *copy = malloc(strlen(s) + 2);
		if (copy)
			sprintf(copy, "%s\n", s);
		json_object_put(doc);
		if (!copy)
			return cli_fail(NESTVM_EXIT_VMM_FAILURE, "out of memory");
		free(*out);
		*out = copy;
	}
	return 0;
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
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
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
	if (optind < argc && (record || facts_path))
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "unexpected '%s' (VM names do not go with --record or --facts)",
				argv[optind]);
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
		host_facts_name_user(&f);
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
	if (optind < argc) {
		int st = vm_reports(argv + optind, argc - optind, &v, json, &out);
		if (st) {
			free(out);
			return st;
		}
	}
	fputs(out, stdout);
	free(out);
	return fflush(stdout) == 0 ? 0 : cli_fail(NESTVM_EXIT_VMM_FAILURE, "cannot write the report");
}
