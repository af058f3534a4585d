/* `kill ID [SIGNAL]`'s signal as runc takes it: a name with or without
 * "SIG", in any case ("TERM", "sigterm", "SIGKILL"), or a number 1-64. */
#ifndef NESTVM_RUNTIME_SIGNAL_NAME_H
#define NESTVM_RUNTIME_SIGNAL_NAME_H

/* The signal's number, or -1 for no signal Linux has. */
int signal_name_parse(const char *s);

/* "SIGTERM" for 15; "signal 40" style text for the others in buf. */
const char *signal_name_of(int sig, char *buf, unsigned size);

#endif
