/* disk/boot_find: what a disk image's bootloader would boot, from images
 * made here with the host's tools (tests/unit/data/make_boot_image.sh:
 * mkfs.ext4 -d, sfdisk, dd; no loop device, no root). GPT, MBR and a bare
 * filesystem; Debian's grub.cfg, a BLS entry, Debian's /vmlinuz links,
 * hostile links (absolute, .. above the root, loops, to host paths), and
 * damaged tables, filesystems and configurations, each refused with the
 * one line that names it. An image with nothing bootable (a data disk) is
 * told apart from a broken bootable one: 1, not -1, with its reason.
 * The same images as qcow2 (qemu-img convert, compressed too) and under
 * nestvm's overlays boot alike; broken qcow2 images are refused.
 * Without mke2fs, sfdisk or qemu-img these tests fail. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk/boot_find.h"
#include "disk/disk_chain.h"
#include "disk/disk_image.h"

#define UUID "0b1d2e3f-0000-4000-8000-000000000001" /* make_boot_image.sh's */

static char dir[] = "/tmp/nv-boot-find.XXXXXX";
static char script[PATH_MAX];

static char *at(const char *name)
{
	static char bufs[8][PATH_MAX];
	static int next;
	char *b = bufs[next++ % 8];
	snprintf(b, PATH_MAX, "%s/%s", dir, name);
	return b;
}

static void sh(const char *fmt, ...)
{
	char cmd[4 * PATH_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("failed: %s", cmd);
}

/* A file in the tree, its folders made. */
static void put(const char *rel, const char *content)
{
	sh("mkdir -p \"$(dirname '%s/tree/%s')\"", dir, rel);
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/tree/%s", dir, rel);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static void link_to(const char *rel, const char *target)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/tree/%s", dir, rel);
	unlink(path);
	assert_int_equal(symlink(target, path), 0);
}

/* The tree as an image of the layout; the tree is emptied for the next. */
static const char *image(const char *name, const char *layout)
{
	sh("'%s' '%s/tree' '%s' %s", script, dir, at(name), layout);
	sh("rm -rf '%s/tree' && mkdir '%s/tree'", dir, dir);
	return at(name);
}

static const char debian_cfg[] =
	"set default=\"0\"\n"
	"menuentry 'Debian GNU/Linux' --class debian $menuentry_id_option 'gnulinux-simple' {\n"
	"\tinsmod ext2\n"
	"\tsearch --no-floppy --fs-uuid --set=root " UUID "\n"
	"\tlinux\t/boot/vmlinuz-6.1.0-28-amd64 root=UUID=" UUID " ro  quiet\n"
	"\tinitrd\t/boot/initrd.img-6.1.0-28-amd64\n"
	"}\n"
	"submenu 'Advanced options' {\n"
	"\tmenuentry 'old' {\n"
	"\t\tlinux\t/boot/vmlinuz-6.1.0-27-amd64 root=UUID=" UUID " ro single\n"
	"\t}\n"
	"}\n";

static void debian_boot_files(void)
{
	put("boot/vmlinuz-6.1.0-28-amd64", "KERNEL 28");
	put("boot/initrd.img-6.1.0-28-amd64", "INITRD 28");
	put("boot/vmlinuz-6.1.0-27-amd64", "KERNEL 27");
	put("etc/hostname", "debian\n");
}

static void assert_bytes(const uint8_t *data, size_t len, const char *want)
{
	assert_int_equal(len, strlen(want));
	assert_memory_equal(data, want, len);
}

static int find(const char *img, struct boot_found *f, struct nv_err *err)
{
	memset(err, 0, sizeof(*err));
	return boot_find(img, f, err);
}

