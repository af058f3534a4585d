/* A NAT uplink's forwards asked for at run time (net/nat_hostfwd.h, through
 * uplink_ops forward_add / forwards_drop): none before the guest's DHCP has
 * finished; after slirp's DHCPACK, a port of 127.0.0.1 whose connections
 * arrive as SYNs to the leased address and the guest's MAC; the same port
 * when asked again; nothing listening once its owner's forwards are
 * dropped. Real libslirp on a real event loop, as in test_uplink_nat. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/evloop.h"
#include "net/nat_leases.h"
#include "net/uplink.h"
#include "unit/net_frames.h"

#define NET 0xc0a86400u /* 192.168.100.0/24 */
#define LEASE (NET + 15) /* slirp's first DHCP address */
#define OWNER 3          /* a switch port id */

static const uint8_t GUEST_MAC[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };

struct rx {
	uint8_t *f[256];
	size_t len[256];
	int n;
	struct evloop *loop;
};

static void on_deliver(void *opaque, const uint8_t *frame, size_t len)
{
	struct rx *r = opaque;
	if (r->n == 256)
		return;
	r->f[r->n] = malloc(len);
	memcpy(r->f[r->n], frame, len);
	r->len[r->n++] = len;
}

static int64_t ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef int (*match_fn)(const uint8_t *f, size_t len);

/* Loop rounds until a delivered frame matches (its index), or -1 after 2 s. */
static int pump_until(struct rx *r, match_fn match)
{
	int64_t end = ms_now() + 2000;
	for (int seen = 0;; assert_true(evloop_run_once(r->loop, 20) >= 0)) {
		for (; seen < r->n; seen++)
			if (match(r->f[seen], r->len[seen]))
				return seen;
		if (ms_now() >= end)
			return -1;
	}
}

static int is_dhcp_ack(const uint8_t *f, size_t len)
{
	size_t pl;
	uint8_t ol;
	const uint8_t *u = ip_payload(f, len, 17, &pl);
	if (!u || pl < 8 + 240 || get16(u) != 67)
		return 0;
	const uint8_t *t = dhcp_option(u + 8, pl - 8, 53, &ol);
	return t && ol == 1 && t[0] == 5;
}

static int is_syn_to_lease_22(const uint8_t *f, size_t len)
{
	size_t pl;
	const uint8_t *t = ip_payload(f, len, 6, &pl);
	return t && pl >= 20 && get32(f + 30) == LEASE && get16(t + 2) == 22 && (t[13] & 0x3f) == 0x02;
}

static int connect_loopback(uint16_t port, bool nonblock)
{
	int c = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
	assert_true(c >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int rc = connect(c, (struct sockaddr *)&a, sizeof(a));
	if (rc < 0 && errno != EINPROGRESS) {
		close(c);
		return -errno;
	}
	return c;
}

static void test_forward_to_the_lease(void **state)
{
	struct nat_config cfg = { .network = NET, .prefix_len = 24 };
	struct nv_err err = { 0 };
	struct uplink *u = uplink_nat_new(&cfg, &err);
	if (!u)
		fail_msg("uplink_nat_new: %s", err.msg);
	struct rx r = { 0 };
	u->deliver = on_deliver;
	u->deliver_opaque = &r;
	assert_int_equal(evloop_create(&r.loop), 0);
	assert_int_equal(u->ops->attach(u, r.loop), 0);
	struct mac_addr mac;
	memcpy(mac.b, GUEST_MAC, 6);

	uint16_t port = 0, again = 0;
	assert_int_equal(u->ops->forward_add(u, OWNER, &mac, 22, &port, &err), -1);
	assert_int_equal(err.kind, NV_ERR_INPUT); /* no lease yet */

	/* A DHCPREQUEST with no address asked for: slirp ACKs its pick. */
	uint8_t f[NET_FRAME_MAX];
	size_t n = dhcp_discover(f, GUEST_MAC, 0x5eed);
	f[ETH_HDR_LEN + 20 + 8 + 242] = 3; /* option 53's value: DHCPREQUEST */
	u->ops->send(u, f, n);
	assert_true(pump_until(&r, is_dhcp_ack) >= 0);
	assert_int_equal(nat_leases_ip_of(u->ops->leases(u), &mac), LEASE);

	assert_int_equal(u->ops->forward_add(u, OWNER, &mac, 22, &port, &err), 0);
	assert_true(port > 0);
	assert_int_equal(u->ops->forward_add(u, OWNER, &mac, 22, &again, &err), 0);
	assert_int_equal(again, port);

	int c = connect_loopback(port, true);
	assert_true(c >= 0);
	int i = pump_until(&r, is_syn_to_lease_22);
	assert_true(i >= 0);
	assert_memory_equal(r.f[i], GUEST_MAC, 6); /* to the lease's MAC */
	close(c);

	u->ops->forwards_drop(u, OWNER);
	assert_int_equal(connect_loopback(port, false), -ECONNREFUSED);

	u->ops->free(u);
	assert_int_equal(evloop_destroy(r.loop), 0);
	for (int k = 0; k < r.n; k++)
		free(r.f[k]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forward_to_the_lease),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
