#!/usr/bin/env bash
# Hyper-V's published nested-virtualization pages, pasted line by line: every
# line of the texts (tests/cli/hyperv_reference/, a copy of the reference
# pages) that calls a cmdlet or one of the two scripts is run as printed,
# through `nestvm -Command`, with its placeholders (<VMName>, $VM) filled
# in. Each line must run (status 0) or be refused with a reason naming what
# is Windows-only (status 2, "is Windows-only"); anything else fails. Each
# text runs against a scratch state directory holding a VM called
# NestedHost with two adapters; the pages' spoofing pipeline must turn
# spoofing on for both. Prints the counts.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
NV=$(readlink -f "${NESTVM_BIN:-${NESTVM:-build/nestvm}}")
REF=tests/cli/hyperv_reference
T=$(mktemp -d)

cleanup_home() {
	for d in "$NESTVM_HOME"/switches/*/; do
		[ -d "$d" ] && "$NV" switch delete "$(basename "$d")" >/dev/null 2>&1
	done
	for f in "$NESTVM_HOME"/switches/*/daemon.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
}
trap 'cleanup_home; rm -rf "$T"' EXIT

if [ ! -x "$NV" ]; then
	t_not_ok "binary" "need $NV (make)"
	t_summary
	exit 1
fi

# The copy is the pages as given to the project, where they are at hand.
if [ -d ../shared/reference ]; then
	if diff -rq ../shared/reference "$REF" >/dev/null; then t_ok "the copy matches ../shared/reference"
	else t_not_ok "the copy matches ../shared/reference" "$(diff -rq ../shared/reference "$REF" | head -3)"; fi
fi

# PowerShell's approved verbs that the pages use, and more: a line starts
# with Verb-Noun (or a script .\Verb-Noun.ps1), after an optional prompt.
VERBS='Get|Set|New|Remove|Add|Enable|Disable|Start|Stop|Restart|Suspend|Resume|Save|Checkpoint|Restore|Connect|Disconnect|Install|Uninstall|Format|Test|Update|Import|Export|Move|Rename'
extract() {
	sed -e 's/\r$//' -e 's/^[[:space:]]*//' -e 's/^PS [^>]*> *//' "$1" |
		grep -iE "^(\.[\\\\/])?($VERBS)-[A-Za-z]+(\.ps1)?([[:space:]]|$)" || true
}

spoofing() { "$NV" vm show NestedHost --json 2>/dev/null | tr -d ' \n\t' | grep -o '"mac_spoofing":[a-z]*' | tr '\n' ' '; }

total=0 ran=0 refused=0 failed=0
for text in "$REF"/*.txt; do
	lines=$(extract "$text")
	[ -n "$lines" ] || continue
	export NESTVM_HOME=$T/$(basename "$text" .txt)
	"$NV" switch create lab --type private >/dev/null 2>&1
	"$NV" vm create NestedHost --nic switch=lab --nic switch=lab >/dev/null 2>&1
	while IFS= read -r line; do
		total=$((total + 1))
		run=$(printf '%s' "$line" | sed -E -e 's/<[^>]*[Vv][Mm][^>]*>/NestedHost/g' -e 's/<[^>]*>/192.168.100.1/g' \
			-e 's/\$VM\b/NestedHost/g')
		where="$(basename "$text"): $run"
		spoof=0
		case $run in *MacAddressSpoofing\ On*) spoof=1; "$NV" vm set NestedHost --mac-spoofing off >/dev/null 2>&1 ;; esac
		answers=/dev/null
		case $run in *Enable-Nested*) answers=$T/yes; printf 'Y\nY\nY\nY\n' >"$answers" ;; esac
		out=$("$NV" -Command "$run" 2>&1 <"$answers") && st=0 || st=$?
		if [ "$st" = 0 ]; then
			ran=$((ran + 1))
			t_ok "runs: $where"
		elif [ "$st" = 2 ] && printf '%s\n' "$out" | grep -q 'is Windows-only: '; then
			refused=$((refused + 1))
			t_ok "refused: $where: $(printf '%s\n' "$out" | grep -m1 'is Windows-only')"
		else
			failed=$((failed + 1))
			t_not_ok "$where" "status $st: $(printf '%s' "$out" | tail -n 4 | tr '\n' '|')"
		fi
		if [ "$spoof" = 1 ]; then
			if [ "$(spoofing)" = '"mac_spoofing":true "mac_spoofing":true ' ]; then
				t_ok "spoofing on for both adapters after: $where"
			else
				t_not_ok "spoofing on for both adapters after: $where" "$(spoofing)"
			fi
		fi
	done <<<"$lines"
	cleanup_home
done
echo "# reference lines: $total; ran: $ran; refused as Windows-only: $refused; neither: $failed"
if [ "$total" -ge 15 ]; then t_ok "the texts hold $total cmdlet lines"
else t_not_ok "the texts hold cmdlet lines" "only $total found: the extraction broke"; fi
t_summary
