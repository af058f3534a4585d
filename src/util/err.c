#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>

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
