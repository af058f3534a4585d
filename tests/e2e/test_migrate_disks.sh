#!/usr/bin/env bash
# Live migration with --copy-disks (issue 12) on one host, end to end: a VM
# with a raw data disk (/dev/vda) and a qcow2 one (/dev/vdb) moves to a
# target that makes copies of both in its --storage-path folder.
#  - a missing storage folder is refused before anything waits;
#  - a storage folder that already holds data.qcow2: refused at CONFIG, the
#    raw copy made just before is removed, the existing file untouched, the
#    source runs on;
#  - a migration abandoned after the disks were copied (--max-rounds 1
#    --downtime-ms 1 against a guest that writes): no copy is left;
#  - then it moves: the guest wrote a marker before the migration and one
#    sector a tick during it (to both disks, with fsync); on the target it
#    drops its page cache and reads every one back; the host compares the
#    copies' bytes with what the guest wrote; the raw copy is sparse and
#    `qemu-img check` passes on the qcow2 one.
# (Its own script rather than part of test_migrate.sh: one lab run for the
# disks alone.)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
# Two guests and many small disk writes and reads through the emulator:
# 4-6 minutes in a lab of its own here; 12 before it counts as wedged.
export NESTVM_E2E_LAB_TIMEOUT=${NESTVM_E2E_LAB_TIMEOUT:-720}
t_kvm_or_lab linux "$0" "$@"
NV=${NESTVM:-build/nestvm}
T=${NESTVM_E2E_TIMEOUT:-300}
export NESTVM_HOME
NESTVM_HOME=$(mktemp -d /tmp/nv-home.XXXXXX)
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	"$NV" vm stop d --force >/dev/null 2>&1
	"$NV" vm stop e --force >/dev/null 2>&1
	"$NV" vm stop e2 --force >/dev/null 2>&1
	rm -rf "$NESTVM_HOME" "$tmp"
}
trap cleanup EXIT

TICKS=80
type_in() { vm_type_in d "$@"; }
state_of() { vm_field "$1" State; }
# sectors FILE FIRST N: N sectors of a raw image, NULs and newlines dropped
# per sector, one line each
sectors() {
	local i
	for ((i = 0; i < $3; i++)); do
		dd if="$1" bs=512 skip=$(($2 + i)) count=1 2>/dev/null | tr -d '\000\n'
		echo
	done
}

command -v qemu-img >/dev/null || t_not_ok "qemu-img is here (lab/build: LAB_HOST_BINS)" "missing"
truncate -s 64M "$tmp/data.raw"
qemu-img create -q -f qcow2 "$tmp/data.qcow2" 64M
store=$tmp/store
mkdir "$store"

t_fails "a missing --storage-path folder is refused" 2 "^nestvm: --storage-path '$tmp/nowhere': not an existing folder" -- \
	"$NV" run --incoming "unix:$tmp/x.sock" --storage-path "$tmp/nowhere"
t_fails "--storage-path needs --incoming" 2 "^nestvm: --storage-path is where --incoming puts copied disks" -- \
	"$NV" run --storage-path "$store"

DLOG=$NESTVM_HOME/vms/d/console.log
t_expect "create d (256M, a raw and a qcow2 disk)" 0 'VM d created' -- \
	"$NV" vm create d --memory 256M --append quiet --disk "$tmp/data.raw" --disk "$tmp/data.qcow2"
t_expect "start d" 0 '^VM d started' -- "$NV" vm start d
if vm_wait_prompt d "$T"; then t_ok "d reaches its shell prompt"
else t_not_ok "d reaches its shell prompt" "$(tail -c 300 "$DLOG" | tr '\n' '|')"; fi
type_in 'w() { echo "$2" | dd of=$1 bs=512 seek=$3 conv=notrunc,fsync 2>/dev/null; }' \
	"r() { dd if=\$1 bs=512 skip=\$2 count=1 2>/dev/null | tr -d '\\000\\n'; }" \
	'w /dev/vda BEFORE-raw 100; w /dev/vdb BEFORE-qcow 100; echo MARKED-$(r /dev/vda 100)-$(r /dev/vdb 100)'
if t_wait_for "$DLOG" 'MARKED-BEFORE-raw-BEFORE-qcow' 60; then t_ok "the guest wrote a marker to each disk"
else t_not_ok "the guest wrote a marker to each disk" "$(tail -c 300 "$DLOG" | tr '\n' '|')"; fi

# A folder that holds data.qcow2 already: data.raw is made first (disk 0),
# then data.qcow2 is refused; nothing is left, the old file is as it was.
echo precious >"$store/data.qcow2"
t_incoming "$tmp/e.out" "unix:$tmp/e.sock" --memory 256M --storage-path "$store"
t_fails "a copy that would overwrite a file is refused" 2 \
	"not migrated \(it runs on here\): (VM d: )?the target refused the VM: the copy of a disk would overwrite $store/data.qcow2: it exists" -- \
	"$NV" vm migrate d --to "unix:$tmp/e.sock" --copy-disks
