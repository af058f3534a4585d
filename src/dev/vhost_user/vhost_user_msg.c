#include "dev/vhost_user/vhost_user_msg.h"

#include <string.h>

#include "util/le.h"

static size_t put_header(uint8_t *out, enum vhost_user_request req, uint32_t flags, uint32_t size)
{
	le_put32(out, (uint32_t)req);
	le_put32(out + 4, VHOST_USER_VERSION | (flags & VHOST_USER_FLAG_NEED_REPLY));
	le_put32(out + 8, size);
	return VHOST_USER_HEADER_SIZE + size;
}

size_t vhost_user_encode_empty(uint8_t *out, enum vhost_user_request req, uint32_t flags)
{
	return put_header(out, req, flags, 0);
}

size_t vhost_user_encode_u64(uint8_t *out, enum vhost_user_request req, uint32_t flags, uint64_t v)
{
	le_put64(out + VHOST_USER_HEADER_SIZE, v);
	return put_header(out, req, flags, 8);
}

size_t vhost_user_encode_state(uint8_t *out, enum vhost_user_request req, uint32_t flags,
			       uint32_t index, uint32_t num)
{
	le_put32(out + VHOST_USER_HEADER_SIZE, index);
	le_put32(out + VHOST_USER_HEADER_SIZE + 4, num);
	return put_header(out, req, flags, 8);
}

size_t vhost_user_encode_addr(uint8_t *out, uint32_t flags, const struct vhost_user_vring_addr *a)
{
	uint8_t *p = out + VHOST_USER_HEADER_SIZE;
	le_put32(p, a->index);
	le_put32(p + 4, a->flags);
	le_put64(p + 8, a->desc);
	le_put64(p + 16, a->used);
	le_put64(p + 24, a->avail);
	le_put64(p + 32, a->log_guest_addr);
	return put_header(out, VHOST_USER_SET_VRING_ADDR, flags, 40);
}

size_t vhost_user_encode_mem_table(uint8_t *out, uint32_t flags, const struct vhost_user_region *r,
				   unsigned n)
{
	if (n == 0 || n > VHOST_USER_MAX_REGIONS)
		return 0;
	uint8_t *p = out + VHOST_USER_HEADER_SIZE;
	le_put32(p, n);
	le_put32(p + 4, 0); /* padding */
	/* The spec's payload is always the full table of 8; unused slots 0. */
	memset(p + 8, 0, VHOST_USER_MAX_REGIONS * 32);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *q = p + 8 + 32 * i;
		le_put64(q, r[i].guest_phys_addr);
		le_put64(q + 8, r[i].memory_size);
		le_put64(q + 16, r[i].userspace_addr);
		le_put64(q + 24, r[i].mmap_offset);
	}
	return put_header(out, VHOST_USER_SET_MEM_TABLE, flags, 8 + VHOST_USER_MAX_REGIONS * 32);
}

int vhost_user_check_header(const uint8_t *hdr, enum vhost_user_request req, uint32_t payload_size,
			    struct nv_err *err)
{
	uint32_t got = le_get32(hdr), flags = le_get32(hdr + 4), size = le_get32(hdr + 8);
	const char *name = vhost_user_request_name(req);
	if (got != (uint32_t)req)
		return nv_err_host(err, "vhost-user back-end answered %s with a reply to request %u",
				   name, got);
	if ((flags & VHOST_USER_FLAG_VERSION_MASK) != VHOST_USER_VERSION ||
	    !(flags & VHOST_USER_FLAG_REPLY))
		return nv_err_host(err, "vhost-user back-end's reply to %s has flags 0x%x "
				   "(not a version 1 reply)", name, flags);
	if (size != payload_size)
		return nv_err_host(err, "vhost-user back-end's reply to %s has %u bytes (expected %u)",
				   name, size, payload_size);
	return 0;
}

static int check_whole(const uint8_t *msg, size_t len, enum vhost_user_request req, uint32_t size,
		       struct nv_err *err)
{
	if (len < VHOST_USER_HEADER_SIZE)
		return nv_err_host(err, "vhost-user back-end's reply to %s is cut short",
				   vhost_user_request_name(req));
	if (vhost_user_check_header(msg, req, size, err) < 0)
		return -1;
	if (len != VHOST_USER_HEADER_SIZE + (size_t)size)
		return nv_err_host(err, "vhost-user back-end's reply to %s is %zu bytes (expected %u)",
				   vhost_user_request_name(req), len, VHOST_USER_HEADER_SIZE + size);
	return 0;
}

int vhost_user_decode_u64(const uint8_t *msg, size_t len, enum vhost_user_request req, uint64_t *v,
			  struct nv_err *err)
{
	if (check_whole(msg, len, req, 8, err) < 0)
		return -1;
	*v = le_get64(msg + VHOST_USER_HEADER_SIZE);
	return 0;
}

int vhost_user_decode_state(const uint8_t *msg, size_t len, enum vhost_user_request req,
			    uint32_t want_index, uint32_t *num, struct nv_err *err)
{
	if (check_whole(msg, len, req, 8, err) < 0)
		return -1;
	uint32_t index = le_get32(msg + VHOST_USER_HEADER_SIZE);
	if (index != want_index)
		return nv_err_host(err, "vhost-user back-end's reply to %s is for ring %u (asked: %u)",
				   vhost_user_request_name(req), index, want_index);
	*num = le_get32(msg + VHOST_USER_HEADER_SIZE + 4);
	return 0;
}

const char *vhost_user_request_name(uint32_t req)
{
	switch (req) {
	case VHOST_USER_GET_FEATURES: return "GET_FEATURES";
	case VHOST_USER_SET_FEATURES: return "SET_FEATURES";
	case VHOST_USER_SET_OWNER: return "SET_OWNER";
	case VHOST_USER_SET_MEM_TABLE: return "SET_MEM_TABLE";
	case VHOST_USER_SET_VRING_NUM: return "SET_VRING_NUM";
	case VHOST_USER_SET_VRING_ADDR: return "SET_VRING_ADDR";
	case VHOST_USER_SET_VRING_BASE: return "SET_VRING_BASE";
	case VHOST_USER_GET_VRING_BASE: return "GET_VRING_BASE";
	case VHOST_USER_SET_VRING_KICK: return "SET_VRING_KICK";
	case VHOST_USER_SET_VRING_CALL: return "SET_VRING_CALL";
	case VHOST_USER_GET_PROTOCOL_FEATURES: return "GET_PROTOCOL_FEATURES";
	case VHOST_USER_SET_PROTOCOL_FEATURES: return "SET_PROTOCOL_FEATURES";
	case VHOST_USER_SET_VRING_ENABLE: return "SET_VRING_ENABLE";
	default: return "an unknown request";
	}
}
