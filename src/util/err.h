/* Error reporting for library code: functions return a negative value and fill
 * a struct nv_err with one line naming the problem. Only cli/ prints and exits.
 * The kind tells the CLI which exit status to use. */
#ifndef NESTVM_UTIL_ERR_H
#define NESTVM_UTIL_ERR_H

enum nv_err_kind {
	NV_ERR_NONE = 0,
	NV_ERR_INPUT, /* the user's input is wrong: exit status 2 */
	NV_ERR_HOST,  /* the host or the VMM failed: exit status 125 */
};

struct nv_err {
	enum nv_err_kind kind;
	char msg[512];
};

/* One line whatever a file, a guest or a pipe put in the values a message
 * quotes: control characters (a newline in a name, an escape sequence)
 * become '?'. Every nv_err message goes through it. */
void err_one_line(char *s);

/* Both return -1 so that callers can write `return nv_err_input(e, ...)`.
 * A NULL err is allowed (message dropped). */
int nv_err_input(struct nv_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int nv_err_host(struct nv_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Puts "PREFIX: " (fmt's text) before err's message, its kind kept: says
 * which of several alike (a VM's shared folders) failed. -1. */
int nv_err_prefix(struct nv_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
