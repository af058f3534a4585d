/* The shell scripts nestvm hands long work to (lab/run, guest/build, ...):
 * found beside the binary's source tree, or where make install and the
 * Debian package put them (PREFIX/lib/nestvm, the tree's layout kept so
 * that they find each other as they do in the tree). */
#ifndef NESTVM_CLI_HELPER_SCRIPTS_H
#define NESTVM_CLI_HELPER_SCRIPTS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

/* The script at REL in the tree ("lab/run"): BIN/../REL for the nestvm in
 * BIN (build/nestvm of a tree), else BIN/../lib/nestvm/REL (installed;
 * *installed set). 0 if found executable, -1 with out naming where it
 * looked last. */
int helper_script_find(const char *rel, char *out, size_t size, bool *installed);

/* Before running installed scripts: they write under this user's state
 * directory, made private if new (NESTVM_BUILD_DIR), and carry this nestvm
 * (NESTVM_EXE), unless the environment names others. */
int helper_script_env(struct nv_err *err);

#endif
