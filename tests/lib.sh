# Tiny test library for the shell-level tests (CLI bad input, end-to-end in
# the lab). Each check prints "ok - NAME" or "not ok - NAME: why"; t_summary
# prints "N passed, N failed" and sets the exit status.
T_PASS=0
T_FAIL=0

t_ok() { T_PASS=$((T_PASS + 1)); echo "ok - $1"; }
t_not_ok() { T_FAIL=$((T_FAIL + 1)); echo "not ok - $1: $2"; }

# t_expect NAME WANT_STATUS WANT_REGEX -- COMMAND...: runs COMMAND, checks its
# exit status and that its output (stdout+stderr) matches WANT_REGEX (an
# extended regex; empty means "don't care").
t_expect() {
	local name=$1 want=$2 re=$3
	shift 4
	local out st
	out=$("$@" 2>&1 </dev/null) && st=0 || st=$?
	T_LAST_OUT=$out
	if [ "$st" != "$want" ]; then
		t_not_ok "$name" "exit status $st, wanted $want; output: $(printf '%s' "$out" | tail -n 5 | tr '\n' '|')"
	elif [ -n "$re" ] && ! printf '%s\n' "$out" | grep -Eq -- "$re"; then
		t_not_ok "$name" "output does not match /$re/: $(printf '%s' "$out" | tail -n 5 | tr '\n' '|')"
	else
		t_ok "$name"
	fi
}

# t_has NAME REGEX: a line of $out (what a guest reported) matches REGEX.
t_has() {
	if printf '%s\n' "$out" | grep -Eq -- "$2"; then t_ok "$1"
	else t_not_ok "$1" "no /$2/ in: $(printf '%s' "$out" | tail -n 12 | tr '\n' '|')"; fi
}

# t_status NAME WANT GOT: an exit status, with the end of $out on failure.
t_status() {
	if [ "$3" = "$2" ]; then t_ok "$1"
	else t_not_ok "$1" "status $3, wanted $2: $(printf '%s' "$out" | tail -n 8 | tr '\n' '|')"; fi
}

# t_fails NAME WANT_STATUS REGEX -- COMMAND...: the CLI's error contract:
# COMMAND exits WANT_STATUS and prints exactly one line on stderr, which
# matches REGEX (stdout is not looked at).
t_fails() {
	local name=$1 want=$2 re=$3
	shift 4
	local err st
	err=$("$@" 2>&1 >/dev/null </dev/null) && st=0 || st=$?
	if [ "$st" != "$want" ]; then
		t_not_ok "$name" "exit status $st, wanted $want: $err"
	elif [ "$(printf '%s\n' "$err" | wc -l)" != 1 ]; then
		t_not_ok "$name" "wanted one line, got: $(printf '%s' "$err" | tr '\n' '|')"
	elif ! printf '%s' "$err" | grep -Eq -- "$re"; then
		t_not_ok "$name" "message does not match /$re/: $err"
	else
		t_ok "$name: $err"
	fi
}

# t_bad NAME REGEX COMMAND...: bad input, so exit status 2 and one line.
t_bad() {
	local name=$1 re=$2
	shift 2
	t_fails "$name" 2 "$re" -- "$@"
}

# t_tool NAME: a test helper program (tests/tools/NAME.c), built beside the
# nestvm under test (NESTVM_TOOLS overrides).
t_tool() { echo "${NESTVM_TOOLS:-$(dirname "${NV:-build/nestvm}")/tests/tools}/$1"; }

# vm_field VM FIELD: the value of a "Key : Value" line of `vm show VM`.
vm_field() { "$NV" vm show "$1" 2>/dev/null | sed -n "s/^$2 *: *//p"; }
# t_last_number FILE WORD: the number after the last "WORD N" in FILE.
t_last_number() { grep -aoE "$2 [0-9]+" "$1" | awk '{ print $2 }' | tail -n 1; }

# t_incoming FILE ADDR SETTINGS...: `run --incoming ADDR SETTINGS` in the
# background (a migration's unnamed target), its stdout in FILE and stderr
# in FILE.err; returns once it waits (5 s at most). Sets TPID and adds it to
# the caller's pids array (killed at its exit). Uses $NV.
t_incoming() {
	local f=$1 a=$2
	shift 2
	"$NV" run --incoming "$a" "$@" >"$f" 2>"$f.err" </dev/null &
	TPID=$!
	pids+=("$TPID")
	for _ in $(seq 50); do grep -q 'waiting for a migrating VM' "$f.err" 2>/dev/null && return 0; sleep 0.1; done
}

