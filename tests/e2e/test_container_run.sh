#!/usr/bin/env bash
# `nestvm container run` end to end (issue 14): a busybox root filesystem
# and an OCI bundle run in VMs of their own. The container runs under
# another kernel (its boot id is not the host's), returns its status (a
# signal's as 128+N, a missing program's as 127), writes into its root on
# the host, shares -v folders both ways (and read-only with :ro), gets
# the bundle's user, groups, cwd, env, host name and rlimit, reads
# /dev/null without -i, has the devices every container has, a copied
# file bind (/etc/hosts), and no path out of its root: absolute, relative
# and dangling symlinks in the image and in a shared folder, and `..`,
# all stay inside.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
t_kvm_or_lab linux "$0" "$@"
NV=${NESTVM:-build/nestvm}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
R=$tmp/rootfs
mkdir -p "$R/bin" "$R/etc" "$R/proc" "$R/sys" "$R/dev" "$R/tmp" "$R/data" "$tmp/data" "$tmp/ro"
cp /bin/busybox "$R/bin/busybox"
for c in $(/bin/busybox --list); do [ -e "$R/bin/$c" ] || ln -s busybox "$R/bin/$c"; done
echo "root:x:0:0:root:/root:/bin/sh" >"$R/etc/passwd"
echo "HOST-SECRET-$$" >"$tmp/secret"
ln -s "$tmp/secret" "$R/abs-link"
ln -s ../../../../../../..$tmp/secret "$R/up-link"
ln -s /nonexistent/target "$R/dangling"
ln -s "$tmp" "$tmp/data/out-link"
echo "from the host" >"$tmp/data/in.txt"
echo "read only" >"$tmp/ro/r.txt"
echo "10.9.8.7 copied-host" >"$tmp/hosts"

run() { "$NV" container run "$@" </dev/null; }

out=$(run "$R" sh -c 'echo hello; echo oops >&2; exit 3' 2>&1) && st=0 || st=$?
[ "$st" = 3 ] && t_ok "the container's exit status comes back (3)" || t_not_ok "the container's exit status comes back" "status $st: $out"
[ "$out" = "$(printf 'hello\noops')" ] && t_ok "its output and stderr pass through, and nothing else (no kernel or virtiofsd lines)" ||
	t_not_ok "its output and stderr pass through, and nothing else" "$(printf '%s' "$out" | head -c 600 | tr '\n' '|')"

# Without a terminal the console carries stdin, stdout and stderr as an
# escaped stream (util/stdio_mux.h): bytes pass untouched both ways,
# stdin ends, and stderr stays stderr.
out=$(run "$R" sh -c 'echo to-out; echo to-err >&2' 2>/dev/null)
[ "$out" = to-out ] && t_ok "stdout alone on stdout" || t_not_ok "stdout alone on stdout" "$(printf '%s' "$out" | tr '\n' '|')"
out=$(run "$R" sh -c 'echo to-out; echo to-err >&2' 2>&1 >/dev/null)
[ "$out" = to-err ] && t_ok "stderr alone on stderr" || t_not_ok "stderr alone on stderr" "$(printf '%s' "$out" | tr '\n' '|')"
out=$(printf 'line one\nline two\n' | "$NV" container run -i "$R" cat 2>&1) && st=0 || st=$?
[ "$st" = 0 ] && [ "$out" = "$(printf 'line one\nline two')" ] && t_ok "-i: stdin reaches the container once (no echo) and its end ends cat" ||
	t_not_ok "-i: stdin reaches the container once and its end ends cat" "status $st: $(printf '%s' "$out" | tr '\n' '|')"
head -c 16384 /dev/urandom >"$tmp/random"
"$NV" container run -i "$R" sh -c 'cat; printf "\377\000\003\004" >&2' <"$tmp/random" >"$tmp/random.out" 2>"$tmp/random.err" && st=0 || st=$?
if [ "$st" = 0 ] && cmp -s "$tmp/random" "$tmp/random.out"; then t_ok "-i: 16 KiB of random bytes go through cat unchanged"
else t_not_ok "-i: 16 KiB of random bytes go through cat unchanged" "status $st: $(cmp "$tmp/random" "$tmp/random.out" 2>&1 | head -1), $(wc -c <"$tmp/random.out") bytes back"; fi
[ "$(od -An -tx1 "$tmp/random.err" | tr -d ' \n')" = ff000304 ] && t_ok "stderr's bytes (0xff, NUL, Ctrl-C, Ctrl-D) unchanged" ||
	t_not_ok "stderr's bytes unchanged" "$(od -An -tx1 "$tmp/random.err" | head -2)"
