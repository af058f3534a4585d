#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void err_one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static int err_set(struct nv_err *err, enum nv_err_kind kind, const char *fmt,
		   va_list ap)
{
	if (err) {
		err->kind = kind;
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		err_one_line(err->msg);
	}
	return -1;
}

int nv_err_input(struct nv_err *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_set(err, NV_ERR_INPUT, fmt, ap);
	va_end(ap);
	return -1;
}

int nv_err_host(struct nv_err *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_set(err, NV_ERR_HOST, fmt, ap);
	va_end(ap);
	return -1;
}

int nv_err_prefix(struct nv_err *err, const char *fmt, ...)
{
	if (!err)
		return -1;
	char msg[sizeof(err->msg)];
	memcpy(msg, err->msg, sizeof(msg));
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	/* Cut, never overrun: the message is one line of at most 511 bytes. */
	size_t at = n < 0 ? 0 : (size_t)n < sizeof(err->msg) ? (size_t)n : sizeof(err->msg) - 1;
	size_t len = strnlen(msg, sizeof(msg) - 1);
	if (at + 2 < sizeof(err->msg)) {
		memcpy(err->msg + at, ": ", 2);
		at += 2;
		if (len > sizeof(err->msg) - 1 - at)
			len = sizeof(err->msg) - 1 - at;
		memcpy(err->msg + at, msg, len);
		err->msg[at + len] = '\0';
	}
	err_one_line(err->msg);
	return -1;
}
