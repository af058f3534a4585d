/* A process as /proc/PID/stat tells it: its state letter (field 3) and its
 * start time in clock ticks since boot (field 22), which together with the
 * pid names one process for its life: a pid used again by another process
 * has another start time. */
#ifndef NESTVM_RUNTIME_PROC_STAT_H
#define NESTVM_RUNTIME_PROC_STAT_H

#include <stdbool.h>
#include <sys/types.h>

/* Parses one /proc/PID/stat line (the command name in parentheses may hold
 * spaces and parentheses: the last ')' ends it). 0, or -1 when the text is
 * not such a line. */
int proc_stat_parse(const char *text, char *state, unsigned long long *start);

/* Reads /proc/PID/stat. 0, or -1 (no such process, or unreadable). */
int proc_stat_read(pid_t pid, char *state, unsigned long long *start);

/* pid is the process that started at start, and not a zombie. */
bool proc_alive(pid_t pid, unsigned long long start);

/* Sends sig to that process (through a pidfd, checked after it is open, so
 * a pid used again is never signalled). 0, or -1 with errno: ESRCH when
 * the process is gone. */
int proc_signal(pid_t pid, unsigned long long start, int sig);
/* The same with a value queued along (sigqueue's, SI_QUEUE). */
int proc_signal_value(pid_t pid, unsigned long long start, int sig, int value);

#endif
