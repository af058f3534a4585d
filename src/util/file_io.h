/* Whole small files (VM records, switch configs, later state headers):
 * read with a size bound, so a huge or endless file is refused instead of
 * filling memory; written atomically, so a crash leaves the old file or the
 * new one, never half of either. */
#ifndef NESTVM_UTIL_FILE_IO_H
#define NESTVM_UTIL_FILE_IO_H

#include <stddef.h>

/* path's bytes into a malloc()ed, NUL-terminated *out (free it) and *len.
 * 0, or -errno: the open or read failed, -EFBIG at max bytes or more,
 * -ENOMEM. */
int file_read_bounded(const char *path, size_t max, char **out, size_t *len);

/* data as path: path.tmp.<pid>, written, fsync'd, renamed over path, and
 * the directory fsync'd. 0, or -errno (the temporary file is removed). */
int file_write_atomic(const char *path, const void *data, size_t len);

/* text and a newline as path, atomically (as file_write_atomic). */
int file_write_text(const char *path, const char *text);

#endif
