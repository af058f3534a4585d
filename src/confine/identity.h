/* A dedicated user for nestvm's processes when root starts them (--run-as,
 * in the manner of Firecracker's jailer): once a process is set up (its
 * files open, its sockets bound, its devices made), each of its threads
 * becomes that user and group, with no supplementary groups, before it
 * loads its seccomp filter. Linux keeps credentials per thread, and
 * glibc's setresuid would signal every thread of the process to follow,
 * which filtered threads cannot: each thread changes its own with the
 * raw system calls (confine_thread does it), and a thread started after
 * its creator changed starts as that user already. Leaving root also
 * clears the process's capabilities and makes it non-dumpable, so other
 * processes of the user cannot trace it. */
#ifndef NESTVM_CONFINE_IDENTITY_H
#define NESTVM_CONFINE_IDENTITY_H

#include <stdbool.h>
#include <sys/types.h>

#include "util/err.h"

struct identity {
	uid_t uid;
	gid_t gid;
	char name[64]; /* as given, for messages */
};

/* USER (a name in the password database: its uid and primary group),
 * UID or UID:GID. Root (uid 0) is refused: the point is to leave it. 0,
 * or -1 with err naming the problem. */
int identity_parse(const char *spec, struct identity *out, struct nv_err *err);
/* Can this process make its threads who (is it root)? 0, or -1 with err
 * ("--run-as USER needs root: ..."). */
int identity_may_become(const struct identity *who, struct nv_err *err);
/* The process's threads become who as they are confined. Only root can:
 * -1 with err otherwise. */
int identity_set(const struct identity *who, struct nv_err *err);
/* Was one set? */
bool identity_is_set(void);
/* The calling thread takes the identity set, if any and not yet taken. */
int identity_assume(struct nv_err *err);
/* Can who write in directory dir (checked by a child that becomes who)? */
bool identity_can_write(const struct identity *who, const char *dir);

/* Root acting on files a dedicated user owns (a named VM's own folder):
 * the calling thread's file-system identity (fsuid, fsgid, groups)
 * becomes who's, so that a symbolic link or a folder the user swapped in
 * leads root nowhere the user could not go itself; leave restores root's.
 * Other threads are untouched. Only root can: -1 with err otherwise. */
struct identity_fs_saved {
	uid_t fsuid;
	gid_t fsgid;
	int ngroups;
	gid_t groups[64];
};
int identity_fs_enter(const struct identity *who, struct identity_fs_saved *saved, struct nv_err *err);
void identity_fs_leave(const struct identity_fs_saved *saved);

#endif
