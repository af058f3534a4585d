#!/usr/bin/env bash
# nestvm-runtime, the OCI runtime (runc's command line), on any host: no
# KVM, no VM. A fake VMM ($NESTVM for the runtime) follows the protocol of
# `nestvm container run --oci-state DIR`: it says "ok" on
# $NESTVM_OCI_READY_FD (or "error: ..." and exits 1), waits on
# DIR/start.fifo, touches DIR/started, then sleeps or exits with a status.
# Checked: create, state created, start, state running, kill TERM and KILL,
# state stopped, delete and its refusals, --force, bad and existing IDs, a
# missing bundle, --pid-file, --log-format json, features, --version, the
# one-line errors, exec refused.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
NV=${NESTVM:-build/nestvm}
# build/nestvm -> build/nestvm-runtime, build/nestvm-san -> build/nestvm-runtime-san
RT=${NESTVM_RUNTIME:-${NV%nestvm*}nestvm-runtime${NV##*nestvm}}
JSON_GET=$(t_tool json_get)
T=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$T/b/rootfs" "$T/tb/rootfs"
proc='"user":{"uid":0,"gid":0},"args":["/bin/true"],"cwd":"/"'
printf '{"ociVersion":"1.0.2","process":{%s},"root":{"path":"rootfs"}}' "$proc" >"$T/b/config.json"
printf '{"ociVersion":"1.0.2","process":{"terminal":true,%s},"root":{"path":"rootfs"}}' "$proc" >"$T/tb/config.json"

cat >"$T/fake-vmm" <<'FAKE'
#!/usr/bin/env bash
# fake `nestvm container run --oci-state DIR [-i] [-t] BUNDLE`
[ "$1 $2 $3" = "container run --oci-state" ] || { echo "fake-vmm: bad arguments: $*" >&2; exit 2; }
dir=$4
echo "$*" >"$dir/args"
if [ -n "${FAKE_ERROR:-}" ]; then
	echo "error: $FAKE_ERROR" >&"$NESTVM_OCI_READY_FD"
	exit 1
fi
echo ok >&"$NESTVM_OCI_READY_FD"
eval "exec $NESTVM_OCI_READY_FD>&-"
read -r -n 1 _ <"$dir/start.fifo"
touch "$dir/started"
if [ -n "${FAKE_STATUS:-}" ]; then sleep 0.3; exit "$FAKE_STATUS"; fi
# A signal for the container comes as SIGRTMIN+1 (util/signal_forward.h).
trap 'echo forwarded >>"$dir/forwarded"' RTMIN+1
trap 'kill $! 2>/dev/null; exit 143' TERM
sleep 60 </dev/null >/dev/null 2>&1 &
while kill -0 $! 2>/dev/null; do wait $!; done
FAKE
chmod +x "$T/fake-vmm"
R=$T/root
export NESTVM=$T/fake-vmm
rt() { "$RT" --root "$R" "$@"; }
# status ID: the status `state` reports.
status() { rt state "$1" 2>/dev/null | "$JSON_GET" status | sed 's/^string //'; }
# create ID [ARGS...]: created in the background of this test (the VMM
# keeps create's stdout and stderr: files, not a pipe to wait on).
create() {
	local id=$1
	shift
	rt create --bundle "$T/b" --pid-file "$T/$id.pid" "$@" "$id" >"$T/$id.out" 2>"$T/$id.err" </dev/null
	local st=$?
	[ -s "$T/$id.pid" ] && pids+=("$(cat "$T/$id.pid")")
	return $st
}
wait_status() { # ID WANT: up to 5 s
	for _ in $(seq 50); do [ "$(status "$1")" = "$2" ] && return 0; sleep 0.1; done
	return 1
}

t_expect "--version" 0 '^nestvm-runtime version [0-9]' -- "$RT" --version
t_expect "--version names the spec" 0 '^spec: 1\.0\.2$' -- "$RT" -v
t_expect "--help names the commands" 0 'exec +not supported yet' -- "$RT" --help
t_fails "an unknown command" 1 "^nestvm-runtime: unknown command 'frob'" -- "$RT" frob
t_fails "an unknown global option" 1 "^nestvm-runtime: unknown option '--frob'" -- "$RT" --frob state x
t_fails "an unknown create option" 1 "^nestvm-runtime: create: unknown option '--frob'" -- rt create --frob x
t_fails "no command" 1 '^nestvm-runtime: give a command' -- "$RT"
t_fails "exec is refused" 1 '^nestvm-runtime: exec is not supported yet$' -- rt exec c1 true
t_fails "a bad --log-format" 1 "log-format 'xml'" -- "$RT" --log-format xml state x
t_fails "--preserve-fds 3" 1 'preserve-fds 3: only 0 for now' -- rt create --bundle "$T/b" --preserve-fds 3 c1

out=$("$RT" features) && t_ok "features exits 0" || t_not_ok "features exits 0" "$out"
got=$(printf '%s' "$out" | "$JSON_GET" ociVersionMin ociVersionMax hooks linux.namespaces.0 linux.namespaces.1 mountOptions | tr '\n' ' ')
case $got in
"string 1.0.0 string 1.0.2 array 0 string mount string uts array "*) t_ok "features JSON: $got" ;;
*) t_not_ok "features JSON" "$got" ;;
esac
printf '%s' "$out" | grep -q '"rbind"' && t_ok "features lists rbind" || t_not_ok "features lists rbind" "$out"

