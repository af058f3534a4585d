#!/usr/bin/env bash
# The man pages (doc/man/*.scd) against the parsers: every option a
# command's parser accepts (the long options of the `struct option` tables
# and the strcmp'd "--..." of src/cli, the short letters of getopt_long's
# option strings, the cases of lab/run) appears in that command's page, and
# every option a page lists as an entry (a line starting with *--...*) is
# one its parsers accept. A new src/cli file that parses options needs a
# page here. Also: each page was built (build/man, `make man`).
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
M=doc/man

# page_of FILE: the man page (without .1.scd) of the options FILE parses;
# "-" for files that parse none of the native commands' options.
page_of() {
	case ${1##*/} in
	main.c) echo nestvm ;;
	cmd_run.c) echo nestvm-run ;;
	cmd_status.c) echo nestvm-status ;;
	cmd_enable_nested.c) echo nestvm-enable-nested ;;
	cmd_lab.c | run) echo nestvm-lab ;; # lab/run parses the lab's options
	cmd_switch*.c | switch_args.c) echo nestvm-switch ;;
	cmd_vm*.c | vm_options.c | vm_cli.c) echo nestvm-vm ;;
	# Hyper-V's cmdlet parameters (-Name value): Get-Help documents them;
	# the "--..." they translate to are the native commands'.
	hyperv_*.c) echo - ;;
	*) echo "?" ;;
	esac
}

# options FILE: "--long" and "-x" per line, as FILE's parsers accept them.
options() {
	case $1 in
	*.c)
		grep -oE '\{ *"[a-z0-9-]+", *(no|required|optional)_argument' "$1" | sed -E 's/^\{ *"([^"]*)".*/--\1/'
		grep -oE 'strcmp\([^,()]+, *"--?[a-z0-9-]+"\)' "$1" | sed -E 's/.*"(--?[a-z0-9-]+)"\)$/\1/'
		grep -oE 'getopt_long\([^,]+, *[^,]+, *"[^"]*"' "$1" | sed -E 's/.*"([^"]*)"$/\1/' |
			tr -d ':+' | grep -o . | sed 's/^/-/'
		;;
	*) # lab/run: its case patterns, "--memory) ..." and "-h | --help)"
		sed -nE 's/^[[:space:]]*(-[a-z0-9 |-]*)\).*/\1/p' "$1" | tr '|' '\n' | tr -d ' ' | grep -E '^--?[a-z0-9]' |
			grep -v '=\*$'
		;;
	esac
}

declare -A accepted # page -> " --opt -x ... "
nfiles=0
for f in src/cli/*.c lab/run; do
	opts=$(options "$f" | sort -u)
	[ -n "$opts" ] || continue
	nfiles=$((nfiles + 1))
	page=$(page_of "$f")
	[ "$page" = - ] && continue
	if [ "$page" = "?" ] || [ ! -f "$M/$page.1.scd" ]; then
		t_not_ok "$f has a man page" "it parses $(echo $opts) but no page is known for it (tests/cli/test_man_pages.sh page_of, doc/man)"
		continue
	fi
	accepted[$page]="${accepted[$page]:-} $(echo $opts) "
	missing=''
	for o in $opts; do
		grep -qE -- "(^|[^A-Za-z0-9-])$o([^A-Za-z0-9-]|\$)" "$M/$page.1.scd" || missing="$missing $o"
	done
	if [ -z "$missing" ]; then t_ok "$page.1 has every option of $f ($(echo $opts | wc -w))"
	else t_not_ok "$page.1 has every option of $f" "missing:$missing"; fi
done
# The extraction itself: a parser change that hid the tables from it would
# make every check above pass with nothing checked.
[ "$nfiles" -ge 10 ] && [ "$(echo ${accepted[nestvm-vm]:-} | wc -w)" -ge 20 ] &&
	t_ok "options found in $nfiles files (nestvm-vm: $(echo ${accepted[nestvm-vm]} | wc -w))" ||
	t_not_ok "options found" "$nfiles files, nestvm-vm: ${accepted[nestvm-vm]:-none}"

# Each page's option entries are options its command accepts.
for page in "${!accepted[@]}"; do
	stale=''
	for o in $(grep -oE '^[[:space:]]*\*--?[a-z0-9-]+\*' "$M/$page.1.scd" | tr -d ' \t*' | sort -u); do
		case "${accepted[$page]}" in *" $o "*) ;; *) stale="$stale $o" ;; esac
	done
	[ -z "$stale" ] && t_ok "$page.1 lists only options its command accepts" ||
		t_not_ok "$page.1 lists only options its command accepts" "not accepted:$stale"
done

# Every page is built, and by the sources as they are.
for s in "$M"/*.scd; do
	p=build/man/$(basename "$s" .scd)
	if [ -s "$p" ] && [ ! "$p" -ot "$s" ] && grep -q '^\.TH' "$p"; then t_ok "$p built"
	else t_not_ok "$p built" "missing or older than $s (make man)"; fi
done
t_summary
