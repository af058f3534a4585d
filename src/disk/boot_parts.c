/* Partitions and their filesystem types through libblkid (boot_parts.h). */
#include "disk/boot_parts.h"

#include <blkid/blkid.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* The filesystem type libblkid finds in [offset, offset+size) of fd. */
static void probe_fstype(int fd, uint64_t offset, uint64_t size, char *type, size_t type_size)
{
	type[0] = '\0';
	blkid_probe pr = blkid_new_probe();
	if (!pr)
		return;
	if (blkid_probe_set_device(pr, fd, (blkid_loff_t)offset, (blkid_loff_t)size) == 0) {
		blkid_probe_enable_superblocks(pr, 1);
		blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
		blkid_probe_enable_partitions(pr, 0);
		const char *v;
		if (blkid_do_safeprobe(pr) == 0 && blkid_probe_lookup_value(pr, "TYPE", &v, NULL) == 0)
			snprintf(type, type_size, "%s", v);
	}
	blkid_free_probe(pr);
}

static bool is_linux_data(blkid_partition par)
{
	const char *t = blkid_partition_get_type_string(par);
	if (t) /* GPT's "Linux filesystem" and the root partition types all mean Linux data */
		return strcasecmp(t, "0fc63daf-8483-4772-8e79-3d69d8477de4") == 0 ||
		       strcasecmp(t, "4f68bce3-e8cd-4db1-96e7-fbcaf984b709") == 0;
	return blkid_partition_get_type(par) == 0x83;
}

static int list_partitions(int fd, blkid_partlist ls, uint64_t disk_size, struct boot_parts *out)
{
	int n = blkid_partlist_numof_partitions(ls);
	for (int i = 0; i < n && out->n < BOOT_PARTS_MAX; i++) {
		blkid_partition par = blkid_partlist_get_partition(ls, i);
		if (!par || blkid_partition_is_extended(par))
			continue;
		blkid_loff_t start = blkid_partition_get_start(par);
		blkid_loff_t len = blkid_partition_get_size(par);
		/* Sectors of 512 bytes; a table may claim anything. */
		if (start < 0 || len <= 0 || (uint64_t)start > disk_size / 512 ||
		    (uint64_t)len > disk_size / 512 - (uint64_t)start)
			continue;
		struct boot_part *p = &out->parts[out->n++];
		p->number = blkid_partition_get_partno(par);
		p->offset = (uint64_t)start * 512;
		p->size = (uint64_t)len * 512;
		p->linux_data = is_linux_data(par);
		probe_fstype(fd, p->offset, p->size, p->fstype, sizeof(p->fstype));
	}
	return 0;
}

/* A probe of fd's partition table; NULL when libblkid cannot probe it. */
static blkid_probe table_probe(int fd)
{
	blkid_probe pr = blkid_new_probe();
	if (!pr)
		return NULL;
	if (blkid_probe_set_device(pr, fd, 0, 0) != 0) {
		blkid_free_probe(pr);
		return NULL;
	}
	blkid_probe_enable_superblocks(pr, 0);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
	return pr;
}

#define MIB (1ull << 20)

/* Fills [off, off + MIB) clipped to the disk. */
static int fill_mib(boot_parts_fill fill, void *ctx, uint64_t off, uint64_t disk_size,
		    struct nv_err *err)
{
	if (off >= disk_size)
		return 0;
	return fill(ctx, off, disk_size - off < MIB ? disk_size - off : MIB, err);
}

/* Where the table says partitions are, their bytes are copied in; that may
 * show more (an extended partition's logical ones): again until the count
 * stops growing. The probe of the last round, or NULL with err. */
static blkid_probe filled_probe(int fd, const char *name, boot_parts_fill fill, void *ctx,
				struct nv_err *err)
{
	int before = -1;
	for (int round = 0;; round++) {
		blkid_probe pr = table_probe(fd);
		if (!pr) {
			nv_err_host(err, "%s: libblkid cannot probe it", name);
			return NULL;
		}
		uint64_t disk_size = (uint64_t)blkid_probe_get_size(pr);
		if (round == 0 && (fill_mib(fill, ctx, 0, disk_size, err) < 0 ||
				   fill_mib(fill, ctx, disk_size > MIB ? disk_size - MIB : 0, disk_size,
					    err) < 0)) {
			blkid_free_probe(pr);
			return NULL;
		}
		blkid_partlist ls = blkid_probe_get_partitions(pr);
		int n = ls ? blkid_partlist_numof_partitions(ls) : 0;
		if (round > 0 && (n <= before || round > BOOT_PARTS_MAX))
			return pr;
		for (int i = 0; i < n; i++) {
			blkid_partition par = blkid_partlist_get_partition(ls, i);
			blkid_loff_t start = par ? blkid_partition_get_start(par) : -1;
			blkid_loff_t len = par ? blkid_partition_get_size(par) : -1;
			if (start < 0 || len <= 0 || (uint64_t)start > disk_size / 512 ||
			    (uint64_t)len > disk_size / 512 - (uint64_t)start)
				continue;
			if (fill_mib(fill, ctx, (uint64_t)start * 512, disk_size, err) < 0 ||
			    fill_mib(fill, ctx, (uint64_t)(start + len) * 512, disk_size, err) < 0) {
				blkid_free_probe(pr);
				return NULL;
			}
		}
		before = n;
		blkid_free_probe(pr);
	}
}

int boot_parts_probe_fd(int fd, const char *name, boot_parts_fill fill, void *ctx,
			struct boot_parts *out, struct nv_err *err)
{
	memset(out, 0, sizeof(*out));
	blkid_probe pr = fill ? filled_probe(fd, name, fill, ctx, err) : table_probe(fd);
	if (!pr)
		return fill ? -1 : nv_err_host(err, "%s: libblkid cannot probe it", name);
	uint64_t disk_size = (uint64_t)blkid_probe_get_size(pr);
	blkid_partlist ls = blkid_probe_get_partitions(pr);
	if (ls && blkid_partlist_numof_partitions(ls) > 0) {
		out->table = true;
		list_partitions(fd, ls, disk_size, out);
	} else {
		struct boot_part *p = &out->parts[out->n++];
		p->size = disk_size;
		probe_fstype(fd, 0, disk_size, p->fstype, sizeof(p->fstype));
	}
	blkid_free_probe(pr);
	return 0;
}

int boot_parts_probe(const char *path, struct boot_parts *out, struct nv_err *err)
{
	memset(out, 0, sizeof(*out));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return nv_err_input(err, "%s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))) {
		close(fd);
		return nv_err_input(err, "%s: not a disk image file", path);
	}
	int r = boot_parts_probe_fd(fd, path, NULL, NULL, out, err);
	close(fd);
	return r;
}
