/* nestvm-warm: the default guest's side of a warm start.
 *
 * The init of a guest booted with nestvm.warm=1 runs this once everything
 * a command needs is set up. It tells the VMM it is ready (a write to I/O
 * port 0xf5, the debug-exit device's second byte), and the VMM snapshots
 * the VM there, once, to start later VMs from. Then it waits for one line
 * on the console, which the VMM sends right away (and again after every
 * restore of the snapshot):
 *
 *   nestvm-warm 1 start=warm|cold [cmd=BASE64] time=SECONDS.NANOSECONDS seed=HEX64
 *
 * An empty line says the line is in guest memory instead, NUL-terminated
 * at MAILBOX_ADDR (arch/x86/layout.h's WARM_MAILBOX_ADDR, in the first
 * megabyte's reserved pages, which /dev/mem lets root read): one byte on
 * the console instead of a hundred or more, each an interrupt and exits.
 *
 * It sets the clock to time, mixes the seed into the kernel's random pool
 * and reseeds it at once (two VMs restored from one snapshot must not
 * share random numbers), writes the command (cmd=: argv joined by NUL
 * bytes, as nestvm.cmd carries it on a cold boot) decoded into CMD_FILE
 * with a NUL after its last argument, and turns the console's CR-before-LF
 * off for it, as the init does on a cold boot. The console does not echo
 * the line. Everything here saves the init a process: in a restored VM each
 * one costs page faults the snapshot has not seen yet. Exit status: 0 for
 * start=warm (a restored VM), 3 for start=cold (the boot that took the
 * snapshot), 1 with a message when the line is missing or malformed.
 * Built static by guest/build (gcc -static -Os). */
#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define WARM_READY_PORT 0xf5
#define MAILBOX_ADDR 0xff100
#define MAILBOX_LEN 0xf00
#define LINE_MAX_BYTES 8192
#define SEED_BYTES 32
#define CMD_FILE "/tmp/.nestvm-cmd"
#define EXIT_WARM 0
#define EXIT_COLD 3

static int fail(const char *what)
{
	fprintf(stderr, "nestvm-warm: %s\n", what);
	return 1;
}

/* One line from fd (the console, canonical mode), without its newline. */
static int read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;
	while (n + 1 < size) {
		ssize_t r = read(fd, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return 0;
		}
		if (buf[n] != '\r')
			n++;
	}
	return -1;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int apply_seed(const char *hex)
{
	struct {
		struct rand_pool_info info;
		unsigned char bytes[SEED_BYTES];
	} in;
	if (strlen(hex) != 2 * SEED_BYTES)
		return fail("seed= is not 64 hex digits");
	for (int i = 0; i < SEED_BYTES; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return fail("seed= is not 64 hex digits");
		in.bytes[i] = (unsigned char)(hi << 4 | lo);
	}
	in.info.entropy_count = SEED_BYTES * 8;
	in.info.buf_size = SEED_BYTES;
	int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
	/* Credited, then a reseed now: without it the kernel would keep the
	 * snapshot's key until its next scheduled reseed. */
	int ok = fd >= 0 && ioctl(fd, RNDADDENTROPY, &in) == 0 && ioctl(fd, RNDRESEEDCRNG) == 0;
	if (fd >= 0)
		close(fd);
	return ok ? 0 : fail("cannot reseed the kernel's random numbers");
}

static int apply_time(const char *s)
{
	char *end;
	errno = 0;
	long long sec = strtoll(s, &end, 10);
	long nsec = 0;
	if (errno || end == s || sec < 0)
		return fail("time= is not SECONDS.NANOSECONDS");
	if (*end == '.') {
		const char *f = end + 1;
		nsec = strtol(f, &end, 10);
		if (end - f != 9 || nsec < 0)
			return fail("time= is not SECONDS.NANOSECONDS");
	}
	if (*end)
		return fail("time= is not SECONDS.NANOSECONDS");
	struct timespec ts = { .tv_sec = (time_t)sec, .tv_nsec = nsec };
	if (clock_settime(CLOCK_REALTIME, &ts) < 0)
		return fail("cannot set the clock");
	return 0;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decodes base64 in place (padded, as nestvm writes it); the length, or
 * -1 when it is not base64. */
static long b64_decode(char *s)
{
	size_t len = strlen(s), o = 0;
	if (len % 4)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		for (int k = 0; k < 4; k++) {
			v[k] = s[i + k] == '=' && i + 4 == len && k >= 2 ? 0 : b64_value(s[i + k]);
			if (v[k] < 0)
				return -1;
		}
		unsigned n = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | (unsigned)v[3];
		s[o++] = (char)(n >> 16);
		if (s[i + 2] != '=')
			s[o++] = (char)(n >> 8);
		if (s[i + 3] != '=')
			s[o++] = (char)n;
	}
	return (long)o;
}

