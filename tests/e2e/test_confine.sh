#!/usr/bin/env bash
# Confinement, end to end in the lab (issue 16): a named VM with an adapter
# on a NAT switch runs; every thread of its VMM (main, vCPUs, the adapter's
# I/O thread) and of the switch's daemon has a seccomp filter (Seccomp: 2)
# and no_new_privs; the switch starter (the VMM's helper that starts a
# switch's daemon again) has no_new_privs and holds no guest memory and no
# KVM fd; a switch daemon killed with SIGKILL is started again by it and the
# adapter reconnects (the confined VMM itself cannot start a process); a
# guest's network still works through the confined daemon (DHCP, DNS
# refusal aside, a TCP fetch from the lab host); NESTVM_SECCOMP=log runs the
# same VM with filters that only log. Then --run-as: a NAT switch's daemon
# and a `nestvm run` VMM started by root become a dedicated user once set
# up (every thread: uid and gid 65534, no groups, no capabilities, filtered)
# and the guest still fetches its page through that daemon. Last a named VM
# created with --run-as nobody on that NAT switch: every thread of its VMM
# as nobody; what it writes after set-up (its status, saved state, a
# checkpoint's state) lands in the part of its folder nobody owns, root's
# part (the record, the locks, the logs) stays root's; vm save, vm start
# (a resume), vm checkpoint and vm stop work.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
t_kvm_or_lab linux "$0" "$@"
NV=${NESTVM:-build/nestvm}
export NESTVM_HOME
NESTVM_HOME=$(mktemp -d /tmp/nv-home.XXXXXX)
tmp=$(mktemp -d)
httpd_pid=''
cleanup() {
	[ -z "$httpd_pid" ] || kill "$httpd_pid" 2>/dev/null
	"$NV" vm stop c --force >/dev/null 2>&1
	"$NV" switch delete wan >/dev/null 2>&1
	"$NV" vm stop r --force >/dev/null 2>&1
	"$NV" switch delete wan2 >/dev/null 2>&1
	rm -rf "$NESTVM_HOME" "$tmp"
}
trap cleanup EXIT

field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status"; }

# every_thread PID LABEL: each thread of PID shows Seccomp 2, NoNewPrivs 1
# and no capability left (effective, permitted, bounding; the lab runs as
# root, so they were all there).
every_thread() {
	local pid=$1 label=$2 n=0 bad=''
	for t in /proc/"$pid"/task/*; do
		n=$((n + 1))
		s=$(sed -n 's/^Seccomp:[[:space:]]*//p' "$t/status")
		p=$(sed -n 's/^NoNewPrivs:[[:space:]]*//p' "$t/status")
		caps=$(grep -E '^Cap(Eff|Prm|Bnd):' "$t/status" | awk '{ print $2 }' | sort -u)
		[ "$s" = 2 ] && [ "$p" = 1 ] && [ "$caps" = 0000000000000000 ] ||
			bad="$bad $(cat "$t/comm")(Seccomp $s, NoNewPrivs $p, caps $(echo $caps))"
	done
	if [ -z "$bad" ] && [ "$n" -gt 0 ]; then t_ok "$label: all $n threads have Seccomp 2, NoNewPrivs 1, no capabilities"
	else t_not_ok "$label" "threads without:$bad ($n threads)"; fi
	NTHREADS=$n
}

mkdir -p "$tmp/www" && echo hello-through-confined-nat >"$tmp/www/index.html"
busybox httpd -f -p 127.0.0.1:8000 -h "$tmp/www" &
httpd_pid=$!

t_expect "create NAT switch wan (host loopback on)" 0 '' -- "$NV" switch create wan --type nat --host-loopback on
t_expect "create VM c (one adapter on wan)" 0 'VM c created' -- \
	"$NV" vm create c --memory 256M --cpus 2 --nic switch=wan --append quiet
t_expect "start c" 0 'VM c started' -- "$NV" vm start c
vmm=$("$NV" vm show c | sed -n 's/^Pid  *: *//p')
sw=$(cat "$NESTVM_HOME/switches/wan/daemon.pid")
if [ -n "$vmm" ] && [ -d "/proc/$vmm" ]; then
	every_thread "$vmm" "VMM of c"
	# main, 2 vCPUs, the adapter's I/O thread
	[ "$NTHREADS" -ge 4 ] && t_ok "the VMM has its main, vCPU and I/O threads ($NTHREADS)" ||
		t_not_ok "the VMM's threads" "only $NTHREADS"
