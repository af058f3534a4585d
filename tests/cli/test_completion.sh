#!/usr/bin/env bash
# The bash completion (scripts/completion/nestvm.bash), sourced here and
# driven as bash drives it (COMP_WORDS, COMP_CWORD): commands, subcommands,
# options (the same sets the parsers accept: tests/tools/cli-options), option
# values, and VM and switch names from a scratch state directory.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
NV=${NESTVM:-build/nestvm}
if [ ! -f scripts/completion/nestvm.bash ]; then
	echo "skip - no scripts/completion here (inside the lab, which carries no sources): checked on the host"
	t_summary
	exit
fi
T=$(mktemp -d)
export NESTVM_HOME=$T/home
trap '"$NV" switch delete lan >/dev/null 2>&1; rm -rf "$T"' EXIT
# shellcheck source=../../scripts/completion/nestvm.bash
. scripts/completion/nestvm.bash

# comp WORD...: what completing the last WORD offers, sorted, one line.
comp() {
	COMP_WORDS=("$NV" "$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="${COMP_WORDS[*]}"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_nestvm
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}
# t_comp NAME WANT WORD...: comp WORD... offers exactly WANT.
t_comp() {
	local name=$1 want=$2 got
	shift 2
	got=$(comp "$@")
	[ "$got" = "$want" ] && t_ok "$name: '$want'" || t_not_ok "$name" "offered '$got', wanted '$want'"
}
t_expect "complete -F _nestvm nestvm" 0 '_nestvm' -- complete -p nestvm

t_comp "commands" "run" r
t_comp "vm st<TAB>" "start stop" vm st
t_comp "vm s<TAB>" "save set show ssh start stop" vm s
t_comp "switch c<TAB>" "create" switch c
t_comp "g<TAB>" "guest" g
t_comp "guest <TAB>" "--help build" guest ''
t_comp "guest build --<TAB>" "--force --help" guest build --
t_comp "help g<TAB>" "guest" help g
t_comp "help vm st<TAB>" "start stop" help vm st
t_comp "help COMMAND" "service status switch" help s
t_comp "a cmdlet" "Get-VM Get-VMCheckpoint Get-VMMemory Get-VMNetworkAdapter Get-VMProcessor Get-VMSnapshot Get-VMSwitch" Get-VM

# Names from the state directory this nestvm uses.
t_comp "no VMs yet" "" vm start ''
t_expect "vm create alpha" 0 'created' -- "$NV" vm create alpha
t_expect "vm create alps" 0 'created' -- "$NV" vm create alps
t_expect "vm create beta" 0 'created' -- "$NV" vm create beta
t_comp "vm start <TAB>: VM names" "alpha alps beta" vm start ''
t_comp "vm start al<TAB>" "alpha alps" vm start al
t_comp "vm stop NAME: one name only" "" vm stop alpha ''
t_comp "vm stop --timeout S NAME" "beta" vm stop --timeout 5 b
t_comp "vm list takes several" "alps beta" vm list alpha ''
t_comp "vm create: a new name" "" vm create a
t_comp "vm checkpoint" "alpha alps" vm checkpoint al
t_comp "vm checkpoint list NAME" "beta" vm checkpoint list b
t_comp "status VM" "beta" status b
t_comp "enable-nested VM" "alpha alps" enable-nested al
t_comp "vm set NAME --nested on|off" "off on" vm set alpha --nested ''
t_comp "vm set --memory=SIZE NAME" "beta" vm set --memory = 1G b
t_comp "vm delete -f NAME" "beta" vm delete -f b
t_comp "vm create --run-as <TAB>: users" "nobody" vm create x --run-as nob
t_comp "vm set --run-as <TAB>: none too" "none" vm set alpha --run-as non
t_comp "vm create --run-as: no none" "" vm create x --run-as non
t_comp "vm set --run-as NAME" "beta" vm set --run-as nobody b
t_comp "vm create --run<TAB>" "--run-as" vm create x --run
t_comp "vm set --run<TAB>" "--run-as" vm set alpha --run
t_comp "run --ss<TAB>" "--ssh-key" run --ss
t_comp "vm create --host<TAB>" "--hostname" vm create x --host
t_comp "vm set --user<TAB>" "--user-data" vm set alpha --user
t_comp "vm set --ssh-key non<TAB>: none too" "none" vm set alpha --ssh-key non
t_comp "vm set --hostname NAME VM" "beta" vm set --hostname h b

t_expect "switch create lan" 0 'created' -- "$NV" switch create lan --type private
t_comp "switch show <TAB>: switch names" "lan" switch show ''
t_comp "switch port NAME" "lan" switch port l
t_comp "--nic switch=<TAB> ('=' a word break)" "lan" run --nic switch = ''
t_comp "--nic switch=l<TAB> ('=' a word break)" "lan" run --nic switch = l
t_comp "--nic switch=l<TAB> ('=' not a break)" "switch=lan" run --nic switch=l
t_comp "--nic <TAB>" "switch=" vm create x --nic ''
t_comp "after --nic switch=lan: a new word" "--nested" run --nic switch = lan --neste
t_comp "switch create --type" "external internal nat private" switch create x --type ''
t_comp "run -- COMMAND: nothing" "" run -- --ne

# Each command's options are its parser's (long ones; -h, -f, -y are not
# offered): the same set, so completion cannot go stale.
opts=$(tests/tools/cli-options)
[ -n "$opts" ] || t_not_ok "tests/tools/cli-options" "found no option"
parser() { printf '%s\n' "$opts" | awk -v p="$1" '$1 == p && $3 ~ /^--./ { print $3 }' | sort -u | tr '\n' ' ' | sed 's/ $//'; }
offered() {
	local k
	for k in "$@"; do _nestvm_opts "$k" | tr ' ' '\n'; done | sort -u | tr '\n' ' ' | sed 's/ $//'
}
for c in run status enable-nested lab; do
	[ "$(offered "$c")" = "$(parser "nestvm-$c")" ] && t_ok "$c: the parser's options" ||
		t_not_ok "$c: the parser's options" "offered '$(offered "$c")', parser '$(parser "nestvm-$c")'"
done
vm=$(offered "vm create" "vm set" "vm list" "vm show" "vm stop" "vm delete" "vm start" "vm migrate" "vm receive" "vm ssh")
[ "$vm" = "$(parser nestvm-vm)" ] && t_ok "vm: the parsers' options" ||
	t_not_ok "vm: the parsers' options" "offered '$vm', parsers '$(parser nestvm-vm)'"
gu=$(offered "guest build")
[ "$gu" = "$(parser nestvm-guest)" ] && t_ok "guest: the parser's options" ||
	t_not_ok "guest: the parser's options" "offered '$gu', parser '$(parser nestvm-guest)'"
sw=$(offered "switch create" "switch show" "switch port" "switch list")
[ "$sw" = "$(parser nestvm-switch)" ] && t_ok "switch: the parsers' options" ||
	t_not_ok "switch: the parsers' options" "offered '$sw', parsers '$(parser nestvm-switch)'"
t_comp "vm stop --<TAB>" "--force --help --timeout" vm stop --
t_comp "vm ssh --<TAB>" "--adapter --help --port --user" vm ssh --
t_comp "vm ssh NAME -- ...: nothing" "" vm ssh x -- --n
t_summary
