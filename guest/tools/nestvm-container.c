/* nestvm-container: a container's side inside its VM (issue 14).
 *
 * The VMM turns a bundle's config.json into a spec (mgmt/container_spec.h)
 * and appends it to the default guest's initramfs as
 * /etc/nestvm/container.spec, with copies of the files the container binds
 * under /etc/nestvm/files/. The init runs this in place of a command. It
 * mounts the root folder (virtio-fs, shared live with the host), then each
 * mount in order at its destination resolved inside that root (symlinks
 * in the image cannot send a mount outside it), makes the root read-only
 * if asked, moves it onto / in a mount namespace of its own and chroots
 * there (as switch_root does: pivot_root cannot leave an initramfs), sets
 * the host name, rlimits, umask, groups and user, and execs the process.
 * The VM is the boundary: the guest holds nothing of the host but what
 * was shared, and virtiofsd keeps each share's paths inside its folder.
 *
 * The spec: records of a key and a fixed number of fields, each a string
 * ended by a NUL byte; the first record says the format's version, the
 * last is "end" (a cut file is refused). Exit status: the process's; 125
 * when the set-up failed (said in one line), 126 when the program cannot
 * run, 127 when it is not found (podman's and runc's meanings).
 * Built static by guest/build (gcc -static -Os). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "nestvm-container-relay.h"

#define SPEC_PATH "/etc/nestvm/container.spec"
#define SPEC_MAX (8u << 20)
#define ROOT "/run/nestvm/container"
#define MAX_LIST 4096
#define EXIT_SETUP 125
#define PID_FILE "/run/nestvm/container.pid"

struct mnt {
	const char *dest, *type, *source, *options;
};

struct rlim {
	int resource;
	unsigned long long soft, hard;
};

struct spec {
	const char *args[MAX_LIST + 1];
	unsigned nargs;
	char *env[MAX_LIST + 1];
	unsigned nenv;
	const char *cwd, *hostname, *root_tag;
	bool root_ro, terminal, no_new_privs, has_umask, no_stdin;
	unsigned long long memory_limit; /* bytes; 0: none */
	uid_t uid;
	gid_t gid;
	mode_t umask;
	gid_t gids[MAX_LIST];
	unsigned ngids;
	struct rlim rlimits[64];
	unsigned nrlimits;
	struct mnt mounts[256];
	unsigned nmounts;
};

static int fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("nestvm-container: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return -1;
}

/* --- the spec -------------------------------------------------------- */

struct cursor {
	char *p, *end;
};

/* The next NUL-ended string, or NULL when the data ends first. */
static const char *next_field(struct cursor *c)
{
	if (c->p >= c->end)
		return NULL;
	char *nul = memchr(c->p, '\0', (size_t)(c->end - c->p));
	if (!nul)
		return NULL;
	char *s = c->p;
	c->p = nul + 1;
	return s;
}

