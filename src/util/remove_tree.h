/* Removing a folder and what it holds when part of it may belong to
 * someone else (a named VM's folder, whose user owns a sub-folder): every
 * step is relative to a folder already open, a symbolic link is removed and
 * never followed, and only folders the caller owns (its file-system or
 * effective uid) are entered, so that nobody can steer the removal
 * elsewhere by swapping a folder for a link under it. */
#ifndef NESTVM_UTIL_REMOVE_TREE_H
#define NESTVM_UTIL_REMOVE_TREE_H

/* What dir holds, depth folders down (0: its files only), then dir itself.
 * 0, or -1 with errno (what could go is gone). */
int remove_tree(const char *dir, int depth);
/* What dir holds, as remove_tree, but dir stays. */
int remove_tree_contents(const char *dir, int depth);

#endif
