#!/bin/sh
# make_boot_image.sh TREE OUT LAYOUT: a small disk image for test_boot_find,
# made with the host's own tools and no loop device: an 8 MiB ext4
# filesystem holding TREE (mke2fs -t ext4 -d, a fixed UUID) written into OUT's
# partition with dd. LAYOUT: gpt (an empty EFI system partition 1, the
# filesystem in partition 2), mbr (partition 1, type 83), logical (an MBR
# extended partition holding an empty logical partition 5 and the filesystem
# in logical partition 6) or whole (the filesystem is the disk, no
# partition table).
set -eu
PATH=$PATH:/usr/sbin:/sbin
tree=$1 out=$2 layout=$3
fs=$out.fs
rm -f "$fs" "$out"
mke2fs -t ext4 -q -F -U 0b1d2e3f-0000-4000-8000-000000000001 -d "$tree" "$fs" 8M >/dev/null
case $layout in
whole) mv "$fs" "$out"; exit 0 ;;
gpt)
	truncate -s 12M "$out"
	printf 'label: gpt\nstart=2048, size=2048, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\nstart=4096, size=16384, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n' |
		sfdisk -q "$out" >/dev/null
	seek=4096 ;;
mbr)
	truncate -s 10M "$out"
	printf 'label: dos\nstart=2048, size=16384, type=83\n' | sfdisk -q "$out" >/dev/null
	seek=2048 ;;
logical)
	truncate -s 24M "$out"
	printf 'label: dos\nstart=2048, size=40960, type=5\nstart=4096, size=8192, type=83\nstart=14336, size=16384, type=83\n' |
		sfdisk -q "$out" >/dev/null
	seek=14336 ;;
*) echo "make_boot_image.sh: unknown layout $layout" >&2; exit 2 ;;
esac
dd if="$fs" of="$out" bs=512 seek="$seek" conv=notrunc status=none
rm -f "$fs"
