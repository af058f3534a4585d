/* `nestvm vm console NAME`: attach this terminal to a running VM's serial
 * console (its VMM's console.sock). The VMM replays the last output, so the
 * prompt shows at once. Ctrl-A d detaches and leaves the VM running; so does
 * Ctrl-A x (in `nestvm run` it quits the VM, but a VM with a life of its own
 * is not ended by a console key: `nestvm vm stop` does that); Ctrl-A Ctrl-A
 * sends a Ctrl-A. The keys work on piped input too; its end detaches. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/vm_commands.h"
#include "cli/vm_cli.h"
#include "cli/vm_lifecycle.h"
#include "util/state_dir.h"
#include "mgmt/vm_store.h"
#include "vmm/console_escape.h"
#include "vmm/exit_status.h"
#include "vmm/terminal.h"

#define CONNECT_WAIT_MS 10000 /* a VM still Starting has no console.sock yet */
#define END_WAIT_MS 3000      /* after the console closed, for the record to say Off */

static int try_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static bool write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

enum relay_end { RELAY_DETACHED, RELAY_CLOSED, RELAY_ERROR };

/* Both ways until a detach key, the end of input, or the VMM closing. */
static enum relay_end relay(int sock)
{
	struct console_escape esc = { .detach_key = true };
	uint8_t in[4096], out[8192], buf[16384];
	for (;;) {
		struct pollfd fds[2] = {
			{ .fd = sock, .events = POLLIN },
			{ .fd = STDIN_FILENO, .events = POLLIN },
		};
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return RELAY_ERROR;
		}
		if (fds[0].revents) {
			ssize_t n = read(sock, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return RELAY_CLOSED;
			if (!write_all(STDOUT_FILENO, buf, (size_t)n))
				return RELAY_ERROR;
		}
		if (fds[1].revents) {
			ssize_t n = read(STDIN_FILENO, in, sizeof(in));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return RELAY_DETACHED;
			size_t len = 0;
			int key = console_escape_filter_key(&esc, in, (size_t)n, out, &len);
			if (len && !write_all(sock, out, len))
				return RELAY_CLOSED;
			if (key)
				return RELAY_DETACHED;
		}
	}
}

static int console_usage(FILE *f)
{
	fprintf(f, "usage: nestvm vm console NAME\n"
		   "Attaches to the VM's serial console (the last output is shown again first).\n"
		   "Ctrl-A d (or Ctrl-A x) detaches, leaving the VM running; Ctrl-A Ctrl-A sends Ctrl-A.\n");
	return 0;
}

int cmd_vm_console(int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	opterr = 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'h')
			return console_usage(stdout);
		return vm_cli_getopt_error(c, argv, "console");
	}
	if (optind >= argc)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "vm console needs a VM NAME (try `nestvm vm console --help`)");
	const char *name = argv[optind++];
	if (optind < argc)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "vm console: unexpected '%s'", argv[optind]);
	if (!state_name_valid(name, VM_NAME_MAX))
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "'%s' is not a valid VM name", name);

	struct nv_err err = { 0 };
	struct vm_record r;
	char path[VM_PATH_MAX];
	if (vm_store_path(name, VM_CONSOLE_SOCKET, path, sizeof(path), &err) < 0 ||
	    vm_store_load_reaped(name, &r, &err) < 0)
		return cli_fail(err.kind == NV_ERR_HOST ? NESTVM_EXIT_VMM_FAILURE : NESTVM_EXIT_BAD_INPUT, "%s", err.msg);
	int sock = -1;
	for (int waited = 0; r.runtime.state != VM_STATE_OFF; waited += 200) {
		sock = try_connect(path);
		if (sock >= 0 || waited >= CONNECT_WAIT_MS || (errno != ENOENT && errno != ECONNREFUSED))
			break;
		vm_lifecycle_sleep_ms(200);
		if (vm_store_load_reaped(name, &r, &err) < 0)
			return cli_fail(NESTVM_EXIT_VMM_FAILURE, "%s", err.msg);
	}
	if (r.runtime.state == VM_STATE_OFF)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "VM %s is not running (Off%s%s): start it with `nestvm vm start %s`",
				name, r.runtime.last_stop[0] ? ": " : "", r.runtime.last_stop, name);
	if (sock < 0)
		return cli_fail(NESTVM_EXIT_VMM_FAILURE, "cannot attach to the console of %s: %s", name, strerror(errno));

	struct terminal term;
	bool tty = terminal_enter_raw(&term, STDIN_FILENO) == 0;
	fprintf(stderr, "[attached to %s; Ctrl-A d detaches]\n", name);
	enum relay_end end = relay(sock);
	close(sock);
	if (tty)
		terminal_restore(&term);
	if (end == RELAY_DETACHED) {
		fprintf(stderr, "\n[detached]\n");
		return 0;
	}
	/* The VMM closed the console: the VM ended (it records why before it
	 * closes), or the VMM died (reaping notices). */
	int off = vm_lifecycle_wait_off(name, &r, END_WAIT_MS, &err);
	if (off > 0) {
		const char *why = r.runtime.last_stop;
		if (!strncmp(why, "stopped: ", 9))
			why += 9; /* "[VM x stopped: forced by ...]", not "stopped: stopped:" */
		fprintf(stderr, "\n[VM %s stopped: %s]\n", name, why);
		return 0;
	}
	if (end == RELAY_ERROR)
		return cli_fail(NESTVM_EXIT_VMM_FAILURE, "console of %s: %s", name, strerror(errno));
	fprintf(stderr, "\n[the VMM of %s closed the console; the VM is %s]\n", name,
		off < 0 ? "in an unknown state" : vm_state_name(r.runtime.state));
	return 0;
}
