#!/usr/bin/env bash
# `nestvm lab -- COMMAND`: the lab host boots, has a real /dev/kvm with
# nested AMD-V, runs COMMAND in the repo's folder, and passes its output and
# exit status through (8 bits, beyond QEMU's 7-bit debug exit). `nestvm`
# is on the lab's PATH, and the headline works with every default, three
# levels deep: the lab, an L2 with the extensions, its L3 (issue 17).
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
NV=${NESTVM:-build/nestvm}
t_expect "nestvm lab passes output and status" 7 "^lab-ok $PWD$" -- \
	"$NV" lab --timeout 600 -- sh -c 'echo "lab-ok $(pwd)"; exit 7'
t_expect "the lab host has /dev/kvm with nested=1" 0 '^nested=1$' -- \
	"$NV" lab --timeout 600 -- sh -c '[ -c /dev/kvm ] && echo "nested=$(cat /sys/module/kvm_amd/parameters/nested)"'
t_expect "statuses above 127 come back whole" 200 '' -- "$NV" lab --timeout 600 -- sh -c 'exit 200'
t_expect "nestvm is on the lab's PATH" 0 '^/usr/local/bin/nestvm$' -- \
	"$NV" lab --timeout 600 -- sh -c 'command -v nestvm'
t_expect "nestvm lab -- nestvm run --nested -- nestvm run -- sh -c 'exit 5': 5, no other option" 5 '' -- \
	"$NV" lab --timeout 900 -- nestvm run --nested -- nestvm run -- sh -c 'exit 5'
# A lab host that freezes (lab/README.md) is ended by its stopped heartbeat,
# long before --timeout: here every process but init and the command is
# stopped, the heartbeat among them.
start=$SECONDS
t_fails "a frozen lab host is ended: 125, said in one line" 125 '^lab: the lab host froze \(no heartbeat for 20 s\), QEMU killed$' -- \
	env NESTVM_LAB_FROZEN=20 "$NV" lab --timeout 300 -- sh -c 'kill -STOP -1; sleep 280'
took=$((SECONDS - start))
[ "$took" -lt 150 ] && t_ok "... after about 20 s without a beat, not the 300 s timeout (${took} s)" ||
	t_not_ok "... after about 20 s without a beat, not the 300 s timeout" "${took} s"
# --link: two labs on one wire (lab/link.sh); a bad value is one line.
t_fails "lab --link with a bad value" 125 '^lab: --link foo: expected listen:PATH or connect:PATH$' -- \
	"$NV" lab --link foo --ip 10.99.0.1/24 -- true
t_fails "lab --link without --ip" 125 '^lab: --link needs --ip IPV4/PREFIX' -- "$NV" lab --link listen:/tmp/x -- true
t_fails "lab --ip that is not an address" 125 '^lab: --ip 10.99.0.300/24: 300 is not a byte$' -- \
	"$NV" lab --link listen:/tmp/x --ip 10.99.0.300/24 -- true
# B counts the pings it answered (InEchos in /proc/net/snmp) and ends at 3.
wire=$(mktemp -u /tmp/nv-wire.XXXXXX)
echos='awk '"'"'/^Icmp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "InEchos") c = i; h = 1 } else print $c }'"'"' /proc/net/snmp'
"$NV" lab --cpus 1 --memory 1G --timeout 120 --link "listen:$wire" --ip 10.99.0.2/24 -- sh -c \
	"ip -4 addr show eth0 | grep -o 'inet [0-9./]*'; i=0; while [ \$($echos) -lt 3 ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done; echo echoes=\$($echos)" \
	>"$wire.b" 2>&1 </dev/null &
bpid=$!
t_expect "two labs on one --link: A pings B" 0 '3 packets received' -- \
	"$NV" lab --cpus 1 --memory 1G --timeout 120 --link "connect:$wire" --ip 10.99.0.1/24 -- ping -c 3 -W 5 10.99.0.2
wait "$bpid"
out=$(cat "$wire.b")
t_has "B has its --ip on eth0" 'inet 10.99.0.2/24'
t_has "B answered A's 3 pings" '^echoes=3'
rm -f "$wire" "$wire.b"
t_summary
