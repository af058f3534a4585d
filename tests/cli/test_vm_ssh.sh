#!/usr/bin/env bash
# `nestvm vm ssh` on this host, no guest: the NAT switch's side with fake
# adapters (tests/tools/switch_probe) that do DHCP against its slirp: the
# lease it learns from its own server's ACK, a forward from 127.0.0.1 that
# a connection follows as a SYN to the guest's port 22, the same forward
# when asked again, a second adapter's DHCP and ARP lies dropped and
# counted (the forward still goes to the first), the forward gone with its
# port; then the CLI: its refusals, one line each (VM missing, Off, no
# adapter on a NAT switch, bad options, no ssh), and a VM made to look
# Running (a process holds its vmm.lock, as in test_vm_store) whose adapter
# is a fake one: "no address yet" before its DHCP, `vm show` with the
# address after, and `vm ssh` exec'ing an ssh (a script in PATH) with the
# forward's port, the VM's known_hosts and the arguments after --, whose
# connection arrives at the adapter as a SYN to port 22. State lives in a
# temporary NESTVM_HOME.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
NV=${NESTVM_BIN:-${NESTVM:-build/nestvm}}
PROBE=${NESTVM_SWITCH_PROBE:-$(dirname "$NV")/tests/tools/switch_probe}
CALL=$(t_tool seqpacket_call)
T=$(mktemp -d)
export NESTVM_HOME=$T/home
PROBE_PIDS=()

HOLDERS=()

