/* Hyper-V cmdlets -> native argv: every cmdlet form maps to exactly the
 * expected native command (whole argv compared), values are checked and
 * converted, and every bad call gets one line naming the cmdlet and the
 * parameter. The translation lives in src/cli (not in libnestvm), so its two
 * files are compiled into this test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/hyperv_alias.c"
#include "cli/hyperv_cmdlets.c"
#include "cli/hyperv_objects.c"

#define EN "\xe2\x80\x93" /* U+2013 en dash */
#define EM "\xe2\x80\x94" /* U+2014 em dash */
#define LDQ "\xe2\x80\x9c" /* U+201C */
#define RDQ "\xe2\x80\x9d" /* U+201D */
#define LSQ "\xe2\x80\x98" /* U+2018 */
#define RSQ "\xe2\x80\x99" /* U+2019 */

/* Splits line on spaces into argv (words here never hold spaces). */
static int split(const char *line, char *buf, size_t len, char **argv, int max)
{
	int n = 0;
	snprintf(buf, len, "%s", line);
	for (char *save = NULL, *w = strtok_r(buf, " ", &save); w && n < max; w = strtok_r(NULL, " ", &save))
		argv[n++] = w;
	argv[n] = NULL;
	return n;
}

/* in translates to exactly want (space-separated), with a note containing
 * note (NULL: no note at all). */
static void ok_note(const char *in, const char *want, const char *note)
{
	char ibuf[1024], wbuf[1024], err[512] = "";
	char *iv[64], *wv[64];
	int ic = split(in, ibuf, sizeof(ibuf), iv, 63);
	int wc = split(want, wbuf, sizeof(wbuf), wv, 63);
	struct hyperv_translation t;
	if (hyperv_translate(ic, iv, &t, err, sizeof(err)) != 0)
		fail_msg("'%s': failed: %s", in, err);
	char got[1024] = "";
	for (int i = 0; i < t.argc; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? " " : "", t.argv[i]);
	if (t.argc != wc)
		fail_msg("'%s': got '%s', wanted '%s'", in, got, want);
	for (int i = 0; i < wc; i++)
		if (strcmp(t.argv[i], wv[i]))
			fail_msg("'%s': got '%s', wanted '%s'", in, got, want);
	assert_null(t.argv[t.argc]);
	if (!note && t.note[0])
		fail_msg("'%s': unexpected note '%s'", in, t.note);
	if (note && !strstr(t.note, note))
		fail_msg("'%s': note '%s' does not contain '%s'", in, t.note, note);
	hyperv_translation_free(&t);
	assert_int_equal(t.argc, 0);
	assert_null(t.argv[0]);
}

static void ok(const char *in, const char *want)
{
	ok_note(in, want, NULL);
}

/* in fails with one line that starts with the cmdlet's name and holds needle;
 * the translation is left empty. */
static void bad_argv(int argc, char **argv, const char *needle)
{
	char err[512] = "";
	struct hyperv_translation t;
	if (hyperv_translate(argc, argv, &t, err, sizeof(err)) >= 0) {
		hyperv_translation_free(&t);
		fail_msg("'%s ...': translated, wanted an error with '%s'", argv[0], needle);
	}
	if (!strstr(err, needle))
		fail_msg("'%s ...': error '%s' does not contain '%s'", argv[0], err, needle);
	assert_null(strchr(err, '\n'));
	const struct hv_cmdlet *cmd = find_cmdlet(argv[0]);
	if (cmd && strncmp(err, cmd->name, strlen(cmd->name)))
		fail_msg("error '%s' does not start with '%s'", err, cmd->name);
	assert_int_equal(t.argc, 0);
	assert_null(t.argv[0]);
}

static void bad(const char *in, const char *needle)
{
	char buf[1024];
	char *v[64];
	int n = split(in, buf, sizeof(buf), v, 63);
	bad_argv(n, v, needle);
}

static void test_new_vm(void **state)
{
	ok("New-VM -Name NestedHost -MemoryStartupBytes 4GB", "vm create NestedHost --memory 4096M");
	ok("New-VM -Name X", "vm create X");
	ok("New-VM -VHDPath /img/d.img -SwitchName lan -MemoryStartupBytes 512MB -Name X",
	   "vm create X --memory 512M --nic switch=lan --disk /img/d.img");
}

static void test_new_vm_positional(void **state)
{
	ok("New-VM NestedHost -MemoryStartupBytes 2GB", "vm create NestedHost --memory 2048M");
	ok("New-VM -VMName X", "vm create X");
}

static void test_new_vm_noops(void **state)
{
	ok_note("New-VM -Name X -Generation 2", "vm create X", "-Generation ignored");
	ok_note("New-VM -Name X -Generation 1 -MemoryStartupBytes 1GB", "vm create X --memory 1024M",
		"no BIOS or UEFI");
	ok_note("New-VM -Name X -NoVHD", "vm create X", "-NoVHD");
}

static void test_new_vm_unsupported(void **state)
{
	bad("New-VM -Name X -Generation 3", "New-VM: -Generation: '3' is not 1 or 2");
	bad("New-VM -Name X -Path /vms", "-Path is not supported");
	bad("New-VM -Name X -BootDevice VHD", "-BootDevice is not supported");
	bad("New-VM -Name X -NewVHDPath /d.vhdx -NewVHDSizeBytes 8GB", "nestvm does not create disks");
}

