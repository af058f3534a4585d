#!/usr/bin/env bash
# Hyper-V's published nesting instructions, typed with nestvm in place of
# PowerShell, end to end in the lab (the lab host is the physical host):
# create the VM, give it a NAT network, expose the extensions, fix its
# memory, turn on MAC address spoofing, check with Get-NestedVirtStatus,
# start it; then, in its console, the VM runs its own switch and a nested
# guest that reaches the network; Get-VM NestedHost | Stop-VM powers it off.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
t_kvm_or_lab nested "$0" "$@"
NV=${NESTVM:-build/nestvm}
T=${NESTVM_E2E_L2_TIMEOUT:-1200}
export NESTVM_HOME
NESTVM_HOME=$(mktemp -d /tmp/nv-home.XXXXXX)
tmp=$(mktemp -d)
httpd_pid=''
# The page's host serves on an address of its own (Hyper-V's host has one
# on the NAT's internal switch); a NAT switch keeps guests off the host's
# loopback. An address from TEST-NET-2 stands for it.
HOST_IP=198.51.100.1
cleanup() {
	"$NV" vm stop NestedHost --force >/dev/null 2>&1
	"$NV" switch delete LocalNAT >/dev/null 2>&1
	[ -z "$httpd_pid" ] || kill "$httpd_pid" 2>/dev/null
	ip addr del "$HOST_IP/32" dev lo 2>/dev/null
	rm -rf "$NESTVM_HOME" "$tmp"
}
trap cleanup EXIT
ip addr add "$HOST_IP/32" dev lo || t_not_ok "give the host an address of its own" "ip addr add failed"
mkdir -p "$tmp/www" && echo hello-from-the-physical-host >"$tmp/www/index.html"
busybox httpd -f -p "$HOST_IP:8000" -h "$tmp/www" &
httpd_pid=$!

# The reference page's commands, in its order (quotes as bash needs them).
t_expect "New-VM" 0 'created' -- "$NV" New-VM -Name NestedHost -MemoryStartupBytes 1GB
t_expect "New-NetNat with the page's dashes and quotes" 0 '' -- \
	"$NV" New-NetNat –Name LocalNAT –InternalIPInterfaceAddressPrefix “192.168.100.0/24”
t_expect "Add-VMNetworkAdapter" 0 '' -- "$NV" Add-VMNetworkAdapter -VMName NestedHost -SwitchName LocalNAT
t_expect "Get-NestedVirtStatus says NO before (extensions off)" 0 \
	'The virtual machine NestedHost supports nested virtualization: NO' -- \
	"$NV" Get-NestedVirtStatus -VMName NestedHost
t_expect "Set-VMProcessor -ExposeVirtualizationExtensions \$true" 0 '' -- \
	"$NV" Set-VMProcessor -VMName NestedHost -ExposeVirtualizationExtensions '$true'
t_expect "Set-VMMemory -StartupBytes 2GB -DynamicMemoryEnabled \$false" 0 '' -- \
	"$NV" Set-VMMemory -VMName NestedHost -StartupBytes 2GB -DynamicMemoryEnabled '$false'
t_expect "Get-VMNetworkAdapter | Set-VMNetworkAdapter -MacAddressSpoofing On (the pages' pipeline)" 0 '' -- \
	bash -c '"$1" Get-VMNetworkAdapter -VMName NestedHost | "$1" Set-VMNetworkAdapter -MacAddressSpoofing On' _ "$NV"
t_expect "Get-VMProcessor | FL * shows the extensions exposed" 0 '^ExposeVirtualizationExtensions : True$' -- \
	"$NV" -Command 'Get-VMProcessor -VMName NestedHost | FL *'
t_expect "Get-NestedVirtStatus says YES" 0 \
	'The virtual machine NestedHost supports nested virtualization: YES' -- \
	"$NV" Get-NestedVirtStatus -VMName NestedHost
# Not on the page: a quiet kernel log, as in every lab test (a full log on the
# serial console is the many-exits load the lab's emulated SVM stalls under).
t_expect "vm set NestedHost --append quiet (the lab's measure)" 0 '' -- "$NV" vm set NestedHost --append quiet
t_expect "Start-VM" 0 'started' -- "$NV" Start-VM NestedHost
t_expect "Get-VM | FT shows it Running" 0 '^NestedHost +Running' -- "$NV" -Command 'Get-VM | Format-Table'

# In the VM, as its administrator would: a switch on its adapter and a
# nested guest behind it (spoofing is on, so its frames pass LocalNAT).
log=$NESTVM_HOME/vms/NestedHost/console.log
vm_wait_prompt NestedHost "$T"
{
	sleep 2
	printf '%s\r' "nestvm switch create ext --type external --interface eth0 && nestvm run --name nested --nic switch=ext -- sh -c 'wget -q -O - http://$HOST_IP:8000/; echo nested-status=\$?'"
	sleep 3
} | "$NV" vm console NestedHost >/dev/null 2>&1
for _ in $(seq "$T"); do grep -q 'nested-status=[0-9]' "$log" && break; sleep 1; done
out=$(cat "$log")
t_has "the nested guest fetches the physical host's page" '^hello-from-the-physical-host'
t_has "the nested guest's command succeeds" 'nested-status=0'
t_expect "Get-VM NestedHost | Stop-VM powers it off (the VM from the pipe)" 0 '' -- \
	bash -c '"$1" Get-VM NestedHost | "$1" Stop-VM' _ "$NV"
t_expect "Get-VM | FT shows it Off" 0 '^NestedHost +Off' -- "$NV" -Command 'Get-VM | FT'
t_summary
