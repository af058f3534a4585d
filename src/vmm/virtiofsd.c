#include "vmm/virtiofsd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* The listening socket's number in virtiofsd (--fd). */
#define VIRTIOFSD_LISTEN_FD 3

static const char *binary(void)
{
	const char *b = getenv("NESTVM_VIRTIOFSD");
	return b && *b ? b : VIRTIOFSD_PATH;
}

/* In the child: dir read-only for this process and its descendants only
 * (virtiofsd's sandbox pivots into it and keeps the flag). */
static int bind_readonly(const char *dir)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount(dir, dir, NULL, MS_BIND | MS_REC, NULL) < 0 ||
	    mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
		return -1;
	return 0;
}

/* Is this host's root the initial ramfs (the lab, an initramfs-only
 * system)? pivot_root cannot leave it, so virtiofsd's namespace sandbox
 * fails there; its chroot sandbox is the one that works. */
static bool root_is_rootfs(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return false;
	char line[1024];
	bool rootfs = false;
	while (!rootfs && fgets(line, sizeof(line), f)) {
		char mnt[256], fstype[64];
		const char *dash = strstr(line, " - ");
		/* id parent major:minor root mount-point ... - fstype ... */
		if (dash && sscanf(line, "%*s %*s %*s %*s %255s", mnt) == 1 &&
		    sscanf(dash + 3, "%63s", fstype) == 1)
			rootfs = strcmp(mnt, "/") == 0 && strcmp(fstype, "rootfs") == 0;
	}
	fclose(f);
	return rootfs;
}

static void child(int listen_fd, int log_fd, const char *dir, bool readonly, const char *sandbox)
{
	/* It dies with the VMM, however the VMM ends. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (log_fd >= 0)
		dup2(log_fd, STDERR_FILENO);
	if (readonly && bind_readonly(dir) < 0) {
		fprintf(stderr, "nestvm: --share %s,readonly: %s\n", dir, strerror(errno));
		_exit(127);
	}
	/* dup2 onto itself would keep close-on-exec: clear it then. */
	if (listen_fd == VIRTIOFSD_LISTEN_FD ? fcntl(listen_fd, F_SETFD, 0) < 0
					     : dup2(listen_fd, VIRTIOFSD_LISTEN_FD) < 0)
		_exit(127);
	close_range(VIRTIOFSD_LISTEN_FD + 1, ~0u, 0);
	int null = open("/dev/null", O_RDONLY);
	if (null >= 0 && null != STDIN_FILENO) {
		dup2(null, STDIN_FILENO);
		close(null);
	}
	char source[PATH_MAX + 16], fdopt[32];
	snprintf(source, sizeof(source), "source=%s", dir);
	snprintf(fdopt, sizeof(fdopt), "--fd=%d", VIRTIOFSD_LISTEN_FD);
	/* cache=auto: the guest caches for a second (FUSE timeouts), so the
	 * host's changes show soon; the sandbox is named so that it cannot
	 * silently change; log_level=err keeps the console clean. */
	char sandbox_opt[32];
	snprintf(sandbox_opt, sizeof(sandbox_opt), "sandbox=%s", sandbox);
	char *argv[] = { "virtiofsd", fdopt, "-o", source, "-o", "cache=auto",
			 "-o", sandbox_opt, "-o", "log_level=err", NULL };
	execv(binary(), argv);
	fprintf(stderr, "nestvm: cannot run %s: %s\n", binary(), strerror(errno));
	_exit(127);
}

/* A listening socket at a fresh name in a folder only we can enter. */
static int listen_private(char *dirbuf, size_t dirlen, struct sockaddr_un *sa, struct nv_err *err)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dirbuf, dirlen, "%s/nestvm-virtiofsd-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dirbuf))
		return nv_err_host(err, "cannot make a folder for virtiofsd's socket: %s", strerror(errno));
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/vhost-user.sock", dirbuf) >=
	    (int)sizeof(sa->sun_path)) {
		rmdir(dirbuf);
		return nv_err_host(err, "virtiofsd's socket path under %s is too long", dirbuf);
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)sa, sizeof(*sa)) < 0 || listen(fd, 1) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		unlink(sa->sun_path);
		rmdir(dirbuf);
		return nv_err_host(err, "virtiofsd's socket: %s", strerror(e));
	}
	return fd;
}