static void test_get_vm(void **state)
{
	ok("Get-VM", "vm list");
	ok("Get-VM -Name a", "vm list a");
	ok("Get-VM -Name a,b", "vm list a b");
	ok("Get-VM a,b,c", "vm list a b c");
	ok("Get-VM -Name a, b", "vm list a b"); /* PowerShell's "a, b" split by the shell */
	ok("Get-VM -VMName web1", "vm list web1");
}

static void test_get_vm_bad(void **state)
{
	bad("Get-VM -Name Nested*", "wildcards are not supported");
	bad("Get-VM -Name ,", "-Name needs a value");
	bad("Get-VM -Id 1234", "-Id is not supported");
}

static void test_start_stop_remove(void **state)
{
	ok("Start-VM -Name NestedHost", "vm start NestedHost");
	ok("Start-VM NestedHost", "vm start NestedHost");
	ok("Start-VM -VMName NestedHost", "vm start NestedHost");
}

static void test_stop_vm(void **state)
{
	ok("Suspend-VM -Name X", "vm pause X");
	ok("Save-VM -Name X", "vm save X");
	ok("Remove-VMSavedState -VMName X", "vm delete-saved-state X");
	ok("Checkpoint-VM -Name X -SnapshotName cp1", "vm checkpoint X cp1");
	ok("Checkpoint-VM X", "vm checkpoint X");
	ok("Get-VMCheckpoint -VMName X", "vm checkpoint list X");
	ok("Get-VMSnapshot X", "vm checkpoint list X");
	ok("Restore-VMCheckpoint -VMName X -Name cp1", "vm restore X cp1");
	ok("Restore-VMSnapshot -VMName X cp1", "vm restore X cp1");
	ok("Remove-VMCheckpoint -VMName X -Name cp1", "vm checkpoint delete X cp1");
	ok("Resume-VM X", "vm resume X");
	ok_note("Move-VM -Name X -DestinationHost 192.0.2.7", "vm migrate X --to tcp:192.0.2.7:6600",
		"vm receive NAME --listen tcp:0.0.0.0:6600");
	ok_note("Move-VM X -DestinationHost unix:/run/t.sock", "vm migrate X --to unix:/run/t.sock", "--listen unix:/run/t.sock");
	ok_note("Move-VM -Name X -DestinationHost 192.0.2.7 -IncludeStorage", "vm migrate X --copy-disks --to tcp:192.0.2.7:6600",
		"--listen tcp:0.0.0.0:6600");
	bad("Move-VM -Name X -DestinationHost 192.0.2.7 -DestinationStoragePath D:\\VMs", "--storage-path DIR there");
	ok("Stop-VM -Name X", "vm stop X");
	ok("Stop-VM X -TurnOff", "vm stop X --force");
	ok_note("Stop-VM -Name X -Force", "vm stop X", "nestvm never asks");
	ok_note("Stop-VM -Name X -Force -TurnOff", "vm stop X --force", "-Force");
}

static void test_remove_vm(void **state)
{
	ok("Remove-VM -Name X", "vm delete X");
	ok("Remove-VM -Name X -Force", "vm delete X --force");
	ok("Remove-VM X -Force:$false", "vm delete X");
}

static void test_vm_lifecycle_bad(void **state)
{
	ok("Stop-VM -Name X -Save", "vm save X"); /* Hyper-V's other way to Save-VM */
	bad("Stop-VM X -Save -TurnOff", "Stop-VM: -Save and -TurnOff exclude each other");
	bad("Start-VM -Name a,b", "Start-VM: -Name: one name only");
	bad("Start-VM a b", "Start-VM: unexpected argument 'b'");
}

static void test_set_processor(void **state)
{
	ok("Set-VMProcessor -VMName NestedHost -ExposeVirtualizationExtensions $true",
	   "vm set NestedHost --expose-virtualization-extensions on");
	ok("Set-VMProcessor -VMName NestedHost -ExposeVirtualizationExtensions $false",
	   "vm set NestedHost --expose-virtualization-extensions off");
	ok("Set-VMProcessor -VMName X -Count 4", "vm set X --cpus 4");
	ok("Set-VMProcessor -Count 2 -ExposeVirtualizationExtensions true -VMName X",
	   "vm set X --expose-virtualization-extensions on --cpus 2");
	ok("Set-VMProcessor X -ExposeVirtualizationExtensions 1", "vm set X --expose-virtualization-extensions on");
}

static void test_set_processor_bad(void **state)
{
	bad("Set-VMProcessor -VMName X -Count 0", "-Count: '0' is not a positive whole number");
	bad("Set-VMProcessor -VMName X -Count two", "-Count: 'two' is not a positive");
	bad("Set-VMProcessor -VMName X", "Set-VMProcessor: nothing to change");
	bad("Set-VMProcessor -VMName X -Reserve 10", "-Reserve is not supported");
	bad("Set-VMProcessor -VMName X -CompatibilityForMigrationEnabled $true", "does not mask CPU features");
}

/* in is a Get-VM* cmdlet printing objects of kind for the VMs from argv[2]. */
static void objects(const char *in, enum hv_object_kind kind, const char *want)
{
	char ibuf[256], err[512] = "";
	char *iv[16];
	int ic = split(in, ibuf, sizeof(ibuf), iv, 15);
	struct hyperv_translation t;
	if (hyperv_translate(ic, iv, &t, err, sizeof(err)) != 0)
		fail_msg("'%s': failed: %s", in, err);
	char got[256] = "";
	for (int i = t.native_words; i < t.argc; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i > t.native_words ? " " : "",
			 t.argv[i]);
	int objs = t.objects, words = t.native_words;
	hyperv_translation_free(&t);
	assert_int_equal(objs, kind);
	assert_int_equal(words, 2);
	assert_string_equal(got, want);
}

