/* seqpacket_call SOCKET MESSAGE...: for each MESSAGE, a new connection to
 * the AF_UNIX SOCK_SEQPACKET socket, MESSAGE sent as one packet, and the
 * one-packet reply printed on a line. For tests of a VMM's control.sock
 * (python3 or socat would do it; the lab has neither). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: seqpacket_call SOCKET MESSAGE...\n");
		return 2;
	}
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "seqpacket_call: socket path too long\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	for (int i = 2; i < argc; i++) {
		char reply[65536];
		int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    send(fd, argv[i], strlen(argv[i]), 0) < 0) {
			fprintf(stderr, "seqpacket_call: %s: %s\n", argv[1], strerror(errno));
			return 1;
		}
		ssize_t n = recv(fd, reply, sizeof(reply) - 1, 0);
		close(fd);
		if (n < 0) {
			fprintf(stderr, "seqpacket_call: %s: %s\n", argv[1], strerror(errno));
			return 1;
		}
		reply[n] = '\0';
		printf("%s\n", reply);
	}
	return 0;
}
