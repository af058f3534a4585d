/* Holds a FIFO open for reading without ever reading it, its capacity cut
 * to SIZE bytes, so a writer blocks after SIZE bytes instead of 64 KiB (in
 * the lab every console byte is a nested VM exit):
 *   pipe_hold FIFO SIZE        (runs until killed) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: pipe_hold FIFO SIZE\n");
		return 2;
	}
	/* O_RDWR: no wait for a writer, and the pipe lives while we do. */
	int fd = open(argv[1], O_RDWR);
	if (fd < 0 || fcntl(fd, F_SETPIPE_SZ, atoi(argv[2])) < 0) {
		fprintf(stderr, "pipe_hold: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	for (;;)
		pause();
}
