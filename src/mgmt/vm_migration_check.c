#include "mgmt/vm_migration_check.h"

#include <string.h>

static const char *on_off(bool b)
{
	return b ? "on" : "off";
}

int vm_migration_check(const struct vm_config *t, const struct vm_config *s, struct nv_err *err)
{
	const char *pre = "refused: the source VM";
	if (vm_config_ram_mib(s) != vm_config_ram_mib(t))
		return nv_err_input(err, "%s has %llu MiB of RAM, this target expects %llu MiB", pre,
				    (unsigned long long)vm_config_ram_mib(s), (unsigned long long)vm_config_ram_mib(t));
	if (s->cpus != t->cpus)
		return nv_err_input(err, "%s has %u vCPUs, this target expects %u", pre, s->cpus, t->cpus);
	if (s->expose_virtualization_extensions != t->expose_virtualization_extensions)
		return nv_err_input(err, "%s has the virtualization extensions %s, this target expects them %s", pre,
				    on_off(s->expose_virtualization_extensions),
				    on_off(t->expose_virtualization_extensions));
	if (s->dynamic_memory_enabled != t->dynamic_memory_enabled)
		return nv_err_input(err, "%s has dynamic memory %s, this target expects it %s", pre,
				    on_off(s->dynamic_memory_enabled), on_off(t->dynamic_memory_enabled));
	if (s->nnics != t->nnics)
		return nv_err_input(err, "%s has %u network adapters, this target expects %u", pre, s->nnics, t->nnics);
	bool same = s->ndevices == t->ndevices;
	for (unsigned i = 0; same && i < s->ndevices; i++)
		same = strcmp(s->devices[i], t->devices[i]) == 0;
	if (!same)
		return nv_err_input(err, "%s has %u other devices (%s%s), this target expects %u (%s%s)", pre,
				    s->ndevices, s->ndevices ? s->devices[0] : "none", s->ndevices > 1 ? ", ..." : "",
				    t->ndevices, t->ndevices ? t->devices[0] : "none", t->ndevices > 1 ? ", ..." : "");
	return 0;
}
