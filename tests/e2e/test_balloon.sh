#!/usr/bin/env bash
# virtio-balloon's free page reporting, end to end in the lab (issue 13, a
# first step): a default guest with `--device balloon` loads the driver,
# fills 300 MiB of memory (a file in its RAM-backed root) and deletes it;
# within seconds the host RSS of its VMM falls by at least half of that (150
# MiB; a little stays: pages freed in runs shorter than the 2 MiB the driver
# reports, and the guest's own page cache), because the
# guest reported the freed pages and the VMM released them. The same guest
# without the balloon keeps the memory (the control: the fall is the
# balloon's doing). Then a named VM with a balloon is resized while it runs:
# `vm set --memory 256M` and its guest gives 256 MiB back (vm show's
# MemoryAssigned, the guest's MemFree), `vm set --memory 512M` takes it
# again; more than its startup memory, or a VM without a balloon, is
# refused with the reason.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
t_kvm_or_lab linux "$0" "$@"
NV=${NESTVM:-build/nestvm}
tmp=$(mktemp -d)
export NESTVM_HOME
NESTVM_HOME=$(mktemp -d /tmp/nv-home.XXXXXX)
cleanup() {
	for v in m n; do "$NV" vm stop "$v" --force >/dev/null 2>&1; done
	rm -rf "$tmp" "$NESTVM_HOME"
}
trap cleanup EXIT

rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" 2>/dev/null; }
wait_line() { # FILE REGEX SECONDS
	for _ in $(seq "$(($3 * 2))"); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.5; done
	return 1
}

# run_case LABEL [OPTIONS...]: sets PEAK and AFTER (kB) and STATUS.
run_case() {
	local label=$1 out=$tmp/$1.out
	shift
	"$NV" run --memory 512M "$@" -- sh -c 'grep -q "^virtio_balloon " /proc/modules && echo BALLOON=yes || echo BALLOON=no
		dd if=/dev/zero of=/big bs=1M count=300 2>/dev/null; echo ALLOCATED; sleep 6
		rm /big; echo FREED; sleep 22; echo DONE' >"$out" 2>&1 &
	local pid=$!
	PEAK='' AFTER=''
	wait_line "$out" ALLOCATED 300 && sleep 2 && PEAK=$(rss_kb "$pid")
	wait_line "$out" FREED 120 && sleep 20 && AFTER=$(rss_kb "$pid")
	wait "$pid"
	STATUS=$?
	OUT=$(cat "$out")
}

run_case balloon --device balloon
out=$OUT
t_has "the guest loaded virtio_balloon" '^BALLOON=yes'
t_has "the guest's command ran to its end" '^DONE'
t_status "exit status 0" 0 "$STATUS"
if [ -n "$PEAK" ] && [ -n "$AFTER" ] && [ "$PEAK" -ge 300000 ] && [ "$AFTER" -le $((PEAK - 153600)) ]; then
	t_ok "the VMM's RSS fell by $(((PEAK - AFTER) / 1024)) MiB after the guest freed 300 MiB ($((PEAK / 1024)) -> $((AFTER / 1024)) MiB)"
else
	t_not_ok "the VMM's RSS fell after the guest freed 300 MiB" "peak ${PEAK:-?} kB, after ${AFTER:-?} kB"
fi
BPEAK=$PEAK BAFTER=$AFTER

run_case control
out=$OUT
t_has "without --device balloon no driver is loaded" '^BALLOON=no'
if [ -n "$PEAK" ] && [ -n "$AFTER" ] && [ "$AFTER" -ge $((PEAK - 50000)) ]; then
	t_ok "without the balloon the memory stays with the VMM ($((PEAK / 1024)) -> $((AFTER / 1024)) MiB)"
else
	t_not_ok "without the balloon the memory stays" "peak ${PEAK:-?} kB, after ${AFTER:-?} kB"
fi
echo "# VMM RSS (kB), peak -> after: balloon ${BPEAK:-?} -> ${BAFTER:-?}; control ${PEAK:-?} -> ${AFTER:-?}"

# --- resizing a running VM through its balloon
# console_run VM COMMAND REGEX: types COMMAND into VM's shell, waits for
# REGEX in its output ($tmp/console.out), detaches.
console_run() {
	: >"$tmp/console.out"
	{
		sleep 1
		printf '%s\r' "$2"
		for _ in $(seq 120); do grep -q -- "$3" "$tmp/console.out" && break; sleep 0.5; done
		printf '\001d'
		sleep 1
	} | timeout 120 "$NV" vm console "$1" >"$tmp/console.out" 2>/dev/null
}
# A new marker each time (the console replays its last output first; the
# function runs in $(...), so no counter: the time).
memfree_mib() {
	local mark
	mark=MF$(date +%s%N)
	console_run m "echo $mark=\$(sed -n 's/^MemFree: *\([0-9]*\) kB/\1/p' /proc/meminfo)" "$mark=[0-9]"
	sed -n "s/.*$mark=\([0-9][0-9]*\).*/\1/p" "$tmp/console.out" | tail -n1 | awk '{ print int($1 / 1024) }'
}
assigned() { "$NV" vm show m | sed -n 's/^MemoryAssigned *: *\([0-9]*\) MiB.*/\1/p'; }
wait_assigned() { for _ in $(seq 90); do [ "$(assigned)" = "$1" ] && return 0; sleep 1; done; return 1; }

t_expect "create m (512M, a balloon)" 0 'VM m created' -- "$NV" vm create m --memory 512M --device balloon --append quiet
t_expect "start m" 0 'VM m started' -- "$NV" vm start m
vm_wait_prompt m 300 && t_ok "m's guest is up" || t_not_ok "m's guest is up" "no prompt"
t_expect "vm show m: all 512 MiB assigned" 0 'MemoryAssigned +: 512 MiB' -- "$NV" vm show m
before=$(memfree_mib)
t_expect "vm set m --memory 256M while it runs" 0 'memory target 256 MiB of its 512 MiB' -- "$NV" vm set m --memory 256M
wait_assigned 256 && t_ok "the guest gave 256 MiB back (MemoryAssigned 256 MiB)" ||
	t_not_ok "the guest gave 256 MiB back" "MemoryAssigned $(assigned)"
after=$(memfree_mib)
[ -n "$before" ] && [ -n "$after" ] && [ "$after" -le $((before - 200)) ] &&
	t_ok "the guest's MemFree fell with it ($before -> $after MiB)" ||
	t_not_ok "the guest's MemFree fell" "$before -> $after MiB"
t_expect "vm set m --memory 512M: back" 0 'memory target 512 MiB' -- "$NV" vm set m --memory 512M
wait_assigned 512 && t_ok "the guest took it again (MemoryAssigned 512 MiB)" ||
	t_not_ok "the guest took it again" "MemoryAssigned $(assigned)"
t_expect "vm show m: the record keeps 512M" 0 '^Memory +: 512M$' -- "$NV" vm show m
t_bad "more than its startup memory" "more than the VM's 512 MiB" "$NV" vm set m --memory 1G
t_bad "--memory with another setting while it runs" "goes alone" "$NV" vm set m --memory 256M --cpus 2
t_expect "create n (no balloon)" 0 'VM n created' -- "$NV" vm create n --memory 192M --append quiet
t_expect "start n" 0 'VM n started' -- "$NV" vm start n
t_bad "a running VM without a balloon" "only be changed while the VM is Off .*--device balloon" "$NV" vm set n --memory 128M
t_expect "stop m" 0 '' -- "$NV" vm stop m --force
t_expect "stop n" 0 '' -- "$NV" vm stop n --force
t_summary
