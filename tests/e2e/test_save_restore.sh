#!/usr/bin/env bash
# Save and restore while a nested guest runs (`nestvm run --save-on-exit DIR`
# / `--restore DIR`), end to end: an L2 with the extensions runs an L3 that
# prints a counter every 100 ms; SIGTERM saves L2 (vCPUs with their nested
# state, devices, memory); a new nestvm continues it: the L3 counter goes on
# with the next number, and neither L2 nor L3 booted again (their boot ids
# are the ones from before). Then damaged copies of the saved state are
# refused with one line naming the file, and the original still restores.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
t_kvm_or_lab nested "$0" "$@"
NV=${NESTVM:-build/nestvm}
T=${NESTVM_E2E_TIMEOUT:-300}
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

ticks() { grep -aoE 'L3-tick [0-9]+' "$1" | awk '{ print $2 }'; }
boot_ids() { grep -aoE "$2-boot=[0-9a-f-]{36}" "$1" | sort -u; }

# L2 prints its boot id once, before L3 starts (a second line from a
# process of its own could interleave with L3's on the one console); L3
# prints its own every 10 ticks. Both boot quiet (a full kernel log under the lab's emulated SVM
# risks its faults, lab/README.md).
l3='echo L3-boot=$(cat /proc/sys/kernel/random/boot_id); i=0; while :; do echo L3-tick $i; [ $((i % 10)) = 0 ] && echo L3-boot=$(cat /proc/sys/kernel/random/boot_id); i=$((i + 1)); sleep 0.1; done'
l2="echo L2-boot=\$(cat /proc/sys/kernel/random/boot_id)
nestvm run --memory 256M --append quiet -- sh -c '$l3'"

# The guest's console (stdout) and nestvm's own words (stderr) apart: the
# save may cut a guest line in two, and the two outputs joined are then the
# console as the guest wrote it.
"$NV" run --nested --memory 1G --append quiet --save-on-exit "$tmp/l2" -- sh -c "$l2" \
	>"$tmp/out1" 2>"$tmp/err1" </dev/null &
pid=$!
pids+=("$pid")
if t_wait_for "$tmp/out1" 'L3-tick 30' "$T"; then t_ok "L2 runs an L3 that counts"
else t_not_ok "L2 runs an L3 that counts" "$(tail -c 400 "$tmp/out1" | tr '\n' '|')"; fi
kill -TERM "$pid"
wait "$pid"
t_status "SIGTERM with --save-on-exit saves and exits 0" 0 $?
out=$(cat "$tmp/err1")
t_has "it says where it saved" "^nestvm: saved to $tmp/l2 "
last=$(ticks "$tmp/out1" | tail -n 1)
[ -s "$tmp/l2/vm.state" ] && [ -s "$tmp/l2/memory" ] && t_ok "the state and memory files exist" ||
	t_not_ok "the state and memory files exist" "$(ls -la "$tmp/l2" 2>&1 | tr '\n' '|')"
mkdir "$tmp/orig" && cp "$tmp/l2/vm.state" "$tmp/orig/" && ln "$tmp/l2/memory" "$tmp/orig/memory"

# --- restore: the counter goes on, nothing rebooted ---------------------
restore_and_count() { # DIR OUT: restores, waits for 20 more ticks, stops it
	"$NV" run --restore "$1" >"$2" 2>"$2.err" </dev/null &
	local p=$!
	pids+=("$p")
	t_wait_for "$2" "L3-tick $((last + 20))" "$T"
	local seen=$?
	kill -TERM "$p" 2>/dev/null
	wait "$p"
	return $seen
}
if restore_and_count "$tmp/l2" "$tmp/out2"; then t_ok "after restore L3 counts on (to $((last + 20)))"
else t_not_ok "after restore L3 counts on" "$(tail -c 400 "$tmp/out2" | tr '\n' '|')"; fi
cat "$tmp/out1" "$tmp/out2" | tr -d '\r' >"$tmp/console"
whole() { grep -aE "^$1" "$tmp/console"; } # whole lines of the joined console
first=$(grep -aoE 'L3-tick [0-9]+' "$tmp/out2" | head -n 1 | awk '{ print $2 }')
[ -n "$first" ] && [ "$first" -ge "$last" ] && [ "$first" -le $((last + 1)) ] &&
	t_ok "after restore L3 goes on from where it was saved (last $last, then $first)" ||
	t_not_ok "after restore L3 goes on from where it was saved" "last before: $last, first after: ${first:-none}"
