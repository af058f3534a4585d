#!/usr/bin/env bash
# Named VMs as lasting objects, end to end in the lab: three VMs (one with an
# adapter on a private switch, one with the virtualization extensions) are
# started in the background and run the default guest's interactive shell;
# `vm list` shows them Running with uptimes; `vm console` attaches (the last
# output is replayed), runs a command typed into the guest's shell and
# detaches with Ctrl-A d, leaving the VM running; `vm stop` presses the ACPI
# power button and the guest powers off; `vm stop --force` ends one at once;
# a VMM killed with SIGKILL is noticed; `vm set --cpus` is refused while a VM
# runs and allowed when it is Off; a stopped VM starts again.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
t_kvm_or_lab nested "$0" "$@"
NV=${NESTVM:-build/nestvm}
T=${NESTVM_E2E_TIMEOUT:-600}
export NESTVM_HOME
NESTVM_HOME=$(mktemp -d /tmp/nv-home.XXXXXX)
tmp=$(mktemp -d)
cleanup() {
	for v in a b c; do "$NV" vm stop "$v" --force >/dev/null 2>&1; done
	"$NV" switch delete lan >/dev/null 2>&1
	rm -rf "$NESTVM_HOME" "$tmp"
}
trap cleanup EXIT

# console VM PATTERN INPUT...: attach, type each INPUT line (CR, as a
# terminal sends), wait until PATTERN shows in the guest's output (up to 120
# s: the lab's guests are slow), detach with Ctrl-A d. The guest's output is
# in $tmp/console.out, nestvm's own lines in $tmp/console.err.
console() {
	local vm=$1 pattern=$2
	shift 2
	: >"$tmp/console.out"
	{
		sleep 1
		for line in "$@"; do printf '%s\r' "$line"; sleep 1; done
		for _ in $(seq 240); do
			grep -q -- "$pattern" "$tmp/console.out" && break
			sleep 0.5
		done
		printf '\001d'
		sleep 2
	} | timeout 300 "$NV" vm console "$vm" >"$tmp/console.out" 2>"$tmp/console.err"
}

# The kernels boot quietly: each byte on the serial console is a VM exit, and
# the lab's emulated SVM now and then corrupts a nested guest under many
# exits (bench/boot-reliability --verbose; see the lab's README).
t_expect "create private switch lan" 0 '' -- "$NV" switch create lan --type private
t_expect "create VM a (an adapter on lan)" 0 'VM a created' -- \
	"$NV" vm create a --memory 256M --nic switch=lan --append quiet
t_expect "create VM b (virtualization extensions on)" 0 'VM b created' -- \
	"$NV" vm create b --memory 256M --expose-virtualization-extensions on --append quiet
t_expect "create VM c" 0 'VM c created' -- "$NV" vm create c --memory 256M --append quiet
t_expect "all three are Off" 0 '^c +Off' -- "$NV" vm list

# --- start all three at once --------------------------------------------
for v in a b c; do
	"$NV" vm start "$v" >"$tmp/start-$v.out" 2>&1 &
	eval "start_$v=\$!"
done
for v in a b c; do
	eval "p=\$start_$v"
	wait "$p"
	st=$?
	out=$(cat "$tmp/start-$v.out")
	t_status "vm start $v exits 0" 0 "$st"
	t_has "vm start $v says it started, with the pid" "^VM $v started \(pid [0-9]+\)$"
done
for v in a b c; do
	if vm_wait_prompt "$v" "$T"; then t_ok "VM $v reaches its shell prompt (console.log)"
	else t_not_ok "VM $v reaches its shell prompt (console.log)" "$(vm_field "$v" State): $(vm_field "$v" LastStop); $(tail -c 300 "$NESTVM_HOME/vms/$v/console.log" 2>&1 | tr '\n' '|')"; fi
done
sleep 2
out=$("$NV" vm list 2>&1)
for v in a b c; do
	t_has "vm list: $v Running with an uptime" "^$v +Running .*[0-9]{2}:[0-9]{2}:[0-9]{2}$"
done
t_has "vm list: b has the extensions" '^b +Running +1 +256M +On '
t_expect "a's adapter is a port of lan" 0 'a/0' -- "$NV" switch show lan
fails_running() { # VM: vm set --cpus refused while it runs
	t_expect "vm set $1 --cpus 2 is refused while $1 runs (exit 2)" 2 "can only be changed while the VM is Off" -- \
		"$NV" vm set "$1" --cpus 2
}
fails_running c