wait "$TPID"
t_status "that target exits 2" 2 $?
[ "$(cat "$store/data.qcow2")" = precious ] && t_ok "the existing file is untouched" ||
	t_not_ok "the existing file is untouched" "$(head -c 100 "$store/data.qcow2" | od -c | head -2)"
[ ! -e "$store/data.raw" ] && t_ok "the raw copy made before the refusal is gone" ||
	t_not_ok "the raw copy made before the refusal is gone" "$(ls -l "$store")"
rm -f "$store/data.qcow2"
[ "$(state_of d)" = Running ] && t_ok "d runs on after the refusal" || t_not_ok "d runs on after the refusal" "$(vm_stop_of d)"

# The guest writes sector 1000+i of both disks each tick (fsync), then,
# once done, drops its page cache and reads them all back.
type_in "(i=0; while [ \$i -lt $TICKS ]; do w /dev/vda DURING-\$i \$((1000 + i)); w /dev/vdb DURING-\$i \$((1000 + i)); echo D-tick \$i; i=\$((i + 1)); sleep 0.1; done; echo 3 > /proc/sys/vm/drop_caches; ok=0; i=0; while [ \$i -lt $TICKS ]; do [ \"\$(r /dev/vda \$((1000 + i)))\$(r /dev/vdb \$((1000 + i)))\" = \"DURING-\${i}DURING-\$i\" ] && ok=\$((ok + 1)); i=\$((i + 1)); done; echo \"V-ok=\$ok R-before=\$(r /dev/vda 100)/\$(r /dev/vdb 100)\") &"
if t_wait_for "$DLOG" 'D-tick 5' "$T"; then t_ok "d writes a sector a tick"
else t_not_ok "d writes a sector a tick" "$(tail -c 300 "$DLOG" | tr '\n' '|')"; fi

# Abandoned after the disks' copy (the guest writes memory faster than 1 ms
# of link carries): the target removes its copies.
t_incoming "$tmp/c.out" "unix:$tmp/c.sock" --memory 256M --storage-path "$store"
t_fails "a migration that does not converge fails (after the disks were copied)" 2 \
	'not migrated \(it runs on here\): (VM d: )?the guest writes memory faster than the link carries it' -- \
	"$NV" vm migrate d --to "unix:$tmp/c.sock" --copy-disks --downtime-ms 1 --max-rounds 1
wait "$TPID"
t_status "that target gives up (exit 2)" 2 $?
out=$(cat "$tmp/c.out.err")
t_has "it was told why" 'did not arrive: the source abandoned the migration'
[ -z "$(ls -A "$store")" ] && t_ok "no partial copy is left in the storage folder" ||
	t_not_ok "no partial copy is left in the storage folder" "$(ls -l "$store" | tr '\n' '|')"
[ "$(state_of d)" = Running ] && t_ok "d is still Running" || t_not_ok "d is still Running" "$(vm_stop_of d)"

# The move, the guest writing all the while.
t_incoming "$tmp/m.out" "unix:$tmp/m.sock" --memory 256M --storage-path "$store"
n0=$(t_last_number "$DLOG" D-tick)
t_expect "vm migrate d --copy-disks" 0 "^VM d: [0-9.]+ MB of disk data copied" -- \
	"$NV" vm migrate d --to "unix:$tmp/m.sock" --copy-disks
echo "# $(printf '%s' "$T_LAST_OUT" | tr '\n' ' ')"
n1=$(t_last_number "$DLOG" D-tick)
again=$(sed -n 's/.*disk data copied (\([0-9]*\) blocks of 64 KiB again.*/\1/p' <<<"$T_LAST_OUT")
[ -n "$again" ] && [ "$again" -ge 1 ] &&
	t_ok "the guest wrote to its disks during the migration: $again blocks went again (ticks $n0 to $n1 here)" ||
	t_not_ok "the guest wrote to its disks during the migration" "${again:-no} blocks again, ticks ${n0:-none} to ${n1:-none}"
t_wait_for "$tmp/m.out.err" 'migrated VM runs here' 30 >/dev/null
out=$(cat "$tmp/m.out.err")
t_has "the target made the copies in the storage folder" "received [0-9.]+ MB of disk data into 2 new files \($store/data.raw, \.\.\.\)"
if t_wait_for "$tmp/m.out" 'V-ok=' $((T + 60)); then t_ok "the guest finishes on the target"
else t_not_ok "the guest finishes on the target" "$(tail -c 300 "$tmp/m.out" | tr '\n' '|') $(tail -c 300 "$tmp/m.out.err")"; fi
out=$(tr -d '\r' <"$tmp/m.out")
t_has "on the target the guest reads back every sector it wrote, before and during the move" \
	"V-ok=$TICKS R-before=BEFORE-raw/BEFORE-qcow"
