#!/usr/bin/env bash
# `nestvm lab -- COMMAND`: the lab host boots, has a real /dev/kvm with
# nested AMD-V, runs COMMAND in the repo's folder, and passes its output and
# exit status through (8 bits, beyond QEMU's 7-bit debug exit). `nestvm`
# is on the lab's PATH, and the headline works with every default, three
# levels deep: the lab, an L2 with the extensions, its L3 (issue 17).
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
NV=${NESTVM:-build/nestvm}
t_expect "nestvm lab passes output and status" 7 "^lab-ok $PWD$" -- \
	"$NV" lab --timeout 600 -- sh -c 'echo "lab-ok $(pwd)"; exit 7'
t_expect "the lab host has /dev/kvm with nested=1" 0 '^nested=1$' -- \
	"$NV" lab --timeout 600 -- sh -c '[ -c /dev/kvm ] && echo "nested=$(cat /sys/module/kvm_amd/parameters/nested)"'
t_expect "statuses above 127 come back whole" 200 '' -- "$NV" lab --timeout 600 -- sh -c 'exit 200'
t_expect "nestvm is on the lab's PATH" 0 '^/usr/local/bin/nestvm$' -- \
	"$NV" lab --timeout 600 -- sh -c 'command -v nestvm'
t_expect "nestvm lab -- nestvm run --nested -- nestvm run -- sh -c 'exit 5': 5, no other option" 5 '' -- \
	"$NV" lab --timeout 900 -- nestvm run --nested -- nestvm run -- sh -c 'exit 5'
t_summary
