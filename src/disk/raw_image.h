/* The raw format: the virtual disk is the file (or block device) itself,
 * byte for byte. */
#ifndef NESTVM_DISK_RAW_IMAGE_H
#define NESTVM_DISK_RAW_IMAGE_H

struct disk_image;

/* Makes the opened img a raw image: its size is the file's. */
void raw_image_attach(struct disk_image *img);

#endif
