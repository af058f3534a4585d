#!/usr/bin/env bash
# Dynamic memory (issue 13) with a hypervisor inside, end to end in the lab:
# a named L2 with the extensions and dynamic memory (1G startup, 512M..2G)
# runs an L3 guest (with a balloon of its own) that keeps 4 MiB of data,
# fills 400 MiB, holds it, frees it, and fills it again. L3's freed pages go
# back to L2 (its balloon's free page reporting), L2's to the lab host. While
# L3 runs and keeps its data:
#   - L2's Assigned memory (vm show) rises above its minimum when L3 holds the
#     memory and falls back when L3 frees it;
#   - the host RSS of L2's VMM rises by most of the 400 MiB, falls, and rises
#     again (it gives memory back and takes it again);
#   - L3's data checksum stays the same, and L3 ends cleanly.
# (A default guest's dynamic memory: test_dynamic_memory.sh.)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
# Its own lab, apart from test_dynamic_memory.sh's, so that a lab host that
# dies here costs a retry of this part alone: an L2 whose memory moves while
# its L3 runs is a load of many nested exits under which the lab host died
# in some runs (lab/README.md, bench/balloon-churn). About 4 minutes in a
# lab of its own; 12 before it counts as wedged (a lab sharing its 2 cores
# with three others took more than 10), three tries at most: 36 minutes.
NESTVM_E2E_LAB_TIMEOUT=${NESTVM_E2E_LAB_TIMEOUT:-720}
NESTVM_E2E_LAB_TRIES=${NESTVM_E2E_LAB_TRIES:-3}
t_kvm_or_lab nested "$0" "$@"
NV=${NESTVM:-build/nestvm}
T=${NESTVM_E2E_TIMEOUT:-300}
export NESTVM_HOME
NESTVM_HOME=$(mktemp -d /tmp/nv-home.XXXXXX)
tmp=$(mktemp -d)
cleanup() {
	"$NV" vm stop n --force >/dev/null 2>&1
	rm -rf "$NESTVM_HOME" "$tmp"
}
trap cleanup EXIT

assigned() { vm_field "$1" MemoryAssigned | sed -n 's/^\([0-9]*\) MiB.*/\1/p'; }
vmm_pid() { vm_field "$1" Pid | grep -x '[0-9][0-9]*'; }
rss_mib() { awk '$1 == "VmRSS:" { print int($2 / 1024) }' "/proc/$1/status" 2>/dev/null; }
l3='mkdir -p /hold && mount -t tmpfs -o size=600m hold /hold || echo L3-no-tmpfs
head -c 4194304 /dev/urandom >/keep; k=$(md5sum </keep)
ok() { [ "$(md5sum </keep)" = "$k" ] && echo data-ok || echo data-BAD; }
echo L3-up
dd if=/dev/zero of=/hold/x bs=1M count=400 2>/dev/null; echo L3-held-1-bytes-$(wc -c </hold/x)
sleep 20
rm /hold/x; echo L3-freed-1-$(ok)
sleep 30
dd if=/dev/zero of=/hold/x bs=1M count=400 2>/dev/null; echo L3-held-2-bytes-$(wc -c </hold/x)
sleep 20
echo L3-done-$(ok)'
# L3 starts 40 s into n's boot, once n settled (its balloon inflated from
# its maximum down to its minimum): an L2's balloon churning while its L3
# boots is a load of many nested exits under which the lab's emulated SVM
# stalled the lab host itself (lab/README.md).
cmd=$(guest/encode-cmd sh -c 'sleep 40; exec "$@"' sh nestvm run --device balloon --memory 640M -- sh -c "$l3")
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
	last=$(grep -aoE 'L3-(held-[0-9]|freed-1|done)' "$LOG" | tail -n1)
	[ -n "$last" ] && phase=$last
	echo "$phase $(assigned n) $(rss_mib "$pid")" >>"$samples"
	[ "$phase" = L3-done ] && break
	sleep 2
