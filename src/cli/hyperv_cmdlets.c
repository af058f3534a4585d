/* The Hyper-V cmdlets nestvm accepts, as data: each cmdlet's native command,
 * its parameters (kind, native option, required, positional) and the
 * parameters Hyper-V has that nestvm cannot honour (an error that says why,
 * never a silent drop). A few hooks handle what a table cannot say. The
 * native options are emitted in table order, whatever order they were typed. */
#include <stdio.h>
#include <string.h>

#include "cli/hyperv_alias_private.h"

#define END { NULL, NULL, 0, 0, NULL, NULL }
#define UNSUP(n, why) { n, NULL, HV_UNSUPPORTED, 0, NULL, why }
#define VMNAME { "VMName", NULL, HV_NAME, HV_REQUIRED | HV_POSITIONAL | HV_PIPELINE, NULL, NULL }
#define VM_NAME { "Name", "VMName", HV_NAME, HV_REQUIRED | HV_POSITIONAL | HV_PIPELINE, NULL, NULL }

static const char ADAPTER_NAMES[] = "nestvm's adapters are numbered, not named "
				    "(nestvm vm set VM --mac-spoofing on --adapter N)";
static const char DYNAMIC_SWITCH[] = "give dynamic memory with Set-VMMemory -DynamicMemoryEnabled "
				     "$true or $false";
static const char NAT_NOTE[] = "NAT switch %s created with gateway .1, DHCP and DNS: connect the "
			       "nested VMs to it (--nic switch=%s); no internal switch or "
			       "New-NetIPAddress is needed";

const struct hv_param hv_common_params[] = {
	UNSUP("VM", "nestvm takes names, not VM objects: give -VMName"),
	UNSUP("ComputerName", "nestvm manages this host only"),
	UNSUP("CimSession", "nestvm manages this host only"),
	UNSUP("Credential", "nestvm manages this host only"),
	UNSUP("AsJob", "nestvm runs each command in the foreground"),
	UNSUP("Passthru", "only nestvm's Get-VM* cmdlets print objects (Get-VM X after the change)"),
	UNSUP("WhatIf", "nestvm has no dry run"),
	UNSUP("Confirm", "nestvm does not ask for confirmation"),
	UNSUP("Verbose", "a PowerShell common parameter"),
	UNSUP("Debug", "a PowerShell common parameter"),
	UNSUP("ErrorAction", "a PowerShell common parameter"),
	UNSUP("WarningAction", "a PowerShell common parameter"),
	UNSUP("InformationAction", "a PowerShell common parameter"),
	UNSUP("ErrorVariable", "a PowerShell common parameter"),
	UNSUP("WarningVariable", "a PowerShell common parameter"),
	UNSUP("InformationVariable", "a PowerShell common parameter"),
	UNSUP("OutVariable", "a PowerShell common parameter"),
	UNSUP("OutBuffer", "a PowerShell common parameter"),
	UNSUP("PipelineVariable", "a PowerShell common parameter"),
	END,
};

/* Hooks. */

/* vm set with nothing to set would do nothing: say so. */
static int finish_set(struct hv_call *c)
{
	if (c->out->argc <= 3)
		return hv_fail(c, "nothing to change (nestvm %s)", c->cmd->example);
	return 0;
}

static int finish_add_nic(struct hv_call *c)
{
	char nic[256];
	const char *mac = hv_value(c, "StaticMacAddress");
	snprintf(nic, sizeof(nic), "switch=%s%s%s", hv_value(c, "SwitchName"), mac ? ",mac=" : "",
		 mac ? mac : "");
	if (hv_push(c, "--add-nic") < 0 || hv_push(c, nic) < 0)
		return -1;
	return 0;
}

/* Stop-VM -Save is Save-VM. */
static int finish_stop(struct hv_call *c)
{
	const char *save = hv_value(c, "Save");
	if (!save || !strcmp(save, "off"))
		return 0;
	const char *off = hv_value(c, "TurnOff");
	if (off && strcmp(off, "off"))
		return hv_fail(c, "-Save and -TurnOff exclude each other");
	return hv_replace(c, 1, "save");
}

