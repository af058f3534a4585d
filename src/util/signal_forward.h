/* How a signal for a container's process reaches its VMM: the OCI runtime
 * (nestvm-runtime kill) queues SIGNAL_FORWARD to the VMM with the signal's
 * number as its value (pidfd_send_signal with SI_QUEUE), and the VMM hands
 * the number on to the guest's relay (util/stdio_mux.h). Both are glibc
 * programs: SIGRTMIN is the same number in each. */
#ifndef NESTVM_UTIL_SIGNAL_FORWARD_H
#define NESTVM_UTIL_SIGNAL_FORWARD_H

#include <signal.h>

#define SIGNAL_FORWARD (SIGRTMIN + 1)

#endif
