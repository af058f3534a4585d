# Sourced by the benchmarks, after guest/lib.sh.

# bench_cmdline: prints the kernel command line nestvm gives a guest that
# runs a command, read from nestvm's source, so that QEMU boots with exactly
# the same one. Dies when the source no longer has it.
bench_cmdline() {
	local h=$NV_ROOT/src/vmm/kernel_cmdline.h base quiet
	base=$(sed -n 's/^#define KERNEL_CMDLINE_BASE "\(.*\)"$/\1/p' "$h")
	quiet=$(sed -n 's/^#define KERNEL_CMDLINE_QUIET "\(.*\)"$/\1/p' "$h")
	if [ -z "$base" ] || [ -z "$quiet" ]; then nv_die "cannot read KERNEL_CMDLINE_BASE/QUIET from $h"; fi
	printf '%s\n' "$base $quiet"
}
