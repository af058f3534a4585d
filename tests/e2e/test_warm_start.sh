#!/usr/bin/env bash
# Warm start (`nestvm run` from a snapshot of the booted default guest),
# end to end: the first run of a set-up boots and marks it seen, the second
# boots and takes the snapshot, later runs start from it, with the same
# output, arguments and exit statuses as a cold boot; two restored VMs share
# no random numbers and get the host's clock; a change of settings or files
# makes a new key; a damaged snapshot is said, replaced, and never used;
# --cold boots.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
# About 35 boots and restores: 4-6 minutes in a lab on a busy host (420 s,
# the default, cut a CI run's second try off before its summary).
export NESTVM_E2E_LAB_TIMEOUT=${NESTVM_E2E_LAB_TIMEOUT:-900}
export NESTVM_E2E_LAB_TRIES=${NESTVM_E2E_LAB_TRIES:-3}
t_kvm_or_lab linux "$0" "$@"
NV=${NESTVM:-build/nestvm}
export NESTVM_HOME
NESTVM_HOME=$(mktemp -d /tmp/nv-home.XXXXXX)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp" "$NESTVM_HOME"' EXIT
W=$NESTVM_HOME/warm
snapshots() { find "$W" -mindepth 1 -maxdepth 1 -type d ! -name '.*' 2>/dev/null | wc -l; }
# run OUT [nestvm run options and command]: stdout and stderr apart.
run() { local o=$1; shift; timeout 120 "$NV" run "$@" >"$o" 2>"$o.err" </dev/null; }

seen() { find "$W" -mindepth 1 -maxdepth 1 -name '*.seen' 2>/dev/null | wc -l; }
run "$tmp/once" -- sh -c 'echo S=$NESTVM_START'
t_status "the first run exits with its command's status" 0 $?
[ "$(cat "$tmp/once")" = S=cold ] && [ "$(snapshots)" = 0 ] && [ "$(seen)" = 1 ] &&
	t_ok "the first run boots and only marks its set-up seen" ||
	t_not_ok "the first run boots and only marks its set-up seen" \
		"$(cat "$tmp/once" "$tmp/once.err" | tr '\n' '|') $(ls -a "$W" 2>&1 | tr '\n' ' ')"
run "$tmp/first" -- sh -c 'echo S=$NESTVM_START'
t_status "the second run exits with its command's status" 0 $?
[ "$(cat "$tmp/first")" = S=cold ] && t_ok "the second run boots (NESTVM_START=cold)" ||
	t_not_ok "the second run boots" "$(head -c 300 "$tmp/first" "$tmp/first.err" | tr '\n' '|')"
d=$(find "$W" -mindepth 1 -maxdepth 1 -type d ! -name '.*' | head -n 1)
[ "$(snapshots)" = 1 ] && [ -s "$d/vm.state" ] && [ -s "$d/memory" ] && [ -s "$d/key" ] &&
	t_ok "it took one snapshot (vm.state, memory, key)" ||
	t_not_ok "it took one snapshot" "$(ls -laR "$W" 2>&1 | tr '\n' '|')"
[ ! -s "$tmp/first.err" ] && t_ok "taking it says nothing" || t_not_ok "taking it says nothing" "$(cat "$tmp/first.err")"

run "$tmp/warm" -- sh -c 'echo S=$NESTVM_START; exit 7'
t_status "a warm run exits with its command's status" 7 $?
[ "$(cat "$tmp/warm")" = S=warm ] && t_ok "the next run starts from the snapshot (NESTVM_START=warm)" ||
	t_not_ok "the next run starts from the snapshot" "$(head -c 300 "$tmp/warm" "$tmp/warm.err" | tr '\n' '|')"
[ ! -s "$tmp/warm.err" ] && t_ok "a warm start says nothing" || t_not_ok "a warm start says nothing" "$(cat "$tmp/warm.err")"
run "$tmp/args" -- printf '%s|' a 'b c' '' "d'e" '*' '$HOME'
[ "$(cat "$tmp/args")" = "a|b c||d'e|*|\$HOME|" ] && t_ok "the command's arguments arrive as given" ||
	t_not_ok "the command's arguments arrive as given" "$(cat "$tmp/args")"
