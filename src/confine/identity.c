#include "confine/identity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/user_db.h"

static struct identity target;
static bool target_set;

static int parse_id(const char *s, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v >= 0xffffffffUL || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

int identity_parse(const char *spec, struct identity *out, struct nv_err *err)
{
	memset(out, 0, sizeof(*out));
	if (!spec || !*spec || strlen(spec) >= sizeof(out->name))
		return nv_err_input(err, "--run-as needs a user (a name, UID or UID:GID)");
	snprintf(out->name, sizeof(out->name), "%s", spec);
	unsigned long uid, gid;
	const char *colon = strchr(spec, ':');
	if (spec[0] >= '0' && spec[0] <= '9') {
		char num[32];
		size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
		if (n >= sizeof(num))
			return nv_err_input(err, "--run-as '%s' is not a user, UID or UID:GID", spec);
		memcpy(num, spec, n);
		num[n] = '\0';
		if (parse_id(num, &uid) < 0 || (colon && parse_id(colon + 1, &gid) < 0))
			return nv_err_input(err, "--run-as '%s' is not a user, UID or UID:GID", spec);
		uid_t u;
		gid_t g;
		if (!colon) /* no entry: its own number as its group */
			gid = user_db_find(NULL, (uid_t)uid, &u, &g, NULL, 0) ? g : uid;
	} else {
		if (colon)
			return nv_err_input(err, "--run-as '%s': give a user name, or UID:GID in numbers", spec);
		uid_t u;
		gid_t g;
		if (!user_db_find(spec, 0, &u, &g, NULL, 0))
			return nv_err_input(err, "--run-as '%s': no such user in /etc/passwd (useradd --system "
					    "--no-create-home %s, or give UID:GID)", spec, spec);
		uid = u;
		gid = g;
	}
	if (uid == 0)
		return nv_err_input(err, "--run-as '%s' is root: name a dedicated user, which is the point", spec);
	out->uid = (uid_t)uid;
	out->gid = (gid_t)gid;
	return 0;
}

int identity_may_become(const struct identity *who, struct nv_err *err)
{
	if (geteuid() != 0)
		return nv_err_input(err, "--run-as %s needs root: nestvm already runs as you (uid %u)", who->name,
				    (unsigned)geteuid());
	return 0;
}

int identity_set(const struct identity *who, struct nv_err *err)
{
	if (identity_may_become(who, err) < 0)
		return -1;
	target = *who;
	target_set = true;
	return 0;
}

/* The raw calls: they change the calling thread only (see the header). */
static int become(uid_t uid, gid_t gid)
{
	if (syscall(SYS_setgroups, 1, &gid) < 0 || syscall(SYS_setresgid, gid, gid, gid) < 0 ||
	    syscall(SYS_setresuid, uid, uid, uid) < 0)
		return -1;
	return 0;
}

bool identity_is_set(void)
{
	return target_set;
}

int identity_assume(struct nv_err *err)
{
	if (!target_set)
		return 0;
	if (getuid() == target.uid && geteuid() == target.uid && getgid() == target.gid &&
	    getegid() == target.gid)
		return 0; /* started by a thread that had become the user */
	if (become(target.uid, target.gid) < 0)
		return nv_err_host(err, "cannot become user %s (uid %u, gid %u): %s", target.name,
				   (unsigned)target.uid, (unsigned)target.gid, strerror(errno));
	return 0;
}

bool identity_can_write(const struct identity *who, const char *dir)
{
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0)
		_exit(become(who->uid, who->gid) == 0 && access(dir, W_OK | X_OK) == 0 ? 0 : 1);
	int ws;
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return false;
	return WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
}

int identity_fs_enter(const struct identity *who, struct identity_fs_saved *saved, struct nv_err *err)
{
	if (geteuid() != 0)
		return nv_err_input(err, "acting as user %s needs root", who->name);
	saved->ngroups = getgroups((int)(sizeof(saved->groups) / sizeof(saved->groups[0])), saved->groups);
	if (saved->ngroups < 0)
		return nv_err_host(err, "getgroups: %s", strerror(errno));
	saved->fsuid = (uid_t)setfsuid((uid_t)-1);
	saved->fsgid = (gid_t)setfsgid((gid_t)-1);
	/* The raw call: glibc's setgroups would change every thread. */
	if (syscall(SYS_setgroups, 1, &who->gid) < 0)
		return nv_err_host(err, "cannot take user %s's groups: %s", who->name, strerror(errno));
	setfsgid(who->gid);
	setfsuid(who->uid);
	/* setfsuid reports no error: see that it took. */
	if ((uid_t)setfsuid((uid_t)-1) != who->uid || (gid_t)setfsgid((gid_t)-1) != who->gid) {
		identity_fs_leave(saved);
		return nv_err_host(err, "cannot act as user %s (uid %u)", who->name, (unsigned)who->uid);
	}
	return 0;
}

void identity_fs_leave(const struct identity_fs_saved *saved)
{
	setfsuid(saved->fsuid);
	setfsgid(saved->fsgid);
	syscall(SYS_setgroups, saved->ngroups, saved->groups);
}
