/* libext2fs's I/O manager over nestvm's image layer (ext2_image_io.h),
 * shaped after e2fsprogs' lib/ext2fs/unix_io.c without its cache: the
 * image layer keeps its own (qcow2's L2 tables, the last compressed
 * cluster), and boot_find reads a few files once. */
#include "disk/ext2_image_io.h"

#include <ext2fs/ext2_err.h>
#include <ext2fs/ext2fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disk/disk_image.h"

#define NAME_PREFIX "nestvm-image:"

void ext2_image_io_name(const struct ext2_image_part *part, char *name, size_t len)
{
	snprintf(name, len, NAME_PREFIX "%p", (const void *)part);
}

static errcode_t image_open(const char *name, int flags, io_channel *channel)
{
	void *addr = NULL;
	if (!name || strncmp(name, NAME_PREFIX, strlen(NAME_PREFIX)) ||
	    sscanf(name + strlen(NAME_PREFIX), "%p", &addr) != 1 || !addr)
		return EXT2_ET_BAD_DEVICE_NAME;
	if (flags & IO_FLAG_RW)
		return EXT2_ET_RO_FILSYS;
	io_channel io = calloc(1, sizeof(*io));
	if (!io)
		return EXT2_ET_NO_MEMORY;
	io->name = strdup(name);
	if (!io->name) {
		free(io);
		return EXT2_ET_NO_MEMORY;
	}
	io->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	io->manager = ext2_image_io_manager;
	io->block_size = 1024;
	io->refcount = 1;
	io->private_data = addr;
	*channel = io;
	return 0;
}

static errcode_t image_close(io_channel io)
{
	if (--io->refcount > 0)
		return 0;
	free(io->name);
	free(io);
	return 0;
}

static errcode_t image_set_blksize(io_channel io, int blksize)
{
	if (blksize <= 0)
		return EXT2_ET_INVALID_ARGUMENT;
	io->block_size = blksize;
	return 0;
}

/* count > 0: blocks; count < 0: -count bytes (libext2fs's convention).
 * Bytes past the partition's end are an error, as past a file's end for
 * unix_io, the buffer zeroed where nothing was read. */
static errcode_t image_read_blk64(io_channel io, unsigned long long block, int count, void *data)
{
	const struct ext2_image_part *part = io->private_data;
	uint64_t len = count < 0 ? (uint64_t)-(int64_t)count : (uint64_t)count * (uint64_t)io->block_size;
	if (len == 0)
		return 0;
	if (block > part->size / (uint64_t)io->block_size) {
		memset(data, 0, len);
		return EXT2_ET_SHORT_READ;
	}
	uint64_t off = block * (uint64_t)io->block_size;
	uint64_t room = part->size - off;
	uint64_t want = len < room ? len : room;
	struct iovec iov = { .iov_base = data, .iov_len = want };
	if (disk_image_readv(part->img, &iov, 1, part->offset + off) < 0) {
		memset(data, 0, len);
		return EIO; /* a corrupt image or a failed read: the image layer says no more */
	}
	if (want < len) {
		memset((uint8_t *)data + want, 0, len - want);
		return EXT2_ET_SHORT_READ;
	}
	return 0;
}

static errcode_t image_read_blk(io_channel io, unsigned long block, int count, void *data)
{
	return image_read_blk64(io, block, count, data);
}

static errcode_t refuse_write_blk64(io_channel io, unsigned long long block, int count,
				    const void *data)
{
	return EXT2_ET_RO_FILSYS;
}

static errcode_t refuse_write_blk(io_channel io, unsigned long block, int count, const void *data)
{
	return EXT2_ET_RO_FILSYS;
}

static errcode_t refuse_write_byte(io_channel io, unsigned long offset, int count,
				   const void *data)
{
	return EXT2_ET_RO_FILSYS;
}

static errcode_t refuse_blocks(io_channel io, unsigned long long block, unsigned long long count)
{
	return EXT2_ET_RO_FILSYS;
}

static errcode_t nothing_to_flush(io_channel io)
{
	return 0;
}

static errcode_t no_options(io_channel io, const char *option, const char *arg)
{
	return EXT2_ET_INVALID_ARGUMENT;
}

static errcode_t no_readahead(io_channel io, unsigned long long block, unsigned long long count)
{
	return 0;
}

static struct struct_io_manager manager = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "nestvm image I/O manager",
	.open = image_open,
	.close = image_close,
	.set_blksize = image_set_blksize,
	.read_blk = image_read_blk,
	.write_blk = refuse_write_blk,
	.flush = nothing_to_flush,
	.write_byte = refuse_write_byte,
	.set_option = no_options,
	.read_blk64 = image_read_blk64,
	.write_blk64 = refuse_write_blk64,
	.discard = refuse_blocks,
	.cache_readahead = no_readahead,
	.zeroout = refuse_blocks,
};

io_manager ext2_image_io_manager = &manager;
