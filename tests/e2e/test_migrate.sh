#!/usr/bin/env bash
# Live migration (issue 12) on one host, end to end. A named VM moves to a
# target waiting with `nestvm run --incoming ADDR` while it runs:
#  - a plain VM counting on its console: a target expecting other memory is
#    refused before any memory moves; a target killed half-way leaves the
#    source running; what a guest writes in a round cannot fit a 1 ms
#    downtime and the migration fails after --max-rounds 1, the source
#    running; then it moves over TCP (127.0.0.1): the counter goes on
#    on the target with the next number and the guest did not boot again;
#  - a counting VM with an adapter, its target another host's stand-in (a
#    NESTVM_HOME of its own, with its own switch of the same name and a
#    listening port on it): with --downtime-ms 1 --max-rounds 1
#    --pause-to-converge it moves anyway ("converged by pausing") and counts
#    on there; its adapter announces itself on that switch (five RARPs from
#    its MAC seen on the other port; the switch learned the MAC on its port);
#  - an L2 with the extensions running an L3 that prints a counter every
#    100 ms moves over a Unix socket: L3 counts on, on the target, without
#    reset, one L3 boot id before and after, L2 did not boot again;
#  - `vm receive r --listen ADDR` makes a named VM that waits (Receiving)
#    and takes s's settings and run: it counts on with the next number
#    (Running), no boot; one with no source is gone after its --timeout.
# The measured downtime of each migration is printed.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
# Six migrations and four guests (one an L2 running an L3): about 5
# minutes in a lab of its own here, more on CI's machines; 12 before it
# counts as wedged.
export NESTVM_E2E_LAB_TIMEOUT=${NESTVM_E2E_LAB_TIMEOUT:-720}
t_kvm_or_lab nested "$0" "$@"
NV=${NESTVM:-build/nestvm}
T=${NESTVM_E2E_TIMEOUT:-300}
export NESTVM_HOME
NESTVM_HOME=$(mktemp -d /tmp/nv-home.XXXXXX)
home2=$(mktemp -d /tmp/nv-home2.XXXXXX) # the other host's stand-in
PROBE=${NESTVM_SWITCH_PROBE:-$(dirname "$NV")/tests/tools/switch_probe}
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	"$NV" vm stop s --force >/dev/null 2>&1
	"$NV" vm stop n --force >/dev/null 2>&1
	"$NV" vm stop r --force >/dev/null 2>&1
	"$NV" vm stop p --force >/dev/null 2>&1
	"$NV" switch delete mig >/dev/null 2>&1
	NESTVM_HOME=$home2 "$NV" switch delete mig >/dev/null 2>&1
	rm -rf "$NESTVM_HOME" "$home2" "$tmp"
}
trap cleanup EXIT

type_in() { vm_type_in "$@"; } # VM LINE...
state_of() { vm_field "$1" State; }
first_of() { grep -aoE "$2 [0-9]+" "$1" | awk '{ print $2 }' | head -n 1; }
# next_after HERE THERE WORD N: the number after N, the last one here, over
# this host's log and the target's output joined: a line the move split
# ("L3-ti" here, "ck 38" there) is whole again, as a reader of both sees it.
next_after() {
	cat "$1" "$2" | tr -d '\r' | grep -aoE "$3 [0-9]+" |
		awk -v n="$4" '$2 == n { seen = 1; next } seen { print $2; exit }'
}
downtime_of() { sed -n 's/.*downtime \([0-9]*\) ms.*/\1/p' <<<"$1"; }

# --- a plain VM ----------------------------------------------------------
SLOG=$NESTVM_HOME/vms/s/console.log
t_expect "create s (256M)" 0 'VM s created' -- "$NV" vm create s --memory 256M --append quiet
t_expect "start s" 0 '^VM s started' -- "$NV" vm start s
if vm_wait_prompt s "$T"; then t_ok "s reaches its shell prompt"
else t_not_ok "s reaches its shell prompt" "$(tail -c 300 "$SLOG" | tr '\n' '|')"; fi
type_in s 'echo S-boot=$(cat /proc/sys/kernel/random/boot_id); (i=0; while :; do echo S-tick $i; i=$((i + 1)); sleep 0.1; done) &'
if t_wait_for "$SLOG" 'S-tick 20' "$T"; then t_ok "s counts"
else t_not_ok "s counts" "$(tail -c 300 "$SLOG" | tr '\n' '|')"; fi

