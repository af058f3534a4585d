#!/usr/bin/env bash
# End-to-end: the ACPI power button (a Generic Event Device on GSI 21 that
# notifies \_SB.PWRB). Runs inside the lab. `nestvm run` guests must find the
# button and stay silent about it; `nestvm vm stop` (no --force) presses it,
# and the default guest's init powers off cleanly well before the timeout:
#   - a VM without a command: the interactive shell on the (unattached)
#     console ends, the VM powers off;
#   - a VM whose command (nestvm.cmd= through --append) traps SIGTERM: the
#     command gets SIGTERM and finishes its trap before the power-off.
# A press before the guest's watcher is up is lost, so each VM first shows
# that a process holds the button's event device open. The named VMs boot
# with `quiet`: a full kernel log on the serial console is the many-exits
# load under which the lab's emulated SVM now and then stalls a guest
# (lab/README.md), and nothing here needs it.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
t_kvm_or_lab nested "$0" "$@"
NV=${NESTVM:-build/nestvm}
TO=${NESTVM_E2E_TIMEOUT:-300}
STOP_TIMEOUT=${NESTVM_E2E_STOP_TIMEOUT:-60}
nv() { timeout "$TO" "$NV" "$@"; }
export NESTVM_HOME
NESTVM_HOME=$(mktemp -d /tmp/nv-home.XXXXXX)
cleanup() {
	for vm in pb-shell pb-cmd; do
		"$NV" vm stop "$vm" --force >/dev/null 2>&1
		"$NV" vm delete "$vm" --force >/dev/null 2>&1
	done
	rm -rf "$NESTVM_HOME"
}
trap cleanup EXIT

# --- nestvm run: the button is there, and nothing of it shows.
t_expect "run -- true: status 0, no output at all" 0 '' -- nv run -- true
if [ -z "$T_LAST_OUT" ]; then t_ok "run -- true prints exactly nothing"
else t_not_ok "run -- true prints exactly nothing" "got: $(printf '%s' "$T_LAST_OUT" | head -c 200 | tr '\n' '|')"; fi
t_expect "run: the command's output and status are untouched" 3 '' -- nv run -- sh -c 'echo only-this; exit 3'
if [ "$T_LAST_OUT" = only-this ]; then t_ok "run: output is exactly the command's"
else t_not_ok "run: output is exactly the command's" "got: $(printf '%s' "$T_LAST_OUT" | head -c 200 | tr '\n' '|')"; fi
# The DSDT's PNP0C0C device, bound by button.ko, with an evdev node.
t_expect "run: the guest has an ACPI power button input device" 0 '^pwrb=PNP0C0C/button/input[0-9]+ ev=event[0-9]+$' -- \
	nv run -- sh -c 'for i in $(seq 1 100); do grep -q "Power Button" /proc/bus/input/devices && break; sleep 0.1; done
		phys=$(grep -A2 "N: Name=\"Power Button\"" /proc/bus/input/devices | sed -n "s/^P: Phys=//p")
		ev=$(grep -A5 "N: Name=\"Power Button\"" /proc/bus/input/devices | sed -n "s/^H: Handlers=.*\(event[0-9]*\).*/\1/p")
		echo "pwrb=$phys ev=$ev"'

# wait_console NAME REGEX SECONDS: until the VM's console log matches.
wait_console() {
	local log=$NESTVM_HOME/vms/$1/console.log i
	for i in $(seq 1 $((($3) * 10))); do
		grep -Eq -- "$2" "$log" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# The guest's watcher holds /dev/input/eventN open (fd 4) once it listens.
WAIT_WATCHER='for i in $(seq 1 300); do ls -l /proc/[0-9]*/fd/ 2>/dev/null | grep -q /dev/input/event && break; sleep 0.1; done'

# console_run NAME COMMAND REGEX: types COMMAND into NAME's shell and waits
# (up to 120 s) for REGEX in the console's log; detaches.
console_run() {
	{
		sleep 1
		printf '%s\r' "$2"
		wait_console "$1" "$3" 120
		printf '\001d'
		sleep 1
	} | timeout 150 "$NV" vm console "$1" >/dev/null 2>&1
	wait_console "$1" "$3" 1
}

# stop_and_check NAME: vm stop without --force must end in a guest
# power-off, faster than the timeout.
stop_and_check() {
	local name=$1 t0 t1 st out
	t0=$(date +%s)
	out=$(timeout "$TO" "$NV" vm stop "$name" --timeout "$STOP_TIMEOUT" 2>&1) && st=0 || st=$?
	t1=$(date +%s)
	t_status "$name: vm stop (no --force) succeeds" 0 "$st"
	if [ $((t1 - t0)) -lt "$STOP_TIMEOUT" ]; then t_ok "$name: the guest powered off in $((t1 - t0)) s (< ${STOP_TIMEOUT} s)"
	else t_not_ok "$name: the guest powered off before the timeout" "vm stop took $((t1 - t0)) s: $out"; fi
	t_expect "$name: vm show says the guest powered off" 0 '' -- nv vm show "$name"
	if printf '%s\n' "$T_LAST_OUT" | grep -qi 'powered off'; then t_ok "$name: last stop: powered off"
	else t_not_ok "$name: last stop: powered off" "$(printf '%s' "$T_LAST_OUT" | tr '\n' '|')"; fi
	t_expect "$name: the VM is Off" 0 '"state" *: *"Off"' -- nv vm show "$name" --json
}

# --- A VM without a command: the init's interactive shell.
t_expect "create pb-shell" 0 '' -- nv vm create pb-shell --append quiet
t_expect "start pb-shell" 0 '' -- nv vm start pb-shell
# The marker is computed in the guest: the typed line's echo never matches.
if vm_wait_prompt pb-shell 300 && console_run pb-shell "$WAIT_WATCHER; echo pb-\$((6*7))" '^pb-42'; then
	t_ok "pb-shell: the guest's shell is up and its power button watched"
	stop_and_check pb-shell
else
	t_not_ok "pb-shell: the guest's shell is up and its power button watched" \
		"$(tail -n 8 "$NESTVM_HOME/vms/pb-shell/console.log" 2>/dev/null | tr '\n' '|')"
fi

# --- A VM running a command that handles SIGTERM.
script="trap 'echo got-sigterm; exit 0' TERM
$WAIT_WATCHER; echo pb-ready
sleep 600 & wait"
cmd=$(printf '%s\0%s\0%s' sh -c "$script" | base64 -w0)
t_expect "create pb-cmd (a command through --append)" 0 '' -- nv vm create pb-cmd --append "quiet nestvm.cmd=$cmd"
t_expect "start pb-cmd" 0 '' -- nv vm start pb-cmd
if wait_console pb-cmd '^pb-ready' 300; then
	t_ok "pb-cmd: the command is running"
	stop_and_check pb-cmd
	if grep -q '^got-sigterm' "$NESTVM_HOME/vms/pb-cmd/console.log"; then t_ok "pb-cmd: the command got SIGTERM before the power-off"
	else t_not_ok "pb-cmd: the command got SIGTERM before the power-off" \
		"$(tail -n 5 "$NESTVM_HOME/vms/pb-cmd/console.log" | tr '\n' '|')"; fi
else
	t_not_ok "pb-cmd: the command is running" \
		"$(tail -n 8 "$NESTVM_HOME/vms/pb-cmd/console.log" 2>/dev/null | tr '\n' '|')"
fi
t_summary
