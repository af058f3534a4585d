#!/usr/bin/env bash
# Host B of test_migrate_hosts.sh (run in lab B, or as a process on a host
# whose KVM nests): three targets in turn, as host A migrates to them.
#  0. `run --incoming tcp:ADDR:PORT0` without --nested: it must refuse A's
#     L2 (the extensions on) before any memory moves;
#  1. `run --incoming tcp:ADDR:PORT1`, killed (SIGKILL) once 8 MiB of
#     memory have arrived: a target host gone half-way;
#  2. `run --incoming tcp:ADDR:PORT2`, whose output (the messages, then the
#     migrated L2's console) streams out as it comes; it is stopped once
#     the L3 inside has printed 30 ticks here.
# Each target puts the disks A copies along in a folder of its own
# (--storage-path); after target 2 B reads the copies: the marker A's L2
# wrote before, how many of its sectors W-0, W-1, ... follow in a row, and
# how many sectors after the first missing one hold anything (a hole: a
# write lost), and runs `qemu-img check` on the qcow2 copy.
# "B: ..." lines say what happened; it asserts nothing itself.
# Usage: migrate_hosts_target.sh ADDR PORT0 PORT1 PORT2
set -u
cd "$(dirname "$0")/../.."
NV=${NESTVM:-build/nestvm}
addr=$1 p0=$2 p1=$3 p2=$4
d=$(mktemp -d /tmp/nv-target.XXXXXX)
export NESTVM_HOME=$d/home
tpid=''
trap '[ -z "$tpid" ] || kill -KILL "$tpid" 2>/dev/null; rm -rf "$d"' EXIT
say() { echo "B: $*"; }
now() { echo "${EPOCHREALTIME%.*}"; }
# What the source's VM is: a target refuses any other.
settings=(--nested --memory 1G)

# 0. The extensions off: a target A's L2 does not fit. A waits for its L3
# to count first: minutes in a loaded lab.
mkdir -p "$d/s0" "$d/s1" "$d/s2"
"$NV" run --incoming "tcp:$addr:$p0" --memory 1G --storage-path "$d/s0" >"$d/t0.out" 2>&1 </dev/null &
tpid=$!
say "target 0 (no --nested) waits at tcp:$addr:$p0"
end=$(($(now) + 300))
while [ "$(now)" -lt "$end" ] && kill -0 "$tpid" 2>/dev/null; do sleep 0.2; done
kill -KILL "$tpid" 2>/dev/null
wait "$tpid"
st=$?
say "target 0 exited $st: $(grep -v 'waiting for a migrating VM' "$d/t0.out" | tr '\n' '|')"
tpid=''

# 1. The incoming memory lands in $TMPDIR (a sparse file: du counts what
# arrived).
mkdir -p "$d/t1"
TMPDIR=$d/t1 "$NV" run --incoming "tcp:$addr:$p1" "${settings[@]}" --storage-path "$d/s1" >"$d/t1.out" 2>&1 </dev/null &
tpid=$!
say "target 1 waits at tcp:$addr:$p1"
end=$(($(now) + 300)) kib=0
while [ "$(now)" -lt "$end" ] && kill -0 "$tpid" 2>/dev/null; do
	kib=$(du -sk "$d"/t1/nestvm-incoming.* 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
	[ "$kib" -lt 8192 ] || break
	sleep 0.2
done
if [ "$kib" -ge 8192 ]; then
	kill -KILL "$tpid"
	say "killed target 1 with $kib KiB received"
else
	say "target 1 got only $kib KiB: $(tr '\n' '|' <"$d/t1.out")"
	kill -KILL "$tpid" 2>/dev/null
fi
wait "$tpid" 2>/dev/null
tpid=''

# 2. The migration that must arrive. Its output through a FIFO (the lab
# has no /dev/fd for a process substitution), read line by line.
mkfifo "$d/t2"
"$NV" run --incoming "tcp:$addr:$p2" "${settings[@]}" --storage-path "$d/s2" >"$d/t2" 2>&1 </dev/null &
tpid=$!
say "target 2 waits at tcp:$addr:$p2"
end=$(($(now) + 300)) ticks=0 here=''
while [ "$(now)" -lt "$end" ] && [ "$ticks" -lt 30 ]; do
	IFS= read -r -t 5 line && st=0 || st=$?
	[ "$st" -le 128 ] || continue # nothing for 5 s: look at the clock
	[ -z "$line" ] || printf '%s\n' "$line"
	[ "$st" = 0 ] || break # the end: the target is gone
	case $line in
	*'migrated VM runs here'*) here=1 ;;
	*L3-tick*) [ -z "$here" ] || ticks=$((ticks + 1)) ;;
	esac
done <"$d/t2"
say "target 2: $ticks L3 ticks here"
kill -TERM "$tpid" 2>/dev/null
wait "$tpid" 2>/dev/null
tpid=''

# The copies, as this host reads them.
sector() { dd if="$1" bs=512 skip="$2" count=1 2>/dev/null | tr -d '\000\n'; }
for f in raw qcow2; do
	img=$d/s2/data.$f
	[ -e "$img" ] || { say "copy $f: missing ($(ls "$d/s2" | tr '\n' ' '))"; continue; }
	if [ "$f" = qcow2 ]; then
		qemu-img check -q "$img" >/dev/null 2>&1 && say "copy qcow2: qemu-img check passes" ||
			say "copy qcow2: qemu-img check fails: $(qemu-img check "$img" 2>&1 | tail -n 2 | tr '\n' '|')"
		qemu-img convert -O raw "$img" "$d/q.raw" && img=$d/q.raw
	fi
	m=0
	while [ "$(sector "$img" $((1000 + m)))" = "W-$m" ]; do m=$((m + 1)); done
	holes=0
	for ((k = m + 1; k < m + 400; k++)); do [ -z "$(sector "$img" $((1000 + k)))" ] || holes=$((holes + 1)); done
	say "copy $f: before=$(sector "$img" 100) in-a-row=$m holes=$holes"
done
say "done"
