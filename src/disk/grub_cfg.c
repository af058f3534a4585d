/* The default entry of a grub.cfg (boot_entry.h): two passes over the
 * text, one for `set default=`, one for that entry's linux and initrd
 * lines. Braces are counted as bare words, which is how grub-mkconfig
 * writes menuentry and submenu blocks. */
#include "disk/boot_entry.h"
#include "disk/boot_words.h"

#include <stdlib.h>
#include <string.h>

struct grub_target {
	long top; /* index among top-level menuentry and submenu blocks */
	long sub; /* index inside that submenu, or -1 */
};

/* Calls fn for each line's words with the brace depth at its start;
 * stops when fn returns non-zero and gives that back. */
typedef int (*grub_line_fn)(const struct boot_words *w, long depth, void *ctx);

static int grub_walk(const char *text, size_t len, struct boot_words *w, grub_line_fn fn,
		     void *ctx)
{
	long depth = 0;
	size_t start = 0;
	while (start < len) {
		const char *nl = memchr(text + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - text) : len;
		boot_words_split(text + start, end - start, w);
		int r = fn(w, depth, ctx);
		if (r)
			return r;
		for (size_t i = 0; i < w->n; i++) {
			if (w->w[i].bare && strcmp(w->w[i].text, "{") == 0)
				depth++;
			else if (w->w[i].bare && strcmp(w->w[i].text, "}") == 0 && depth > 0)
				depth--;
		}
		start = end + 1;
	}
	return 0;
}

/* "N" or "N>M"; anything else (a title, ${saved_entry}) is entry 0. */
static struct grub_target parse_default(const char *v)
{
	struct grub_target t = { 0, -1 };
	char *end;
	if (*v < '0' || *v > '9' || strlen(v) > 20)
		return t;
	long top = strtol(v, &end, 10);
	if (*end == '\0' && top < 1000000)
		return (struct grub_target){ top, -1 };
	if (*end != '>' || end[1] < '0' || end[1] > '9')
		return t;
	long sub = strtol(end + 1, &end, 10);
	if (*end != '\0' || top >= 1000000 || sub >= 1000000)
		return t;
	return (struct grub_target){ top, sub };
}

static int find_default(const struct boot_words *w, long depth, void *ctx)
{
	if (depth == 0 && boot_words_is(w, 0, "set") && w->n >= 2 &&
	    strncmp(w->w[1].text, "default=", 8) == 0)
		*(struct grub_target *)ctx = parse_default(w->w[1].text + 8);
	return 0; /* the last one at the top level counts */
}

struct grub_scan {
	struct grub_target want;
	const char *what;
	struct boot_entry *out;
	struct nv_err *err;
	long entries;      /* menuentry blocks seen, at any level */
	long top_next;     /* index of the next top-level block */
	long submenu_body; /* depth inside the current submenu, or -1 */
	long submenu_index;
	long sub_next;
	long body;         /* depth inside the chosen entry, or -1 */
	bool chosen, linux_seen;
};

static bool is_one_of(const struct boot_words *w, const char *const *names)
{
	for (; *names; names++)
		if (boot_words_is(w, 0, *names))
			return true;
	return false;
}

static const char *const linux_cmds[] = { "linux", "linux16", "linuxefi", NULL };
static const char *const initrd_cmds[] = { "initrd", "initrd16", "initrdefi", NULL };

/* A $ in a path past its device prefix: ($root)/vmlinuz is fine, the
 * device being the filesystem we read anyway. */
static bool path_uses_var(const struct boot_word *w)
{
	const char *p = w->text;
	if (!w->has_var)
		return false;
	if (p[0] == '(' && strchr(p, ')'))
		p = strchr(p, ')') + 1;
	return strchr(p, '$') != NULL;
}

static int take_linux(struct grub_scan *s, const struct boot_words *w)
{
	if (w->too_many || w->too_long)
		return nv_err_input(s->err, "%s: a linux line too long", s->what);
	if (w->n < 2)
		return nv_err_input(s->err, "%s: a linux line without a kernel", s->what);
	if (path_uses_var(&w->w[1]))
		return nv_err_input(s->err, "%s: the kernel path '%.64s' uses a GRUB variable",
				    s->what, w->w[1].text);
	if (boot_entry_set_path(s->out->kernel, w->w[1].text, s->what, "kernel", s->err) < 0)
		return -1;
	s->out->cmdline[0] = '\0';
	for (size_t i = 2; i < w->n; i++)
		if (!w->w[i].has_var && boot_entry_add_arg(s->out, w->w[i].text, s->what, s->err) < 0)
			return -1;
	s->linux_seen = true;
	return 0;
}