static int number(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (!*s || *end || errno || v > max || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

static int parse_spec(char *data, size_t len, struct spec *s)
{
	struct cursor c = { data, data + len };
	const char *key = next_field(&c), *f[4];
	const char *version = next_field(&c);
	if (!key || strcmp(key, "nestvm-container-spec") || !version || strcmp(version, "1"))
		return fail("%s: not a version 1 container spec", SPEC_PATH);
	for (;;) {
		if (!(key = next_field(&c)))
			return fail("%s: cut short (no end record)", SPEC_PATH);
		if (!strcmp(key, "end"))
			break;
		unsigned arity = !strcmp(key, "mount") ? 4 : !strcmp(key, "rlimit") || !strcmp(key, "user") ? 3
							 : !strcmp(key, "root")				     ? 2
															     : 1;
		for (unsigned i = 0; i < arity; i++)
			if (!(f[i] = next_field(&c)))
				return fail("%s: record %s cut short", SPEC_PATH, key);
		unsigned long long a, b, d;
		if (!strcmp(key, "arg") && s->nargs < MAX_LIST) {
			s->args[s->nargs++] = f[0];
		} else if (!strcmp(key, "env") && s->nenv < MAX_LIST) {
			s->env[s->nenv++] = (char *)f[0];
		} else if (!strcmp(key, "cwd")) {
			s->cwd = f[0];
		} else if (!strcmp(key, "hostname")) {
			s->hostname = f[0];
		} else if (!strcmp(key, "terminal")) {
			s->terminal = !strcmp(f[0], "1");
		} else if (!strcmp(key, "stdin")) {
			s->no_stdin = !strcmp(f[0], "0");
		} else if (!strcmp(key, "no-new-privileges")) {
			s->no_new_privs = !strcmp(f[0], "1");
		} else if (!strcmp(key, "root")) {
			s->root_tag = f[0];
			s->root_ro = !strcmp(f[1], "1");
		} else if (!strcmp(key, "user")) {
			if (number(f[0], UINT32_MAX, &a) || number(f[1], UINT32_MAX, &b))
				return fail("%s: a bad user record", SPEC_PATH);
			s->uid = (uid_t)a;
			s->gid = (gid_t)b;
			if (strcmp(f[2], "-")) {
				if (number(f[2], 0777, &d))
					return fail("%s: a bad umask", SPEC_PATH);
				s->umask = (mode_t)d;
				s->has_umask = true;
			}
		} else if (!strcmp(key, "gid") && s->ngids < MAX_LIST) {
			if (number(f[0], UINT32_MAX, &a))
				return fail("%s: a bad group id", SPEC_PATH);
			s->gids[s->ngids++] = (gid_t)a;
		} else if (!strcmp(key, "rlimit") && s->nrlimits < sizeof(s->rlimits) / sizeof(s->rlimits[0])) {
			struct rlim *r = &s->rlimits[s->nrlimits++];
			if (number(f[0], RLIM_NLIMITS - 1, &a) || number(f[1], ULLONG_MAX, &r->soft) ||
			    number(f[2], ULLONG_MAX, &r->hard))
				return fail("%s: a bad rlimit record", SPEC_PATH);
			r->resource = (int)a;
		} else if (!strcmp(key, "memory-limit")) {
			if (number(f[0], ULLONG_MAX, &s->memory_limit))
				return fail("%s: a bad memory limit", SPEC_PATH);
		} else if (!strcmp(key, "mount") && s->nmounts < sizeof(s->mounts) / sizeof(s->mounts[0])) {
			s->mounts[s->nmounts++] = (struct mnt){ f[0], f[1], f[2], f[3] };
		} else {
			return fail("%s: unknown or one too many record '%s'", SPEC_PATH, key);
		}
	}
	if (!s->nargs || !s->cwd || !s->root_tag)
		return fail("%s: no process, cwd or root", SPEC_PATH);
	return 0;
}

static char *read_spec(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		fail("%s: %s", path, strerror(errno));
		return NULL;
	}
	char *buf = malloc(SPEC_MAX);
	size_t n = 0;
	ssize_t r;
	while (buf && n < SPEC_MAX && (r = read(fd, buf + n, SPEC_MAX - n)) > 0)
		n += (size_t)r;
	close(fd);
	if (!buf || n == SPEC_MAX) {
		fail("%s: too large", path);
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

/* --- mounts ---------------------------------------------------------- */

struct flag_word {
	const char *word;
	bool clear;
	unsigned long flag;
};

/* mount(8)'s words that are flags; others are the filesystem's data.
 * Propagation words are dropped: the namespace is private and the VM's. */
static const struct flag_word flag_words[] = {
	{ "ro", false, MS_RDONLY },	     { "rw", true, MS_RDONLY },	       { "nosuid", false, MS_NOSUID },
	{ "suid", true, MS_NOSUID },	     { "nodev", false, MS_NODEV },     { "dev", true, MS_NODEV },
	{ "noexec", false, MS_NOEXEC },	     { "exec", true, MS_NOEXEC },      { "sync", false, MS_SYNCHRONOUS },
	{ "async", true, MS_SYNCHRONOUS },   { "dirsync", false, MS_DIRSYNC }, { "noatime", false, MS_NOATIME },
	{ "atime", true, MS_NOATIME },	     { "nodiratime", false, MS_NODIRATIME },
	{ "diratime", true, MS_NODIRATIME }, { "relatime", false, MS_RELATIME },
	{ "norelatime", true, MS_RELATIME }, { "strictatime", false, MS_STRICTATIME },
	{ "bind", false, MS_BIND },	     { "rbind", false, MS_BIND | MS_REC },
};
static const char *const dropped_words[] = { "private",	   "rprivate",	 "shared", "rshared", "slave",
					     "rslave",	   "unbindable", "runbindable", "tmpcopyup", "notmpcopyup",
					     "nomand",	   "mand",	 "defaults" };

static void mount_options(const char *options, unsigned long *flags, char *data, size_t size)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", options);
	*flags = 0;
	data[0] = '\0';
	for (char *save = NULL, *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		bool known = false;
		for (size_t i = 0; i < sizeof(flag_words) / sizeof(flag_words[0]) && !known; i++)
			if (!strcmp(w, flag_words[i].word)) {
				*flags = flag_words[i].clear ? *flags & ~flag_words[i].flag : *flags | flag_words[i].flag;
				known = true;
			}
		for (size_t i = 0; i < sizeof(dropped_words) / sizeof(dropped_words[0]) && !known; i++)
			known = !strcmp(w, dropped_words[i]);
		if (!known && strlen(data) + strlen(w) + 2 < size) {
			if (data[0])
				strcat(data, ",");
			strcat(data, w);
		}
	}
}

static int openat2_in_root(int root, const char *path, int flags)
{
	struct open_how how = { .flags = (unsigned long long)flags | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };
	return (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
}

/* dest's mount point inside the root, made when missing (a folder, or an
 * empty file when a file goes there), as an O_PATH descriptor. Every step
 * resolves inside the root: "..", absolute and dangling symlinks of the
 * image stay in it. */
static int mount_point(int root, const char *dest, bool file)
{
	char path[PATH_MAX], part[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s", dest) >= (int)sizeof(path))
		return fail("mount %.64s...: the path is too long", dest);
	size_t len = strlen(path);
	for (size_t i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		memcpy(part, path, i);
		part[i] = '\0';
		bool last = i == len;
		int fd = openat2_in_root(root, part, O_PATH);
		if (fd >= 0) {
			if (last)
				return fd;
			close(fd);
			continue;
		}
		if (errno != ENOENT)
			return fail("mount %s: %s: %s", dest, part, strerror(errno));
		/* The parent exists (made above): make this step inside it. */
		char *slash = strrchr(part, '/');
		char parent[PATH_MAX];
		snprintf(parent, sizeof(parent), "%.*s", slash == part ? 1 : (int)(slash - part), part);
		int pfd = openat2_in_root(root, parent, O_PATH | O_DIRECTORY);
		if (pfd < 0)
			return fail("mount %s: %s: %s", dest, parent, strerror(errno));
		int r = last && file ? mknodat(pfd, slash + 1, S_IFREG | 0644, 0) : mkdirat(pfd, slash + 1, 0755);
		close(pfd);
		if (r < 0 && errno != EEXIST)
			return fail("mount %s: cannot make %s: %s", dest, part, strerror(errno));
		if (last)
			return openat2_in_root(root, part, O_PATH);
	}
	return openat2_in_root(root, "/", O_PATH);
}

static int do_mount(int root, const struct mnt *m)
{
	unsigned long flags;
	char data[4096], target[64];
	mount_options(m->options, &flags, data, sizeof(data));
	const char *type = m->type, *source = m->source;
	if (!strcmp(type, "nestvm-file") || !strcmp(type, "bind"))
		flags |= MS_BIND;
	/* A bound file (a copied one, the console) needs a file to cover. */
	struct stat st;
	bool file = (flags & MS_BIND) && stat(source, &st) == 0 && !S_ISDIR(st.st_mode);
	if (!strcmp(type, "cgroup")) /* the guest's kernel has cgroup v2 only */
		type = "cgroup2";
	int fd = mount_point(root, m->dest, file);
	if (fd < 0)
		return -1;
	snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
	int r;
	if (flags & MS_BIND) {
		r = mount(source, target, NULL, flags & (MS_BIND | MS_REC), NULL);
		/* A bind takes its other flags by a remount of the new mount. */
		if (r == 0 && (flags & ~(MS_BIND | MS_REC)))
			r = mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | (flags & ~(MS_BIND | MS_REC)), NULL);
	} else {
		r = mount(source[0] ? source : type, target, type, flags, data[0] ? data : NULL);
	}
	int e = errno;
	close(fd);
	if (r < 0)
		return fail("mount %s (%s %s): %s", m->dest, type, source, strerror(e));
	return 0;
}

/* The devices the runtime spec says every container has, made in the
 * root's /dev when missing (its /dev is usually a fresh tmpfs), and the
 * console when the process has a terminal. */
static int default_devices(int root, bool terminal)
{
	static const struct {
		const char *name;
		unsigned major, minor;
	} nodes[] = { { "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 },
		      { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 } };
	static const char *const links[][2] = { { "ptmx", "pts/ptmx" },
						{ "fd", "/proc/self/fd" },
						{ "stdin", "/proc/self/fd/0" },
						{ "stdout", "/proc/self/fd/1" },
						{ "stderr", "/proc/self/fd/2" } };
	int dev = openat2_in_root(root, "/dev", O_PATH | O_DIRECTORY);
	if (dev < 0)
		return 0; /* a root with no /dev gets none */
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		mode_t old = umask(0);
		int r = mknodat(dev, nodes[i].name, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor));
		umask(old);
		if (r < 0 && errno != EEXIST) {
			close(dev);
			return fail("/dev/%s: %s", nodes[i].name, strerror(errno));
		}
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlinkat(links[i][1], dev, links[i][0]) < 0 && errno != EEXIST) {
			close(dev);
			return fail("/dev/%s: %s", links[i][0], strerror(errno));
		}
	close(dev);
	if (terminal) {
		const struct mnt console = { "/dev/console", "bind", "/dev/console", "" };
		return do_mount(root, &console);
	}
	return 0;
}

static int set_up_root(const struct spec *s)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return fail("a mount namespace: %s", strerror(errno));
	mkdir("/run/nestvm", 0755);
	mkdir(ROOT, 0755);
	if (mount(s->root_tag, ROOT, "virtiofs", 0, NULL) < 0)
		return fail("the root folder (virtio-fs tag %s): %s", s->root_tag, strerror(errno));
	int root = open(ROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return fail("%s: %s", ROOT, strerror(errno));
	for (unsigned i = 0; i < s->nmounts; i++)
		if (do_mount(root, &s->mounts[i]) < 0)
			return -1;
	if (default_devices(root, s->terminal) < 0)
		return -1;
	close(root);
	if (s->root_ro && mount(NULL, ROOT, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
		return fail("a read-only root: %s", strerror(errno));
	if (chdir(ROOT) < 0 || mount(ROOT, "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 || chdir("/") < 0)
		return fail("entering the root: %s", strerror(errno));
	return 0;
}

/* --- the memory limit ------------------------------------------------ */

#define CGROUP_ROOT "/sys/fs/cgroup"
#define CGROUP_DIR CGROUP_ROOT "/nestvm-container"

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	int e = errno;
	close(fd);
	errno = e;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int join_memory_cgroup(unsigned long long limit)
{
	char num[32];
	/* The guest's cgroup2 (the init mounts none); EBUSY: already there. */
	mkdir(CGROUP_ROOT, 0755);
	if (mount("cgroup2", CGROUP_ROOT, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 && errno != EBUSY)
		return fail("cgroup2 on %s: %s", CGROUP_ROOT, strerror(errno));
	if (write_file(CGROUP_ROOT "/cgroup.subtree_control", "+memory") < 0)
		return fail("the memory controller: %s", strerror(errno));
	if (mkdir(CGROUP_DIR, 0755) < 0 && errno != EEXIST)
		return fail("%s: %s", CGROUP_DIR, strerror(errno));
	snprintf(num, sizeof(num), "%llu", limit);
	if (write_file(CGROUP_DIR "/memory.max", num) < 0)
		return fail("memory.max %s: %s", num, strerror(errno));
	if (write_file(CGROUP_DIR "/cgroup.procs", "0") < 0)
		return fail("joining %s: %s", CGROUP_DIR, strerror(errno));
	return 0;
}

/* --- the process ----------------------------------------------------- */

static int set_up_process(const struct spec *s)
{
	struct termios t;
	/* The console's settings, through stdout (stdin may be /dev/null). */
	if (tcgetattr(STDOUT_FILENO, &t) == 0) {
		if (s->terminal) {
			/* The console becomes the process's controlling terminal. */
			t.c_oflag |= OPOST | ONLCR;
			if (setsid() < 0 || ioctl(STDIN_FILENO, TIOCSCTTY, 1) < 0)
				return fail("the console as a terminal: %s", strerror(errno));
		} else {
			t.c_oflag &= ~(tcflag_t)ONLCR; /* bytes go out as written */
		}
		tcsetattr(STDOUT_FILENO, TCSANOW, &t);
	}
	if (s->hostname && s->hostname[0] && sethostname(s->hostname, strlen(s->hostname)) < 0)
		return fail("host name %s: %s", s->hostname, strerror(errno));
	for (unsigned i = 0; i < s->nrlimits; i++) {
		struct rlimit rl = { s->rlimits[i].soft, s->rlimits[i].hard };
		if (setrlimit(s->rlimits[i].resource, &rl) < 0)
			return fail("rlimit %d: %s", s->rlimits[i].resource, strerror(errno));
	}
	if (s->has_umask)
		umask(s->umask);
	if (setgroups(s->ngids, s->gids) < 0 || setgid(s->gid) < 0 || setuid(s->uid) < 0)
		return fail("user %u:%u: %s", (unsigned)s->uid, (unsigned)s->gid, strerror(errno));
	if (s->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail("no_new_privs: %s", strerror(errno));
	if (chdir(s->cwd) < 0)
		return fail("cwd %s: %s", s->cwd, strerror(errno));
	return 0;
}

int main(int argc, char **argv)
{
	static struct spec s;
	size_t len;
	char *data = read_spec(argc > 1 ? argv[1] : SPEC_PATH, &len);
	if (!data || parse_spec(data, len, &s) < 0)
		return EXIT_SETUP;
	/* The limit, on the process and what it starts: a cgroup of the
	 * guest's, joined before the fork so that the container is in it
	 * from its first instruction. */
	if (s.memory_limit && join_memory_cgroup(s.memory_limit) < 0)
		return EXIT_SETUP;
	/* The container's process is PID 1 of a PID namespace, as under runc:
	 * a signal it has no handler for (podman stop's SIGTERM) does not
	 * end it, and its end ends what it started. The process that stays
	 * behind waits for it, relays stdio without a terminal, and writes
	 * its pid (as the init sees it) for the power-button watcher. */
	mkdir("/run/nestvm", 0755);
	if (unshare(CLONE_NEWPID) < 0)
		return fail("a PID namespace: %s", strerror(errno)), EXIT_SETUP;
	if (relay_fork(!s.terminal, !s.no_stdin, PID_FILE) < 0)
		return fail("the container's process: %s", strerror(errno)), EXIT_SETUP;
	/* In the container's cgroup namespace, its cgroup is the root. */
	if (s.memory_limit && unshare(CLONE_NEWCGROUP) < 0)
		return fail("a cgroup namespace: %s", strerror(errno)), EXIT_SETUP;
	/* The guest's /dev/null, before the root changes. */
	int null = s.no_stdin ? open("/dev/null", O_RDONLY) : -1;
	if (s.no_stdin && (null < 0 || dup2(null, STDIN_FILENO) < 0))
		return fail("stdin from /dev/null: %s", strerror(errno)), EXIT_SETUP;
	if (null > STDIN_FILENO)
		close(null);
	if (set_up_root(&s) < 0 || set_up_process(&s) < 0)
		return EXIT_SETUP;
	s.args[s.nargs] = NULL;
	s.env[s.nenv] = NULL;
	/* The program is looked for on the container's PATH. */
	environ = s.env;
	execvp(s.args[0], (char *const *)s.args);
	int e = errno;
	fail("%s: %s", s.args[0], strerror(e));
	return e == ENOENT ? 127 : 126;
}