t_fails "vm migrate needs --to" 2 '^nestvm: vm migrate needs --to' -- "$NV" vm migrate s
t_fails "a bad address is refused" 2 "expected unix:PATH or tcp:ADDR:PORT" -- "$NV" vm migrate s --to ftp:x
t_fails "a target that is not there is named" 2 "cannot reach the target at unix:$tmp/none.sock" -- \
	"$NV" vm migrate s --to "unix:$tmp/none.sock"

# A target expecting 512M: refused at CONFIG, before any memory moves.
t_incoming "$tmp/bad.out" "unix:$tmp/bad.sock" --memory 512M
t_fails "a target with other memory refuses the VM" 2 \
	'not migrated \(it runs on here\): (VM s: )?the target refused the VM: refused: the source VM has 256 MiB of RAM, this target expects 512 MiB' -- \
	"$NV" vm migrate s --to "unix:$tmp/bad.sock"
wait "$TPID"
st=$?
out=$(cat "$tmp/bad.out.err")
t_status "that target exits 2" 2 "$st"
t_has "it says why, before any memory" 'did not arrive: refused: the source VM has 256 MiB'
[ "$(state_of s)" = Running ] && t_ok "s runs on after the refusal" || t_not_ok "s runs on after the refusal" "$(vm_stop_of s)"
n=$(t_last_number "$SLOG" S-tick)
if t_wait_for "$SLOG" "S-tick $((n + 10))" 60; then t_ok "s still counts ($n, then $((n + 10)))"
else t_not_ok "s still counts" "$(tail -c 200 "$SLOG" | tr '\n' '|')"; fi

# A target killed half-way (the migration slowed to 2 MB/s to be caught).
t_incoming "$tmp/k.out" "unix:$tmp/k.sock" --memory 256M
"$NV" vm migrate s --to "unix:$tmp/k.sock" --bandwidth 2 >"$tmp/k.mig" 2>&1 &
mpid=$!
sleep 3
kill -KILL "$TPID"
wait "$mpid"
st=$?
out=$(cat "$tmp/k.mig")
t_status "a migration whose target is killed fails" 2 "$st"
t_has "it says the VM runs on" 'not migrated \(it runs on here\)'
[ "$(state_of s)" = Running ] && t_ok "s is still Running" || t_not_ok "s is still Running" "$(vm_stop_of s)"
n=$(t_last_number "$SLOG" S-tick)
if t_wait_for "$SLOG" "S-tick $((n + 10))" 60; then t_ok "s still counts after the abandoned migration"
else t_not_ok "s still counts after the abandoned migration" "$(tail -c 200 "$SLOG" | tr '\n' '|')"; fi

# A guest that writes more in a round than 1 ms of the link carries (in the
# lab a short round may see almost nothing written: the bound is one
# round, whose 1-2 s of counting writes plenty): the migration fails after
# that round and the VM runs on.
t_incoming "$tmp/c.out" "unix:$tmp/c.sock" --memory 256M
t_fails "a guest writing faster than --downtime-ms 1 allows: refused after --max-rounds 1" 2 \
	'not migrated \(it runs on here\): (VM s: )?the guest writes memory faster than the link carries it: [0-9]+ KiB still written after 1 rounds' -- \
	"$NV" vm migrate s --to "unix:$tmp/c.sock" --downtime-ms 1 --max-rounds 1
wait "$TPID"
st=$?
out=$(cat "$tmp/c.out.err")
t_status "that target gives up (exit 2)" 2 "$st"
t_has "it was told why" 'did not arrive: the source abandoned the migration: the guest writes memory faster'
[ "$(state_of s)" = Running ] && t_ok "s is still Running" || t_not_ok "s is still Running" "$(vm_stop_of s)"
n=$(t_last_number "$SLOG" S-tick)
if t_wait_for "$SLOG" "S-tick $((n + 10))" 60; then t_ok "s still counts after the migration that did not converge"
else t_not_ok "s still counts after the migration that did not converge" "$(tail -c 200 "$SLOG" | tr '\n' '|')"; fi

# Over TCP, for real.
port=$((20000 + RANDOM % 20000))
t_incoming "$tmp/s.out" "tcp:127.0.0.1:$port" --memory 256M
t_expect "vm migrate s over TCP" 0 "^VM s migrated to tcp:127.0.0.1:$port: total [0-9]+ ms, downtime [0-9]+ ms" -- \
	"$NV" vm migrate s --to "tcp:127.0.0.1:$port"
