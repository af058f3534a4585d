#include "net/switch_launch.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "net/switch_protocol.h"
#include "net/switch_path.h"
#include "util/self_exec.h"

bool switch_exists(const char *name)
{
	char p[4096];
	struct stat st;
	return switch_path(name, SWITCH_CONFIG_FILE, p, sizeof(p), NULL) == 0 && stat(p, &st) == 0;
}

bool switch_running(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (switch_path(name, SWITCH_CONTROL_SOCKET, sa.sun_path, sizeof(sa.sun_path), NULL) < 0)
		return false;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	/* The control socket, not port.sock: a probe there is not an adapter. */
	bool up = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return up;
}

/* The last non-empty line of the daemon's log, for the error message. */
static void last_log_line(const char *name, char *out, size_t len)
{
	char p[4096], buf[4096];
	snprintf(out, len, "no reason in its log");
	if (switch_path(name, SWITCH_LOG_FILE, p, sizeof(p), NULL) < 0)
		return;
	FILE *f = fopen(p, "r");
	if (!f)
		return;
	while (fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\n")] = '\0';
		if (buf[0]) {
			size_t n = strlen(buf) < len - 1 ? strlen(buf) : len - 1;
			memcpy(out, buf, n);
			out[n] = '\0';
		}
	}
	fclose(f);
}

/* `nestvm switch-daemon NAME`: its own session, not our child, stderr to
 * daemon.log (a fresh one each time). */
static int spawn_daemon(const char *name, const char *log, struct nv_err *err)
{
	char *argv[] = { "nestvm", "switch-daemon", (char *)name, NULL };
	struct self_exec_options o = {
		.argv = argv, .detach = true, .log = log,
		.exec_error = "cannot run nestvm switch-daemon", .fail_status = 127,
	};
	pid_t pid = self_exec_start(&o);
	if (pid < 0)
		return nv_err_host(err, "fork: %s", strerror((int)-pid));
	return 0;
}

int switch_ensure_running(const char *name, struct nv_err *err)
{
	char log[4096];
	if (switch_path(name, SWITCH_LOG_FILE, log, sizeof(log), err) < 0)
		return -1;
	if (!switch_exists(name))
		return nv_err_input(err, "no switch named %s: create it with `nestvm switch create %s --type nat` (or private, internal, external)",
				    name, name);
	if (switch_running(name))
		return 0;
	if (spawn_daemon(name, log, err) < 0)
		return -1;
	for (int i = 0; i < 200; i++) {
		if (switch_running(name))
			return 0;
		struct timespec ts = { .tv_nsec = 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	char why[512];
	last_log_line(name, why, sizeof(why));
	return nv_err_host(err, "the daemon of switch %s did not start: %s", name, why);
}