static void test_get_shows(void **state)
{
	objects("Get-VMProcessor -VMName X", HV_OBJ_PROCESSOR, "X");
	objects("Get-VMMemory -VMName X", HV_OBJ_MEMORY, "X");
	objects("Get-VMNetworkAdapter -VMName X", HV_OBJ_ADAPTER, "X");
	objects("Get-VMProcessor X", HV_OBJ_PROCESSOR, "X");
	objects("Get-VM", HV_OBJ_VM, "");
	objects("Get-VM a,b", HV_OBJ_VM, "a b");
	bad("Get-VMNetworkAdapter -VMName X -Name eth0", "-Name is not supported: nestvm's adapters are numbered");
}

static void test_set_memory(void **state)
{
	ok("Set-VMMemory -VMName NestedHost -StartupBytes 4GB -DynamicMemoryEnabled $false",
	   "vm set NestedHost --memory 4096M --dynamic-memory off");
	ok("Set-VMMemory -DynamicMemoryEnabled 0 -VMName X", "vm set X --dynamic-memory off");
	ok("Set-VMMemory -VMName X -DynamicMemoryEnabled $true", "vm set X --dynamic-memory on");
}

static void test_set_memory_unsupported(void **state)
{
	ok("Set-VMMemory -VMName X -DynamicMemoryEnabled $true -MinimumBytes 512MB -MaximumBytes 8GB -Buffer 30 -Priority 80",
	   "vm set X --dynamic-memory on --memory-min 512M --memory-max 8192M --memory-buffer 30 --memory-weight 80");
	ok("Set-VM -Name X -MemoryMinimumBytes 1GB -MemoryMaximumBytes 4GB", "vm set X --memory-min 1024M --memory-max 4096M");
	bad("Set-VMMemory -VMName X -ResourcePoolName p", "-ResourcePoolName is not supported");
}

static void test_adapters(void **state)
{
	ok("Set-VMNetworkAdapter -VMName NestedHost -MacAddressSpoofing On",
	   "vm set NestedHost --mac-spoofing on");
	ok("Set-VMNetworkAdapter -VMNAME X -MacAddressSpoofing off", "vm set X --mac-spoofing off");
	ok("Set-VMNetworkAdapter -VMName X -MacAddressSpoofing ON", "vm set X --mac-spoofing on");
}

static void test_add_adapter(void **state)
{
	ok("Add-VMNetworkAdapter -VMName NestedHost -SwitchName VmNAT", "vm set NestedHost --add-nic switch=VmNAT");
	ok("Add-VMNetworkAdapter X -SwitchName lan -StaticMacAddress 00155D010203",
	   "vm set X --add-nic switch=lan,mac=00:15:5d:01:02:03");
	ok("Add-VMNetworkAdapter -StaticMacAddress 52-54-00-AB-CD-EF -VMName X -SwitchName lan",
	   "vm set X --add-nic switch=lan,mac=52:54:00:ab:cd:ef");
}

static void test_connect_adapter(void **state)
{
	ok_note("Connect-VMNetworkAdapter -VMName X -SwitchName lan", "vm set X --add-nic switch=lan",
		"always connected");
}

static void test_adapters_bad(void **state)
{
	bad("Set-VMNetworkAdapter -VMName X -MacAddressSpoofing yes", "-MacAddressSpoofing: 'yes' is not On or Off");
	bad("Add-VMNetworkAdapter -VMName X -SwitchName lan -StaticMacAddress 00155D0102",
	    "-StaticMacAddress: '00155D0102' is not a MAC address");
	bad("Add-VMNetworkAdapter -VMName X -SwitchName lan -StaticMacAddress 00155D01020304", "not a MAC");
	bad("Add-VMNetworkAdapter -VMName X", "Add-VMNetworkAdapter: -SwitchName is required (usage: nestvm");
	bad("Add-VMNetworkAdapter -VMName X -SwitchName lan -IsLegacy $true", "virtio-net");
}

/* Get-VMNetworkAdapter -VMName X | Set-VMNetworkAdapter -MacAddressSpoofing On */
/* in lacks only the VM a pipeline could give: -2 and the message. */
static void unbound(const char *in, const char *needle)
{
	char ibuf[256], err[512] = "";
	char *iv[16];
	int ic = split(in, ibuf, sizeof(ibuf), iv, 15);
	struct hyperv_translation t;
	int r = hyperv_translate(ic, iv, &t, err, sizeof(err));
	if (r != -2)
		fail_msg("'%s': returned %d (%s), wanted -2", in, r, err);
	if (!strstr(err, needle))
		fail_msg("'%s': error '%s' does not contain '%s'", in, err, needle);
	assert_int_equal(t.argc, 0);
}

/* in with one piped object (vm, adapter) translates to want, or fails
 * with want as the error's needle when ok is false. */