/* Objects piped in from Get-VMNetworkAdapter: spoofing on that adapter. */
static int finish_set_adapter(struct hv_call *c)
{
	if (c->bind && c->bind->adapter >= 0) {
		char n[16];
		snprintf(n, sizeof(n), "%d", c->bind->adapter);
		if (hv_value(c, "MacAddressSpoofing") && (hv_push(c, "--adapter") < 0 || hv_push(c, n) < 0))
			return -1;
	}
	return finish_set(c);
}

/* Set-VM's automatic actions, Hyper-V's words to nestvm's. */
static int finish_set_vm(struct hv_call *c)
{
	static const char *const words[][2] = { { "nothing", "nothing" }, { "startifrunning", "start-if-running" },
						{ "start", "start" }, { "turnoff", "turn-off" },
						{ "shutdown", "shutdown" }, { "save", "save" } };
	for (int i = 0; i < c->out->argc; i++)
		for (size_t k = 0; k < sizeof(words) / sizeof(words[0]); k++)
			if (i > 0 && !strcmp(c->out->argv[i], words[k][0]) &&
			    !strncmp(c->out->argv[i - 1], "--automatic-", 12) && hv_replace(c, i, words[k][1]) < 0)
				return -1;
	return finish_set(c);
}

static int finish_get_switch(struct hv_call *c)
{
	return hv_value(c, "Name") ? hv_replace(c, 1, "show") : 0;
}

static int finish_new_switch(struct hv_call *c)
{
	const char *name = hv_value(c, "Name");
	const char *type = hv_value(c, "SwitchType");
	const char *iface = hv_value(c, "NetAdapterName");
	const char *subnet = hv_value(c, "NATSubnetAddress");
	if (iface && type && strcmp(type, "external"))
		return hv_fail(c, "-SwitchType and -NetAdapterName exclude each other "
				  "(-NetAdapterName makes an external switch)");
	if (!iface && type && !strcmp(type, "external"))
		return hv_fail(c, "-SwitchType External: give -NetAdapterName IF (the host's "
				  "interface) instead");
	if (!iface && !type)
		return hv_fail(c, "-SwitchType or -NetAdapterName is required (nestvm %s)",
			       c->cmd->example);
	if (subnet && (!type || strcmp(type, "nat")))
		return hv_fail(c, "-NATSubnetAddress goes with -SwitchType NAT");
	if (hv_push(c, "--type") < 0 || hv_push(c, iface ? "external" : type) < 0)
		return -1;
	if (subnet && (hv_push(c, "--subnet") < 0 || hv_push(c, subnet) < 0))
		return -1;
	if (iface && (hv_push(c, "--interface") < 0 || hv_push(c, iface) < 0))
		return -1;
	if (!strcmp(type ? type : "", "nat"))
		hv_note(c, NAT_NOTE, name, name);
	return 0;
}

static int finish_new_nat(struct hv_call *c)
{
	const char *name = hv_value(c, "Name");
	if (hv_push(c, "--type") < 0 || hv_push(c, "nat") < 0 || hv_push(c, "--subnet") < 0 ||
	    hv_push(c, hv_value(c, "InternalIPInterfaceAddressPrefix")) < 0)
		return -1;
	hv_note(c, NAT_NOTE, name, name);
	return 0;
}

/* The table. */