int virtiofsd_check(struct nv_err *err)
{
	if (access(binary(), X_OK) < 0)
		return nv_err_input(err, "--share needs %s, which is missing: install Debian's package "
				    "qemu-system-common", binary());
	return 0;
}

int virtiofsd_start(struct virtiofsd *d, const char *dir, bool readonly, int *sock,
		    struct nv_err *err)
{
	d->pid = 0;
	d->pidfd = -1;
	d->log_fd = -1;
	*sock = -1;
	if (virtiofsd_check(err) < 0)
		return -1;
	char tmpdir[PATH_MAX];
	struct sockaddr_un sa;
	int lfd = listen_private(tmpdir, sizeof(tmpdir), &sa, err);
	if (lfd < 0)
		return -1;
	/* namespace: mount, PID and network namespaces and pivot_root into
	 * dir; chroot(2) into dir where the root is the initial ramfs. */
	const char *sandbox = root_is_rootfs() ? "chroot" : "namespace";
	const char *forced = getenv("NESTVM_VIRTIOFSD_SANDBOX"); /* tests: the lab's on any host */
	if (forced && (!strcmp(forced, "chroot") || !strcmp(forced, "namespace")))
		sandbox = forced;
	d->log_fd = (int)syscall(SYS_memfd_create, "virtiofsd-log", MFD_CLOEXEC);
	pid_t pid = fork();
	if (pid == 0)
		child(lfd, d->log_fd, dir, readonly, sandbox);
	int rc = -1;
	if (pid < 0) {
		nv_err_host(err, "cannot start virtiofsd: %s", strerror(errno));
		goto out;
	}
	d->pid = pid;
	d->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	/* The connection waits in the listening socket's queue until
	 * virtiofsd accepts it; if virtiofsd dies first, the first request
	 * sees the connection closed. */
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		nv_err_host(err, "cannot connect to virtiofsd: %s", strerror(errno));
		if (s >= 0)
			close(s);
		virtiofsd_stop(d);
		goto out;
	}
	*sock = s;
	rc = 0;
out:
	/* The name is not needed once connected: nobody else can connect. */
	close(lfd);
	unlink(sa.sun_path);
	rmdir(tmpdir);
	return rc;
}

/* What virtiofsd printed, line by line on our stderr, but the line it
 * prints whenever its connection closes. */
static void say_log(struct virtiofsd *d)
{
	if (d->log_fd < 0)
		return;
	char buf[8192];
	ssize_t n = pread(d->log_fd, buf, sizeof(buf) - 1, 0);
	close(d->log_fd);
	d->log_fd = -1;
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (!strstr(line, "Unexpected poll revents"))
			fprintf(stderr, "%s%s\n", strncmp(line, "nestvm: ", 8) ? "nestvm: virtiofsd: " : "", line);
}

static bool ended_within(const struct virtiofsd *d, int ms)
{
	if (d->pidfd < 0)
		return false;
	struct pollfd p = { .fd = d->pidfd, .events = POLLIN };
	return poll(&p, 1, ms) == 1;
}

void virtiofsd_stop(struct virtiofsd *d)
{
	virtiofsd_stop_wait(d, VIRTIOFSD_STOP_MS);
}

void virtiofsd_stop_wait(struct virtiofsd *d, int wait_ms)
{
	if (d->pid <= 0)
		return;
	if (!ended_within(d, wait_ms) && d->pidfd >= 0)
		syscall(SYS_pidfd_send_signal, d->pidfd, SIGKILL, NULL, 0);
	while (waitpid(d->pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (d->pidfd >= 0)
		close(d->pidfd);
	d->pid = 0;
	d->pidfd = -1;
	say_log(d);
}
