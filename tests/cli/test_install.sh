#!/usr/bin/env bash
# make install / make uninstall with PREFIX and DESTDIR: what goes where
# (nestvm, man pages, completion, the guest and lab scripts, the default
# guest), that the installed nestvm is the
# one built, that it finds the default guest in PREFIX/share/nestvm/guest
# (where make install puts it when it is built), and that uninstall leaves
# nothing behind. Needs make (not in the lab, which carries only what the
# host built).
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
if ! command -v make >/dev/null || [ ! -f Makefile ] || [ ! -x build/nestvm ]; then
	echo "skip - no make, Makefile or build/nestvm here (inside the lab?): make install is the host's"
	t_summary
	exit
fi
D=$T/dest P=/opt/nv

t_expect "make install" 0 '' -- make -s install DESTDIR="$D" PREFIX="$P"
NV=$D$P/bin/nestvm
if [ -x "$NV" ] && cmp -s "$NV" build/nestvm; then t_ok "PREFIX/bin/nestvm is build/nestvm"
else t_not_ok "PREFIX/bin/nestvm is build/nestvm" "$(ls -l "$NV" 2>&1)"; fi
t_expect "the installed nestvm runs" 0 "^$(build/nestvm --version | sed 's/[()]/\\&/g')\$" -- "$NV" --version
if [ -x "$D$P/bin/nestvm-runtime" ] && cmp -s "$D$P/bin/nestvm-runtime" build/nestvm-runtime; then
	t_ok "PREFIX/bin/nestvm-runtime is build/nestvm-runtime, beside nestvm"