static const struct hv_param new_vm[] = {
	{ "Name", "VMName", HV_NAME, HV_REQUIRED | HV_POSITIONAL, NULL, NULL },
	{ "MemoryStartupBytes", NULL, HV_SIZE, 0, "--memory", NULL },
	{ "SwitchName", NULL, HV_NAME, 0, "--nic", "switch=" },
	{ "VHDPath", NULL, HV_TEXT, 0, "--disk", NULL },
	{ "Generation", NULL, HV_GENERATION, 0, NULL,
	  "-Generation ignored: nestvm VMs boot a Linux kernel directly (no BIOS or UEFI)" },
	{ "NoVHD", NULL, HV_FLAG, 0, NULL, "-NoVHD: a nestvm VM has no disk unless given -VHDPath" },
	UNSUP("Path", "nestvm keeps its VMs in its state directory"),
	UNSUP("BootDevice", "nestvm boots a Linux kernel directly"),
	UNSUP("NewVHDPath", "nestvm does not create disks: make an image (truncate -s 8G d.img) "
			    "and give -VHDPath"),
	UNSUP("NewVHDSizeBytes", "nestvm does not create disks: make an image (truncate -s 8G "
				 "d.img) and give -VHDPath"),
	UNSUP("Version", "nestvm VMs have no configuration versions"),
	UNSUP("Prerelease", "nestvm VMs have no configuration versions"),
	UNSUP("Experimental", "nestvm VMs have no configuration versions"),
	UNSUP("GuardedStateFromVM", "nestvm has no shielded VMs"),
	END,
};

static const struct hv_param get_vm[] = {
	{ "Name", "VMName", HV_NAMES, HV_POSITIONAL, NULL, NULL },
	UNSUP("Id", "nestvm VMs are known by name"),
	UNSUP("ClusterObject", "nestvm has no clusters"),
	END,
};

static const struct hv_param start_vm[] = { VM_NAME, END };

static const struct hv_param stop_vm[] = {
	VM_NAME,
	{ "TurnOff", NULL, HV_FLAG, 0, "--force", NULL },
	{ "Force", NULL, HV_FLAG, 0, NULL,
	  "-Force: nestvm never asks; the guest is asked to power off and turned off if it has not "
	  "within the timeout (-TurnOff: at once)" },
	{ "Save", NULL, HV_FLAG, HV_MANUAL, NULL, NULL },
	END,
};

static const struct hv_param remove_vm[] = {
	VM_NAME,
	{ "Force", NULL, HV_FLAG, 0, "--force", NULL },
	END,
};

static const struct hv_param set_processor[] = {
	VMNAME,
	{ "ExposeVirtualizationExtensions", NULL, HV_BOOL, 0, "--expose-virtualization-extensions",
	  NULL },
	{ "Count", NULL, HV_COUNT, 0, "--cpus", NULL },
	UNSUP("Reserve", "nestvm has no CPU reservations"),
	UNSUP("Maximum", "nestvm has no CPU limits"),
	UNSUP("RelativeWeight", "nestvm has no CPU weights"),
	UNSUP("CompatibilityForMigrationEnabled",
	      "nestvm does not mask CPU features for moving between different processors: its vm migrate "
	      "wants the same CPU features on the target"),
	UNSUP("CompatibilityForOlderOperatingSystemsEnabled", "nestvm gives the host's CPUID"),
	UNSUP("HwThreadCountPerCore", "nestvm's vCPUs are one thread per core"),
	UNSUP("EnableHostResourceProtection", "not a nestvm setting"),
	UNSUP("MaximumCountPerNumaNode", "nestvm VMs have one NUMA node"),
	UNSUP("MaximumCountPerNumaSocket", "nestvm VMs have one NUMA node"),
	END,
};

static const struct hv_param vm_only[] = { VMNAME, END };

