/* libFuzzer: what a vhost-user back-end (virtiofsd, or anything at the
 * other end of the socket) sends the VMM. The input is the whole byte
 * stream the back-end writes; the front-end runs its requests against it
 * over a socketpair: the handshake (GET_FEATURES, GET_/SET_PROTOCOL_
 * FEATURES, SET_OWNER), SET_FEATURES, SET_MEM_TABLE, a ring's start and
 * its stop (GET_VRING_BASE), each reading its reply from the stream. The
 * pure checks (vhost_user_decode_u64/state) also get the input itself as
 * one reply. Any crash, sanitizer report or leak is a bug, and so is a
 * refusal that says nothing or spans lines. */
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dev/vhost_user/vhost_user_frontend.h"
#include "fuzz_util.h"

static void check_refusal(const struct nv_err *err)
{
	CHECK(err->msg[0] != '\0');
	CHECK(strchr(err->msg, '\n') == NULL);
}

static void run_frontend(const uint8_t *data, size_t size)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return;
	/* Room for the requests the front-end sends, never read. */
	int big = 1 << 20;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	if (size && write(sv[1], data, size) != (ssize_t)size) {
		close(sv[0]);
		close(sv[1]);
		return;
	}
	shutdown(sv[1], SHUT_WR); /* the stream ends: a reply cut short is seen */
	struct vhost_user_frontend f;
	struct nv_err err = { 0 };
	if (vhost_user_frontend_open(&f, sv[0], &err) < 0) {
		check_refusal(&err);
		close(sv[1]);
		return;
	}
	struct vhost_user_region r = { .memory_size = 4096 };
	struct vhost_user_ring ring = { .size = 16, .kick_fd = sv[1], .call_fd = sv[1] };
	uint32_t base;
	if (vhost_user_frontend_set_features(&f, f.features & ~(1ULL << 30), &err) < 0 ||
	    vhost_user_frontend_set_mem_table(&f, &r, 1, sv[1], &err) < 0 ||
	    vhost_user_frontend_start_ring(&f, 1, &ring, &err) < 0 ||
	    vhost_user_frontend_stop_ring(&f, 1, &base, &err) < 0)
		check_refusal(&err);
	vhost_user_frontend_close(&f);
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	uint64_t v;
	uint32_t num;
	struct nv_err err = { 0 };
	if (vhost_user_decode_u64(data, size, VHOST_USER_GET_FEATURES, &v, &err) < 0)
		check_refusal(&err);
	err = (struct nv_err){ 0 };
	if (vhost_user_decode_state(data, size, VHOST_USER_GET_VRING_BASE, 0, &num, &err) < 0)
		check_refusal(&err);
	run_frontend(data, size);
	return 0;
}
