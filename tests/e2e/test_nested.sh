#!/usr/bin/env bash
# Nested virtualization, end to end in the lab (the lab host is L1): an L2
# nestvm guest with the extensions exposed runs its own nestvm and an L3
# guest; without them it cannot. Every level is bounded by a timeout so a
# hang becomes a clear failure. L3 boots are slow under emulation (about a
# minute), so one L3 boot checks several things.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
# A lab host wedged by its emulated SVM (lab/README.md) is given up after 4
# minutes rather than 7 (it takes 20-30 s in a lab), then tried again.
export NESTVM_E2E_LAB_TIMEOUT=${NESTVM_E2E_LAB_TIMEOUT:-240}
t_kvm_or_lab nested "$0" "$@"
NV=${NESTVM:-build/nestvm}
L2_TIMEOUT=${NESTVM_E2E_L2_TIMEOUT:-1200}
L3_TIMEOUT=${NESTVM_E2E_L3_TIMEOUT:-900}


# --- extensions on: L2 sees AMD-V, loads kvm-amd, runs an L3 ---------------
out=$(timeout "$L2_TIMEOUT" "$NV" run --nested --memory 1G -- sh -c "
	echo L2-svm-cpus=\$(grep -cw svm /proc/cpuinfo)
	[ -d /sys/module/kvm_amd ] && echo L2-kvm-amd-loaded
	[ -c /dev/kvm ] && echo L2-dev-kvm
	nestvm status | head -n 1
	timeout $L3_TIMEOUT nestvm run --memory 256M -- sh -c 'echo L3-up; echo L3-svm-cpus=\$(grep -cw svm /proc/cpuinfo); exit 42'
	echo L3-status=\$?
	exit 7" 2>&1)
st=$?
t_status "L2's exit status comes back to L1" 7 "$st"
t_has "L2 sees svm with --nested" '^L2-svm-cpus=[1-9]'
t_has "L2 loads kvm-amd" '^L2-kvm-amd-loaded$'
t_has "L2 has /dev/kvm" '^L2-dev-kvm$'
t_has "nestvm status in L2 says YES" '^This host supports nested virtualization: YES$'
t_has "L3 boots inside L2" '^L3-up$'
t_has "L3 has no svm without --nested" '^L3-svm-cpus=0$'
t_has "L3's exit status travels up to L2" '^L3-status=42$'

# --- extensions off: no svm, no /dev/kvm, status NO, run refuses -----------
# The support disk is attached by hand so that L2 has nestvm to try with.
out=$(timeout "$L2_TIMEOUT" "$NV" run --memory 512M --disk build/guest/nested.img,readonly \
	--append nestvm.nested=vda -- sh -c '
	echo L2-svm-cpus=$(grep -cw svm /proc/cpuinfo)
	[ -e /dev/kvm ] && echo L2-dev-kvm || echo L2-no-dev-kvm
	nestvm status
	nestvm run --memory 128M -- true; echo run-status=$?
	nestvm run --nested --memory 128M -- true; echo nested-run-status=$?' 2>&1)
t_has "L2 without --nested sees no svm" '^L2-svm-cpus=0$'
t_has "L2 without --nested has no /dev/kvm" '^L2-no-dev-kvm$'
t_has "nestvm status in L2 says NO" '^This host supports nested virtualization: NO$'
t_has "nestvm status gives a reason" '^Reason +: .*(AMD-V|VT-x)'
t_has "nestvm status gives a fix" '^Fix +: '
t_has "nestvm run in L2 explains /dev/kvm" '^nestvm: /dev/kvm is missing'
t_has "nestvm run in L2 exits 2" '^run-status=2$'
t_has "run --nested in L2 names cause and fix" '^nestvm: --expose-virtualization-extensions: .*; fix: '
t_has "run --nested in L2 exits 2" '^nested-run-status=2$'
t_summary
