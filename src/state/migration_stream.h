/* The live-migration stream: framing and the receiver's checks, pure (no
 * I/O; state/migration_channel.h moves the bytes). The stream comes from
 * the network, so it is hostile input: every type, phase and length is
 * checked before a payload is read, and every page index before it is
 * written.
 *
 * Every message: an 8-byte header, then `length` bytes of payload (all
 * integers little-endian):
 *   +0 u16 type   +2 u16 reserved (0)   +4 u32 length (<= the type's cap)
 *
 * Source to target, in this order:
 *   START     16 B  "NVMIGRAT", u32 protocol version (1), u32 page size (4096)
 *   CONFIG    16 B + JSON: u64 RAM bytes, u32 vCPUs, u32 reserved (0), then the
 *                   VM's record as the state file's "config" section holds it
 *                   (<= 64 KiB); the target answers ACCEPT or REFUSE
 *   PAGES     16 B + pages: u64 first page, u32 count (1..256), u32 0, then
 *                   count * 4096 bytes (pages first .. first+count-1)
 *   ZERO      16 B  u64 first page, u32 count (1..2^20), u32 0: these pages
 *                   are zero now (a page sent before and zeroed since)
 *   (PAGES and ZERO repeat, round after round)
 *   STATE     the machine's state file image (state/state_file.h: "config",
 *             "machine", "vcpuN", "device:NAME"), <= 64 MiB
 *   COMPLETE  0 B   the target restores, starts, answers RESUMED or FAILED
 *   ABANDON   <= 512 B of text, at any point (either side): the target
 *             discards everything, the source goes on running
 * Target to source: ACCEPT (0 B), REFUSE (text), RESUMED (0 B), FAILED
 * (text), each <= 512 B. */
#ifndef NESTVM_STATE_MIGRATION_STREAM_H
#define NESTVM_STATE_MIGRATION_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define MIG_MAGIC "NVMIGRAT" /* 8 bytes, no NUL */
#define MIG_VERSION 1u
#define MIG_PAGE 4096u
#define MIG_HEADER_BYTES 8u
#define MIG_RANGE_BYTES 16u          /* PAGES' and ZERO's range */
#define MIG_MAX_BATCH 256u           /* pages in one PAGES message (1 MiB) */
#define MIG_MAX_ZERO_RUN (1u << 20)  /* pages in one ZERO message (4 GiB) */
#define MIG_MAX_CONFIG (64u << 10)
#define MIG_MAX_STATE (64u << 20)
#define MIG_MAX_TEXT 512u
#define MIG_MAX_RAM (1ULL << 40)     /* 1 TiB */

enum mig_type {
	MIG_START = 1,
	MIG_CONFIG = 2,
	MIG_PAGES = 3,
	MIG_ZERO = 4,
	MIG_STATE = 5,
	MIG_COMPLETE = 6,
	MIG_ABANDON = 7,
	MIG_ACCEPT = 8,
	MIG_REFUSE = 9,
	MIG_RESUMED = 10,
	MIG_FAILED = 11,
};

struct mig_hdr {
	uint16_t type;
	uint32_t length;
};

/* A message's name ("PAGES"), or "unknown". */
const char *mig_type_name(unsigned type);

void mig_header_put(uint8_t out[MIG_HEADER_BYTES], enum mig_type type, uint32_t length);
/* The header decoded and checked alone: a known type, reserved 0, a length
 * within the type's cap (and exact where the type has one size). */
int mig_header_parse(const uint8_t in[MIG_HEADER_BYTES], struct mig_hdr *h, struct nv_err *err);

void mig_start_put(uint8_t out[16]);
void mig_range_put(uint8_t out[MIG_RANGE_BYTES], uint64_t first, uint32_t count);
void mig_config_put(uint8_t out[16], uint64_t ram_bytes, uint32_t cpus);

/* What the receiver does with what arrives; each returns 0 or -1 with err. */
struct mig_rx_ops {
	/* The source's record: refuse (NV_ERR_INPUT) what does not match. */
	int (*config)(void *opaque, uint64_t ram_bytes, uint32_t cpus, const char *json, size_t len,
		      struct nv_err *err);
	/* Checked: first + count <= RAM pages. data: count pages. */
	int (*pages)(void *opaque, uint64_t first, uint32_t count, const uint8_t *data, struct nv_err *err);
	int (*zero)(void *opaque, uint64_t first, uint32_t count, struct nv_err *err);
	int (*state)(void *opaque, const uint8_t *image, size_t len, struct nv_err *err);
};

enum mig_rx_phase { MIG_RX_START, MIG_RX_CONFIG, MIG_RX_MEMORY, MIG_RX_STATE_DONE, MIG_RX_COMPLETE };

struct mig_rx {
	enum mig_rx_phase phase;
	uint64_t ram_pages;
	uint64_t pages, zero_pages, bytes; /* what arrived */
	const struct mig_rx_ops *ops;
	void *opaque;
};

void mig_rx_init(struct mig_rx *rx, const struct mig_rx_ops *ops, void *opaque);
/* A header read off the stream: parsed, and allowed in this phase? Call it
 * before reading the payload (its length is then safe to allocate). */
int mig_rx_header(const struct mig_rx *rx, const uint8_t in[MIG_HEADER_BYTES], struct mig_hdr *h,
		  struct nv_err *err);
/* The whole message (h from mig_rx_header, payload of h->length bytes).
 * 0: go on; 1: COMPLETE arrived (the machine can start); -1 with err
 * (ABANDON too: "the source abandoned the migration: TEXT"). */
int mig_rx_message(struct mig_rx *rx, const struct mig_hdr *h, const uint8_t *payload,
		   struct nv_err *err);

/* A reply the source reads: ACCEPT, REFUSE, RESUMED, FAILED or ABANDON
 * with its text (NUL-terminated into text[MIG_MAX_TEXT + 1]). */
int mig_reply_parse(const struct mig_hdr *h, const uint8_t *payload, char *text, struct nv_err *err);

#endif