gaps=$(whole 'L3-tick [0-9]+$' | awk '{ print $2 }' |
	awk 'NR == 1 && $1 != 0 { printf "start %d ", $1 } NR > 1 && $1 != prev + 1 { printf "%d->%d ", prev, $1 } { prev = $1 }')
[ -z "$gaps" ] && t_ok "the console shows every tick once, across the save and restore" ||
	t_not_ok "the console shows every tick once" "jumps: $gaps"
l3ids=$(whole 'L3-boot=[0-9a-f-]{36}$' | sort -u)
[ "$(printf '%s\n' "$l3ids" | grep -c .)" = 1 ] && [ "$(whole 'L3-boot=[0-9a-f-]{36}$' | wc -l)" -ge 4 ] &&
	t_ok "L3 did not boot again (one boot id, before and after)" ||
	t_not_ok "L3 did not boot again (one boot id)" "$(printf '%s' "$l3ids" | tr '\n' ' ')"
# L2 booting again would run its command again: a second L2-boot line.
[ "$(whole 'L2-boot=' | wc -l)" = 1 ] && t_ok "L2 did not boot again (its command did not start over)" ||
	t_not_ok "L2 did not boot again" "$(whole 'L2-boot=' | tr '\n' ' ')"
out=$(cat "$tmp/out2.err")
t_has "without --save-on-exit SIGTERM just stops it" '^nestvm: stopped by Terminated'

# --- a damaged state is refused with one line, and nothing is lost -------
damaged() { # NAME: a copy of the original's state (its memory linked) to damage
	rm -rf "$tmp/$1"
	mkdir "$tmp/$1"
	cp "$tmp/orig/vm.state" "$tmp/$1/"
	ln "$tmp/orig/memory" "$tmp/$1/memory"
	echo "$tmp/$1"
}
d=$(damaged flip)
printf '\xff' | dd of="$d/vm.state" bs=1 seek=2000 conv=notrunc 2>/dev/null
t_fails "a flipped byte in the state file is refused naming it" 2 \
	"^nestvm: state file $d/vm.state: section [a-z0-9:-]+: checksum mismatch" -- "$NV" run --restore "$d"
d=$(damaged trunc)
truncate -s 100 "$d/vm.state"
t_fails "a truncated state file is refused" 2 "^nestvm: state file $d/vm.state: " -- "$NV" run --restore "$d"
d=$(damaged version)
printf '\x07' | dd of="$d/vm.state" bs=1 seek=8 conv=notrunc 2>/dev/null
t_fails "a newer format version is refused" 2 "^nestvm: state file $d/vm.state: format version 7" -- \
	"$NV" run --restore "$d"
d=$(damaged memory)
rm "$d/memory" # the link: the original stays whole
head -c 4096 "$tmp/orig/memory" >"$d/memory" # its header, then too little RAM
truncate -s 1M "$d/memory"
t_fails "a truncated memory file is refused" 2 "^nestvm: memory file $d/memory: truncated" -- \
	"$NV" run --restore "$d"
d=$(damaged nomem)
rm "$d/memory"
t_fails "a missing memory file is refused" 2 "^nestvm: memory file $d/memory: No such file" -- \
	"$NV" run --restore "$d"
t_fails "a directory without a state is refused" 2 "^nestvm: state file $tmp/none/vm.state: No such file" -- \
	"$NV" run --restore "$tmp/none"
cmp -s "$tmp/orig/vm.state" "$tmp/l2/vm.state" && t_ok "restoring did not change the saved state" ||
	t_not_ok "restoring did not change the saved state" "vm.state differs"
# --- after a restore, the guest's user space still does port I/O --------
# (the default guest's init reports its command's status with an outb from
# user space: the lab's emulated SVM once faulted exactly that after a
# KVM_SET_SREGS, lab/README.md)
"$NV" run --memory 256M --append quiet --save-on-exit "$tmp/short" -- \
	sh -c 'i=0; while [ $i -lt 80 ]; do echo S-tick $i; i=$((i + 1)); sleep 0.1; done; exit 5' \
	>"$tmp/s1" 2>&1 </dev/null &
pid=$!
pids+=("$pid")
t_wait_for "$tmp/s1" 'S-tick 10' "$T" || true
kill -TERM "$pid"
wait "$pid"
t_status "a short counter is saved (exit 0)" 0 $?
timeout "$T" "$NV" run --restore "$tmp/short" >"$tmp/s2" 2>&1 </dev/null
st=$?
out=$(cat "$tmp/s2")
t_status "restored, it finishes and its status comes back through user-space port I/O" 5 "$st"
t_has "it counted to the end after the restore" '^S-tick 79'
t_summary
