#!/usr/bin/env bash
# `nestvm status` on this host (not in the lab). What the report must say
# depends on the kind of host, read here from /proc/misc, /sys/module and
# /dev/kvm: no KVM in the kernel, KVM without a registered device (this
# project's machine since issue 9: no mknod then), a registered device
# without its node (mknod with the minor from /proc/misc), a paravirtual
# /dev/kvm (kvm_pvm), or real KVM. Everywhere: exit status 0 either way, no
# root needed, valid JSON, 2 for bad options, and recorded hosts (--facts)
# give their verdicts through the same binary.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
NV=${NESTVM:-build/nestvm}
H=tests/unit/data/hosts
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

t_expect "status exits 0" 0 '^This host supports nested virtualization: (YES|NO)$' -- "$NV" status
out=$T_LAST_OUT
first=$(printf '%s\n' "$out" | head -n 1)
case $first in "This host supports nested virtualization: YES" | "This host supports nested virtualization: NO") t_ok "first line is the verdict" ;;
*) t_not_ok "first line is the verdict" "$first" ;; esac
# Every other line is "Key : Value" with the colons in one column.
cols=$(printf '%s\n' "$out" | tail -n +2 | awk '{ i = index($0, " : "); print (i ? i : "none") }' | sort -u)
if [ "$(printf '%s\n' "$cols" | wc -l)" = 1 ] && [ "$cols" != none ]; then t_ok "Key : Value lines aligned"
else t_not_ok "Key : Value lines aligned" "colon columns: $(printf '%s' "$cols" | tr '\n' ' ')"; fi

has() { # NAME REGEX: a line of $out matches
	if printf '%s\n' "$out" | grep -Eq -- "$2"; then t_ok "$1"; else t_not_ok "$1" "no /$2/ in: $(printf '%s' "$out" | tr '\n' '|')"; fi
}
lacks() { # NAME REGEX: no line of $out matches
	if printf '%s\n' "$out" | grep -Eq -- "$2"; then t_not_ok "$1" "$(printf '%s\n' "$out" | grep -E -- "$2" | tr '\n' '|')"; else t_ok "$1"; fi
}
# The kind of host, as the kernel tells it.
minor=$(awk '$2 == "kvm" { print $1; exit }' /proc/misc 2>/dev/null)
if [ ! -r /proc/misc ]; then kind=unknown
elif [ -z "$minor" ] && [ -d /sys/module/kvm ]; then kind=no-device
elif [ -z "$minor" ]; then kind=no-kvm
elif [ ! -e /dev/kvm ]; then kind=node-missing
elif [ -d /sys/module/kvm_pvm ]; then kind=pvm
else kind=kvm; fi
echo "# host kind: $kind${minor:+ (kvm misc minor $minor)}"
case $kind in
no-device | no-kvm)
	has "says NO ($kind)" '^This host supports nested virtualization: NO$'
	has "no KVM device registered" '^KVM device registered +: no \(no kvm in /proc/misc\)$'
	lacks "no mknod: no device to make a node for" 'mknod'
	;;
node-missing | pvm | kvm)
	has "KVM device registered, with its minor" "^KVM device registered +: yes \\(misc minor $minor\\)$" ;;
esac
# The report names the device problem itself where nothing before it
# explains it: with kvm_pvm (it needs no extensions), or on a CPU with
# VT-x/AMD-V whose KVM module is there (else the CPU or the module is the
# reason given).
device_reason=no
if [ -d /sys/module/kvm_pvm ]; then device_reason=yes
elif grep -Eqw 'vmx|svm' /proc/cpuinfo 2>/dev/null &&
	{ [ -n "$minor" ] || [ -d /sys/module/kvm_amd ] || [ -d /sys/module/kvm_intel ]; }; then device_reason=yes; fi
case $kind in
no-device)
	t_expect "json: no KVM device registered" 0 '"kvm_device_registered": false' -- "$NV" status --json
	if [ "$device_reason" = yes ]; then
		has "names the modules and the missing device" '^Reason +: /dev/kvm (is missing|cannot be opened \(.*\)): the kernel has KVM \(kvm.* in /sys/module\) but registered no KVM device \(no kvm in /proc/misc\)'
		has "a fix that can work: the lab" '^Fix +: .*nestvm lab -- nestvm run'
		t_expect "missing --kvm-device path, no device: the true reason" 0 \
			'^Reason +: /nonexistent/kvm is missing: the kernel has KVM' -- "$NV" status --kvm-device /nonexistent/kvm
	fi
	lacks "does not call the missing device paravirtual" 'is kvm_pvm, a paravirtual KVM'
	if [ -d /sys/module/kvm_pvm ]; then
		has "kvm_pvm named as what registered nothing" '^Reason +: .*kvm_pvm did not register one'
		has "backend: kvm_pvm without a device" '^KVM backend +: paravirtual \(kvm_pvm\), but it registered no KVM device'
	fi
	;;
no-kvm)
	has "no KVM module" '^KVM module +: not loaded$' ;;
node-missing)
	if [ "$device_reason" = yes ]; then
		has "mknod with the minor from /proc/misc" "^Fix +: create it as root: mknod /dev/kvm c 10 $minor "
	fi ;;