static void test_gpt_debian_grub(void **state)
{
	debian_boot_files();
	put("boot/grub/grub.cfg", debian_cfg);
	const char *img = image("gpt.img", "gpt");
	struct boot_found f;
	struct nv_err err;
	assert_int_equal(find(img, &f, &err), 0);
	assert_int_equal(f.partition, 2);
	assert_string_equal(f.source, "grub.cfg");
	assert_string_equal(f.kernel_path, "/boot/vmlinuz-6.1.0-28-amd64");
	assert_bytes(f.kernel, f.kernel_len, "KERNEL 28");
	assert_string_equal(f.initrd_path, "/boot/initrd.img-6.1.0-28-amd64");
	assert_bytes(f.initrd, f.initrd_len, "INITRD 28");
	assert_string_equal(f.cmdline, "root=UUID=" UUID " ro quiet");
	boot_found_free(&f);
}

static void test_mbr_grub_default_in_submenu(void **state)
{
	debian_boot_files();
	char cfg[sizeof(debian_cfg) + 8];
	snprintf(cfg, sizeof(cfg), "set default=\"1>0\"\n%s", debian_cfg + strlen("set default=\"0\"\n"));
	put("boot/grub/grub.cfg", cfg);
	const char *img = image("mbr.img", "mbr");
	struct boot_found f;
	struct nv_err err;
	assert_int_equal(find(img, &f, &err), 0);
	assert_int_equal(f.partition, 1);
	assert_bytes(f.kernel, f.kernel_len, "KERNEL 27");
	assert_null(f.initrd); /* that entry has no initrd line */
	assert_string_equal(f.initrd_path, "");
	assert_string_equal(f.cmdline, "root=UUID=" UUID " ro single");
	boot_found_free(&f);
}

static void test_bls_newest_entry(void **state)
{
	put("boot/vmlinuz-6.9.0", "KERNEL 6.9");
	put("boot/vmlinuz-6.10.0", "KERNEL 6.10");
	put("boot/initramfs-6.10.0.img", "INITRAMFS");
	put("boot/ucode.img", "UCODE");
	/* Version order, not byte order: 6.10 is newer than 6.9. Paths are
	 * relative to the boot partition, here the root filesystem's /boot. */
	put("boot/loader/entries/abc-6.9.0.conf", "linux /vmlinuz-6.9.0\noptions root=/dev/vda2\n");
	put("boot/loader/entries/abc-6.10.0.conf",
	    "title Fedora\nlinux /vmlinuz-6.10.0\ninitrd /ucode.img\ninitrd /initramfs-6.10.0.img\n"
	    "options root=UUID=" UUID " ro $kernelopts\n");
	put("boot/loader/entries/README", "not an entry");
	const char *img = image("bls.img", "gpt");
	struct boot_found f;
	struct nv_err err;
	assert_int_equal(find(img, &f, &err), 0);
	assert_string_equal(f.source, "BLS entry abc-6.10.0.conf");
	assert_string_equal(f.kernel_path, "/boot/vmlinuz-6.10.0");
	assert_bytes(f.kernel, f.kernel_len, "KERNEL 6.10");
	/* Two initrds, the second starting 4-byte aligned, as GRUB loads them. */
	assert_int_equal(f.initrd_len, 8 + 9);
	assert_memory_equal(f.initrd, "UCODE\0\0\0INITRAMFS", 17);
	assert_string_equal(f.cmdline, "root=UUID=" UUID " ro");
	boot_found_free(&f);
}

static void test_debian_links(void **state)
{
	put("boot/vmlinuz-6.1.0-28-amd64", "KERNEL 28");
	put("boot/initrd.img-6.1.0-28-amd64", "INITRD 28");
	link_to("vmlinuz", "boot/vmlinuz-6.1.0-28-amd64");
	link_to("initrd.img", "boot/initrd.img-6.1.0-28-amd64");
	const char *img = image("links.img", "mbr");
	struct boot_found f;
	struct nv_err err;
	assert_int_equal(find(img, &f, &err), 0);
	assert_string_equal(f.source, "/vmlinuz link");
	assert_string_equal(f.kernel_path, "/vmlinuz");
	assert_bytes(f.kernel, f.kernel_len, "KERNEL 28");
	assert_bytes(f.initrd, f.initrd_len, "INITRD 28");
	assert_string_equal(f.cmdline, "root=UUID=" UUID " ro");
	boot_found_free(&f);

	/* A bare filesystem, no partition table: the whole disk is it. */
	put("boot/vmlinuz-6.1.0-28-amd64", "KERNEL 28");
	link_to("vmlinuz", "boot/vmlinuz-6.1.0-28-amd64");
	img = image("whole.img", "whole");
	assert_int_equal(find(img, &f, &err), 0);
	assert_int_equal(f.partition, 0);
	assert_null(f.initrd);
	boot_found_free(&f);
}

