#include "dev/vhost_user/vhost_user_frontend.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "util/fd_send.h"
#include "util/le.h"

static enum vhost_user_request le_get_req(const uint8_t *msg)
{
	return (enum vhost_user_request)le_get32(msg);
}

/* Sends one request with up to 1 fd; MSG_NOSIGNAL: a back-end gone is an
 * error, not a SIGPIPE. */
static int send_msg(struct vhost_user_frontend *f, const uint8_t *msg, size_t len, int pass_fd,
		    struct nv_err *err)
{
	ssize_t w = fd_send(f->fd, msg, len, &pass_fd, pass_fd >= 0 ? 1 : 0);
	if (w != (ssize_t)len)
		return nv_err_host(err, "vhost-user back-end: cannot send %s: %s",
				   vhost_user_request_name(le_get_req(msg)),
				   w < 0 ? strerror(errno) : "short write");
	return 0;
}

/* Exactly len bytes, or an error (timeout, end of stream). Any fds a
 * back-end attaches are dropped by the kernel: no control buffer. */
static int recv_exact(struct vhost_user_frontend *f, uint8_t *buf, size_t len, struct nv_err *err)
{
	size_t got = 0;
	while (got < len) {
		ssize_t r = recv(f->fd, buf + got, len - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return nv_err_host(err, "vhost-user back-end: %s",
					   r == 0 ? "connection closed"
					   : errno == EAGAIN ? "no reply in time" : strerror(errno));
		got += (size_t)r;
	}
	return 0;
}

/* A reply to req carrying 8 bytes: the header is checked before its
 * payload is read, so a back-end's size never sizes a buffer. */
static int recv_reply8(struct vhost_user_frontend *f, enum vhost_user_request req, uint8_t *msg,
		       struct nv_err *err)
{
	if (recv_exact(f, msg, VHOST_USER_HEADER_SIZE, err) < 0 ||
	    vhost_user_check_header(msg, req, 8, err) < 0)
		return -1;
	return recv_exact(f, msg + VHOST_USER_HEADER_SIZE, 8, err);
}

static int get_u64(struct vhost_user_frontend *f, enum vhost_user_request req, uint64_t *v,
		   struct nv_err *err)
{
	uint8_t msg[VHOST_USER_HEADER_SIZE + 8];
	size_t len = vhost_user_encode_empty(msg, req, 0);
	if (send_msg(f, msg, len, -1, err) < 0 || recv_reply8(f, req, msg, err) < 0)
		return -1;
	return vhost_user_decode_u64(msg, sizeof(msg), req, v, err);
}

static bool reply_ack(const struct vhost_user_frontend *f)
{
	return f->protocol_features & (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK);
}

/* A request without a reply of its own: with REPLY_ACK it is confirmed
 * (0), so a back-end's refusal shows at the request that caused it. */
static int set_msg(struct vhost_user_frontend *f, uint8_t *msg, size_t len, int pass_fd,
		   struct nv_err *err)
{
	enum vhost_user_request req = le_get_req(msg);
	if (reply_ack(f))
		msg[4] |= VHOST_USER_FLAG_NEED_REPLY;
	if (send_msg(f, msg, len, pass_fd, err) < 0)
		return -1;
	if (!reply_ack(f))
		return 0;
	uint8_t rep[VHOST_USER_HEADER_SIZE + 8];
	uint64_t status;
	if (recv_reply8(f, req, rep, err) < 0 ||
	    vhost_user_decode_u64(rep, sizeof(rep), req, &status, err) < 0)
		return -1;
	if (status != 0)
		return nv_err_host(err, "vhost-user back-end refused %s (status %llu)",
				   vhost_user_request_name(req), (unsigned long long)status);
	return 0;
}

int vhost_user_frontend_open(struct vhost_user_frontend *f, int fd, struct nv_err *err)
{
	memset(f, 0, sizeof(*f));
	f->fd = fd;
	struct timeval tv = { .tv_sec = VHOST_USER_REPLY_TIMEOUT_S };
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		nv_err_host(err, "vhost-user back-end: %s", strerror(errno));
		goto fail;
	}
	if (get_u64(f, VHOST_USER_GET_FEATURES, &f->features, err) < 0)
		goto fail;
	if (f->features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES)) {
		uint64_t offered;
		if (get_u64(f, VHOST_USER_GET_PROTOCOL_FEATURES, &offered, err) < 0)
			goto fail;
		uint64_t use = offered & (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK);
		uint8_t msg[VHOST_USER_HEADER_SIZE + 8];
		size_t len = vhost_user_encode_u64(msg, VHOST_USER_SET_PROTOCOL_FEATURES, 0, use);
		/* Acknowledged only once both sides know REPLY_ACK is on. */
		if (send_msg(f, msg, len, -1, err) < 0)
			goto fail;
		f->protocol_features = use;
	}
	uint8_t msg[VHOST_USER_HEADER_SIZE];
	if (set_msg(f, msg, vhost_user_encode_empty(msg, VHOST_USER_SET_OWNER, 0), -1, err) < 0)
		goto fail;
	return 0;
