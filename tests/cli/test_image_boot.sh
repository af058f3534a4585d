#!/usr/bin/env bash
# `nestvm run --disk IMAGE` (and `vm start` of a VM created so) with no
# --kernel boots the image's own kernel, initrd and command line (issue 18;
# disk/boot_find, vmm/image_boot). Tested on any host without booting: the
# images here (tests/unit/data/make_boot_image.sh: mke2fs -d, sfdisk, dd)
# carry a fake kernel, so the run stops at the kernel check, before KVM,
# with a line that says whose kernel it was (raw, qcow2, compressed qcow2, a
# nestvm overlay over a raw image); a broken bootable image is
# refused with its one line; a data disk still gets the default guest;
# --kernel still overrides. Needs the default guest (the data-disk case).
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
NV=${NESTVM:-build/nestvm}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export NESTVM_HOME="$T/home"
MAKE_IMAGE=tests/unit/data/make_boot_image.sh
UUID=0b1d2e3f-0000-4000-8000-000000000001

# image NAME LAYOUT GRUB_CFG: a Debian-like tree with that grub.cfg.
image() {
	rm -rf "$T/tree" && mkdir -p "$T/tree/boot/grub"
	printf 'not a kernel' >"$T/tree/boot/vmlinuz-6.1.0-28-amd64"
	printf 'initrd' >"$T/tree/boot/initrd.img-6.1.0-28-amd64"
	printf '%b' "$3" >"$T/tree/boot/grub/grub.cfg"
	"$MAKE_IMAGE" "$T/tree" "$T/$1" "$2"
}
debian_cfg="set default=\"0\"\nmenuentry 'Debian GNU/Linux' {\n\tlinux\t/boot/vmlinuz-6.1.0-28-amd64 root=UUID=$UUID ro quiet\n\tinitrd\t/boot/initrd.img-6.1.0-28-amd64\n}\n"

image debian.img gpt "$debian_cfg"
t_bad "the image's own kernel is the one checked" \
	"^nestvm: partition 2 of $T/debian.img: /boot/vmlinuz-6.1.0-28-amd64 \\(grub.cfg\\): not a Linux kernel" \
	$NV run --disk "$T/debian.img"
t_bad "a command with an image that boots its own system" \
	"^nestvm: $T/debian.img boots its own system \\(partition 2 of .*\\): a command runs in the default guest only" \
	$NV run --disk "$T/debian.img" -- true
# The same image as qcow2 (qemu-img convert), compressed too, and under an
# overlay of nestvm's (its record beside it, as a checkpoint leaves).
qemu-img convert -O qcow2 "$T/debian.img" "$T/debian.qcow2"
t_bad "a qcow2 image's own kernel is the one checked" \
	"^nestvm: partition 2 of $T/debian.qcow2: /boot/vmlinuz-6.1.0-28-amd64 \\(grub.cfg\\): not a Linux kernel" \
	$NV run --disk "$T/debian.qcow2"
qemu-img convert -c -O qcow2 "$T/debian.img" "$T/debian-z.qcow2"
t_bad "a compressed qcow2 image's own kernel is the one checked" \
	"^nestvm: partition 2 of $T/debian-z.qcow2: /boot/vmlinuz-6.1.0-28-amd64 \\(grub.cfg\\): not a Linux kernel" \
	$NV run --disk "$T/debian-z.qcow2"
qemu-img create -q -f qcow2 -b "$T/debian.img" -F raw "$T/over.qcow2"
echo "$T/debian.img" >"$T/over.qcow2.backing"
t_bad "an overlay's kernel comes from its recorded backing image" \
	"^nestvm: partition 2 of $T/over.qcow2: /boot/vmlinuz-6.1.0-28-amd64 \\(grub.cfg\\): not a Linux kernel" \
	$NV run --disk "$T/over.qcow2"
rm "$T/over.qcow2.backing"
t_bad "a backing file named in a qcow2 header only is refused" \
	"^nestvm: disk image $T/over.qcow2: its qcow2 header names a backing file, which nestvm takes only from its own records" \
	$NV run --disk "$T/over.qcow2"
