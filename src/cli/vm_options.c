#include "cli/vm_options.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "confine/identity.h"
#include "dev/virtio/virtio_device.h"
#include "mgmt/nic_spec.h"
#include "util/parse.h"
#include "vmm/exit_status.h"


static int size_mib(const char *opt, const char *v, uint64_t *mib)
{
	uint64_t bytes;
	if (parse_size(v, 20, &bytes) < 0)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s '%s' is not a size (like 512M or 2G)", opt, v);
	if (bytes % (1ull << 20))
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s %s is not a whole number of MiB", opt, v);
	if ((bytes >> 20) < VM_MIN_MEMORY_MIB || (bytes >> 20) > VM_MAX_MEMORY_MIB)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s %s must be %dM..%lluT", opt, v, VM_MIN_MEMORY_MIB,
				VM_MAX_MEMORY_MIB >> 20);
	*mib = bytes >> 20;
	return 0;
}

int vm_option_memory(const char *v, uint64_t *mib)
{
	return size_mib("--memory", v, mib);
}

int vm_option_memory_policy(int o, const char *v, struct vm_memory_options *m)
{
	unsigned long n;
	switch (o) {
	case VM_OPT_DYNAMIC:
		m->set_enabled = true;
		if (!strcmp(v, "on") || !strcmp(v, "off")) {
			m->enabled = !strcmp(v, "on");
			return 0;
		}
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "--dynamic-memory '%s' must be on or off", v);
	case VM_OPT_MEMORY_MIN:
		m->set_min = true;
		return size_mib("--memory-min", v, &m->min_mib);
	case VM_OPT_MEMORY_MAX:
		m->set_max = true;
		return size_mib("--memory-max", v, &m->max_mib);
	case VM_OPT_MEMORY_BUFFER:
		m->set_buffer = true;
		if (parse_uint(v, 5, 2000, &n) < 0)
			return cli_fail(NESTVM_EXIT_BAD_INPUT, "--memory-buffer '%s' must be 5..2000 (percent)", v);
		m->buffer_pct = (unsigned)n;
		return 0;
	case VM_OPT_MEMORY_WEIGHT:
		m->set_weight = true;
		if (parse_uint(v, 0, 100, &n) < 0)
			return cli_fail(NESTVM_EXIT_BAD_INPUT, "--memory-weight '%s' must be 0..100", v);
		m->weight = (unsigned)n;
		return 0;
	default:
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "unknown memory option");
	}
}

bool vm_memory_policy_given(const struct vm_memory_options *m)
{
	return m->set_min || m->set_max || m->set_buffer || m->set_weight;
}

void vm_memory_options_apply(struct vm_config *c, const struct vm_memory_options *m)
{
	if (m->set_enabled)
		c->dynamic_memory_enabled = m->enabled;
	if (m->set_enabled && m->enabled) {
		struct vm_config d = *c;
		vm_config_dynamic_defaults(&d);
		if (c->memory_min_mib > c->memory_mib || c->memory_min_mib < VM_MIN_MEMORY_MIB)
			c->memory_min_mib = d.memory_min_mib;
		if (c->memory_max_mib < c->memory_mib)
			c->memory_max_mib = d.memory_max_mib;
	}
	if (m->set_min)
		c->memory_min_mib = m->min_mib;
	if (m->set_max)
		c->memory_max_mib = m->max_mib;
	if (m->set_buffer)
		c->memory_buffer_pct = m->buffer_pct;
	if (m->set_weight)
		c->memory_weight = m->weight;
}

int vm_option_cpus(const char *v, unsigned *cpus)
{
	unsigned long n;
	if (parse_uint(v, 1, VM_MAX_CPUS, &n) < 0)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "--cpus '%s' must be 1..%d", v, VM_MAX_CPUS);
	*cpus = (unsigned)n;
	return 0;
}

int vm_option_file(const char *opt, const char *v, bool must_exist, char *out, size_t size)
{
	char cwd[PATH_MAX];
	int n;
	if (!*v)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s needs a path", opt);
	if (v[0] == '/') {
		n = snprintf(out, size, "%s", v);
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			return cli_fail(NESTVM_EXIT_VMM_FAILURE, "cannot find the current directory: %s", strerror(errno));
		n = snprintf(out, size, "%s/%s", cwd, v);
	}
	if (n < 0 || (size_t)n >= size)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s %s: the path is too long", opt, v);
	struct stat st;
	if (!must_exist)
		return 0;
	if (stat(out, &st) < 0)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s %s: %s", opt, v, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s %s: is a directory, not a file", opt, v);
	return 0;
}

