/* libFuzzer: a hostile kernel file. x86_boot_load must either load it or
 * refuse it with a message, never read or write out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/boot.h"
#include "core/guest_mem.h"

#define RAM (96u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	if (!ram)
		ram = calloc(1, RAM);
	struct guest_mem mem;
	guest_mem_init_over(&mem, ram, RAM);
	/* The first byte picks an initrd size, so placement is fuzzed too. */
	static const uint8_t initrd[4096];
	size_t ilen = size ? (size_t)data[0] * 16 : 0;
	struct x86_boot_params_in in = {
		.kernel = data, .kernel_len = size,
		.initrd = ilen ? initrd : NULL, .initrd_len = ilen < sizeof(initrd) ? ilen : sizeof(initrd),
		.cmdline = "console=ttyS0", .rsdp_addr = 0xe0000,
	};
	struct x86_boot_info info;
	struct nv_err err;
	if (x86_boot_load(&mem, &in, &info, &err) == 0) {
		if (info.entry >= RAM || info.zero_page >= RAM)
			abort(); /* a loaded kernel must start inside RAM */
	} else if (err.msg[0] == '\0') {
		abort(); /* every refusal names the problem */
	}
	return 0;
}
