/* Finding what an image's bootloader would boot (boot_find.h): the
 * partitions in order, in each ext2/3/4 filesystem grub.cfg, then BLS
 * entries, then the /vmlinuz links. A configuration that is there but
 * broken is refused, not skipped: the image's own bootloader would not
 * boot it either. */
#include "disk/boot_find.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disk/boot_disk.h"

struct finder {
	const char *image;
	const char *label; /* "partition 2 of IMAGE", or IMAGE */
	struct boot_fs *fs;
	struct boot_found *out;
	struct nv_err *err;
};

/* Reads file into *data, trying "/boot" + file too when the configuration
 * came from /boot on this filesystem (BLS paths are relative to the boot
 * partition, which may be the root filesystem's /boot). */
static int read_boot_file(struct finder *f, const char *file, size_t max, uint8_t **data,
			  size_t *len, char used[BOOT_PATH_MAX])
{
	int r = boot_fs_read(f->fs, file, max, data, len, f->err);
	snprintf(used, BOOT_PATH_MAX, "%s", file);
	if (r == 1 && strncmp(file, "/boot/", 6) != 0 && strlen(file) + 5 < BOOT_PATH_MAX) {
		char alt[BOOT_PATH_MAX + 8];
		snprintf(alt, sizeof(alt), "/boot%s", file);
		r = boot_fs_read(f->fs, alt, max, data, len, f->err);
		if (r == 0)
			snprintf(used, BOOT_PATH_MAX, "%.255s", alt);
	}
	if (r == 1)
		return nv_err_input(f->err, "%s: %s: not found in the filesystem", f->label, file);
	return r;
}

/* GRUB's habit: each initrd starts 4-byte aligned; Linux skips the zeros. */
static int load_initrds(struct finder *f, const struct boot_entry *e)
{
	struct boot_found *o = f->out;
	for (size_t i = 0; i < e->n_initrds; i++) {
		uint8_t *data;
		size_t len;
		char used[BOOT_PATH_MAX];
		size_t at = (o->initrd_len + 3) & ~(size_t)3;
		if (read_boot_file(f, e->initrds[i], BOOT_INITRD_MAX, &data, &len, used) < 0)
			return -1;
		if (at > BOOT_INITRD_MAX || len > BOOT_INITRD_MAX - at) {
			free(data);
			return nv_err_input(f->err, "%s: initrds larger than %u MiB together", f->label,
					    BOOT_INITRD_MAX >> 20);
		}
		uint8_t *all = realloc(o->initrd, at + len ? at + len : 1);
		if (!all) {
			free(data);
			return nv_err_host(f->err, "%s: out of memory", f->label);
		}
		memset(all + o->initrd_len, 0, at - o->initrd_len);
		memcpy(all + at, data, len);
		free(data);
		o->initrd = all;
		o->initrd_len = at + len;
		if (i == 0)
			snprintf(o->initrd_path, sizeof(o->initrd_path), "%s", used);
	}
	return 0;
}

static int load_entry(struct finder *f, const struct boot_entry *e, const char *source)
{
	struct boot_found *o = f->out;
	snprintf(o->source, sizeof(o->source), "%s", source);
	snprintf(o->cmdline, sizeof(o->cmdline), "%s", e->cmdline);
	if (read_boot_file(f, e->kernel, BOOT_KERNEL_MAX, &o->kernel, &o->kernel_len,
			   o->kernel_path) < 0)
		return -1;
	return load_initrds(f, e);
}

/* 0 found, 1 no such configuration here, -1 refused. */
static int try_bls(struct finder *f, bool required)
{
	static const char *const dirs[] = { "/boot/loader/entries", "/loader/entries" };
	for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
		char **names;
		size_t n;
		int r = boot_fs_list(f->fs, dirs[d], ".conf", BOOT_BLS_ENTRIES_MAX, &names, &n, f->err);
		if (r < 0)
			return -1;
		if (r == 1)
			continue;
		char file[BOOT_PATH_MAX + 32], what[BOOT_PATH_MAX + 64], source[64];
		if (n > 0) {
			snprintf(file, sizeof(file), "%s/%.200s", dirs[d], names[0]);
			snprintf(what, sizeof(what), "BLS entry %.200s of %s", names[0], f->image);
			snprintf(source, sizeof(source), "BLS entry %.40s", names[0]);
		}
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		if (n == 0)
			continue;
		uint8_t *text;
		size_t len;
		r = boot_fs_read(f->fs, file, BOOT_CONFIG_MAX, &text, &len, f->err);
		if (r == 1)
			return nv_err_input(f->err, "%s: not a readable file", what);
		if (r < 0)
			return -1;
		struct boot_entry e;
		r = bls_entry_parse((const char *)text, len, what, &e, f->err);
		free(text);
		return r < 0 ? -1 : load_entry(f, &e, source);
	}
	if (required)
		return nv_err_input(f->err, "grub.cfg of %s: blscfg, and no BLS entries", f->image);
	return 1;
}

