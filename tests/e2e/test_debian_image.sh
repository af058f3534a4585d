#!/usr/bin/env bash
# A distribution's disk image as users have it (issue 18), end to end in the
# lab: the Debian 12 image guest/build-debian makes from Debian's packages
# (systemd, cloud-init, Debian's kernel, GRUB and QEMU; no --kernel given:
# nestvm boots the default entry of its grub.cfg) boots
# as a named VM on a NAT switch with the extensions exposed and a cloud-init
# seed (--user-data, --hostname). Its user-data writes a file and runs
# checks that print "nestvm-test:" lines on the console: the host name and
# the file came from the seed, PID 1 is systemd, the clock is right, DHCP
# gave an address, systemd reached its default target, and QEMU from the
# image's own packages runs the default guest as L3 with KVM. `vm ssh` logs
# in with the seed's key through the NAT switch's forward. Then `vm stop`
# presses the power button and systemd powers the VM off. In the lab the image is the lab
# host's /dev/vda (lab/run --disk: writes go to QEMU's overlay); on a host
# whose KVM nests, a sparse copy.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
IMG=build/guest/debian.img
if ! t_in_lab && ! [ -f "$IMG" ]; then
	t_not_ok "the Debian image is there" "no $IMG (run guest/build-debian)"
	t_summary
	exit
fi
T_LAB_OPTS=(--disk "$IMG")
# systemd and cloud-init (Python) take about 2 minutes in the lab.
NESTVM_E2E_LAB_TIMEOUT=${NESTVM_E2E_LAB_TIMEOUT:-720}
t_kvm_or_lab nested "$0" "$@"
. guest/lib.sh
NV=${NESTVM:-build/nestvm}
WAIT=${NESTVM_E2E_DEBIAN_WAIT:-480}
export NESTVM_HOME
NESTVM_HOME=$(mktemp -d /tmp/nv-home.XXXXXX)
tmp=$(mktemp -d)
cleanup() {
	"$NV" vm stop deb --force >/dev/null 2>&1
	"$NV" switch delete wan >/dev/null 2>&1
	rm -rf "$NESTVM_HOME" "$tmp"
}
trap cleanup EXIT

if t_in_lab; then
	disk=/dev/vda
else
	disk=$tmp/debian.img
	cp --sparse=always "$IMG" "$disk"
fi

# L3's command, run by the default guest under QEMU in the image.
l3cmd=$(nv_encode_cmd sh -c 'echo hello-from-L3
	grep -qw hypervisor /proc/cpuinfo && echo L3-cpu-flag-hypervisor
	echo L3-clocksource=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)
	exit 42')
# Each check is one runcmd line that prints to the console. The last one
# runs outside cloud-init (systemd-run): the default target is reached only
# after cloud-init's own final stage.
cat >"$tmp/user-data" <<EOF
#cloud-config
write_files:
  - path: /etc/nestvm-user-data
    content: |
      written-by-user-data
runcmd:
  - [ sh, -c, 'echo "nestvm-test: hostname=\$(hostname) file=\$(cat /etc/nestvm-user-data) pid1=\$(cat /proc/1/comm) epoch=\$(date +%s)" >/dev/console' ]
  - [ sh, -c, 'echo "nestvm-test: ipv4 \$(ip -4 -o addr show scope global | awk "{print \\\$4}")" >/dev/console' ]
  - [ sh, -c, 'modprobe kvm_amd 2>/dev/null || modprobe kvm_intel; [ -c /dev/kvm ] && echo "nestvm-test: L2 has /dev/kvm" >/dev/console' ]
  - [ sh, -c, 'timeout 600 qemu-system-x86_64 -accel kvm -cpu host -M pc -m 256M -global kvm-apic.vapic=false -nodefaults -display none -no-reboot -serial file:/dev/console -kernel /usr/local/share/nestvm-l3/vmlinuz -initrd /usr/local/share/nestvm-l3/initrd.img -append "console=ttyS0 quiet loglevel=0 panic=-1 nestvm.cmd=$l3cmd" -device isa-debug-exit,iobase=0xf4,iosize=0x04 </dev/null; echo "nestvm-test: L3 status \$((\$? >> 1))" >/dev/console' ]
  - [ systemd-run, --unit=nestvm-test-ready, sh, -c, 'systemctl is-system-running --wait >/dev/null; echo "nestvm-test: system \$(systemctl is-system-running) default \$(systemctl get-default) \$(systemctl is-active \$(systemctl get-default)) failed [\$(systemctl --failed --no-legend --plain | cut -d" " -f1 | tr "\\n" " ")]" >/dev/console' ]
EOF

t_expect "a NAT switch" 0 '' -- "$NV" switch create wan --type nat
ssh-keygen -q -t ed25519 -N '' -C nestvm-test -f "$tmp/id"
# vapic=false above: see tests/e2e/test_nested_qemu.sh.
t_expect "vm create with the image, no --kernel, a seed and the extensions" 0 'VM deb created' -- \
	"$NV" vm create deb --disk "$disk" --memory 1536M --nic switch=wan \
	--expose-virtualization-extensions on --user-data "$tmp/user-data" --hostname nestvm-deb --ssh-key "$tmp/id.pub"
