/* run_as UID GID COMMAND [ARGS...]: COMMAND as that user and group, with
 * no supplementary groups. For tests that check what an unprivileged user
 * is told; util-linux's setpriv does the same where it is complete (the
 * lab's busybox setpriv is not). */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char *end;
	if (argc < 4) {
		fprintf(stderr, "usage: run_as UID GID COMMAND [ARGS...]\n");
		return 2;
	}
	unsigned long uid = strtoul(argv[1], &end, 10);
	if (*end) {
		fprintf(stderr, "run_as: bad uid '%s'\n", argv[1]);
		return 2;
	}
	unsigned long gid = strtoul(argv[2], &end, 10);
	if (*end) {
		fprintf(stderr, "run_as: bad gid '%s'\n", argv[2]);
		return 2;
	}
	if (setgroups(0, NULL) < 0 || setgid((gid_t)gid) < 0 || setuid((uid_t)uid) < 0) {
		fprintf(stderr, "run_as: %s\n", strerror(errno));
		return 2;
	}
	execvp(argv[3], argv + 3);
	fprintf(stderr, "run_as: %s: %s\n", argv[3], strerror(errno));
	return 127;
}