static void bound(const char *in, const char *vm, int adapter, bool ok_, const char *want)
{
	char ibuf[256], err[512] = "";
	char *iv[16];
	int ic = split(in, ibuf, sizeof(ibuf), iv, 15);
	struct hyperv_translation t;
	struct hyperv_binding b = { vm, adapter };
	int r = hyperv_translate_bound(ic, iv, &b, &t, err, sizeof(err));
	if (!ok_) {
		if (r == 0)
			hyperv_translation_free(&t);
		if (r == 0 || !strstr(err, want))
			fail_msg("'%s' bound to %s: wanted an error with '%s', got %d '%s'", in, vm, want, r, err);
		return;
	}
	if (r != 0)
		fail_msg("'%s' bound to %s: failed: %s", in, vm, err);
	char got[256] = "";
	for (int i = 0; i < t.argc; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? " " : "", t.argv[i]);
	hyperv_translation_free(&t);
	if (strcmp(got, want))
		fail_msg("'%s' bound to %s/%d: got '%s', wanted '%s'", in, vm, adapter, got, want);
}

static void test_pipeline(void **state)
{
	unbound("Set-VMNetworkAdapter -MacAddressSpoofing On",
		"Set-VMNetworkAdapter: -VMName is required (nestvm Set-VMNetworkAdapter -VMName X "
		"-MacAddressSpoofing On), or objects piped in");
	unbound("Set-VMProcessor -ExposeVirtualizationExtensions $true", "-VMName is required");
	unbound("Start-VM", "Start-VM: -Name is required");
	unbound("Restore-VMCheckpoint -Name cp", "-VMName is required");
	/* A required parameter that no pipeline gives is an ordinary error. */
	bad("Restore-VMCheckpoint -VMName X", "-Name is required (usage:");
	bad("Get-VMNetworkAdapter -VMName X | Set-VMNetworkAdapter -MacAddressSpoofing On",
	    "'|' inside one command");

	bound("Set-VMNetworkAdapter -MacAddressSpoofing On", "NH", 1, true, "vm set NH --mac-spoofing on --adapter 1");
	bound("Set-VMNetworkAdapter -MacAddressSpoofing Off", "NH", -1, true, "vm set NH --mac-spoofing off");
	bound("Set-VMProcessor -ExposeVirtualizationExtensions $true", "NH", 0, true,
	      "vm set NH --expose-virtualization-extensions on");
	bound("Start-VM", "NH", 0, true, "vm start NH");
	bound("Stop-VM -TurnOff", "NH", -1, true, "vm stop NH --force");
	bound("Restore-VMCheckpoint -Name cp", "NH", -1, true, "vm restore NH cp");
	bound("Get-VMProcessor", "NH", -1, true, "vm show NH");
	bound("Enable-NestedVm", "NH", -1, true, "enable-nested NH");
	bound("Set-VMNetworkAdapter -VMName X -MacAddressSpoofing On", "NH", 0, false,
	      "-VMName given and objects piped in");
	bound("Start-VM X", "NH", -1, false, "-Name given and objects piped in");
	bound("New-VM -Name X", "NH", -1, false, "New-VM: takes no objects from a pipeline");
	bound("Get-NestedVirtStatus", "NH", -1, false, "takes no objects");
}

static void test_set_vm(void **state)
{
	ok("Set-VM -Name X -AutomaticStartAction StartIfRunning", "vm set X --automatic-start-action start-if-running");
	ok("Set-VM X -AutomaticStartAction Nothing -AutomaticStopAction TurnOff",
	   "vm set X --automatic-start-action nothing --automatic-stop-action turn-off");
	ok("set-vm -name X -automaticstopaction shutdown", "vm set X --automatic-stop-action shutdown");
	ok("Set-VM -Name X -AutomaticStopAction Save -AutomaticStartAction Start",
	   "vm set X --automatic-start-action start --automatic-stop-action save");
	ok("Set-VM -Name X -ProcessorCount 2 -MemoryStartupBytes 2GB", "vm set X --cpus 2 --memory 2048M");
	bad("Set-VM -Name X", "nothing to change");
	bad("Set-VM -Name X -AutomaticStopAction Hibernate", "'Hibernate' is not one of TurnOff|ShutDown|Save");
	bad("Set-VM -Name X -AutomaticStartDelay 10", "-AutomaticStartDelay is not supported");
}

static void test_scripts(void **state)
{
	ok(".\\Enable-NestedVM.ps1 -VMNAME " LDQ "NestedHost" RDQ, "enable-nested NestedHost");
	ok(".Enable-NestedVm.ps1 -vmName NestedHost", "enable-nested NestedHost"); /* bash ate the backslash */
	ok("./Enable-NestedVm.ps1 -vmName NestedHost", "enable-nested NestedHost");
	ok("C:\\test\\Enable-NestedVm.ps1 NestedHost", "enable-nested NestedHost");
	ok("Enable-NestedVm.PS1 -VMName a", "enable-nested a");
	ok("Get-NestedVirtStatus.ps1", "status");
	ok(".\\Get-NestedVirtStatus.ps1 -VMName a", "status a");
	bad("Enable-NestedVm.ps1", "-VMName is required");
	/* Only the two published scripts have a .ps1 form. */
	bad("Get-VM.ps1", "'Get-VM.ps1' is not a cmdlet");
	bad(".ps1", "is not a cmdlet");
	assert_int_equal(hyperv_command_kind("Set-VMProcessor.ps1"), HV_CMD_NONE);
	assert_int_equal(hyperv_command_kind(".\\Get-NestedVirtStatus.ps1"), HV_CMD_CMDLET);
}