static void test_hostile_links_stay_inside(void **state)
{
	/* Absolute, and .. far above the root: both resolve in the filesystem. */
	put("boot/vmlinuz-x", "INSIDE");
	put("boot/initrd-x", "INITRD INSIDE");
	link_to("vmlinuz", "../../../../../../boot/vmlinuz-x");
	link_to("initrd.img", "/boot/initrd-x");
	const char *img = image("dotdot.img", "gpt");
	struct boot_found f;
	struct nv_err err;
	assert_int_equal(find(img, &f, &err), 0);
	assert_bytes(f.kernel, f.kernel_len, "INSIDE");
	assert_bytes(f.initrd, f.initrd_len, "INITRD INSIDE");
	boot_found_free(&f);

	/* A loop. */
	put("etc/hostname", "x\n");
	link_to("vmlinuz", "vmlinuz2");
	link_to("vmlinuz2", "/vmlinuz");
	img = image("loop.img", "gpt");
	assert_int_equal(find(img, &f, &err), -1);
	char want[PATH_MAX];
	snprintf(want, sizeof(want), "partition 2 of %s: /vmlinuz: ", img);
	assert_memory_equal(err.msg, want, strlen(want));
	assert_non_null(strstr(err.msg, "symbolic links"));

	/* A host path that exists here but not in the image. */
	put("etc/hostname", "x\n");
	link_to("vmlinuz", "/bin/sh");
	img = image("hostpath.img", "gpt");
	assert_int_equal(find(img, &f, &err), -1);
	snprintf(want, sizeof(want), "partition 2 of %s: /vmlinuz: not found in the filesystem", img);
	assert_string_equal(err.msg, want);

	/* A link to a folder. */
	put("boot/x/y", "y");
	link_to("vmlinuz", "boot");
	img = image("dirlink.img", "gpt");
	assert_int_equal(find(img, &f, &err), -1);
	snprintf(want, sizeof(want), "partition 2 of %s: /vmlinuz: not a regular file", img);
	assert_string_equal(err.msg, want);
}

