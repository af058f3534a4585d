/* A libext2fs I/O manager that reads one partition of a disk image through
 * nestvm's image layer (disk/disk_image.h), for images libext2fs's own
 * Unix I/O manager cannot read as they lie in their file (qcow2, and
 * nestvm's chains of overlays). Read-only: every write is refused. */
#ifndef NESTVM_DISK_EXT2_IMAGE_IO_H
#define NESTVM_DISK_EXT2_IMAGE_IO_H

#include <stddef.h>
#include <stdint.h>

#include <ext2fs/ext2fs.h> /* ext2_io.h needs its errcode_t first */

struct disk_image;

/* What an open of ext2_image_io_manager reads: [offset, offset + size) of
 * img, which must outlive the channel. */
struct ext2_image_part {
	struct disk_image *img;
	uint64_t offset, size;
};

extern io_manager ext2_image_io_manager;

/* The name ext2fs_open2 takes for part with ext2_image_io_manager (it
 * carries part's address: the manager's open has only a name to go on). */
void ext2_image_io_name(const struct ext2_image_part *part, char *name, size_t len);

#endif
