/* An ext2/3/4 filesystem inside a disk image, read-only through libext2fs
 * (e2fsprogs' library, the one e2fsck and debugfs read damaged filesystems
 * with). Paths resolve inside this filesystem only: libext2fs follows
 * symlinks from the filesystem's own root (an absolute link, or .. from the
 * root, stays in it) and gives up after 8 nested links. */
#ifndef NESTVM_DISK_BOOT_FS_H
#define NESTVM_DISK_BOOT_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct boot_fs;
struct disk_image;

/* Opens the filesystem at [offset, offset+size) of the raw image at path;
 * what names it in messages ("partition 2 of disk.img"). A superblock that
 * claims more blocks than the partition holds is refused before anything
 * else is read. NULL with err. */
struct boot_fs *boot_fs_open(const char *path, uint64_t offset, uint64_t size, const char *what,
			     struct nv_err *err);
/* The same for a partition of img read through nestvm's image layer
 * (qcow2, a chain of overlays); img must outlive the filesystem. */
struct boot_fs *boot_fs_open_image(struct disk_image *img, uint64_t offset, uint64_t size,
				   const char *what, struct nv_err *err);
void boot_fs_close(struct boot_fs *fs); /* NULL is fine */

/* The filesystem's UUID as text (root=UUID=...). */
void boot_fs_uuid(const struct boot_fs *fs, char out[37]);

/* Reads the regular file at path (symlinks followed) whole into a new
 * buffer: 0 with *data (free it) and *len; 1 when path does not exist
 * (nothing said: callers look in more than one place); -1 with err for
 * anything else (not a regular file, larger than max, unreadable). */
int boot_fs_read(struct boot_fs *fs, const char *file, size_t max, uint8_t **data, size_t *len,
		 struct nv_err *err);

/* Whether path names something, its last symlink not followed (a link
 * that leads nowhere exists). */
bool boot_fs_exists(struct boot_fs *fs, const char *file);

/* The names in directory dir ending in suffix, at most max of them (more
 * are refused), sorted newest first by version order (strverscmp), as
 * GRUB's blscfg orders BLS entries. 0 with *names (free each and the
 * array) and *n; 1 when dir does not exist; -1 with err. */
int boot_fs_list(struct boot_fs *fs, const char *dir, const char *suffix, size_t max,
		 char ***names, size_t *n, struct nv_err *err);

#endif
