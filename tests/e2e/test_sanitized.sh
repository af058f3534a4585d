#!/usr/bin/env bash
# The VMM built with AddressSanitizer and UBSan (build/nestvm-san), end to
# end, once per suite: test_vm_save.sh (a named VM with 2 vCPUs, a disk
# under I/O and an adapter on a switch, saved and continued) and
# test_confine.sh (a VM on a NAT switch, every thread confined, a switch
# daemon killed and started again) run against it, their checks counted
# here, and then no sanitizer report may be left by any nestvm process
# (VMMs, switch daemons, the commands). Leak checking is off: a VMM that
# ends on a signal leaves what it had, as intended.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
# Two tests in one lab, each slower under the sanitizers.
export NESTVM_E2E_LAB_TIMEOUT=${NESTVM_E2E_LAB_TIMEOUT:-900}
t_kvm_or_lab nested "$0" "$@"
SAN=$(dirname "${NESTVM:-build/nestvm}")/nestvm-san
[ -x "$SAN" ] || { t_not_ok "the sanitized build" "no $SAN (make build/nestvm-san)"; t_summary; exit 1; }
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
export ASAN_OPTIONS="detect_leaks=0:log_path=$logs/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan"
for t in test_vm_save.sh test_confine.sh; do
	out=$(NESTVM="$SAN" bash "tests/e2e/$t" 2>&1)
	printf '%s\n' "$out" | while IFS= read -r l; do
		case $l in
		"ok - "* | "not ok - "*) echo "${l%% - *} - [sanitized $t] ${l#* - }" ;;
		# Its own summary, as a comment: only this script's last line is
		# a summary, so a lab that hangs later is seen as unfinished (and
		# retried, tests/lib.sh's t_lab_run).
		[0-9]*" passed, "*" failed") echo "# [sanitized $t] $l" ;;
		*) echo "$l" ;;
		esac
	done
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
	if [ -z "$line" ]; then
		t_not_ok "$t against the sanitized build" "no summary"
		continue
	fi
	T_PASS=$((T_PASS + ${line%% passed*}))
	f=${line#*passed, }
	T_FAIL=$((T_FAIL + ${f%% failed*}))
done
reports=$(ls "$logs" 2>/dev/null)
if [ -z "$reports" ]; then
	t_ok "no AddressSanitizer or UBSan report from any nestvm process"
else
	for r in $reports; do
		t_not_ok "sanitizer report $r" "$(head -c 1500 "$logs/$r" | tr '\n' '|')"
	done
fi
t_summary