/* The command for the init, and the console as the command wants it. */
static int write_command(char *b64, int console)
{
	long n = b64_decode(b64);
	if (n < 0)
		return fail("cmd= is not base64");
	b64[n] = '\0'; /* the last argument's end */
	int fd = open(CMD_FILE, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int ok = fd >= 0 && write(fd, b64, (size_t)n + 1) == n + 1;
	if (fd >= 0 && close(fd) < 0)
		ok = 0;
	if (!ok)
		return fail("cannot write " CMD_FILE);
	/* Bytes go out exactly as the command writes them: no CR before LF. */
	struct termios t;
	if (tcgetattr(console, &t) == 0) {
		t.c_oflag &= ~(tcflag_t)ONLCR;
		tcsetattr(console, TCSANOW, &t);
	}
	return 0;
}

/* The line from the mailbox into buf (of at least MAILBOX_LEN bytes). */
static int read_mailbox(char *buf)
{
	int fd = open("/dev/mem", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? pread(fd, buf, MAILBOX_LEN, MAILBOX_ADDR) : -1;
	if (fd >= 0)
		close(fd);
	if (n != MAILBOX_LEN || !memchr(buf, '\0', MAILBOX_LEN))
		return fail("no line in the warm-start mailbox (/dev/mem)");
	char *nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	return 0;
}

/* The line's fields, applied. */
static int handle(char *line, int console)
{
	char *save = NULL, *w = strtok_r(line, " ", &save);
	if (!w || strcmp(w, "nestvm-warm") != 0 || !(w = strtok_r(NULL, " ", &save)) || strcmp(w, "1") != 0)
		return fail("the VMM's line is not \"nestvm-warm 1 ...\"");
	const char *start = NULL;
	int have_time = 0, have_seed = 0;
	unlink(CMD_FILE);
	while ((w = strtok_r(NULL, " ", &save))) {
		if (!strncmp(w, "cmd=", 4)) {
			if (write_command(w + 4, console))
				return 1;
		} else if (!strcmp(w, "start=warm") || !strcmp(w, "start=cold")) {
			start = w + 6;
		} else if (!strncmp(w, "time=", 5)) {
			if (apply_time(w + 5))
				return 1;
			have_time = 1;
		} else if (!strncmp(w, "seed=", 5)) {
			if (apply_seed(w + 5))
				return 1;
			have_seed = 1;
		} /* other fields: a newer VMM's, ignored */
	}
	if (!have_time || !have_seed || !start)
		return fail("the VMM's line lacks start=, time= or seed=");
	return strcmp(start, "warm") == 0 ? EXIT_WARM : EXIT_COLD;
}

int main(void)
{
	static char line[LINE_MAX_BYTES];
	int fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
	struct termios old, quiet;
	if (fd < 0 || tcgetattr(fd, &old) < 0)
		return fail("cannot open the console");
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	if (tcsetattr(fd, TCSANOW, &quiet) < 0)
		return fail("cannot turn the console's echo off");
	if (ioperm(WARM_READY_PORT, 1, 1) < 0)
		return fail("ioperm: cannot tell the VMM it is ready");
	outb(1, WARM_READY_PORT);
	int r = read_line(fd, line, sizeof(line));
	tcsetattr(fd, TCSANOW, &old);
	if (r < 0)
		return fail("no line from the VMM on the console");
	if (line[0] == '\0' && read_mailbox(line))
		return 1;
	r = handle(line, fd);
	close(fd);
	return r;
}