echo "# plain VM over TCP: $T_LAST_OUT"
t_wait_for "$tmp/s.out.err" 'migrated VM runs here' 30 >/dev/null
echo "# of which the target's restore: $(sed -n 's/.*runs here (\([0-9]*\) ms after.*/\1/p' "$tmp/s.out.err") ms"
before=$(t_last_number "$SLOG" S-tick)
t_expect "s is Off here, migrated" 0 "migrated to tcp:127.0.0.1:$port" -- "$NV" vm show s
if t_wait_for "$tmp/s.out" "S-tick $((before + 20))" "$T"; then t_ok "s counts on on the target"
else t_not_ok "s counts on on the target" "$(tail -c 300 "$tmp/s.out" | tr '\n' '|') $(tail -c 300 "$tmp/s.out.err")"; fi
first=$(next_after "$SLOG" "$tmp/s.out" S-tick "$before")
[ -n "$first" ] && [ "$first" -ge "$before" ] && [ "$first" -le $((before + 1)) ] &&
	t_ok "the counter goes on with the next number (last $before here, then $first there)" ||
	t_not_ok "the counter goes on with the next number" "last here $before, then ${first:-none} (first there $(first_of "$tmp/s.out" S-tick))"
grep -aq 'nestvm-guest: init' "$tmp/s.out" && t_not_ok "s did not boot again on the target" "init banner seen" ||
	t_ok "s did not boot again on the target"
kill -TERM "$TPID"
wait "$TPID"

# --- a named VM that arrives: vm receive --------------------------------
t_fails "vm receive needs --listen" 2 '^nestvm: vm receive needs --listen' -- "$NV" vm receive r
t_fails "vm receive refuses a name in use" 2 "a VM named 's' already exists here" -- \
	"$NV" vm receive s --listen "unix:$tmp/r.sock"
t_expect "vm receive with no source: gone after --timeout" 0 '^VM q is Receiving: waiting at' -- \
	"$NV" vm receive q --listen "unix:$tmp/q.sock" --timeout 1
sleep 3
"$NV" vm show q >/dev/null 2>&1 && t_not_ok "q is gone after its timeout" "$("$NV" vm list q)" ||
	t_ok "q is gone after its timeout"
off=$(stat -c %s "$SLOG")
t_expect "start s again" 0 '^VM s started' -- "$NV" vm start s
if vm_wait_prompt s "$T" "$off"; then t_ok "s reaches its shell prompt again"
else t_not_ok "s reaches its shell prompt again" "$(tail -c 300 "$SLOG" | tr '\n' '|')"; fi
type_in s '(i=0; while :; do echo R-tick $i; i=$((i + 1)); sleep 0.1; done) &'
t_wait_for "$SLOG" 'R-tick 10' "$T" "$off" >/dev/null
t_expect "vm receive r: Receiving" 0 "^VM r is Receiving: waiting at unix:$tmp/r.sock" -- \
	"$NV" vm receive r --listen "unix:$tmp/r.sock"
t_expect "vm list shows r Receiving" 0 '^r +Receiving' -- "$NV" vm list r
t_expect "vm migrate s to r (--progress)" 0 "^VM s migrated to unix:$tmp/r.sock: total" -- \
	"$NV" vm migrate s --to "unix:$tmp/r.sock" --progress
echo "# named VM over a Unix socket: $T_LAST_OUT"
grep -E '^nestvm: round 1, [0-9.]+ MB sent, [0-9.]+ MB left' <<<"$T_LAST_OUT" >/dev/null &&
	grep -E '^nestvm: round [0-9]+, .* MB left, the guest writes [0-9.]+ MB/s' <<<"$T_LAST_OUT" >/dev/null &&
	t_ok "--progress: a line for the first round, then the guest's write rate" ||
	t_not_ok "--progress: a line for the first round, then the guest's write rate" "$(tr '\n' '|' <<<"$T_LAST_OUT")"
