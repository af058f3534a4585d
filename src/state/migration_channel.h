/* The migration stream's transport: "unix:PATH" (the same host) or
 * "tcp:ADDR:PORT" (ADDR numeric, IPv4), a connected stream socket, and
 * whole messages (state/migration_stream.h) over it with a deadline. */
#ifndef NESTVM_STATE_MIGRATION_CHANNEL_H
#define NESTVM_STATE_MIGRATION_CHANNEL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "state/migration_stream.h"
#include "util/err.h"

struct mig_addr {
	struct sockaddr_storage sa;
	socklen_t len;
	int family; /* AF_UNIX or AF_INET */
	char text[128];
};

/* "unix:PATH" or "tcp:A.B.C.D:PORT"; NV_ERR_INPUT naming what is wrong. */
int mig_addr_parse(const char *s, struct mig_addr *a, struct nv_err *err);
/* A connected socket (blocking, close-on-exec), or -1 with err. */
int mig_connect(const struct mig_addr *a, struct nv_err *err);
/* A listening socket (a stale Unix socket file is replaced). */
int mig_listen(const struct mig_addr *a, struct nv_err *err);
/* The first connection on lfd (waits up to timeout_ms; -1: for ever). */
int mig_accept(int lfd, int timeout_ms, struct nv_err *err);

/* One message: header, then the parts' bytes (their sum is the length). */
int mig_send(int fd, enum mig_type type, const void *a, size_t alen, const void *b, size_t blen,
	     struct nv_err *err);
/* Exactly len bytes, waiting at most timeout_ms in all (-1: for ever);
 * the peer closing first is an error naming it. */
int mig_recv_exact(int fd, void *buf, size_t len, int timeout_ms, struct nv_err *err);

#endif
