/* Hyper-V cmdlets -> native argv (hyperv_alias.h): reads a cmdlet's
 * PowerShell-style parameters (-Name value, -Name:value, the positional
 * first one, unique prefixes, typographic dashes and quotes from copied
 * documentation), checks and converts each value, and emits the native
 * command from the table in hyperv_cmdlets.c. Pure: no I/O but Get-Help's. */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/hyperv_alias_private.h"
#include "util/err.h"

/* A script's name as the pages write it: C:\test\Enable-NestedVm.ps1,
 * .\Enable-NestedVm.ps1, ./X.ps1, or .X.ps1 (bash turns an unquoted .\X
 * into .X). The base name without .ps1 into out; false if word is no
 * script name. */
static bool script_base(const char *word, char *out, size_t len)
{
	const char *base = word;
	for (const char *p = word; *p; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	size_t n = strlen(base);
	if (n < 5 || strcasecmp(base + n - 4, ".ps1"))
		return false;
	n -= 4;
	if (base == word && base[0] == '.' && isalpha((unsigned char)base[1])) {
		base++;
		n--;
	}
	if (n >= len)
		return false;
	memcpy(out, base, n);
	out[n] = '\0';
	return true;
}

static const struct hv_cmdlet *find_cmdlet(const char *word)
{
	char base[64];
	bool script = word && script_base(word, base, sizeof(base));
	for (size_t i = 0; word && i < hv_ncmdlets; i++) {
		if (!script && !strcasecmp(word, hv_cmdlets[i].name))
			return &hv_cmdlets[i];
		if (script && hv_cmdlets[i].script && !strcasecmp(base, hv_cmdlets[i].name))
			return &hv_cmdlets[i];
	}
	return NULL;
}

bool hyperv_is_cmdlet(const char *word)
{
	return find_cmdlet(word) != NULL;
}

static const struct hv_windows_only *find_windows_only(const char *word)
{
	for (size_t i = 0; word && hv_windows_only_commands[i].name; i++)
		if (!strcasecmp(word, hv_windows_only_commands[i].name))
			return &hv_windows_only_commands[i];
	return NULL;
}

enum hyperv_command_kind hyperv_command_kind(const char *word)
{
	if (!word)
		return HV_CMD_NONE;
	if (find_cmdlet(word))
		return HV_CMD_CMDLET;
	if (!strcasecmp(word, "Format-List") || !strcasecmp(word, "FL"))
		return HV_CMD_FORMAT_LIST;
	if (!strcasecmp(word, "Format-Table") || !strcasecmp(word, "FT"))
		return HV_CMD_FORMAT_TABLE;
	if (find_windows_only(word))
		return HV_CMD_WINDOWS_ONLY;
	return HV_CMD_NONE;
}

void hyperv_windows_only(const char *word, char *err, size_t errlen)
{
	const struct hv_windows_only *w = find_windows_only(word);
	if (w)
		snprintf(err, errlen, "%s is Windows-only: %s", w->name, w->why);
	else
		snprintf(err, errlen, "'%s' is not a command nestvm knows (nestvm Get-Help)", word);
}

/* Bytes of a leading dash: '-', or a typographic one from copied text
 * (U+2010..U+2015 hyphens and dashes, U+2212 minus). 0 if none. */
static size_t dash_len(const char *w)
{
	const unsigned char *u = (const unsigned char *)w;
	if (u[0] == '-')
		return 1;
	if (u[0] == 0xe2 && u[1] == 0x80 && u[2] >= 0x90 && u[2] <= 0x95)
		return 3;
	if (u[0] == 0xe2 && u[1] == 0x88 && u[2] == 0x92)
		return 3;
	return 0;
}

static bool is_param_word(const char *w)
{
	size_t d = dash_len(w);
	return d && isalpha((unsigned char)w[d]);
}

/* Curly quotes: U+2018, U+2019, U+201C, U+201D, U+201E. */
static bool is_curly_quote(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	return u[0] == 0xe2 && u[1] == 0x80 &&
	       (u[2] == 0x98 || u[2] == 0x99 || u[2] == 0x9c || u[2] == 0x9d || u[2] == 0x9e);
}

int hv_fail(struct hv_call *c, const char *fmt, ...)
{
	int n = snprintf(c->err, c->errlen, "%s: ", c->cmd->name);
	if (n >= 0 && (size_t)n < c->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

void hv_note(struct hv_call *c, const char *fmt, ...)
{
	char *note = c->out->note;
	size_t len = strlen(note), cap = sizeof(c->out->note);
	if (len && len + 2 < cap) {
		memcpy(note + len, "; ", 3);
		len += 2;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(note + len, cap - len, fmt, ap);
	va_end(ap);
}

int hv_push(struct hv_call *c, const char *arg)
{
	struct hyperv_translation *t = c->out;
	if (t->argc >= HYPERV_MAX_ARGS)
		return hv_fail(c, "too many arguments");
	if (!(t->argv[t->argc] = strdup(arg)))
		return hv_fail(c, "out of memory");
	t->argv[++t->argc] = NULL;
	return 0;
}

int hv_replace(struct hv_call *c, int i, const char *arg)
{
	char *s = strdup(arg);
	if (!s)
		return hv_fail(c, "out of memory");
	free(c->out->argv[i]);
	c->out->argv[i] = s;
	return 0;
}

const char *hv_value(const struct hv_call *c, const char *name)
{
	for (size_t i = 0; c->cmd->params[i].name; i++)
		if (!strcmp(c->cmd->params[i].name, name))
			return c->given[i] ? c->val[i] : NULL;
	return NULL;
}

/* A NUL-terminated copy of s[0..n) in the call's pool. */
static char *keep(struct hv_call *c, const char *s, size_t n)
{
	if (c->used + n + 1 > sizeof(c->pool))
		return NULL;
	char *p = c->pool + c->used;
	memcpy(p, s, n);
	p[n] = '\0';
	c->used += n + 1;
	return p;
}

/* The value without the typographic quotes copied text puts around it. */
static char *unquote(struct hv_call *c, const char *s)
{
	size_t n = strlen(s);
	while (n >= 3 && is_curly_quote(s)) {
		s += 3;
		n -= 3;
	}
	while (n >= 3 && is_curly_quote(s + n - 3))
		n -= 3;
	return keep(c, s, n);
}

/* PowerShell's byte counts: 4GB, 512mb, 1.5GB, 4294967296 (binary units).
 * 0 and the MiB, or -1 if it is no size; -2 if not a whole number of MiB. */
static int parse_bytes(const char *s, uint64_t *mib)
{
	static const char units[] = "kmgtp";
	unsigned __int128 whole = 0, frac = 0, scale = 1;
	const char *p = s;
	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++)
		if ((whole = whole * 10 + (unsigned)(*p - '0')) >> 64)
			return -1;
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			return -1;
		for (; isdigit((unsigned char)*p); p++) {
			if (scale > 1000000000000000000ULL)
				return -1;
			frac = frac * 10 + (unsigned)(*p - '0');
			scale *= 10;
		}
	}
	unsigned shift = 0;
	if (*p) {
		const char *u = strchr(units, tolower((unsigned char)*p));
		if (!u || tolower((unsigned char)p[1]) != 'b' || p[2])
			return -1;
		shift = 10 * (unsigned)(u - units + 1);
	}
	unsigned __int128 bytes = whole << shift;
	if (frac) {
		if ((frac << shift) % scale)
			return -2; /* not even whole bytes */
		bytes += (frac << shift) / scale;
	}
	if (bytes >> 64)
		return -1;
	if (bytes % (1u << 20))
		return -2;
	*mib = (uint64_t)(bytes >> 20);
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "$true", "true", "1" }, *const no[] = { "$false", "false", "0" };
	for (size_t i = 0; i < 3; i++) {
		if (!strcasecmp(v, yes[i]))
			return *out = true, 0;
		if (!strcasecmp(v, no[i]))
			return *out = false, 0;
	}
	return -1;
}

static int bash_ate_bool(struct hv_call *c, const struct hv_param *p)
{
	return hv_fail(c, "-%s needs a value: the shell expanded $true or $false to nothing; quote it "
			  "('$true') or write true or false", p->name);
}

/* Checks raw (already unquoted) and stores its native form for p. */
static int convert(struct hv_call *c, const struct hv_param *p, char *raw, const char **out)
{
	char buf[64];
	bool b;
	if (p->kind == HV_BOOL || p->kind == HV_FLAG) {
		if (parse_bool(raw, &b) < 0)
			return hv_fail(c, "-%s: '%s' is not a boolean ($true or $false)", p->name, raw);
		return *out = b ? "on" : "off", 0;
	}
	if (!*raw)
		return hv_fail(c, "-%s needs a value", p->name);
	if (raw[0] == '$')
		return hv_fail(c, "-%s: '%s' is a PowerShell variable, which nestvm cannot see: give "
				  "the value itself", p->name, raw);
	switch (p->kind) {
	case HV_NAME:
		if (strchr(raw, ','))
			return hv_fail(c, "-%s: one name only ('%s')", p->name, raw);
		/* fallthrough */
	case HV_NAMES:
		if (strspn(raw, ", ") == strlen(raw))
			return hv_fail(c, "-%s needs a value", p->name);
		if (strpbrk(raw, "*?["))
			return hv_fail(c, "-%s: wildcards are not supported ('%s')", p->name, raw);
		break;
	case HV_SIZE: {
		uint64_t mib = 0;
		int r = parse_bytes(raw, &mib);
		if (r == -2)
			return hv_fail(c, "-%s: %s is not a whole number of MiB", p->name, raw);
		if (r < 0)
			return hv_fail(c, "-%s: '%s' is not a size (4GB, 512MB, 4294967296)", p->name, raw);
		if (!mib)
			return hv_fail(c, "-%s: must be more than 0", p->name);
		snprintf(buf, sizeof(buf), "%lluM", (unsigned long long)mib);
		raw = buf;
		break;
	}
	case HV_ONOFF:
		if (strcasecmp(raw, "on") && strcasecmp(raw, "off"))
			return hv_fail(c, "-%s: '%s' is not On or Off", p->name, raw);
		raw = tolower((unsigned char)raw[1]) == 'n' ? "on" : "off";
		break;
	case HV_COUNT:
		if (strspn(raw, "0123456789") != strlen(raw) || strlen(raw) > 9 || !strtoul(raw, NULL, 10))
			return hv_fail(c, "-%s: '%s' is not a positive whole number", p->name, raw);
		snprintf(buf, sizeof(buf), "%lu", strtoul(raw, NULL, 10));
		raw = buf;
		break;
	case HV_CHOICE: {
		size_t n = strlen(raw);
		const char *t = p->text;
		while (t) {
			const char *bar = strchr(t, '|');
			size_t len = bar ? (size_t)(bar - t) : strlen(t);
			if (len == n && !strncasecmp(t, raw, n))
				break;
			t = bar ? bar + 1 : NULL;
		}
		if (!t || n >= sizeof(buf))
			return hv_fail(c, "-%s: '%s' is not one of %s", p->name, raw, p->text);
		for (size_t i = 0; i <= n; i++)
			buf[i] = (char)tolower((unsigned char)raw[i]);
		raw = buf;
		break;
	}
	case HV_MAC: { /* 00155D010203, 00-15-5D-01-02-03, 00:15:..., 0015.5d01.0203 */
		const char *s = raw;
		size_t n = 0;
		while (*s && n < 12 && isxdigit((unsigned char)s[0]) && isxdigit((unsigned char)s[1])) {
			buf[n / 2 * 3] = (char)tolower((unsigned char)s[0]);
			buf[n / 2 * 3 + 1] = (char)tolower((unsigned char)s[1]);
			buf[n / 2 * 3 + 2] = ':';
			n += 2;
			s += 2;
			if (*s && strchr("-:.", *s) && n < 12 && isxdigit((unsigned char)s[1]))
				s++;
		}
		if (n != 12 || *s)
			return hv_fail(c, "-%s: '%s' is not a MAC address (00155D010203)", p->name, raw);
		buf[17] = '\0';
		raw = buf;
		break;
	}
	case HV_GENERATION:
		if (strcmp(raw, "1") && strcmp(raw, "2"))
			return hv_fail(c, "-%s: '%s' is not 1 or 2", p->name, raw);
		break;
	default:
		break;
	}
	if (p->text && (p->kind == HV_NAME || p->kind == HV_TEXT)) {
		snprintf(buf, sizeof(buf), "%s%s", p->text, raw);
		if (strlen(p->text) + strlen(raw) >= sizeof(buf))
			return hv_fail(c, "-%s: too long", p->name);
		raw = buf;
	}
	if (!(*out = keep(c, raw, strlen(raw))))
		return hv_fail(c, "arguments too long");
	return 0;
}

/* Which parameter -word names: exact name or alias, else a unique prefix
 * (as PowerShell allows). Sets *idx (-1 for a common parameter). */
static const struct hv_param *find_param(struct hv_call *c, const char *word, size_t n, int *idx)
{
	const struct hv_param *lists[2] = { c->cmd->params, hv_common_params };
	const struct hv_param *hit = NULL;
	int hits = 0;
	char names[160] = "";
	for (int exact = 1; exact >= 0 && !hits; exact--)
		for (int l = 0; l < 2; l++)
			for (int i = 0; lists[l][i].name; i++) {
				const struct hv_param *p = &lists[l][i];
				const char *cand[2] = { p->name, p->alias };
				for (int k = 0; k < 2; k++) {
					if (!cand[k] || strncasecmp(cand[k], word, n) ||
					    (exact && cand[k][n]))
						continue;
					size_t len = strlen(names);
					snprintf(names + len, sizeof(names) - len, "%s-%s",
						 len ? ", " : "", p->name);
					hits++;
					hit = p;
					*idx = l ? -1 : i;
					break;
				}
			}
	if (hits == 1)
		return hit;
	if (hits)
		hv_fail(c, "-%.*s is ambiguous: %s", (int)n, word, names);
	else
		hv_fail(c, "unknown parameter -%.*s (nestvm Get-Help %s lists them)", (int)n, word,
			c->cmd->name);
	return NULL;
}

static int positional_index(const struct hv_cmdlet *cmd)
{
	for (int i = 0; cmd->params[i].name; i++)
		if (cmd->params[i].flags & HV_POSITIONAL)
			return i;
	return -1;
}

static int set_value(struct hv_call *c, int i, const char *raw)
{
	const struct hv_param *p = &c->cmd->params[i];
	if (c->given[i])
		return hv_fail(c, "-%s given twice", p->name);
	char *v = unquote(c, raw);
	if (!v)
		return hv_fail(c, "arguments too long");
	c->given[i] = true;
	return convert(c, p, v, &c->val[i]);
}

/* Reads argv[1..] into c->given/val. */
static int parse_args(struct hv_call *c, int argc, char **argv)
{
	for (int a = 1; a < argc; a++) {
		const char *w = argv[a];
		if (!strcmp(w, "|") || !strcmp(w, ";"))
			return hv_fail(c, "'%s' inside one command: hyperv_run splits pipelines first", w);
		if (!strncmp(w, "--", 2) && isalpha((unsigned char)w[2]))
			return hv_fail(c, "'%s' is not a cmdlet parameter (they take one dash: -Name)", w);
		if (!is_param_word(w)) {
			int pos = positional_index(c->cmd);
			if (pos < 0 || c->given[pos])
				return hv_fail(c, "unexpected argument '%s'", w);
			if (set_value(c, pos, w) < 0)
				return -1;
			continue;
		}
		const char *name = w + dash_len(w), *colon = strchr(name, ':');
		size_t n = colon ? (size_t)(colon - name) : strlen(name);
		int i = -1;
		const struct hv_param *p = find_param(c, name, n, &i);
		if (!p)
			return -1;
		if (p->kind == HV_UNSUPPORTED)
			return hv_fail(c, "-%s is not supported: %s", p->name, p->text);
		if (c->given[i])
			return hv_fail(c, "-%s given twice", p->name);
		if (colon) { /* -Name:value; -Name: is what the shell leaves of -Name:$true */
			if (!colon[1] && (p->kind == HV_BOOL || p->kind == HV_FLAG))
				return bash_ate_bool(c, p);
			if (set_value(c, i, colon + 1) < 0)
				return -1;
			continue;
		}
		if (p->kind == HV_FLAG) {
			if (set_value(c, i, "true") < 0)
				return -1;
			continue;
		}
		if (a + 1 >= argc || is_param_word(argv[a + 1]) || !strcmp(argv[a + 1], "|")) {
			if (p->kind == HV_BOOL)
				return bash_ate_bool(c, p);
			return hv_fail(c, "-%s needs a value", p->name);
		}
		const char *v = argv[++a];
		char joined[1024];
		if (p->kind == HV_NAMES) { /* -Name A, B arrives as "A," "B" */
			snprintf(joined, sizeof(joined), "%s", v);
			while (joined[0] && joined[strlen(joined) - 1] == ',' && a + 1 < argc &&
			       !is_param_word(argv[a + 1])) {
				size_t len = strlen(joined);
				if (len + strlen(argv[a + 1]) >= sizeof(joined))
					return hv_fail(c, "-%s: too long", p->name);
				strcat(joined, argv[++a]);
			}
			v = joined;
		}
		if (set_value(c, i, v) < 0)
			return -1;
	}
	return 0;
}

/* The native argv: command words, then the parameters in table order. */
static int emit(struct hv_call *c)
{
	const struct hv_cmdlet *cmd = c->cmd;
	for (int i = 0; i < 3 && cmd->native[i]; i++)
		if (hv_push(c, cmd->native[i]) < 0)
			return -1;
	for (int i = 0; cmd->params[i].name; i++) {
		const struct hv_param *p = &cmd->params[i];
		if (!c->given[i] || (p->flags & HV_MANUAL))
			continue;
		if (p->kind == HV_FLAG || p->kind == HV_GENERATION) {
			if (strcmp(c->val[i], "off") && !p->opt)
				hv_note(c, "%s", p->text);
			else if (strcmp(c->val[i], "off") && hv_push(c, p->opt) < 0)
				return -1;
			continue;
		}
		if (p->kind == HV_NAMES) {
			char list[1024];
			snprintf(list, sizeof(list), "%s", c->val[i]);
			for (char *save = NULL, *s = strtok_r(list, ",", &save); s;
			     s = strtok_r(NULL, ",", &save)) {
				s += strspn(s, " ");
				if (*s && hv_push(c, s) < 0)
					return -1;
			}
			continue;
		}
		if ((p->opt && hv_push(c, p->opt) < 0) || hv_push(c, c->val[i]) < 0)
			return -1;
	}
	return 0;
}

/* The VM of a piped object goes where -VMName (or -Name) would. */
static int bind(struct hv_call *c)
{
	const struct hv_cmdlet *cmd = c->cmd;
	for (int i = 0; cmd->params[i].name; i++) {
		if (!(cmd->params[i].flags & HV_PIPELINE))
			continue;
		if (!c->bind)
			return 0;
		if (c->given[i])
			return hv_fail(c, "-%s given and objects piped in: give one or the other",
				       cmd->params[i].name);
		return set_value(c, i, c->bind->vm_name);
	}
	if (c->bind)
		return hv_fail(c, "takes no objects from a pipeline");
	return 0;
}

static int translate(struct hv_call *c, int argc, char **argv)
{
	if (parse_args(c, argc, argv) < 0 || bind(c) < 0)
		return -1;
	const struct hv_cmdlet *cmd = c->cmd;
	for (int i = 0; cmd->params[i].name; i++) {
		unsigned f = cmd->params[i].flags;
		if (!(f & HV_REQUIRED) || c->given[i])
			continue;
		if (f & HV_PIPELINE) {
			hv_fail(c, "-%s is required (nestvm %s), or objects piped in from a Get-VM* "
				   "cmdlet (nestvm Get-VM %s | nestvm %s)",
				cmd->params[i].name, cmd->example, "X", cmd->name);
			return -2;
		}
		return hv_fail(c, "-%s is required (usage: nestvm %s)", cmd->params[i].name, cmd->example);
	}
	c->out->objects = (int)cmd->objects;
	for (int i = 0; i < 3 && cmd->native[i]; i++)
		c->out->native_words = i + 1;
	if (emit(c) < 0)
		return -1;
	if (cmd->finish && cmd->finish(c) < 0)
		return -1;
	if (cmd->note)
		hv_note(c, "%s", cmd->note);
	return 0;
}

int hyperv_translate(int argc, char **argv, struct hyperv_translation *out, char *err,
		     size_t errlen)
{
	return hyperv_translate_bound(argc, argv, NULL, out, err, errlen);
}

int hyperv_translate_bound(int argc, char **argv, const struct hyperv_binding *bind,
			   struct hyperv_translation *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (errlen)
		err[0] = '\0';
	struct hv_call *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->cmd = argc > 0 ? find_cmdlet(argv[0]) : NULL;
	c->out = out;
	c->bind = bind;
	c->err = err;
	c->errlen = errlen;
	int r = -1;
	if (!c->cmd)
		snprintf(err, errlen, "'%s' is not a cmdlet nestvm knows (nestvm Get-Help)",
			 argc > 0 ? argv[0] : "");
	else
		r = translate(c, argc, argv);
	free(c);
	if (r < 0) {
		hyperv_translation_free(out);
		if (errlen)
			err_one_line(err); /* a word may hold a newline: one line still */
	}
	return r;
}

void hyperv_translation_free(struct hyperv_translation *t)
{
	for (int i = 0; i < t->argc; i++)
		free(t->argv[i]);
	memset(t, 0, sizeof(*t));
}

static const char *const kind_value[] = {
	[HV_NAME] = "NAME", [HV_NAMES] = "NAME[,NAME...]", [HV_TEXT] = "VALUE",
	[HV_SIZE] = "4GB", [HV_BOOL] = "$true|$false", [HV_ONOFF] = "On|Off",
	[HV_COUNT] = "N", [HV_FLAG] = "", [HV_CHOICE] = "CHOICE", [HV_MAC] = "MAC",
	[HV_GENERATION] = "1|2", [HV_UNSUPPORTED] = "",
};

int hyperv_help(FILE *f, const char *cmdlet)
{
	const struct hv_cmdlet *cmd = find_cmdlet(cmdlet);
	if (cmdlet && !cmd)
		return -1;
	if (!cmd) {
		fprintf(f, "Hyper-V cmdlets nestvm runs (names and parameters in any case; -Name value,\n"
			   "-Name:value; quote $true as '$true' or write true):\n");
		for (size_t i = 0; i < hv_ncmdlets; i++)
			fprintf(f, "  %-24s %s\n  %-24s   -> nestvm %s%s%s\n", hv_cmdlets[i].name,
				hv_cmdlets[i].syntax, "", hv_cmdlets[i].native[0],
				hv_cmdlets[i].native[1] ? " " : "",
				hv_cmdlets[i].native[1] ? hv_cmdlets[i].native[1] : "");
		fprintf(f, "`nestvm Get-Help CMDLET` shows one cmdlet's parameters.\n");
		return 0;
	}
	fprintf(f, "%s %s\n  runs: nestvm %s%s%s\n", cmd->name, cmd->syntax, cmd->native[0],
		cmd->native[1] ? " " : "", cmd->native[1] ? cmd->native[1] : "");
	for (const struct hv_param *p = cmd->params; p->name; p++) {
		if (p->kind == HV_UNSUPPORTED)
			fprintf(f, "  -%-32s not supported: %s\n", p->name, p->text);
		else
			fprintf(f, "  -%-32s %s%s%s%s%s\n", p->name,
				p->kind == HV_CHOICE ? p->text : kind_value[p->kind],
				p->flags & HV_REQUIRED ? " (required)" : "",
				p->opt ? " -> " : "", p->opt ? p->opt : "",
				p->kind == HV_FLAG && !p->opt ? " (no effect)" : "");
	}
	if (cmd->objects)
		fprintf(f, "  prints %s objects: a table on a terminal, one JSON object per line to a pipe\n"
			   "  (nestvm %s | nestvm FL '*')\n", hv_object_type_name(cmd->objects), cmd->example);
	for (const struct hv_param *p = cmd->params; p->name; p++)
		if (p->flags & HV_PIPELINE)
			fprintf(f, "  reads a pipe: without -%s, the VMs of the objects piped in\n"
				   "  (nestvm Get-VM X | nestvm %s)\n", p->name, cmd->name);
	fprintf(f, "  e.g. nestvm %s\n", cmd->example);
	return 0;
}