static void test_broken_config_refused(void **state)
{
	struct boot_found f;
	struct nv_err err;
	char want[PATH_MAX];

	debian_boot_files();
	put("boot/grub/grub.cfg", "set default=0\ninsmod ext2\n");
	link_to("vmlinuz", "boot/vmlinuz-6.1.0-28-amd64"); /* not a fallback: GRUB would fail */
	const char *img = image("nomenu.img", "gpt");
	assert_int_equal(find(img, &f, &err), -1);
	snprintf(want, sizeof(want), "grub.cfg of %s: no menuentry with a linux line", img);
	assert_string_equal(err.msg, want);

	put("boot/grub/grub.cfg", "menuentry x {\n linux /boot/vmlinuz-6.1.0-x root=/dev/vda1\n}\n");
	img = image("nokernel.img", "gpt");
	assert_int_equal(find(img, &f, &err), -1);
	snprintf(want, sizeof(want), "partition 2 of %s: /boot/vmlinuz-6.1.0-x: not found in the filesystem",
		 img);
	assert_string_equal(err.msg, want);

	put("boot/vmlinuz", "K");
	put("boot/grub/grub.cfg", "menuentry x {\n linux /boot/vmlinuz\n initrd /boot/missing.img\n}\n");
	img = image("noinitrd.img", "gpt");
	assert_int_equal(find(img, &f, &err), -1);
	snprintf(want, sizeof(want), "partition 2 of %s: /boot/missing.img: not found in the filesystem",
		 img);
	assert_string_equal(err.msg, want);

	/* A sparse 200 MiB "kernel": over the limit, refused before it is read. */
	put("boot/grub/grub.cfg", "menuentry x {\n linux /boot/vmlinuz-big\n}\n");
	sh("truncate -s 200M '%s/tree/boot/vmlinuz-big'", dir);
	img = image("bigkernel.img", "gpt");
	assert_int_equal(find(img, &f, &err), -1);
	snprintf(want, sizeof(want), "partition 2 of %s: /boot/vmlinuz-big: larger than 128 MiB", img);
	assert_string_equal(err.msg, want);

	/* Nothing to boot at all. */
	put("etc/hostname", "x\n");
	img = image("empty.img", "mbr");
	assert_int_equal(find(img, &f, &err), 1);
	snprintf(want, sizeof(want),
		 "%s: no /boot/grub/grub.cfg, BLS entry or /vmlinuz in its ext2/3/4 filesystems", img);
	assert_string_equal(err.msg, want);
}

static void test_damaged_disks_refused(void **state)
{
	struct boot_found f;
	struct nv_err err;
	char want[PATH_MAX];

	/* No table, no filesystem. */
	const char *img = at("zeros.img");
	sh("truncate -s 4M '%s'", img);
	assert_int_equal(find(img, &f, &err), 1);
	snprintf(want, sizeof(want), "no partition table on %s", img);
	assert_string_equal(err.msg, want);

	/* The filesystem's superblock (1 KiB into partition 2) wiped. */
	debian_boot_files();
	put("boot/grub/grub.cfg", debian_cfg);
	img = image("nosuper.img", "gpt");
	sh("dd if=/dev/zero of='%s' bs=1024 seek=%d count=1 conv=notrunc status=none", img,
	   4096 / 2 + 1);
	assert_int_equal(find(img, &f, &err), 1);
	snprintf(want, sizeof(want), "partition 2 of %s: not an ext2/3/4 filesystem", img);
	assert_string_equal(err.msg, want);

	/* A partition smaller than its filesystem (8 MiB in 4): refused before
	 * libext2fs reads past the partition. */
	debian_boot_files();
	put("boot/grub/grub.cfg", debian_cfg);
	img = image("shrunk.img", "mbr");
	sh("printf 'label: dos\\nstart=2048, size=8192, type=83\\n' | "
	   "PATH=$PATH:/usr/sbin:/sbin sfdisk -q '%s' >/dev/null 2>&1", img);
	assert_int_equal(find(img, &f, &err), -1);
	snprintf(want, sizeof(want),
		 "partition 1 of %s: the filesystem claims more blocks than its partition holds", img);
	assert_string_equal(err.msg, want);

	/* A superblock's blocks count (offset 4) made huge: libext2fs refuses
	 * it (its checksum), and says why. */
	debian_boot_files();
	put("boot/grub/grub.cfg", debian_cfg);
	img = image("badsum.img", "mbr");
	sh("printf '\\377\\377\\377\\000' | dd of='%s' bs=1 seek=%d conv=notrunc status=none", img,
	   2048 * 512 + 1024 + 4);
	assert_int_equal(find(img, &f, &err), -1);
	snprintf(want, sizeof(want), "partition 1 of %s: not an ext2/3/4 filesystem (", img);
	assert_memory_equal(err.msg, want, strlen(want));
	assert_non_null(strstr(err.msg, "checksum"));

	/* Both GPT headers (LBA 1 and the last LBA) wiped, and the protective
	 * MBR with them: no table left. */
	debian_boot_files();
	img = image("nogpt.img", "gpt");
	sh("dd if=/dev/zero of='%s' bs=512 count=2 conv=notrunc status=none && "
	   "dd if=/dev/zero of='%s' bs=512 seek=%d count=1 conv=notrunc status=none",
	   img, img, 12 * 2048 - 1);
	assert_int_equal(find(img, &f, &err), 1);
	snprintf(want, sizeof(want), "no partition table on %s", img);
	assert_string_equal(err.msg, want);

	/* A partition entry pointing past the end of the disk is left out. */
	debian_boot_files();
	put("boot/grub/grub.cfg", debian_cfg);
	img = image("pastend.img", "mbr");
	sh("printf 'label: dos\\nstart=2048, size=16384, type=83\\nstart=30000, size=90000, type=83\\n' | "
	   "PATH=$PATH:/usr/sbin:/sbin sfdisk -q --no-reread -f '%s' >/dev/null 2>&1 || true", img);
	assert_int_equal(find(img, &f, &err), 0);
	assert_int_equal(f.partition, 1);
	boot_found_free(&f);

	/* A missing file is said as such; an empty qcow2 image is a data disk. */
	assert_int_equal(find(at("missing.img"), &f, &err), -1);
	assert_non_null(strstr(err.msg, "missing.img"));
	assert_int_equal(qcow2_create(at("d.qcow2"), 1 << 20, NULL, DISK_FORMAT_RAW, &err), 0);
	assert_int_equal(find(at("d.qcow2"), &f, &err), 1);
	snprintf(want, sizeof(want), "no partition table on %s", at("d.qcow2"));
	assert_string_equal(err.msg, want);
}