before=$(t_last_number "$SLOG" R-tick)
RLOG=$NESTVM_HOME/vms/r/console.log
t_expect "r is Running here" 0 '^r +Running' -- "$NV" vm list r
t_expect "r has s's settings (256M)" 0 '^Memory +: 256M' -- "$NV" vm show r
if t_wait_for "$RLOG" "R-tick $((before + 20))" "$T"; then t_ok "r counts on (s's counter)"
else t_not_ok "r counts on (s's counter)" "$(tail -c 300 "$RLOG" | tr '\n' '|') $(vm_stop_of r)"; fi
first=$(next_after "$SLOG" "$RLOG" R-tick "$before")
[ -n "$first" ] && [ "$first" -ge "$before" ] && [ "$first" -le $((before + 1)) ] &&
	t_ok "r's counter goes on with the next number (last $before in s, then $first in r)" ||
	t_not_ok "r's counter goes on with the next number" "last in s $before, then ${first:-none}"
grep -aq 'nestvm-guest: init' "$RLOG" && t_not_ok "r did not boot" "init banner seen" || t_ok "r did not boot"
t_expect "vm stop r --force" 0 '' -- "$NV" vm stop r --force
t_expect "r is Off" 0 '^r +Off' -- "$NV" vm list r

# --- pause to converge; the adapter announces itself on the target -------
PLOG=$NESTVM_HOME/vms/p/console.log
PMAC=52:54:00:aa:bb:01
t_expect "switch mig here" 0 '' -- "$NV" switch create mig --type private
t_expect "switch mig on the target's side" 0 '' -- env NESTVM_HOME="$home2" "$NV" switch create mig --type private
t_expect "create p (256M, an adapter on mig)" 0 'VM p created' -- \
	"$NV" vm create p --memory 256M --append quiet --nic "switch=mig,mac=$PMAC"
t_expect "start p" 0 '^VM p started' -- "$NV" vm start p
if vm_wait_prompt p "$T"; then t_ok "p reaches its shell prompt"
else t_not_ok "p reaches its shell prompt" "$(tail -c 300 "$PLOG" | tr '\n' '|')"; fi
type_in p '(i=0; while :; do echo P-tick $i; i=$((i + 1)); sleep 0.1; done) &'
if t_wait_for "$PLOG" 'P-tick 20' "$T"; then t_ok "p counts"
else t_not_ok "p counts" "$(tail -c 300 "$PLOG" | tr '\n' '|')"; fi
# Another port on the target's switch: whatever it floods reaches it.
mkfifo "$tmp/probe.in"
NESTVM_HOME=$home2 "$PROBE" mig listener 0 52:54:00:aa:bb:02 off <"$tmp/probe.in" >"$tmp/probe.out" 2>&1 &
pids+=($!)
exec 7>"$tmp/probe.in"
t_wait_for "$tmp/probe.out" '^connected' 30 >/dev/null
NESTVM_HOME=$home2 t_incoming "$tmp/p.out" "unix:$tmp/p.sock" --memory 256M --nic switch=mig
t_expect "the same guest moves with --pause-to-converge (after --max-rounds 1)" 0 \
	"^VM p migrated to unix:$tmp/p.sock: total [0-9]+ ms, downtime [0-9]+ ms, 2 rounds.*; converged by pausing" -- \
	"$NV" vm migrate p --to "unix:$tmp/p.sock" --downtime-ms 1 --max-rounds 1 --pause-to-converge
echo "# pause to converge: $T_LAST_OUT"
t_wait_for "$tmp/p.out.err" 'migrated VM runs here' 30 >/dev/null
before=$(t_last_number "$PLOG" P-tick)
if t_wait_for "$tmp/p.out" "P-tick $((before + 20))" "$T"; then t_ok "p counts on on the target"
else t_not_ok "p counts on on the target" "$(tail -c 300 "$tmp/p.out" | tr '\n' '|') $(tail -c 300 "$tmp/p.out.err")"; fi
first=$(next_after "$PLOG" "$tmp/p.out" P-tick "$before")
[ -n "$first" ] && [ "$first" -ge "$before" ] && [ "$first" -le $((before + 1)) ] &&
	t_ok "p's counter goes on with the next number (last $before here, then $first there)" ||
	t_not_ok "p's counter goes on with the next number" "last here $before, then ${first:-none}"
