#!/usr/bin/env bash
# Hyper-V's published nested-virtualization walk-through, typed at nestvm
# through the real binary: New-VM, Set-VMProcessor
# -ExposeVirtualizationExtensions, Set-VMMemory, New-VMSwitch,
# Add-VMNetworkAdapter, Set-VMNetworkAdapter -MacAddressSpoofing, then
# Get-VMProcessor and the native `vm show --json` agree; New-NetNat as copied
# from the page (en dashes, curly quotes) makes a NAT switch; bad calls exit 2
# with one line. Then the pipelines: Get-VM* objects into the next cmdlet
# (the pages' spoofing line on every adapter), Format-List, the scripts'
# .ps1 names, nestvm -Command with a line as printed, Windows-only
# commands refused, hostile piped input. No VM is started. State lives in
# a temporary NESTVM_HOME.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
NV=${NESTVM_BIN:-${NESTVM:-build/nestvm}}
T=$(mktemp -d)
export NESTVM_HOME=$T/home

cleanup() {
	for s in VmNAT LocalNAT p2sw; do "$NV" switch delete "$s" >/dev/null 2>&1; done
	for f in "$NESTVM_HOME"/switches/*/daemon.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT

if [ ! -x "$NV" ]; then
	t_not_ok "binary" "need $NV (make)"
	t_summary
	exit 1
fi

EN=$'\xe2\x80\x93' # the en dash and curly quotes the published page carries
LDQ=$'\xe2\x80\x9c'
RDQ=$'\xe2\x80\x9d'

# json_has NAME REGEX: the VM's JSON, spaces and newlines removed, matches.
json_has() {
	local j
	j=$("$NV" vm show NestedHost --json 2>/dev/null | tr -d ' \n\t')
	if printf '%s' "$j" | grep -Eq -- "$2"; then t_ok "$1"
	else t_not_ok "$1" "no /$2/ in: $j"; fi
}

# The walk-through, with $true/$false quoted as a bash user must.
t_expect "New-VM -Name NestedHost -MemoryStartupBytes 4GB" 0 "NestedHost" -- \
	"$NV" New-VM -Name NestedHost -MemoryStartupBytes 4GB
t_expect "Set-VMProcessor -ExposeVirtualizationExtensions '\$true'" 0 "" -- \
	"$NV" Set-VMProcessor -VMName NestedHost -ExposeVirtualizationExtensions '$true'
t_expect "Set-VMMemory -StartupBytes 4GB -DynamicMemoryEnabled '\$false'" 0 "" -- \
	"$NV" Set-VMMemory -VMName NestedHost -StartupBytes 4GB -DynamicMemoryEnabled '$false'
t_expect "New-VMSwitch -Name VmNAT -SwitchType Private" 0 "VmNAT" -- \
	"$NV" New-VMSwitch -Name VmNAT -SwitchType Private
t_expect "Add-VMNetworkAdapter -VMName NestedHost -SwitchName VmNAT" 0 "" -- \
	"$NV" Add-VMNetworkAdapter -VMName NestedHost -SwitchName VmNAT
t_expect "Set-VMNetworkAdapter -VMName NestedHost -MacAddressSpoofing On" 0 "" -- \
	"$NV" Set-VMNetworkAdapter -VMName NestedHost -MacAddressSpoofing On
t_expect "Get-VMProcessor | FL * shows the extensions on" 0 "^ExposeVirtualizationExtensions : True$" -- \
	bash -c '"$1" Get-VMProcessor -VMName NestedHost | "$1" FL "*"' _ "$NV"
t_expect "Get-VM lists NestedHost" 0 "NestedHost" -- "$NV" Get-VM
t_expect "Get-VM -Name NestedHost" 0 "NestedHost" -- "$NV" get-vm -name NestedHost

json_has "vm show --json: 4096 MiB" '"memory_mib":4096[,}]'
json_has "vm show --json: extensions exposed" '"expose_virtualization_extensions":true'
json_has "vm show --json: fixed memory" '"dynamic_memory_enabled":false'
json_has "vm show --json: adapter on VmNAT with spoofing" '"switch":"VmNAT"[^}]*"mac_spoofing":true'

# Case, -Param:value, positional name, typographic dashes and quotes.
t_expect "set-vmprocessor NestedHost -count:2 (any case, colon)" 0 "" -- \
	"$NV" set-vmprocessor NestedHost -count:2
json_has "vm show --json: 2 CPUs" '"cpus":2[,}]'
t_expect "Set-VMProcessor with en dashes and curly quotes" 0 "" -- \
	"$NV" Set-VMProcessor "${EN}VMName" "${LDQ}NestedHost${RDQ}" "${EN}ExposeVirtualizationExtensions" "${LDQ}\$false${RDQ}"
json_has "vm show --json: extensions off again" '"expose_virtualization_extensions":false'

# New-NetNat exactly as the page prints it.
t_expect "New-NetNat ${EN}Name LocalNAT ${EN}InternalIPInterfaceAddressPrefix ${LDQ}192.168.100.0/24${RDQ}" 0 \
	"NAT switch LocalNAT created with gateway .1, DHCP and DNS" -- \
	"$NV" New-NetNat "${EN}Name" LocalNAT "${EN}InternalIPInterfaceAddressPrefix" "${LDQ}192.168.100.0/24${RDQ}"
t_expect "switch show LocalNAT: a NAT switch on 192.168.100.0/24" 0 "192\.168\.100\." -- \
	"$NV" switch show LocalNAT
t_expect "Get-VMSwitch lists both" 0 "LocalNAT" -- "$NV" Get-VMSwitch
out=$T_LAST_OUT
t_has "Get-VMSwitch: LocalNAT is nat" "LocalNAT +nat"
t_has "Get-VMSwitch: VmNAT is private" "VmNAT +private"
t_expect "Get-VMSwitch -Name LocalNAT" 0 "nat" -- "$NV" Get-VMSwitch -Name LocalNAT
t_expect "Get-NestedVirtStatus" "$("$NV" status >/dev/null 2>&1; echo $?)" "nested virtualization" -- \
	"$NV" Get-NestedVirtStatus
t_expect "Get-Help lists the cmdlets" 0 "New-NetNat" -- "$NV" Get-Help
t_expect "Get-Help Set-VMProcessor" 0 "--expose-virtualization-extensions" -- "$NV" Get-Help Set-VMProcessor

# Bad calls: one line, status 2, naming the cmdlet and the parameter.
t_bad "unquoted \$true (the shell leaves nothing)" \
	"Set-VMProcessor: -ExposeVirtualizationExtensions needs a value: the shell expanded \\\$true" \
	"$NV" Set-VMProcessor -VMName NestedHost -ExposeVirtualizationExtensions
t_bad "-Param:\$true unquoted" "-DynamicMemoryEnabled needs a value: the shell expanded" \
	"$NV" Set-VMMemory -VMName NestedHost -DynamicMemoryEnabled:
t_bad "Set-VMNetworkAdapter without -VMName and nothing piped in" \
	"Set-VMNetworkAdapter: -VMName is required .*or objects piped in" \
	"$NV" Set-VMNetworkAdapter -MacAddressSpoofing On
t_bad "unknown parameter" "New-VM: unknown parameter -Colour" "$NV" New-VM -Name x -Colour red
t_bad "unsupported -Path" "New-VM: -Path is not supported" "$NV" New-VM -Name x -Path /vms
t_bad "unsupported -ResourcePoolName" "Set-VMMemory: -ResourcePoolName is not supported" \
	"$NV" Set-VMMemory -VMName NestedHost -ResourcePoolName p
t_bad "parameter given twice" "-Count given twice" "$NV" Set-VMProcessor -VMName NestedHost -Count 1 -Count 2
t_bad "size not whole MiB" "not a whole number of MiB" "$NV" Set-VMMemory -VMName NestedHost -StartupBytes 1000000
t_bad "size garbage" "'4GiB' is not a size" "$NV" New-VM -Name y -MemoryStartupBytes 4GiB
t_bad "MacAddressSpoofing yes" "'yes' is not On or Off" "$NV" Set-VMNetworkAdapter -VMName NestedHost -MacAddressSpoofing yes
t_bad "New-NetNat without prefix" "-InternalIPInterfaceAddressPrefix is required" "$NV" New-NetNat -Name n2
t_bad "Get-Help of an unknown cmdlet" "Get-Help: 'Get-Nothing' is not a cmdlet" "$NV" Get-Help Get-Nothing
t_bad "-MaximumBytes below the startup memory" "the maximum must be the startup memory" \
	"$NV" Set-VMMemory -VMName NestedHost -DynamicMemoryEnabled '$true' -MaximumBytes 16MB
t_expect "Get-VM after the bad calls: still one VM, no x or y" 0 "" -- "$NV" vm list
if printf '%s\n' "$T_LAST_OUT" | grep -Eq '^(x|y) '; then t_not_ok "bad calls created nothing" "$T_LAST_OUT"
else t_ok "bad calls created nothing"; fi

# Pipelines. P2 has two adapters, spoofing off on both.
"$NV" switch create p2sw --type private >/dev/null 2>&1
"$NV" vm create P2 --nic switch=p2sw --nic switch=p2sw >/dev/null 2>&1
spoofing() { "$NV" vm show P2 --json 2>/dev/null | tr -d ' \n\t' | grep -o '"mac_spoofing":[a-z]*' | tr '\n' ' '; }
if [ "$(spoofing)" = '"mac_spoofing":false "mac_spoofing":false ' ]; then t_ok "P2: two adapters, spoofing off"
else t_not_ok "P2: two adapters, spoofing off" "$(spoofing)"; fi
t_expect "Get-VMNetworkAdapter down a pipe: one object per adapter" 0 \
	'^\{"PSTypeName":"VMNetworkAdapter","VMName":"P2","Name":"Network Adapter","AdapterIndex":1,' -- \
	"$NV" Get-VMNetworkAdapter -VMName P2
t_expect "the pages' line: Get-VMNetworkAdapter | Set-VMNetworkAdapter -MacAddressSpoofing On" 0 "eth1" -- \
	bash -c '"$1" Get-VMNetworkAdapter -VMName P2 | "$1" Set-VMNetworkAdapter -MacAddressSpoofing On' _ "$NV"
if [ "$(spoofing)" = '"mac_spoofing":true "mac_spoofing":true ' ]; then t_ok "spoofing on for every adapter of P2"
else t_not_ok "spoofing on for every adapter of P2" "$(spoofing)"; fi
json_has "NestedHost's adapter as before" '"switch":"VmNAT"[^}]*"mac_spoofing":true'
t_expect "the same as one quoted word '|', then Off" 0 "eth0" -- \
	"$NV" Get-VMNetworkAdapter -VMName P2 '|' Set-VMNetworkAdapter -MacAddressSpoofing Off
if [ "$(spoofing)" = '"mac_spoofing":false "mac_spoofing":false ' ]; then t_ok "spoofing off again"
else t_not_ok "spoofing off again" "$(spoofing)"; fi
t_expect "Get-VM P2 | Set-VMProcessor -Count 3" 0 "" -- \
	bash -c '"$1" Get-VM P2 | "$1" Set-VMProcessor -Count 3' _ "$NV"
t_expect "Get-VM P2 | Get-VMProcessor | FL Count" 0 "^Count : 3$" -- \
	bash -c '"$1" Get-VM P2 | "$1" Get-VMProcessor | "$1" FL Count' _ "$NV"
t_expect "Get-VM | Get-VMMemory | FL: both VMs" 0 "" -- \
	bash -c '"$1" Get-VM | "$1" Get-VMMemory | "$1" Format-List VMName,Startup' _ "$NV"
n=$(printf '%s\n' "$T_LAST_OUT" | grep -cE '^VMName  : (NestedHost|P2)$')
if [ "$n" = 2 ]; then t_ok "Format-List: one block per VM"; else t_not_ok "Format-List: one block per VM" "$T_LAST_OUT"; fi
t_has_out() { if printf '%s\n' "$T_LAST_OUT" | grep -Eq -- "$2"; then t_ok "$1"; else t_not_ok "$1" "$T_LAST_OUT"; fi; }
t_has_out "Format-List: Startup in bytes" '^Startup : 4294967296$'
# FL * unquoted in a folder with files: the shell's expansion is noticed.
mkdir -p "$T/files" && touch "$T/files/a.txt" "$T/files/b.txt"
t_expect "FL * expanded by the shell into file names" 0 "^ExposeVirtualizationExtensions : False$" -- \
	bash -c 'cd "$2" && "$1" Get-VMProcessor -VMName P2 | "$1" FL *' _ "$(readlink -f "$NV")" "$T/files"
t_has_out "FL * expanded: says so" "the shell turned \* into file names"
t_expect "a table on a terminal" 0 "^Name +State +ProcessorCount +MemoryAssigned\(M\) +Uptime" -- \
	script -qec "$NV Get-VM P2" /dev/null
t_has_out "the table's row" "^P2 +Off +3 +0 "
t_expect "nestvm -Command: a line as printed (\$true, curly quotes)" 0 "" -- \
	"$NV" -Command "Set-VMProcessor -VMNAME ${LDQ}P2${RDQ} -ExposeVirtualizationExtensions \$true"
t_expect "nestvm -Command with a pipeline and FL *" 0 "^ExposeVirtualizationExtensions : True$" -- \
	"$NV" -Command 'Get-VMProcessor -VMName P2 | FL *'
t_expect "nestvm -Command: a lost line break runs both commands" 0 "switch LocalNAT2 created" -- \
	"$NV" -Command "New-VMSwitch -Name VmNAT2 -SwitchType Private New-NetNat ${EN}Name LocalNAT2 ${EN}InternalIPInterfaceAddressPrefix ${LDQ}10.9.0.0/24${RDQ}"
t_has_out "the first one too" "switch VmNAT2 created"
"$NV" switch delete VmNAT2 >/dev/null 2>&1; "$NV" switch delete LocalNAT2 >/dev/null 2>&1
t_expect "the script by its name: .\\Enable-NestedVm.ps1 (bash leaves .Enable-NestedVm.ps1)" 1 \
	"This will set the following for VM P2" -- "$NV" .\Enable-NestedVm.ps1 -vmName "${LDQ}P2${RDQ}"
t_expect "Get-NestedVirtStatus.ps1" 0 "nested virtualization" -- "$NV" Get-NestedVirtStatus.ps1 -VMNAME P2
t_bad "New-NetIPAddress is Windows-only" "^nestvm: New-NetIPAddress is Windows-only: .*NAT switch" \
	"$NV" New-NetIPAddress -IPAddress 192.168.100.1 -PrefixLength 24
t_bad "Netsh is Windows-only" "Netsh is Windows-only" "$NV" -Command 'Netsh interface ip add dnsserver "Ethernet"'
t_bad "Format-List with nothing piped in" "Format-List shows the objects a nestvm Get-VM\* cmdlet prints" "$NV" FL '*'
t_bad "Start-VM with nothing piped in" "Start-VM: -Name is required" "$NV" Start-VM
# Hostile or wrong piped input: one line, status 2, nothing changed.
hostile() {
	local name=$1 input=$2 re=$3
	local err st
	err=$(printf "$input" | "$NV" Set-VMProcessor -Count 7 2>&1 >/dev/null) && st=0 || st=$?
	if [ "$st" = 2 ] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] && printf '%s' "$err" | grep -Eq -- "$re"
	then t_ok "$name: $err"; else t_not_ok "$name" "status $st: $err"; fi
}
hostile "piped garbage" 'garbage\n' "standard input, line 1: not an object"
hostile "piped object naming no VM" '{"Name":"P2"}\n' "names no VM"
hostile "piped VM name with a path" '{"VMName":"../P2"}\n' "not a VM name"
hostile "piped VM that does not exist" '{"VMName":"NoSuchVM"}\n' "NoSuchVM"
hostile "an adapter without its index" '{"PSTypeName":"VMNetworkAdapter","VMName":"P2"}\n' "AdapterIndex"
t_expect "P2 still has 3 CPUs" 0 '"cpus": *3' -- "$NV" vm show P2 --json
"$NV" vm delete P2 --force >/dev/null 2>&1

# Clean up through the cmdlets.
t_expect "Remove-VM -Name NestedHost -Force" 0 "" -- "$NV" Remove-VM -Name NestedHost -Force
t_expect "Remove-VMSwitch -Name VmNAT" 0 "" -- "$NV" Remove-VMSwitch -Name VmNAT
t_expect "switch delete LocalNAT" 0 "" -- "$NV" switch delete LocalNAT
t_expect "Get-VMSwitch: none left" 0 "" -- "$NV" Get-VMSwitch
if printf '%s\n' "$T_LAST_OUT" | grep -Eq 'VmNAT|LocalNAT'; then t_not_ok "switches deleted" "$T_LAST_OUT"
else t_ok "switches deleted"; fi
t_summary
