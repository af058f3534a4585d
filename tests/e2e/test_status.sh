#!/usr/bin/env bash
# End-to-end: `nestvm status` on the lab host (QEMU TCG, -cpu EPYC,+svm,+npt,
# kvm_amd nested=1), which does support nested virtualization: YES, naming
# AMD-V, NPT and kvm_amd nested=1, in text and in JSON. Runs in the lab.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
t_kvm_or_lab nested "$0" "$@"
NV=${NESTVM:-build/nestvm}

t_expect "status exits 0" 0 '' -- "$NV" status
out=$T_LAST_OUT
if [ "$(printf '%s\n' "$out" | head -n 1)" = "This host supports nested virtualization: YES" ]; then
	t_ok "first line says YES"
else
	t_not_ok "first line says YES" "$(printf '%s' "$out" | tr '\n' '|')"
fi
has() { # NAME REGEX: the text report matches
	if printf '%s\n' "$out" | grep -Eq -- "$2"; then t_ok "$1"; else t_not_ok "$1" "no /$2/ in: $(printf '%s' "$out" | tr '\n' '|')"; fi
}
has "names AMD-V" '^Virtualization extension +: AMD-V$'
has "names NPT" '^Second-level paging +: NPT$'
has "names kvm_amd nested=1" '^KVM module +: kvm_amd loaded, nested=1 '
has "/dev/kvm usable" '^/dev/kvm +: present, usable by '
has "KVM offers AMD-V to guests" '^Extensions for guests +: AMD-V with NPT '
has "KVM nested state reported" '^KVM capabilities +: .*nested_state=[1-9][0-9]*'
has "hardware-assisted backend" '^KVM backend +: hardware-assisted \(kvm_amd\)'
has "names the hypervisor under the lab" '^Running under a hypervisor +: yes: QEMU TCG'
if printf '%s\n' "$out" | grep -Eq '^Reason '; then t_not_ok "no Reason lines" "$(printf '%s\n' "$out" | grep -E '^(Reason|Fix) ' | tr '\n' '|')"
else t_ok "no Reason lines"; fi

t_expect "status --json says supported" 0 '"supported": true' -- "$NV" status --json
json=$T_LAST_OUT
for kv in '"kvm_module": "kvm_amd"' '"kvm_nested": "1"' '"virtualization_extension": "AMD-V"' \
	'"second_level_paging": "NPT"' '"guest_extensions": "AMD-V"' '"problems": \[ *\]'; do
	if printf '%s' "$json" | tr -d '\n' | grep -Eq -- "$kv"; then t_ok "json has $kv"
	else t_not_ok "json has $kv" "$(printf '%s' "$json" | tr '\n' ' ')"; fi
done
t_expect "bad option exits 2" 2 "unknown option '--frob'" -- "$NV" status --frob
t_summary