static void test_command_kinds(void **state)
{
	assert_int_equal(hyperv_command_kind("get-vmprocessor"), HV_CMD_CMDLET);
	assert_int_equal(hyperv_command_kind("FL"), HV_CMD_FORMAT_LIST);
	assert_int_equal(hyperv_command_kind("format-list"), HV_CMD_FORMAT_LIST);
	assert_int_equal(hyperv_command_kind("ft"), HV_CMD_FORMAT_TABLE);
	assert_int_equal(hyperv_command_kind("Format-Table"), HV_CMD_FORMAT_TABLE);
	assert_int_equal(hyperv_command_kind("New-NetIPAddress"), HV_CMD_WINDOWS_ONLY);
	assert_int_equal(hyperv_command_kind("netsh"), HV_CMD_WINDOWS_ONLY);
	assert_int_equal(hyperv_command_kind("get-netadapter"), HV_CMD_WINDOWS_ONLY);
	assert_int_equal(hyperv_command_kind("run"), HV_CMD_NONE);
	assert_int_equal(hyperv_command_kind("Get-Nothing"), HV_CMD_NONE);
	char err[512];
	hyperv_windows_only("new-netipaddress", err, sizeof(err));
	assert_non_null(strstr(err, "New-NetIPAddress is Windows-only: "));
	assert_non_null(strstr(err, "NAT switch"));
	hyperv_windows_only("Netsh", err, sizeof(err));
	assert_non_null(strstr(err, "Netsh is Windows-only: Windows' network shell"));
}

static void test_switches(void **state)
{
	ok("New-VMSwitch -Name VmNAT -SwitchType Internal", "switch create VmNAT --type internal");
	ok("new-vmswitch -name VmNAT -SwitchType Private", "switch create VmNAT --type private");
	ok("New-VMSwitch -Name ext -NetAdapterName eth0", "switch create ext --type external --interface eth0");
	ok("New-VMSwitch lan -SwitchType private", "switch create lan --type private");
	ok_note("New-VMSwitch -Name n -SwitchType NAT -NATSubnetAddress 172.16.1.0/24",
		"switch create n --type nat --subnet 172.16.1.0/24", "NAT switch n created");
}

static void test_get_remove_switch(void **state)
{
	ok("Get-VMSwitch", "switch list");
	ok("Get-VMSwitch -Name lan", "switch show lan");
	ok("Get-VMSwitch lan", "switch show lan");
	ok("Remove-VMSwitch -Name lan", "switch delete lan");
	ok_note("Remove-VMSwitch lan -Force", "switch delete lan", "never asks");
}

static void test_switches_bad(void **state)
{
	bad("New-VMSwitch -Name x", "-SwitchType or -NetAdapterName is required");
	bad("New-VMSwitch -Name x -SwitchType External", "give -NetAdapterName");
	bad("New-VMSwitch -Name x -SwitchType Internal -NetAdapterName eth0", "exclude each other");
	bad("New-VMSwitch -Name x -SwitchType Bridge", "-SwitchType: 'Bridge' is not one of Internal|Private|NAT");
	bad("New-VMSwitch -Name x -SwitchType Private -NATSubnetAddress 10.0.0.0/24", "goes with -SwitchType NAT");
	bad("New-VMSwitch -Name x -NetAdapterName eth0 -AllowManagementOS $true", "-AllowManagementOS is not supported");
	bad("Remove-VMSwitch", "Remove-VMSwitch: -Name is required");
}

static void test_new_netnat(void **state)
{
	static const char want_note[] =
		"NAT switch LocalNAT created with gateway .1, DHCP and DNS: connect the nested VMs to "
		"it (--nic switch=LocalNAT); no internal switch or New-NetIPAddress is needed";
	ok_note("New-NetNat -Name LocalNAT -InternalIPInterfaceAddressPrefix 192.168.100.0/24",
		"switch create LocalNAT --type nat --subnet 192.168.100.0/24", want_note);
	/* As copied from the published page: en dashes and curly quotes. */
	ok_note("New-NetNat " EN "Name LocalNAT " EN "InternalIPInterfaceAddressPrefix " LDQ
		"192.168.100.0/24" RDQ,
		"switch create LocalNAT --type nat --subnet 192.168.100.0/24", want_note);
}

static void test_new_netnat_bad(void **state)
{
	bad("New-NetNat -Name LocalNAT", "-InternalIPInterfaceAddressPrefix is required (usage: nestvm New-NetNat");
	bad("New-NetNat -Name n -InternalIPInterfaceAddressPrefix 10.0.0.0/24 -ExternalIPInterfaceAddressPrefix 1.2.3.0/24",
	    "-ExternalIPInterfaceAddressPrefix is not supported");
}

static void test_nested_scripts(void **state)
{
	ok("Enable-NestedVm -VMName NestedHost", "enable-nested NestedHost");
	ok("Enable-NestedVM -vmName " LDQ "NestedHost" RDQ, "enable-nested NestedHost");
}

static void test_nested_status(void **state)
{
	ok("Get-NestedVirtStatus", "status");
	ok("Get-NestedVirtStatus -VMName a", "status a");
	ok("Get-NestedVirtStatus a,b", "status a b");
	unbound("Enable-NestedVm", "-VMName is required");
}

