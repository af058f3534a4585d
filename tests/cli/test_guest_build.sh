#!/usr/bin/env bash
# `nestvm guest build` and an installed nestvm's helper scripts: a copy of
# nestvm in a scratch PREFIX/bin runs PREFIX/lib/nestvm/guest/build, then
# guest/build-nested, and PREFIX/lib/nestvm/lab/run (stand-ins that record
# how they were called), with the state directory as their build directory
# and itself as the nestvm they carry; a failing script's status comes back
# and stops the build; the guest they leave in STATE/guest is the one
# nestvm boots. In the tree, `nestvm guest build` runs guest/build and redoes
# nothing when the guest is up to date. (The real installed scripts are
# test_package.sh's.)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
NV=${NESTVM:-build/nestvm}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
unset NESTVM_BUILD_DIR NESTVM_EXE NESTVM_GUEST_DIR
export NESTVM_HOME=$T/home LOG=$T/log

t_bad "guest without a subcommand" "guest: say what to do" "$NV" guest
t_bad "guest bld" "unknown subcommand 'bld'" "$NV" guest bld
t_bad "guest build --bogus" "unknown option '--bogus'" "$NV" guest build --bogus
t_bad "guest build extra" "unexpected 'extra'" "$NV" guest build extra
t_expect "guest --help" 0 '^usage: nestvm guest build \[--force\]' -- "$NV" guest --help

P=$T/p
mkdir -p "$P/bin" "$P/lib/nestvm/guest" "$P/lib/nestvm/lab"
cp "$NV" "$P/bin/nestvm"
# stand-in NAME BODY: a script that logs its name, arguments and the
# variables an installed nestvm sets, then runs BODY.
stand_in() {
	printf '#!/bin/sh\necho "%s [$*] BUILD_DIR=$NESTVM_BUILD_DIR EXE=$NESTVM_EXE" >>"$LOG"\n%s\n' "$1" "$2" \
		>"$P/lib/nestvm/$1"
	chmod +x "$P/lib/nestvm/$1"
}
# The "guest" it builds: a vmlinuz nestvm would name as not a file.
stand_in guest/build '[ -z "${FAIL_BUILD:-}" ] || { echo "guest/build: it failed" >&2; exit "$FAIL_BUILD"; }
mkdir -p "$NESTVM_BUILD_DIR/guest/vmlinuz" && : >"$NESTVM_BUILD_DIR/guest/initrd.img"'
stand_in guest/build-nested ''
stand_in lab/run 'exit 7'
log() { tr '\n' '|' <"$LOG" 2>/dev/null; }

: >"$LOG"
t_expect "installed: guest build" 0 "^default guest: $T/home/guest\$" -- "$P/bin/nestvm" guest build
want="guest/build [] BUILD_DIR=$T/home EXE=$P/bin/nestvm|guest/build-nested [] BUILD_DIR=$T/home EXE=$P/bin/nestvm|"
[ "$(log)" = "$want" ] && t_ok "installed: guest/build then guest/build-nested, in the state directory, carrying this nestvm" ||
	t_not_ok "installed: the scripts run" "log '$(log)', wanted '$want'"
[ "$(stat -c %a "$T/home" 2>/dev/null)" = 700 ] && t_ok "the state directory is made private (700)" ||
	t_not_ok "the state directory is made private" "$(stat -c %a "$T/home" 2>&1)"
t_bad "nestvm boots STATE/guest" "kernel '$T/home/guest/vmlinuz' is not a regular file" \
	"$P/bin/nestvm" run --memory 64M -- true

: >"$LOG"
t_expect "guest build --force" 0 '' -- "$P/bin/nestvm" guest build --force
case $(log) in "guest/build [--force] "*"|guest/build-nested [--force] "*) t_ok "--force reaches both scripts" ;;
*) t_not_ok "--force reaches both scripts" "log '$(log)'" ;; esac

: >"$LOG"
t_fails "a failing guest/build: its status, its line" 3 '^guest/build: it failed$' -- \
	env FAIL_BUILD=3 "$P/bin/nestvm" guest build
case $(log) in *build-nested*) t_not_ok "guest/build-nested not run after a failure" "log '$(log)'" ;;
*) t_ok "guest/build-nested not run after a failure" ;; esac

: >"$LOG"
t_expect "NESTVM_BUILD_DIR and NESTVM_EXE given: kept" 0 '' -- \
	env NESTVM_BUILD_DIR="$T/elsewhere" NESTVM_EXE=/bin/true "$P/bin/nestvm" guest build
case $(log) in "guest/build [] BUILD_DIR=$T/elsewhere EXE=/bin/true|"*) t_ok "the environment's build directory and nestvm kept" ;;
*) t_not_ok "the environment's build directory and nestvm kept" "log '$(log)'" ;; esac
# Built there, booted from the state directory: said.
t_expect "a guest built where nestvm does not boot from: a note" 0 "note: this one was built in $T/elsewhere/guest, but nestvm boots $T/home/guest first" -- \
	env NESTVM_BUILD_DIR="$T/elsewhere" "$P/bin/nestvm" guest build

: >"$LOG"
t_expect "installed: nestvm lab runs PREFIX/lib/nestvm/lab/run, its status back" 7 '' -- \
	"$P/bin/nestvm" lab --cpus 1 -- nestvm run -- true
want="lab/run [--cpus 1 -- nestvm run -- true] BUILD_DIR=$T/home EXE=$P/bin/nestvm|"
[ "$(log)" = "$want" ] && t_ok "installed lab: its arguments, the state directory, this nestvm" ||
	t_not_ok "installed lab: arguments and environment" "log '$(log)', wanted '$want'"

mkdir -p "$T/open" && chmod 777 "$T/open"
t_bad "a state directory others may write to: refused" "writable by others" \
	env NESTVM_HOME="$T/open" "$P/bin/nestvm" guest build
rm -rf "$P/lib"
t_fails "no scripts installed: said" 125 "cannot find the guest build script \(no $P/bin/../lib/nestvm/guest/build\)" -- \
	"$P/bin/nestvm" guest build
t_fails "no lab installed: said" 125 "cannot find the lab script \(no $P/bin/../lib/nestvm/lab/run\)" -- \
	"$P/bin/nestvm" lab -- true

# In the tree (build/nestvm beside guest/): guest/build itself, in build/.
if [ -x guest/build ] && [ -f build/guest/.stamp ] && [ -f build/guest/.nested.stamp ] && [ "$(dirname "$NV")" = build ]; then
	# Once to catch up (a nestvm relinked since makes nested.img stale),
	# then nothing may be redone.
	"$NV" guest build >/dev/null 2>&1
	before=$(stat -c %Y build/guest/initrd.img build/guest/nested.img)
	t_expect "tree: guest build when built: up to date" 0 'guest/build-nested: up to date' -- "$NV" guest build
	printf '%s\n' "$T_LAST_OUT" | grep -q '^guest/build: up to date' && t_ok "tree: guest/build up to date" ||
		t_not_ok "tree: guest/build up to date" "$T_LAST_OUT"
	printf '%s\n' "$T_LAST_OUT" | grep -q "^default guest: $PWD/build/guest\$" &&
		t_ok "tree: it names build/guest" || t_not_ok "tree: it names build/guest" "$T_LAST_OUT"
	[ "$(stat -c %Y build/guest/initrd.img build/guest/nested.img)" = "$before" ] &&
		t_ok "tree: nothing rebuilt" || t_not_ok "tree: nothing rebuilt" "build/guest changed"
else
	echo "skip - tree: no guest/build or no built default guest here (inside the lab?)"
fi
t_summary
