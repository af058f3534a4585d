#!/usr/bin/env bash
# `nestvm lab -- COMMAND`: the lab host boots, has a real /dev/kvm with
# nested AMD-V, runs COMMAND in the repo's folder, and passes its output and
# exit status through (8 bits, beyond QEMU's 7-bit debug exit).
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
NV=${NESTVM:-build/nestvm}
t_expect "nestvm lab passes output and status" 7 "^lab-ok $PWD$" -- \
	"$NV" lab --timeout 600 -- sh -c 'echo "lab-ok $(pwd)"; exit 7'
t_expect "the lab host has /dev/kvm with nested=1" 0 '^nested=1$' -- \
	"$NV" lab --timeout 600 -- sh -c '[ -c /dev/kvm ] && echo "nested=$(cat /sys/module/kvm_amd/parameters/nested)"'
t_expect "statuses above 127 come back whole" 200 '' -- "$NV" lab --timeout 600 -- sh -c 'exit 200'
t_summary
