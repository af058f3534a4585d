# GRUB for BIOS in a disk image without a loop device or a mount, for
# guest/build-debian (sourced). What `grub-install --target=i386-pc` does
# on a GPT disk, done on a file: the image's own grub-mkimage makes core.img
# (run in its root folder before the filesystem is made), core.img goes
# into the BIOS boot partition, and boot.img into the protective MBR, with
# the few numbers grub-bios-setup patches (grub-core/boot/i386/pc/boot.S
# and diskboot.S: the sector of core.img, its block list, the drive check).
# The configuration is grub.cfg as Debian's grub-mkconfig writes it, for
# the image's one kernel (grub-mkconfig itself needs the root device).

# le N BYTES: N as BYTES little-endian bytes, for printf.
grub_le() {
	local n=$1 i out=''
	for ((i = 0; i < $2; i++)); do
		out+=$(printf '\\x%02x' $((n & 255)))
		n=$((n >> 8))
	done
	printf '%s' "$out"
}

# grub_stage ROOT: core.img (in ROOT/boot/grub/i386-pc, with the modules
# GRUB loads at run time) for a root filesystem on the disk's 2nd GPT
# partition; ROOT must hold grub-pc-bin.
grub_stage() {
	local r=$1
	mkdir -p "$r/boot/grub/i386-pc"
	cp "$r"/usr/lib/grub/i386-pc/*.mod "$r"/usr/lib/grub/i386-pc/*.lst "$r/boot/grub/i386-pc/" || return 1
	cp "$r/usr/lib/grub/i386-pc/boot.img" "$r/boot/grub/i386-pc/" || return 1
	chroot "$r" grub-mkimage -O i386-pc -o /boot/grub/i386-pc/core.img -p '(hd0,gpt2)/boot/grub' \
		biosdisk part_gpt ext2 search_fs_uuid normal configfile linux gzio echo test
}

# grub_config ROOT UUID: ROOT/boot/grub/grub.cfg in Debian's form: the
# newest kernel first, an "Advanced options" submenu, the serial console.
grub_config() {
	local r=$1 uuid=$2 ver
	ver=$(cd "$r/boot" && ls vmlinuz-* | sed 's/^vmlinuz-//' | sort -V | tail -n 1)
	[ -n "$ver" ] || return 1
	cat >"$r/boot/grub/grub.cfg" <<EOF
# Written by nestvm's guest/build-debian in the form of Debian's grub-mkconfig
set default="0"
set timeout=0
insmod part_gpt
insmod ext2
search --no-floppy --fs-uuid --set=root $uuid
menuentry 'Debian GNU/Linux' --class debian --class gnu-linux --class gnu --class os \$menuentry_id_option 'gnulinux-simple-$uuid' {
	insmod gzio
	insmod part_gpt
	insmod ext2
	search --no-floppy --fs-uuid --set=root $uuid
	echo	'Loading Linux $ver ...'
	linux	/boot/vmlinuz-$ver root=UUID=$uuid ro console=tty0 console=ttyS0,115200
	echo	'Loading initial ramdisk ...'
	initrd	/boot/initrd.img-$ver
}
submenu 'Advanced options for Debian GNU/Linux' \$menuentry_id_option 'gnulinux-advanced-$uuid' {
	menuentry 'Debian GNU/Linux, with Linux $ver (recovery mode)' --class debian \$menuentry_id_option 'gnulinux-$ver-recovery-$uuid' {
		search --no-floppy --fs-uuid --set=root $uuid
		linux	/boot/vmlinuz-$ver root=UUID=$uuid ro single console=tty0 console=ttyS0,115200
		initrd	/boot/initrd.img-$ver
	}
}
EOF
}

# grub_embed IMAGE CORE BOOT FIRST_SECTOR: CORE at FIRST_SECTOR (the BIOS
# boot partition, which must hold it), BOOT's code into IMAGE's MBR.
grub_embed() {
	local img=$1 core=$2 boot=$3 at=$4 sectors
	sectors=$((($(stat -c %s "$core") + 511) / 512))
	[ "$sectors" -ge 2 ] && [ "$sectors" -le 2048 ] || return 1
	dd if="$core" of="$img" bs=512 seek="$at" conv=notrunc status=none || return 1
	# diskboot.img's block list, at the end of core's first sector: the
	# rest of core (start, count, load segment 0x820), then a terminator.
	# shellcheck disable=SC2059 # the format is the bytes
	printf "$(grub_le 0 12)$(grub_le $((at + 1)) 8)$(grub_le $((sectors - 1)) 2)$(grub_le $((0x820)) 2)" |
		dd of="$img" bs=1 seek=$((at * 512 + 0x1e8)) conv=notrunc status=none || return 1
	# boot.img's code around the MBR's own BPB (3..0x5a) and partition
	# table (0x1b8..0x1fe), which stay; then where core starts (0x5c) and
	# the floppy check jumped over (0x66, as grub-install does).
	dd if="$boot" of="$img" bs=1 count=3 conv=notrunc status=none &&
		dd if="$boot" of="$img" bs=1 skip=$((0x5a)) seek=$((0x5a)) count=$((0x1b8 - 0x5a)) conv=notrunc status=none &&
		dd if="$boot" of="$img" bs=1 skip=$((0x1fe)) seek=$((0x1fe)) count=2 conv=notrunc status=none || return 1
	# shellcheck disable=SC2059
	printf "$(grub_le "$at" 8)" | dd of="$img" bs=1 seek=$((0x5c)) conv=notrunc status=none &&
		printf '\x90\x90' | dd of="$img" bs=1 seek=$((0x66)) conv=notrunc status=none
}
