#include "vmm/warm_start.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "util/file_io.h"
#include "util/remove_tree.h"
#include "util/state_dir.h"
#include "vmm/guest_files.h"
#include "vmm/kernel_cmdline.h"

#define KEY_FILE "key"
#define KEY_TEXT_MAX (64u << 10)
#define SEED_BYTES 32

/* A word of the kernel command line that takes the boot away from the
 * default guest's init, which would then never say it is ready. */
static bool append_takes_init(const char *append)
{
	static const char *const words[] = { "init=", "rdinit=", "nestvm.cmd=", "nestvm.warm=" };
	for (const char *w = append; *w;) {
		w += strspn(w, " \t");
		for (unsigned i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (!strncmp(w, words[i], strlen(words[i])))
				return true;
		w += strcspn(w, " \t");
	}
	return false;
}

const char *warm_start_unsupported(const struct vm_config *c)
{
	if (c->kernel[0] || c->initrd[0])
		return "a kernel or initrd of its own";
	if (c->ndisks || vm_config_has_seed(c))
		return "a disk";
	if (c->nnics)
		return "a network adapter";
	if (c->has_run_as)
		return "another user";
	if (append_takes_init(c->append))
		return "an init or command of its own on the kernel command line";
	return NULL;
}

/* A growing text; on allocation failure it stays NULL and says so. */
struct text {
	char *s;
	size_t len;
	bool failed;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(struct text *t, const char *fmt, ...)
{
	if (t->failed)
		return;
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *grown = n >= 0 ? realloc(t->s, t->len + (size_t)n + 1) : NULL;
	if (!grown) {
		va_end(ap2);
		t->failed = true;
		return;
	}
	t->s = grown;
	vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	t->len += (size_t)n;
}

/* What identifies a file's contents without reading them, as make and
 * ccache's direct mode do: a rewrite changes its time or inode. */
static int add_file(struct text *t, const char *what, const char *path, struct nv_err *err)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return nv_err_input(err, "warm start: %s %s: %s", what, path, strerror(errno));
	text_add(t, "%s %s %llu %lld.%09ld %llu %llu %llu\n", what, path, (unsigned long long)st.st_size,
		 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (unsigned long long)st.st_ino,
		 (unsigned long long)st.st_dev, (unsigned long long)st.st_rdev);
	return 0;
}

/* The first processor's model and flags: a snapshot's CPUID is this
 * CPU's. */
static void add_cpu(struct text *t)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	char line[4096];
	int found = 0;
	while (f && found < 2 && fgets(line, sizeof(line), f))
		if (!strncmp(line, "model name", 10) || !strncmp(line, "flags", 5)) {
			text_add(t, "cpu %s", line);
			found++;
		}
	if (f)
		fclose(f);
	struct utsname u;
	if (uname(&u) == 0)
		text_add(t, "host %s %s\n", u.release, u.version);
}

static int add_config(struct text *t, const struct vm_config *c, struct nv_err *err)
{
	struct vm_record rec = { .config = *c };
	snprintf(rec.config.name, sizeof(rec.config.name), "warm-start");
	struct json_object *doc = vm_record_to_json(&rec);
	if (!doc)
		return nv_err_host(err, "out of memory");
	text_add(t, "config %s\n", json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN));
	json_object_put(doc);
	return 0;
}

static int key_text(struct text *t, const struct vm_config *c, struct nv_err *err)
{
	char kernel[VM_PATH_MAX], initrd[VM_PATH_MAX], nested[VM_PATH_MAX];
	text_add(t, "nestvm warm-start key 1\n");
	if (add_file(t, "nestvm", "/proc/self/exe", err) < 0 ||
	    guest_default_paths(kernel, initrd, sizeof(kernel), err) < 0 ||
	    add_file(t, "kernel", kernel, err) < 0 || add_file(t, "initrd", initrd, err) < 0)
		return -1;
	if (c->expose_virtualization_extensions && guest_nested_image_path(nested, sizeof(nested)) == 0 &&
	    add_file(t, "nested", nested, err) < 0)
		return -1;
	add_cpu(t);
	if (add_config(t, c, err) < 0)
		return -1;
	return t->failed ? nv_err_host(err, "out of memory") : 0;
}

