#include "cli/vm_cli.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "util/state_dir.h"
#include "mgmt/vm_store.h"
#include "net/switch_control.h"
#include "vmm/exit_status.h"

#define CONTROL_TIMEOUT_MS 3000

void vm_cli_memory(uint64_t mib, char *out, size_t size)
{
	if (mib && mib % (1024 * 1024) == 0)
		snprintf(out, size, "%lluT", (unsigned long long)(mib >> 20));
	else if (mib && mib % 1024 == 0)
		snprintf(out, size, "%lluG", (unsigned long long)(mib >> 10));
	else
		snprintf(out, size, "%lluM", (unsigned long long)mib);
}

int64_t vm_cli_uptime_seconds(const struct vm_record *r)
{
	if (r->runtime.state == VM_STATE_OFF || r->runtime.started_at <= 0)
		return -1;
	int64_t now = (int64_t)time(NULL);
	return now > r->runtime.started_at ? now - r->runtime.started_at : 0;
}

void vm_cli_uptime(int64_t s, char *out, size_t size)
{
	if (s < 0)
		snprintf(out, size, "%s", "");
	else if (s >= 86400)
		snprintf(out, size, "%lld.%02lld:%02lld:%02lld", (long long)(s / 86400), (long long)(s / 3600 % 24),
			 (long long)(s / 60 % 60), (long long)(s % 60));
	else
		snprintf(out, size, "%02lld:%02lld:%02lld", (long long)(s / 3600), (long long)(s / 60 % 60),
			 (long long)(s % 60));
}

int vm_cli_on_off(const char *opt, const char *v, bool *out)
{
	if (!strcasecmp(v, "on") || !strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcasecmp(v, "1"))
		*out = true;
	else if (!strcasecmp(v, "off") || !strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcasecmp(v, "0"))
		*out = false;
	else
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s must be on or off, not '%s'", opt, v);
	return 0;
}

int vm_cli_name_arg(int argc, char **argv, const char *sub, const char **name)
{
	if (optind >= argc)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "vm %s needs a VM NAME (try `nestvm vm %s --help`)", sub, sub);
	*name = argv[optind++];
	if (!state_name_valid(*name, VM_NAME_MAX))
		return cli_fail(NESTVM_EXIT_BAD_INPUT,
				"'%s' is not a valid VM name (1-%d of A-Z a-z 0-9 _ . -, not starting with . or -)",
				*name, VM_NAME_MAX);
	return 0;
}

int vm_cli_getopt_error(int c, char **argv, const char *sub)
{
	if (c == ':')
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s needs a value", argv[optind - 1]);
	return cli_fail(NESTVM_EXIT_BAD_INPUT, "unknown option '%s' (try `nestvm vm %s --help`)",
			argv[optind - 1], sub);
}

int vm_cli_push_spoofing(const struct vm_record *r, int adapter)
{
	int failed = 0;
	for (unsigned i = 0; i < r->config.nnics; i++) {
		if (adapter >= 0 && (unsigned)adapter != i)
			continue;
		const struct vm_nic *nic = &r->config.nics[i];
		char port[VM_NAME_MAX + 16];
		snprintf(port, sizeof(port), "%s/%u", r->config.name, i);
		struct json_object *req = json_object_new_object();
		json_object_object_add(req, "cmd", json_object_new_string("set-port"));
		json_object_object_add(req, "port", json_object_new_string(port));
		json_object_object_add(req, "mac_spoofing", json_object_new_boolean(nic->mac_spoofing));
		struct nv_err err = { 0 };
		struct json_object *rep = switch_control_request(nic->switch_name, req, CONTROL_TIMEOUT_MS, &err);
		json_object_put(req);
		if (rep) {
			json_object_put(rep);
		} else {
			fprintf(stderr, "nestvm: warning: adapter %u (switch %s): saved, but not applied now: %s\n", i,
				nic->switch_name, err.msg);
			failed++;
		}
	}
	return failed;
}

int vm_cli_fail(const struct nv_err *err)
{
	return cli_fail(err->kind == NV_ERR_HOST ? NESTVM_EXIT_VMM_FAILURE : NESTVM_EXIT_BAD_INPUT, "%s",
			err->msg);
}

int vm_cli_lock_load(const char *name, struct vm_lock *lk, struct vm_record *r)
{
	struct nv_err err = { 0 };
	return vm_store_lock_load(name, lk, r, &err) < 0 ? vm_cli_fail(&err) : 0;
}
