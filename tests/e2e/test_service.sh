#!/usr/bin/env bash
# The host's boot and shutdown, as nestvm.service runs them (issue 17):
# four VMs with Hyper-V's automatic actions. `nestvm service stop` saves a
# (save), turns b off at once (turn-off), shuts c down through the power
# button (shutdown), leaves d (never started) alone, and marks the ones
# that ran. `nestvm service start` starts the switches' daemons, continues
# a where it was saved (start-if-running: it ran), leaves b Off (nothing),
# starts c (start) and leaves d Off (start-if-running, but it did not run).
# The marks are cleared by the starts. A switch daemon killed before the
# boot is running again after it.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
t_kvm_or_lab linux "$0" "$@"
NV=${NESTVM:-build/nestvm}
T=${NESTVM_E2E_TIMEOUT:-600}
export NESTVM_HOME
NESTVM_HOME=$(mktemp -d /tmp/nv-home.XXXXXX)
cleanup() {
	for v in a b c d; do "$NV" vm stop "$v" --force >/dev/null 2>&1; done
	"$NV" switch delete lan >/dev/null 2>&1
	rm -rf "$NESTVM_HOME"
}
trap cleanup EXIT

state() { "$NV" vm show "$1" 2>/dev/null | sed -n 's/^State  *: *//p'; }
marked() { "$NV" vm show "$1" --json 2>/dev/null | tr -d ' \n' | grep -o '"running_at_host_stop":[a-z]*' | cut -d: -f2; }
is() { # NAME STATE MARK: the VM's state and its running-at-host-stop mark
	local s m
	s=$(state "$1")
	m=$(marked "$1")
	[ "$s" = "$2" ] && [ "$m" = "$3" ] && t_ok "$4: $1 is $s (marked $m)" || t_not_ok "$4: $1" "is '$s' (marked '$m'), wanted $2 ($3)"
}

t_expect "a private switch" 0 '' -- "$NV" switch create lan --type private
for v in a b c d; do
	"$NV" vm create "$v" --memory 192M --nic switch=lan --append quiet >/dev/null 2>&1 || t_not_ok "create $v" "failed"
done
t_expect "a: start-if-running, save (Hyper-V's defaults)" 0 'AutomaticStopAction +: save' -- "$NV" vm show a
t_expect "Set-VM -Name b -AutomaticStartAction Nothing -AutomaticStopAction TurnOff" 0 '' -- \
	"$NV" Set-VM -Name b -AutomaticStartAction Nothing -AutomaticStopAction TurnOff
t_expect "c: start, shutdown" 0 '' -- "$NV" vm set c --automatic-start-action start --automatic-stop-action shutdown
for v in a b c; do t_expect "start $v" 0 "VM $v started" -- "$NV" vm start "$v"; done
# c's guest must be up to take the power button.
vm_wait_prompt c "$T" && t_ok "c's guest is up" || t_not_ok "c's guest is up" "no prompt in its console"

t_expect "nestvm service stop (the host shuts down)" 0 'VM a: saved' -- "$NV" service stop
out=$T_LAST_OUT
t_has "b stopped" '^VM b: stopped'
t_has "c stopped" '^VM c: stopped'
is a Saved true "after the stop"
is b Off true "after the stop"
is c Off true "after the stop"
is d Off false "after the stop"
t_expect "c went off through its guest (the power button)" 0 'LastStop +: .*(power|guest)' -- "$NV" vm show c

sw=$(cat "$NESTVM_HOME/switches/lan/daemon.pid")
kill -9 "$sw" 2>/dev/null
t_expect "nestvm service start (the host boots)" 0 '' -- "$NV" service start
is a Running false "after the boot"
is b Off true "after the boot"
is c Running false "after the boot"
is d Off false "after the boot"
nsw=$(cat "$NESTVM_HOME/switches/lan/daemon.pid" 2>/dev/null)
[ -n "$nsw" ] && [ "$nsw" != "$sw" ] && [ -d "/proc/$nsw" ] && t_ok "the switch's daemon runs again" ||
	t_not_ok "the switch's daemon runs again" "pid '$nsw' (was $sw)"
# a continued where it was saved: its console's boot banner came once.
boots=$(grep -c 'shell on the console' "$NESTVM_HOME/vms/a/console.log")
[ "$boots" = 1 ] && t_ok "a continued from its saved state (one boot in its console)" ||
	t_not_ok "a continued from its saved state" "$boots boots in its console"
t_expect "service with no verb" 2 'usage: nestvm service start\|stop' -- "$NV" service
t_summary