int vm_option_folder(const char *opt, const char *v, char *out, size_t size)
{
	struct stat st;
	char *abs = realpath(v, NULL);
	bool dir = abs && stat(abs, &st) == 0 && S_ISDIR(st.st_mode) && strlen(abs) < size;
	if (dir)
		snprintf(out, size, "%s", abs);
	free(abs);
	if (!dir)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s '%s': not an existing folder", opt, v);
	return 0;
}

int vm_option_disk(struct vm_config *c, const char *spec, bool must_exist)
{
	if (c->ndisks == VM_MAX_DISKS)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "at most %d --disk options", VM_MAX_DISKS);
	char path[VM_PATH_MAX];
	if (snprintf(path, sizeof(path), "%s", spec) >= (int)sizeof(path))
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "--disk %.40s...: the path is too long", spec);
	bool ro = false;
	char *comma = strchr(path, ','), *save = NULL;
	if (comma) {
		*comma = '\0';
		for (char *opt = strtok_r(comma + 1, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
			if (!strcmp(opt, "readonly") || !strcmp(opt, "ro"))
				ro = true;
			else
				return cli_fail(NESTVM_EXIT_BAD_INPUT, "--disk %s: unknown option '%s' (only 'readonly')",
						spec, opt);
		}
	}
	struct vm_disk *d = &c->disks[c->ndisks];
	int st = vm_option_file("--disk", path, must_exist, d->path, sizeof(d->path));
	if (st)
		return st;
	d->readonly = ro;
	c->ndisks++;
	return 0;
}

/* Stable, and unique after removals: the smallest k whose MAC is free. */
static struct mac_addr new_mac(const struct vm_config *c)
{
	struct mac_addr m;
	for (unsigned k = 0;; k++) {
		mac_generate(c->name, k, &m);
		bool used = false;
		for (unsigned i = 0; i < c->nnics && !used; i++)
			used = mac_equal(&c->nics[i].mac, &m);
		if (!used)
			return m;
	}
}

int vm_option_nic(struct vm_config *c, const char *spec)
{
	struct nic_spec s;
	struct nv_err err = { 0 };
	if (c->nnics == VM_MAX_NICS)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "VM %s would have more than %d network adapters", c->name,
				VM_MAX_NICS);
	if (nic_spec_parse(spec, &s, &err) < 0)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s", err.msg);
	struct vm_nic *n = &c->nics[c->nnics];
	snprintf(n->switch_name, sizeof(n->switch_name), "%s", s.switch_name);
	n->mac = s.has_mac ? s.mac : new_mac(c);
	n->mac_spoofing = s.mac_spoofing;
	c->nnics++;
	return 0;
}

int vm_option_device(struct vm_config *c, const char *name)
{
	struct nv_err err = { 0 };
	if (virtio_device_type_check_option(name, &err) < 0)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s", err.msg);
	if (c->ndevices == VM_MAX_DEVICES)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "at most %d --device options", VM_MAX_DEVICES);
	snprintf(c->devices[c->ndevices++], sizeof(c->devices[0]), "%s", name);
	return 0;
}

int vm_option_append(struct vm_config *c, const char *v)
{
	if (strlen(v) >= sizeof(c->append))
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "--append is longer than %d characters", VM_APPEND_MAX - 1);
	snprintf(c->append, sizeof(c->append), "%s", v);
	return 0;
}

int vm_option_run_as(struct vm_config *c, const char *v, bool none_ok)
{
	if (none_ok && !strcmp(v, "none")) {
		c->has_run_as = false;
		memset(&c->run_as, 0, sizeof(c->run_as));
		return 0;
	}
	struct nv_err err = { 0 };
	if (identity_parse(v, &c->run_as, &err) < 0 || identity_may_become(&c->run_as, &err) < 0)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s", err.msg);
	c->has_run_as = true;
	return 0;
}

int vm_option_cloud_init(int o, const char *v, struct vm_cloud_init_options *ci)
{
	const char **slot = o == VM_OPT_USER_DATA ? &ci->user_data : o == VM_OPT_SSH_KEY ? &ci->ssh_key : &ci->hostname;
	const char *opt = o == VM_OPT_USER_DATA ? "--user-data" : o == VM_OPT_SSH_KEY ? "--ssh-key" : "--hostname";
	if (*slot)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s given twice", opt);
	if (!*v)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s needs a %s", opt, o == VM_OPT_HOSTNAME ? "name" : "file");
	*slot = v;
	return 0;
}

bool vm_cloud_init_given(const struct vm_cloud_init_options *ci)
{
	return ci->user_data || ci->ssh_key || ci->hostname;
}
