/* Reading files of an ext2/3/4 filesystem with libext2fs (boot_fs.h). A
 * raw image is opened by libext2fs's own Unix I/O manager with an offset
 * (its "offset=" option), read-only; any other through nestvm's image
 * layer (ext2_image_io.h). */
#include "disk/boot_fs.h"

#include <errno.h>
#include <et/com_err.h>
#include <ext2fs/ext2_err.h>
#include <ext2fs/ext2fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disk/ext2_image_io.h"

struct boot_fs {
	ext2_filsys fs;
	struct ext2_image_part *part; /* read through the image layer; NULL: a raw file */
	char what[256];
};

static pthread_once_t error_table_once = PTHREAD_ONCE_INIT;

static void load_error_table(void)
{
	initialize_ext2_error_table(); /* com_err's text for libext2fs's codes */
}

static const char *ext2_says(errcode_t code)
{
	pthread_once(&error_table_once, load_error_table);
	return error_message(code);
}

/* A filesystem with only its superblock read: is it inside its partition? */
static int check_size(const char *name, const char *opts, io_manager io, uint64_t size,
		      const char *what, struct nv_err *err)
{
	ext2_filsys fs;
	errcode_t e = ext2fs_open2(name, opts, EXT2_FLAG_64BITS | EXT2_FLAG_SUPER_ONLY, 0, 0, io, &fs);
	if (e)
		return nv_err_input(err, "%s: not an ext2/3/4 filesystem (%s)", what, ext2_says(e));
	uint64_t bytes = ext2fs_blocks_count(fs->super) * (uint64_t)fs->blocksize;
	int fits = bytes / fs->blocksize == ext2fs_blocks_count(fs->super) && bytes <= size;
	ext2fs_close_free(&fs);
	if (!fits)
		return nv_err_input(err, "%s: the filesystem claims more blocks than its partition holds",
				    what);
	return 0;
}

static struct boot_fs *open_with(const char *name, const char *opts, io_manager io, uint64_t size,
				 const char *what, struct nv_err *err)
{
	pthread_once(&error_table_once, load_error_table);
	if (check_size(name, opts, io, size, what, err) < 0)
		return NULL;
	struct boot_fs *bf = calloc(1, sizeof(*bf));
	if (!bf) {
		nv_err_host(err, "%s: out of memory", what);
		return NULL;
	}
	snprintf(bf->what, sizeof(bf->what), "%s", what);
	errcode_t e = ext2fs_open2(name, opts, EXT2_FLAG_64BITS, 0, 0, io, &bf->fs);
	if (e) {
		nv_err_input(err, "%s: not an ext2/3/4 filesystem (%s)", what, ext2_says(e));
		free(bf);
		return NULL;
	}
	return bf;
}

struct boot_fs *boot_fs_open(const char *path, uint64_t offset, uint64_t size, const char *what,
			     struct nv_err *err)
{
	char opts[64];
	snprintf(opts, sizeof(opts), "offset=%llu", (unsigned long long)offset);
	return open_with(path, opts, unix_io_manager, size, what, err);
}

struct boot_fs *boot_fs_open_image(struct disk_image *img, uint64_t offset, uint64_t size,
				   const char *what, struct nv_err *err)
{
	struct boot_fs *bf = NULL;
	struct ext2_image_part *part = malloc(sizeof(*part));
	if (!part) {
		nv_err_host(err, "%s: out of memory", what);
		return NULL;
	}
	*part = (struct ext2_image_part){ .img = img, .offset = offset, .size = size };
	char name[64];
	ext2_image_io_name(part, name, sizeof(name));
	bf = open_with(name, NULL, ext2_image_io_manager, size, what, err);
	if (!bf)
		free(part);
	else
		bf->part = part;
	return bf;
}

void boot_fs_close(struct boot_fs *bf)
{
	if (!bf)
		return;
	ext2fs_close_free(&bf->fs);
	free(bf->part); /* after the channel that reads through it */
	free(bf);
}

void boot_fs_uuid(const struct boot_fs *bf, char out[37])
{
	const unsigned char *u = bf->fs->super->s_uuid;
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
		 u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
		 u[15]);
}

/* 0 with *ino, 1 when missing, -1 with err. */
static int lookup(struct boot_fs *bf, const char *file, ext2_ino_t *ino, struct nv_err *err)
{
	errcode_t e = ext2fs_namei_follow(bf->fs, EXT2_ROOT_INO, EXT2_ROOT_INO, file, ino);
	if (e == EXT2_ET_FILE_NOT_FOUND || e == EXT2_ET_NO_DIRECTORY)
		return 1;
	if (e)
		return nv_err_input(err, "%s: %s: %s", bf->what, file, ext2_says(e));
	return 0;
}