out=$(yes | timeout 120 "$NV" container run -i "$R" sh -c 'head -n 2; exit 4' 2>&1) && st=0 || st=$?
[ "$st" = 4 ] && [ "$out" = "$(printf 'y\ny')" ] && t_ok "-i: a container that stops reading its endless stdin still ends (4)" ||
	t_not_ok "-i: a container that stops reading its endless stdin still ends" "status $st: $(printf '%s' "$out" | head -c 300 | tr '\n' '|')"

# As under runc: PID 1 of a PID namespace, and --memory a cgroup's limit
# (the VM has the guest's own memory beside it).
out=$(run --memory 64M "$R" sh -c 'echo pid=$$; mkdir -p /tmp/cg && mount -t cgroup2 none /tmp/cg && echo max=$(cat /tmp/cg/memory.max)' 2>&1)
t_has "the container's process is PID 1 of its own PID namespace" '^pid=1$'
t_has "--memory 64M: its cgroup's memory.max is 64 MiB" '^max=67108864$'

# -t: the console is the container's terminal (no relay), typed keys reach
# it, and it is PID 1 there too.
out=$(build/tests/tools/pty_run --timeout 240 --expect PROMPT-READY --send 'echo typed-$((6*7)); exit 6' -- \
	"$NV" container run -t "$R" sh -c '[ -t 0 ] && echo IS-A-TTY; echo pid=$$; echo PROMPT-READY; read -r line; eval "$line"' 2>&1) && st=0 || st=$?
[ "$st" = 6 ] && t_ok "-t: the container's status through a terminal (6)" || t_not_ok "-t: the container's status through a terminal" "status $st: $(printf '%s' "$out" | tail -c 400 | tr '\r\n' '||')"
t_has "-t: its stdin is a terminal" 'IS-A-TTY'
t_has "-t: PID 1 with a terminal too" 'pid=1'
t_has "-t: what is typed reaches it" 'typed-42'

host_boot=$(cat /proc/sys/kernel/random/boot_id)
out=$(run "$R" cat /proc/sys/kernel/random/boot_id 2>&1)
case $out in
????????-????-????-????-????????????) [ "$out" != "$host_boot" ] && t_ok "it runs under another kernel (boot id $out, the host's $host_boot)" ||
	t_not_ok "it runs under another kernel" "the same boot id $out" ;;
*) t_not_ok "it runs under another kernel" "no boot id: $out" ;;
esac

# (sh is PID 1 of its namespace: its own kill -9 does not reach it, as
# under runc; the status of one it started does.)
out=$(run "$R" sh -c 'sh -c "kill -9 \$\$"; exit $?' 2>&1) && st=0 || st=$?
[ "$st" = 137 ] && t_ok "killed by a signal: 128+9" || t_not_ok "killed by a signal: 128+9" "status $st: $out"
out=$(run "$R" /no/such/program 2>&1) && st=0 || st=$?
[ "$st" = 127 ] && t_ok "a missing program: 127" || t_not_ok "a missing program: 127" "status $st: $out"
t_has "... said in one line" 'nestvm-container: /no/such/program: No such file or directory'

out=$(run "$R" sh -c 'echo made-inside >/made.txt; mkdir -p /newdir; echo ok' 2>&1)
t_file_has "a write to its root lands in the folder on the host" "$R/made.txt" '^made-inside$'

