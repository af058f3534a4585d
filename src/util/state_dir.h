/* Where nestvm keeps what outlives one command (switches now; VM definitions
 * later): $NESTVM_HOME if set; else, for root, /var/lib/nestvm; else
 * $XDG_STATE_HOME/nestvm or ~/.local/state/nestvm. */
#ifndef NESTVM_UTIL_STATE_DIR_H
#define NESTVM_UTIL_STATE_DIR_H

#include <stddef.h>

#include "util/err.h"

/* The state directory's path into out (not created). -1 if it does not fit,
 * no home can be found, or it exists but is not a directory of this user's
 * that only this user may write to (what is in it steers VMs and switches). */
int state_dir_path(char *out, size_t len, struct nv_err *err);
/* Path of <state dir>/<sub> created with mode 0700 (parents too); both
 * checked as state_dir_path checks the state directory. */
int state_dir_ensure(const char *sub, char *out, size_t len, struct nv_err *err);
/* 1..max of [A-Za-z0-9_.-], not starting with '.' or '-': safe as a file name. */
int state_name_valid(const char *name, size_t max);

#endif