else
	t_not_ok "VMM of c" "no VMM pid ('$vmm')"
fi
every_thread "$sw" "daemon of switch wan"
# limit NAME: the soft and hard values of /proc/$sw/limits' line NAME.
limit() { grep "^$1 " "/proc/$sw/limits" | sed "s/^$1 *//" | awk '{ print $1, $2 }'; }
at_most() { [ "$1" != unlimited ] && [ "$1" -le "$2" ]; }
read -r fsoft fhard <<<"$(limit 'Max open files')"
read -r dsoft dhard <<<"$(limit 'Max data size')"
at_most "$fsoft" 4096 && at_most "$fhard" 4096 && t_ok "the daemon has at most 4096 fds ($fsoft/$fhard)" ||
	t_not_ok "the daemon has at most 4096 fds" "$fsoft/$fhard"
# (Not under ASan, whose shadow memory is terabytes of reserved data.)
case $NV in
*-san) ;;
*) at_most "$dsoft" 536870912 && at_most "$dhard" 536870912 && t_ok "the daemon has at most 512 MiB of data ($dsoft/$dhard)" ||
	t_not_ok "the daemon has at most 512 MiB of data" "$dsoft/$dhard" ;;
esac

# The starter: a child of the VMM named nestvm-swstart.
starter=''
for p in /proc/[0-9]*; do
	[ "$(cat "$p/comm" 2>/dev/null)" = nestvm-swstart ] && [ "$(field "${p#/proc/}" PPid)" = "$vmm" ] && starter=${p#/proc/}
done
if [ -n "$starter" ]; then
	[ "$(field "$starter" NoNewPrivs)" = 1 ] && t_ok "the switch starter has no_new_privs" ||
		t_not_ok "the switch starter has no_new_privs" "NoNewPrivs $(field "$starter" NoNewPrivs)"
	held=$(ls -l "/proc/$starter/fd" 2>/dev/null | grep -c -e kvm -e anon_inode)
	maps=$(grep -c -e '/dev/zero' -e 'memfd' "/proc/$starter/maps" 2>/dev/null)
	fds=$(ls "/proc/$starter/fd" | wc -l)
	[ "$held" = 0 ] && [ "$fds" -le 4 ] && t_ok "the starter holds no KVM fd and only its socket ($fds fds)" ||
		t_not_ok "the starter's fds" "$(ls -l "/proc/$starter/fd")"
	vmsize=$(field "$starter" VmRSS | awk '{ print $1 }')
	[ "${vmsize:-999999}" -lt 65536 ] && t_ok "the starter maps no guest memory (RSS ${vmsize} kB, the guest has 256 MiB)" ||
		t_not_ok "the starter maps no guest memory" "RSS $vmsize kB, maps $maps"
else
	t_not_ok "the switch starter" "no nestvm-swstart child of $vmm"
fi

# --- the guest's network through the confined daemon
console_run() {
	: >"$tmp/console.out"
	{
		sleep 1
		printf '%s\r' "$1"
		for _ in $(seq 240); do grep -q -- "$2" "$tmp/console.out" && break; sleep 0.5; done
		printf '\001d'
		sleep 2
	} | timeout 300 "$NV" vm console c >"$tmp/console.out" 2>"$tmp/console.err"
}
console_run 'for i in $(seq 60); do ip route show default | grep -q via && break; sleep 1; done; echo F=$(wget -q -O - http://$(ip route show default | sed -n "s/.*via \([0-9.]*\).*/\1/p"):8000/ 2>&1)' 'F=[a-z]'
grep -q 'F=hello-through-confined-nat' "$tmp/console.out" && t_ok "the guest fetches a page through the confined NAT daemon" ||
	t_not_ok "the guest fetches a page through the confined NAT daemon" "$(tail -c 600 "$tmp/console.out")"

# --- a daemon killed with SIGKILL: started again, the adapter reconnects
kill -9 "$sw"
for _ in $(seq 60); do
	nsw=$(cat "$NESTVM_HOME/switches/wan/daemon.pid" 2>/dev/null)
	[ -n "$nsw" ] && [ "$nsw" != "$sw" ] && [ -d "/proc/$nsw" ] && "$NV" switch show wan 2>/dev/null | grep -q 'ports  *1' && break
	sleep 1
done
t_expect "the daemon of wan runs again, c's adapter on it" 0 'ports +1' -- "$NV" switch show wan
[ -n "${nsw:-}" ] && [ "$nsw" != "$sw" ] && every_thread "$nsw" "the restarted daemon of wan"
t_expect "c still runs" 0 '^State +: Running' -- "$NV" vm show c
t_expect "vm stop --force c" 0 '' -- "$NV" vm stop c --force

# --- log mode: filters that only log
NESTVM_SECCOMP=log t_expect "start c with NESTVM_SECCOMP=log" 0 'VM c started' -- "$NV" vm start c
vmm=$("$NV" vm show c | sed -n 's/^Pid  *: *//p')
[ -n "$vmm" ] && [ "$(field "$vmm" Seccomp)" = 2 ] && t_ok "log mode still loads filters" ||
	t_not_ok "log mode still loads filters" "Seccomp $(field "${vmm:-0}" Seccomp 2>/dev/null)"
t_expect "vm stop --force c" 0 '' -- "$NV" vm stop c --force

# --- --run-as: a dedicated user once set up (numbers: the lab may have no
# passwd entry for nobody)
as_user() {
	local pid=$1 label=$2 n=0 bad=''
	for t in /proc/"$pid"/task/*; do
		n=$((n + 1))
		u=$(sed -n 's/^Uid:[[:space:]]*//p' "$t/status" | tr -s '\t ' ' ')
		g=$(sed -n 's/^Gid:[[:space:]]*//p' "$t/status" | tr -s '\t ' ' ')
		gr=$(sed -n 's/^Groups:[[:space:]]*//p' "$t/status" | tr -d ' \t')
		[ "$u" = "65534 65534 65534 65534" ] && [ "$g" = "65534 65534 65534 65534" ] && [ "$gr" = 65534 ] ||
			bad="$bad $(cat "$t/comm")(Uid $u, Gid $g, Groups $gr)"
	done
	if [ -z "$bad" ] && [ "$n" -gt 0 ]; then t_ok "$label: all $n threads run as 65534:65534, no other group"
	else t_not_ok "$label" "threads still privileged:$bad ($n threads)"; fi
}
t_expect "create NAT switch wan2 --run-as 65534:65534" 0 '' -- \
	"$NV" switch create wan2 --type nat --host-loopback on --run-as 65534:65534
sw2=$(cat "$NESTVM_HOME/switches/wan2/daemon.pid")
as_user "$sw2" "daemon of wan2"
every_thread "$sw2" "daemon of wan2"
t_expect "switch show wan2 says whom it runs as" 0 'runs as 65534:65534' -- "$NV" switch list
"$NV" run --run-as 65534:65534 --memory 256M --cpus 2 --nic switch=wan2 -- sh -c \
	'for i in $(seq 60); do ip route show default | grep -q via && break; sleep 1; done; echo F=$(wget -q -O - http://$(ip route show default | sed -n "s/.*via \([0-9.]*\).*/\1/p"):8000/ 2>&1); sleep 4' \
	>"$tmp/run-as.out" 2>&1 &
runpid=$!
for _ in $(seq 240); do
	[ "$(ls "/proc/$runpid/task" 2>/dev/null | wc -l)" -ge 4 ] && break
	sleep 0.5
done
if [ -d "/proc/$runpid" ]; then
	as_user "$runpid" "nestvm run --run-as: the VMM"
	every_thread "$runpid" "nestvm run --run-as: the VMM"
else
	t_not_ok "nestvm run --run-as: the VMM" "it ended early: $(tail -c 400 "$tmp/run-as.out")"
fi
wait "$runpid"
st=$?
[ "$st" = 0 ] && grep -q 'F=hello-through-confined-nat' "$tmp/run-as.out" &&
	t_ok "the guest of a VMM run as 65534 fetches its page through wan2 (exit 0)" ||
	t_not_ok "the guest of a VMM run as 65534 fetches its page" "status $st: $(tail -c 600 "$tmp/run-as.out")"

# --- a named VM with --run-as: its VMM becomes the user once set up, and
# writes only in the user's part of the VM's folder from then on
if grep -q '^nobody:x:65534:65534:' /etc/passwd 2>/dev/null; then
	runas=nobody
elif t_in_lab; then # the lab's /etc is its own: give it the usual entry
	echo 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >>/etc/passwd
	runas=nobody
else
	runas=65534:65534
fi
R=$NESTVM_HOME/vms/r
t_expect "create VM r --run-as $runas on wan2" 0 "VM r created \(Off; its VMM runs as $runas\)" -- \
	"$NV" vm create r --memory 256M --cpus 2 --nic switch=wan2 --append quiet --run-as "$runas"
# named_vmm LABEL: r's VMM (its pid in RVMM) runs as nobody, every thread
# filtered, with its main, vCPU and I/O threads.
named_vmm() {
	RVMM=$("$NV" vm show r | sed -n 's/^Pid  *: *//p')
	for _ in $(seq 40); do
		[ "$(ls "/proc/${RVMM:-0}/task" 2>/dev/null | wc -l)" -ge 4 ] && break
		sleep 0.25
	done
	if [ -n "$RVMM" ] && [ -d "/proc/$RVMM" ]; then
		as_user "$RVMM" "$1"
		every_thread "$RVMM" "$1"
		[ "$NTHREADS" -ge 4 ] && t_ok "$1: main, vCPU and I/O threads ($NTHREADS)" ||
			t_not_ok "$1: its threads" "only $NTHREADS"
	else
		t_not_ok "$1" "no VMM pid ('$RVMM')"
	fi
}
# owned_by PATH UID: PATH's owner.
owned_by() { [ "$(stat -c %u "$1" 2>/dev/null)" = "$2" ] && t_ok "$1 is uid $2's" || t_not_ok "$1 is uid $2's" "$(ls -ld "$1" 2>&1)"; }
t_expect "start r" 0 'VM r started' -- "$NV" vm start r
named_vmm "vm start r (--run-as $runas): the VMM"
t_expect "r is Running (its VMM's status, read by root)" 0 '^State +: Running$' -- "$NV" vm show r
t_expect "root's part: 0710, the user's group" 0 '^710 0 65534$' -- stat -c '%a %u %g' "$R"
owned_by "$R/user" 65534
owned_by "$R/user/status.json" 65534
owned_by "$R/vm.json" 0
owned_by "$R/console.log" 0
t_expect "show --json: config.run_as" 0 '"run_as": \{ "uid": 65534, "gid": 65534' -- \
	sh -c "'$NV' vm show r --json | tr -d '\n' | tr -s ' '"

t_expect "vm save r" 0 'VM r is saved' -- "$NV" vm save r
t_expect "r is Saved" 0 '^State +: Saved$' -- "$NV" vm show r
owned_by "$R/user/saved/vm.state" 65534
owned_by "$R/user/saved/memory" 65534
t_expect "vm start r resumes it" 0 'VM r resumed from its saved state' -- "$NV" vm start r
named_vmm "the resumed VMM of r"
t_expect "its saved state is used up" 1 '' -- test -e "$R/user/saved/vm.state"
t_expect "vm checkpoint r cp1 (running)" 0 'checkpoint cp1 taken \(running state\)' -- "$NV" vm checkpoint r cp1
owned_by "$R/user/checkpoints/cp1/memory" 65534
owned_by "$R/checkpoints/cp1/checkpoint.json" 0
t_expect "r goes on after its checkpoint" 0 '^State +: Running$' -- "$NV" vm show r
t_expect "vm stop r" 0 '' -- "$NV" vm stop r --timeout 30
for _ in $(seq 40); do [ -d "/proc/$RVMM" ] || break; sleep 0.25; done
t_expect "r is Off, its VMM gone" 1 '' -- test -d "/proc/$RVMM"
t_expect "r's end is in root's record" 0 '"state": "Off"' -- sh -c "'$NV' vm list >/dev/null; '$NV' vm set r --cpus 2 >/dev/null; cat '$R/vm.json'"
t_expect "nothing of the user's outside its part" 0 '^$' -- find "$R" -user 65534 -not -path "$R/user*"
t_expect "vm restore r cp1 (Saved, as the user)" 0 'checkpoint cp1 restored \(Saved' -- "$NV" vm restore r cp1
owned_by "$R/user/saved/memory" 65534
t_expect "vm delete r" 0 'VM r deleted' -- "$NV" vm delete r
t_summary
