#!/usr/bin/env bash
# nestvm-runtime with real VMs (issue 14), as a container engine drives
# it (runc's command line): create builds the container's VM and leaves it
# waiting (state "created", the workload not running, --pid-file the
# VMM's pid), start runs it (state "running"), kill TERM reaches the
# container's process (its trap runs), the state goes "stopped", delete
# forgets it; kill KILL ends a VM at once; delete refuses a running one
# without --force; a broken bundle fails create with one line and leaves
# no folder behind.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
t_kvm_or_lab linux "$0" "$@"
NV=${NESTVM:-build/nestvm}
RT=${NESTVM_RUNTIME:-${NV%nestvm*}nestvm-runtime${NV##*nestvm}}
JSON_GET=$(t_tool json_get)
tmp=$(mktemp -d)
ROOT=$tmp/root
cleanup() {
	"$RT" --root "$ROOT" delete --force c1 >/dev/null 2>&1
	"$RT" --root "$ROOT" delete --force c2 >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
B=$tmp/bundle
mkdir -p "$B/rootfs/bin" "$B/rootfs/proc" "$B/rootfs/dev" "$B/rootfs/tmp"
cp /bin/busybox "$B/rootfs/bin/"
for c in sh sleep echo; do ln -s busybox "$B/rootfs/bin/$c"; done
cat >"$B/config.json" <<'JSON'
{"ociVersion": "1.0.2",
 "process": {"user": {"uid": 0, "gid": 0}, "cwd": "/",
  "args": ["sh", "-c", "echo in-container; trap 'echo got-term; exit 9' TERM; while :; do sleep 0.2; done"]},
 "root": {"path": "rootfs"},
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}]}
JSON
rt() { "$RT" --root "$ROOT" "$@"; }
status() { rt state "$1" 2>/dev/null | "$JSON_GET" status 2>/dev/null | sed 's/^string //'; }

c1_out=$tmp/c1.out
# The container's stdio are create's, as an engine hands them over.
create_c1() { rt create --bundle "$B" --pid-file "$tmp/c1.pid" c1 </dev/null >"$c1_out" 2>&1; }
t_expect "create c1" 0 '' -- create_c1
pid=$(cat "$tmp/c1.pid" 2>/dev/null)
[ -n "$pid" ] && [ -d "/proc/$pid" ] && t_ok "--pid-file names a live process (the VMM, $pid)" ||
	t_not_ok "--pid-file names a live process" "'$pid'"
[ "$(status c1)" = created ] && t_ok "state: created" || t_not_ok "state: created" "$(rt state c1 2>&1)"
sleep 2
! grep -q in-container "$c1_out" && t_ok "the workload does not run before start" ||
	t_not_ok "the workload does not run before start" "$(cat "$c1_out")"
t_expect "start c1" 0 '' -- rt start c1
[ "$(status c1)" = running ] && t_ok "state: running" || t_not_ok "state: running" "$(rt state c1 2>&1)"
t_wait_for "$c1_out" '^in-container' 120 && t_ok "the workload runs, its output passes through" ||
	t_not_ok "the workload runs" "$(cat "$c1_out")"
t_expect "state's pid is the VMM's" 0 "\"pid\": $pid" -- rt state c1
t_fails "delete refuses a running container" 1 'running' -- rt delete c1
t_expect "kill c1 TERM" 0 '' -- rt kill c1 TERM
t_wait_for "$c1_out" '^got-term' 60 && t_ok "SIGTERM reaches the container's process (its trap ran)" ||
	t_not_ok "SIGTERM reaches the container's process" "$(cat "$c1_out")"
i=0
while [ "$(status c1)" != stopped ] && [ $i -lt 100 ]; do sleep 0.2; i=$((i + 1)); done
[ "$(status c1)" = stopped ] && t_ok "state: stopped once it ended" || t_not_ok "state: stopped" "$(rt state c1 2>&1)"
t_expect "delete c1" 0 '' -- rt delete c1
[ ! -e "$ROOT/c1" ] && t_ok "its folder is gone" || t_not_ok "its folder is gone" "$(ls "$ROOT/c1")"

t_expect "create and start c2" 0 '' -- sh -c "'$RT' --root '$ROOT' create --bundle '$B' c2 </dev/null >'$tmp/c2.out' 2>&1 && '$RT' --root '$ROOT' start c2"
t_wait_for "$tmp/c2.out" '^in-container' 120 && t_ok "c2 runs" || t_not_ok "c2 runs" "$(cat "$tmp/c2.out")"
t_expect "kill c2 KILL" 0 '' -- rt kill c2 KILL
i=0
while [ "$(status c2)" != stopped ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
[ "$(status c2)" = stopped ] && t_ok "SIGKILL ends the VM at once" || t_not_ok "SIGKILL ends the VM at once" "$(rt state c2 2>&1)"
t_expect "delete c2" 0 '' -- rt delete c2

sed -i 's/"args"/"argz"/' "$B/config.json"
t_fails "create with a broken config.json: one line" 1 'nestvm-runtime: .*process.args' -- rt create --bundle "$B" c3
[ ! -e "$ROOT/c3" ] && t_ok "... and no folder left" || t_not_ok "... and no folder left" "$ROOT/c3 exists"
t_summary