static void test_case_insensitive(void **state)
{
	ok("set-vmprocessor -vmname X -exposevirtualizationextensions $TRUE",
	   "vm set X --expose-virtualization-extensions on");
	ok("SET-VMPROCESSOR -VMNAME X -EXPOSEVIRTUALIZATIONEXTENSIONS FALSE",
	   "vm set X --expose-virtualization-extensions off");
	ok("sEt-VmMeMoRy -VmNaMe X -sTaRtUpByTeS 4gb", "vm set X --memory 4096M");
	ok_note("new-netnat -name n -internalipinterfaceaddressprefix 10.1.0.0/24",
		"switch create n --type nat --subnet 10.1.0.0/24", "NAT switch n created");
	/* Names keep their case. */
	ok("start-vm MyVM", "vm start MyVM");
}

static void test_colon_values(void **state)
{
	ok("Set-VMProcessor -VMName:X -ExposeVirtualizationExtensions:$true",
	   "vm set X --expose-virtualization-extensions on");
	ok("Set-VMMemory -VMName:X -StartupBytes:2GB -DynamicMemoryEnabled:$false",
	   "vm set X --memory 2048M --dynamic-memory off");
	ok("Stop-VM -Name:X -TurnOff:$true", "vm stop X --force");
	ok("Stop-VM -Name:X -TurnOff:$false", "vm stop X");
	bad("Stop-VM -Name X -TurnOff:maybe", "-TurnOff: 'maybe' is not a boolean");
	bad("Start-VM -Name:", "-Name needs a value");
}

static void test_prefixes(void **state)
{
	ok("Set-VMProcessor -VMName X -Expose true", "vm set X --expose-virtualization-extensions on");
	ok("Set-VMProcessor -VMN X -Cou 3", "vm set X --cpus 3");
}

static void test_prefixes_ambiguous(void **state)
{
	bad("Set-VMProcessor -VMName X -C 3", "-C is ambiguous: -Count, -Compatibility");
	bad("New-VM -N X", "-N is ambiguous");
}

static void test_typographic(void **state)
{
	ok("Set-VMProcessor " EN "VMName NestedHost " EM "ExposeVirtualizationExtensions $true",
	   "vm set NestedHost --expose-virtualization-extensions on");
	ok("New-VM " EM "Name " LSQ "X" RSQ " " EN "MemoryStartupBytes " LDQ "4GB" RDQ, "vm create X --memory 4096M");
}

static void test_curly_quotes(void **state)
{
	ok("Set-VMProcessor -VMName " RDQ "X" RDQ " -ExposeVirtualizationExtensions " LDQ "$true" RDQ,
	   "vm set X --expose-virtualization-extensions on");
	ok("Set-VMProcessor " EN "VMName:" LDQ "X" RDQ " " EN "Count:2", "vm set X --cpus 2");
	bad("Start-VM -Name " LDQ RDQ, "-Name needs a value");
}

static void test_sizes(void **state)
{
	ok("Set-VMMemory -VMName X -StartupBytes 4GB", "vm set X --memory 4096M");
	ok("Set-VMMemory -VMName X -StartupBytes 512MB", "vm set X --memory 512M");
	ok("Set-VMMemory -VMName X -StartupBytes 512mb", "vm set X --memory 512M");
	ok("Set-VMMemory -VMName X -StartupBytes 1TB", "vm set X --memory 1048576M");
	ok("Set-VMMemory -VMName X -StartupBytes 2048KB", "vm set X --memory 2M");
	ok("Set-VMMemory -VMName X -StartupBytes 4294967296", "vm set X --memory 4096M");
	ok("Set-VMMemory -VMName X -StartupBytes 1048576", "vm set X --memory 1M");
	ok("Set-VMMemory -VMName X -StartupBytes 1.5GB", "vm set X --memory 1536M");
	ok("Set-VMMemory -VMName X -StartupBytes 0.5gb", "vm set X --memory 512M");
	ok("Set-VMMemory -VMName X -StartupBytes 1PB", "vm set X --memory 1073741824M");
}

static void test_sizes_not_mib(void **state)
{
	bad("Set-VMMemory -VMName X -StartupBytes 1000000", "-StartupBytes: 1000000 is not a whole number of MiB");
	bad("Set-VMMemory -VMName X -StartupBytes 1500KB", "not a whole number of MiB");
	bad("Set-VMMemory -VMName X -StartupBytes 1.1MB", "not a whole number of MiB");
}

static void test_sizes_garbage(void **state)
{
	bad("Set-VMMemory -VMName X -StartupBytes 4GiB", "-StartupBytes: '4GiB' is not a size");
	bad("Set-VMMemory -VMName X -StartupBytes lots", "'lots' is not a size");
	bad("Set-VMMemory -VMName X -StartupBytes 4G", "'4G' is not a size");
	bad("Set-VMMemory -VMName X -StartupBytes 4.GB", "is not a size");
	bad("Set-VMMemory -VMName X -StartupBytes 4GBs", "is not a size");
	bad("Set-VMMemory -VMName X -StartupBytes 99999999999999999999999", "is not a size");
	bad("Set-VMMemory -VMName X -StartupBytes 99999999999GB", "is not a size");
	bad("Set-VMMemory -VMName X -StartupBytes 0", "-StartupBytes: must be more than 0");
	bad("New-VM -Name X -MemoryStartupBytes -1", "-MemoryStartupBytes: '-1' is not a size");
}