else t_not_ok "PREFIX/bin/nestvm-runtime is build/nestvm-runtime" "$(ls -l "$D$P/bin/nestvm-runtime" 2>&1)"; fi
t_expect "the installed nestvm-runtime runs" 0 '^nestvm-runtime version ' -- "$D$P/bin/nestvm-runtime" --version
for p in build/man/*.1; do
	if cmp -s "$p" "$D$P/share/man/man1/${p##*/}"; then t_ok "man page ${p##*/} installed"
	else t_not_ok "man page ${p##*/} installed" "no $D$P/share/man/man1/${p##*/}"; fi
done
if command -v man >/dev/null; then
	t_expect "man finds nestvm-vm there" 0 "^$D$P/share/man/man1/nestvm-vm.1\$" -- env MANPATH="$D$P/share/man" man -w nestvm-vm
else
	[ -f "$D$P/share/man/man1/nestvm-vm.1" ] && t_ok "nestvm-vm.1 among them" || t_not_ok "nestvm-vm.1 among them" "not built?"
fi
cmp -s scripts/completion/nestvm.bash "$D$P/share/bash-completion/completions/nestvm" &&
	t_ok "bash completion installed" || t_not_ok "bash completion installed" "not in $D$P/share/bash-completion/completions"
# What `nestvm guest build` and `nestvm lab` run, in the tree's layout.
for f in guest/build guest/build-nested guest/init guest/udhcpc.script lab/run lab/build; do
	if [ -x "$D$P/lib/nestvm/$f" ] && cmp -s "$f" "$D$P/lib/nestvm/$f"; then t_ok "$f installed in PREFIX/lib/nestvm"
	else t_not_ok "$f installed in PREFIX/lib/nestvm" "$(ls -l "$D$P/lib/nestvm/$f" 2>&1)"; fi
done
for f in guest/lib.sh lab/link.sh; do
	cmp -s "$f" "$D$P/lib/nestvm/$f" && t_ok "$f installed" || t_not_ok "$f installed" "not in $D$P/lib/nestvm/$(dirname "$f")"
done
# Built here, so that building the guest needs no compiler.
for t in nestvm-exit nestvm-warm; do
	x=$D$P/lib/nestvm/guest/tools/$t
	if [ -x "$x" ] && readelf -h "$x" 2>/dev/null | grep -q 'Type: *EXEC' && ! readelf -l "$x" | grep -q interpreter; then
		t_ok "$t installed, built static"
	else
		t_not_ok "$t installed, built static" "$(readelf -hl "$x" 2>&1 | grep -E 'Type|interpreter')"
	fi
done
# Installed, a script writes nowhere but where nestvm tells it.
t_fails "an installed script alone refuses to build into PREFIX" 1 'NESTVM_BUILD_DIR is not set' -- \
	env -u NESTVM_BUILD_DIR "$D$P/lib/nestvm/guest/build"
[ ! -e "$D$P/lib/nestvm/build" ] && t_ok "nothing written in PREFIX/lib/nestvm" ||
	t_not_ok "nothing written in PREFIX/lib/nestvm" "$(ls "$D$P/lib/nestvm")"
# The systemd unit: PREFIX's nestvm in it, and systemd's own check finds
# nothing wrong (with the installed path pointed back at this tree's binary).
unit=$D$P/lib/systemd/system/nestvm.service
grep -qx "ExecStart=$P/bin/nestvm service start" "$unit" 2>/dev/null &&
	grep -qx "ExecStop=$P/bin/nestvm service stop" "$unit" &&
	t_ok "nestvm.service installed, running PREFIX/bin/nestvm" || t_not_ok "nestvm.service installed" "$(cat "$unit" 2>&1 | head -3)"
mkdir -p "$T/verify" && sed "s|$P/bin/nestvm|$(readlink -f build/nestvm)|" "$unit" >"$T/verify/nestvm.service" 2>/dev/null
v=$(systemd-analyze verify --man=no "$T/verify/nestvm.service" 2>&1) && [ -z "$v" ] &&
	t_ok "systemd-analyze verify finds nothing wrong in nestvm.service" ||
	t_not_ok "systemd-analyze verify nestvm.service" "${v:-exit status non-zero}"
if [ -f build/guest/vmlinuz ] && [ -f build/guest/initrd.img ]; then
	for f in vmlinuz initrd.img nested.img; do
		[ -f "build/guest/$f" ] || continue
		if cmp -s "build/guest/$f" "$D$P/share/nestvm/guest/$f"; then t_ok "the default guest's $f installed"
		else t_not_ok "the default guest's $f installed" "$(ls -l "$D$P/share/nestvm/guest" 2>&1 | tr '\n' '|')"; fi
	done
else
	echo "skip - the default guest is not built here (guest/build): its installation is not checked"
fi

# The installed binary looks in PREFIX/share/nestvm/guest: a guest there
# whose vmlinuz is a folder is named in the error. A copy elsewhere, so
# that a guest the host really has installed cannot be in the way.
mkdir -p "$T/p/bin" "$T/p/share/nestvm/guest/vmlinuz" && cp build/nestvm "$T/p/bin/" &&
	: >"$T/p/share/nestvm/guest/initrd.img"
t_bad "an installed nestvm finds PREFIX/share/nestvm/guest" \
	"kernel '$T/p/bin/../share/nestvm/guest/vmlinuz' is not a regular file" \
	env -u NESTVM_GUEST_DIR "$T/p/bin/nestvm" run --memory 64M -- true
rm -rf "$T/p/share"
if [ ! -e /usr/share/nestvm/guest ]; then
	t_bad "without it: the default guest is not built" "the default guest is not built" \
		env -u NESTVM_GUEST_DIR NESTVM_HOME="$T/nohome" "$T/p/bin/nestvm" run --memory 64M -- true
fi

t_expect "make uninstall" 0 '' -- make -s uninstall DESTDIR="$D" PREFIX="$P"
left=$(find "$D" -type f -o -type l)
[ -z "$left" ] && t_ok "uninstall leaves no file" || t_not_ok "uninstall leaves no file" "$(printf '%s' "$left" | tr '\n' ' ')"
[ ! -e "$D$P/share/nestvm" ] && t_ok "uninstall removes PREFIX/share/nestvm" ||
	t_not_ok "uninstall removes PREFIX/share/nestvm" "$(find "$D$P/share/nestvm" | tr '\n' ' ')"
[ ! -e "$D$P/lib/nestvm" ] && t_ok "uninstall removes PREFIX/lib/nestvm" ||
	t_not_ok "uninstall removes PREFIX/lib/nestvm" "$(find "$D$P/lib/nestvm" | tr '\n' ' ')"
t_summary