# vm_stop_of VM: its State and LastStop in one line, for a failure message
# (a guest the lab's emulated SVM crashed says "triple-faulted" there,
# which t_lab_run's retry looks for).
vm_stop_of() { echo "State: $(vm_field "$1" State); LastStop: $(vm_field "$1" LastStop)"; }

# vm_type_in VM LINE...: each LINE typed into VM's console (a second
# apart), then detach.
vm_type_in() {
	local vm=$1
	shift
	{
		sleep 1
		for l in "$@"; do printf '%s\r' "$l"; sleep 1; done
		printf '\001d'
		sleep 1
	} | timeout 120 "${NV:-build/nestvm}" vm console "$vm" >/dev/null 2>&1
}

# vm_wait_prompt VM SECONDS [OFFSET]: until the named VM's shell prompt is
# in its console.log (after guest/init's banner, past OFFSET bytes: the log
# keeps earlier runs); gives up at once when the VM is Off. Uses $NV and
# $NESTVM_HOME. Type into a console only after it: the shell first asks the
# terminal for the cursor position and would take early keys as the answer.
vm_wait_prompt() {
	local log=$NESTVM_HOME/vms/$1/console.log off=${3:-0}
	for _ in $(seq "$2"); do
		tail -c +$((off + 1)) "$log" 2>/dev/null | sed -n '/shell on the console/,$p' | grep -q '# ' && return 0
		"$NV" vm show "$1" 2>/dev/null | grep -Eq '^State *: *Off$' && return 1
		sleep 1
	done
	return 1
}

# t_wait_for FILE REGEX SECONDS [OFFSET]: until a line of FILE (past OFFSET
# bytes) matches the extended REGEX; 1 when SECONDS pass first.
t_wait_for() {
	local i
	for ((i = 0; i < $3 * 5; i++)); do
		tail -c +$((${4:-0} + 1)) "$1" 2>/dev/null | grep -aEq -- "$2" && return 0
		sleep 0.2
	done
	return 1
}

# t_file_has NAME FILE REGEX [SECONDS (5)]: ok when a line of FILE matches
# within SECONDS; else not ok with FILE's last lines.
t_file_has() {
	if t_wait_for "$2" "$3" "${4:-5}"; then t_ok "$1"
	else t_not_ok "$1" "no /$3/ in $2: $(tail -n 5 "$2" 2>/dev/null | tr '\n' '|')"; fi
}

t_summary() {
	echo "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ]
}

# --- where tests that run guests run ------------------------------------
# A test that runs guests says what its KVM must do, and runs on this host
# when this host's KVM does it, else inside the lab (lab/run), where kvm_amd
# nests. Never skipped, never failing for the lack of KVM; the log says
# which, and why.
#   tiny   a usable /dev/kvm of any kind (the KVM-API tests' freestanding
#          guests run even on a paravirtual kvm_pvm)
#   linux  a hardware-assisted KVM (kvm_intel/kvm_amd), which boots Linux
#   nested that, and it gives its VMs VT-x/AMD-V (the end-to-end tests nest)

