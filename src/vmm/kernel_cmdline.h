/* The kernel command line nestvm gives its guests. */
#ifndef NESTVM_VMM_KERNEL_CMDLINE_H
#define NESTVM_VMM_KERNEL_CMDLINE_H

#include <stddef.h>

#include "util/err.h"

/* What every guest needs on this machine model: the serial console, reboot
 * through the i8042 (the VM then ends), no PCI bus to probe. */
#define KERNEL_CMDLINE_BASE "console=ttyS0 reboot=k panic=-1 pci=off"
/* Added when the default guest runs a command: the output is the command's. */
#define KERNEL_CMDLINE_QUIET "quiet loglevel=1"
#define KERNEL_CMDLINE_MAX 2048

/* Builds "BASE [quiet] [append] [nestvm.cmd=BASE64]" into out. argv may be
 * NULL (interactive). The command is argv joined by NUL bytes, base64-encoded,
 * as guest/init decodes it. */
int kernel_cmdline_build(char *out, size_t out_size, const char *append,
			 char *const *argv, int argc, struct nv_err *err);

#endif
