#!/usr/bin/env bash
# virtio-balloon's free page reporting, end to end in the lab (issue 13, a
# first step): a default guest with `--device balloon` loads the driver,
# fills 300 MiB of memory (a file in its RAM-backed root) and deletes it;
# within seconds the host RSS of its VMM falls by at least half of that (150
# MiB; a little stays: pages freed in runs shorter than the 2 MiB the driver
# reports, and the guest's own page cache), because the
# guest reported the freed pages and the VMM released them. The same guest
# without the balloon keeps the memory (the control: the fall is the
# balloon's doing).
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
t_kvm_or_lab linux "$0" "$@"
NV=${NESTVM:-build/nestvm}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

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
t_summary