t_expect "vm start" 0 'VM deb started' -- "$NV" vm start deb
# console.log keeps its last 512 KiB once past 1 MiB, and a slow boot's
# systemd status lines pass that: the lines the checks look for are kept
# aside as they come (every 2 s, far less than 512 KiB of output).
vmlog=$NESTVM_HOME/vms/deb/console.log
log=$tmp/console.kept
: >"$log"
keep() {
	tr -d '\r' <"$vmlog" 2>/dev/null |
		grep -aE '^(nestvm-test:|hello-from-L3|L3-|Debian GNU/Linux 12 |nestvm-deb login:)|DataSourceNoCloud|reboot: Power down' >>"$log"
	sort -u -o "$log" "$log"
}
seen() { keep; grep -aq -- "$1" "$log" 2>/dev/null; }
# The last check prints when systemd is done; a dead VM ends the wait.
for ((i = 0; i < WAIT; i += 2)); do
	seen 'nestvm-test: system ' && break
	[ "$(vm_field deb State)" = Running ] || break
	sleep 2
done
keep
console=$(cat "$log")
has() {
	if printf '%s\n' "$console" | grep -aEq -- "$2"; then t_ok "$1"; else
		t_not_ok "$1" "not in the console ($(vm_stop_of deb)): $(printf '%s\n' "$console" | grep -a 'nestvm-test\|L3\|login:' | tr '\n' '|' | tail -c 600)"
	fi
}
# The VMM's log says what it booted.
if grep -q "note: booting the image's own kernel: partition 2 of $disk: /boot/vmlinuz-[^ ]* (grub.cfg)" "$NESTVM_HOME/vms/deb/vmm.log"; then
	t_ok "the VMM boots the kernel the image's grub.cfg names, no --kernel"
else
	t_not_ok "the VMM boots the kernel the image's grub.cfg names, no --kernel" "vmm.log: $(tr '\n' '|' <"$NESTVM_HOME/vms/deb/vmm.log" | tail -c 400)"
fi
has "Debian boots (getty's banner, not the default guest's init)" '^Debian GNU/Linux 12 nestvm-deb ttyS0$'
has "systemd is PID 1, the host name and a file come from the seed" \
	'^nestvm-test: hostname=nestvm-deb file=written-by-user-data pid1=systemd epoch=[0-9]+$'
# The guest's clock (the RTC and kvm-clock nestvm gives it) is the host's:
# the line was printed at most a few minutes ago.
epoch=$(printf '%s\n' "$console" | sed -n 's/^nestvm-test: hostname=.* epoch=\([0-9]*\)$/\1/p' | tail -n 1)
now=$(date +%s)
if [ -n "$epoch" ] && [ $((now - epoch)) -ge -60 ] && [ $((now - epoch)) -le 600 ]; then
	t_ok "the guest's clock is the host's (printed $((now - epoch)) s ago)"
else
	t_not_ok "the guest's clock is the host's" "guest said ${epoch:-nothing}, the host's clock is $now"
fi
has "cloud-init found the NoCloud seed" 'Datasource DataSourceNoCloud'
has "the serial console gets a login prompt" '^nestvm-deb login:'
has "DHCP on the NAT switch gave an address" '^nestvm-test: ipv4 [0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/[0-9]+$'
has "the image's kernel loads kvm and has /dev/kvm (L2)" '^nestvm-test: L2 has /dev/kvm$'
has "QEMU from the image's packages boots L3 with KVM" '^hello-from-L3$'
has "L3 runs on KVM (kvm-clock)" '^L3-clocksource=kvm-clock$'
has "L3's exit status comes back through QEMU" '^nestvm-test: L3 status 42$'
has "systemd reaches its default target, no unit failed" '^nestvm-test: system running default [a-z-]+\.target active failed \[\]$'
# vm ssh: through a forward the NAT switch makes to the address its DHCP
# server gave the VM's adapter; the key came in the seed's meta-data.
t_expect "vm show: the adapter's address from the switch's DHCP" 0 \
	'^Adapter eth0 IPv4 +: [0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$' -- "$NV" vm show deb
ssh_opts=(-i "$tmp/id" -o BatchMode=yes -o ConnectTimeout=20)
st=1 sshout=''
for ((i = 0; i < 60; i += 5)); do # sshd may still be starting
	sshout=$("$NV" vm ssh deb --user debian -- "${ssh_opts[@]}" cat /etc/hostname 2>"$tmp/ssh.err") && { st=0; break; }
	st=$?
	sleep 5
done
if [ "$st" = 0 ] && [ "$sshout" = nestvm-deb ]; then t_ok "vm ssh deb --user debian -- cat /etc/hostname: nestvm-deb"
else t_not_ok "vm ssh deb -- cat /etc/hostname" "status $st, out '$sshout', err $(tr '\n' '|' <"$tmp/ssh.err")"; fi
t_expect "the host key is in the VM's own known_hosts" 0 '' -- test -s "$NESTVM_HOME/vms/deb/ssh_known_hosts"
t_expect "a second vm ssh: the same host key, no prompt" 0 '^ok$' -- \
	"$NV" vm ssh deb --user debian -- "${ssh_opts[@]}" echo ok
t_expect "vm stop: the power button, systemd powers off" 0 'VM deb is off: the guest powered off' -- \
	"$NV" vm stop deb --timeout 240
keep
console=$(cat "$log")
has "systemd shut down (the kernel's last line)" 'reboot: Power down'
t_expect "the forward went with the VM's port" 0 'runtime_forwards: \[\]' -- "$NV" switch show wan
t_bad "vm ssh of a VM that is Off" 'VM deb is not running \(Off\)' "$NV" vm ssh deb
t_summary