/* FNV-1a, 64 bits: names the folder; the text itself decides. */
static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
	return h;
}

/* Temporary folders (".new-KEY-PID", ".old-KEY-PID") of runs that died
 * before they renamed or removed them. */
static void remove_leftovers(const char *root)
{
	DIR *d = opendir(root);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		const char *dash = strrchr(e->d_name, '-');
		if ((strncmp(e->d_name, ".new-", 5) && strncmp(e->d_name, ".old-", 5)) || !dash)
			continue;
		long pid = strtol(dash + 1, NULL, 10);
		if (pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		char p[VM_PATH_MAX + 300];
		if (snprintf(p, sizeof(p), "%s/%s", root, e->d_name) < (int)sizeof(p))
			remove_tree(p, 0);
	}
	if (d)
		closedir(d);
}

int warm_start_prepare(struct warm_start *w, const struct vm_config *c, struct nv_err *err)
{
	memset(w, 0, sizeof(*w));
	struct text t = { 0 };
	if (key_text(&t, c, err) < 0 || state_dir_ensure("warm", w->root, sizeof(w->root), err) < 0) {
		free(t.s);
		return -1;
	}
	w->key = t.s;
	remove_leftovers(w->root);
	int n = snprintf(w->dir, sizeof(w->dir), "%s/%016" PRIx64, w->root, fnv1a(w->key));
	if (n < 0 || (size_t)n >= sizeof(w->dir)) {
		warm_start_free(w);
		return nv_err_input(err, "warm start: the state directory's path is too long");
	}
	return 0;
}

void warm_start_free(struct warm_start *w)
{
	free(w->key);
	w->key = NULL;
}

bool warm_start_exists(const struct warm_start *w)
{
	struct stat st;
	return lstat(w->dir, &st) == 0;
}

bool warm_start_seen(const struct warm_start *w)
{
	char p[VM_PATH_MAX + 8];
	if (snprintf(p, sizeof(p), "%s.seen", w->dir) >= (int)sizeof(p))
		return false;
	struct stat st;
	if (lstat(p, &st) == 0)
		return true;
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0)
		close(fd);
	return false;
}

int warm_start_load(const struct warm_start *w, struct machine_saved *s, struct nv_err *err)
{
	char path[VM_PATH_MAX + 8], *key = NULL;
	size_t len = 0;
	snprintf(path, sizeof(path), "%s/" KEY_FILE, w->dir);
	if (file_read_bounded(path, KEY_TEXT_MAX, &key, &len) < 0)
		return nv_err_input(err, "warm-start snapshot %s: no readable key file", w->dir);
	bool same = len == strlen(w->key) && memcmp(key, w->key, len) == 0;
	free(key);
	if (!same)
		return nv_err_input(err, "warm-start snapshot %s: made for other files or settings", w->dir);
	if (machine_saved_load(w->dir, s, err) < 0)
		return -1;
	utimensat(AT_FDCWD, w->dir, NULL, 0); /* used now: the last to be pruned */
	return 0;
}

/* A sibling folder name for this process: ".new-" or ".old-" + key. -1
 * if it does not fit. */
