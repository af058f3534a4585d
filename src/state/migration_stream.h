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
 *   START     16 B  "NVMIGRAT", u32 protocol version, u32 page size (4096);
 *                   version 1: memory only; 2: disks copied too (DISKINFO,
 *                   DISK). A source sends 1 unless it copies disks, so an
 *                   older target still takes a VM whose disks stay put.
 *   DISKINFO  16 B  (version 2, before CONFIG, once per copied disk) u32
 *                   disk index (into the record's disks, < 16), u16 format
 *                   (0 raw, 1 qcow2), u16 0, u64 virtual size (a multiple
 *                   of 512, <= 2^50): the target makes the copy's file
 *   CONFIG    16 B + JSON: u64 RAM bytes, u32 vCPUs, u32 reserved (0), then the
 *                   VM's record as the state file's "config" section holds it
 *                   (<= 64 KiB); the target answers ACCEPT or REFUSE (REFUSE
 *                   too for a START or DISKINFO it refused)
 *   PAGES     16 B + pages: u64 first page, u32 count (1..256), u32 0, then
 *                   count * 4096 bytes (pages first .. first+count-1)
 *   ZERO      16 B  u64 first page, u32 count (1..2^20), u32 0: these pages
 *                   are zero now (a page sent before and zeroed since)
 *   DISK      16 B + data: (version 2) u32 disk index (announced), u32 0,
 *                   u64 byte offset, then 512..1 MiB of the disk's bytes
 *                   (multiples of 512; offset + length <= its size)
 *   (PAGES, ZERO and DISK repeat, round after round)
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
#define MIG_VERSION 2u         /* the newest this nestvm speaks */
#define MIG_VERSION_MEMORY 1u  /* memory only: what a source without disk copies sends */
#define MIG_VERSION_DISKS 2u   /* DISKINFO and DISK allowed */
#define MIG_PAGE 4096u
#define MIG_HEADER_BYTES 8u
#define MIG_RANGE_BYTES 16u          /* PAGES' and ZERO's range */
#define MIG_MAX_BATCH 256u           /* pages in one PAGES message (1 MiB) */
#define MIG_MAX_ZERO_RUN (1u << 20)  /* pages in one ZERO message (4 GiB) */
#define MIG_MAX_CONFIG (64u << 10)
#define MIG_MAX_STATE (64u << 20)
#define MIG_MAX_TEXT 512u
#define MIG_MAX_RAM (1ULL << 40)     /* 1 TiB */
#define MIG_MAX_DISKS 16u            /* VM_MAX_DISKS */
#define MIG_DISK_HEAD 16u            /* DISKINFO, and DISK's head */
#define MIG_DISK_SECTOR 512u
#define MIG_MAX_DISK_CHUNK (1u << 20) /* data in one DISK message */
#define MIG_MAX_DISK_SIZE (1ULL << 50)
#define MIG_DISK_RAW 0u
#define MIG_DISK_QCOW2 1u

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
	MIG_DISKINFO = 12,
	MIG_DISK = 13,
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

void mig_start_put(uint8_t out[16], uint32_t version);
void mig_range_put(uint8_t out[MIG_RANGE_BYTES], uint64_t first, uint32_t count);
void mig_diskinfo_put(uint8_t out[MIG_DISK_HEAD], uint32_t index, unsigned format, uint64_t size);
void mig_disk_put(uint8_t out[MIG_DISK_HEAD], uint32_t index, uint64_t offset);
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
	/* Version 2 (NULL: this receiver takes no disk copies, refused).
	 * disk_info: checked (index < MIG_MAX_DISKS, once, a known format, a
	 * size in range); config then sees the record and may refuse.
	 * disk: checked: announced index, offset + len <= its size. */
	int (*disk_info)(void *opaque, uint32_t index, unsigned format, uint64_t size, struct nv_err *err);
	int (*disk)(void *opaque, uint32_t index, uint64_t offset, const uint8_t *data, uint32_t len,
		    struct nv_err *err);
};

enum mig_rx_phase { MIG_RX_START, MIG_RX_CONFIG, MIG_RX_MEMORY, MIG_RX_STATE_DONE, MIG_RX_COMPLETE };

struct mig_rx {
	enum mig_rx_phase phase;
	uint64_t ram_pages;
	uint32_t version;  /* the source's, from START */
	uint64_t disk_size[MIG_MAX_DISKS]; /* announced (0: not) */
	uint64_t pages, zero_pages, bytes; /* what arrived */
	uint64_t disk_bytes;               /* DISK data that arrived */
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