cp "$T/debian.qcow2" "$T/cut.qcow2" && truncate -s 256K "$T/cut.qcow2"
t_bad "a truncated qcow2 image" "^nestvm: $T/cut.qcow2: cannot read its bytes at 0 \\(a corrupt image\\?\\)$" \
	$NV run --disk "$T/cut.qcow2"
head -c 3000000 /dev/urandom >"$T/random.bin"
t_bad "--kernel overrides the image's" "^nestvm: not a Linux kernel" \
	$NV run --disk "$T/debian.img" --kernel "$T/random.bin"
# A grub.cfg command line of 1100 bytes, and --append of 1000.
image longline.img gpt "menuentry x {\n linux /boot/vmlinuz-6.1.0-28-amd64 root=/dev/vda2$(for i in $(seq 10); do printf ' %0107d' 0; done)\n}\n"
t_bad "the image's command line and --append together too long" \
	"^nestvm: $T/longline.img: its kernel command line and --append together are longer than 2047 bytes$" \
	$NV run --disk "$T/longline.img" --append "$(printf 'x%.0s' $(seq 1000))"

image nomenu.img gpt "set default=0\ninsmod ext2\n"
t_bad "a grub.cfg without a menuentry" "^nestvm: grub.cfg of $T/nomenu.img: no menuentry with a linux line$" \
	$NV run --disk "$T/nomenu.img"
image nokernel.img mbr "menuentry x {\n linux /boot/vmlinuz-6.1.0-x root=/dev/vda1\n}\n"
t_bad "a grub.cfg naming a missing kernel" \
	"^nestvm: partition 1 of $T/nokernel.img: /boot/vmlinuz-6.1.0-x: not found in the filesystem$" \
	$NV run --disk "$T/nokernel.img"
# A partition smaller than its filesystem (8 MiB in 4), and a superblock
# whose blocks count (offset 4) was changed after mkfs (its checksum).
image shrunk.img mbr "$debian_cfg"
printf 'label: dos\nstart=2048, size=8192, type=83\n' | PATH=$PATH:/usr/sbin:/sbin sfdisk -q "$T/shrunk.img" >/dev/null 2>&1
t_bad "a filesystem larger than its partition" \
	"^nestvm: partition 1 of $T/shrunk.img: the filesystem claims more blocks than its partition holds$" \
	$NV run --disk "$T/shrunk.img"
image badfs.img mbr "$debian_cfg"
printf '\377\377\377\000' | dd of="$T/badfs.img" bs=1 seek=$((2048 * 512 + 1024 + 4)) conv=notrunc status=none
t_bad "a corrupt filesystem" \
	"^nestvm: partition 1 of $T/badfs.img: not an ext2/3/4 filesystem \\(.*checksum.*\\)$" \
	$NV run --disk "$T/badfs.img"

# A data disk (no partition table, no filesystem) gets the default guest,
# as before: its kernel, too big for 16 MiB, is what is refused.
truncate -s 4M "$T/data.img"
t_bad "a data disk boots the default guest" "^nestvm: kernel too big for guest memory" \
	$NV run --memory 16M --disk "$T/data.img" -- true

# A named VM checks the same before its VMM opens KVM.
$NV vm create img --disk "$T/nomenu.img" >/dev/null 2>&1
t_bad "vm start of a VM whose image's grub.cfg is broken" \
	"VM img did not start: grub.cfg of $T/nomenu.img: no menuentry with a linux line" $NV vm start img
$NV vm create qimg --disk "$T/debian.qcow2" >/dev/null 2>&1
t_bad "vm start of a VM whose qcow2 image carries its kernel" \
	"VM qimg did not start: partition 2 of $T/debian.qcow2: /boot/vmlinuz-6.1.0-28-amd64 \\(grub.cfg\\): not a Linux kernel" \
	$NV vm start qimg
t_summary