static const struct hv_param set_vm[] = {
	VM_NAME,
	{ "AutomaticStartAction", NULL, HV_CHOICE, 0, "--automatic-start-action", "Nothing|StartIfRunning|Start" },
	{ "AutomaticStopAction", NULL, HV_CHOICE, 0, "--automatic-stop-action", "TurnOff|ShutDown|Save" },
	{ "ProcessorCount", NULL, HV_COUNT, 0, "--cpus", NULL },
	{ "MemoryStartupBytes", NULL, HV_SIZE, 0, "--memory", NULL },
	UNSUP("AutomaticStartDelay", "nestvm starts the VMs one after the other, without delays"),
	UNSUP("AutomaticCriticalErrorAction", "nestvm has no critical-error action"),
	{ "MemoryMinimumBytes", NULL, HV_SIZE, 0, "--memory-min", NULL },
	{ "MemoryMaximumBytes", NULL, HV_SIZE, 0, "--memory-max", NULL },
	UNSUP("DynamicMemory", DYNAMIC_SWITCH),
	UNSUP("StaticMemory", DYNAMIC_SWITCH),
	UNSUP("NewVMName", "nestvm VMs are not renamed (create another)"),
	UNSUP("Notes", "nestvm VMs have no notes"),
	UNSUP("CheckpointType", "nestvm checkpoints are always full (memory, devices, disks)"),
	UNSUP("SnapshotFileLocation", "nestvm keeps checkpoints in its state directory"),
	UNSUP("SmartPagingFilePath", "nestvm has no smart paging"),
	UNSUP("LockOnDisconnect", "nestvm has no console sessions to lock"),
	UNSUP("GuestControlledCacheTypes", "not a nestvm setting"),
	UNSUP("LowMemoryMappedIoSpace", "not a nestvm setting"),
	UNSUP("HighMemoryMappedIoSpace", "not a nestvm setting"),
	UNSUP("EnhancedSessionTransportType", "nestvm has no enhanced sessions"),
	END,
};

static const struct hv_param checkpoint_vm[] = {
	VM_NAME,
	{ "SnapshotName", "CheckpointName", HV_NAME, 0, NULL, NULL },
	END,
};

/* Move-VM -Name X -DestinationHost H: vm migrate X --to tcp:H:6600 (Hyper-V's
 * live-migration port; the target waits there with `vm receive`); an
 * address nestvm's own way (tcp:A:P, unix:PATH) is taken as it is. */
static const struct hv_param move_vm[] = {
	VM_NAME,
	{ "DestinationHost", NULL, HV_TEXT, HV_REQUIRED | HV_MANUAL, NULL, NULL },
	{ "IncludeStorage", NULL, HV_FLAG, 0, "--copy-disks", NULL },
	UNSUP("DestinationStoragePath",
	      "the target says where copied disks go: nestvm vm receive NAME --listen ADDR --storage-path DIR there"),
	END,
};

static int finish_move(struct hv_call *c)
{
	const char *h = hv_value(c, "DestinationHost");
	char to[300];
	if (!strncmp(h, "tcp:", 4) || !strncmp(h, "unix:", 5))
		snprintf(to, sizeof(to), "%s", h);
	else
		snprintf(to, sizeof(to), "tcp:%s:6600", h);
	if (hv_push(c, "--to") < 0 || hv_push(c, to) < 0)
		return -1;
	hv_note(c, "the target waits with: nestvm vm receive NAME --listen %s", !strncmp(to, "tcp:", 4) ? "tcp:0.0.0.0:6600" : to);
	return 0;
}

/* Restore-VMCheckpoint -VMName X -Name CP: the VM, then the checkpoint. */
static const struct hv_param vm_and_checkpoint[] = {
	{ "VMName", NULL, HV_NAME, HV_REQUIRED | HV_PIPELINE, NULL, NULL },
	{ "Name", "SnapshotName", HV_NAME, HV_REQUIRED | HV_POSITIONAL, NULL, NULL },
	END,
};

static const struct hv_param set_memory[] = {
	VMNAME,
	{ "StartupBytes", NULL, HV_SIZE, 0, "--memory", NULL },
	{ "DynamicMemoryEnabled", NULL, HV_BOOL, 0, "--dynamic-memory", NULL },
	{ "MinimumBytes", NULL, HV_SIZE, 0, "--memory-min", NULL },
	{ "MaximumBytes", NULL, HV_SIZE, 0, "--memory-max", NULL },
	{ "Buffer", NULL, HV_COUNT, 0, "--memory-buffer", NULL },
	{ "Priority", NULL, HV_COUNT, 0, "--memory-weight", NULL },
	UNSUP("ResourcePoolName", "nestvm has no resource pools"),
	END,
};