/* raw as qcow2 (qemu-img convert -O qcow2, and more options), its name. */
static const char *to_qcow2(const char *raw, const char *name, const char *options)
{
	sh("qemu-img convert -O qcow2 %s '%s' '%s'", options, raw, at(name));
	return at(name);
}

static void assert_debian_found(const char *img, int partition)
{
	struct boot_found f;
	struct nv_err err;
	if (find(img, &f, &err) != 0)
		fail_msg("%s: %s", img, err.msg);
	assert_int_equal(f.partition, partition);
	assert_string_equal(f.kernel_path, "/boot/vmlinuz-6.1.0-28-amd64");
	assert_bytes(f.kernel, f.kernel_len, "KERNEL 28");
	assert_bytes(f.initrd, f.initrd_len, "INITRD 28");
	assert_string_equal(f.cmdline, "root=UUID=" UUID " ro quiet");
	boot_found_free(&f);
}

/* A qcow2 image boots as its raw original: GPT, MBR, logical partitions
 * of an extended one, a bare filesystem; compressed clusters too. */
static void test_qcow2_as_raw(void **state)
{
	static const char *const layouts[] = { "gpt", "mbr", "logical", "whole" };
	static const int partitions[] = { 2, 1, 6, 0 };
	for (size_t i = 0; i < 4; i++) {
		debian_boot_files();
		put("boot/grub/grub.cfg", debian_cfg);
		char name[32];
		snprintf(name, sizeof(name), "%s.img", layouts[i]);
		const char *raw = image(name, layouts[i]);
		assert_debian_found(raw, partitions[i]);
		snprintf(name, sizeof(name), "%s.qcow2", layouts[i]);
		assert_debian_found(to_qcow2(raw, name, ""), partitions[i]);
		snprintf(name, sizeof(name), "%s-z.qcow2", layouts[i]);
		assert_debian_found(to_qcow2(raw, name, "-c"), partitions[i]);
	}
}

/* nestvm's own differencing disks (a checkpoint's): an overlay over a raw
 * image and over a qcow2 one, the chain from nestvm's records. */