for bad in '' .hidden 'a/b' 'a b' "$(printf 'x%.0s' $(seq 129))" '..'; do
	t_fails "create refuses the ID '${bad:0:20}'" 1 'is not a container ID|give the container' -- rt create --bundle "$T/b" "$bad"
done
t_fails "a missing bundle" 1 "bundle $T/none: No such file" -- rt create --bundle "$T/none" c1
mkdir -p "$T/nocfg"
t_fails "a bundle without config.json" 1 'config.json' -- rt create --bundle "$T/nocfg" c1
t_fails "a terminal without --console-socket" 1 'give --console-socket' -- rt create --bundle "$T/tb" c1
t_fails "state of no such container" 1 'container c9 does not exist' -- rt state c9
t_fails "start of no such container" 1 'does not exist' -- rt start c9
t_fails "delete of no such container" 1 'does not exist' -- rt delete c9
t_expect "delete --force of no such container" 0 '' -- rt delete --force c9

# The life of one container.
if create c1; then t_ok "create c1"; else t_not_ok "create c1" "$(cat "$T/c1.err")"; fi
pid=$(cat "$T/c1.pid" 2>/dev/null)
[[ $pid =~ ^[0-9]+$ ]] && [ "$(wc -l <"$T/c1.pid")" = 0 ] && t_ok "--pid-file holds the pid, no newline ($pid)" ||
	t_not_ok "--pid-file" "'$(cat "$T/c1.pid" 2>/dev/null)'"
[ "$(stat -c %a "$R/c1")" = 700 ] && t_ok "the container's folder is 0700" || t_not_ok "folder mode" "$(stat -c %a "$R/c1")"
[ "$(stat -c %a "$R")" = 700 ] && t_ok "the root is made 0700" || t_not_ok "root mode" "$(stat -c %a "$R")"
[ -p "$R/c1/start.fifo" ] && [ "$(stat -c %a "$R/c1/start.fifo")" = 600 ] && t_ok "start.fifo is a fifo, 0600" || t_not_ok "start.fifo" "$(ls -l "$R/c1")"
args=$(cat "$R/c1/args" 2>/dev/null)
[ "$args" = "container run --oci-state $R/c1 $T/b" ] && t_ok "the VMM's arguments: $args" || t_not_ok "the VMM's arguments" "$args"
[ "$(ps -o sid= -p "$pid" | tr -d ' ')" = "$pid" ] && t_ok "the VMM leads a session of its own" || t_not_ok "setsid" "$(ps -o pid,sid -p "$pid")"
st=$(rt state c1)
got=$(printf '%s' "$st" | "$JSON_GET" ociVersion id status pid bundle annotations | tr '\n' ' ')
[ "$got" = "string 1.0.2 string c1 string created int $pid string $T/b object 0 " ] && t_ok "state: created ($got)" || t_not_ok "state created" "$got"
t_fails "create of an existing ID" 1 '^nestvm-runtime: container with id exists: c1$' -- rt create --bundle "$T/b" c1
t_fails "delete of a created container" 1 'cannot delete container c1 that is not stopped: created' -- rt delete c1
t_fails "kill with no signal Linux has" 1 "unknown signal 'FROB'" -- rt kill c1 FROB
t_expect "start c1" 0 '' -- rt start c1
[ "$(status c1)" = running ] && t_ok "state: running" || t_not_ok "state running" "$(status c1)"
t_fails "start of a running container" 1 'already running' -- rt start c1
t_fails "delete of a running container" 1 'that is not stopped: running' -- rt delete c1
t_expect "list shows c1" 0 "^c1 +$pid +running +$T/b " -- rt list
t_expect "kill c1 HUP: queued to the VMM for the container" 0 '' -- rt kill c1 HUP
for _ in $(seq 50); do [ -s "$R/c1/forwarded" ] && break; sleep 0.1; done
[ "$(cat "$R/c1/forwarded" 2>/dev/null)" = forwarded ] && t_ok "the VMM got SIGRTMIN+1 (a forwarded signal), and lives" ||
	t_not_ok "the VMM got SIGRTMIN+1" "$(ls "$R/c1")"
