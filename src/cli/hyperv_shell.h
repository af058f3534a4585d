/* A line of Hyper-V's published PowerShell, read the way PowerShell reads
 * it, so that `nestvm -Command '<the line as printed>'` runs it: words
 * (quotes '...', "...", and the typographic ones copied pages carry,
 * backtick escapes, no variable expansion, so '$true' stays itself),
 * pipelines ('|') and statements (';'). A command name in the middle of a
 * line that is not a parameter's value starts a new statement: copied
 * pages lose line breaks ("New-VMSwitch ... Internal New-NetNat ...").
 * The same planning serves nestvm's own argv (`nestvm A x '|' B`). Pure:
 * no I/O. */
#ifndef NESTVM_CLI_HYPERV_SHELL_H
#define NESTVM_CLI_HYPERV_SHELL_H

#include <stddef.h>

#define HV_SHELL_LINE_MAX 8192
#define HV_SHELL_WORDS_MAX 128
#define HV_SHELL_SEGMENTS_MAX 16

/* Tokens: a word (w[i], sep[i] 0) or a separator (w[i] NULL, sep[i] '|'
 * or ';'). */
struct hv_words {
	int n;
	char *w[HV_SHELL_WORDS_MAX];
	char sep[HV_SHELL_WORDS_MAX];
};

/* 0, or -1 with a one-line error (unbalanced quote, too long, too many
 * words). */
int hv_shell_tokenize(const char *line, struct hv_words *out, char *err, size_t errlen);
/* argv's words; a word that is exactly "|" or ";" is that separator. */
int hv_shell_from_argv(int argc, char **argv, struct hv_words *out, char *err, size_t errlen);
void hv_shell_words_free(struct hv_words *w);

/* One statement: a pipeline of segments, each a NULL-terminated argv
 * whose strings belong to the hv_words. */
struct hv_segment {
	int argc;
	char **argv;
};
struct hv_statement {
	int nseg;
	struct hv_segment seg[HV_SHELL_SEGMENTS_MAX];
};
struct hv_plan {
	int nstatements;
	struct hv_statement st[HV_SHELL_WORDS_MAX];
	char *slots[2 * HV_SHELL_WORDS_MAX]; /* the argvs, each NULL-terminated */
	char note[256]; /* a statement split where a line break was lost ("" if none) */
};

/* 0, or -1 with err (an empty command between separators, too many
 * segments). */
int hv_shell_plan(const struct hv_words *w, struct hv_plan *plan, char *err, size_t errlen);

#endif
