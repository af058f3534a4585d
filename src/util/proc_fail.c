#include "util/proc_fail.h"

#include <stdio.h>

int proc_vfail(int status, const char *fmt, va_list ap)
{
	fputs("nestvm: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	return status;
}

int proc_fail(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	proc_vfail(status, fmt, ap);
	va_end(ap);
	return status;
}

int proc_err_status(const struct nv_err *err)
{
	return err->kind == NV_ERR_HOST ? PROC_EXIT_HOST : PROC_EXIT_INPUT;
}

int proc_err_fail(const struct nv_err *err)
{
	return proc_fail(proc_err_status(err), "%s", err->msg);
}
