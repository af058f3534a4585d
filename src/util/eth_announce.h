/* A NIC that moved announces itself, as QEMU's qemu_announce_self does
 * after a migration: RARP "reverse request" frames from its MAC to the
 * broadcast address, a few rounds with growing gaps, so that every switch
 * on the way learns the MAC's new port at once instead of when the guest
 * next happens to send. The guest need not do anything (nor know). */
#ifndef NESTVM_UTIL_ETH_ANNOUNCE_H
#define NESTVM_UTIL_ETH_ANNOUNCE_H

#include <stddef.h>
#include <stdint.h>

#include "util/eth.h"

/* 14 bytes of Ethernet header and 28 of RARP, padded to Ethernet's 60-byte
 * minimum (without FCS) as a wire would carry it. */
#define ETH_ANNOUNCE_LEN 60
#define ETH_P_RARP_ 0x8035
#define RARP_OP_REVERSE_REQUEST 3

/* QEMU's defaults (announce-rounds 5, -initial 50, -step 100, -max 550). */
#define ETH_ANNOUNCE_ROUNDS 5
#define ETH_ANNOUNCE_FIRST_GAP_MS 50
#define ETH_ANNOUNCE_GAP_STEP_MS 100
#define ETH_ANNOUNCE_MAX_GAP_MS 550

/* Writes the announcement of mac into out; returns ETH_ANNOUNCE_LEN. */
size_t eth_announce_frame(const struct mac_addr *mac, uint8_t out[ETH_ANNOUNCE_LEN]);
/* Milliseconds to wait after round `done` (0-based) before the next one:
 * 50, 150, 250, 350 (the first round goes at once). */
unsigned eth_announce_gap_ms(unsigned done);

#endif
