#!/usr/bin/env bash
# End-to-end: kernel image formats. The default guest is a bzImage; guest/build
# also extracts the same kernel as an uncompressed ELF vmlinux, which nestvm
# loads by its program headers instead of the setup header. Runs in the lab.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
t_kvm_or_lab nested "$0" "$@"
NV=${NESTVM:-build/nestvm}
G=build/guest
TO=${NESTVM_E2E_TIMEOUT:-300}
nv() { timeout "$TO" "$NV" "$@"; }

if [ -f "$G/vmlinux" ] && head -c4 "$G/vmlinux" | grep -q ELF; then
	t_ok "build/guest/vmlinux is an ELF file"
else
	t_not_ok "build/guest/vmlinux is an ELF file" "missing or not ELF (run guest/build; is it in lab/build's LAB_FILES?)"
fi

# The command's output and status come back, and it really is the same kernel.
t_expect "ELF vmlinux boots and runs a command" 5 '^vmlinux-ok '"$(cat "$G/kernel.version" 2>/dev/null)"'$' -- \
	nv run --kernel "$G/vmlinux" --initrd "$G/initrd.img" -- sh -c 'echo "vmlinux-ok $(uname -r)"; exit 5'
t_expect "ELF vmlinux: 2 vCPUs come online" 0 '^2$' -- \
	nv run --kernel "$G/vmlinux" --initrd "$G/initrd.img" --cpus 2 -- nproc
# The same explicit options with the bzImage, so a failure above is the format's.
t_expect "bzImage given by --kernel boots" 0 '^bz-ok$' -- \
	nv run --kernel "$G/vmlinuz" --initrd "$G/initrd.img" -- sh -c 'echo bz-ok'
t_summary