pvm)
	has "kvm_pvm host says NO" '^This host supports nested virtualization: NO$'
	has "names the paravirtual module" '^KVM module +: kvm_pvm loaded'
	has "explains the paravirtual KVM" '^Reason +: .*kvm_pvm, a paravirtual KVM without hardware extensions: it cannot give VMs VT-x/AMD-V nor boot a stock Linux kernel'
	has "fix points to the lab" '^Fix +: run nestvm inside `nestvm lab`'
	has "backend is paravirtual" '^KVM backend +: paravirtual \(kvm_pvm\)'
	t_expect "json: not supported, paravirtual" 0 '"kvm_backend": "paravirtual"' -- "$NV" status --json
	case $T_LAST_OUT in *'"supported": false'*) t_ok "json: \"supported\": false" ;; *) t_not_ok "json: \"supported\": false" "$T_LAST_OUT" ;; esac
	;;
esac

t_expect "status --json exits 0" 0 '"problems": ' -- "$NV" status --json
got=$(printf '%s' "$T_LAST_OUT" | "$(t_tool json_get)" supported problems | cut -d' ' -f1 | tr '\n' ' ')
if [ "$got" = "boolean array " ]; then t_ok "json parses, with supported and problems"
else t_not_ok "json parses, with supported and problems" "types: $got"; fi
t_expect "missing KVM device is reported" 0 '^/dev/kvm +: missing \(/nonexistent/kvm\)' -- "$NV" status --kvm-device /nonexistent/kvm
if [ "$(id -u)" = 0 ] && [ -e /dev/kvm ] && [ "$(stat -c %a /dev/kvm)" = 600 ]; then
	cp "$NV" "$T/nestvm" && chmod -R a+rX "$T"
	t_expect "runs as a user who may not open /dev/kvm" 0 '^/dev/kvm +: present, not usable by (nobody|uid 65534) \(EACCES' -- \
		"$(t_tool run_as)" 65534 65534 "$T/nestvm" status
	case $T_LAST_OUT in *"usermod -aG kvm nobody"* | *"setfacl -m u:65534:rw /dev/kvm"*) t_ok "tells that user the fix" ;;
	*) t_not_ok "tells that user the fix" "$T_LAST_OUT" ;; esac
fi
if command -v strace >/dev/null && [ -r /dev/kvm ]; then
	strace -f -e trace=ioctl -o "$T/strace" "$NV" status >/dev/null 2>&1
	if grep -q KVM_GET_API_VERSION "$T/strace" && ! grep -q KVM_CREATE_VM "$T/strace"; then t_ok "asks KVM, creates no VM"
	else t_not_ok "asks KVM, creates no VM" "$(grep KVM "$T/strace" | head -n 5 | tr '\n' '|')"; fi
fi

# Recorded hosts through the binary.
t_expect "recorded Intel host, nested=Y: YES" 0 '^This host supports nested virtualization: YES$' -- "$NV" status --facts "$H/intel-vtx-nested-on.txt"
t_expect "recorded Hyper-V VM: NO, with the Hyper-V fix" 0 'ExposeVirtualizationExtensions \$true' -- "$NV" status --facts "$H/hyperv-no-extensions.txt"
t_expect "recorded lab host as JSON" 0 '"supported": true' -- "$NV" status --json --facts "$H/lab-amd-epyc-tcg-nested.txt"
t_expect "recorded kvm_pvm without a device: the true reason" 0 \
	'^Reason +: /dev/kvm is missing: the kernel has KVM \(kvm, kvm_pvm in /sys/module\) but registered no KVM device \(no kvm in /proc/misc\): kvm_pvm did not register one' \
	-- "$NV" status --facts "$H/pvm-builtin-no-device.txt"
out=$T_LAST_OUT
has "recorded kvm_pvm without a device: row says no" '^KVM device registered +: no \(no kvm in /proc/misc\)$'
has "recorded kvm_pvm without a device: fix is the lab" '^Fix +: run VMs inside the emulated lab host: nestvm lab -- nestvm run'
lacks "recorded kvm_pvm without a device: no mknod" 'mknod'
t_expect "recorded kernel without KVM: not loaded" 0 '^KVM module +: not loaded$' -- "$NV" status --facts "$H/no-kvm-in-kernel.txt"
out=$T_LAST_OUT
has "recorded kernel without KVM: no device registered" '^KVM device registered +: no \(no kvm in /proc/misc\)$'
lacks "recorded kernel without KVM: no mknod" 'mknod'
t_expect "recorded registered device, node missing: mknod with minor 57" 0 \
	'^Fix +: create it as root: mknod /dev/kvm c 10 57 && chgrp kvm /dev/kvm && chmod 660 /dev/kvm; or pass /dev/kvm into this container$' \
	-- "$NV" status --facts "$H/amd-device-registered-node-missing.txt"
out=$T_LAST_OUT
has "recorded registered device: row names minor 57" '^KVM device registered +: yes \(misc minor 57\)$'
t_expect "recorded registered device as JSON" 0 '"kvm_misc_minor": 57' -- "$NV" status --json --facts "$H/amd-device-registered-node-missing.txt"
"$NV" status --record >"$T/here.txt" 2>&1
t_expect "--record output loads back" 0 '^This host supports nested virtualization: ' -- "$NV" status --facts "$T/here.txt"

# Bad input: one line, exit 2.
t_expect "unknown option exits 2" 2 "^nestvm: unknown option '--frob'" -- "$NV" status --frob
t_expect "stray argument exits 2" 2 "^nestvm: unexpected 'now'" -- "$NV" status now
t_expect "--facts needs a value" 2 '^nestvm: --facts needs a value' -- "$NV" status --facts
t_expect "unreadable facts file exits 2" 2 "host facts '/nonexistent/h.txt'" -- "$NV" status --facts /nonexistent/h.txt
printf 'cpu_vmx = maybe\n' >"$T/bad.txt"
t_expect "bad facts file exits 2, naming the line" 2 'line 1: bad value' -- "$NV" status --facts "$T/bad.txt"
t_summary
