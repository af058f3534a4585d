#!/usr/bin/env bash
# Dynamic memory (issue 13) end to end in the lab, with a hypervisor inside:
# a named L2 with the extensions and dynamic memory (1G startup, 512M..2G)
# runs an L3 guest (with a balloon of its own) that keeps 4 MiB of data and,
# round after round, fills 400 MiB, holds it, frees it. L3's freed pages go
# back to L2 (its balloon's free page reporting), L2's to the lab host. While
# L3 runs and keeps its data:
#   - L2's Assigned memory (vm show) rises above its minimum when L3 holds the
#     memory and falls back once L3 freed it; its Demand follows;
#   - the host RSS of L2's VMM rises by most of the 400 MiB and falls again,
#     in every round (it gives memory back and takes it again);
#   - L3's data checksum is the same after every round, and L3 ends cleanly.
# Before that, a default guest with dynamic memory shrinks to its minimum
# when idle, grows when it needs memory (a 400 MiB file, more than its
# minimum, is written), `vm set --memory-max` above the RAM it booted with
# is refused while it runs while --memory-min is taken at once, and a demand
# above its maximum ends in the guest's OOM killer, not in the VMM.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
t_kvm_or_lab nested "$0" "$@"
NV=${NESTVM:-build/nestvm}
T=${NESTVM_E2E_TIMEOUT:-300}
export NESTVM_HOME
NESTVM_HOME=$(mktemp -d /tmp/nv-home.XXXXXX)
tmp=$(mktemp -d)
cleanup() {
	for v in d n; do "$NV" vm stop "$v" --force >/dev/null 2>&1; done
	rm -rf "$NESTVM_HOME" "$tmp"
}
trap cleanup EXIT

assigned() { "$NV" vm show "$1" 2>/dev/null | sed -n 's/^MemoryAssigned *: *\([0-9]*\) MiB.*/\1/p'; }
demand() { "$NV" vm show "$1" 2>/dev/null | sed -n 's/^MemoryDemand *: *\([0-9]*\) MiB.*/\1/p'; }
vmm_pid() { "$NV" vm show "$1" 2>/dev/null | sed -n 's/^Pid *: *\([0-9][0-9]*\)$/\1/p'; }
rss_mib() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" 2>/dev/null | awk '{ print int($1 / 1024) }'; }
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
if wait_assigned d -le 256 90; then t_ok "idle, d shrinks to its minimum (256 MiB assigned)"
else t_not_ok "idle, d shrinks to its minimum" "assigned $(assigned d) MiB"; fi
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
console_run d "rm /big; echo gone-\$((6*7))" '^gone-42' || true
if wait_assigned d -le 300 120; then t_ok "the file gone, d shrinks again ($(assigned d) MiB)"
else t_not_ok "the file gone, d shrinks again" "assigned $(assigned d) MiB"; fi
# More than the maximum: the guest's own OOM killer ends the process (dd's
# 1500 MiB buffer in a 1G guest); the VM and its VMM go on.
if console_run d "dd if=/dev/zero of=/dev/null bs=1500M count=1 2>/dev/null; echo oom-\$?" '^oom-[0-9]+'; then
	out=$(grep -ao 'oom-[0-9]*' "$NESTVM_HOME/vms/d/console.log" | tail -n1)
	[ "$out" = oom-137 ] && t_ok "demand above the maximum: the guest's OOM killer ended it (status 137)" ||
		t_not_ok "demand above the maximum: the guest's OOM killer" "$out"
else
	t_not_ok "demand above the maximum: an answer" "$(tail -c 300 "$NESTVM_HOME/vms/d/console.log" | tr '\n' '|')"
fi
t_expect "d still runs" 0 '^State +: Running$' -- "$NV" vm show d
console_run d "echo alive-\$((6*7))" '^alive-42' && t_ok "d's shell still answers" || t_not_ok "d's shell still answers" ""
t_expect "vm stop d --force" 0 '' -- "$NV" vm stop d --force

