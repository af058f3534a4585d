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
/* Added for a warm start's boot (vmm/warm_start.h): quiet, as with a
 * command, and the guest waits for its command on the console. */
#define KERNEL_CMDLINE_WARM "quiet loglevel=1 nestvm.warm=1"

/* Builds "BASE [quiet] [append] [nestvm.cmd=BASE64]" into out. argv may be
 * NULL (interactive). The command is argv joined by NUL bytes, base64-encoded,
 * as guest/init decodes it. */
int kernel_cmdline_build(char *out, size_t out_size, const char *append,
			 char *const *argv, int argc, struct nv_err *err);
/* argv joined by NUL bytes, base64-encoded (malloc'd; NULL when out of
 * memory): what nestvm.cmd= and a warm start's line carry. */
char *kernel_cmdline_encode_command(char *const *argv, int argc);

#endif
