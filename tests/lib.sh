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

t_summary() {
	echo "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ]
}
