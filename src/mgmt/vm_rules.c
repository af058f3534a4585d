#include "mgmt/vm_rules.h"

struct rule {
	const char *option;
	bool while_on; /* may change in Starting, Running and Stopping too */
	bool any_state; /* and while Saved: not part of the machine */
};

static const struct rule rules[VM_SETTING_COUNT] = {
	[VM_SETTING_EXPOSE_VIRT] = { "--expose-virtualization-extensions", false },
	[VM_SETTING_CPUS] = { "--cpus", false },
	[VM_SETTING_MEMORY] = { "--memory", false },
	[VM_SETTING_DYNAMIC_MEMORY] = { "--dynamic-memory", false },
	[VM_SETTING_MEMORY_POLICY] = { "--memory-min/--memory-max/--memory-buffer/--memory-weight", true },
	[VM_SETTING_MAC_SPOOFING] = { "--mac-spoofing", true },
	[VM_SETTING_ADD_NIC] = { "--add-nic", false },
	[VM_SETTING_REMOVE_NIC] = { "--remove-nic", false },
	[VM_SETTING_APPEND] = { "--append", false },
	[VM_SETTING_START_ACTION] = { "--automatic-start-action", true, true },
	[VM_SETTING_STOP_ACTION] = { "--automatic-stop-action", true, true },
	[VM_SETTING_RUN_AS] = { "--run-as", false },
	[VM_SETTING_CLOUD_INIT] = { "--user-data/--ssh-key/--hostname", false },
};

const char *vm_setting_option(enum vm_setting s)
{
	return (unsigned)s < VM_SETTING_COUNT ? rules[s].option : "?";
}

bool vm_setting_allowed(enum vm_setting s, enum vm_state state)
{
	if ((unsigned)s >= VM_SETTING_COUNT)
		return false;
	/* A saved VM must come back as it was saved: nothing of it changes;
	 * a receiving one takes the source's settings. */
	if (state == VM_STATE_RECEIVING)
		return false;
	return state == VM_STATE_OFF || rules[s].any_state || (rules[s].while_on && state != VM_STATE_SAVED);
}

int vm_setting_check(enum vm_setting s, const char *vm, enum vm_state state, struct nv_err *err)
{
	if (vm_setting_allowed(s, state))
		return 0;
	return nv_err_input(err, "VM %s is %s: %s can only be changed while the VM is Off (nestvm vm stop %s)",
			    vm, vm_state_name(state), vm_setting_option(s), vm);
}
