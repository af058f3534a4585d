/* nestvm-runtime's errors and debug lines: one line "nestvm-runtime: ..."
 * on stderr, and with --log FILE also appended there, as text or (with
 * --log-format json) one JSON object a line as runc writes them:
 *   {"level":"error","msg":"...","time":"2024-05-01T12:00:00Z"}
 * which is what podman and containerd read back from the log file. */
#ifndef NESTVM_RUNTIME_LOG_H
#define NESTVM_RUNTIME_LOG_H

#include <stdbool.h>

/* Opens path for appending (created 0644); NULL: stderr only. 0, or -1
 * after saying why on stderr. */
int rt_log_open(const char *path, bool json, bool debug);

/* One error line (control characters become '?'); returns 1, the exit
 * status of a failed command. */
int rt_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* With --debug: one line at level debug, in the log file (stderr without
 * one). */
void rt_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