static int read_all(struct boot_fs *bf, ext2_ino_t ino, const char *file, uint8_t *buf,
		    size_t len, struct nv_err *err)
{
	ext2_file_t f;
	errcode_t e = ext2fs_file_open(bf->fs, ino, 0, &f);
	if (e)
		return nv_err_input(err, "%s: %s: %s", bf->what, file, ext2_says(e));
	size_t got = 0;
	while (got < len) {
		unsigned int chunk = len - got > (1u << 20) ? 1u << 20 : (unsigned int)(len - got);
		unsigned int n = 0;
		e = ext2fs_file_read(f, buf + got, chunk, &n);
		if (e || n == 0)
			break;
		got += n;
	}
	ext2fs_file_close(f);
	if (e)
		return nv_err_input(err, "%s: %s: %s", bf->what, file, ext2_says(e));
	if (got != len)
		return nv_err_input(err, "%s: %s: shorter than its size", bf->what, file);
	return 0;
}

int boot_fs_read(struct boot_fs *bf, const char *file, size_t max, uint8_t **data, size_t *len,
		 struct nv_err *err)
{
	ext2_ino_t ino;
	int r = lookup(bf, file, &ino, err);
	if (r)
		return r;
	struct ext2_inode inode;
	errcode_t e = ext2fs_read_inode(bf->fs, ino, &inode);
	if (e)
		return nv_err_input(err, "%s: %s: %s", bf->what, file, ext2_says(e));
	if (!LINUX_S_ISREG(inode.i_mode))
		return nv_err_input(err, "%s: %s: not a regular file", bf->what, file);
	uint64_t size = EXT2_I_SIZE(&inode);
	if (size > max)
		return nv_err_input(err, "%s: %s: larger than %zu MiB", bf->what, file, max >> 20);
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return nv_err_host(err, "%s: %s: out of memory", bf->what, file);
	if (read_all(bf, ino, file, buf, size, err) < 0) {
		free(buf);
		return -1;
	}
	*data = buf;
	*len = size;
	return 0;
}

bool boot_fs_exists(struct boot_fs *bf, const char *file)
{
	ext2_ino_t ino;
	return ext2fs_namei(bf->fs, EXT2_ROOT_INO, EXT2_ROOT_INO, file, &ino) == 0;
}

struct dir_list {
	const char *suffix;
	size_t max, n;
	char **names;
	int overflow;
};

static int collect(ext2_ino_t dir, int entry, struct ext2_dir_entry *dirent, int offset, int blocksize, char *buf,
		   void *priv)
{
	struct dir_list *l = priv;
	size_t len = ext2fs_dirent_name_len(dirent), sl = strlen(l->suffix);
	if (len <= sl || memcmp(dirent->name + len - sl, l->suffix, sl) != 0 ||
	    memchr(dirent->name, '\0', len) || memchr(dirent->name, '/', len))
		return 0;
	if (l->n >= l->max) {
		l->overflow = 1;
		return DIRENT_ABORT;
	}
	char *name = strndup(dirent->name, len);
	if (!name) {
		l->overflow = -1;
		return DIRENT_ABORT;
	}
	l->names[l->n++] = name;
	return 0;
}

static int newest_first(const void *a, const void *b)
{
	return strverscmp(*(char *const *)b, *(char *const *)a);
}

int boot_fs_list(struct boot_fs *bf, const char *dir, const char *suffix, size_t max,
		 char ***names, size_t *n, struct nv_err *err)
{
	ext2_ino_t ino;
	int r = lookup(bf, dir, &ino, err);
	if (r)
		return r;
	struct dir_list l = { .suffix = suffix, .max = max, .names = calloc(max ? max : 1, sizeof(char *)) };
	if (!l.names)
		return nv_err_host(err, "%s: out of memory", bf->what);
	errcode_t e = ext2fs_dir_iterate2(bf->fs, ino, 0, NULL, collect, &l);
	if (e || l.overflow) {
		for (size_t i = 0; i < l.n; i++)
			free(l.names[i]);
		free(l.names);
		if (e == EXT2_ET_NO_DIRECTORY)
			return 1;
		if (e)
			return nv_err_input(err, "%s: %s: %s", bf->what, dir, ext2_says(e));
		if (l.overflow < 0)
			return nv_err_host(err, "%s: out of memory", bf->what);
		return nv_err_input(err, "%s: %s: more than %zu entries", bf->what, dir, max);
	}
	qsort(l.names, l.n, sizeof(char *), newest_first);
	*names = l.names;
	*n = l.n;
	return 0;
}
