#include "mgmt/enable_nested_plan.h"

#include <stdio.h>
#include <string.h>

void enable_nested_plan_make(const struct vm_record *r, struct enable_nested_plan *p)
{
	const struct vm_config *c = &r->config;
	memset(p, 0, sizeof(*p));
	p->state = r->runtime.state;
	p->expose = !c->expose_virtualization_extensions;
	if (c->memory_mib < VM_NESTED_MIN_MEMORY_MIB) {
		p->raise_memory = true;
		p->memory_from = c->memory_mib;
		p->memory_to = VM_NESTED_MIN_MEMORY_MIB;
	}
	for (unsigned i = 0; i < c->nnics && i < 32; i++)
		if (!c->nics[i].mac_spoofing) {
			p->spoof_adapters |= 1u << i;
			p->nspoof++;
		}
	/* Spoofing alone can change while the VM runs: no stop for it. */
	p->stop = enable_nested_plan_required(p) && p->state != VM_STATE_OFF;
}

bool enable_nested_plan_required(const struct enable_nested_plan *p)
{
	return p->expose || p->raise_memory;
}

bool enable_nested_plan_empty(const struct enable_nested_plan *p)
{
	return !enable_nested_plan_required(p) && !p->nspoof;
}

void enable_nested_plan_text(const struct vm_record *r, const struct enable_nested_plan *p, char *out,
			     size_t size)
{
	size_t len = 0;
	out[0] = '\0';
#define LINE(...)                                                                         \
	do {                                                                              \
		if (len < size) {                                                         \
			int n_ = snprintf(out + len, size - len, __VA_ARGS__);            \
			len += n_ > 0 ? (size_t)n_ : 0;                                   \
		}                                                                         \
	} while (0)
	if (p->stop)
		LINE("\t* Stop the VM (it is %s; the settings below can only change while it is Off)\n",
		     vm_state_name(p->state));
	if (p->expose)
		LINE("\t* Expose the virtualization extensions (VT-x/AMD-V) to the VM\n");
	if (enable_nested_plan_required(p))
		LINE("\t* Dynamic memory: stays %s (Hyper-V would turn it off; nestvm's keeps working "
		     "with a hypervisor inside)\n", r->config.dynamic_memory_enabled ? "on" : "off");
	if (p->raise_memory)
		LINE("\t* Raise the startup memory from %llu MB to %llu MB\n", (unsigned long long)p->memory_from,
		     (unsigned long long)p->memory_to);
	if (p->nspoof) {
		LINE("\t* Optional: enable MAC address spoofing on each adapter (");
		bool first = true;
		for (unsigned i = 0; i < r->config.nnics && i < 32; i++)
			if (p->spoof_adapters & (1u << i)) {
				LINE("%seth%u on switch %s", first ? "" : ", ", i, r->config.nics[i].switch_name);
				first = false;
			}
		LINE(")\n");
	}
#undef LINE
}

void enable_nested_plan_apply(const struct enable_nested_plan *p, bool required, bool spoofing,
			      struct vm_config *c)
{
	if (required) {
		if (p->expose)
			c->expose_virtualization_extensions = true;
		if (p->raise_memory && c->memory_mib < p->memory_to)
			c->memory_mib = p->memory_to;
		/* Dynamic memory stays; its maximum follows a raised startup. */
		if (c->memory_max_mib < c->memory_mib)
			c->memory_max_mib = c->memory_mib;
	}
	for (unsigned i = 0; spoofing && i < c->nnics && i < 32; i++)
		if (p->spoof_adapters & (1u << i))
			c->nics[i].mac_spoofing = true;
}
