#!/usr/bin/env bash
# `nestvm --version` and `nestvm help COMMAND`: the version names the git
# revision the binary was built from ("unknown" for a tree without git, as
# from a tarball), and `help COMMAND [SUB]` prints exactly what
# `COMMAND [SUB] --help` prints.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
NV=${NESTVM:-build/nestvm}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

t_expect "--version" 0 '^nestvm [0-9]+\.[0-9]+\.[0-9]+ \(git [^ ]+\)$' -- "$NV" --version
# The revision is baked in at build time: the one the Makefile recorded.
rev=$(cat "$(dirname "$NV")/gen/revision" 2>/dev/null)
if [ -z "$rev" ]; then
	echo "skip - baked-in revision: no build/gen/revision here (a lab carries only the binary)"
elif [ "$T_LAST_OUT" = "nestvm $(sed -n 's/^VERSION := //p' Makefile) (git $rev)" ]; then
	t_ok "--version names the revision build/gen/revision holds ($rev)"
else
	t_not_ok "--version names the revision build/gen/revision holds" "$T_LAST_OUT, revision $rev"
fi
if [ -e .git ] && command -v git >/dev/null; then
	# A commit of this repository (HEAD when built; a commit since leaves
	# the binary's older one until the next make).
	if [ -n "$rev" ] && git cat-file -e "${rev%-dirty}^{commit}" 2>/dev/null; then
		t_ok "the revision is a commit of this tree ($rev)"
	else
		t_not_ok "the revision is a commit of this tree" "'$rev'"
	fi
	# A tarball (no .git), even one unpacked inside another repository: the
	# Makefile says unknown (its revision rule needs only the Makefile).
	if command -v make >/dev/null; then
		mkdir -p "$T/outer/nestvm-tar" && git -C "$T/outer" init -q && cp Makefile "$T/outer/nestvm-tar/" &&
			git -C "$T/outer" -c user.name=t -c user.email=t@t commit -q --allow-empty -m outer
		t_expect "tarball: make build/gen/revision" 0 '' -- make -s -C "$T/outer/nestvm-tar" build/gen/revision
		got=$(cat "$T/outer/nestvm-tar/build/gen/revision" 2>/dev/null)
		[ "$got" = unknown ] && t_ok "tarball: the revision is unknown" ||
			t_not_ok "tarball: the revision is unknown" "'$got'"
	fi
fi

# One version: the Makefile's is the Debian package's (debian/changelog).
if [ -f Makefile ] && [ -f debian/changelog ]; then
	mv=$(sed -n 's/^VERSION := //p' Makefile) dv=$(sed -n '1s/^nestvm (\([^)-]*\).*/\1/p' debian/changelog)
	[ -n "$mv" ] && [ "$mv" = "$dv" ] && t_ok "the Makefile's VERSION is debian/changelog's ($mv)" ||
		t_not_ok "the Makefile's VERSION is debian/changelog's" "Makefile '$mv', debian/changelog '$dv'"
fi

# help COMMAND [SUB] = COMMAND [SUB] --help, for every command group and a
# few subcommands, byte for byte.
for c in run status vm switch enable-nested guest "vm create" "vm set" "vm stop" "vm checkpoint" "switch create" \
	"switch port"; do
	# shellcheck disable=SC2086 # word splitting is wanted: "vm create"
	want=$("$NV" $c --help 2>&1) && ws=0 || ws=$?
	# shellcheck disable=SC2086
	got=$("$NV" help $c 2>&1) && gs=0 || gs=$?
	if [ "$ws" = 0 ] && [ "$gs" = 0 ] && [ -n "$got" ] && [ "$got" = "$want" ]; then
		t_ok "help $c is $c --help"
	else
		t_not_ok "help $c is $c --help" "status $gs (want $ws): $(printf '%s' "$got" | head -n 2 | tr '\n' '|')"
	fi
done
t_expect "help with a cmdlet is Get-Help's" 0 '^Get-VM .*' -- "$NV" help Get-VM
t_bad "help with an unknown command" "^nestvm: unknown command 'frob'" "$NV" help frob
t_expect "help alone is the usage" 0 'nestvm help COMMAND' -- "$NV" help
t_summary
