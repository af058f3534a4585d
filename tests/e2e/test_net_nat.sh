#!/usr/bin/env bash
# NAT switches, end to end in the lab (the lab host is L1), spoofing off
# everywhere:
#   L1: NAT switch "wan" (10.0.2.0/24) with --host-loopback on; an HTTP
#       server on the lab host's loopback, port 8000; L2 (extensions on)
#       gets its address by DHCP.
#   L2: NAT switch "lan" (192.168.100.0/24, defaults: no host loopback)
#       forwarding L2's 127.0.0.1:8080 to 192.168.100.15:80, and a server on
#       L2's own loopback, port 9000; L3 behind lan gets that address by
#       DHCP, fetches the lab host's page through both NATs (10.0.2.1 is
#       wan's gateway, which stands for the lab host and its loopback), pings
#       the gateway, cannot reach L2's loopback server at lan's gateway, then
#       serves a page that L2 fetches through the port forward.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
t_kvm_or_lab nested "$0" "$@"
NV=${NESTVM:-build/nestvm}
T=${NESTVM_E2E_L2_TIMEOUT:-1200}
export NESTVM_HOME
NESTVM_HOME=$(mktemp -d /tmp/nv-home.XXXXXX)
tmp=$(mktemp -d)
httpd_pid=''
cleanup() {
	[ -z "$httpd_pid" ] || kill "$httpd_pid" 2>/dev/null
	"$NV" switch delete wan >/dev/null 2>&1
	rm -rf "$NESTVM_HOME" "$tmp"
}
trap cleanup EXIT
# Guests' pings become the daemon's ICMP datagram sockets (no root needed,
# but the group must be allowed; the kernel's default allows nobody).
sysctl -qw net.ipv4.ping_group_range="0 2147483647" 2>/dev/null ||
	echo 0 2147483647 >/proc/sys/net/ipv4/ping_group_range

mkdir -p "$tmp/www" && echo hello-from-lab-host >"$tmp/www/index.html"
busybox httpd -f -p 127.0.0.1:8000 -h "$tmp/www" &
httpd_pid=$!

t_expect "create NAT switch wan (host loopback on)" 0 '' -- "$NV" switch create wan --type nat --subnet 10.0.2.0/24 --host-loopback on
t_expect "switch list shows wan as nat" 0 'wan +nat +running' -- "$NV" switch list

l3_script='echo L3-ip=$(ip -4 -o addr show eth0 | sed -n "s/.* inet \([0-9.]*\)\/.*/\1/p")
	timeout 20 wget -q -O - http://10.0.2.1:8000/ && echo L3-fetch-done
	ping -c 1 -W 5 10.0.2.1 >/dev/null && echo L3-pings-through-nat
	if timeout 20 wget -q -O - http://192.168.100.1:9000/; then echo L3-reached-l2-loopback; else echo L3-l2-loopback-refused; fi
	mkdir -p /www && echo hello-from-l3 >/www/index.html
	httpd -p 80 -h /www && echo L3-serving
	sleep 120'
out=$(timeout "$T" "$NV" run --name l2 --nested --memory 1G --nic switch=wan -- sh -c "
	echo L2-ip=\$(ip -4 -o addr show eth0 | sed -n 's/.* inet \([0-9.]*\)\/.*/\1/p')
	echo L2-route=\$(ip route show default)
	timeout 20 wget -q -O - http://10.0.2.1:8000/ && echo L2-fetch-done
	sysctl -qw net.ipv4.ping_group_range='0 2147483647'
	nestvm switch create lan --type nat --subnet 192.168.100.0/24 --forward tcp:8080:192.168.100.15:80 && echo L2-lan-up
	mkdir -p /tmp/l2www && echo l2-loopback-only >/tmp/l2www/index.html && httpd -p 127.0.0.1:9000 -h /tmp/l2www
	nestvm run --name l3 --memory 256M --nic switch=lan -- sh -c '$l3_script' >/tmp/l3.out 2>&1 &
	l3=\$!
	for i in \$(seq 1 600); do grep -q L3-serving /tmp/l3.out && break; kill -0 \$l3 || break; sleep 1; done
	timeout 20 wget -q -O - http://127.0.0.1:8080/ && echo L2-forward-done
	kill \$l3; wait \$l3
	cat /tmp/l3.out
	nestvm switch show lan" 2>&1)
t_has "L2 gets its address from wan's DHCP" '^L2-ip=10\.0\.2\.15$'
t_has "L2 gets wan's gateway as default route" '^L2-route=default via 10\.0\.2\.1'
t_has "L2 fetches the lab host's page through wan" '^hello-from-lab-host$'
t_has "L2 runs a NAT switch with a port forward" '^L2-lan-up$'
t_has "L3 gets its address from lan's DHCP" '^L3-ip=192\.168\.100\.15$'
t_has "L3 fetches the lab host's page through two NATs" '^L3-fetch-done$'
t_has "L3 pings wan's gateway (translated to an ICMP socket in L2)" '^L3-pings-through-nat$'
t_has "L3 cannot reach L2's loopback at a default NAT switch's gateway" '^L3-l2-loopback-refused$'
printf '%s\n' "$out" | grep -q 'l2-loopback-only' && t_not_ok "nor its page" "L3 printed L2's loopback page" ||
	t_ok "nor its page"
t_has "L2 reaches L3's server through the port forward" '^hello-from-l3$'
t_has "the port-forward fetch completes" '^L2-forward-done$'
t_summary
