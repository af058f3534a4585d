/* Where a switch lives: <state dir>/switches/<name>/ and its files
 * (config.json, port.sock, control.sock, daemon.log). */
#ifndef NESTVM_NET_SWITCH_PATH_H
#define NESTVM_NET_SWITCH_PATH_H

#include <stddef.h>

#include "util/err.h"

/* <state dir>/switches/<name>/<file> (or the folder when file is NULL)
 * into out. An invalid name or a path too long is NV_ERR_INPUT. */
int switch_path(const char *name, const char *file, char *out, size_t len, struct nv_err *err);

#endif
