/* nestvm's local management sockets (AF_UNIX): listeners, and the one
 * exchange all of them speak over SOCK_SEQPACKET: one JSON object out, one
 * JSON object back, where {"ok":false,"error":"..."} is a refusal. Used by a
 * switch's control socket and port hello, and by a VM's control socket. */
#ifndef NESTVM_UTIL_UNIX_JSON_H
#define NESTVM_UTIL_UNIX_JSON_H

#include <stddef.h>

#include "util/err.h"

struct json_object;

/* A listening socket of type (SOCK_STREAM, SOCK_SEQPACKET) at path: mode
 * 0600 from the start, non-blocking, close-on-exec. A stale socket file is
 * replaced: the caller has made sure nobody else serves path. */
int unix_listen(const char *path, int type, int backlog, struct nv_err *err);

/* A connected SOCK_SEQPACKET fd (close-on-exec), or -1: nobody listening on
 * path is the input error not_running; other failures name label. */
int unix_seqpacket_connect(const char *path, const char *label, const char *not_running,
			   struct nv_err *err);

/* Sends req (not consumed), waits up to timeout_ms for one reply of at most
 * max bytes and returns it (the caller puts it). A reply that is not a JSON
 * object, too big, late or missing is a host error naming label; a refusal
 * is the input error "<refused>: <its error>". */
struct json_object *unix_json_exchange(int fd, struct json_object *req, size_t max,
				       int timeout_ms, const char *label, const char *refused,
				       struct nv_err *err);

/* The same, handing pass_fd (>= 0) over with the request (SCM_RIGHTS): the
 * peer gets its own copy, the caller still owns pass_fd. */
struct json_object *unix_json_exchange_fd(int fd, struct json_object *req, int pass_fd, size_t max,
					  int timeout_ms, const char *label, const char *refused,
					  struct nv_err *err);

/* The same, for a long request: before its reply the peer may send interim
 * messages {"interim": VALUE}, each given to interim(opaque, VALUE) (NULL:
 * none expected) and each restarting the timeout. */
struct json_object *unix_json_exchange_interim(int fd, struct json_object *req, int pass_fd, size_t max,
					       int timeout_ms, const char *label, const char *refused,
					       void (*interim)(void *opaque, struct json_object *o), void *opaque,
					       struct nv_err *err);

/* One request on a fresh connection to path: unix_seqpacket_connect, then
 * unix_json_exchange, then close. */
struct json_object *unix_json_request(const char *path, struct json_object *req, size_t max,
				      int timeout_ms, const char *label, const char *not_running,
				      const char *refused, struct nv_err *err);

#endif
