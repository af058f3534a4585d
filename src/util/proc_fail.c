#include "util/proc_fail.h"

#include <stdio.h>
#include <string.h>

/* One write for the whole line: stderr is unbuffered, and processes that
 * share it (a pipeline of cmdlets) must not interleave their lines. */
int proc_vfail(int status, const char *fmt, va_list ap)
{
	char line[4096];
	int n = snprintf(line, sizeof(line), "nestvm: ");
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	size_t len = strlen(line);
	for (size_t i = 0; i < len; i++) /* one line, whatever a message quotes */
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
			line[i] = '?';
	line[len] = '\n';
	fwrite(line, 1, len + 1, stderr);
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