static const struct hv_param set_adapter[] = {
	VMNAME,
	{ "MacAddressSpoofing", NULL, HV_ONOFF, 0, "--mac-spoofing", NULL },
	UNSUP("Name", ADAPTER_NAMES),
	UNSUP("ManagementOS", "nestvm has no host adapters on its switches"),
	UNSUP("StaticMacAddress", "a MAC is set when the adapter is added "
				  "(Add-VMNetworkAdapter -StaticMacAddress)"),
	UNSUP("DynamicMacAddress", "a MAC is set when the adapter is added"),
	UNSUP("DhcpGuard", "not a nestvm switch feature"),
	UNSUP("RouterGuard", "not a nestvm switch feature"),
	UNSUP("PortMirroring", "not a nestvm switch feature"),
	UNSUP("AllowTeaming", "not a nestvm switch feature"),
	UNSUP("MaximumBandwidth", "nestvm has no bandwidth limits"),
	UNSUP("MinimumBandwidthAbsolute", "nestvm has no bandwidth limits"),
	UNSUP("MinimumBandwidthWeight", "nestvm has no bandwidth limits"),
	UNSUP("VmqWeight", "not a nestvm adapter feature"),
	UNSUP("IovWeight", "not a nestvm adapter feature"),
	UNSUP("DeviceNaming", "not a nestvm adapter feature"),
	END,
};

static const struct hv_param get_adapter[] = {
	VMNAME,
	UNSUP("Name", ADAPTER_NAMES),
	UNSUP("All", "nestvm has no host adapters on its switches"),
	UNSUP("ManagementOS", "nestvm has no host adapters on its switches"),
	UNSUP("IsLegacy", "nestvm's adapters are all virtio-net"),
	END,
};

static const struct hv_param add_adapter[] = {
	VMNAME,
	{ "SwitchName", NULL, HV_NAME, HV_REQUIRED | HV_MANUAL, NULL, NULL },
	{ "StaticMacAddress", NULL, HV_MAC, HV_MANUAL, NULL, NULL },
	{ "DynamicMacAddress", NULL, HV_FLAG, 0, NULL,
	  "-DynamicMacAddress: without -StaticMacAddress nestvm derives the MAC from the VM's name" },
	UNSUP("Name", ADAPTER_NAMES),
	UNSUP("IsLegacy", "nestvm's adapters are all virtio-net"),
	UNSUP("ManagementOS", "nestvm has no host adapters on its switches"),
	UNSUP("DeviceNaming", "not a nestvm adapter feature"),
	UNSUP("ResourcePoolName", "nestvm has no resource pools"),
	END,
};

static const struct hv_param connect_adapter[] = {
	VMNAME,
	{ "SwitchName", NULL, HV_NAME, HV_REQUIRED | HV_MANUAL, NULL, NULL },
	UNSUP("Name", ADAPTER_NAMES),
	UNSUP("UseAutomaticConnection", "nestvm adapters name their switch"),
	UNSUP("ManagementOS", "nestvm has no host adapters on its switches"),
	END,
};

static const struct hv_param new_switch[] = {
	{ "Name", "SwitchName", HV_NAME, HV_REQUIRED | HV_POSITIONAL, NULL, NULL },
	{ "SwitchType", NULL, HV_CHOICE, HV_MANUAL, NULL, "Internal|Private|NAT|External" },
	{ "NetAdapterName", NULL, HV_TEXT, HV_MANUAL, NULL, NULL },
	{ "NATSubnetAddress", NULL, HV_TEXT, HV_MANUAL, NULL, NULL },
	UNSUP("AllowManagementOS", "nestvm's external switch does not share the interface with "
				   "the host (use an internal switch for the host)"),
	UNSUP("NetAdapterInterfaceDescription", "give -NetAdapterName, the interface's name"),
	UNSUP("EnableIov", "not a nestvm switch feature"),
	UNSUP("EnablePacketDirect", "not a nestvm switch feature"),
	UNSUP("EnableEmbeddedTeaming", "not a nestvm switch feature"),
	UNSUP("MinimumBandwidthMode", "nestvm has no bandwidth limits"),
	UNSUP("Notes", "nestvm switches have no notes"),
	END,
};

