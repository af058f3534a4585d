/* The one-line errors of a nestvm process whose main is not in cli/ (the
 * daemons: vmm/vmm_daemon, net/switch_daemon_main): "nestvm: ..." on
 * stderr, as cli_fail prints them, and the exit status an nv_err's kind
 * stands for (util/err.h). */
#ifndef NESTVM_UTIL_PROC_FAIL_H
#define NESTVM_UTIL_PROC_FAIL_H

#include <stdarg.h>

#include "util/err.h"

/* The statuses of the two kinds; vmm/exit_status.h names them
 * NESTVM_EXIT_BAD_INPUT and NESTVM_EXIT_VMM_FAILURE (vmm_daemon.c checks
 * that they agree). */
#define PROC_EXIT_INPUT 2
#define PROC_EXIT_HOST 125

/* "nestvm: <fmt ...>\n" on stderr. Returns status. */
int proc_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int proc_vfail(int status, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* The exit status of err's kind: PROC_EXIT_HOST or PROC_EXIT_INPUT. */
int proc_err_status(const struct nv_err *err);
/* err's line, and that status. */
int proc_err_fail(const struct nv_err *err);

#endif