# t_proc PID N: field N of /proc/PID/stat counted after the command name
# (1 state, 2 ppid, 3 process group, 4 session); the lab's busybox ps has
# no -o/-p, so tests read /proc directly.
t_proc() {
	local st n=$2
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	# shellcheck disable=SC2086 # split the fields on purpose
	set -- $st
	[ "$n" -ge 1 ] && [ "$n" -le $# ] || return 1
	eval "echo \"\${$n}\""
}

# t_in_lab: is this shell inside the lab host?
t_in_lab() { grep -qw 'nestvm.lab=1' /proc/cmdline 2>/dev/null; }

# t_kvm_meets NEED: 0 when this host's KVM does NEED; KVM_WHY says why or
# why not, in a few words.
t_kvm_meets() {
	local nv=${NV:-build/nestvm} st json reason
	if ! [ -c /dev/kvm ] || ! (exec 3<>/dev/kvm) 2>/dev/null; then
		reason=$("$nv" status 2>/dev/null | sed -n 's/^Reason *: //p' | head -n 1)
		KVM_WHY="this host has no usable /dev/kvm${reason:+ ($reason)}"
		return 1
	fi
	[ "$1" = tiny ] && { KVM_WHY="its /dev/kvm is usable"; return 0; }
	json=$("$nv" status --json 2>/dev/null) && st=0 || st=$?
	if ! printf '%s' "$json" | grep -q '"kvm_backend": "hardware'; then
		KVM_WHY="this host's /dev/kvm is not a hardware-assisted KVM (it cannot boot Linux)"
		return 1
	fi
	[ "$1" = linux ] && { KVM_WHY="its /dev/kvm is a hardware-assisted KVM"; return 0; }
	if ! printf '%s' "$json" | grep -q '"supported": true'; then
		KVM_WHY="this host's KVM does not give its VMs VT-x/AMD-V (see nestvm status)"
		return 1
	fi
	KVM_WHY="its /dev/kvm is a hardware-assisted KVM that nests"
}

# t_lab_run SECONDS CMD...: CMD inside a fresh lab, its output streaming;
# exits like lab/run. When the lab host itself dies, freezes or hangs
# (lab/run 125, also for a stopped heartbeat, or 124) before CMD printed a "N passed, N failed" line, CMD runs again in a
# new lab, up to NESTVM_E2E_LAB_TRIES (3) in all, said out loud (the lab's
# emulated SVM has faults of its own, see lab/README.md; a CI-style run met
# the same test wedged twice in a row); a test's own failures are never
# retried.
# T_LAB_OPTS: more lab/run options for the test's labs (--disk IMAGE).
T_LAB_OPTS=()
t_lab_run() {
	local secs=$1 log st try tries=${NESTVM_E2E_LAB_TRIES:-3}
	shift
	log=$(mktemp)
	for ((try = 1; try <= tries; try++)); do
		lab/run --timeout "$secs" "${T_LAB_OPTS[@]}" -- "$@" </dev/null 2>&1 | tee "$log"
		st=${PIPESTATUS[0]}
		if [ "$try" -lt "$tries" ] && { [ "$st" = 124 ] || [ "$st" = 125 ]; } &&
			! grep -Eq '^[0-9]+ passed, [0-9]+ failed' "$log"; then
			echo "!! the lab host failed (lab/run exit $st): once more in a fresh lab"
			continue
		fi
		# The lab's emulated SVM now and then makes a nested guest
		# triple-fault (lab/README.md); a failing run that met one goes
		# once more, and a fault of nestvm's would fail the second too.
		if [ "$try" -lt "$tries" ] && [ "$st" != 0 ] && grep -q 'the guest crashed: vCPU [0-9]* triple-faulted' "$log"; then
			echo "!! a nested guest triple-faulted in the lab (its emulated SVM, lab/README.md): once more in a fresh lab"
			continue
		fi
		break
	done
	rm -f "$log"
	return "$st"
}

# t_kvm_or_lab NEED SCRIPT [ARGS...]: the first line of a test that runs
# guests, called as `t_kvm_or_lab nested "$0" "$@"`. Returns when the test
# can run here; else runs SCRIPT inside the lab and exits with its status.
t_kvm_or_lab() {
	local need=$1 script=$2
	shift 2
	# Tests cd to the repo first: a relative $0 is relative to where they
	# were started ($OLDPWD). The lab has the repo at the same path.
	case $script in /*) ;; *) script=$(realpath -- "${OLDPWD:-.}/$script" 2>/dev/null || echo "$PWD/$script") ;; esac
	if t_kvm_meets "$need"; then
		echo "# $(basename "$script") runs on this host: $KVM_WHY"
		return 0
	fi
	echo "# $(basename "$script") runs in the lab, because $KVM_WHY"
	# Each test takes well under 2 minutes in its lab; a lab host wedged by
	# its emulated SVM (lab/README.md) is given up after 7 and tried again.
	t_lab_run "${NESTVM_E2E_LAB_TIMEOUT:-420}" bash "$script" "$@"
	exit $?
}