static const struct hv_param get_switch[] = {
	{ "Name", "SwitchName", HV_NAME, HV_POSITIONAL, NULL, NULL },
	UNSUP("Id", "nestvm switches are known by name"),
	UNSUP("SwitchType", "nestvm switch list shows every type"),
	UNSUP("ResourcePoolName", "nestvm has no resource pools"),
	END,
};

static const struct hv_param remove_switch[] = {
	{ "Name", "SwitchName", HV_NAME, HV_REQUIRED | HV_POSITIONAL, NULL, NULL },
	{ "Force", NULL, HV_FLAG, 0, NULL, "-Force: nestvm never asks before deleting a switch" },
	END,
};

static const struct hv_param new_netnat[] = {
	{ "Name", NULL, HV_NAME, HV_REQUIRED | HV_POSITIONAL, NULL, NULL },
	{ "InternalIPInterfaceAddressPrefix", NULL, HV_TEXT, HV_REQUIRED | HV_MANUAL, NULL, NULL },
	UNSUP("ExternalIPInterfaceAddressPrefix", "nestvm's NAT goes out through the host's own "
						  "sockets"),
	UNSUP("InternalRoutingDomainId", "nestvm has no routing domains"),
	UNSUP("IcmpQueryTimeout", "nestvm's NAT has fixed timeouts"),
	UNSUP("TcpEstablishedConnectionTimeout", "nestvm's NAT has fixed timeouts"),
	UNSUP("TcpTransientConnectionTimeout", "nestvm's NAT has fixed timeouts"),
	UNSUP("UdpIdleSessionTimeout", "nestvm's NAT has fixed timeouts"),
	END,
};

static const struct hv_param nested_status[] = {
	{ "VMName", NULL, HV_NAMES, HV_POSITIONAL, NULL, NULL },
	END,
};

