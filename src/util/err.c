#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>

static int err_set(struct nv_err *err, enum nv_err_kind kind, const char *fmt,
		   va_list ap)
{
	if (err) {
		err->kind = kind;
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		/* One line whatever a file or a guest put in the values it
		 * quotes: control characters (a newline in a name, an escape
		 * sequence) become '?'. */
		for (char *c = err->msg; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
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
