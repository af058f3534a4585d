#!/usr/bin/env bash
# `nestvm vm ssh` on this host, no guest: the NAT switch's side with fake
# adapters (tests/tools/switch_probe) that do DHCP against its slirp: the
# lease it learns from its own server's ACK, a forward from 127.0.0.1 that
# a connection follows as a SYN to the guest's port 22, the same forward
# when asked again, a second adapter's DHCP and ARP lies dropped and
# counted (the forward still goes to the first), the forward gone with its
# port; then the CLI's refusals, one line each (VM missing, Off, no adapter
# on a NAT switch, bad options, no ssh). State lives in a temporary
# NESTVM_HOME.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
NV=${NESTVM_BIN:-${NESTVM:-build/nestvm}}
PROBE=${NESTVM_SWITCH_PROBE:-$(dirname "$NV")/tests/tools/switch_probe}
CALL=$(t_tool seqpacket_call)
T=$(mktemp -d)
export NESTVM_HOME=$T/home
PROBE_PIDS=()

cleanup() {
	for p in "${PROBE_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for f in "$NESTVM_HOME"/switches/*/daemon.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	exec 7>&- 8>&- 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

if [ ! -x "$NV" ] || [ ! -x "$PROBE" ] || [ ! -x "$CALL" ]; then
	t_not_ok "binaries" "need $NV, $PROBE and $CALL (make check-tests)"
	t_summary
	exit 1
fi

wait_for() { # FILE REGEX: up to 5 s for a line of FILE to match
	for _ in $(seq 50); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
check_has() { # NAME FILE REGEX
	if wait_for "$2" "$3"; then t_ok "$1"
	else t_not_ok "$1" "no /$3/ in $2: $(tail -n 5 "$2" 2>/dev/null | tr '\n' '|')"; fi
}
start_probe() { # FD ID VM MAC: a fake adapter VM/0 on switch wan
	mkfifo "$T/$2.in"
	"$PROBE" wan "$3" 0 "$4" off <"$T/$2.in" >"$T/$2.out" 2>&1 &
	PROBE_PIDS+=($!)
	eval "exec $1>\"$T/$2.in\""
}
control() { "$CALL" "$NESTVM_HOME/switches/wan/control.sock" "$1"; }
field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p"; }

A=52:54:00:00:00:0a
B=52:54:00:00:00:0b

# --- the NAT switch: leases and forwards
t_expect "create a nat switch" 0 "created" -- "$NV" switch create wan --type nat
start_probe 7 a a $A
start_probe 8 b b $B
check_has "adapter a connected" "$T/a.out" "^connected a/0"
check_has "adapter b connected" "$T/b.out" "^connected b/0"
t_expect "no lease before DHCP" 0 '"ok":true' -- control '{"cmd":"lease","port":"a/0"}'
printf '%s\n' "$T_LAST_OUT" | grep -q '"ip"' && t_not_ok "no address yet" "$T_LAST_OUT" || t_ok "no address yet"
t_expect "no forward before DHCP" 0 "no DHCP lease for $A yet" -- control '{"cmd":"forward","port":"a/0","guest_port":22}'

echo dhcp >&7
check_has "a gets a lease from the switch's DHCP" "$T/a.out" "^lease 192\.168\.100\.15$"
t_expect "the switch learnt it" 0 '"ip":"192.168.100.15"' -- control '{"cmd":"lease","port":"a/0"}'
rep=$(control '{"cmd":"forward","port":"a/0","guest_port":22}')
port=$(printf '%s' "$rep" | field host_port)
case $port in [1-9]*) t_ok "a forward on 127.0.0.1:$port" ;; *) t_not_ok "a forward" "$rep" ;; esac
t_expect "asked again: the same port" 0 "\"host_port\":$port[,}]" -- control '{"cmd":"forward","port":"a/0","guest_port":22}'
t_expect "switch show lists it" 0 "runtime_forwards: .*\"host_port\":$port" -- "$NV" switch show wan

# b lies: DHCP in a's name, then ARP saying a's address is b's.
echo "dhcp $A" >&8
check_has "b's DHCP with a's chaddr gets nothing" "$T/b.out" "^no lease$"
echo "arp-claim 192.168.100.15" >&8
sleep 0.3
t_expect "b's lies are counted as spoofed" 0 '"dropped_spoofed":[1-9]' -- control '{"cmd":"show"}'
t_expect "b still has no address" 0 '"ok":true' -- control '{"cmd":"lease","port":"b/0"}'
printf '%s\n' "$T_LAST_OUT" | grep -q '"ip"' && t_not_ok "b no address" "$T_LAST_OUT" || t_ok "b has no address"