static void test_booleans(void **state)
{
	const char *yes[] = { "$true", "$True", "true", "TRUE", "1" }, *no[] = { "$false", "$FALSE", "false", "0" };
	char in[128];
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		snprintf(in, sizeof(in), "Set-VMProcessor -VMName X -ExposeVirtualizationExtensions %s", yes[i]);
		ok(in, "vm set X --expose-virtualization-extensions on");
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		snprintf(in, sizeof(in), "Set-VMMemory -VMName X -DynamicMemoryEnabled %s", no[i]);
		ok(in, "vm set X --dynamic-memory off");
	}
	bad("Set-VMProcessor -VMName X -ExposeVirtualizationExtensions yes", "'yes' is not a boolean ($true or $false)");
	bad("Set-VMProcessor -VMName X -ExposeVirtualizationExtensions On", "'On' is not a boolean");
}

/* Unquoted $true in bash: the value vanishes. */
static void test_shell_ate_true(void **state)
{
	static const char hint[] = "-ExposeVirtualizationExtensions needs a value: the shell expanded $true";
	bad("Set-VMProcessor -VMName X -ExposeVirtualizationExtensions", hint);
	bad("Set-VMProcessor -VMName X -ExposeVirtualizationExtensions -Count 2", hint);
	bad("Set-VMProcessor -VMName X -ExposeVirtualizationExtensions:", hint);
	bad("Set-VMProcessor -VMName X -ExposeVirtualizationExtensions", "quote it ('$true') or write true");
	bad("Set-VMMemory -VMName X -DynamicMemoryEnabled", "-DynamicMemoryEnabled needs a value: the shell expanded $true or $false");
	bad("Remove-VM -Name X -Force:", "-Force needs a value: the shell expanded");
}

static void test_missing_values(void **state)
{
	/* Other parameters: plainly missing. */
	bad("New-VM -Name X -MemoryStartupBytes", "New-VM: -MemoryStartupBytes needs a value");
	bad("Set-VMProcessor -VMName -Count 2", "Set-VMProcessor: -VMName needs a value");
	/* $VM from a PowerShell script, quoted. */
	bad("Set-VMProcessor -VMName $VM -Count 2", "-VMName: '$VM' is a PowerShell variable");
}

static void test_bad_parameters(void **state)
{
	bad("Set-VMProcessor -VMName X -Frobnicate 1", "Set-VMProcessor: unknown parameter -Frobnicate");
}

static void test_duplicates(void **state)
{
	bad("Set-VMProcessor -VMName X -Count 2 -Count 3", "Set-VMProcessor: -Count given twice");
	bad("Set-VMProcessor -VMName X -vmname Y -Count 3", "-VMName given twice");
	bad("Set-VMProcessor X -VMName Y -Count 3", "-VMName given twice");
	bad("Get-VM -Name a -VMName b", "-Name given twice");
}

static void test_double_dash(void **state)
{
	bad("Set-VMProcessor -VMName X --cpus 2", "'--cpus' is not a cmdlet parameter");
}

static void test_common_parameters(void **state)
{
	bad("Set-VMProcessor -VMName X -Verbose", "-Verbose is not supported: a PowerShell common parameter");
	bad("Remove-VM -Name X -Confirm:$false", "-Confirm is not supported");
	bad("Get-VM -ComputerName host2", "-ComputerName is not supported: nestvm manages this host only");
	bad("Set-VMProcessor -VM $vm -Count 2", "-VM is not supported");
}

static void test_unexpected_positional(void **state)
{
	bad("Get-VMSwitch a b", "unexpected argument 'b'");
}

static void test_is_cmdlet(void **state)
{
	static const char *const yes[] = {
		"New-VM", "get-vm", "START-VM", "Stop-VM", "Remove-VM", "Set-VMProcessor", "Get-VMProcessor",
		"Set-VMMemory", "Get-VMMemory", "Set-VMNetworkAdapter", "Get-VMNetworkAdapter",
		"Add-VMNetworkAdapter", "Connect-VMNetworkAdapter", "New-VMSwitch", "Get-VMSwitch",
		"Remove-VMSwitch", "New-NetNat", "Enable-NestedVm", "Get-NestedVirtStatus", "Set-VM",
	};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!hyperv_is_cmdlet(yes[i]))
			fail_msg("%s is a cmdlet", yes[i]);
	static const char *const no[] = { "vm", "status", "run", "", "Get-VMs", "New-VM2", "Set-VMs",
					  "Get-Help", "New-NetIPAddress", "-Name" };
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (hyperv_is_cmdlet(no[i]))
			fail_msg("%s is not a cmdlet", no[i]);
	assert_false(hyperv_is_cmdlet(NULL));
	char *v[] = { "Get-VMs", NULL };
	bad_argv(1, v, "'Get-VMs' is not a cmdlet nestvm knows");
}

static void test_translation_free(void **state)
{
	char *v[] = { "New-VM", "-Name", "X", "-MemoryStartupBytes", "4GB", "-SwitchName", "lan", NULL };
	struct hyperv_translation t;
	char err[256];
	assert_int_equal(hyperv_translate(7, v, &t, err, sizeof(err)), 0);
	assert_int_equal(t.argc, 7);
	hyperv_translation_free(&t);
	assert_int_equal(t.argc, 0);
	assert_null(t.argv[0]);
	hyperv_translation_free(&t); /* twice is harmless */
}

