#include "vmm/terminal.h"

#include <unistd.h>

int terminal_enter_raw(struct terminal *t, int fd)
{
	t->fd = fd;
	t->raw = false;
	if (!isatty(fd) || tcgetattr(fd, &t->saved) < 0)
		return -1;
	struct termios raw = t->saved;
	raw.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	raw.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	raw.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
	raw.c_cflag |= CS8;
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(fd, TCSANOW, &raw) < 0)
		return -1;
	t->raw = true;
	return 0;
}

void terminal_restore(struct terminal *t)
{
	if (t->raw)
		tcsetattr(t->fd, TCSANOW, &t->saved);
	t->raw = false;
}