static int sibling(const struct warm_start *w, const char *prefix, char *out, size_t size)
{
	const char *base = strrchr(w->dir, '/');
	int n = snprintf(out, size, "%s/%s%s-%ld", w->root, prefix, base ? base + 1 : w->dir, (long)getpid());
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int warm_start_save(const struct warm_start *w, struct machine *m, struct nv_err *err)
{
	char tmp[VM_PATH_MAX + 32], key[VM_PATH_MAX + 48];
	if (sibling(w, ".new-", tmp, sizeof(tmp)) < 0)
		return nv_err_input(err, "warm start: the state directory's path is too long");
	remove_tree(tmp, 0); /* a dead run's leftover of the same pid */
	if (machine_save(m, tmp, err) < 0) {
		remove_tree(tmp, 0);
		return -1;
	}
	snprintf(key, sizeof(key), "%s/" KEY_FILE, tmp);
	int rc = file_write_atomic(key, w->key, strlen(w->key));
	if (rc < 0) {
		int e = -rc;
		remove_tree(tmp, 0);
		return nv_err_host(err, "warm start: cannot write %s: %s", key, strerror(e));
	}
	if (rename(tmp, w->dir) < 0) {
		int e = errno;
		remove_tree(tmp, 0);
		/* Another run published the same snapshot first. */
		if (e == EEXIST || e == ENOTEMPTY)
			return 0;
		return nv_err_host(err, "warm start: cannot publish %s: %s", w->dir, strerror(e));
	}
	warm_start_prune(w->root, WARM_START_KEEP);
	return 0;
}

struct aged {
	char name[NAME_MAX + 1];
	struct timespec used;
};

static int older_first(const void *a, const void *b)
{
	const struct timespec *x = &((const struct aged *)a)->used, *y = &((const struct aged *)b)->used;
	if (x->tv_sec != y->tv_sec)
		return x->tv_sec < y->tv_sec ? -1 : 1;
	return x->tv_nsec < y->tv_nsec ? -1 : x->tv_nsec > y->tv_nsec;
}

void warm_start_prune(const char *root, unsigned keep)
{
	struct aged *v = NULL;
	size_t n = 0, cap = 0;
	DIR *d = opendir(root);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		struct stat st;
		if (e->d_name[0] == '.' || fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		if (n == cap) {
			struct aged *g = realloc(v, (cap = cap ? 2 * cap : 16) * sizeof(*v));
			if (!g)
				break;
			v = g;
		}
		snprintf(v[n].name, sizeof(v[n].name), "%s", e->d_name);
		v[n++].used = st.st_mtim;
	}
	if (d)
		closedir(d);
	if (n > keep) {
		qsort(v, n, sizeof(*v), older_first);
		for (size_t i = 0; i < n - keep; i++) {
			struct warm_start old = { 0 };
			if (snprintf(old.root, sizeof(old.root), "%s", root) < (int)sizeof(old.root) &&
			    snprintf(old.dir, sizeof(old.dir), "%s/%s", root, v[i].name) < (int)sizeof(old.dir))
				warm_start_discard(&old);
		}
	}
	free(v);
}

void warm_start_discard(const struct warm_start *w)
{
	char old[VM_PATH_MAX + 32];
	if (sibling(w, ".old-", old, sizeof(old)) < 0)
		return;
	remove_tree(old, 0);
	if (rename(w->dir, old) == 0)
		remove_tree(old, 0);
}

int warm_start_line(char *out, size_t size, bool restored, char *const *argv, int argc,
		    struct nv_err *err)
{
	uint8_t seed[SEED_BYTES];
	char hex[2 * SEED_BYTES + 1];
	if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		return nv_err_host(err, "warm start: getrandom: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(seed); i++)
		snprintf(hex + 2 * i, 3, "%02x", seed[i]);
	char *cmd = argc > 0 ? kernel_cmdline_encode_command(argv, argc) : NULL;
	if (argc > 0 && !cmd)
		return nv_err_host(err, "out of memory");
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int n = snprintf(out, size, "nestvm-warm 1 start=%s%s%s time=%lld.%09ld seed=%s\n",
			 restored ? "warm" : "cold", cmd ? " cmd=" : "", cmd ? cmd : "", (long long)now.tv_sec,
			 now.tv_nsec, hex);
	free(cmd);
	if (n < 0 || (size_t)n >= size || (size_t)n > WARM_START_LINE_MAX)
		return nv_err_input(err, "the command is too long (%d bytes at most, encoded)", WARM_START_LINE_MAX);
	return 0;
}
