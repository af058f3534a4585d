/* Which VM settings may change in which state: Hyper-V's rules. Exposing
 * the virtualization extensions, processors, startup memory, adapters,
 * the kernel command line, nestvm's --run-as and its cloud-init seed only
 * while the VM is Off;
 * MAC address spoofing at any time (the switch applies it to the next
 * frame); dynamic memory's bounds and policy while it runs too (its VMM's
 * balancer takes them at once), but not while Saved; the automatic start
 * and stop actions at any time, a Saved VM's too (they act on the host's
 * boot and shutdown, not on the machine). Pure, unit-tested. */
#ifndef NESTVM_MGMT_VM_RULES_H
#define NESTVM_MGMT_VM_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "mgmt/vm_config.h"

enum vm_setting {
	VM_SETTING_EXPOSE_VIRT,
	VM_SETTING_CPUS,
	VM_SETTING_MEMORY,
	VM_SETTING_DYNAMIC_MEMORY,
	VM_SETTING_MEMORY_POLICY, /* dynamic memory's min, max, buffer and weight */
	VM_SETTING_MAC_SPOOFING,
	VM_SETTING_ADD_NIC,
	VM_SETTING_REMOVE_NIC,
	VM_SETTING_APPEND,
	VM_SETTING_START_ACTION,
	VM_SETTING_STOP_ACTION,
	VM_SETTING_RUN_AS, /* who the VMM becomes: its folder's owner changes with it */
	VM_SETTING_CLOUD_INIT, /* --user-data, --ssh-key, --hostname: its seed is remade */
	VM_SETTING_COUNT,
};

/* The `vm set` option that changes it ("--cpus"). */
const char *vm_setting_option(enum vm_setting s);
bool vm_setting_allowed(enum vm_setting s, enum vm_state state);
/* 0, or -1 with an input error saying why and what to do:
 * "VM web1 is Running: --cpus can only be changed while the VM is Off
 *  (nestvm vm stop web1)". */
int vm_setting_check(enum vm_setting s, const char *vm, enum vm_state state, struct nv_err *err);

#endif
