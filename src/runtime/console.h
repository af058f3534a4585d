/* create --console-socket: the container's terminal. A pseudo-terminal is
 * made here (posix_openpt); its master goes to whoever listens on the Unix
 * socket (podman's conmon, containerd's shim) with SCM_RIGHTS, as runc
 * sends it; its slave becomes the VMM's stdin, stdout and stderr. */
#ifndef NESTVM_RUNTIME_CONSOLE_H
#define NESTVM_RUNTIME_CONSOLE_H

#include "util/err.h"

/* The slave's fd (close-on-exec) once the master was sent, or -1 with err. */
int console_make(const char *socket_path, struct nv_err *err);

#endif
