#!/usr/bin/env bash
# MAC address spoofing, Hyper-V's documented nested-networking scenario, end
# to end in the lab (the lab host is L1):
#   L1: private switch "outer"; VM "server" (10.20.0.1) serves a page on it;
#       VM "l2" (extensions on, one adapter, spoofing off) is on it too.
#   L2: an external switch "ext" on its adapter eth0, and an L3 guest
#       (10.20.0.3) behind it that fetches the server's page in a loop.
# With spoofing off, L1's switch drops L3's frames (their source MAC is not
# l2's adapter's) and counts them; turning spoofing on for l2's adapter while
# everything runs makes the same L3 request succeed.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
t_kvm_or_lab nested "$0" "$@"
NV=${NESTVM:-build/nestvm}
T=${NESTVM_E2E_L2_TIMEOUT:-1200}
export NESTVM_HOME
NESTVM_HOME=$(mktemp -d /tmp/nv-home.XXXXXX)
tmp=$(mktemp -d)
cleanup() {
	exec 3>&-
	kill "$server" "$l2" 2>/dev/null
	wait 2>/dev/null
	"$NV" switch delete outer >/dev/null 2>&1
	rm -rf "$NESTVM_HOME" "$tmp"
}
server='' l2=''
trap cleanup EXIT

t_expect "create private switch outer" 0 '' -- "$NV" switch create outer --type private

# The server boots beside L2: L2 pings until it answers (up to ~2 minutes).
timeout "$T" "$NV" run --name server --memory 256M --nic switch=outer \
	--append nestvm.net=10.20.0.1/24 -- sh -c '
	mkdir -p /www && echo hello-from-outer >/www/index.html
	httpd -f -p 80 -h /www' >"$tmp/server.out" 2>&1 &
server=$!

# L3 tries once every few seconds and says how each try went; it gives up
# after about five minutes.
l3_script='for i in $(seq 1 100); do
	if timeout 3 wget -q -O /tmp/page http://10.20.0.1/ && grep -q hello-from-outer /tmp/page; then
		echo L3-fetch-ok; exit 0
	fi
	echo L3-fetch-failed; sleep 1
done; exit 1'
# L2's console input is a FIFO held open here: L2 waits on it at the end so
# that its port (and what outer learned on it) is still there to look at.
mkfifo "$tmp/l2.in"
exec 3<>"$tmp/l2.in"
timeout "$T" "$NV" run --name l2 --nested --memory 1G --nic switch=outer \
	--append nestvm.net=10.20.0.2/24 -- sh -c "
	nestvm switch create ext --type external --interface eth0 && echo L2-ext-switch-up
	for i in \$(seq 1 60); do ping -c 1 -W 2 10.20.0.1 >/dev/null && { echo L2-reaches-server; break; }; done
	nestvm run --name l3 --memory 256M --nic switch=ext --append nestvm.net=10.20.0.3/24 -- sh -c '$l3_script'
	echo L3-status=\$?
	nestvm switch show ext
	echo L2-waiting; read -t 600 go; echo L2-done" <"$tmp/l2.in" >"$tmp/l2.out" 2>&1 &
l2=$!

# wait_for REGEX SECONDS: until L2's output has a line matching REGEX.
wait_for() {
	local i
	for i in $(seq 1 "$2"); do
		grep -Eq -- "$1" "$tmp/l2.out" && return 0
		kill -0 "$l2" 2>/dev/null || break
		sleep 1
	done
	grep -Eq -- "$1" "$tmp/l2.out"
}

wait_for '^L3-fetch-(failed|ok)' 900
out=$(cat "$tmp/l2.out")
t_has "L2 runs an external switch on its adapter" '^L2-ext-switch-up$'
# On failure: L2's output, the server's console and outer's ports, to tell
# which side it was.
if grep -q '^L2-reaches-server$' "$tmp/l2.out"; then t_ok "L2 itself reaches the server (its own MAC)"
else t_not_ok "L2 itself reaches the server (its own MAC)" "L2: $(tr '\n' '|' <"$tmp/l2.out") \
server: $(tail -c 400 "$tmp/server.out" | tr '\n' '|') outer: $("$NV" switch show outer --json 2>&1 | tr -d ' \n')"; fi
t_has "with spoofing off, L3's request fails" '^L3-fetch-failed$'
if grep -q '^L3-fetch-ok' "$tmp/l2.out"; then t_not_ok "with spoofing off, L3 never gets through" "$out"
else t_ok "with spoofing off, L3 never gets through"; fi
before=$("$NV" switch show outer --json 2>&1)
dropped=$(printf '%s' "$before" | tr -d ' \n' | grep -o '"port":"l2/0"[^}]*' | grep -o '"dropped_spoofed":[0-9]*' | cut -d: -f2)
if [ "${dropped:-0}" -gt 0 ]; then t_ok "outer's drop counter shows l2/0's spoofed frames ($dropped)"
else t_not_ok "outer's drop counter shows l2/0's spoofed frames" "$before"; fi

# Everything still runs: turn spoofing on for l2's adapter.
t_expect "turn spoofing on for l2's adapter while it runs" 0 '' -- \
	"$NV" switch port outer l2 --mac-spoofing on
wait_for '^L3-(fetch-ok|status=)' 600
out=$(cat "$tmp/l2.out")
t_has "with spoofing on, the same L3 request succeeds" '^L3-fetch-ok$'
# l2's port goes when L2 ends: look while L2 waits for its console input.
wait_for '^L2-waiting' 300
after=$("$NV" switch show outer --json 2>&1)
echo go >&3
wait "$l2"
out=$(cat "$tmp/l2.out")
t_has "L3 exits 0 after its fetch" '^L3-status=0$'
t_has "L2 ends once told, after the look at outer" '^L2-done$'
n=$(printf '%s' "$after" | tr -d ' \n' | grep -o '"port":"l2/0"[^]]*' | grep -o '"learned_macs":\[[^]]*' | grep -o '"[0-9a-f:]*"' | wc -l)
if [ "$n" -ge 2 ]; then t_ok "outer learned L3's MAC on l2's port ($n MACs)"
else t_not_ok "outer learned L3's MAC on l2's port" "$after"; fi
t_summary
