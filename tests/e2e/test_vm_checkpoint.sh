#!/usr/bin/env bash
# Checkpoints of a VM that runs a hypervisor (Hyper-V's Checkpoint-VM,
# Get-VMCheckpoint, Restore-VMCheckpoint, Remove-VMCheckpoint), end to end:
# a named L2 with the extensions runs an L3 that prints a counter every
# 100 ms; `vm checkpoint` takes L2 at one instant while everything runs on;
# a file is then written in L2; `vm restore` + `vm start` bring L2 back to
# that instant: the L3 counter goes on from the checkpoint's number, L3 did
# not boot again, and the file written after the checkpoint is gone while
# one written before is there. L2 also has a writable raw disk: what it
# wrote there after the checkpoint is gone too (the checkpoint froze the
# disk's image and L2 ran on a qcow2 overlay), and `qemu-img check` passes on
# every differencing disk after every step. Checkpoint names, the tree and
# deletion, an Off VM's checkpoint (its settings), and deleting the last
# checkpoint merging the disk back into its file, too.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
# 3.5-4 minutes in a lab of its own here, about 1.5 times that on CI's
# machines: 12 before it counts as wedged. Three tries at most: CI's run of
# 99d1aee failed it on L2's triple fault after the restore (L3 had counted
# on), while this host passed it 3 of 3 (lab/README.md); LastStop now says
# where the vCPU was.
export NESTVM_E2E_LAB_TIMEOUT=${NESTVM_E2E_LAB_TIMEOUT:-720}
export NESTVM_E2E_LAB_TRIES=${NESTVM_E2E_LAB_TRIES:-3}
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
LOG=$NESTVM_HOME/vms/n/console.log

# Whole lines only: the console's last line may still be arriving ("L3-tick
# 3" of a 31), and L2's bytes can follow a tick on its line.
ticks() { tail -c +$(($1 + 1)) "$LOG" | sed '$!b; /\r$/!d' | grep -aoE 'L3-tick [0-9]+'$'\r''$' | awk '{ print $2 + 0 }'; }
last_tick() { ticks 0 | tail -n 1; }
# (a whole id by its shape: L2's and L3's bytes interleave on the console, and a
# spliced line can still be 36 hex digits and hyphens)
l3_boots() { tail -c +$(($1 + 1)) "$LOG" | grep -aoE 'L3-boot=[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}' | sort -u; }
type_in() { vm_type_in n "$@"; } # LINE...: typed into n's console

