#!/usr/bin/env bash
# A third-party hypervisor inside nestvm, end to end in the lab (the lab
# host is L1): an L2 nestvm guest with the extensions exposed runs QEMU
# with KVM (from build/guest/qemu.img, guest/build-qemu-disk, under
# chroot), which boots the default guest as L3. Checks that QEMU used KVM,
# that L3's output arrives and that its exit status travels up. Every
# level is bounded by a timeout so a hang becomes a clear failure; the L3
# boot takes minutes (SVM is emulated by TCG in the lab).
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
# A lab host wedged by its emulated SVM (lab/README.md) is given up after 4
# minutes rather than 7 (it takes 20-35 s in a lab), then tried again.
export NESTVM_E2E_LAB_TIMEOUT=${NESTVM_E2E_LAB_TIMEOUT:-240}
t_kvm_or_lab nested "$0" "$@"
. guest/lib.sh
NV=${NESTVM:-build/nestvm}
IMG=build/guest/qemu.img
L2_TIMEOUT=${NESTVM_E2E_L2_TIMEOUT:-1200}
L3_TIMEOUT=${NESTVM_E2E_L3_TIMEOUT:-900}


if ! [ -f "$IMG" ]; then
	t_not_ok "QEMU disk present" "no $IMG (run guest/build-qemu-disk)"
	t_summary
	exit
fi

# L3's command, encoded here: quoting it inside the L2 script is simpler.
# kvm-clock and "Hypervisor detected: KVM" exist only when QEMU uses KVM.
l3cmd=$(nv_encode_cmd sh -c '
	echo hello-from-qemu-L3
	echo L3-vendor=$(sed -n "/^vendor_id/{s/.*: *//p;q}" /proc/cpuinfo)
	grep -qw hypervisor /proc/cpuinfo && echo L3-cpu-flag-hypervisor
	echo L3-clocksource=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)
	dmesg | grep -m1 "Hypervisor detected"
	exit 42')

# In L2: QEMU runs chrooted in the read-only image (/dev/vda; the nested
# support disk is the last one). A watcher looks for QEMU's vCPU file
# descriptors, the proof that it created a KVM VM.
# vapic=false: the lab's TCG allows port I/O through the TSS bitmap only
# with a non-busy TR type, and KVM reports TR busy; kvmvapic's register
# sync writes that back, so L3's nestvm-exit (ioperm + outb) would #GP.
out=$(timeout "$L2_TIMEOUT" "$NV" run --nested --memory 1536M --disk "$IMG",readonly -- sh -c "
	[ -d /sys/module/kvm_amd ] && echo L2-kvm-amd-loaded
	[ -c /dev/kvm ] && echo L2-dev-kvm
	Q=/mnt/q
	mkdir -p \$Q
	mount -t ext4 -o ro /dev/vda \$Q || { echo L2-cannot-mount-vda; exit 3; }
	mount -t devtmpfs devtmpfs \$Q/dev && mount -t proc proc \$Q/proc &&
		mount -t sysfs sysfs \$Q/sys && mount -t tmpfs tmpfs \$Q/tmp || { echo L2-cannot-mount; exit 3; }
	(
		while sleep 1; do
			ls -l /proc/[0-9]*/fd 2>/dev/null | grep -q 'anon_inode:kvm-vcpu' && { echo L2-qemu-kvm-vcpu-seen; exit; }
		done
	) >/tmp/watch &
	w=\$!
	timeout $L3_TIMEOUT chroot \$Q /usr/bin/qemu-system-x86_64 -accel kvm -cpu host -M pc -m 256M \
		-global kvm-apic.vapic=false -nodefaults -display none -no-reboot -serial stdio \
		-kernel /guest/vmlinuz -initrd /guest/initrd.img \
		-append 'console=ttyS0 quiet loglevel=0 panic=-1 nestvm.cmd=$l3cmd' \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 </dev/null
	st=\$?
	kill \$w 2>/dev/null
	cat /tmp/watch
	echo L2-qemu-status=\$st
	# isa-debug-exit: QEMU exits (STATUS<<1)|1.
	[ \$((st & 1)) = 1 ] && echo L3-status=\$((st >> 1))
	exit 7" 2>&1)
st=$?
t_status "L2's exit status comes back to L1" 7 "$st"
t_has "L2 loads kvm-amd" '^L2-kvm-amd-loaded$'
t_has "L2 has /dev/kvm" '^L2-dev-kvm$'
t_has "QEMU in L2 creates KVM vCPUs" '^L2-qemu-kvm-vcpu-seen$'
t_has "L3 boots under QEMU and prints" '^hello-from-qemu-L3$'
t_has "L3 reports a CPU vendor" '^L3-vendor=[A-Za-z]+$'
t_has "L3 sees the hypervisor CPU flag" '^L3-cpu-flag-hypervisor$'
t_has "L3 runs on KVM (kvm-clock)" '^L3-clocksource=kvm-clock$'
t_has "L3's kernel detects KVM" 'Hypervisor detected: KVM'
t_has "L3's exit status travels up through QEMU to L2" '^L3-status=42$'
t_summary