# --- an L2 with a hypervisor inside keeps its dynamic memory
l3='mkdir -p /hold && mount -t tmpfs -o size=600m hold /hold || echo L3-no-tmpfs
head -c 4194304 /dev/urandom >/keep; k=$(md5sum </keep)
echo L3-up
for r in 1 2; do
	dd if=/dev/zero of=/hold/x bs=1M count=400 2>/dev/null; echo L3-held-$r-bytes-$(wc -c </hold/x)
	sleep 40
	rm /hold/x
	[ "$(md5sum </keep)" = "$k" ] && echo L3-freed-$r-data-ok || echo L3-freed-$r-data-BAD
	sleep 50
done
echo L3-done'
cmd=$(guest/encode-cmd nestvm run --device balloon --memory 640M -- sh -c "$l3")
t_expect "create n: nested, dynamic 512M..2G, running an L3" 0 'VM n created' -- \
	"$NV" vm create n --nested --memory 1G --dynamic-memory on --memory-min 512M --memory-max 2G \
	--append "quiet nestvm.cmd=$cmd"
t_expect "start n" 0 'VM n started' -- "$NV" vm start n
LOG=$NESTVM_HOME/vms/n/console.log
pid=$(vmm_pid n)
t_wait_for "$LOG" '^L3-up' "$T" && t_ok "L3 runs inside n" || t_not_ok "L3 runs inside n" "$(tail -c 400 "$LOG" | tr '\n' '|')"
# Samples every 2 s until L3 ends: the time, the phase L3 announced last,
# n's Assigned memory and its VMM's RSS.
samples=$tmp/samples
: >"$samples"
phase=up
for _ in $(seq 300); do
	last=$(grep -aoE 'L3-(held-[0-9]|freed-[0-9]-data-[a-zA-Z]+|done)' "$LOG" | tail -n1)
	[ -n "$last" ] && phase=$last
	echo "$phase $(assigned n) $(rss_mib "$pid")" >>"$samples"
	[ "$phase" = L3-done ] && break
	sleep 2
done
echo "# n: phase, Assigned MiB, VMM RSS MiB, every 2 s:"
awk '{ printf "# %s\n", $0 }' "$samples" | uniq -c | awk '{ c = $1; $1 = ""; print $0 " (x" c ")" }' | head -n 60
grep -q '^L3-done' "$LOG" && t_ok "L3 ran to its end while n's memory moved" ||
	t_not_ok "L3 ran to its end" "last phase $phase: $(tail -c 300 "$LOG" | tr '\n' '|')"
for r in 1 2; do
	grep -aq "L3-freed-$r-data-ok" "$LOG" && t_ok "round $r: L3's data intact" ||
		t_not_ok "round $r: L3's data intact" "$(grep -ao "L3-freed-$r-[a-zA-Z-]*" "$LOG")"
	# Peaks while L3 holds the memory; lows at the end of the freed phase.
	grep -aq "L3-held-$r-bytes-419430400" "$LOG" && t_ok "round $r: L3 holds 400 MiB" ||
		t_not_ok "round $r: L3 holds 400 MiB" "$(grep -ao "L3-held-$r[a-z0-9-]*" "$LOG")"
	# (no process substitution: the lab has no /dev/fd)
	read -r a_hi r_hi <<<"$(awk -v p="L3-held-$r" '$1 == p { if ($2 > a) a = $2; if ($3 > m) m = $3 } END { print a + 0, m + 0 }' "$samples")"
	read -r a_lo r_lo <<<"$(awk -v p="L3-freed-$r-data-ok" '$1 == p { a = $2; m = $3 } END { print a + 0, m + 0 }' "$samples")"
	if [ "$a_hi" -ge 700 ] && [ "$a_lo" -le $((a_hi - 150)) ]; then
		t_ok "round $r: n's Assigned rose to $a_hi MiB while L3 held 400 MiB, fell to $a_lo MiB after"
	else
		t_not_ok "round $r: n's Assigned rose and fell" "high $a_hi, low $a_lo MiB"
	fi
	if [ "$r_lo" -gt 0 ] && [ "$r_hi" -ge $((r_lo + 250)) ]; then
		t_ok "round $r: n's VMM took $((r_hi - r_lo)) MiB from the host and gave it back ($r_hi -> $r_lo MiB RSS)"
	else
		t_not_ok "round $r: n's VMM gave memory back" "RSS high $r_hi, after $r_lo MiB"
	fi
done
t_expect "vm show n --json: dynamic memory on, with the extensions" 0 '"dynamic_memory_enabled": true' -- \
	"$NV" vm show n --json
t_summary
