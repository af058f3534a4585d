#include "runtime/signal_name.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

static const struct {
	const char *name;
	int sig;
} names[] = {
	{ "HUP", SIGHUP },     { "INT", SIGINT },	{ "QUIT", SIGQUIT },   { "ILL", SIGILL },
	{ "TRAP", SIGTRAP },   { "ABRT", SIGABRT },	{ "IOT", SIGIOT },     { "BUS", SIGBUS },
	{ "FPE", SIGFPE },     { "KILL", SIGKILL },	{ "USR1", SIGUSR1 },   { "SEGV", SIGSEGV },
	{ "USR2", SIGUSR2 },   { "PIPE", SIGPIPE },	{ "ALRM", SIGALRM },   { "TERM", SIGTERM },
	{ "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD },	{ "CONT", SIGCONT },   { "STOP", SIGSTOP },
	{ "TSTP", SIGTSTP },   { "TTIN", SIGTTIN },	{ "TTOU", SIGTTOU },   { "URG", SIGURG },
	{ "XCPU", SIGXCPU },   { "XFSZ", SIGXFSZ },	{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },
	{ "WINCH", SIGWINCH }, { "IO", SIGIO },		{ "POLL", SIGPOLL },   { "PWR", SIGPWR },
	{ "SYS", SIGSYS },
};

int signal_name_parse(const char *s)
{
	if (!s || !*s)
		return -1;
	if (*s >= '0' && *s <= '9') {
		char *end;
		long n = strtol(s, &end, 10);
		return *end || n < 1 || n > 64 ? -1 : (int)n;
	}
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(s, names[i].name))
			return names[i].sig;
	return -1;
}

const char *signal_name_of(int sig, char *buf, unsigned size)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].sig == sig) {
			snprintf(buf, size, "SIG%s", names[i].name);
			return buf;
		}
	snprintf(buf, size, "signal %d", sig);
	return buf;
}