t_expect "p is Off here, migrated" 0 "migrated to unix:$tmp/p.sock" -- "$NV" vm show p
# Its adapter's announcement: five RARPs (opcode 3, its MAC as sender and
# target) from its MAC, broadcast, within a second of its start.
sleep 2
n=$(grep -c "^rarp 3 $PMAC $PMAC\$" "$tmp/probe.out")
[ "$n" = 5 ] && grep -q "^recv ff:ff:ff:ff:ff:ff $PMAC 60\$" "$tmp/probe.out" &&
	t_ok "the target's switch carried p's five RARP announcements to its other port" ||
	t_not_ok "the target's switch carried p's five RARP announcements" "$n seen: $(tr '\n' '|' <"$tmp/probe.out" | tail -c 300)"
t_expect "the target's switch learned p's MAC on p's port" 0 "learned $PMAC" -- \
	env NESTVM_HOME="$home2" "$NV" switch show mig
echo quit >&7
exec 7>&-
kill -TERM "$TPID"
wait "$TPID"

# --- an L2 running an L3 -------------------------------------------------
NLOG=$NESTVM_HOME/vms/n/console.log
t_expect "create n (nested, 1G)" 0 'VM n created' -- "$NV" vm create n --nested --memory 1G --append quiet
t_expect "start n" 0 '^VM n started' -- "$NV" vm start n
if vm_wait_prompt n "$T"; then t_ok "n reaches its shell prompt"
else t_not_ok "n reaches its shell prompt" "$(tail -c 300 "$NLOG" | tr '\n' '|')"; fi
l3='echo L3-boot=$(cat /proc/sys/kernel/random/boot_id); i=0; while :; do echo L3-tick $i; [ $((i % 10)) = 0 ] && echo L3-boot=$(cat /proc/sys/kernel/random/boot_id); i=$((i + 1)); sleep 0.1; done'
type_in n "(nestvm run --memory 256M --append quiet -- sh -c '$l3' &)"
if t_wait_for "$NLOG" 'L3-tick 30' "$T"; then t_ok "L2 runs an L3 that counts"
else t_not_ok "L2 runs an L3 that counts" "$(tail -c 300 "$NLOG" | tr '\n' '|')"; fi
t_incoming "$tmp/n.out" "unix:$tmp/n.sock" --nested --memory 1G
t_expect "vm migrate n (L2 running L3) over a Unix socket" 0 "^VM n migrated to unix:$tmp/n.sock: total" -- \
	"$NV" vm migrate n --to "unix:$tmp/n.sock"
echo "# L2 running L3 over a Unix socket: $T_LAST_OUT"
echo "# measured downtime: $(downtime_of "$T_LAST_OUT") ms"
t_wait_for "$tmp/n.out.err" 'migrated VM runs here' 30 >/dev/null
echo "# of which the target's restore: $(sed -n 's/.*runs here (\([0-9]*\) ms after.*/\1/p' "$tmp/n.out.err") ms"
before=$(t_last_number "$NLOG" L3-tick)
if t_wait_for "$tmp/n.out" "L3-tick $((before + 20))" "$T"; then t_ok "L3 counts on on the target (to $((before + 20)))"
else t_not_ok "L3 counts on on the target" "$(tail -c 300 "$tmp/n.out" | tr '\n' '|') $(tail -c 300 "$tmp/n.out.err")"; fi
first=$(next_after "$NLOG" "$tmp/n.out" L3-tick "$before")
[ -n "$first" ] && [ "$first" -ge "$before" ] && [ "$first" -le $((before + 1)) ] &&
	t_ok "L3's counter goes on without reset (last $before here, then $first there)" ||
	t_not_ok "L3's counter goes on without reset" "last here $before, then ${first:-none} (first there $(first_of "$tmp/n.out" L3-tick))"
t_wait_for "$tmp/n.out" 'L3-boot=[0-9a-f-]{36}' 60 >/dev/null
ids=$(cat "$NLOG" "$tmp/n.out" | grep -aoE 'L3-boot=[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}' | sort -u)
[ "$(printf '%s\n' "$ids" | grep -c .)" = 1 ] && grep -aqE 'L3-boot=' "$tmp/n.out" &&
	t_ok "L3 did not boot again (one boot id, here and there)" ||
	t_not_ok "L3 did not boot again" "$(printf '%s' "$ids" | tr '\n' ' ')"
grep -aq 'nestvm-guest: init' "$tmp/n.out" && t_not_ok "L2 did not boot again on the target" "init banner seen" ||
	t_ok "L2 did not boot again on the target"
t_expect "n is Off here, migrated" 0 "migrated to unix:$tmp/n.sock" -- "$NV" vm show n
kill -TERM "$TPID"
wait "$TPID"
t_summary