static int try_grub(struct finder *f)
{
	static const char *const cfgs[] = { "/boot/grub/grub.cfg", "/grub/grub.cfg" };
	for (size_t c = 0; c < sizeof(cfgs) / sizeof(cfgs[0]); c++) {
		uint8_t *text;
		size_t len;
		int r = boot_fs_read(f->fs, cfgs[c], BOOT_CONFIG_MAX, &text, &len, f->err);
		if (r == 1)
			continue;
		if (r < 0)
			return -1;
		char what[BOOT_PATH_MAX];
		snprintf(what, sizeof(what), "grub.cfg of %s", f->image);
		struct boot_entry e;
		if (grub_cfg_uses_blscfg((const char *)text, len)) {
			free(text);
			return try_bls(f, true);
		}
		r = grub_cfg_default_entry((const char *)text, len, what, &e, f->err);
		free(text);
		return r < 0 ? -1 : load_entry(f, &e, "grub.cfg");
	}
	return 1;
}

/* Debian's /vmlinuz and /initrd.img (or in /boot, with link_in_boot). */
static int try_links(struct finder *f)
{
	static const char *const kernels[] = { "/vmlinuz", "/boot/vmlinuz" };
	static const char *const initrds[] = { "/initrd.img", "/boot/initrd.img" };
	for (size_t i = 0; i < 2; i++) {
		if (!boot_fs_exists(f->fs, kernels[i]))
			continue;
		struct boot_entry e = { 0 };
		char uuid[37], arg[64];
		boot_fs_uuid(f->fs, uuid);
		snprintf(arg, sizeof(arg), "root=UUID=%s", uuid);
		snprintf(e.kernel, sizeof(e.kernel), "%s", kernels[i]);
		if (boot_entry_add_arg(&e, arg, f->label, f->err) < 0 ||
		    boot_entry_add_arg(&e, "ro", f->label, f->err) < 0)
			return -1;
		if (boot_fs_exists(f->fs, initrds[i]))
			boot_entry_add_initrd(&e, initrds[i], f->label, f->err);
		return load_entry(f, &e, i == 0 ? "/vmlinuz link" : "/boot/vmlinuz link");
	}
	return 1;
}

static int try_fs(struct finder *f)
{
	int r = try_grub(f);
	if (r == 1)
		r = try_bls(f, false);
	if (r == 1)
		r = try_links(f);
	return r;
}

static bool is_ext(const char *fstype)
{
	return !strcmp(fstype, "ext2") || !strcmp(fstype, "ext3") || !strcmp(fstype, "ext4");
}

int boot_find(const char *image, struct boot_found *out, struct nv_err *err)
{
	memset(out, 0, sizeof(*out));
	struct boot_disk *disk = boot_disk_open(image, err);
	if (!disk)
		return -1;
	struct boot_parts *parts = malloc(sizeof(*parts));
	if (!parts) {
		boot_disk_close(disk);
		return nv_err_host(err, "%s: out of memory", image);
	}
	int r = boot_disk_partitions(disk, parts, err);
	bool nothing = false; /* r == -1 then means "nothing bootable" */
	if (r == 0 && !parts->table && !is_ext(parts->parts[0].fstype)) {
		r = nv_err_input(err, "no partition table on %s", image);
		nothing = true;
	}
	/* The first ext filesystem libext2fs refused (corrupt), and the first
	 * Linux partition with no filesystem at all (never formatted). */
	struct nv_err corrupt = { 0 }, unformatted = { 0 };
	size_t ext_seen = 0;
	for (size_t i = 0; r == 0 && i < parts->n; i++) {
		const struct boot_part *p = &parts->parts[i];
		char label[600];
		if (parts->table)
			snprintf(label, sizeof(label), "partition %d of %s", p->number, image);
		else
			snprintf(label, sizeof(label), "%s", image);
		if (!is_ext(p->fstype)) {
			if (p->linux_data && !unformatted.kind)
				nv_err_input(&unformatted, "%s: not an ext2/3/4 filesystem", label);
			continue;
		}
		ext_seen++;
		struct finder f = { .image = image, .label = label, .out = out, .err = err };
		f.fs = boot_disk_open_fs(disk, p, label, corrupt.kind ? NULL : &corrupt);
		if (!f.fs)
			continue;
		out->partition = p->number;
		int found = try_fs(&f);
		boot_fs_close(f.fs);
		if (found <= 0) {
			r = found;
			goto done;
		}
	}
	if (r == 0) {
		nothing = !corrupt.kind;
		if (corrupt.kind)
			r = nv_err_input(err, "%s", corrupt.msg);
		else if (unformatted.kind)
			r = nv_err_input(err, "%s", unformatted.msg);
		else if (ext_seen == 0)
			r = nv_err_input(err, "%s: no ext2/3/4 filesystem in its %zu partitions", image,
					 parts->n);
		else
			r = nv_err_input(err, "%s: no /boot/grub/grub.cfg, BLS entry or /vmlinuz in its "
					      "ext2/3/4 filesystems", image);
	}
done:
	free(parts);
	boot_disk_close(disk);
	if (r < 0)
		boot_found_free(out);
	return r == 0 ? 0 : nothing ? 1 : -1;
}

void boot_found_free(struct boot_found *found)
{
	free(found->kernel);
	free(found->initrd);
	found->kernel = found->initrd = NULL;
	found->kernel_len = found->initrd_len = 0;
}
