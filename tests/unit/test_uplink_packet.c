/* The external uplink on the loopback interface: frames it sends appear on
 * lo, frames injected on lo by another packet socket are delivered once (not
 * again as PACKET_OUTGOING). Needs root (CI runs as root); without it only
 * the error paths run. Test frames use the local experimental EtherType
 * 0x88b5 and a per-run nonce, so other loopback traffic does not confuse
 * them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <json-c/json.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/evloop.h"
#include "util/eth.h"
#include "net/uplink.h"

#define TEST_TYPE 0x88b5

struct rx {
	int n;          /* deliveries carrying our nonce */
	int other;      /* anything else seen on lo */
	uint32_t nonce;
	size_t last_len;
	struct evloop *loop; /* the uplink's, as the daemon's */
};

static void on_deliver(void *opaque, const uint8_t *frame, size_t len)
{
	struct rx *r = opaque;
	assert_true(len >= NET_FRAME_MIN && len <= NET_FRAME_MAX);
	uint32_t nonce;
	if (len >= 18 && frame[12] == TEST_TYPE >> 8 && frame[13] == (TEST_TYPE & 0xff)) {
		memcpy(&nonce, frame + 14, 4);
		if (nonce == r->nonce) {
			r->n++;
			r->last_len = len;
			return;
		}
	}
	r->other++;
}

static bool is_root(void)
{
	return geteuid() == 0;
}

static uint32_t new_nonce(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)(ts.tv_nsec ^ getpid() << 16 ^ rand());
}