run "$tmp/bytes" -- printf 'x\ny\n'
run "$tmp/bytes-cold" --cold -- printf 'x\ny\n'
cmp -s "$tmp/bytes" "$tmp/bytes-cold" && [ "$(od -An -c "$tmp/bytes" | tr -d ' ')" = 'x\ny\n' ] &&
	t_ok "output bytes are the command's, as on a cold boot (no CR)" ||
	t_not_ok "output bytes as on a cold boot" "warm: $(od -An -c "$tmp/bytes") cold: $(od -An -c "$tmp/bytes-cold")"
run "$tmp/missing" -- /no/such/program
st=$?
run "$tmp/missing-cold" --cold -- /no/such/program
t_status "a missing program's status is the cold boot's" $? $st
run "$tmp/cold" --cold -- sh -c 'echo S=$NESTVM_START'
[ "$(cat "$tmp/cold")" = S=cold ] && [ "$(snapshots)" = 1 ] && t_ok "--cold boots and takes no snapshot" ||
	t_not_ok "--cold boots and takes no snapshot" "$(cat "$tmp/cold") $(snapshots) snapshots"

# Two VMs from one snapshot: their own random numbers and boot ids, and
# the host's time.
# G: the VM generation ID's 16 bytes (0xff000, the DSDT's VGEN.ADDR).
probe='echo S=$NESTVM_START; echo R=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d " \n"); echo B=$(cat /proc/sys/kernel/random/boot_id); echo T=$(date +%s)
echo G=$(dd if=/dev/mem bs=16 skip=65280 count=1 2>/dev/null | od -An -tx1 | tr -d " \n"); echo V=$(grep -c VMGENCTR /sys/firmware/acpi/tables/DSDT)'
run "$tmp/p1" -- sh -c "$probe"
run "$tmp/p2" -- sh -c "$probe"
now=$(date +%s)
f() { sed -n "s/^$1=//p" "$2"; }
[ "$(f S "$tmp/p1")" = warm ] && [ "$(f S "$tmp/p2")" = warm ] && [ -n "$(f R "$tmp/p1")" ] &&
	[ "$(f R "$tmp/p1")" != "$(f R "$tmp/p2")" ] &&
	t_ok "two warm VMs read different /dev/urandom bytes" ||
	t_not_ok "two warm VMs read different /dev/urandom bytes" "$(cat "$tmp/p1" "$tmp/p2" | tr '\n' ' ')"
[ -n "$(f B "$tmp/p1")" ] && [ "$(f B "$tmp/p1")" != "$(f B "$tmp/p2")" ] &&
	t_ok "two warm VMs have different boot ids" ||
	t_not_ok "two warm VMs have different boot ids" "$(f B "$tmp/p1") $(f B "$tmp/p2")"
g1=$(f G "$tmp/p1")
[ "$(f V "$tmp/p1")" = 1 ] && [ "${#g1}" = 32 ] && [ "$g1" != 00000000000000000000000000000000 ] &&
	[ "$g1" != "$(f G "$tmp/p2")" ] &&
	t_ok "each restore writes a new VM generation ID (ACPI VMGENCTR)" ||
	t_not_ok "each restore writes a new VM generation ID" "$(grep -h '^[GV]=' "$tmp/p1" "$tmp/p2" | tr '\n' ' ')"
t2=$(f T "$tmp/p2")
[ -n "$t2" ] && [ $((now - t2)) -ge 0 ] && [ $((now - t2)) -le 10 ] &&
	t_ok "a warm VM's clock is the host's (within 10 s)" || t_not_ok "a warm VM's clock is the host's" "guest $t2, host $now"

# The console before the command: a shell reads what is typed (piped).
for i in 1 2; do
	out=$(printf '%s\n' "echo a''b" 'poweroff -f' | timeout 120 "$NV" run --append quiet 2>&1)
	t_has "interactive start $i reads its input" '^ab'
done

# Other settings or files: another key.
before=$(snapshots)
for i in 1 2 3; do run "$tmp/mem$i" --memory 320M -- sh -c 'echo S=$NESTVM_START'; done
[ "$(snapshots)" = $((before + 1)) ] && [ "$(cat "$tmp/mem2")" = S=cold ] && [ "$(cat "$tmp/mem3")" = S=warm ] &&
	t_ok "other memory: a snapshot of its own, then used" ||
	t_not_ok "other memory: a snapshot of its own" "$(snapshots) snapshots; $(cat "$tmp"/mem? | tr '\n' ' ')"