fail:
	vhost_user_frontend_close(f);
	return -1;
}

void vhost_user_frontend_close(struct vhost_user_frontend *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

int vhost_user_frontend_set_features(struct vhost_user_frontend *f, uint64_t features,
				     struct nv_err *err)
{
	uint64_t protocol = 1ULL << VHOST_USER_F_PROTOCOL_FEATURES;
	if (features & ~f->features & ~protocol)
		return nv_err_host(err, "vhost-user back-end lacks features 0x%llx the driver took",
				   (unsigned long long)(features & ~f->features));
	features |= f->features & protocol;
	uint8_t msg[VHOST_USER_HEADER_SIZE + 8];
	return set_msg(f, msg, vhost_user_encode_u64(msg, VHOST_USER_SET_FEATURES, 0, features), -1,
		       err);
}

int vhost_user_frontend_set_mem_table(struct vhost_user_frontend *f,
				      const struct vhost_user_region *r, unsigned n, int mem_fd,
				      struct nv_err *err)
{
	if (n != 1 && n != 2)
		return nv_err_host(err, "vhost-user: %u memory regions", n);
	/* One fd per region: the same memfd twice for RAM above 4 GiB. */
	uint8_t msg[VHOST_USER_MAX_MSG];
	size_t len = vhost_user_encode_mem_table(msg, 0, r, n);
	int fds[2] = { mem_fd, mem_fd };
	if (reply_ack(f))
		msg[4] |= VHOST_USER_FLAG_NEED_REPLY;
	ssize_t w = fd_send(f->fd, msg, len, fds, n);
	if (w != (ssize_t)len)
		return nv_err_host(err, "vhost-user back-end: cannot send SET_MEM_TABLE: %s",
				   w < 0 ? strerror(errno) : "short write");
	if (!reply_ack(f))
		return 0;
	uint8_t rep[VHOST_USER_HEADER_SIZE + 8];
	uint64_t status;
	if (recv_reply8(f, VHOST_USER_SET_MEM_TABLE, rep, err) < 0 ||
	    vhost_user_decode_u64(rep, sizeof(rep), VHOST_USER_SET_MEM_TABLE, &status, err) < 0)
		return -1;
	if (status != 0)
		return nv_err_host(err, "vhost-user back-end refused SET_MEM_TABLE (status %llu)",
				   (unsigned long long)status);
	return 0;
}

int vhost_user_frontend_start_ring(struct vhost_user_frontend *f, uint32_t index,
				   const struct vhost_user_ring *r, struct nv_err *err)
{
	uint8_t msg[VHOST_USER_HEADER_SIZE + 40];
	struct vhost_user_vring_addr a = {
		.index = index,
		.desc = (uint64_t)(uintptr_t)r->desc,
		.used = (uint64_t)(uintptr_t)r->used,
		.avail = (uint64_t)(uintptr_t)r->avail,
	};
	if (set_msg(f, msg, vhost_user_encode_state(msg, VHOST_USER_SET_VRING_NUM, 0, index, r->size),
		    -1, err) < 0 ||
	    set_msg(f, msg, vhost_user_encode_state(msg, VHOST_USER_SET_VRING_BASE, 0, index, r->base),
		    -1, err) < 0 ||
	    set_msg(f, msg, vhost_user_encode_addr(msg, 0, &a), -1, err) < 0 ||
	    set_msg(f, msg, vhost_user_encode_u64(msg, VHOST_USER_SET_VRING_KICK, 0, index), r->kick_fd,
		    err) < 0 ||
	    set_msg(f, msg, vhost_user_encode_u64(msg, VHOST_USER_SET_VRING_CALL, 0, index), r->call_fd,
		    err) < 0)
		return -1;
	if (!(f->features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES)))
		return 0; /* rings start enabled then */
	return set_msg(f, msg, vhost_user_encode_state(msg, VHOST_USER_SET_VRING_ENABLE, 0, index, 1),
		       -1, err);
}

int vhost_user_frontend_stop_ring(struct vhost_user_frontend *f, uint32_t index, uint32_t *base,
				  struct nv_err *err)
{
	uint8_t msg[VHOST_USER_HEADER_SIZE + 8];
	size_t len = vhost_user_encode_state(msg, VHOST_USER_GET_VRING_BASE, 0, index, 0);
	if (send_msg(f, msg, len, -1, err) < 0 ||
	    recv_reply8(f, VHOST_USER_GET_VRING_BASE, msg, err) < 0)
		return -1;
	return vhost_user_decode_state(msg, sizeof(msg), VHOST_USER_GET_VRING_BASE, index, base, err);
}
