#!/usr/bin/env bash
# Pausing a named VM (Hyper-V's Suspend-VM / Resume-VM), end to end: a VM
# with a network adapter prints a counter on its console and floods its
# adapter; `vm pause` stops every vCPU on its own thread and the devices'
# own threads, so the console log stops growing and the switch sees no
# frame; the record says Paused; `vm resume` goes on where it stopped;
# settings stay refused while paused; Suspend-VM and Resume-VM translate to
# the same; a paused VM can be stopped with --force and by the power button
# (it is resumed first to hear it).
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
t_kvm_or_lab nested "$0" "$@"
NV=${NESTVM:-build/nestvm}
T=${NESTVM_E2E_TIMEOUT:-600}
export NESTVM_HOME
NESTVM_HOME=$(mktemp -d /tmp/nv-home.XXXXXX)
tmp=$(mktemp -d)
cleanup() {
	"$NV" vm stop p --force >/dev/null 2>&1
	"$NV" switch delete plan >/dev/null 2>&1
	rm -rf "$NESTVM_HOME" "$tmp"
}
trap cleanup EXIT
LOG=$NESTVM_HOME/vms/p/console.log

size() { stat -c %s "$LOG" 2>/dev/null || echo 0; }
# Frames the switch received from p's port (the rx of `switch show`).
port_in() { "$NV" switch show plan 2>/dev/null | awk '$1 == "port" && $2 == "p/0" { getline; print $2; exit }'; }

t_expect "create private switch plan" 0 '' -- "$NV" switch create plan --type private
t_expect "create VM p with an adapter" 0 'VM p created' -- \
	"$NV" vm create p --memory 256M --nic switch=plan --append quiet
t_expect "vm pause of a VM that is Off is refused" 2 'VM p is not running' -- "$NV" vm pause p
t_expect "start p" 0 '^VM p started' -- "$NV" vm start p
if vm_wait_prompt p "$T"; then t_ok "p reaches its shell prompt"
else t_not_ok "p reaches its shell prompt" "$(tail -c 300 "$LOG" | tr '\n' '|')"; fi
# A counter on the console and broadcast frames on the adapter, both in the
# background, then detach.
{
	sleep 1
	printf '%s\r' "ip link set eth0 up; (i=0; while :; do i=\$((i+1)); echo tick-\$i; sleep 0.2; done) &"
	sleep 1
	# Nobody has 10.9.9.2: the kernel keeps asking for it in broadcasts.
	printf '%s\r' "ip addr add 10.9.9.1/24 dev eth0; ping -i 0.5 10.9.9.2 >/dev/null 2>&1 &"
	sleep 2
	printf '\001d'
	sleep 1
} | timeout 120 "$NV" vm console p >/dev/null 2>&1
for _ in $(seq 60); do grep -q '^tick-3' "$LOG" 2>/dev/null && break; sleep 1; done
if grep -q '^tick-3' "$LOG"; then t_ok "the guest's counter runs"
else t_not_ok "the guest's counter runs" "$(tail -c 300 "$LOG" | tr '\n' '|')"; fi

t_expect "vm pause p" 0 '^VM p is paused$' -- "$NV" vm pause p
t_expect "vm list: p Paused" 0 '^p +Paused' -- "$NV" vm list p
t_expect "vm pause p again: already paused, exit 0" 0 '^VM p is paused$' -- "$NV" vm pause p
s1=$(size) n1=$(port_in)
sleep 4
s2=$(size) n2=$(port_in)
if [ "$s1" = "$s2" ]; then t_ok "no console output while paused ($s1 bytes)"
else t_not_ok "no console output while paused" "console.log grew from $s1 to $s2 bytes"; fi
if [ -n "$n1" ] && [ "$n1" = "$n2" ]; then t_ok "no frame from the paused VM's adapter ($n1)"
else t_not_ok "no frame from the paused VM's adapter" "the port's count went from '$n1' to '$n2'"; fi
t_expect "settings stay refused while paused" 2 'VM p is Paused: --cpus can only be changed while the VM is Off' -- \
	"$NV" vm set p --cpus 2

t_expect "vm resume p" 0 '^VM p is running$' -- "$NV" vm resume p
t_expect "vm list: p Running again" 0 '^p +Running' -- "$NV" vm list p
last=$(tail -n 1 "$LOG" | tr -dc 'a-z0-9-')
for _ in $(seq 30); do [ "$(size)" -gt "$s2" ] && break; sleep 1; done
if [ "$(size)" -gt "$s2" ]; then t_ok "the counter goes on after resume"
else t_not_ok "the counter goes on after resume" "console.log stayed at $s2 bytes (last: $last)"; fi
n3=$(port_in)
for _ in $(seq 30); do n3=$(port_in); [ -n "$n3" ] && [ "$n3" -gt "${n2:-0}" ] && break; sleep 1; done
if [ -n "$n3" ] && [ "$n3" -gt "${n2:-0}" ]; then t_ok "frames flow again after resume ($n2 -> $n3)"
else t_not_ok "frames flow again after resume" "the port's count stayed at '$n3'"; fi
# The counter resumed where it stopped: no restart, no gap bigger than the
# pause would explain (the guest's clock jumps, its loop does not).
before=$(head -c "$s2" "$LOG" | grep -a -o 'tick-[0-9]*' | tail -n 1)
after=$(tail -c +$((s2 + 1)) "$LOG" | grep -a -o 'tick-[0-9]*' | head -n 1)
if [ -n "$before" ] && [ "${after#tick-}" = "$(( ${before#tick-} + 1 ))" ]; then
	t_ok "the counter resumed at the next number ($before, $after)"
else t_not_ok "the counter resumed at the next number" "before '$before', after '$after'"; fi

t_expect "Suspend-VM -Name p" 0 '^VM p is paused$' -- "$NV" Suspend-VM -Name p
t_expect "Resume-VM -Name p" 0 '^VM p is running$' -- "$NV" Resume-VM -Name p

t_expect "pause p before a graceful stop" 0 '^VM p is paused$' -- "$NV" vm pause p
t_expect "vm stop p: the paused guest is resumed, hears the power button and powers off" 0 'VM p is off: the guest powered off' -- "$NV" vm stop p --timeout 180
t_expect "start p again" 0 '^VM p started' -- "$NV" vm start p
t_expect "pause it" 0 '^VM p is paused$' -- "$NV" vm pause p
t_expect "vm stop --force ends a paused VM at once" 0 'VM p is off: stopped: forced' -- "$NV" vm stop p --force
t_expect "vm list: p Off" 0 '^p +Off' -- "$NV" vm list p
t_summary
