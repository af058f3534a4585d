/* hold_lock FILE: takes an exclusive flock on FILE (created if missing),
 * prints "locked" and holds it until killed. Tests use it to stand in for
 * a VMM that holds vmm.lock; it needs no util-linux flock(1). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <errno.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: hold_lock FILE\n");
		return 2;
	}
	int fd = open(argv[1], O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		fprintf(stderr, "hold_lock: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	printf("locked\n");
	fflush(stdout);
	for (;;)
		pause();
}
