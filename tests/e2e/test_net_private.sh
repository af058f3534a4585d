#!/usr/bin/env bash
# Private switches, end to end in the lab: two VMs on one switch ping each
# other, a third on another switch cannot reach them; the switch counts and
# learns what it forwarded, and carries on when a VM on it is killed.
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
	for s in p1 p2; do "$NV" switch delete "$s" >/dev/null 2>&1; done
	rm -rf "$NESTVM_HOME" "$tmp"
}
trap cleanup EXIT

t_expect "create private switch p1" 0 '' -- "$NV" switch create p1 --type private
t_expect "create private switch p2" 0 '' -- "$NV" switch create p2 --type private
t_expect "switch list shows both, running" 0 'p2 +private +running' -- "$NV" switch list

# A VM that pings PEER until it answers (or gives up), then stays up a while
# so that its peer can reach it too.
pinger() { # NAME SWITCH MYIP PEER
	timeout "$T" "$NV" run --name "$1" --memory 256M --nic "switch=$2" \
		--append "nestvm.net=$3/24" -- sh -c "
		for i in \$(seq 1 40); do
			if ping -c 1 -W 1 $4 >/dev/null 2>&1; then echo $1-reached-$4; break; fi
		done
		ping -c 3 -W 1 $4 >/dev/null 2>&1 || echo $1-cannot-reach-$4
		sleep 8" >"$tmp/$1.out" 2>&1
}

# --- a VM that dies does not take the switch down ---------------------------
timeout "$T" "$NV" run --name victim --memory 256M --nic switch=p1 \
	--append nestvm.net=10.10.0.9/24 -- sleep 600 >"$tmp/victim.out" 2>&1 &
victim=$!
for i in $(seq 1 120); do "$NV" switch show p1 2>/dev/null | grep -q 'victim/0' && break; sleep 1; done
out=$("$NV" switch show p1 2>&1)
t_has "the victim's adapter is a port of p1" 'victim/0'
kill -9 "$victim" 2>/dev/null; wait "$victim" 2>/dev/null
sleep 1
out=$("$NV" switch show p1 2>&1)
if printf '%s\n' "$out" | grep -q 'victim/0'; then t_not_ok "a killed VM's port is removed" "$out"
else t_ok "a killed VM's port is removed"; fi
t_expect "p1's daemon survives a VM killed with SIGKILL" 0 'p1 +private +running' -- "$NV" switch list

# --- two VMs on p1 reach each other, a third on p2 does not -----------------
pinger a p1 10.10.0.1 10.10.0.2 &
pa=$!
pinger b p1 10.10.0.2 10.10.0.1 &
pb=$!
pinger c p2 10.10.0.3 10.10.0.1 &
pc=$!
# While a and b run: the switch has learned both MACs on their ports.
for i in $(seq 1 200); do
	n=$("$NV" switch show p1 --json 2>/dev/null | tr -d ' \n' | grep -o '"learned_macs":\["' | wc -l)
	[ "$n" -ge 2 ] && break
	sleep 1
done
show=$("$NV" switch show p1 2>&1)
wait "$pa" "$pb" "$pc"
out=$(cat "$tmp/a.out" "$tmp/b.out" "$tmp/c.out")
t_has "VM a pings VM b over private switch p1" '^a-reached-10.10.0.2$'
t_has "VM b pings VM a over private switch p1" '^b-reached-10.10.0.1$'
t_has "VM c on switch p2 cannot reach VM a" '^c-cannot-reach-10.10.0.1$'
if grep -q 'c-reached' "$tmp/c.out"; then t_not_ok "VM c never reaches across switches" "$(cat "$tmp/c.out")"
else t_ok "VM c never reaches across switches"; fi
out=$show
t_has "switch show lists a's port" '^ *port a/0 '
t_has "switch show lists b's port" '^ *port b/0 '
t_has "switch show counts frames from the ports" '^ *rx [1-9][0-9]* +tx [1-9]'
t_has "switch show lists learned MACs" '^ *learned 52:54:00:'
t_summary
