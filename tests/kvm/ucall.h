/* The ucall channel shared by test guests and the host harness. */
#ifndef NESTVM_TESTS_KVM_UCALL_H
#define NESTVM_TESTS_KVM_UCALL_H

#include <stdint.h>

#define UCALL_PORT 0xe0
#define UCALL_BLOCK_GPA 0x90000ULL

enum {
	UCALL_NONE,
	UCALL_DONE,  /* args[0] = guest_main's return value */
	UCALL_SYNC,  /* args[0] = a value for the host */
	UCALL_ABORT, /* args[0] = source line of the failed assert, args[1] = value */
};

struct ucall {
	uint32_t cmd;
	uint32_t pad;
	uint64_t args[2];
};

#endif
