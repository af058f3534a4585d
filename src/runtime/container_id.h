/* A container's ID, as this runtime takes it: 1-128 of A-Z a-z 0-9 _ . -,
 * not starting with '.' (so neither "." nor ".." nor a hidden name: the ID
 * is a folder's name under the root). */
#ifndef NESTVM_RUNTIME_CONTAINER_ID_H
#define NESTVM_RUNTIME_CONTAINER_ID_H

#include <stdbool.h>

#define CONTAINER_ID_MAX 128

bool container_id_valid(const char *id);

#endif