static void test_failure_frees(void **state)
{
	struct hyperv_translation t;
	char err[256];
	/* A failure after some arguments were pushed frees them. */
	char *w[] = { "Set-VMProcessor", "-VMName", "X", NULL };
	assert_int_equal(hyperv_translate(3, w, &t, err, sizeof(err)), -1);
	assert_int_equal(t.argc, 0);
	/* Arguments are copies: the input can go. */
	char name[] = "web1";
	char *x[] = { "Start-VM", name, NULL };
	assert_int_equal(hyperv_translate(2, x, &t, err, sizeof(err)), 0);
	name[0] = 'X';
	assert_string_equal(t.argv[2], "web1");
	hyperv_translation_free(&t);
}

static void test_long_input(void **state)
{
	char big[5000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	char *v[] = { "Start-VM", big, NULL };
	bad_argv(2, v, "Start-VM: arguments too long");
	char *many[64] = { "Get-VM", "-Name" };
	char list[200] = "";
	for (int i = 0; i < 40; i++)
		strcat(list, "v,");
	strcat(list, "v");
	many[2] = list;
	bad_argv(3, many, "too many arguments");
	char err[8];
	struct hyperv_translation t;
	char *s[] = { "Set-VMProcessor", "-Bogus", NULL };
	assert_int_equal(hyperv_translate(2, s, &t, err, sizeof(err)), -1); /* truncated, no overflow */
	assert_int_equal(strlen(err), sizeof(err) - 1);
}

static void test_help(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(hyperv_help(f, NULL), 0);
	assert_int_equal(hyperv_help(f, "set-vmprocessor"), 0);
	assert_int_equal(hyperv_help(f, "Get-Nothing"), -1);
	fclose(f);
	for (size_t i = 0; i < hv_ncmdlets; i++)
		if (!strstr(buf, hv_cmdlets[i].name))
			fail_msg("Get-Help does not list %s", hv_cmdlets[i].name);
	assert_non_null(strstr(buf, "-> nestvm vm set"));
	assert_non_null(strstr(buf, "-ExposeVirtualizationExtensions"));
	assert_non_null(strstr(buf, "--expose-virtualization-extensions"));
	assert_non_null(strstr(buf, "not supported: nestvm has no CPU reservations"));
	free(buf);
}

/* The table itself: every cmdlet has a native command, an example that
 * translates, at most one positional parameter, and reasons where needed. */
static void test_table(void **state)
{
	for (size_t i = 0; i < hv_ncmdlets; i++) {
		const struct hv_cmdlet *c = &hv_cmdlets[i];
		assert_non_null(c->native[0]);
		int pos = 0, n = 0;
		for (const struct hv_param *p = c->params; p->name; p++, n++) {
			pos += !!(p->flags & HV_POSITIONAL);
			if (p->kind == HV_UNSUPPORTED || p->kind == HV_CHOICE || p->kind == HV_GENERATION)
				assert_non_null(p->text);
		}
		assert_true(pos <= 1);
		assert_true(n <= HV_MAX_PARAMS);
		char buf[512];
		char *v[32];
		int argc = split(c->example, buf, sizeof(buf), v, 31);
		struct hyperv_translation t;
		char err[256];
		if (hyperv_translate(argc, v, &t, err, sizeof(err)))
			fail_msg("example '%s' fails: %s", c->example, err);
		hyperv_translation_free(&t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_vm),
		cmocka_unit_test(test_new_vm_positional),
		cmocka_unit_test(test_new_vm_noops),
		cmocka_unit_test(test_new_vm_unsupported),
		cmocka_unit_test(test_get_vm),
		cmocka_unit_test(test_get_vm_bad),
		cmocka_unit_test(test_start_stop_remove),
		cmocka_unit_test(test_stop_vm),
		cmocka_unit_test(test_remove_vm),
		cmocka_unit_test(test_vm_lifecycle_bad),
		cmocka_unit_test(test_set_processor),
		cmocka_unit_test(test_set_processor_bad),
		cmocka_unit_test(test_get_shows),
		cmocka_unit_test(test_set_memory),
		cmocka_unit_test(test_set_memory_unsupported),
		cmocka_unit_test(test_adapters),
		cmocka_unit_test(test_add_adapter),
		cmocka_unit_test(test_connect_adapter),
		cmocka_unit_test(test_adapters_bad),
		cmocka_unit_test(test_pipeline),
		cmocka_unit_test(test_scripts),
		cmocka_unit_test(test_set_vm),
		cmocka_unit_test(test_command_kinds),
		cmocka_unit_test(test_switches),
		cmocka_unit_test(test_get_remove_switch),
		cmocka_unit_test(test_switches_bad),
		cmocka_unit_test(test_new_netnat),
		cmocka_unit_test(test_new_netnat_bad),
		cmocka_unit_test(test_nested_scripts),
		cmocka_unit_test(test_nested_status),
		cmocka_unit_test(test_case_insensitive),
		cmocka_unit_test(test_colon_values),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_prefixes_ambiguous),
		cmocka_unit_test(test_typographic),
		cmocka_unit_test(test_curly_quotes),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_sizes_not_mib),
		cmocka_unit_test(test_sizes_garbage),
		cmocka_unit_test(test_booleans),
		cmocka_unit_test(test_shell_ate_true),
		cmocka_unit_test(test_missing_values),
		cmocka_unit_test(test_bad_parameters),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_double_dash),
		cmocka_unit_test(test_common_parameters),
		cmocka_unit_test(test_unexpected_positional),
		cmocka_unit_test(test_is_cmdlet),
		cmocka_unit_test(test_translation_free),
		cmocka_unit_test(test_failure_frees),
		cmocka_unit_test(test_long_input),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
