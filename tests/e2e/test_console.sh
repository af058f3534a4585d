#!/usr/bin/env bash
# End-to-end: the interactive console (`nestvm run` without a command). On a
# real terminal: build/tests/e2e/pty_console (tests/e2e/pty_console.c) drives
# nestvm through a pty. Piped: the guest shell reads a script from stdin.
# Runs in the lab.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
t_kvm_or_lab nested "$0" "$@"
NV=${NESTVM:-build/nestvm}
TO=${NESTVM_E2E_TIMEOUT:-300}
PTY=build/tests/e2e/pty_console

# Its checks count as ours: its summary line is folded into t_summary's.
if [ -x "$PTY" ]; then
	out=$("$PTY" "$NV" "$TO" 2>&1) && st=0 || st=$?
	printf '%s\n' "$out" | grep -v -E '^[0-9]+ passed, [0-9]+ failed$'
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n1)
	f=0
	if [ -n "$line" ]; then
		f=${line#*passed, }
		f=${f%% failed*}
		T_PASS=$((T_PASS + ${line%% passed*}))
		T_FAIL=$((T_FAIL + f))
	fi
	if [ -z "$line" ] || { [ "$st" -ne 0 ] && [ "$f" -eq 0 ]; }; then
		t_not_ok "pty_console ran to its summary" "exit status $st"
	fi
else
	t_not_ok "pty_console is built" "$PTY missing (make check-tests)"
fi

# Piped stdin (no terminal, so no escape key): the guest shell runs the
# lines. The guest receives `echo a''b`, so the echo of the typed line
# cannot match.
# Quiet, as every guest that needs no kernel log (lab/README.md).
piped() { printf '%s\n' "echo a''b" 'poweroff -f' | timeout "$TO" "$NV" run --append quiet; }
t_expect "piped stdin into the interactive guest shell, power-off exits 0" 0 'ab' -- piped
t_summary