cleanup() {
	for p in "${PROBE_PIDS[@]}" "${HOLDERS[@]}"; do kill "$p" 2>/dev/null; done
	for f in "$NESTVM_HOME"/switches/*/daemon.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	exec 7>&- 8>&- 9>&- 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

if [ ! -x "$NV" ] || [ ! -x "$PROBE" ] || [ ! -x "$CALL" ]; then
	t_not_ok "binaries" "need $NV, $PROBE and $CALL (make check-tests)"
	t_summary
	exit 1
fi

# simulate_running VM: a background process holds its vmm.lock; the record
# says Running with that pid.
simulate_running() {
	"$(t_tool hold_lock)" "$NESTVM_HOME/vms/$1/vmm.lock" >"$T/hold.$1" &
	HOLDERS+=($!)
	for _ in $(seq 100); do grep -qs locked "$T/hold.$1" && break; sleep 0.05; done
	sed -i -e 's/"state": "Off"/"state": "Running"/' -e "s/\"pid\": 0/\"pid\": $!/" \
		-e "s/\"started_at\": 0/\"started_at\": $(date +%s)/" "$NESTVM_HOME/vms/$1/vm.json"
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
t_file_has "adapter a connected" "$T/a.out" "^connected a/0"
t_file_has "adapter b connected" "$T/b.out" "^connected b/0"
t_expect "no lease before DHCP" 0 '"ok":true' -- control '{"cmd":"lease","port":"a/0"}'
printf '%s\n' "$T_LAST_OUT" | grep -q '"ip"' && t_not_ok "no address yet" "$T_LAST_OUT" || t_ok "no address yet"
t_expect "no forward before DHCP" 0 "no DHCP lease for $A yet" -- control '{"cmd":"forward","port":"a/0","guest_port":22}'

echo dhcp >&7
t_file_has "a gets a lease from the switch's DHCP" "$T/a.out" "^lease 192\.168\.100\.15$"
t_expect "the switch learnt it" 0 '"ip":"192.168.100.15"' -- control '{"cmd":"lease","port":"a/0"}'
rep=$(control '{"cmd":"forward","port":"a/0","guest_port":22}')
port=$(printf '%s' "$rep" | field host_port)
case $port in [1-9]*) t_ok "a forward on 127.0.0.1:$port" ;; *) t_not_ok "a forward" "$rep" ;; esac
t_expect "asked again: the same port" 0 "\"host_port\":$port[,}]" -- control '{"cmd":"forward","port":"a/0","guest_port":22}'
t_expect "switch show lists it" 0 "runtime_forwards: .*\"host_port\":$port" -- "$NV" switch show wan

# b lies: DHCP in a's name, then ARP saying a's address is b's.
echo "dhcp $A" >&8
t_file_has "b's DHCP with a's chaddr gets nothing" "$T/b.out" "^no lease$"
echo "arp-claim 192.168.100.15" >&8
sleep 0.3
t_expect "b's lies are counted as spoofed" 0 '"dropped_spoofed":[1-9]' -- control '{"cmd":"show"}'
t_expect "b still has no address" 0 '"ok":true' -- control '{"cmd":"lease","port":"b/0"}'
printf '%s\n' "$T_LAST_OUT" | grep -q '"ip"' && t_not_ok "b no address" "$T_LAST_OUT" || t_ok "b has no address"

# A connection to the forward arrives at a as a SYN to port 22.
(exec 3<>"/dev/tcp/127.0.0.1/$port" && sleep 1) 2>/dev/null &
conn=$!
t_file_has "a connection to 127.0.0.1:$port is a SYN to a's port 22" "$T/a.out" \
	"^tcp 192\.168\.100\.1:[0-9]+ > 192\.168\.100\.15:22 S$"
if grep -q "^tcp .*:22 S" "$T/b.out"; then t_not_ok "b sees none of it" "$(tr '\n' '|' <"$T/b.out")"
else t_ok "b sees none of it"; fi
wait "$conn"

# b gets a lease of its own; forwards are per port.
echo dhcp >&8
t_file_has "b gets its own lease" "$T/b.out" "^lease 192\.168\.100\.16$"
t_expect "b's own forward" 0 '"ip":"192.168.100.16".*"host_port":[0-9]+' -- control '{"cmd":"forward","port":"b/0","guest_port":2222}'
t_expect "forward with a bad guest port" 0 'guest_port.*1\.\.65535' -- control '{"cmd":"forward","port":"a/0","guest_port":0}'
t_expect "forward for a port not on the switch" 0 'port nope.*0 is not connected' -- control '{"cmd":"forward","port":"nope/0","guest_port":22}'

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
t_expect "a private switch has no leases" 0 "not a NAT switch" -- \
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

# --- a VM that looks Running, its adapter a fake one
V=52:54:00:00:00:0c
"$NV" vm create v5 --nic switch=wan,mac=$V >/dev/null
simulate_running v5
t_expect "v5 looks Running" 0 '^State +: Running$' -- "$NV" vm show v5
t_bad "its adapter is not on the switch" "switch wan: port v5.*0 is not connected" "$NV" vm ssh v5
start_probe 9 v5 v5 $V
t_file_has "v5's adapter connected" "$T/v5.out" "^connected v5/0"
t_bad "no address yet" "^nestvm: VM v5 has no address on switch wan yet \(its DHCP has not finished\)$" "$NV" vm ssh v5
t_expect "vm show: no address yet" 0 '^Adapter eth0 IPv4 +: \(none yet' -- "$NV" vm show v5
echo dhcp >&9
t_file_has "v5's adapter gets a lease" "$T/v5.out" "^lease 192\.168\.100\.1[0-9]$"
ip=$(sed -n 's/^lease //p' "$T/v5.out")
t_expect "vm show: the address" 0 "^Adapter eth0 IPv4 +: $ip\$" -- "$NV" vm show v5
mkdir -p "$T/bin"
cat >"$T/bin/ssh" <<'SSH'
#!/usr/bin/env bash
# A stand-in for ssh: says how it was run, connects to the port given.
printf '%s\n' "$@" >"$FAKE_SSH_ARGS"
exec 3<>"/dev/tcp/127.0.0.1/$2" && sleep 1
exit 7
SSH
chmod +x "$T/bin/ssh"
out=$(FAKE_SSH_ARGS=$T/ssh.args PATH="$T/bin:$PATH" "$NV" vm ssh v5 --user debian -- -v cat /etc/hostname 2>&1) && st=0 || st=$?
t_status "vm ssh becomes ssh (its exit status)" 7 "$st"
args=$(tr '\n' ' ' <"$T/ssh.args")
case $args in
"-p "[0-9]*" -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=\"$NESTVM_HOME/vms/v5/ssh_known_hosts\" -o HostKeyAlias=nestvm-v5 debian@127.0.0.1 -v cat /etc/hostname ")
	t_ok "ssh's arguments: $args" ;;
*) t_not_ok "ssh's arguments" "$args" ;;
esac
t_file_has "ssh's connection is a SYN to v5's port 22" "$T/v5.out" "^tcp 192\.168\.100\.1:[0-9]+ > ${ip//./\\.}:22 S$"
FAKE_SSH_ARGS=$T/ssh2.args PATH="$T/bin:$PATH" "$NV" vm ssh v5 >/dev/null 2>&1
t_expect "the same forward next time, root by default" 0 "^$(head -n 2 "$T/ssh.args" | tail -n 1)\$" -- sed -n 2p "$T/ssh2.args"
t_expect "  as root" 0 '^root@127.0.0.1$' -- tail -n 1 "$T/ssh2.args"

"$NV" switch delete wan >/dev/null
t_bad "its NAT switch deleted" "VM v1 has no adapter on a NAT switch" "$NV" vm ssh v1
t_summary
