/* One image file opened, sized and locked, its format found from its first
 * bytes and its backend attached; the chain is disk_image.c's business. */
#ifndef NESTVM_DISK_IMAGE_FILE_H
#define NESTVM_DISK_IMAGE_FILE_H

#include <stdbool.h>

#include "util/err.h"

struct disk_image;

/* Read-only images take a shared flock, writable ones an exclusive one.
 * The image (backing NULL), or NULL with err naming path. */
struct disk_image *image_file_open(const char *path, bool readonly, struct nv_err *err);
/* Closes this one image (not its backing images). NULL is fine. */
void image_file_close(struct disk_image *img);

/* Whether the open fd starts with qcow2's magic (else it is raw): 0, or
 * -1 (errno) when it cannot be read. */
int image_file_probe_fd(int fd, bool *qcow2);

#endif
