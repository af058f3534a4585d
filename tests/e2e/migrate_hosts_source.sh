#!/usr/bin/env bash
# Host A of test_migrate_hosts.sh (run in lab A, or as a process on a host
# whose KVM nests): an L2 named n with the extensions runs an L3 that
# prints a counter every 100 ms and writes to its disk every second; n has
# a raw and a qcow2 data disk, which the L2 writes a marker to, then a
# sector a second (silently: the console is L3's), and every migration
# copies them along (--copy-disks: the hosts share nothing). n's migrations
# to host B's first target
# (no --nested: it must refuse n) and to its second (which B kills
# half-way) must fail with n running on; then n moves to B's third. It prints what happened as "A: KEY ..." lines and, at the
# end, n's console log between "A: log begin" and "A: log end"; it asserts
# nothing itself (test_migrate_hosts.sh does, from both hosts' output).
# Usage: migrate_hosts_source.sh B_ADDR PORT0 PORT1 PORT2
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
NV=${NESTVM:-build/nestvm}
T=${NESTVM_E2E_TIMEOUT:-200}
b=$1 p0=$2 p1=$3 p2=$4
export NESTVM_HOME
NESTVM_HOME=$(mktemp -d /tmp/nv-home.XXXXXX)
trap '"$NV" vm stop n --force >/dev/null 2>&1; rm -rf "$NESTVM_HOME"' EXIT
LOG=$NESTVM_HOME/vms/n/console.log

T0=${EPOCHREALTIME%.*}
say() { echo "A: $*"; }
# at: seconds since this script started, for the timeline in "A: ..." lines
at() { echo "$((${EPOCHREALTIME%.*} - T0)) s"; }
state_of() { "$NV" vm show "$1" 2>/dev/null | sed -n 's/^State *: *//p'; }
last_tick() { grep -aoE 'L3-tick [0-9]+' "$LOG" | awk '{ print $2 }' | tail -n 1; }
# tick_past N SECONDS: until L3 has counted past N. Not a wait for one
# number: L2's own line may cut one of L3's in two (one console).
tick_past() {
	local i t
	for ((i = 0; i < $2 * 5; i++)); do
		t=$(last_tick)
		[ "${t:-0}" -le "$1" ] || return 0
		sleep 0.2
	done
	return 1
}
type_in() { vm_type_in n "$@"; } # LINE...: typed into n's console
# migrate ARGS...: vm migrate n, again while B's target is not listening yet
# (B starts its targets on its own clock); sets mig_out and mig_st.
migrate() {
	local i
	for ((i = 0; i < 60; i++)); do
		mig_out=$("$NV" vm migrate n "$@" 2>&1) && mig_st=0 || mig_st=$?
		[[ $mig_out == *"cannot reach the target"* ]] || return 0
		sleep 1
	done
}
fin() { # the log for the test, then the end
	say "log begin"
	cat "$LOG"
	# Right after the log's last byte: the test joins a line cut by the
	# migration (its start here, its end on B) back together.
	echo '@END@'
	say "log end"
	exit 0
}

truncate -s 16M "$NESTVM_HOME/data.raw"
qemu-img create -q -f qcow2 "$NESTVM_HOME/data.qcow2" 16M || { say "setup failed: qemu-img create"; fin; }
"$NV" vm create n --nested --memory 1G --append quiet --disk "$NESTVM_HOME/data.raw" \
	--disk "$NESTVM_HOME/data.qcow2" >/dev/null || { say "setup failed: vm create"; fin; }
"$NV" vm start n >/dev/null || { say "setup failed: vm start"; fin; }
vm_wait_prompt n "$T" || { say "setup failed: no shell prompt"; fin; }
# L2's boot id every second, so that B's output shows L2 did not boot again.
# Every 10th tick L3 writes "D<tick>" to a sector of its disk (a file in
# L2's memory, which moves with it) and reads back the one it wrote 10
# ticks before: "L3-disk <that tick>=D<what the sector holds>".
l3='echo L3-boot=$(cat /proc/sys/kernel/random/boot_id); i=0; while :; do echo L3-tick $i; if [ $((i % 10)) = 0 ]; then echo L3-boot=$(cat /proc/sys/kernel/random/boot_id); echo D$i | dd of=/dev/vda bs=512 seek=$((i / 10 % 8)) conv=fsync 2>/dev/null; echo "L3-disk $((i - 10))=$(dd if=/dev/vda bs=512 skip=$(((i / 10 + 7) % 8)) count=1 2>/dev/null | tr -d "\\000")"; fi; i=$((i + 1)); sleep 0.1; done'
type_in '(while :; do echo L2-boot=$(cat /proc/sys/kernel/random/boot_id); sleep 1; done) &' \
	'w() { echo "$2" | dd of=$1 bs=512 seek=$3 conv=notrunc,fsync 2>/dev/null; }' \
	'(w /dev/vda BEFORE-raw 100; w /dev/vdb BEFORE-qcow 100; i=0; while [ $i -lt 4000 ]; do w /dev/vda W-$i $((1000 + i)); w /dev/vdb W-$i $((1000 + i)); i=$((i + 1)); sleep 1; done) &' \
	"truncate -s 64K /tmp/l3.img; (nestvm run --memory 256M --disk /tmp/l3.img --append quiet -- sh -c '$l3' &)"
tick_past 30 "$T" || { say "setup failed: L3 does not count"; fin; }
say "L3 counts (at $(at))"

# Refused: a target without the extensions, before any memory moves.
migrate --to "tcp:$b:$p0" --copy-disks
say "refused: status $mig_st: $mig_out"
say "refused: state $(state_of n)"

# Abandoned: B kills its first target once part of the memory is there
# (2 MB/s, so that it is caught half-way).
migrate --to "tcp:$b:$p1" --bandwidth 2 --copy-disks
say "abandoned: status $mig_st: $mig_out"
say "abandoned: state $(state_of n)"
n=$(last_tick)
if tick_past $((${n:-0} + 9)) 60; then say "abandoned: L3 counts on from ${n:-none} (to $(last_tick) at $(at))"
else say "abandoned: L3 stopped at ${n:-none}"; fi

say "migrating at $(at)"
migrate --to "tcp:$b:$p2" --copy-disks
say "migrated: status $mig_st: $mig_out"
say "migrated: state $(state_of n)"
say "migrated: last tick here $(last_tick)"
fin
