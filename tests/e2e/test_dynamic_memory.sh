#!/usr/bin/env bash
# Dynamic memory (issue 13) end to end in the lab, a default guest: with
# dynamic memory (512M startup, 256M..1G) it shrinks to its minimum when
# idle, grows when it needs memory (a 400 MiB file, more than its minimum,
# is written) and shrinks again once the file is gone, `vm set --memory-max`
# above the RAM it booted with is refused while it runs while --memory-min
# is taken at once, and a demand above its maximum ends in the guest's OOM
# killer, not in the VMM. (With a hypervisor inside:
# test_dynamic_memory_nested.sh.)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
# Longer than most (a guest that fills 400 MiB and meets its OOM killer).
NESTVM_E2E_LAB_TIMEOUT=${NESTVM_E2E_LAB_TIMEOUT:-600}
t_kvm_or_lab linux "$0" "$@"
NV=${NESTVM:-build/nestvm}
T=${NESTVM_E2E_TIMEOUT:-300}
export NESTVM_HOME
NESTVM_HOME=$(mktemp -d /tmp/nv-home.XXXXXX)
cleanup() {
	"$NV" vm stop d --force >/dev/null 2>&1
	rm -rf "$NESTVM_HOME"
}
trap cleanup EXIT

assigned() { "$NV" vm show "$1" 2>/dev/null | sed -n 's/^MemoryAssigned *: *\([0-9]*\) MiB.*/\1/p'; }
demand() { "$NV" vm show "$1" 2>/dev/null | sed -n 's/^MemoryDemand *: *\([0-9]*\) MiB.*/\1/p'; }
# wait_assigned VM OP MIB SECONDS: until Assigned OP MIB (-le, -ge).
wait_assigned() {
	local a
	for _ in $(seq "$4"); do
		a=$(assigned "$1")
		[ -n "$a" ] && [ "$a" "$2" "$3" ] && return 0
		sleep 1
	done
	return 1
}
# console_run VM COMMAND REGEX: types COMMAND into VM's shell and waits (up
# to T seconds) for REGEX in its console log; detaches.
console_run() {
	local log=$NESTVM_HOME/vms/$1/console.log
	{
		sleep 1
		printf '%s\r' "$2"
		t_wait_for "$log" "$3" "$T"
		printf '\001d'
		sleep 1
	} | timeout $((T + 30)) "$NV" vm console "$1" >/dev/null 2>&1
	t_wait_for "$log" "$3" 1
}

# --- a default guest: shrinks when idle, grows when it needs memory
t_expect "create d: 512M startup, dynamic 256M..1G" 0 'VM d created' -- \
	"$NV" vm create d --memory 512M --dynamic-memory on --memory-min 256M --memory-max 1G --append quiet
t_expect "vm show d: the policy" 0 '^MemoryMaximum +: 1024 MiB$' -- "$NV" vm show d
t_expect "start d" 0 'VM d started' -- "$NV" vm start d
vm_wait_prompt d "$T" && t_ok "d's guest is up" || t_not_ok "d's guest is up" "no prompt"
# Idle, it gives back what its startup memory holds above the minimum (its
# balloon once stopped short here, at 262 or 294 MiB: a config interrupt
# lost on the edge-triggered pin, fixed in virtio-mmio).
if wait_assigned d -le 272 90; then t_ok "idle, d shrinks toward its minimum ($(assigned d) MiB assigned of 512, minimum 256)"
else t_not_ok "idle, d shrinks toward its minimum" "assigned $(assigned d) MiB"; fi
dm=$(demand d)
[ -n "$dm" ] && [ "$dm" -gt 16 ] && [ "$dm" -lt 256 ] && t_ok "vm show d: the guest's demand ($dm MiB) from its statistics" ||
	t_not_ok "vm show d: the guest's demand" "'$dm'"
# 400 MiB in the guest's RAM-backed root (a tmpfs of half its 1G RAM):
# more than the minimum; the guest must get it (the balancer grows it;
# deflate-on-OOM is the net) and keep it.
if console_run d "dd if=/dev/zero of=/big bs=1M count=400 2>/dev/null; echo big-\$(wc -c </big)" '^big-[0-9]+'; then
	out=$(grep -ao 'big-[0-9]*' "$NESTVM_HOME/vms/d/console.log" | tail -n1)
	[ "$out" = big-419430400 ] && t_ok "d's guest wrote 400 MiB with a 256 MiB minimum" ||
		t_not_ok "d's guest wrote 400 MiB" "$out"
else
	t_not_ok "d's guest wrote 400 MiB" "no answer: $(tail -c 300 "$NESTVM_HOME/vms/d/console.log" | tr '\n' '|')"
fi
a=$(assigned d)
[ -n "$a" ] && [ "$a" -ge 450 ] && t_ok "d grew to $a MiB assigned while the file holds 400 MiB" ||
	t_not_ok "d grew while the file holds 400 MiB" "assigned '$a'"
t_expect "vm set d --memory-max 2G while it runs: refused (it booted with 1G)" 2 'booted with 1024 MiB' -- \
	"$NV" vm set d --memory-max 2G
t_expect "vm set d --memory-min 128M while it runs" 0 'MemoryMinimum 128 MiB' -- "$NV" vm set d --memory-min 128M
console_run d "rm /big; echo gone-\$((6*7))" '^gone-42' && t_ok "d's guest removed the file" ||
	t_not_ok "d's guest removed the file" "$(tail -c 300 "$NESTVM_HOME/vms/d/console.log" | tr '\n' '|')"
# Down to its demand plus the buffer (or the new minimum): 5 % a second.
if wait_assigned d -le 300 60; then t_ok "the file gone, d shrinks again ($(assigned d) MiB assigned)"
else t_not_ok "the file gone, d shrinks again" "$("$NV" vm show d | grep -E '^Memory(Assigned|Target|Demand)' | tr -s ' ' | tr '\n' ' ')"; fi
# More than the maximum: two processes that touch 700 MiB each in a 1G
# guest; the guest's own OOM killer ends one (its kernel says so on the
# console even with quiet); the VM and its VMM go on.
if console_run d "dd if=/dev/zero of=/dev/null bs=700M count=3 2>/dev/null & dd if=/dev/zero of=/dev/null bs=700M count=3 2>/dev/null; a=\$?; wait \$!; echo oom-\$a-\$?" '^oom-[0-9]+-[0-9]+'; then
	out=$(grep -ao 'oom-[0-9]*-[0-9]*' "$NESTVM_HOME/vms/d/console.log" | tail -n1)
	grep -aq 'Out of memory: Killed process [0-9]* (dd)' "$NESTVM_HOME/vms/d/console.log" &&
		t_ok "demand above the maximum: the guest's OOM killer ended a dd ($out)" ||
		t_not_ok "demand above the maximum: the guest's OOM killer" "$out, no OOM kill on the console"
else
	t_not_ok "demand above the maximum: an answer" "$(tail -c 300 "$NESTVM_HOME/vms/d/console.log" | tr '\n' '|')"
fi
[ "$(vm_field d State)" = Running ] && t_ok "d still runs" ||
	t_not_ok "d still runs" "$(vm_stop_of d) $(tail -c 600 "$NESTVM_HOME/vms/d/console.log" | tr '\n' '|')"
console_run d "echo alive-\$((6*7))" '^alive-42' && t_ok "d's shell still answers" || t_not_ok "d's shell still answers" ""
t_expect "vm stop d --force" 0 '' -- "$NV" vm stop d --force
t_summary
