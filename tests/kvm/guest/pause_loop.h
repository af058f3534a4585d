/* What guest/pause_loop.c and its host test (test_vcpu_pause.c) share. */
#ifndef NESTVM_TESTS_KVM_GUEST_PAUSE_LOOP_H
#define NESTVM_TESTS_KVM_GUEST_PAUSE_LOOP_H

#define PAUSE_LOOP_PORT_SEQ 0xe8        /* 32-bit: OUT n, then IN answers the last n */
#define PAUSE_LOOP_PORT_STR 0xec        /* 8-bit: a running byte for rep insb */
#define PAUSE_LOOP_MMIO 0xd0000000ULL   /* 32-bit: reads echo the last write */
#define PAUSE_LOOP_COUNTER 0x91000ULL   /* the step number, for the host to read */
/* 32 bytes before a page boundary: KVM splits the string IN into two exits,
 * the second brought by the KVM_RUN that completes the first. */
#define PAUSE_LOOP_BUF (0x300000ULL - 32)
#define PAUSE_LOOP_BUF_LEN 64

#endif
