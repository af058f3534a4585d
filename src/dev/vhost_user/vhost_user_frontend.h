/* The VMM's side of one vhost-user connection: the requests in the order
 * the spec wants them, over a connected Unix socket, fds passed with
 * SCM_RIGHTS. Blocking calls with a receive timeout (a back-end that stops
 * answering fails the request instead of holding the VMM). Not thread-safe:
 * its device serializes calls (the transport lock). */
#ifndef NESTVM_DEV_VHOST_USER_VHOST_USER_FRONTEND_H
#define NESTVM_DEV_VHOST_USER_VHOST_USER_FRONTEND_H

#include <stdbool.h>
#include <stdint.h>

#include "dev/vhost_user/vhost_user_msg.h"
#include "util/err.h"

/* How long one reply may take, in seconds. */
#define VHOST_USER_REPLY_TIMEOUT_S 10

struct vhost_user_frontend {
	int fd;                      /* the connected socket, owned */
	uint64_t features;           /* what the back-end offers (GET_FEATURES) */
	uint64_t protocol_features;  /* what both sides use */
};

/* A ring as the back-end is to serve it: addresses in this process. */
struct vhost_user_ring {
	uint16_t size;
	uint16_t base;               /* the next avail index to take */
	const void *desc, *avail, *used;
	int kick_fd;                 /* the driver's notifications, for the back-end */
	int call_fd;                 /* the back-end's interrupts, for the VMM */
};

/* Takes fd (even on failure). GET_FEATURES, then GET_/SET_PROTOCOL_FEATURES
 * when offered (REPLY_ACK if the back-end has it), then SET_OWNER. */
int vhost_user_frontend_open(struct vhost_user_frontend *f, int fd, struct nv_err *err);
void vhost_user_frontend_close(struct vhost_user_frontend *f);

/* SET_FEATURES: the driver's features (which the back-end must offer) plus
 * PROTOCOL_FEATURES when the back-end has it. */
int vhost_user_frontend_set_features(struct vhost_user_frontend *f, uint64_t features,
				     struct nv_err *err);
/* SET_MEM_TABLE: every region lies in mem_fd (at its mmap_offset). */
int vhost_user_frontend_set_mem_table(struct vhost_user_frontend *f,
				      const struct vhost_user_region *r, unsigned n, int mem_fd,
				      struct nv_err *err);
/* SET_VRING_NUM, _BASE, _ADDR, _KICK, _CALL, then _ENABLE 1 (with protocol
 * features the back-end's rings start disabled). */
int vhost_user_frontend_start_ring(struct vhost_user_frontend *f, uint32_t index,
				   const struct vhost_user_ring *r, struct nv_err *err);
/* GET_VRING_BASE: the back-end stops the ring and says where it was. */
int vhost_user_frontend_stop_ring(struct vhost_user_frontend *f, uint32_t index, uint32_t *base,
				  struct nv_err *err);

#endif