[ "$(status c1)" = running ] && t_ok "state: still running after HUP" || t_not_ok "still running after HUP" "$(status c1)"
t_expect "kill c1 (SIGTERM by default)" 0 '' -- rt kill c1
wait_status c1 stopped && t_ok "state: stopped after SIGTERM" || t_not_ok "stopped after SIGTERM" "$(status c1)"
[ "$(rt state c1 | "$JSON_GET" pid)" = "int 0" ] && t_ok "a stopped container's pid is 0" || t_not_ok "pid 0" "$(rt state c1)"
t_fails "kill of a stopped container" 1 '^nestvm-runtime: container not running$' -- rt kill c1 KILL
t_expect "delete c1" 0 '' -- rt delete c1
[ ! -e "$R/c1" ] && t_ok "delete removes the folder" || t_not_ok "delete removes the folder" "$(ls -la "$R/c1")"

# A stdin that is not /dev/null: the VMM gets -i.
rt create --bundle "$T/b" --pid-file "$T/ci.pid" ci <"$T/b/config.json" >/dev/null 2>&1 && pids+=("$(cat "$T/ci.pid")")
args=$(cat "$R/ci/args" 2>/dev/null)
[ "$args" = "container run --oci-state $R/ci -i $T/b" ] && t_ok "a stdin that is not /dev/null: -i" || t_not_ok "-i" "$args"
rt delete --force ci

# SIGKILL, by number and names.
create c2 && rt start c2 && t_expect "kill c2 SIGKILL" 0 '' -- rt kill --all c2 SIGKILL
wait_status c2 stopped && t_ok "state: stopped after SIGKILL" || t_not_ok "stopped after SIGKILL" "$(status c2)"
rt delete c2
create c3 && t_expect "kill a created container with 15" 0 '' -- rt kill c3 15
wait_status c3 stopped && t_ok "a created container stops on SIGTERM" || t_not_ok "created, SIGTERM" "$(status c3)"
rt delete c3

# --force on a created and a running container.
create c4 && t_expect "delete --force of a created container" 0 '' -- rt delete --force c4
[ ! -e "$R/c4" ] && ! kill -0 "$(cat "$T/c4.pid")" 2>/dev/null && t_ok "--force ended its VMM" ||
	{ [ "$(ps -o stat= -p "$(cat "$T/c4.pid")" | cut -c1)" = Z ] && t_ok "--force ended its VMM (a zombie of init's)" ||
		t_not_ok "--force ended its VMM" "$(ps -o pid,stat -p "$(cat "$T/c4.pid")")"; }
create c5 && rt start c5 && t_expect "delete --force of a running container" 0 '' -- rt delete -f c5

# A container whose process exits by itself.
FAKE_STATUS=3 create c6 && rt start c6
wait_status c6 stopped && t_ok "a container whose process ended is stopped" || t_not_ok "ended by itself" "$(status c6)"
t_expect "delete a stopped container" 0 '' -- rt delete c6

# The VMM's refusal is create's error; the folder goes.
t_fails "the VMM's error line" 1 '^nestvm-runtime: no kernel for you$' -- env FAKE_ERROR="no kernel for you" "$RT" --root "$R" create --bundle "$T/b" c7
[ ! -e "$R/c7" ] && t_ok "a failed create leaves no folder" || t_not_ok "a failed create leaves no folder" "$(ls "$R")"
t_fails "a VMM that cannot run" 1 'cannot run /nonexistent' -- env NESTVM=/nonexistent "$RT" --root "$R" create --bundle "$T/b" c7

# --log-format json: runc's lines, which podman reads.
t_fails "an error with --log" 1 'container c9 does not exist' -- "$RT" --root "$R" --log "$T/log.json" --log-format json state c9
line=$(tail -n 1 "$T/log.json")
got=$(printf '%s' "$line" | "$JSON_GET" level msg | tr '\n' ' ')
time=$(printf '%s' "$line" | "$JSON_GET" time)
if [ "$got" = "string error string container c9 does not exist " ] &&
	[[ $time =~ ^string\ [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$ ]]; then
	t_ok "--log-format json: $line"
else
	t_not_ok "--log-format json" "$line"
fi
"$RT" --root "$R" --log "$T/log.txt" state c9 2>/dev/null
grep -q '^nestvm-runtime: container c9 does not exist$' "$T/log.txt" && t_ok "--log as text" || t_not_ok "--log as text" "$(cat "$T/log.txt")"
t_expect "--systemd-cgroup is accepted" 0 '^ID ' -- "$RT" --root "$R" --systemd-cgroup list
t_summary