const struct hv_cmdlet hv_cmdlets[] = {
	{ "New-VM", { "vm", "create" }, new_vm,
	  "-Name X [-MemoryStartupBytes 4GB] [-SwitchName S] [-VHDPath P] [-Generation 2] [-NoVHD]",
	  "New-VM -Name X -MemoryStartupBytes 4GB", NULL, NULL, HV_OBJ_NONE, false },
	{ "Get-VM", { "vm", "list" }, get_vm, "[-Name X[,Y...]]", "Get-VM -Name X", NULL, NULL,
	  HV_OBJ_VM, false },
	{ "Start-VM", { "vm", "start" }, start_vm, "-Name X", "Start-VM -Name X", NULL, NULL, HV_OBJ_NONE, false },
	{ "Stop-VM", { "vm", "stop" }, stop_vm, "-Name X [-TurnOff | -Save] [-Force]", "Stop-VM -Name X",
	  NULL, finish_stop, HV_OBJ_NONE, false },
	{ "Suspend-VM", { "vm", "pause" }, start_vm, "-Name X", "Suspend-VM -Name X", NULL, NULL, HV_OBJ_NONE, false },
	{ "Resume-VM", { "vm", "resume" }, start_vm, "-Name X", "Resume-VM -Name X", NULL, NULL, HV_OBJ_NONE, false },
	{ "Save-VM", { "vm", "save" }, start_vm, "-Name X", "Save-VM -Name X", NULL, NULL, HV_OBJ_NONE, false },
	{ "Remove-VMSavedState", { "vm", "delete-saved-state" }, vm_only, "-VMName X",
	  "Remove-VMSavedState -VMName X", NULL, NULL, HV_OBJ_NONE, false },
	{ "Checkpoint-VM", { "vm", "checkpoint" }, checkpoint_vm, "-Name X [-SnapshotName CP]",
	  "Checkpoint-VM -Name X -SnapshotName before-upgrade", NULL, NULL, HV_OBJ_NONE, false },
	{ "Get-VMCheckpoint", { "vm", "checkpoint", "list" }, vm_only, "-VMName X", "Get-VMCheckpoint -VMName X",
	  NULL, NULL, HV_OBJ_NONE, false },
	{ "Get-VMSnapshot", { "vm", "checkpoint", "list" }, vm_only, "-VMName X", "Get-VMSnapshot -VMName X",
	  NULL, NULL, HV_OBJ_NONE, false },
	{ "Restore-VMCheckpoint", { "vm", "restore" }, vm_and_checkpoint, "-VMName X -Name CP",
	  "Restore-VMCheckpoint -VMName X -Name before-upgrade", NULL, NULL, HV_OBJ_NONE, false },
	{ "Restore-VMSnapshot", { "vm", "restore" }, vm_and_checkpoint, "-VMName X -Name CP",
	  "Restore-VMSnapshot -VMName X -Name before-upgrade", NULL, NULL, HV_OBJ_NONE, false },
	{ "Remove-VMCheckpoint", { "vm", "checkpoint", "delete" }, vm_and_checkpoint, "-VMName X -Name CP",
	  "Remove-VMCheckpoint -VMName X -Name before-upgrade", NULL, NULL, HV_OBJ_NONE, false },
	{ "Remove-VMSnapshot", { "vm", "checkpoint", "delete" }, vm_and_checkpoint, "-VMName X -Name CP",
	  "Remove-VMSnapshot -VMName X -Name before-upgrade", NULL, NULL, HV_OBJ_NONE, false },
	{ "Move-VM", { "vm", "migrate" }, move_vm, "-Name X -DestinationHost H (an IPv4 address; port 6600)",
	  "Move-VM -Name X -DestinationHost 192.0.2.7", NULL, finish_move, HV_OBJ_NONE, false },
	{ "Remove-VM", { "vm", "delete" }, remove_vm, "-Name X [-Force]", "Remove-VM -Name X -Force",
	  NULL, NULL, HV_OBJ_NONE, false },
	{ "Set-VM", { "vm", "set" }, set_vm,
	  "-Name X [-AutomaticStartAction Nothing|StartIfRunning|Start] [-AutomaticStopAction "
	  "TurnOff|ShutDown|Save] [-ProcessorCount N] [-MemoryStartupBytes 4GB]",
	  "Set-VM -Name X -AutomaticStopAction Save", NULL, finish_set_vm, HV_OBJ_NONE, false },
	{ "Set-VMProcessor", { "vm", "set" }, set_processor,
	  "-VMName X [-ExposeVirtualizationExtensions $true|$false] [-Count N]",
	  "Set-VMProcessor -VMName X -ExposeVirtualizationExtensions true", NULL, finish_set, HV_OBJ_NONE, false },
	{ "Get-VMProcessor", { "vm", "show" }, vm_only, "-VMName X", "Get-VMProcessor -VMName X",
	  NULL, NULL, HV_OBJ_PROCESSOR, false },
	{ "Set-VMMemory", { "vm", "set" }, set_memory,
	  "-VMName X [-StartupBytes 4GB] [-DynamicMemoryEnabled $false]",
	  "Set-VMMemory -VMName X -StartupBytes 4GB -DynamicMemoryEnabled false", NULL, finish_set, HV_OBJ_NONE, false },
	{ "Get-VMMemory", { "vm", "show" }, vm_only, "-VMName X", "Get-VMMemory -VMName X", NULL,
	  NULL, HV_OBJ_MEMORY, false },
	{ "Set-VMNetworkAdapter", { "vm", "set" }, set_adapter, "-VMName X -MacAddressSpoofing On|Off",
	  "Set-VMNetworkAdapter -VMName X -MacAddressSpoofing On", NULL, finish_set_adapter, HV_OBJ_NONE, false },
	{ "Get-VMNetworkAdapter", { "vm", "show" }, get_adapter, "-VMName X",
	  "Get-VMNetworkAdapter -VMName X", NULL, NULL, HV_OBJ_ADAPTER, false },
	{ "Add-VMNetworkAdapter", { "vm", "set" }, add_adapter,
	  "-VMName X -SwitchName S [-StaticMacAddress 00155D010203]",
	  "Add-VMNetworkAdapter -VMName X -SwitchName S", NULL, finish_add_nic, HV_OBJ_NONE, false },
	{ "Connect-VMNetworkAdapter", { "vm", "set" }, connect_adapter, "-VMName X -SwitchName S",
	  "Connect-VMNetworkAdapter -VMName X -SwitchName S",
	  "nestvm adapters are always connected: Connect-VMNetworkAdapter adds one on the switch",
	  finish_add_nic, HV_OBJ_NONE, false },
	{ "New-VMSwitch", { "switch", "create" }, new_switch,
	  "-Name X (-SwitchType Internal|Private|NAT [-NATSubnetAddress CIDR] | -NetAdapterName IF)",
	  "New-VMSwitch -Name X -SwitchType Private", NULL, finish_new_switch, HV_OBJ_NONE, false },
	{ "Get-VMSwitch", { "switch", "list" }, get_switch, "[-Name X]", "Get-VMSwitch -Name X", NULL,
	  finish_get_switch, HV_OBJ_NONE, false },
	{ "Remove-VMSwitch", { "switch", "delete" }, remove_switch, "-Name X [-Force]",
	  "Remove-VMSwitch -Name X", NULL, NULL, HV_OBJ_NONE, false },
	{ "New-NetNat", { "switch", "create" }, new_netnat,
	  "-Name X -InternalIPInterfaceAddressPrefix 192.168.100.0/24",
	  "New-NetNat -Name X -InternalIPInterfaceAddressPrefix 192.168.100.0/24", NULL,
	  finish_new_nat, HV_OBJ_NONE, false },
	{ "Enable-NestedVm", { "enable-nested" }, vm_only, "-VMName X", "Enable-NestedVm -VMName X",
	  NULL, NULL, HV_OBJ_NONE, true },
	{ "Get-NestedVirtStatus", { "status" }, nested_status, "[-VMName X]",
	  "Get-NestedVirtStatus -VMName X", NULL, NULL, HV_OBJ_NONE, true },
};
const size_t hv_ncmdlets = sizeof(hv_cmdlets) / sizeof(hv_cmdlets[0]);

