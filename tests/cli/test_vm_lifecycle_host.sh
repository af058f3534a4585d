#!/usr/bin/env bash
# `nestvm vm start/stop/console` of named VMs with the default guest: a
# corrupt kernel and a missing switch make start fail (exit 2, the record Off
# with the reason); stop and console of an Off VM say so; a started
# default-guest VM is Running, its console attaches and detaches, its VMM
# answers on control.sock, stop --force ends it, and a VMM killed with SIGKILL
# is noticed (Off, "died"), also when the VMM started a switch's daemon (which
# must not inherit vmm.lock). Runs on this host when its KVM boots Linux,
# else in the lab (t_kvm_or_lab). State lives in a temporary NESTVM_HOME;
# daemons are cleaned up.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
NV=${NESTVM_BIN:-${NESTVM:-build/nestvm}} # t_kvm_or_lab asks it for the host's status
t_kvm_or_lab linux "$0" "$@"
T=$(mktemp -d)
export NESTVM_HOME=$T/home
export NESTVM_GUEST_DIR=${NESTVM_GUEST_DIR:-$PWD/build/guest}

cleanup() {
	for f in "$NESTVM_HOME"/vms/*/vm.json; do
		[ -f "$f" ] || continue
		n=$(basename "$(dirname "$f")")
		"$NV" vm stop "$n" --force >/dev/null 2>&1
	done
	for f in "$NESTVM_HOME"/switches/*/daemon.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT

if [ ! -x "$NV" ]; then
	t_not_ok "binary" "need $NV (make)"
	t_summary
	exit 1
fi

# A live process (not a zombie that init has not reaped yet).
alive() {
	local s
	s=$(t_proc "$1" 1)
	[ -n "$s" ] && [ "${s#Z}" = "$s" ]
}

# --- start failures: the record says why --------------------------------
head -c 8192 /dev/urandom >"$T/corrupt.img"
t_expect "create a VM with a corrupt kernel" 0 '' -- "$NV" vm create broken --kernel "$T/corrupt.img"
t_fails "start with a corrupt kernel: exit 2, the reason" 2 'VM broken did not start: not a Linux kernel' -- "$NV" vm start broken
t_expect "the VM is Off after the failed start" 0 '^broken +Off' -- "$NV" vm list
stop=$(vm_field broken LastStop)
if printf '%s' "$stop" | grep -q 'not a Linux kernel'; then t_ok "its last stop names the kernel problem"
else t_not_ok "its last stop names the kernel problem" "LastStop: $stop"; fi
if [ -s "$NESTVM_HOME/vms/broken/vmm.log" ]; then t_ok "the VMM wrote vmm.log"
else t_not_ok "the VMM wrote vmm.log" "empty or missing"; fi

t_expect "create a VM on a switch that does not exist" 0 '' -- "$NV" vm create lonely --nic switch=nowhere
t_fails "start without its switch: exit 2, names the switch" 2 'no switch named nowhere' -- "$NV" vm start lonely
t_expect "that VM is Off too" 0 '^lonely +Off' -- "$NV" vm list

t_expect "stop of an Off VM says so, exit 0" 0 'VM broken is already off' -- "$NV" vm stop broken
t_fails "console of an Off VM: exit 2" 2 'VM broken is not running' -- "$NV" vm console broken
t_fails "start of a VM that does not exist" 2 'ghost' -- "$NV" vm start ghost
t_fails "stop of a VM that does not exist" 2 'ghost' -- "$NV" vm stop ghost
t_fails "stop --timeout must be a number" 2 'timeout' -- "$NV" vm stop broken --timeout soon
t_fails "console needs a name" 2 'NAME' -- "$NV" vm console

if [ ! -f "$NESTVM_GUEST_DIR/vmlinuz" ]; then
	t_not_ok "the default guest is built" "no $NESTVM_GUEST_DIR/vmlinuz (make guest)"
	t_summary
	exit 1
fi

# --- a started default guest ---------------------------------------------
# Quiet kernels: each console byte is a VM exit, and in the lab many exits
# now and then make its emulated SVM corrupt a nested guest (lab/README.md).
t_expect "create VM g (the default guest)" 0 '' -- "$NV" vm create g --memory 256M --append quiet
t_expect "vm start g: started with its pid" 0 '^VM g started \(pid [0-9]+\)$' -- "$NV" vm start g
pid=$(vm_field g Pid)
t_expect "vm list: g Running with an uptime" 0 '^g +Running .* [0-9]{2}:[0-9]{2}:[0-9]{2}$' -- "$NV" vm list
t_fails "a second start is refused" 2 'VM g is already Running' -- "$NV" vm start g
if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'vm-daemon g'; then
	t_ok "the record's pid is g's vm-daemon ($pid)"
else t_not_ok "the record's pid is g's vm-daemon" "pid '$pid'"; fi
perms=$(stat -c %a "$NESTVM_HOME/vms/g/console.sock" "$NESTVM_HOME/vms/g/control.sock" 2>&1 | tr '\n' ' ')
if [ "$perms" = "600 600 " ]; then t_ok "console.sock and control.sock are mode 0600"
else t_not_ok "console.sock and control.sock are mode 0600" "$perms"; fi
if [ -n "$pid" ] && [ "$(readlink /proc/$pid/fd/0)" = /dev/null ] &&
	[ "$(readlink /proc/$pid/fd/2)" = "$NESTVM_HOME/vms/g/vmm.log" ] &&
	[ "$(t_proc "$pid" 4)" != "$(t_proc $$ 4)" ] &&
	[ "$(t_proc "$pid" 2)" != $$ ]; then
	t_ok "the VMM is detached: own session, stdin /dev/null, stderr vmm.log"
else t_not_ok "the VMM is detached" "fd0 $(readlink /proc/$pid/fd/0) fd2 $(readlink /proc/$pid/fd/2) sid $(t_proc "$pid" 4) (ours $(t_proc $$ 4))"; fi

# The console: attach, Ctrl-A d detaches, the VM runs on.
out=$({ sleep 1; printf '\001d'; sleep 5; } | timeout 20 "$NV" vm console g 2>&1 >/dev/null); st=$?
t_status "vm console g: Ctrl-A d detaches with status 0" 0 "$st"
t_has "console says it attached" '^\[attached to g; Ctrl-A d detaches\]'
t_has "console says it detached" '^\[detached\]'
t_expect "g is still Running after the detach" 0 '^g +Running' -- "$NV" vm list
out=$({ sleep 1; printf '\001x'; sleep 5; } | timeout 20 "$NV" vm console g 2>&1 >/dev/null); st=$?
t_status "Ctrl-A x detaches too (never stops a named VM)" 0 "$st"
t_expect "g is still Running after Ctrl-A x" 0 '^g +Running' -- "$NV" vm list
out=$(timeout 20 "$NV" vm console g 2>&1 </dev/null >/dev/null); st=$?
t_status "end of piped input detaches" 0 "$st"

# The control socket: one JSON request, one reply.
out=$("$(t_tool seqpacket_call)" "$NESTVM_HOME/vms/g/control.sock" '{"cmd":"status"}' '{"cmd":"reboot"}' 2>&1)
t_has "control status: ok, Running, the pid, an uptime" "^\{\"ok\":true,\"state\":\"Running\",\"pid\":$pid,\"uptime\":[0-9]+\}$"
t_has "control: an unknown cmd is refused" '^\{"ok":false,"error":"unknown cmd'

t_expect "vm stop --force: Off, forced" 0 'VM g is off: stopped: forced by nestvm vm stop --force' -- "$NV" vm stop g --force
# vmm.lock is free once its files are closed; the process goes a moment later.
for _ in $(seq 20); do alive "$pid" || break; sleep 0.1; done
if [ -n "$pid" ] && alive "$pid"; then t_not_ok "the VMM process has exited" "pid $pid lives"
else t_ok "the VMM process has exited"; fi
if [ ! -e "$NESTVM_HOME/vms/g/control.sock" ] && [ ! -e "$NESTVM_HOME/vms/g/console.sock" ]; then
	t_ok "its sockets are removed"
else t_not_ok "its sockets are removed" "$(ls "$NESTVM_HOME/vms/g")"; fi
t_fails "console of g now: not running, with the reason" 2 'not running \(Off: stopped: forced' -- "$NV" vm console g

# --- death detection: SIGKILL of a VMM that started a switch's daemon ----
t_expect "create private switch s1" 0 '' -- "$NV" switch create s1 --type private
spid=$(cat "$NESTVM_HOME/switches/s1/daemon.pid" 2>/dev/null)
[ -n "$spid" ] && kill "$spid" 2>/dev/null
for _ in $(seq 50); do "$NV" switch list 2>/dev/null | grep -Eq '^s1 .*running' || break; sleep 0.1; done
t_expect "create VM k with an adapter on s1" 0 '' -- "$NV" vm create k --memory 256M --nic switch=s1 --append quiet
t_expect "vm start k (its VMM starts s1's daemon again)" 0 'VM k started' -- "$NV" vm start k
kpid=$(vm_field k Pid)
spid=$(cat "$NESTVM_HOME/switches/s1/daemon.pid" 2>/dev/null)
if [ -n "$spid" ] && [ -d "/proc/$spid" ]; then
	if ls -l "/proc/$spid/fd" 2>/dev/null | grep -q 'vms/k/'; then
		t_not_ok "s1's daemon holds none of k's files (vmm.lock)" "$(ls -l /proc/$spid/fd | grep vms/)"
	else t_ok "s1's daemon holds none of k's files (vmm.lock)"; fi
else t_not_ok "s1's daemon runs again" "no pid"; fi
t_expect "k is Running" 0 '^k +Running' -- "$NV" vm list
if [ -n "$kpid" ]; then kill -9 "$kpid"; fi
# Its threads end, then its files close: the lock is free a moment later.
for _ in $(seq 50); do "$NV" vm list k 2>/dev/null | grep -Eq '^k +Off' && break; sleep 0.1; done
t_expect "after kill -9 of its VMM, vm list shows k Off" 0 '^k +Off' -- "$NV" vm list
stop=$(vm_field k LastStop)
if [ "$stop" = "the VMM process ($kpid) died" ] || [ "$stop" = "the VMM process (pid $kpid) died" ]; then
	t_ok "its last stop: $stop"
else t_not_ok "its last stop says the VMM died" "LastStop: $stop"; fi
t_expect "k starts again after the crash" 0 'VM k started' -- "$NV" vm start k
k2pid=$(vm_field k Pid)
t_expect "and stops" 0 'VM k is off' -- "$NV" vm stop k --force
sleep 0.5
left=
for p in $pid $kpid $k2pid; do alive "$p" && left="$left $p"; done
if [ -z "$left" ]; then t_ok "no vm-daemon is left"
else t_not_ok "no vm-daemon is left" "pids $left"; fi
t_summary
