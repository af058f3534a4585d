/* The debug-exit port (0xf4, the port QEMU's isa-debug-exit uses): the
 * default guest's init writes its command's exit status here, and the VM
 * ends with that status. The same guest thus works under QEMU. The next
 * byte (0xf5) is nestvm's own: a guest booted for a warm start writes it
 * when it is ready to be snapshotted (guest/tools/nestvm-warm.c). */
#ifndef NESTVM_DEV_PLATFORM_DEBUG_EXIT_H
#define NESTVM_DEV_PLATFORM_DEBUG_EXIT_H

#include <stdbool.h>
#include <stdint.h>

#define DEBUG_EXIT_PORT 0xf4
#define DEBUG_EXIT_LEN 4
#define DEBUG_EXIT_READY_OFFSET 1 /* port 0xf5 */

/* A bus_access_fn; opaque is a const struct platform_sink *. */
void debug_exit_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
