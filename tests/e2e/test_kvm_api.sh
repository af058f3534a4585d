#!/usr/bin/env bash
# The KVM-API tests (tests/kvm: freestanding guest programs driving nestvm's
# devices, among them a virtio-net driver that sends hostile frames) again,
# on the lab's real KVM with AMD-V instead of this project's paravirtual one.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
# A lab host wedged by its emulated SVM (lab/README.md) is given up after 4
# minutes rather than 7 (it takes about 10 s in a lab), then tried again.
export NESTVM_E2E_LAB_TIMEOUT=${NESTVM_E2E_LAB_TIMEOUT:-240}
t_kvm_or_lab nested "$0" "$@"
n=0
for t in build/tests/kvm/test_*; do
	[ -x "$t" ] && [ "${t%.d}" = "$t" ] || continue
	n=$((n + 1))
	# A hang fails that binary only, and says which.
	t_expect "$(basename "$t") on the lab's KVM" 0 '\[  PASSED  \]' -- timeout 300 "$t"
done
[ "$n" -gt 0 ] || t_not_ok "KVM-API test binaries in the lab" "none under build/tests/kvm"
t_summary