static int take_initrd(struct grub_scan *s, const struct boot_words *w)
{
	if (w->too_many || w->too_long)
		return nv_err_input(s->err, "%s: an initrd line too long", s->what);
	s->out->n_initrds = 0;
	for (size_t i = 1; i < w->n; i++) {
		if (path_uses_var(&w->w[i]))
			return nv_err_input(s->err, "%s: the initrd path '%.64s' uses a GRUB variable",
					    s->what, w->w[i].text);
		if (boot_entry_add_initrd(s->out, w->w[i].text, s->what, s->err) < 0)
			return -1;
	}
	return 0;
}

/* 1: the chosen entry ended; -1: refused; 0: go on. */
static int scan_line(const struct boot_words *w, long depth, void *ctx)
{
	struct grub_scan *s = ctx;
	if (s->submenu_body >= 0 && depth < s->submenu_body)
		s->submenu_body = -1;
	if (s->body >= 0) {
		if (depth < s->body)
			return 1;
		if (is_one_of(w, linux_cmds) && !s->linux_seen)
			return take_linux(s, w) < 0 ? -1 : 0;
		if (is_one_of(w, initrd_cmds) && s->out->n_initrds == 0)
			return take_initrd(s, w) < 0 ? -1 : 0;
		return 0;
	}
	bool entry = boot_words_is(w, 0, "menuentry"), submenu = boot_words_is(w, 0, "submenu");
	if (!entry && !submenu)
		return 0;
	s->entries += entry;
	if (depth == 0) {
		long index = s->top_next++;
		if (submenu) {
			s->submenu_body = 1;
			s->submenu_index = index;
			s->sub_next = 0;
		} else if (index == s->want.top) {
			s->chosen = true; /* N>M naming a menuentry: GRUB boots N */
			s->body = 1;
		}
	} else if (entry && s->submenu_body >= 0 && depth == s->submenu_body) {
		long index = s->sub_next++;
		if (s->submenu_index == s->want.top && index == (s->want.sub < 0 ? 0 : s->want.sub)) {
			s->chosen = true;
			s->body = depth + 1;
		}
	}
	return 0;
}

static int scan_for(const char *text, size_t len, struct boot_words *w, struct grub_target want,
		    const char *what, struct boot_entry *out, struct nv_err *err,
		    struct grub_scan *s)
{
	*s = (struct grub_scan){ .want = want, .what = what, .out = out, .err = err,
				 .submenu_body = -1, .body = -1 };
	memset(out, 0, sizeof(*out));
	return grub_walk(text, len, w, scan_line, s) < 0 ? -1 : 0;
}

int grub_cfg_default_entry(const char *text, size_t len, const char *what, struct boot_entry *out,
			   struct nv_err *err)
{
	struct boot_words *w = malloc(sizeof(*w));
	if (!w)
		return nv_err_host(err, "%s: out of memory", what);
	struct grub_target want = { 0, -1 };
	grub_walk(text, len, w, find_default, &want);
	struct grub_scan s;
	int r = scan_for(text, len, w, want, what, out, err, &s);
	if (r == 0 && !s.chosen && (want.top != 0 || want.sub > 0)) /* GRUB falls back to 0 */
		r = scan_for(text, len, w, (struct grub_target){ 0, -1 }, what, out, err, &s);
	free(w);
	if (r < 0)
		return -1;
	if (!s.chosen)
		return nv_err_input(err, "%s: no menuentry with a linux line", what);
	if (!s.linux_seen) {
		if (s.want.sub >= 0)
			return nv_err_input(err, "%s: menu entry %ld>%ld has no linux line", what,
					    s.want.top, s.want.sub);
		return nv_err_input(err, "%s: menu entry %ld has no linux line", what, s.want.top);
	}
	return 0;
}

static int find_blscfg(const struct boot_words *w, long depth, void *ctx)
{
	return boot_words_is(w, 0, "blscfg");
}

bool grub_cfg_uses_blscfg(const char *text, size_t len)
{
	struct boot_words *w = malloc(sizeof(*w));
	if (!w)
		return false;
	bool uses = grub_walk(text, len, w, find_blscfg, NULL) == 1;
	free(w);
	return uses;
}
