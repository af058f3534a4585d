#!/usr/bin/env bash
# `nestvm status` on this host (not in the lab). On a kvm_pvm machine such as
# this project's own, the answer is NO and the report explains the
# paravirtual KVM. Everywhere: exit status 0 either way, no root needed,
# valid JSON, 2 for bad options, and recorded hosts (--facts) give their
# verdicts through the same binary.
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

if [ -d /sys/module/kvm_pvm ]; then
	has() { # NAME REGEX
		if printf '%s\n' "$out" | grep -Eq -- "$2"; then t_ok "$1"; else t_not_ok "$1" "no /$2/ in: $(printf '%s' "$out" | tr '\n' '|')"; fi
	}
	has "kvm_pvm host says NO" '^This host supports nested virtualization: NO$'
	has "names the paravirtual module" '^KVM module +: kvm_pvm loaded'
	has "explains the paravirtual KVM" '^Reason +: .*kvm_pvm, a paravirtual KVM without hardware extensions: it cannot give VMs VT-x/AMD-V nor boot a stock Linux kernel'
	has "fix points to the lab" '^Fix +: run nestvm inside `nestvm lab`'
	has "backend is paravirtual" '^KVM backend +: paravirtual \(kvm_pvm\)'
	t_expect "json: not supported, paravirtual" 0 '"kvm_backend": "paravirtual"' -- "$NV" status --json
	case $T_LAST_OUT in *'"supported": false'*) t_ok "json: \"supported\": false" ;; *) t_not_ok "json: \"supported\": false" "$T_LAST_OUT" ;; esac
fi

t_expect "status --json exits 0" 0 '"problems": ' -- "$NV" status --json
if command -v python3 >/dev/null; then
	if printf '%s' "$T_LAST_OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert isinstance(d["supported"], bool) and isinstance(d["problems"], list)' 2>"$T/py"; then
		t_ok "json parses, with supported and problems"
	else t_not_ok "json parses, with supported and problems" "$(tr '\n' '|' <"$T/py")"; fi
fi
t_expect "missing KVM device is reported" 0 '^/dev/kvm +: missing \(/nonexistent/kvm\)' -- "$NV" status --kvm-device /nonexistent/kvm
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && [ -e /dev/kvm ] && [ "$(stat -c %a /dev/kvm)" = 600 ]; then
	cp "$NV" "$T/nestvm" && chmod -R a+rX "$T"
	t_expect "runs as a user who may not open /dev/kvm" 0 '^/dev/kvm +: present, not usable by nobody \(EACCES' -- \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$T/nestvm" status
	case $T_LAST_OUT in *"usermod -aG kvm nobody"*) t_ok "tells that user the fix" ;; *) t_not_ok "tells that user the fix" "$T_LAST_OUT" ;; esac
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
