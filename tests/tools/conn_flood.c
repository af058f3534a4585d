/* Connects to a Unix SOCK_SEQPACKET socket as often as it lets us (up to N
 * times, without a word), holds the connections until stdin closes:
 *   conn_flood PATH N
 * stdout: "held K" once connecting stops (the listener's queue is full). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: conn_flood PATH N\n");
		return 2;
	}
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", argv[1]);
	int n = atoi(argv[2]), held = 0;
	for (int i = 0; i < n; i++) {
		int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0);
		if (fd < 0)
			break;
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			close(fd);
			if (errno == EAGAIN) /* the queue is full: try a little later */
				usleep(10000);
			continue;
		}
		held++;
	}
	printf("held %d\n", held);
	fflush(stdout);
	char c;
	while (read(0, &c, 1) > 0)
		;
	return 0;
}