DISKS=$NESTVM_HOME/vms/n/disks
# check_all STEP: qemu-img check passes on every differencing disk of n.
check_all() {
	local f bad='' n=0
	for f in "$DISKS"/*.qcow2; do
		[ -e "$f" ] || continue
		n=$((n + 1))
		qemu-img check -q "$f" >/dev/null 2>&1 || bad="$bad $(basename "$f")"
	done
	[ -z "$bad" ] && t_ok "$1: qemu-img check passes on all $n differencing disks" ||
		t_not_ok "$1: qemu-img check" "fails on$bad"
}
# sector N of n's data disk, as L2 reads it, on the console.
read_sector() { type_in "echo S$1=\$(dd if=/dev/vda bs=512 skip=$1 count=1 2>/dev/null | tr -d '\\000')"; }

# --- without a guest: names, an Off VM ----------------------------------
command -v qemu-img >/dev/null || t_not_ok "qemu-img is here (lab/build: LAB_HOST_BINS)" "missing"
truncate -s 8M "$tmp/data.img"
t_expect "create n (nested, 1G, a writable disk)" 0 'VM n created' -- \
	"$NV" vm create n --nested --memory 1G --append quiet --disk "$tmp/data.img"
t_expect "checkpoint of n while Off: its settings" 0 '^VM n: checkpoint off1 taken \(settings; the VM was Off\)' -- \
	"$NV" vm checkpoint n off1
t_fails "a bad checkpoint name is refused" 2 "not a valid checkpoint name" -- "$NV" vm checkpoint n 'a/b'
t_fails "a taken name is refused" 2 'VM n already has a checkpoint named off1' -- "$NV" vm checkpoint n off1

# --- L2 runs L3; a checkpoint while it counts ----------------------------
t_expect "start n" 0 '^VM n started' -- "$NV" vm start n
# How n last stopped, on a failure: a nested guest's triple fault there is
# the lab's emulated SVM (lab/README.md), which t_lab_run retries.
why_off() { "$NV" vm show n 2>/dev/null | sed -n 's/^LastStop *: */last stop: /p'; }
if vm_wait_prompt n "$T"; then t_ok "n reaches its shell prompt"
else t_not_ok "n reaches its shell prompt" "$(why_off) $(tail -c 300 "$LOG" | tr '\n' '|')"; fi
l3='echo L3-boot=$(cat /proc/sys/kernel/random/boot_id); i=0; while :; do echo L3-tick $i; [ $((i % 10)) = 0 ] && echo L3-boot=$(cat /proc/sys/kernel/random/boot_id); i=$((i + 1)); sleep 0.1; done'
type_in "echo before > /root/before; echo disk-before | dd of=/dev/vda bs=512 seek=0 conv=fsync 2>/dev/null; (nestvm run --memory 256M --append quiet -- sh -c '$l3' &)"
if t_wait_for "$LOG" 'L3-tick 30' "$T"; then t_ok "L2 runs an L3 that counts"
else t_not_ok "L2 runs an L3 that counts" "$(why_off) $(tail -c 300 "$LOG" | tr '\n' '|')"; fi
a=$(last_tick)
t_expect "vm checkpoint n cp1 while it runs" 0 '^VM n: checkpoint cp1 taken \(running state\)' -- \
	"$NV" vm checkpoint n cp1
b=$(last_tick)
t_expect "n is still Running" 0 '^n +Running' -- "$NV" vm list n
check_all "after the checkpoint"
type_in "touch /root/after-cp" "echo disk-after | dd of=/dev/vda bs=512 seek=8 conv=fsync 2>/dev/null"
if t_wait_for "$LOG" "L3-tick $((b + 20))[^0-9]" "$T"; then t_ok "L3 goes on after the checkpoint"
else t_not_ok "L3 goes on after the checkpoint" "$(why_off) $(tail -c 300 "$LOG" | tr '\n' '|')"; fi
d=$(last_tick)
t_expect "checkpoint list: off1, and cp1 current under it" 0 '^  cp1 .*Running  <- current' -- \
	"$NV" vm checkpoint list n
t_expect "vm show counts them" 0 '^Checkpoints +: 2 \(current: cp1\)' -- "$NV" vm show n

# --- restore: back to that instant ---------------------------------------
t_expect "vm restore n cp1 (turns the running VM off)" 0 '^VM n: checkpoint cp1 restored \(Saved' -- \
	"$NV" vm restore n cp1
t_expect "n is Saved" 0 '^n +Saved' -- "$NV" vm list n
off=$(stat -c %s "$LOG")
t_expect "vm start n continues the checkpoint" 0 '^VM n resumed from its saved state' -- "$NV" vm start n
if t_wait_for "$LOG" 'L3-tick [0-9]+[^0-9]' "$T" "$off"; then t_ok "L3 counts again"
else t_not_ok "L3 counts again" "$(why_off) $(tail -c 300 "$LOG" | tr '\n' '|')"; fi
f=$(ticks "$off" | head -n 1)
out="before the checkpoint: $a, after: $b, before the restore: $d, first after: $f"
[ -n "$f" ] && [ "$f" -ge $((a + 1)) ] && [ "$f" -le $((b + 2)) ] && [ "$f" -lt "$d" ] &&
	t_ok "L3 continues from the checkpoint's instant ($out)" ||
	t_not_ok "L3 continues from the checkpoint's instant" "$out"
t_wait_for "$LOG" 'L3-boot=[0-9a-f-]{36}' 60 "$off" # printed every 10 ticks; the whole id, not its first bytes
[ -n "$(l3_boots "$off")" ] && [ "$(l3_boots 0 | wc -l)" = 1 ] && t_ok "L3 did not boot again (one boot id)" ||
	t_not_ok "L3 did not boot again" "$(l3_boots 0 | tr '\n' ' ')"
off2=$(stat -c %s "$LOG")
# L3's bytes reach L2's console one write at a time, so they may start any
# line: the answers carry their own tags and are matched anywhere in a line;
# the typed commands' echo holds the unexpanded $f and $(dd ...), never a tag.
type_in 'for f in /root/before /root/after-cp; do [ -e $f ] && echo "has:$f" || echo "lacks:$f"; done'
read_sector 0
read_sector 8
t_wait_for "$LOG" 'S8=([^$]|$)' 60 "$off2" # the answer (not the echo's "S8=$(dd"), however slow the lab
out="$(tail -c +$((off2 + 1)) "$LOG") $(why_off)"
t_has "the file written before the checkpoint is there" 'has:/root/before'
t_has "the file written after the checkpoint is gone" 'lacks:/root/after-cp'
t_has "the disk holds what L2 wrote before the checkpoint" 'S0=disk-before'
t_has "and not what it wrote after it" 'S8=[^a-z]*$'
check_all "after the restore"

# --- delete and the Off checkpoint ---------------------------------------
t_expect "vm checkpoint delete n cp1 (running: its disk merges wait)" 0 \
	'^VM n: checkpoint cp1 deleted \(its disks are merged when the VM next starts\)' -- "$NV" vm checkpoint delete n cp1
t_expect "off1 is current again" 0 '^off1 .*Off +<- current' -- "$NV" vm checkpoint list n
t_expect "restore off1 turns n off with its settings" 0 '^VM n: checkpoint off1 restored \(Off\)' -- \
	"$NV" vm restore n off1
t_expect "n is Off" 0 '^n +Off' -- "$NV" vm list n
check_all "after restoring off1"
t_expect "delete off1, the last checkpoint" 0 '^VM n: checkpoint off1 deleted$' -- "$NV" vm checkpoint delete n off1
t_expect "n is on its own disk file again" 0 "^Disk 0 +: $tmp/data.img\$" -- "$NV" vm show n
[ -z "$(ls -A "$DISKS" 2>/dev/null)" ] && t_ok "no differencing disk is left" ||
	t_not_ok "no differencing disk is left" "$(ls "$DISKS" | tr '\n' ' ')"
t_summary
