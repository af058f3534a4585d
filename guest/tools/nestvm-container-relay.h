/* The container's stdio without a terminal: the console in raw mode
 * carries stdin, stdout and stderr as one escaped stream (the host's side
 * and the format: src/util/stdio_mux.h). */
#ifndef NESTVM_CONTAINER_RELAY_H
#define NESTVM_CONTAINER_RELAY_H

#include <stdbool.h>

/* Forks the container's process (the caller, in a new PID namespace,
 * becomes its PID 1); returns 0 in it. The parent writes the child's pid
 * to pid_file, waits for it and exits with its status (128 + the signal's
 * number for a signal). With relay, the child's stdin (when with_stdin),
 * stdout and stderr are pipes that the parent relays to and from the
 * console (its fds 0 and 1) until the child has ended and its output is
 * drained; without, the child keeps the console (a terminal). -1 when the
 * fork or the relay's pipes fail. */
int relay_fork(bool relay, bool with_stdin, const char *pid_file);

#endif