done
echo "# n: phase, Assigned MiB, VMM RSS MiB, every 2 s:"
awk '{ printf "# %s\n", $0 }' "$samples" | uniq -c | awk '{ c = $1; $1 = ""; print $0 " (x" c ")" }' | head -n 60
grep -aq '^L3-done-' "$LOG" && t_ok "L3 ran to its end while n's memory moved" ||
	t_not_ok "L3 ran to its end" "last phase $phase; n: $("$NV" vm show n | grep -E '^(State|LastStop)' | tr -s ' ' | tr '\n' ' '); $(tail -c 300 "$LOG" | tr '\n' '|')"
for r in 1 2; do
	grep -aq "L3-held-$r-bytes-419430400" "$LOG" && t_ok "round $r: L3 holds 400 MiB" ||
		t_not_ok "round $r: L3 holds 400 MiB" "$(grep -ao "L3-held-$r[a-z0-9-]*" "$LOG")"
done
grep -aq '^L3-freed-1-data-ok' "$LOG" && grep -aq '^L3-done-data-ok' "$LOG" && t_ok "L3's data intact throughout" ||
	t_not_ok "L3's data intact throughout" "$(grep -aoE 'L3-(freed-1|done)-[a-zA-Z-]*' "$LOG" | tr '\n' ' ')"
# Highs while L3 holds its 400 MiB; the low at the end of the freed phase.
# (no process substitution: the lab has no /dev/fd)
high() { awk -v p="$1" '$1 == p { if ($2 > a) a = $2; if ($3 > m) m = $3 } END { print a + 0, m + 0 }' "$samples"; }
read -r a_hi1 r_hi1 <<<"$(high L3-held-1)"
read -r a_hi2 r_hi2 <<<"$(high L3-held-2)"
# The lows of the freed phase (its last samples already count the refill).
read -r a_lo r_lo <<<"$(awk '$1 == "L3-freed-1" && $3 > 0 { if (!n++ || $2 < a) a = $2; if (n == 1 || $3 < m) m = $3 } END { print a + 0, m + 0 }' "$samples")"
if [ "$a_hi1" -ge 612 ]; then
	t_ok "n's Assigned rose to $a_hi1 MiB while L3 held 400 MiB (its minimum: 512)"
else t_not_ok "n's Assigned rose while L3 held 400 MiB" "high $a_hi1 MiB"; fi
# L3 idle, n's demand (its own and L3's VMM after L3's reports) plus the
# buffer is below its minimum: it shrinks to about that.
if [ "$a_lo" -gt 0 ] && [ "$a_lo" -le 560 ]; then
	t_ok "n's Assigned fell back to $a_lo MiB once L3 freed its memory"
else t_not_ok "n's Assigned fell back once L3 freed its memory" "low $a_lo MiB (high $a_hi1 MiB)"; fi
if [ "$r_lo" -gt 0 ] && [ "$r_hi1" -ge $((r_lo + 250)) ]; then
	t_ok "n's VMM gave $((r_hi1 - r_lo)) MiB back to the host ($r_hi1 -> $r_lo MiB RSS)"
else t_not_ok "n's VMM gave memory back to the host" "RSS $r_hi1 -> $r_lo MiB"; fi
if [ "$a_hi2" -ge 612 ] && [ "$r_lo" -gt 0 ] && [ "$r_hi2" -ge $((r_lo + 250)) ]; then
	t_ok "and took it again: Assigned $a_hi2 MiB, RSS $r_lo -> $r_hi2 MiB while L3 held 400 MiB again"
else t_not_ok "n took the memory again" "Assigned $a_hi2, RSS $r_lo -> $r_hi2 MiB"; fi
t_expect "vm show n --json: dynamic memory on, with the extensions" 0 '"dynamic_memory_enabled": true' -- \
	"$NV" vm show n --json
t_summary