kill -TERM "$TPID"
wait "$TPID"

# The copies' bytes, as the host reads them.
qemu-img check -q "$store/data.qcow2" >/dev/null 2>&1 && t_ok "qemu-img check passes on the qcow2 copy" ||
	t_not_ok "qemu-img check passes on the qcow2 copy" "$(qemu-img check "$store/data.qcow2" 2>&1 | tail -n 3 | tr '\n' '|')"
t_expect "the qcow2 copy is a qcow2 image of the disk's size" 0 'file format: qcow2' -- qemu-img info "$store/data.qcow2"
qemu-img convert -O raw "$store/data.qcow2" "$tmp/q.raw"
for i in $(seq 0 $((TICKS - 1))); do echo "DURING-$i"; done >"$tmp/expect"
for f in "$store/data.raw" "$tmp/q.raw"; do
	what=$([ "$f" = "$tmp/q.raw" ] && echo qcow2 || echo raw)
	mark=$([ "$what" = raw ] && echo BEFORE-raw || echo BEFORE-qcow)
	[ "$(sectors "$f" 100 1)" = "$mark" ] && t_ok "the $what copy holds the marker written before" ||
		t_not_ok "the $what copy holds the marker written before" "$(sectors "$f" 100 1)"
	if sectors "$f" 1000 "$TICKS" | cmp -s - "$tmp/expect"; then t_ok "the $what copy holds every sector written during the move"
	else t_not_ok "the $what copy holds every sector written during the move" "$(sectors "$f" 1000 "$TICKS" | diff - "$tmp/expect" | head -n 4 | tr '\n' '|')"; fi
done
[ "$(stat -c %s "$store/data.raw")" = $((64 << 20)) ] && t_ok "the raw copy has the disk's size" ||
	t_not_ok "the raw copy has the disk's size" "$(stat -c %s "$store/data.raw")"
alloc=$(($(stat -c %b "$store/data.raw") * 512))
[ "$alloc" -lt $((8 << 20)) ] && t_ok "the raw copy is sparse ($alloc bytes allocated)" ||
	t_not_ok "the raw copy is sparse" "$alloc bytes allocated"
t_expect "d is Off here, migrated" 0 "migrated to unix:$tmp/m.sock" -- "$NV" vm show d

# A named target: vm receive --storage-path. Its record names the copy.
ELOG=$NESTVM_HOME/vms/e/console.log
store2=$tmp/store2
mkdir "$store2"
truncate -s 16M "$tmp/e-data.raw"
t_fails "vm receive: a missing --storage-path folder" 2 "^nestvm: --storage-path '$tmp/nowhere': not an existing folder" -- \
	"$NV" vm receive e2 --listen "unix:$tmp/r.sock" --storage-path "$tmp/nowhere"
t_expect "create e (a raw disk)" 0 'VM e created' -- "$NV" vm create e --memory 256M --append quiet --disk "$tmp/e-data.raw"
t_expect "start e" 0 '^VM e started' -- "$NV" vm start e
if vm_wait_prompt e "$T"; then t_ok "e reaches its shell prompt"
else t_not_ok "e reaches its shell prompt" "$(tail -c 300 "$ELOG" | tr '\n' '|')"; fi
vm_type_in e 'echo E-before | dd of=/dev/vda bs=512 seek=100 conv=notrunc,fsync 2>/dev/null; echo E-written'
t_wait_for "$ELOG" '^E-written' 60 >/dev/null
t_expect "vm receive e2 --storage-path" 0 "^VM e2 is Receiving" -- \
	"$NV" vm receive e2 --listen "unix:$tmp/r.sock" --storage-path "$store2"
t_expect "vm migrate e --copy-disks to e2" 0 "^VM e: [0-9.]+ MB of disk data copied" -- \
	"$NV" vm migrate e --to "unix:$tmp/r.sock" --copy-disks
t_expect "e2 is Running" 0 '^e2 +Running' -- "$NV" vm list e2
t_expect "e2's record names the copy" 0 "^Disk 0 +: $store2/e-data.raw\$" -- "$NV" vm show e2
[ "$(sectors "$store2/e-data.raw" 100 1)" = E-before ] && t_ok "the copy holds what e wrote before the move" ||
	t_not_ok "the copy holds what e wrote before the move" "$(sectors "$store2/e-data.raw" 100 1)"
"$NV" vm stop e2 --force >/dev/null 2>&1
t_summary
