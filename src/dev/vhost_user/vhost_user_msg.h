/* vhost-user messages (QEMU's docs/interop/vhost-user.rst), the front-end's
 * half: encoding the requests nestvm sends and checking the replies a
 * back-end sends back. Pure byte work, no socket: the wire is little-endian
 * (x86 only, as the spec's native order), a 12-byte header then the
 * payload. Everything a back-end sends is input: a reply is taken only when
 * its request, flags and size are exactly what the request asked for. */
#ifndef NESTVM_DEV_VHOST_USER_VHOST_USER_MSG_H
#define NESTVM_DEV_VHOST_USER_VHOST_USER_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Front-end requests (the ones nestvm uses). */
enum vhost_user_request {
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_SET_VRING_ENABLE = 18,
};

#define VHOST_USER_HEADER_SIZE 12
#define VHOST_USER_VERSION 0x1
#define VHOST_USER_FLAG_VERSION_MASK 0x3
#define VHOST_USER_FLAG_REPLY (1u << 2)
#define VHOST_USER_FLAG_NEED_REPLY (1u << 3)

/* Feature bit 30: the back-end speaks protocol features (and its rings
 * start disabled until SET_VRING_ENABLE). */
#define VHOST_USER_F_PROTOCOL_FEATURES 30
/* Protocol feature bit 3: any request with NEED_REPLY is answered with a
 * u64, 0 for success. */
#define VHOST_USER_PROTOCOL_F_REPLY_ACK 3

/* SET_VRING_KICK/CALL: no fd comes with the message (polling mode). */
#define VHOST_USER_VRING_NOFD_MASK (1ULL << 8)

/* The memory table's limit in the spec without CONFIGURE_MEM_SLOTS. */
#define VHOST_USER_MAX_REGIONS 8

struct vhost_user_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr; /* the front-end's own address of the region */
	uint64_t mmap_offset;    /* where the region starts in its fd */
};

struct vhost_user_vring_addr {
	uint32_t index;
	uint32_t flags;
	/* Front-end user addresses, which the back-end translates through the
	 * memory table. */
	uint64_t desc, used, avail;
	uint64_t log_guest_addr;
};

/* The largest request nestvm builds: a memory table of 8 regions. */
#define VHOST_USER_MAX_MSG (VHOST_USER_HEADER_SIZE + 8 + VHOST_USER_MAX_REGIONS * 32)

/* Each encoder writes one whole request into out (VHOST_USER_MAX_MSG bytes)
 * and returns its length. */
size_t vhost_user_encode_empty(uint8_t *out, enum vhost_user_request req, uint32_t flags);
size_t vhost_user_encode_u64(uint8_t *out, enum vhost_user_request req, uint32_t flags, uint64_t v);
size_t vhost_user_encode_state(uint8_t *out, enum vhost_user_request req, uint32_t flags,
			       uint32_t index, uint32_t num);
size_t vhost_user_encode_addr(uint8_t *out, uint32_t flags, const struct vhost_user_vring_addr *a);
/* 0 with n out of 1..VHOST_USER_MAX_REGIONS. */
size_t vhost_user_encode_mem_table(uint8_t *out, uint32_t flags, const struct vhost_user_region *r,
				   unsigned n);

/* Checks a reply's header (the first VHOST_USER_HEADER_SIZE bytes): the
 * request it answers, version 1 with the reply flag, and a payload of
 * exactly payload_size bytes. 0, or -1 with an NV_ERR_HOST line naming what
 * was wrong. */
int vhost_user_check_header(const uint8_t *hdr, enum vhost_user_request req, uint32_t payload_size,
			    struct nv_err *err);
/* A whole reply (header and payload, len bytes) to req carrying a u64
 * (GET_FEATURES, GET_PROTOCOL_FEATURES, a REPLY_ACK) into *v. */
int vhost_user_decode_u64(const uint8_t *msg, size_t len, enum vhost_user_request req, uint64_t *v,
			  struct nv_err *err);
/* A whole reply to req carrying a vring state (GET_VRING_BASE): its index
 * must be want_index. */
int vhost_user_decode_state(const uint8_t *msg, size_t len, enum vhost_user_request req,
			    uint32_t want_index, uint32_t *num, struct nv_err *err);

/* "GET_FEATURES", ...: for messages. */
const char *vhost_user_request_name(uint32_t req);

#endif