# --- the console: type a command, read its output, detach -----------------
# The quotes keep the echo of the typed line from matching.
console a '^hello-from-console' "echo hello-from-con''sole"
st=$?
out=$(cat "$tmp/console.out")
t_status "vm console a: Ctrl-A d detaches, exit 0" 0 "$st"
t_has "the command typed on the console ran in the guest" '^hello-from-console'
out=$(cat "$tmp/console.err")
t_has "console: attached line" '^\[attached to a; Ctrl-A d detaches\]'
t_has "console: detached line" '^\[detached\]'
t_expect "a is still Running after the detach" 0 '^a +Running' -- "$NV" vm list a
console a '^hello-from-console'
out=$(cat "$tmp/console.out")
t_has "attaching again replays the recent output" '^hello-from-console'
if grep -q '^hello-from-console' "$NESTVM_HOME/vms/a/console.log"; then t_ok "console.log has the output"
else t_not_ok "console.log has the output" "$(tail -c 300 "$NESTVM_HOME/vms/a/console.log" | tr '\n' '|')"; fi
console b '^b-has-' "grep -qw svm /proc/cpuinfo && echo b-has-s''vm; grep -qw svm /proc/cpuinfo || echo b-has-no-s''vm"
out=$(cat "$tmp/console.out")
t_has "b's guest sees SVM (extensions on)" '^b-has-svm'
console c '^c-has-' "grep -qw svm /proc/cpuinfo && echo c-has-s''vm; grep -qw svm /proc/cpuinfo || echo c-has-no-s''vm"
out=$(cat "$tmp/console.out")
t_has "c's guest does not see SVM (extensions off)" '^c-has-no-svm'

# --- graceful stop: the power button --------------------------------------
# A console attached meanwhile sees the VM end and why.
# Its input: a FIFO held open and never written (no end of input, which
# would detach).
mkfifo "$tmp/in"
exec 7<>"$tmp/in"
timeout "$T" "$NV" vm console a <&7 >/dev/null 2>"$tmp/watch.err" &
watch=$!
sleep 2
t_expect "vm stop a: the guest powers off (power button)" 0 'VM a is off: the guest powered off' -- \
	"$NV" vm stop a --timeout 180
out=$T_LAST_OUT
t_has "vm stop a said it asked the guest" '^asking the guest of a to power off'
wait "$watch"
st=$?
exec 7>&-
out=$(cat "$tmp/watch.err")
t_status "an attached console exits 0 when the VM stops" 0 "$st"
t_has "it says the VM stopped and why" '^\[VM a stopped: the guest powered off\]'
t_expect "vm list: a Off" 0 '^a +Off' -- "$NV" vm list a
last=$(vm_field a LastStop)
if [ "$last" = "the guest powered off" ]; then t_ok "a's last stop: the guest powered off"
else t_not_ok "a's last stop: the guest powered off" "LastStop: $last"; fi

# --- forced stop ----------------------------------------------------------
t_expect "vm stop b --force: ended at once" 0 'VM b is off: stopped: forced by nestvm vm stop --force' -- \
	"$NV" vm stop b --force
t_expect "vm list: b Off" 0 '^b +Off' -- "$NV" vm list b

# --- a VMM killed with SIGKILL -------------------------------------------
cpid=$(vm_field c Pid)
if [ -n "$cpid" ]; then kill -9 "$cpid"; fi
for _ in $(seq 50); do "$NV" vm list c 2>/dev/null | grep -Eq '^c +Off' && break; sleep 0.2; done
t_expect "after kill -9 of c's VMM, vm list shows c Off" 0 '^c +Off' -- "$NV" vm list c
last=$(vm_field c LastStop)
if [ "$last" = "the VMM process (pid $cpid) died" ]; then t_ok "c's last stop: $last"
else t_not_ok "c's last stop says its VMM died" "LastStop: $last"; fi

# --- settings while Off, and a second life --------------------------------
t_expect "vm set a --cpus 2 is allowed while a is Off" 0 '' -- "$NV" vm set a --cpus 2
off=$(stat -c %s "$NESTVM_HOME/vms/a/console.log")
t_expect "vm start a again" 0 '^VM a started' -- "$NV" vm start a
if vm_wait_prompt a "$T" "$off"; then t_ok "a reaches its prompt again"; else t_not_ok "a reaches its prompt again" "no prompt"; fi
console a '^cpus-' "echo cpus-\$(nproc)-on''line"
out=$(cat "$tmp/console.out")
t_has "a runs with 2 vCPUs now" '^cpus-2-online'
fails_running a
t_expect "vm stop a: powered off again" 0 'VM a is off: the guest powered off' -- "$NV" vm stop a --timeout 180
t_expect "vm stop of an Off VM says so" 0 'VM a is already off' -- "$NV" vm stop a
t_expect "vm console of an Off VM: exit 2" 2 'VM a is not running' -- "$NV" vm console a
t_summary
