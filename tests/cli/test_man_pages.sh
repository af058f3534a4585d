#!/usr/bin/env bash
# The man pages (doc/man/*.scd) against the parsers: every option a
# command's parser accepts (tests/tools/cli-options: src/cli's option
# tables, strcmp'd options and getopt letters, lab/run's cases) appears in
# that command's page, and every option a page lists as an entry (a line
# starting with *--...*) is one its command accepts. A new src/cli file
# that parses options needs a page (cli-options' page_of). Also: each page
# was built from its source as it is (build/man, `make man`).
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
M=doc/man
if [ ! -d src/cli ] || [ ! -d "$M" ]; then
	echo "skip - no src/cli or $M here (inside the lab, which carries no sources): checked on the host"
	t_summary
	exit
fi

declare -A accepted # page -> " --opt -x ... "
opts=$(tests/tools/cli-options) || t_not_ok "tests/tools/cli-options" "failed"
# Per page and file (a file whose entries two commands share is on both).
nfiles=$(printf '%s\n' "$opts" | awk '{ print $2 }' | sort -u | wc -l)
for pf in $(printf '%s\n' "$opts" | awk '{ print $1 "|" $2 }' | sort -u); do
	page=${pf%%|*} f=${pf#*|}
	mine=$(printf '%s\n' "$opts" | awk -v f="$f" -v p="$page" '$2 == f && $1 == p { print $3 }')
	[ "$page" = - ] && continue
	if [ "$page" = "?" ] || [ ! -f "$M/$page.1.scd" ]; then
		t_not_ok "$f has a man page" "it parses $(echo $mine) but no page is known for it (tests/tools/cli-options page_of, doc/man)"
		continue
	fi
	accepted[$page]="${accepted[$page]:-} $(echo $mine) "
	missing=''
	# Not in the examples: `sh -c '...'` there is no -c of nestvm's.
	text=$(sed '/^```/,/^```/d' "$M/$page.1.scd")
	for o in $mine; do
		printf '%s\n' "$text" | grep -qE -- "(^|[^A-Za-z0-9-])$o([^A-Za-z0-9-]|\$)" || missing="$missing $o"
	done
	if [ -z "$missing" ]; then t_ok "$page.1 has every option of $f ($(echo $mine | wc -w))"
	else t_not_ok "$page.1 has every option of $f" "missing:$missing"; fi
done
# The extraction itself: a parser change that hid the tables from it would
# make every check above pass with nothing checked.
if [ "$nfiles" -ge 10 ] && [ "$(echo ${accepted[nestvm-vm]:-} | wc -w)" -ge 20 ]; then
	t_ok "options found in $nfiles files (nestvm-vm: $(echo ${accepted[nestvm-vm]} | wc -w))"
else
	t_not_ok "options found" "$nfiles files, nestvm-vm: ${accepted[nestvm-vm]:-none}"
fi

# Each page's option entries are options its command accepts.
for page in "${!accepted[@]}"; do
	stale=''
	for o in $(grep -oE '^[[:space:]]*\*--?[A-Za-z0-9-]+\*' "$M/$page.1.scd" | tr -d ' \t*' | sort -u); do
		case "${accepted[$page]}" in *" $o "*) ;; *) stale="$stale $o" ;; esac
	done
	[ -z "$stale" ] && t_ok "$page.1 lists only options its command accepts" ||
		t_not_ok "$page.1 lists only options its command accepts" "not accepted:$stale"
done

# Every page is built, and from the source as it is.
for s in "$M"/*.scd; do
	p=build/man/$(basename "$s" .scd)
	if [ -s "$p" ] && [ ! "$p" -ot "$s" ] && grep -q '^\.TH' "$p"; then t_ok "$p built"
	else t_not_ok "$p built" "missing or older than $s (make man)"; fi
done
t_summary