static size_t test_frame(uint8_t *f, size_t len, uint32_t nonce)
{
	static const uint8_t dst[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	static const uint8_t src[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	memset(f, 0x5a, len);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = TEST_TYPE >> 8;
	f[13] = TEST_TYPE & 0xff;
	memcpy(f + 14, &nonce, 4);
	return len;
}

/* A second packet socket on lo that sees only the test EtherType. */
static int observer(void)
{
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, 0);
	assert_true(s >= 0);
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(TEST_TYPE),
				   .sll_ifindex = (int)if_nametoindex("lo") };
	assert_int_equal(bind(s, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return s;
}

/* Runs the uplink's loop for about ms. */
static void pump(struct rx *r, int ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t end = ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + ms;
	for (;;) {
		assert_true(evloop_run_once(r->loop, 10) >= 0);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (ts.tv_sec * 1000 + ts.tv_nsec / 1000000 >= end)
			return;
	}
}

static struct uplink *make_lo(struct rx *r)
{
	struct nv_err err = { 0 };
	struct uplink *u = uplink_packet_new("lo", &err);
	if (!u)
		fail_msg("uplink_packet_new(lo): %s", err.msg);
	memset(r, 0, sizeof(*r));
	r->nonce = new_nonce();
	u->deliver = on_deliver;
	u->deliver_opaque = r;
	assert_int_equal(evloop_create(&r->loop), 0);
	assert_int_equal(u->ops->attach(u, r->loop), 0);
	return u;
}

static void free_lo(struct uplink *u, struct rx *r)
{
	u->ops->free(u); /* off the loop first */
	assert_int_equal(evloop_destroy(r->loop), 0);
}

/* Runs fn in a child; its one-line result comes back through a pipe. */
static void in_child(void (*fn)(char *out, size_t len), char *out, size_t len)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char buf[600] = "";
		close(p[0]);
		fn(buf, sizeof(buf));
		ssize_t w = write(p[1], buf, strlen(buf));
		_exit(w < 0);
	}
	close(p[1]);
	ssize_t n = 0, k;
	while ((k = read(p[0], out + n, len - 1 - (size_t)n)) > 0)
		n += k;
	out[n] = 0;
	close(p[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void try_lo(char *out, size_t len)
{
	struct nv_err err = { 0 };
	struct uplink *u = uplink_packet_new("lo", &err);
	if (u) {
		snprintf(out, len, "CREATED");
		u->ops->free(u);
	} else {
		snprintf(out, len, "%d:%s", (int)err.kind, err.msg);
	}
}

static void unprivileged_lo(char *out, size_t len)
{
	/* Dropping to nobody clears every capability, CAP_NET_RAW included. */
	if (geteuid() == 0 && (setgroups(0, NULL) || setgid(65534) || setuid(65534))) {
		snprintf(out, len, "SKIP:cannot drop privileges: %s", strerror(errno));
		return;
	}
	try_lo(out, len);
}

static void down_lo(char *out, size_t len)
{
	/* A fresh network namespace has only lo, and it is down. */
	if (unshare(CLONE_NEWNET) < 0) {
		snprintf(out, len, "SKIP:no new network namespace here: %s", strerror(errno));
		return;
	}
	try_lo(out, len);
}

static void expect_error(const char *got, enum nv_err_kind kind, const char *words)
{
	if (!strncmp(got, "SKIP:", 5))
		skip();
	char want[16];
	snprintf(want, sizeof(want), "%d:", (int)kind);
	if (strncmp(got, want, strlen(want)) || !strstr(got, words))
		fail_msg("got '%s', want kind %d with '%s'", got, (int)kind, words);
	assert_null(strchr(got, '\n'));
}

/* ---- tests ---- */

static void test_unknown_interface(void **state)
{
	struct nv_err err = { 0 };
	assert_null(uplink_packet_new("nvnosuch0", &err));
	assert_int_equal(err.kind, NV_ERR_INPUT);
	assert_non_null(strstr(err.msg, "no network interface named nvnosuch0"));
	assert_null(uplink_packet_new("", &err));
	assert_int_equal(err.kind, NV_ERR_INPUT);
	assert_null(uplink_packet_new("a-name-far-too-long-for-linux", &err));
	assert_int_equal(err.kind, NV_ERR_INPUT);
	assert_non_null(strstr(err.msg, "a-name-far-too-long-for-linux"));
	assert_null(uplink_packet_new(NULL, &err));
}

static void test_without_cap_net_raw(void **state)
{
	char got[700];
	in_child(unprivileged_lo, got, sizeof(got));
	expect_error(got, NV_ERR_INPUT,
		     "switch type external needs root or CAP_NET_RAW to use interface lo");
}

static void test_interface_down(void **state)
{
	if (!is_root())
		skip(); /* a network namespace of our own needs root */
	char got[700];
	in_child(down_lo, got, sizeof(got));
	expect_error(got, NV_ERR_INPUT, "interface lo is down");
}

static void test_send_appears_on_lo(void **state)
{
	if (!is_root())
		skip(); /* packet sockets need root or CAP_NET_RAW */
	struct rx r;
	struct uplink *u = make_lo(&r);
	int obs = observer();
	uint8_t f[128];
	u->ops->send(u, f, test_frame(f, 60, r.nonce));
	assert_int_equal(u->counters.tx_frames, 1);
	assert_int_equal(u->counters.dropped, 0);
	bool seen = false;
	for (int i = 0; i < 100 && !seen; i++) {
		struct pollfd pfd = { .fd = obs, .events = POLLIN };
		poll(&pfd, 1, 20);
		uint8_t b[2048];
		ssize_t n;
		while ((n = recv(obs, b, sizeof(b), 0)) > 0) {
			uint32_t nonce;
			memcpy(&nonce, b + 14, 4);
			if (n == 60 && nonce == r.nonce)
				seen = true;
		}
	}
	assert_true(seen);
	/* Out-of-range frames are refused before the socket. */
	u->ops->send(u, f, NET_FRAME_MIN - 1);
	uint8_t big[NET_FRAME_MAX + 1];
	u->ops->send(u, big, test_frame(big, sizeof(big), r.nonce));
	assert_int_equal(u->counters.dropped, 2);
	assert_int_equal(u->counters.tx_frames, 1);
	close(obs);
	free_lo(u, &r);
}

static void test_injected_frame_delivered_once(void **state)
{
	if (!is_root())
		skip();
	struct rx r;
	struct uplink *u = make_lo(&r);
	int obs = observer();
	uint8_t f[200];
	/* On lo the frame shows up twice to a packet socket: as the sender's
	 * PACKET_OUTGOING and as received. Only the second is delivered. */
	assert_int_equal(send(obs, f, test_frame(f, 100, r.nonce), 0), 100);
	pump(&r, 300);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.last_len, 100);
	assert_true(u->counters.rx_frames >= 1);
	close(obs);
	free_lo(u, &r);
}

static void test_oversized_frame_dropped(void **state)
{
	if (!is_root())
		skip();
	struct rx r;
	struct uplink *u = make_lo(&r);
	int obs = observer();
	/* lo's MTU is 64 KiB: a frame the switch cannot carry. */
	static uint8_t f[4000];
	ssize_t n = send(obs, f, test_frame(f, sizeof(f), r.nonce), 0);
	if (n < 0)
		skip(); /* lo with a small MTU */
	pump(&r, 300);
	assert_int_equal(r.n, 0);
	assert_true(u->counters.dropped >= 1);
	close(obs);
	free_lo(u, &r);
}

static void test_describe(void **state)
{
	if (!is_root())
		skip();
	struct rx r;
	struct uplink *u = make_lo(&r);
	assert_string_equal(u->ops->kind, "packet");
	struct json_object *o = json_object_new_object(), *v;
	u->ops->describe(u, o);
	assert_true(json_object_object_get_ex(o, "interface", &v));
	assert_string_equal(json_object_get_string(v), "lo");
	assert_true(json_object_object_get_ex(o, "ifindex", &v));
	assert_int_equal(json_object_get_int(v), (int)if_nametoindex("lo"));
	assert_true(json_object_object_get_ex(o, "mtu", &v));
	assert_true(json_object_get_int(v) >= 1500);
	json_object_put(o);
	/* Attached once only. */
	assert_int_equal(u->ops->attach(u, r.loop), -EBUSY);
	free_lo(u, &r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_interface),
		cmocka_unit_test(test_without_cap_net_raw),
		cmocka_unit_test(test_interface_down),
		cmocka_unit_test(test_send_appears_on_lo),
		cmocka_unit_test(test_injected_frame_delivered_once),
		cmocka_unit_test(test_oversized_frame_dropped),
		cmocka_unit_test(test_describe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
