#!/usr/bin/env bash
# Saving a named VM (Hyper-V's Save-VM) with 2 vCPUs, a disk under I/O and
# a network adapter, end to end: `vm save` writes it to disk and ends its
# VMM (Saved); settings are refused while Saved; `vm start` continues it:
# the console counter goes on, the boot id is the same, and the disk holds
# every record the guest wrote, in order, before and after. Then
# `vm delete-saved-state` discards a second save: the VM is Off and its
# next start boots afresh.
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
	"$NV" vm stop s --force >/dev/null 2>&1
	"$NV" switch delete sv >/dev/null 2>&1
	rm -rf "$NESTVM_HOME" "$tmp"
}
trap cleanup EXIT
LOG=$NESTVM_HOME/vms/s/console.log
SAVED=$NESTVM_HOME/vms/s/saved

# Records written: "W N" lines; the disk holds "rec NNNNNNNNNNN\n" (16 bytes) at N * 16.
written() { grep -aoE '^W [0-9]+' "$LOG" | awk '{ print $2 }' | tail -n 1; }
boot_ids() { grep -aoE 'boot=[0-9a-f-]{36}' "$LOG" | sort -u; }

truncate -s 16M "$tmp/disk.img"
t_expect "create private switch sv" 0 '' -- "$NV" switch create sv --type private
t_expect "create VM s: 2 vCPUs, a disk, an adapter" 0 'VM s created' -- \
	"$NV" vm create s --memory 256M --cpus 2 --disk "$tmp/disk.img" --nic switch=sv --append quiet
t_expect "start s" 0 '^VM s started' -- "$NV" vm start s
if vm_wait_prompt s "$T"; then t_ok "s reaches its shell prompt"
else t_not_ok "s reaches its shell prompt" "$(tail -c 300 "$LOG" | tr '\n' '|')"; fi
# A writer of numbered records (each synced before it is counted), a busy
# loop for the second vCPU and the boot id now and then.
writer='i=0; while :; do printf "rec %011d\n" $i | dd of=/dev/vda bs=16 seek=$i conv=notrunc,fsync 2>/dev/null && echo W $i; [ $((i % 20)) = 0 ] && echo boot=$(cat /proc/sys/kernel/random/boot_id); i=$((i + 1)); done'
{
	sleep 1
	printf '%s\r' "ip link set eth0 up; (while :; do :; done) & ($writer) &"
	sleep 2
	printf '\001d'
	sleep 1
} | timeout 120 "$NV" vm console s >/dev/null 2>&1
if t_wait_for "$LOG" '^W 30' "$T"; then t_ok "the guest writes records to its disk"
else t_not_ok "the guest writes records to its disk" "$(tail -c 300 "$LOG" | tr '\n' '|')"; fi

t_expect "vm save s" 0 '^VM s is saved$' -- "$NV" vm save s
before=$(written)
t_expect "vm list: s Saved" 0 '^s +Saved' -- "$NV" vm list s
[ -s "$SAVED/vm.state" ] && [ -s "$SAVED/memory" ] && t_ok "its state and memory are in the VM's saved/ folder" ||
	t_not_ok "its state and memory are in the VM's saved/ folder" "$(ls -la "$SAVED" 2>&1 | tr '\n' '|')"
t_expect "settings are refused while Saved" 2 'VM s is Saved: --cpus can only be changed while the VM is Off' -- \
	"$NV" vm set s --cpus 1
t_expect "vm save of a saved VM is refused" 2 'VM s is Saved: only a running or paused VM can be saved' -- \
	"$NV" vm save s
t_fails "vm stop of a saved VM says what it can do instead" 2 \
	'^nestvm: VM s is Saved \(no VMM runs\): .*vm start s. continues it' -- "$NV" vm stop s
sleep 2
t_expect "nothing runs while Saved (no VMM, the log stands still)" 0 '' -- test "$(written)" = "$before"

t_expect "vm start s resumes it" 0 '^VM s resumed from its saved state' -- "$NV" vm start s
if t_wait_for "$LOG" "^W $((before + 30))[^0-9]" "$T"; then t_ok "the writer goes on after the resume"
else t_not_ok "the writer goes on after the resume" "$(vm_stop_of s); $(tail -c 300 "$LOG" | tr '\n' '|')"; fi
[ "$(boot_ids | wc -l)" = 1 ] && t_ok "the guest did not boot again (one boot id)" ||
	t_not_ok "the guest did not boot again (one boot id)" "$(boot_ids | tr '\n' ' ')"
[ ! -e "$SAVED/vm.state" ] && t_ok "the saved state is used up by the resume" ||
	t_not_ok "the saved state is used up by the resume" "$(ls "$SAVED" 2>&1)"
# Saved again, then discarded.
t_expect "vm save s again" 0 '^VM s is saved$' -- "$NV" vm save s
last=$(written)
# Every record up to the last one counted is on the disk, in order.
bad=$(dd if="$tmp/disk.img" bs=16 count=$((last + 1)) 2>/dev/null |
	awk -v n="$last" '{ if ($0 != sprintf("rec %011d", NR - 1)) { print NR - 1; exit } } END { if (NR < n + 1) print "short:" NR }')
[ -z "$bad" ] && t_ok "the disk holds records 0..$last in order across the save and resume" ||
	t_not_ok "the disk holds records 0..$last in order" "first bad record: $bad"
t_expect "vm delete-saved-state s" 0 '^VM s: saved state discarded \(Off\)$' -- "$NV" vm delete-saved-state s
t_expect "vm list: s Off" 0 '^s +Off' -- "$NV" vm list s
[ ! -e "$SAVED" ] && t_ok "the saved state is gone" || t_not_ok "the saved state is gone" "$(ls "$SAVED" 2>&1)"
t_expect "vm delete-saved-state of an Off VM is refused" 2 'VM s is Off: it has no saved state' -- \
	"$NV" vm delete-saved-state s
t_expect "vm start s boots afresh" 0 '^VM s started' -- "$NV" vm start s
t_expect "vm stop s --force" 0 '' -- "$NV" vm stop s --force
t_summary