/* Windows' host networking and features: what the pages do on the Windows
 * host around the cmdlets. Each says what nestvm does instead. */
#define HOST_NET "on nestvm, a NAT switch (New-VMSwitch -SwitchType NAT, or New-NetNat) is itself " \
		 "the nested VMs' gateway (.1), DHCP and DNS server, with no host adapter to configure"
const struct hv_windows_only hv_windows_only_commands[] = {
	{ "Get-NetAdapter", "it lists the Windows host's adapters (vEthernet); " HOST_NET },
	{ "New-NetIPAddress", "it gives a Windows host adapter an address; " HOST_NET },
	{ "Set-NetIPAddress", "it changes a Windows host adapter's address; " HOST_NET },
	{ "Remove-NetIPAddress", "it removes a Windows host adapter's address; " HOST_NET },
	{ "Get-NetIPAddress", "it lists the Windows host adapters' addresses; " HOST_NET },
	{ "Set-DnsClientServerAddress", "it sets a Windows adapter's DNS server; " HOST_NET },
	{ "Netsh", "Windows' network shell; " HOST_NET },
	{ "Get-NetNat", "it lists Windows NAT objects; nestvm's NAT is a switch (nestvm switch list)" },
	{ "Remove-NetNat", "it removes a Windows NAT object; nestvm's NAT is a switch (nestvm switch delete NAME)" },
	{ "Install-WindowsFeature", "it installs a Windows Server role; nestvm needs none: KVM is in the "
				    "Linux kernel (nestvm status)" },
	{ "Enable-WindowsOptionalFeature", "it turns a Windows feature on; nestvm needs none: KVM is in "
					   "the Linux kernel (nestvm status)" },
	{ "bcdedit", "it edits the Windows boot configuration; a Linux host needs none for KVM" },
	{ NULL, NULL },
};