g=$tmp/guest
mkdir "$g" && cp "$(dirname "$NV")/guest/vmlinuz" "$(dirname "$NV")/guest/initrd.img" "$g/"
marks=$(seen)
NESTVM_GUEST_DIR=$g run "$tmp/g1" -- sh -c 'echo S=$NESTVM_START'
touch -d '2001-01-01' "$g/initrd.img"
NESTVM_GUEST_DIR=$g run "$tmp/g2" -- sh -c 'echo S=$NESTVM_START'
[ "$(cat "$tmp/g1")" = S=cold ] && [ "$(cat "$tmp/g2")" = S=cold ] && [ "$(seen)" = $((marks + 2)) ] &&
	t_ok "another initrd, then the same one changed: a new key each" ||
	t_not_ok "a changed initrd: a new key" "$(seen) seen; $(cat "$tmp/g1" "$tmp/g2" | tr '\n' ' ')"
rm -rf "$W"/*

# Damaged snapshots: said in one line, removed, taken again.
run "$tmp/d0" -- true
run "$tmp/d0" -- true
d=$(find "$W" -mindepth 1 -maxdepth 1 -type d ! -name '.*' | head -n 1)
damage() { # WHAT EXPECTED-NOTE: after the damage, a run boots and a new snapshot serves the next
	run "$tmp/d1" -- sh -c 'echo S=$NESTVM_START; exit 4'
	local st=$?
	out=$(cat "$tmp/d1.err")
	[ "$st" = 4 ] && [ "$(cat "$tmp/d1")" = S=cold ] && t_ok "$1: the run still runs its command (booted)" ||
		t_not_ok "$1: the run still runs its command" "status $st; $(cat "$tmp/d1" "$tmp/d1.err" | tr '\n' '|')"
	t_has "$1: said in one line" "^nestvm: note: warm start: $2.*; booting and taking a new snapshot\$"
	[ "$(wc -l <"$tmp/d1.err")" = 1 ] || t_not_ok "$1: one line" "$(cat "$tmp/d1.err")"
	run "$tmp/d2" -- sh -c 'echo S=$NESTVM_START'
	[ "$(cat "$tmp/d2")" = S=warm ] && t_ok "$1: the new snapshot serves the next run" ||
		t_not_ok "$1: the new snapshot serves the next run" "$(cat "$tmp/d2" "$tmp/d2.err" | tr '\n' '|')"
}
printf '\xff' | dd of="$d/vm.state" bs=1 seek=2000 conv=notrunc 2>/dev/null
damage "a flipped byte in vm.state" "state file $d/vm.state: section [a-z0-9:-]+: checksum mismatch"
truncate -s 1M "$d/memory"
damage "a truncated memory file" "memory file $d/memory: truncated"
sed -i 's/^config /config  /' "$d/key"
damage "a key for other settings" "warm-start snapshot $d: made for other files or settings"
rm "$d/key"
damage "a missing key" "warm-start snapshot $d: no readable key file"

# Two runs that take the snapshot at once: both run, one snapshot stays.
rm -rf "$W"/*
run "$tmp/c0" --memory 300M -- true
run "$tmp/c1" --memory 300M -- sh -c 'exit 5' &
p1=$!
run "$tmp/c2" --memory 300M -- sh -c 'exit 6' &
p2=$!
wait $p1
s1=$?
wait $p2
s2=$?
[ "$s1 $s2" = "5 6" ] && [ "$(snapshots)" = 1 ] && [ -z "$(find "$W" -mindepth 1 -maxdepth 1 -name '.*')" ] &&
	t_ok "two snapshot-taking runs at once: both run, one snapshot, no leftovers" ||
	t_not_ok "two snapshot-taking runs at once" "statuses $s1 $s2; $(ls -a "$W" | tr '\n' ' ')"

t_fails "a command too long for the warm-start line is refused" 2 'the command is too long' -- \
	"$NV" run -- echo "$(head -c 7000 /dev/zero | tr '\0' x)"
t_summary
