#!/usr/bin/env bash
# Checkpoints of a VM with a writable disk, on this host (no KVM needed: the
# VM is Off): each checkpoint freezes the disk's image and moves the VM onto
# a qcow2 overlay over it; a restore puts it on a new overlay over the
# checkpoint's image; deleting checkpoints removes images nothing needs and
# merges the rest back, so with no checkpoint left the VM is on its own disk
# file again, holding every write. The guest's writes are made with qemu-io
# (QEMU's own qcow2 code, which also proves our images are QEMU's format),
# and every image is checked with `qemu-img check` after every step.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
NV=${NESTVM_BIN:-build/nestvm}
case $NV in /*) ;; *) NV=$PWD/$NV ;; esac
T=$(mktemp -d)
export NESTVM_HOME=$T/home
trap 'rm -rf "$T"' EXIT
command -v qemu-img >/dev/null && command -v qemu-io >/dev/null ||
	{ t_not_ok "qemu-img and qemu-io are installed (scripts/setup: qemu-utils)" "missing"; t_summary; exit 1; }
DISKS=$NESTVM_HOME/vms/w/disks

disk_of() { "$NV" vm show w | sed -n 's/^Disk 0 *: \([^ ]*\).*/\1/p'; }
# check_all STEP: qemu-img check passes on every image of the VM.
check_all() {
	local f bad=''
	for f in "$DISKS"/*.qcow2; do
		[ -e "$f" ] || continue
		qemu-img check -q "$f" >/dev/null 2>&1 || bad="$bad $(basename "$f")"
	done
	[ -z "$bad" ] && t_ok "$1: qemu-img check passes on every image" ||
		t_not_ok "$1: qemu-img check" "fails on$bad"
}
# write_at IMAGE BYTE OFFSET: 64 KiB of BYTE through QEMU's qcow2 driver.
write_at() { qemu-io -f qcow2 -c "write -P $2 $3 64k" "$1" >/dev/null 2>&1; }
# byte_at FILE-OR-IMAGE OFFSET: the byte the disk holds there, as hex.
byte_at() {
	local fmt=raw
	case $1 in *.qcow2) fmt=qcow2 ;; esac
	qemu-io -r -f "$fmt" -c "read -v $2 1" "$1" 2>/dev/null | awk 'NR == 1 { print $2 }'
}

truncate -s 8M "$T/d.img"
printf 'AAAA' | dd of="$T/d.img" bs=1 seek=$((1 << 20)) conv=notrunc status=none
t_expect "create w with a writable raw disk" 0 'VM w created' -- "$NV" vm create w --disk "$T/d.img"

t_expect "checkpoint cp1 of w (Off)" 0 '^VM w: checkpoint cp1 taken' -- "$NV" vm checkpoint w cp1
d1=$(disk_of)
case $d1 in "$DISKS"/disk0-cp1-*.qcow2) t_ok "w is on an overlay now ($(basename "$d1"))" ;;
*) t_not_ok "w is on an overlay now" "disk 0 is $d1" ;; esac
t_expect "qemu-img info: the overlay is backed by the raw disk" 0 "backing file: $T/d.img" -- qemu-img info "$d1"
t_expect "its record names the same backing image" 0 "^$T/d.img\$" -- cat "$d1.backing"
check_all "after cp1"
write_at "$d1" 0x5a $((1 << 20)) && t_ok "the VM's disk takes a write (0x5a at 1M)" || t_not_ok "write at 1M" "qemu-io failed"
[ "$(byte_at "$T/d.img" $((1 << 20)))" = 41 ] && t_ok "the checkpoint's image is untouched" ||
	t_not_ok "the checkpoint's image is untouched" "byte at 1M is $(byte_at "$T/d.img" $((1 << 20)))"

t_expect "checkpoint cp2" 0 '^VM w: checkpoint cp2 taken' -- "$NV" vm checkpoint w cp2
d2=$(disk_of)
[ "$d2" != "$d1" ] && [ "$(cat "$d2.backing")" = "$d1" ] && t_ok "cp2 moves w onto an overlay over cp1's" ||
	t_not_ok "cp2's overlay" "disk $d2, backed by $(cat "$d2.backing" 2>&1)"
write_at "$d2" 0x6b $((2 << 20)) || t_not_ok "write at 2M" "qemu-io failed"
[ "$(byte_at "$d2" $((1 << 20)))$(byte_at "$d2" $((2 << 20)))" = 5a6b ] &&
	t_ok "the disk shows both writes through its chain" || t_not_ok "both writes" "$(byte_at "$d2" $((1 << 20))) $(byte_at "$d2" $((2 << 20)))"
check_all "after cp2"

t_expect "restore cp1" 0 '^VM w: checkpoint cp1 restored \(Off\)' -- "$NV" vm restore w cp1
d3=$(disk_of)
[ "$(cat "$d3.backing" 2>&1)" = "$T/d.img" ] && t_ok "w is on a new overlay over cp1's image" ||
	t_not_ok "overlay after restore" "disk $d3, backed by $(cat "$d3.backing" 2>&1)"
[ "$(byte_at "$d3" $((1 << 20)))$(byte_at "$d3" $((2 << 20)))" = 4100 ] &&
	t_ok "the disk is as it was at cp1 (neither write)" || t_not_ok "the disk at cp1" "$(byte_at "$d3" $((1 << 20))) $(byte_at "$d3" $((2 << 20)))"
[ ! -e "$d2" ] && [ -e "$d1" ] && t_ok "the overlay w ran on is gone; cp2's image stays" ||
	t_not_ok "images after restore" "$(ls "$DISKS" | tr '\n' ' ')"
check_all "after the restore"
t_expect "restore cp2: its writes come back" 0 'restored' -- "$NV" vm restore w cp2
d4=$(disk_of)
[ "$(byte_at "$d4" $((1 << 20)))$(byte_at "$d4" $((2 << 20)))" = 5a00 ] &&
	t_ok "the disk is as it was at cp2 (the write before it, not the one after)" ||
	t_not_ok "the disk at cp2" "$(byte_at "$d4" $((1 << 20))) $(byte_at "$d4" $((2 << 20)))"
write_at "$d4" 0x7c $((3 << 20)) || t_not_ok "write at 3M" "qemu-io failed"

t_expect "delete cp2" 0 '^VM w: checkpoint cp2 deleted' -- "$NV" vm checkpoint delete w cp2
check_all "after deleting cp2"
# This one merges (what w ran on since cp1, into the disk file): on a
# terminal it says how far it is; elsewhere it says nothing of it.
out=$("$(t_tool pty_run)" --timeout 120 -- "$NV" vm checkpoint delete w cp1 2>&1) && st=0 || st=$?
lines=$(printf '%s\n' "$out" | tr '\r' '\n')
[ "$st" = 0 ] && printf '%s\n' "$lines" | grep -q '^VM w: checkpoint cp1 deleted' &&
	printf '%s\n' "$lines" | grep -Eq 'nestvm: merging disk0-[^ ]*\.qcow2: 100% \(8 of 8 MiB\)' &&
	t_ok "delete cp1: on a terminal, the merge's progress to 100%" ||
	t_not_ok "delete cp1 with progress" "status $st: $(printf '%s' "$out" | tr '\r\n' '||')"
[ "$(disk_of)" = "$T/d.img" ] && t_ok "with no checkpoint left, w is on its own disk file again" ||
	t_not_ok "w's disk after deleting every checkpoint" "$(disk_of)"
[ -z "$(ls -A "$DISKS" 2>/dev/null)" ] && t_ok "no differencing disk is left" ||
	t_not_ok "no differencing disk is left" "$(ls "$DISKS" | tr '\n' ' ')"
[ "$(byte_at "$T/d.img" $((1 << 20)))$(byte_at "$T/d.img" $((2 << 20)))$(byte_at "$T/d.img" $((3 << 20)))" = 5a007c ] &&
	t_ok "the disk file holds the writes of the line it was on (merged)" ||
	t_not_ok "merged contents" "$(byte_at "$T/d.img" $((1 << 20))) $(byte_at "$T/d.img" $((2 << 20))) $(byte_at "$T/d.img" $((3 << 20)))"

# --- a Saved VM: its disks branch like an Off one's -----------------------
# (a stand-in saved state: a checkpoint of a Saved VM only links its files)
d6=$(disk_of)
mkdir -p "$NESTVM_HOME/vms/w/saved"
echo state >"$NESTVM_HOME/vms/w/saved/vm.state"
echo memory >"$NESTVM_HOME/vms/w/saved/memory"
sed -i 's/"state": "Off"/"state": "Saved"/' "$NESTVM_HOME/vms/w/vm.json"
t_expect "checkpoint of a Saved VM" 0 '^VM w: checkpoint sv taken \(running state\)' -- "$NV" vm checkpoint w sv
d7=$(disk_of)
[ "$d7" != "$d6" ] && [ "$(cat "$d7.backing" 2>&1)" = "$d6" ] && t_ok "the Saved VM moves onto an overlay over its disk" ||
	t_not_ok "the Saved VM's overlay" "disk $d7, backed by $(cat "$d7.backing" 2>&1)"
t_expect "it is still Saved" 0 '^w +Saved' -- "$NV" vm list w
t_expect "restore sv: Saved again, on a new overlay over sv's image" 0 'checkpoint sv restored \(Saved' -- \
	"$NV" vm restore w sv
[ "$(cat "$(disk_of).backing" 2>&1)" = "$d6" ] && [ ! -e "$d7" ] && t_ok "the overlay it was on is gone, sv's image stays" ||
	t_not_ok "images after restoring sv" "$(ls "$DISKS" | tr '\n' ' ')"
check_all "after the Saved VM's checkpoint and restore"
t_expect "delete-saved-state" 0 '' -- "$NV" vm delete-saved-state w

# --- records and images nestvm does not trust --------------------------
t_expect "checkpoint cp3" 0 'taken' -- "$NV" vm checkpoint w cp3
d5=$(disk_of)
cp "$d5.backing" "$T/rec"
echo "relative/path" >"$d5.backing"
t_fails "a backing record that is not an absolute path is refused" 2 "$d5.backing: not one absolute path" -- \
	"$NV" vm checkpoint w cp4
cp "$T/rec" "$d5.backing"
qemu-img create -q -f qcow2 -b "$T/d.img" -F raw "$T/ov.qcow2"
t_fails "run --disk of an overlay nestvm has no record of is refused" 2 "ov.qcow2.*backing" -- \
	"$NV" run --disk "$T/ov.qcow2" -- true
printf 'QFI\373garbage' >"$T/bad.qcow2"
t_fails "a corrupt qcow2 image is refused" 2 "bad.qcow2" -- "$NV" run --disk "$T/bad.qcow2" -- true

# --- vm delete keeps the disk file whole ---------------------------------
write_at "$(disk_of)" 0x3d $((4 << 20)) || t_not_ok "write at 4M" "qemu-io failed"
t_expect "vm delete w (with checkpoints)" 0 '^VM w deleted' -- "$NV" vm delete w
printf '%s\n' "$T_LAST_OUT" | grep -q merging && t_not_ok "vm delete's merge, not on a terminal: no progress" "$T_LAST_OUT" ||
	t_ok "vm delete's merge, not on a terminal: no progress lines"
[ "$(byte_at "$T/d.img" $((4 << 20)))" = 3d ] && t_ok "the disk file holds the last write (merged before the delete)" ||
	t_not_ok "the disk file after vm delete" "byte at 4M: $(byte_at "$T/d.img" $((4 << 20)))"
t_summary
