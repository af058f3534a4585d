/* PowerShell's words, pipelines and statements (hyperv_shell.h). */
#include "cli/hyperv_shell.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/hyperv_alias.h"

/* Bytes of a quote character at s: 1 for ' and ", 3 for the typographic
 * ones; *dbl tells which kind ("..." or '...'). 0 if none. */
static size_t quote_at(const char *s, bool *dbl)
{
	const unsigned char *u = (const unsigned char *)s;
	if (u[0] == '\'' || u[0] == '"') {
		*dbl = u[0] == '"';
		return 1;
	}
	if (u[0] == 0xe2 && u[1] == 0x80 && u[2] >= 0x98 && u[2] <= 0x9e) {
		*dbl = u[2] >= 0x9c; /* U+2018..201B single, U+201C..201E double */
		return 3;
	}
	return 0;
}

/* Bytes of white space at s (ASCII, or the no-break space pages carry). */
static size_t space_at(const char *s)
{
	if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		return 1;
	if ((unsigned char)s[0] == 0xc2 && (unsigned char)s[1] == 0xa0)
		return 2;
	return 0;
}

static int add(struct hv_words *out, char *word, char sep, char *err, size_t errlen)
{
	if (out->n >= HV_SHELL_WORDS_MAX) {
		free(word);
		snprintf(err, errlen, "more than %d words", HV_SHELL_WORDS_MAX);
		return -1;
	}
	out->w[out->n] = word;
	out->sep[out->n++] = sep;
	return 0;
}

int hv_shell_tokenize(const char *line, struct hv_words *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	size_t len = strlen(line);
	if (len > HV_SHELL_LINE_MAX) {
		snprintf(err, errlen, "the command is longer than %d bytes", HV_SHELL_LINE_MAX);
		return -1;
	}
	char *buf = malloc(len + 1);
	if (!buf)
		return snprintf(err, errlen, "out of memory"), -1;
	const char *p = line;
	int r = 0;
	while (r == 0) {
		size_t sp;
		while ((sp = space_at(p)))
			p += sp;
		if (!*p || *p == '#')
			break;
		if (*p == '|' || *p == ';') {
			r = add(out, NULL, *p++, err, errlen);
			continue;
		}
		size_t n = 0;
		bool quoted = false;
		while (*p && !space_at(p) && *p != '|' && *p != ';') {
			bool dbl;
			size_t q = quote_at(p, &dbl);
			if (*p == '`' && p[1]) { /* PowerShell's escape */
				buf[n++] = p[1];
				p += 2;
				continue;
			}
			if (!q) {
				buf[n++] = *p++;
				continue;
			}
			quoted = true; /* up to a closing quote of the same kind */
			p += q;
			for (;;) {
				bool d2;
				size_t q2 = quote_at(p, &d2);
				if (!*p) {
					snprintf(err, errlen, "a quote (%s) is not closed", dbl ? "\"" : "'");
					r = -1;
					break;
				}
				if (q2 && d2 == dbl) {
					p += q2;
					break;
				}
				if (dbl && *p == '`' && p[1]) {
					buf[n++] = p[1];
					p += 2;
					continue;
				}
				buf[n++] = *p++;
			}
			if (r < 0)
				break;
		}
		if (r < 0)
			break;
		if (n || quoted) {
			char *word = strndup(buf, n);
			r = word ? add(out, word, 0, err, errlen) : (snprintf(err, errlen, "out of memory"), -1);
		}
	}
	free(buf);
	if (r < 0)
		hv_shell_words_free(out);
	return r;
}

int hv_shell_from_argv(int argc, char **argv, struct hv_words *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < argc; i++) {
		int r;
		if (!strcmp(argv[i], "|") || !strcmp(argv[i], ";")) {
			r = add(out, NULL, argv[i][0], err, errlen);
		} else {
			char *word = strdup(argv[i]);
			r = word ? add(out, word, 0, err, errlen) : (snprintf(err, errlen, "out of memory"), -1);
		}
		if (r < 0) {
			hv_shell_words_free(out);
			return -1;
		}
	}
	return 0;
}

void hv_shell_words_free(struct hv_words *w)
{
	for (int i = 0; i < w->n; i++)
		free(w->w[i]);
	memset(w, 0, sizeof(*w));
}

static bool is_parameter(const char *w)
{
	const unsigned char *u = (const unsigned char *)w;
	return u[0] == '-' || (u[0] == 0xe2 && ((u[1] == 0x80 && u[2] >= 0x90 && u[2] <= 0x95) ||
						(u[1] == 0x88 && u[2] == 0x92)));
}

/* Does word i start a statement of its own, the line break before it lost?
 * A command's name, not a parameter's value, not in Get-Help's topic. */
static bool lost_line_break(const struct hv_words *w, int first, int i)
{
	if (i == first || w->sep[i] || w->sep[i - 1])
		return false;
	/* Not FL or FT: they follow a '|', and a VM may well be called "ft". */
	enum hyperv_command_kind k = hyperv_command_kind(w->w[i]);
	if (k == HV_CMD_NONE || k == HV_CMD_FORMAT_LIST || k == HV_CMD_FORMAT_TABLE || is_parameter(w->w[i - 1]))
		return false;
	return strcasecmp(w->w[first], "Get-Help") != 0;
}

int hv_shell_plan(const struct hv_words *w, struct hv_plan *plan, char *err, size_t errlen)
{
	memset(plan, 0, sizeof(*plan));
	int slot = 0, i = 0;
	while (i < w->n) {
		struct hv_statement *st = &plan->st[plan->nstatements++];
		int first = i;
		for (;;) { /* one segment */
			if (i >= w->n || w->sep[i]) {
				snprintf(err, errlen, "an empty command before '%c'", i < w->n ? w->sep[i] : '|');
				return -1;
			}
			if (st->nseg == HV_SHELL_SEGMENTS_MAX) {
				snprintf(err, errlen, "more than %d commands in one pipeline", HV_SHELL_SEGMENTS_MAX);
				return -1;
			}
			struct hv_segment *sg = &st->seg[st->nseg++];
			sg->argv = &plan->slots[slot];
			int seg_first = i;
			while (i < w->n && !w->sep[i] && !(i > seg_first && lost_line_break(w, seg_first, i))) {
				plan->slots[slot++] = w->w[i++];
				sg->argc++;
			}
			plan->slots[slot++] = NULL;
			if (i < w->n && !w->sep[i]) { /* a lost line break */
				snprintf(plan->note, sizeof(plan->note),
					 "'%s' begins a command of its own (the text lost a line break): running "
					 "it after '%s'",
					 w->w[i], w->w[first]);
				break;
			}
			if (i < w->n && w->sep[i] == '|') {
				i++;
				continue;
			}
			if (i < w->n) /* ';' */
				i++;
			break;
		}
	}
	return 0;
}