out=$(run -v "$tmp/data:/data" -v "$tmp/ro:/ro:ro" "$R" sh -c '
	cat /data/in.txt; echo back >/data/out.txt && echo WROTE
	cat /ro/r.txt; { echo no >/ro/w.txt; } 2>/dev/null && echo RO-WRITTEN || echo RO-REFUSED' 2>&1)
t_has "-v: the container reads the host's file" '^from the host$'
t_file_has "-v: the host reads the container's file" "$tmp/data/out.txt" '^back$'
t_has "-v :ro: readable" '^read only$'
t_has "-v :ro: a write is refused" '^RO-REFUSED$'
[ ! -e "$tmp/ro/w.txt" ] && t_ok "-v :ro: nothing reached the host" || t_not_ok "-v :ro: nothing reached the host" "$tmp/ro/w.txt exists"

out=$(run -v "$tmp/data:/data" "$R" sh -c '
	cat /abs-link /up-link /dangling /data/out-link/secret /data/../../../..'"$tmp"'/secret 2>&1
	ls /data/out-link/ 2>&1; echo END' 2>&1)
t_has "the escape attempts ran" '^END$'
if printf '%s' "$out" | grep -q "HOST-SECRET-$$"; then
	t_not_ok "symlinks and .. stay inside the root and the share" "the host's file was read: $out"
else
	t_ok "symlinks (absolute, relative, dangling, in a share) and .. stay inside the root and the share"
fi

out=$(run "$R" sh -c 'ls -l /dev/null /dev/zero /dev/urandom /dev/tty | wc -l; head -c 4 /dev/zero | wc -c; cat; echo STDIN-EOF' 2>&1)
t_has "/dev has null, zero, urandom and tty" '^4$'
t_has "/dev/zero reads zeros" '^4$'
t_has "without -i the container reads /dev/null" '^STDIN-EOF$'

out=$(run --hostname box -v "$tmp/hosts:/etc/hosts" "$R" sh -c 'hostname; cat /etc/hosts; mount | grep -c " /proc "' 2>&1)
t_has "--hostname" '^box$'
t_has "a file bind (copied in)" '^10.9.8.7 copied-host$'

# An OCI bundle: config.json with its own user, cwd, env, rlimit, groups.
B=$tmp/bundle
mkdir -p "$B"
ln -s "$R" "$B/rootfs"
cat >"$B/config.json" <<JSON
{"ociVersion": "1.0.2",
 "process": {"terminal": false, "user": {"uid": 1000, "gid": 100, "additionalGids": [10, 20]},
  "args": ["sh", "-c", "id; pwd; echo \$GREETING; ulimit -n; hostname; touch /tmp/x 2>&1; cat /proc/self/status | grep NoNewPrivs"],
  "env": ["PATH=/bin", "GREETING=hello from the bundle"], "cwd": "/tmp",
  "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654}], "noNewPrivileges": true},
 "root": {"path": "rootfs", "readonly": true},
 "hostname": "bundled",
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
  {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
  {"destination": "/data", "type": "bind", "source": "$tmp/data", "options": ["rbind", "ro"]}]}
JSON
out=$(run "$B" 2>&1) && st=0 || st=$?
t_has "bundle: its user and groups" '^uid=1000 gid=100 groups=10,20'
t_has "bundle: its cwd" '^/tmp$'
t_has "bundle: its env" '^hello from the bundle$'
t_has "bundle: its rlimit" '^321$'
t_has "bundle: its host name" '^bundled$'
t_has "bundle: a read-only root" 'Read-only file system'
t_has "bundle: noNewPrivileges" 'NoNewPrivs:[[:space:]]*1'
out=$(run "$B" cat /data/in.txt 2>&1)
t_has "bundle: a command given replaces its args, and its bind mount" '^from the host$'
# nestvm-runtime's way in (--oci-state): the VM is built and says "ok" on
# the ready fd, the workload waits for a byte in start.fifo, SIGTERM
# reaches the container's process (its trap's status comes back), and a
# failure is said on the ready fd too.
d=$tmp/oci
mkdir -p "$d" && mkfifo "$d/start.fifo"
NESTVM_OCI_READY_FD=7 "$NV" container run --oci-state "$d" "$R" sh -c \
	'trap "echo got-term; exit 7" TERM; echo started; while :; do sleep 0.2; done' 7>"$d/ready" </dev/null >"$d/out" 2>&1 &
vmm=$!
i=0
while ! grep -q '^ok$' "$d/ready" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
t_file_has "--oci-state: ok on the ready fd once the VM is built" "$d/ready" '^ok$'
sleep 1
[ ! -e "$d/started" ] && ! grep -q started "$d/out" && t_ok "--oci-state: nothing runs before start" ||
	t_not_ok "--oci-state: nothing runs before start" "$(cat "$d/out")"
echo x >"$d/start.fifo"
t_wait_for "$d/out" '^started' 120 && t_ok "--oci-state: start runs the workload" ||
	t_not_ok "--oci-state: start runs the workload" "$(cat "$d/out")"
[ -e "$d/started" ] && t_ok "--oci-state: DIR/started says so" || t_not_ok "--oci-state: DIR/started says so" "missing"
kill -TERM "$vmm"
wait "$vmm" && st=0 || st=$?
[ "$st" = 7 ] && grep -q '^got-term' "$d/out" && t_ok "--oci-state: SIGTERM reaches the container's process (status 7 from its trap)" ||
	t_not_ok "--oci-state: SIGTERM reaches the container's process" "status $st: $(tr '\n' '|' <"$d/out")"
NESTVM_OCI_READY_FD=7 "$NV" container run --oci-state "$d" "$tmp/none" true 7>"$d/ready2" 2>/dev/null && st=0 || st=$?
[ "$st" = 2 ] && grep -q "^error: $tmp/none: not a folder" "$d/ready2" && t_ok "--oci-state: a failure is said on the ready fd" ||
	t_not_ok "--oci-state: a failure is said on the ready fd" "status $st: $(cat "$d/ready2")"
t_summary
