#!/usr/bin/env bash
# End-to-end: real Linux boots of the default guest under nestvm. Runs inside
# the lab host (where /dev/kvm is hardware-assisted); the guests report what
# they see and the checks read it.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
t_kvm_or_lab nested "$0" "$@"
NV=${NESTVM:-build/nestvm}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
TO=${NESTVM_E2E_TIMEOUT:-300}
nv() { timeout "$TO" "$NV" "$@"; }

t_expect "1 vCPU boots and runs a command" 0 '^1$' -- nv run -- nproc
t_expect "2 vCPUs come online" 0 '^2$' -- nv run --cpus 2 -- nproc
t_expect "command exit status comes back" 7 '^before-exit$' -- nv run -- sh -c 'echo before-exit; exit 7'
t_expect "arguments keep their spaces and quotes" 0 "^<a b> <'q'>$" -- nv run -- sh -c 'printf "<%s> <%s>\n" "$1" "$2"' sh 'a b' "'q'"
t_expect "guest memory matches --memory" 0 '^ok$' -- nv run --memory 256M -- \
	sh -c 'kb=$(sed -n "s/^MemTotal: *\([0-9]*\) kB/\1/p" /proc/meminfo); [ "$kb" -gt 200000 ] && [ "$kb" -le 262144 ] && echo ok'

# A disk written by the guest is read back on the host.
truncate -s 8M "$T/disk.img"
t_expect "guest writes a disk image" 0 '' -- nv run --disk "$T/disk.img" -- \
	sh -c 'printf "written-by-guest" | dd of=/dev/vda bs=512 conv=sync,fsync 2>/dev/null'
if [ "$(head -c 16 "$T/disk.img")" = written-by-guest ]; then t_ok "host reads what the guest wrote"
else t_not_ok "host reads what the guest wrote" "image starts with '$(head -c 16 "$T/disk.img" | tr -d '\0')'"; fi

# A read-only disk refuses writes and stays unchanged; reads still work.
cp "$T/disk.img" "$T/before.img"
t_expect "read-only disk refuses writes" 1 '^refused$' -- nv run --disk "$T/disk.img,readonly" -- \
	sh -c 'head -c 16 /dev/vda; echo; if printf x | dd of=/dev/vda conv=fsync 2>/dev/null; then echo accepted; exit 0; else echo refused; exit 1; fi'
case "$T_LAST_OUT" in *written-by-guest*) t_ok "read-only disk is readable";; *) t_not_ok "read-only disk is readable" "$T_LAST_OUT";; esac
if cmp -s "$T/disk.img" "$T/before.img"; then t_ok "read-only image unchanged"; else t_not_ok "read-only image unchanged" "bytes differ"; fi

# --device rng: a virtio device type that is one file and one table line
# (dev/virtio/rng.c); the guest's driver serves the host's randomness.
t_expect "--device rng: the guest reads /dev/hwrng from virtio_rng" 0 '^virtio_rng\.0 [0-9a-f]{64}$' -- \
	nv run --device rng -- sh -c 'printf "%s " "$(cat /sys/class/misc/hw_random/rng_current)"; head -c 32 /dev/hwrng | od -An -tx1 | tr -d " \n"; echo'
t_expect "without --device rng the guest has no hardware RNG" 0 '^none$' -- \
	nv run -- sh -c 'cat /sys/class/misc/hw_random/rng_current 2>/dev/null | grep . || echo none'

# How a guest ends decides nestvm's exit status.
t_expect "guest power-off exits 0" 0 '' -- nv run -- poweroff -f
t_expect "guest panic exits 3" 3 'crashed' -- nv run -- sh -c 'echo c >/proc/sysrq-trigger'
# Quiet: an interactive boot prints the whole kernel log, and many exits now
# and then make the lab's emulated SVM corrupt a nested guest (lab/README.md).
t_expect "piped console input reaches the guest shell" 0 'piped-ok' -- \
	sh -c "printf 'echo piped-\"ok\"\npoweroff -f\n' | timeout $TO $NV run --append quiet"
# A reader that goes away ends the VM, as it ends a shell pipeline.
out=$(timeout "$TO" "$NV" run -- yes 2>/dev/null | head -n 1; echo "status=${PIPESTATUS[0]}")
case "$out" in "y"$'\n'"status=141") t_ok "closed console output ends the VM (128+SIGPIPE)";;
*) t_not_ok "closed console output ends the VM (128+SIGPIPE)" "$(printf '%s' "$out" | tr '\n' '|')";; esac
# SIGTERM while nobody reads the console (issue 16, point 5): a vCPU waits
# in its console write on a full pipe (cut to 4 KiB: every byte is a nested
# exit in the lab), and still the VM ends at once with 128+SIGTERM.
mkfifo "$T/full"
"$(t_tool pipe_hold)" "$T/full" 4096 &
holder=$!
sleep 0.5
"$NV" run -- sh -c 'while :; do echo 0123456789abcdefghijklmnopqrstuvwxyz; done' >"$T/full" 2>"$T/term.err" &
vmm=$!
for _ in $(seq 600); do
	grep -qs pipe_write /proc/$vmm/task/*/wchan && break
	sleep 0.2
done
grep -qs pipe_write /proc/$vmm/task/*/wchan && t_ok "a vCPU waits on the full console pipe" ||
	t_not_ok "a vCPU waits on the full console pipe" "$(cat /proc/$vmm/task/*/wchan 2>/dev/null | tr '\0' ' ')"
t0=${EPOCHREALTIME/./}
kill -TERM "$vmm"
for _ in $(seq 100); do kill -0 "$vmm" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$vmm" 2>/dev/null; then
	t_not_ok "SIGTERM ends a VM whose console nobody reads" "still running 10 s later: $(cat /proc/$vmm/task/*/wchan 2>/dev/null | tr '\0' ' ')"
	kill -KILL "$vmm"
	wait "$vmm" 2>/dev/null
else
	wait "$vmm"
	st=$?
	ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
	[ "$st" = 143 ] && t_ok "SIGTERM ends a VM whose console nobody reads (status 143, ${ms} ms)" ||
		t_not_ok "SIGTERM ends a VM whose console nobody reads" "status $st: $(tail -c 200 "$T/term.err")"
fi
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
t_summary