# A connection to the forward arrives at a as a SYN to port 22.
(exec 3<>"/dev/tcp/127.0.0.1/$port" && sleep 1) 2>/dev/null &
conn=$!
check_has "a connection to 127.0.0.1:$port is a SYN to a's port 22" "$T/a.out" \
	"^tcp 192\.168\.100\.1:[0-9]+ > 192\.168\.100\.15:22 S$"
if grep -q "^tcp .*:22 S" "$T/b.out"; then t_not_ok "b sees none of it" "$(tr '\n' '|' <"$T/b.out")"
else t_ok "b sees none of it"; fi
wait "$conn"

# b gets a lease of its own; forwards are per port.
echo dhcp >&8
check_has "b gets its own lease" "$T/b.out" "^lease 192\.168\.100\.16$"
t_expect "b's own forward" 0 '"ip":"192.168.100.16".*"host_port":[0-9]+' -- control '{"cmd":"forward","port":"b/0","guest_port":2222}'
t_expect "forward with a bad guest port" 0 'guest_port.*1\.\.65535' -- control '{"cmd":"forward","port":"a/0","guest_port":0}'
t_expect "forward for a port not on the switch" 0 'has no port nope.*0' -- control '{"cmd":"forward","port":"nope/0","guest_port":22}'

# a leaves: its forward goes, b's stays.
echo quit >&7
exec 7>&-
for _ in $(seq 50); do control '{"cmd":"show"}' | grep -q "\"host_port\":$port," || break; sleep 0.1; done
t_expect "a's forward went with its port" 0 '' -- control '{"cmd":"show"}'
if printf '%s' "$T_LAST_OUT" | grep -q "\"host_port\":$port,"; then t_not_ok "gone" "$T_LAST_OUT"; else t_ok "gone"; fi
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then t_not_ok "nothing listens on $port" "connected"
else t_ok "nothing listens on $port any more"; fi
t_expect "b's forward stays" 0 '"runtime_forwards":\[\{"mac":"52:54:00:00:00:0b"' -- control '{"cmd":"show"}'

t_expect "create a private switch" 0 "created" -- "$NV" switch create lan --type private
t_expect "a private switch has no leases" 0 "lan is not a NAT switch" -- \
	"$CALL" "$NESTVM_HOME/switches/lan/control.sock" '{"cmd":"lease","port":"x/0"}'

# --- the CLI
"$NV" vm create v1 --nic switch=wan >/dev/null
"$NV" vm create v2 --nic switch=lan >/dev/null
"$NV" vm create v3 >/dev/null
"$NV" vm create v4 --nic switch=lan --nic switch=wan >/dev/null
t_expect "vm ssh --help" 0 "usage: nestvm vm ssh NAME" -- "$NV" vm ssh --help
t_expect "vm --help lists ssh" 0 "^  ssh " -- "$NV" vm --help
t_bad "no name" "vm ssh needs a VM NAME" "$NV" vm ssh
t_bad "a VM that does not exist" "there is no VM named 'nope'" "$NV" vm ssh nope
t_bad "an invalid name" "'a b' is not a valid VM name" "$NV" vm ssh "a b"
t_bad "the name is not what follows --" "vm ssh needs a VM NAME" "$NV" vm ssh -- v1
t_bad "Off" "VM v1 is not running \(Off\): start it with \`nestvm vm start v1\`" "$NV" vm ssh v1
t_bad "the NAT adapter is found after a private one" "VM v4 is not running" "$NV" vm ssh v4
t_bad "only a private switch" "VM v2 has no adapter on a NAT switch" "$NV" vm ssh v2
t_bad "no adapter at all" "VM v3 has no adapter on a NAT switch" "$NV" vm ssh v3
t_bad "--adapter on a private switch" "adapter 0 is on switch lan, which is not a NAT switch" "$NV" vm ssh v4 --adapter 0
t_bad "--adapter past the last" "VM v1 has no adapter 3 \(it has 1\)" "$NV" vm ssh v1 --adapter 3
t_bad "--adapter not a number" "--adapter 'x' is not 0..7" "$NV" vm ssh v1 --adapter x
t_bad "--port 0" "--port '0' is not 1..65535" "$NV" vm ssh v1 --port 0
t_bad "--user that ssh would read as an option" "--user '-oProxyCommand=x' is not a user name" "$NV" vm ssh v1 --user -oProxyCommand=x
t_bad "--user with an @" "--user 'a@b' is not a user name" "$NV" vm ssh v1 --user a@b
t_bad "a command without --" "ssh's arguments go after --" "$NV" vm ssh v1 uname
t_bad "an unknown option" "unknown option '--bogus'" "$NV" vm ssh v1 --bogus
t_fails "no ssh on this host" 125 "needs ssh.*openssh-client" -- env PATH=/nonexistent "$NV" vm ssh v1
"$NV" switch delete wan >/dev/null
t_bad "its NAT switch deleted" "VM v1 has no adapter on a NAT switch" "$NV" vm ssh v1
t_summary
