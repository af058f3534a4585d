/* nestvm-exit STATUS: end the VM, reporting STATUS (0..255) to the VMM.
 *
 * Writes STATUS to I/O port 0xf4, the "debug exit" port: the nestvm VMM
 * ends the VM with that exit status, QEMU's
 * -device isa-debug-exit,iobase=0xf4,iosize=0x04 exits with (STATUS<<1)|1.
 * The guest kernel has no /dev/port, hence ioperm + outb. Where nothing
 * listens on the port, it falls back to powering off.
 * Built static by guest/build (gcc -static -Os). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/reboot.h>
#include <termios.h>
#include <unistd.h>

#define DEBUG_EXIT_PORT 0xf4

/* Wait until the serial console has sent every byte: the VM ends at the
 * outb, and output still queued in the tty would be lost. */
static void drain_console(void)
{
	int fd = open("/dev/console", O_WRONLY | O_NOCTTY);
	if (fd >= 0) {
		tcdrain(fd);
		close(fd);
	}
	if (isatty(1))
		tcdrain(1);
	if (isatty(2))
		tcdrain(2);
}

int main(int argc, char **argv)
{
	char *end;
	long status = 0;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: nestvm-exit [STATUS]\n");
		return 2;
	}
	if (argc == 2) {
		errno = 0;
		status = strtol(argv[1], &end, 10);
		if (errno || *end || end == argv[1] || status < 0 || status > 255) {
			fprintf(stderr, "nestvm-exit: bad status '%s' (0..255)\n", argv[1]);
			return 2;
		}
	}
	sync();
	drain_console();
	if (ioperm(DEBUG_EXIT_PORT, 1, 1) == 0)
		outb((unsigned char)status, DEBUG_EXIT_PORT);
	else
		fprintf(stderr, "nestvm-exit: ioperm: %s\n", strerror(errno));
	/* Still running: nothing handled the port. */
	reboot(RB_POWER_OFF);
	fprintf(stderr, "nestvm-exit: reboot(RB_POWER_OFF): %s\n", strerror(errno));
	return 1;
}
