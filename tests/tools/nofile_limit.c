/* Sets another process's open-file limit (soft and hard), as util-linux's
 * `prlimit --pid PID --nofile=N` does (the lab's busybox has no prlimit):
 *   nofile_limit PID N */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: nofile_limit PID N\n");
		return 2;
	}
	struct rlimit r = { .rlim_cur = strtoul(argv[2], NULL, 10), .rlim_max = strtoul(argv[2], NULL, 10) };
	if (prlimit((pid_t)atoi(argv[1]), RLIMIT_NOFILE, &r, NULL) < 0) {
		fprintf(stderr, "nofile_limit: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