static void test_overlay_chain(void **state)
{
	debian_boot_files();
	put("boot/grub/grub.cfg", debian_cfg);
	const char *raw = image("base.img", "gpt");
	struct nv_err err = { 0 };
	if (disk_chain_branch(raw, 12 << 20, at("over1.qcow2"), &err) < 0)
		fail_msg("%s", err.msg);
	assert_debian_found(at("over1.qcow2"), 2);
	if (disk_chain_branch(at("over1.qcow2"), 12 << 20, at("over2.qcow2"), &err) < 0)
		fail_msg("%s", err.msg);
	assert_debian_found(at("over2.qcow2"), 2);
	const char *q = to_qcow2(raw, "base.qcow2", "");
	if (disk_chain_branch(q, 12 << 20, at("over3.qcow2"), &err) < 0)
		fail_msg("%s", err.msg);
	assert_debian_found(at("over3.qcow2"), 2);
}

static void assert_refused(const char *img, const char *says)
{
	struct boot_found f;
	struct nv_err err;
	assert_int_equal(find(img, &f, &err), -1);
	if (!strstr(err.msg, img) || !strstr(err.msg, says) || strchr(err.msg, '\n'))
		fail_msg("%s: \"%s\" (wanted one line with \"%s\")", img, err.msg, says);
}

/* Broken qcow2 images are refused with one line naming them, and so is a
 * header naming a backing file that nestvm has no record of. */
static void test_qcow2_refused(void **state)
{
	debian_boot_files();
	put("boot/grub/grub.cfg", debian_cfg);
	const char *raw = image("r.img", "gpt");

	/* Cut to its first 256 KiB: the metadata stays, the data is gone. */
	const char *cut = to_qcow2(raw, "cut.qcow2", "");
	sh("truncate -s 256K '%s'", cut);
	assert_refused(cut, "cannot read");

	/* The header's L1 table offset (bytes 40..47) past the end of the file. */
	const char *l1 = to_qcow2(raw, "l1.qcow2", "");
	sh("printf '\\000\\000\\000\\001\\000\\000\\000\\000' | "
	   "dd of='%s' bs=1 seek=40 conv=notrunc status=none", l1);
	assert_refused(l1, "L1 table");

	/* The L1 table's first entry (the L2 table of the first 512 MiB) past
	 * the end of the file, its offset read from the header. */
	const char *l2 = to_qcow2(raw, "l2.qcow2", "");
	sh("off=$(od -An -tu1 -j40 -N8 '%s' | awk '{n=0; for (i=1;i<=NF;i++) n=n*256+$i; print n}') && "
	   "printf '\\200\\000\\000\\001\\000\\000\\000\\000' | "
	   "dd of='%s' bs=1 seek=$off conv=notrunc status=none", l2, l2);
	assert_refused(l2, "cannot read");

	/* A backing file in the header, none in nestvm's records. */
	sh("qemu-img create -q -f qcow2 -b '%s' -F raw '%s' >/dev/null", raw, at("b.qcow2"));
	assert_refused(at("b.qcow2"), "names a backing file");
}

static int setup(void **state)
{
	if (!mkdtemp(dir))
		return -1;
	snprintf(script, sizeof(script), "tests/unit/data/make_boot_image.sh");
	if (access(script, X_OK) != 0) {
		char exe[PATH_MAX];
		ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (len <= 0)
			return -1;
		exe[len] = '\0';
		snprintf(script, sizeof(script), "%s/../../../tests/unit/data/make_boot_image.sh",
			 dirname(exe));
	}
	sh("mkdir '%s/tree'", dir);
	return 0;
}

static int teardown(void **state)
{
	sh("rm -rf '%s'", dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gpt_debian_grub),
		cmocka_unit_test(test_mbr_grub_default_in_submenu),
		cmocka_unit_test(test_bls_newest_entry),
		cmocka_unit_test(test_debian_links),
		cmocka_unit_test(test_hostile_links_stay_inside),
		cmocka_unit_test(test_broken_config_refused),
		cmocka_unit_test(test_damaged_disks_refused),
		cmocka_unit_test(test_qcow2_as_raw),
		cmocka_unit_test(test_overlay_chain),
		cmocka_unit_test(test_qcow2_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
