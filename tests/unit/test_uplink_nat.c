/* The NAT uplink driven as the switch drives it: attached to an event loop,
 * frames built by hand go in through ops->send, and the loop runs until
 * slirp's answer comes out through deliver(). Real sockets on 127.0.0.1; no
 * root needed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/evloop.h"
#include "util/eth.h"
#include "net/uplink.h"
#include "unit/net_frames.h"

#define NET 0xc0a86400u /* 192.168.100.0/24 */
#define GW (NET + 1)
#define DNS (NET + 3)
#define GUEST (NET + 20)
static const uint8_t GUEST_MAC[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };
static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* ---- what the uplink delivers ---- */

#define MAX_FRAMES 256
struct rx {
	uint8_t *f[MAX_FRAMES];
	size_t len[MAX_FRAMES];
	int n;
	bool in_send;
	struct evloop *loop; /* the uplink's, as the daemon's */
};

static void on_deliver(void *opaque, const uint8_t *frame, size_t len)
{
	struct rx *r = opaque;
	assert_false(r->in_send); /* never re-entered from send() */
	assert_true(len >= NET_FRAME_MIN && len <= NET_FRAME_MAX);
	if (r->n == MAX_FRAMES)
		return;
	r->f[r->n] = malloc(len);
	memcpy(r->f[r->n], frame, len);
	r->len[r->n++] = len;
}

static void rx_clear(struct rx *r)
{
	for (int i = 0; i < r->n; i++)
		free(r->f[i]);
	r->n = 0;
}

static struct uplink *make_nat_caps(struct rx *r, const struct nat_forward *fw, unsigned nfw,
				    bool host_loopback, unsigned per_port, unsigned total)
{
	struct nat_config cfg = { .network = NET, .prefix_len = 24, .forwards = fw,
				  .nforwards = nfw, .host_loopback = host_loopback,
				  .max_flows_per_port = per_port, .max_flows = total };
	struct nv_err err = { 0 };
	struct uplink *u = uplink_nat_new(&cfg, &err);
	if (!u)
		fail_msg("uplink_nat_new: %s", err.msg);
	memset(r, 0, sizeof(*r));
	u->deliver = on_deliver;
	u->deliver_opaque = r;
	assert_int_equal(evloop_create(&r->loop), 0);
	assert_int_equal(u->ops->attach(u, r->loop), 0);
	return u;
}

static struct uplink *make_nat_with(struct rx *r, const struct nat_forward *fw, unsigned nfw,
				    bool host_loopback)
{
	return make_nat_caps(r, fw, nfw, host_loopback, 0, 0);
}

/* The defaults a switch gets: guests kept off the host's loopback. */
static struct uplink *make_nat(struct rx *r, const struct nat_forward *fw, unsigned nfw)
{
	return make_nat_with(r, fw, nfw, false);
}

static void up_send(struct uplink *u, struct rx *r, const uint8_t *f, size_t len)
{
	r->in_send = true;
	u->ops->send(u, f, len);
	r->in_send = false;
}

static int64_t ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef int (*match_fn)(const uint8_t *f, size_t len, const void *arg);

/* One round of the daemon's loop, sleeping at most 20 ms. */
static void pump_round(struct rx *r)
{
	assert_true(evloop_run_once(r->loop, 20) >= 0);
}

/* Rounds until a delivered frame matches (returns its index) or ~2 s pass
 * (-1). */
static int pump_until(struct uplink *u, struct rx *r, match_fn match, const void *arg)
{
	int64_t end = ms_now() + 2000;
	for (int seen = 0;; pump_round(r)) {
		for (; seen < r->n; seen++)
			if (match(r->f[seen], r->len[seen], arg))
				return seen;
		if (ms_now() >= end)
			return -1;
	}
}

/* ---- frame matchers ---- */

static int is_dhcp_offer(const uint8_t *f, size_t len, const void *arg)
{
	size_t pl;
	const uint8_t *u = ip_payload(f, len, 17, &pl);
	if (!u || pl < 8 + 240 || get16(u) != 67 || get16(u + 2) != 68)
		return 0;
	return get32(u + 8 + 4) == *(const uint32_t *)arg;
}

static int is_arp(const uint8_t *f, size_t len, uint16_t op, uint32_t sip, uint32_t tip)
{
	return len >= 42 && get16(f + 12) == 0x0806 && get16(f + 20) == op &&
	       get32(f + 28) == sip && get32(f + 38) == tip;
}

static int is_arp_reply_from_gw(const uint8_t *f, size_t len, const void *arg)
{
	return is_arp(f, len, 2, GW, GUEST) && memcmp(f + 32, GUEST_MAC, 6) == 0;
}

static int is_echo_reply(const uint8_t *f, size_t len, const void *arg)
{
	size_t pl;
	const uint8_t *c = ip_payload(f, len, 1, &pl);
	return c && pl >= 8 && c[0] == 0 && get16(c + 4) == 0x4242 && get16(c + 6) == 7 &&
	       get32(f + 26) == GW && get32(f + 30) == GUEST &&
	       memcmp(f, GUEST_MAC, 6) == 0 && csum(c, pl, 0) == 0;
}

struct tcp_want {
	uint32_t dst;
	uint16_t sport, dport;
	uint8_t flags;
	uint32_t ack;
};

static int is_tcp(const uint8_t *f, size_t len, const void *arg)
{
	const struct tcp_want *w = arg;
	size_t pl;
	const uint8_t *t = ip_payload(f, len, 6, &pl);
	if (!t || pl < 20 || get32(f + 30) != w->dst || (t[13] & 0x3f) != w->flags)
		return 0;
	if ((w->sport && get16(t) != w->sport) || get16(t + 2) != w->dport)
		return 0;
	return !(w->flags & 0x10) || get32(t + 8) == w->ack;
}

/* A port forward's first move toward the guest: ARP for it, or a SYN. */
static int is_fwd_start(const uint8_t *f, size_t len, const void *arg)
{
	const struct tcp_want *w = arg;
	return is_arp(f, len, 1, GW, w->dst) || is_tcp(f, len, arg);
}

/* ---- helpers ---- */

/* A TCP or UDP port free on this host right now. */
static uint16_t free_port(int type)
{
	int s = socket(AF_INET, type, 0);
	assert_true(s >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY) };
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t al = sizeof(a);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &al), 0);
	close(s);
	return ntohs(a.sin_port);
}

static int listen_on(uint32_t addr, uint16_t port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(addr) };
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s, 4), 0);
	return s;
}

/* Tell slirp the guest's MAC the way a guest does: ARP for the gateway. */
static void guest_arp(struct uplink *u, struct rx *r)
{
	uint8_t f[64];
	size_t len = arp_request(f, GUEST_MAC, GUEST, GW);
	up_send(u, r, f, len);
	assert_true(pump_until(u, r, is_arp_reply_from_gw, NULL) >= 0);
}

static void free_nat(struct uplink *u, struct rx *r)
{
	u->ops->free(u); /* off the loop first */
	assert_int_equal(evloop_destroy(r->loop), 0);
	rx_clear(r);
}

/* ---- tests ---- */

static void test_dhcp_offer(void **state)
{
	struct rx r;
	struct uplink *u = make_nat(&r, NULL, 0);
	uint8_t f[NET_FRAME_MAX];
	uint32_t xid = 0x11223344;
	up_send(u, &r, f, dhcp_discover(f, GUEST_MAC, xid));
	int i = pump_until(u, &r, is_dhcp_offer, &xid);
	assert_true(i >= 0);
	size_t pl;
	const uint8_t *udp_p = ip_payload(r.f[i], r.len[i], 17, &pl);
	const uint8_t *bp = udp_p + 8;
	size_t bplen = pl - 8;
	assert_int_equal(get32(bp + 16), NET + 15); /* yiaddr */
	assert_memory_equal(bp + 28, GUEST_MAC, 6);
	uint8_t ol = 0;
	const uint8_t *o = dhcp_option(bp, bplen, 53, &ol);
	assert_non_null(o);
	assert_int_equal(o[0], 2); /* DHCPOFFER */
	o = dhcp_option(bp, bplen, 3, &ol);
	assert_non_null(o);
	assert_true(ol >= 4);
	assert_int_equal(get32(o), GW);
	o = dhcp_option(bp, bplen, 6, &ol);
	assert_non_null(o);
	assert_true(ol >= 4);
	assert_int_equal(get32(o), DNS);
	o = dhcp_option(bp, bplen, 1, &ol);
	assert_non_null(o);
	assert_int_equal(get32(o), 0xffffff00u);
	assert_int_equal(u->counters.tx_frames, 1);
	assert_true(u->counters.rx_frames >= 1);
	free_nat(u, &r);
}

static void test_arp_gateway(void **state)
{
	struct rx r;
	struct uplink *u = make_nat(&r, NULL, 0);
	uint8_t f[64];
	up_send(u, &r, f, arp_request(f, GUEST_MAC, GUEST, GW));
	int i = pump_until(u, &r, is_arp_reply_from_gw, NULL);
	assert_true(i >= 0);
	/* To the asker, from the gateway's own unicast MAC. */
	assert_memory_equal(r.f[i], GUEST_MAC, 6);
	struct mac_addr gw_mac;
	memcpy(gw_mac.b, r.f[i] + 22, 6);
	assert_false(mac_is_multicast(&gw_mac));
	assert_false(mac_is_zero(&gw_mac));
	assert_memory_equal(r.f[i] + 6, gw_mac.b, 6);
	/* An ARP for an address nobody has gets no answer from slirp. */
	rx_clear(&r);
	up_send(u, &r, f, arp_request(f, GUEST_MAC, GUEST, NET + 200));
	assert_int_equal(r.n, 0);
	free_nat(u, &r);
}

static void test_ping_gateway(void **state)
{
	struct rx r;
	struct uplink *u = make_nat(&r, NULL, 0);
	guest_arp(u, &r);
	uint8_t f[128];
	up_send(u, &r, f, icmp_echo(f, GUEST_MAC, r.f[0] + 6, GUEST, GW, 0x4242, 7));
	assert_true(pump_until(u, &r, is_echo_reply, NULL) >= 0);
	free_nat(u, &r);
}

static void test_port_forward_reaches_guest(void **state)
{
	uint16_t port = free_port(SOCK_STREAM);
	struct nat_forward fw = { .udp = 0, .host_port = port, .guest_ip = GUEST,
				  .guest_port = 8080 };
	struct rx r;
	struct uplink *u = make_nat(&r, &fw, 1);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(c >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int rc = connect(c, (struct sockaddr *)&a, sizeof(a));
	assert_true(rc == 0 || errno == EINPROGRESS);
	/* slirp accepts, then heads for the guest: an ARP for it (its MAC is
	 * not known yet) or the SYN itself. */
	struct tcp_want w = { .dst = GUEST, .dport = 8080, .flags = 0x02 };
	assert_true(pump_until(u, &r, is_fwd_start, &w) >= 0);
	close(c);
	free_nat(u, &r);
}

static void test_port_forward_syn_when_guest_known(void **state)
{
	uint16_t port = free_port(SOCK_STREAM);
	struct nat_forward fw = { .udp = 0, .host_port = port, .guest_ip = GUEST,
				  .guest_port = 2222 };
	struct rx r;
	struct uplink *u = make_nat(&r, &fw, 1);
	guest_arp(u, &r);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(c >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int rc = connect(c, (struct sockaddr *)&a, sizeof(a));
	assert_true(rc == 0 || errno == EINPROGRESS);
	struct tcp_want w = { .dst = GUEST, .dport = 2222, .flags = 0x02 };
	int i = pump_until(u, &r, is_tcp, &w);
	assert_true(i >= 0);
	assert_memory_equal(r.f[i], GUEST_MAC, 6);
	close(c);
	free_nat(u, &r);
}

static void test_outbound_tcp_to_host_loopback(void **state)
{
	uint16_t port = free_port(SOCK_STREAM);
	int l = listen_on(INADDR_LOOPBACK, port);
	struct rx r;
	struct uplink *u = make_nat_with(&r, NULL, 0, true);
	guest_arp(u, &r);
	uint8_t f[128];
	up_send(u, &r, f, tcp_syn(f, GUEST_MAC, r.f[0] + 6, GUEST, GW, 40000, port, 1000));
	/* With --host-loopback on, the gateway address is the host's loopback: slirp connects to
	 * 127.0.0.1:port and answers the guest with a SYN-ACK. */
	struct tcp_want w = { .dst = GUEST, .sport = port, .dport = 40000, .flags = 0x12,
			      .ack = 1001 };
	assert_true(pump_until(u, &r, is_tcp, &w) >= 0);
	int s = accept4(l, NULL, NULL, SOCK_NONBLOCK);
	assert_true(s >= 0);
	close(s);
	close(l);
	free_nat(u, &r);
}

/* By default a service on the host's 127.0.0.1 is out of the guests' reach:
 * no connection arrives, no SYN-ACK goes back. */
static void test_host_loopback_off_by_default(void **state)
{
	uint16_t port = free_port(SOCK_STREAM);
	int l = listen_on(INADDR_LOOPBACK, port);
	struct rx r;
	struct uplink *u = make_nat(&r, NULL, 0);
	guest_arp(u, &r);
	uint8_t f[128];
	up_send(u, &r, f, tcp_syn(f, GUEST_MAC, r.f[0] + 6, GUEST, GW, 40001, port, 1000));
	struct tcp_want w = { .dst = GUEST, .sport = port, .dport = 40001, .flags = 0x12,
			      .ack = 1001 };
	assert_int_equal(pump_until(u, &r, is_tcp, &w), -1);
	struct pollfd p = { .fd = l, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 0), 0); /* nobody connected */
	close(l);
	free_nat(u, &r);
}

struct udp_want {
	uint16_t sport, dport;
	const char *data;
};

static int is_udp_reply(const uint8_t *f, size_t len, const void *arg)
{
	const struct udp_want *w = arg;
	size_t pl, dl = strlen(w->data);
	const uint8_t *p = ip_payload(f, len, 17, &pl);
	return p && pl == 8 + dl && get16(p) == w->sport && get16(p + 2) == w->dport &&
	       get32(f + 26) == GW && get32(f + 30) == GUEST && memcmp(p + 8, w->data, dl) == 0;
}

/* A UDP socket on the host's 127.0.0.1 at a free port (*port). */
static int udp_listener(uint16_t *port)
{
	*port = free_port(SOCK_DGRAM);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(*port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	return s;
}

static void test_outbound_udp_round_trip(void **state)
{
	uint16_t port;
	int s = udp_listener(&port);
	struct rx r;
	struct uplink *u = make_nat_with(&r, NULL, 0, true);
	guest_arp(u, &r);
	uint8_t f[128];
	up_send(u, &r, f, udp(f, GUEST_MAC, r.f[0] + 6, GUEST, GW, 5555, port, "hello", 5));
	char buf[64];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n = -1;
	for (int64_t end = ms_now() + 2000; n < 0 && ms_now() < end;) {
		pump_round(&r);
		n = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
	}
	assert_int_equal(n, 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(sendto(s, "world", 5, 0, (struct sockaddr *)&from, fl), 5);
	struct udp_want w = { .sport = port, .dport = 5555, .data = "world" };
	/* The socket's readiness wakes the loop: no wait for slirp's timer
	 * (499 ms while a UDP socket may expire). */
	int64_t t0 = ms_now();
	assert_true(pump_until(u, &r, is_udp_reply, &w) >= 0);
	assert_true(ms_now() - t0 < 300);
	close(s);
	free_nat(u, &r);
}

static void test_malformed_and_oversized(void **state)
{
	struct rx r;
	struct uplink *u = make_nat(&r, NULL, 0);
	static uint8_t big[NET_FRAME_MAX + 100];
	memset(big, 0xab, sizeof(big));
	/* Sizes outside NET_FRAME_MIN..NET_FRAME_MAX. */
	up_send(u, &r, big, 0);
	up_send(u, &r, big, 5);
	up_send(u, &r, big, NET_FRAME_MIN - 1);
	up_send(u, &r, big, NET_FRAME_MAX + 1);
	up_send(u, &r, big, sizeof(big));
	assert_int_equal(u->counters.dropped, 5);
	assert_int_equal(u->counters.tx_frames, 0);

	/* Headers that do not fit their frame. */
	uint8_t f[NET_FRAME_MAX];
	size_t len = arp_request(f, GUEST_MAC, GUEST, GW);
	up_send(u, &r, f, len - 1); /* ARP body cut short */
	eth(f, GUEST_MAC, BCAST, 0x0800);
	up_send(u, &r, f, 14 + 19); /* IPv4 header cut short */
	len = icmp_echo(f, GUEST_MAC, BCAST, GUEST, GW, 1, 1);
	f[14] = 0x4f; /* IHL 60 bytes */
	up_send(u, &r, f, 14 + 40);
	len = icmp_echo(f, GUEST_MAC, BCAST, GUEST, GW, 1, 1);
	put16(f + 16, 1400); /* total length beyond the frame */
	up_send(u, &r, f, len);
	len = icmp_echo(f, GUEST_MAC, BCAST, GUEST, GW, 1, 1);
	f[14] = 0x65; /* version 6 in an IPv4 frame */
	up_send(u, &r, f, len);
	assert_int_equal(u->counters.dropped, 10);
	assert_int_equal(u->counters.tx_frames, 0);

	/* Well-formed enough to reach slirp, wrong inside: slirp drops them. */
	len = icmp_echo(f, GUEST_MAC, BCAST, GUEST, GW, 1, 1);
	f[24] ^= 0xff; /* IPv4 header checksum */
	up_send(u, &r, f, len);
	len = tcp_syn(f, GUEST_MAC, BCAST, GUEST, GW, 1, 2, 3);
	f[14 + 20 + 16] ^= 0xff; /* TCP checksum */
	up_send(u, &r, f, len);
	len = udp(f, GUEST_MAC, BCAST, GUEST, GW, 1, 2, "x", 1);
	put16(f + 14 + 20 + 4, 400); /* UDP length beyond the datagram */
	up_send(u, &r, f, len);
	eth(f, GUEST_MAC, BCAST, 0x86dd); /* IPv6: disabled */
	memset(f + 14, 0x60, 60);
	up_send(u, &r, f, 74);
	assert_int_equal(u->counters.tx_frames, 4);

	/* Random bytes under the two types slirp parses. */
	srand(12345);
	for (int i = 0; i < 2000; i++) {
		size_t l = NET_FRAME_MIN + (size_t)rand() % (NET_FRAME_MAX - NET_FRAME_MIN + 1);
		for (size_t k = 0; k < l; k++)
			f[k] = (uint8_t)rand();
		put16(f + 12, i & 1 ? 0x0800 : 0x0806);
		if (i & 1 && l >= 34) {
			f[14] = 0x45;
			put16(f + 16, (uint16_t)(l - 14 - (size_t)rand() % 8 % (l - 33)));
		}
		up_send(u, &r, f, l);
	}
	assert_int_equal(u->counters.tx_frames + u->counters.dropped, 10 + 4 + 2000);
	for (int i = 0; i < 5; i++)
		pump_round(&r);
	free_nat(u, &r);
}

static void test_forward_port_in_use(void **state)
{
	uint16_t port = free_port(SOCK_STREAM);
	int l = listen_on(INADDR_ANY, port);
	struct nat_forward fw[2] = {
		{ .udp = 1, .host_port = free_port(SOCK_DGRAM), .guest_ip = GUEST, .guest_port = 53 },
		{ .udp = 0, .host_port = port, .guest_ip = GUEST, .guest_port = 22 },
	};
	struct nat_config cfg = { .network = NET, .prefix_len = 24, .forwards = fw,
				  .nforwards = 2 };
	struct nv_err err = { 0 };
	assert_null(uplink_nat_new(&cfg, &err));
	assert_int_equal(err.kind, NV_ERR_INPUT);
	char want[96];
	snprintf(want, sizeof(want), "port forward tcp %u -> 192.168.100.20:22", port);
	assert_non_null(strstr(err.msg, want));
	assert_non_null(strstr(err.msg, "in use"));
	assert_null(strchr(err.msg, '\n'));
	close(l);
	/* Free again: the same configuration now works. */
	struct uplink *u = uplink_nat_new(&cfg, &err);
	assert_non_null(u);
	u->ops->free(u);
}

static void expect_bad(uint32_t net, unsigned prefix, const struct nat_forward *fw,
		       const char *words)
{
	struct nat_config cfg = { .network = net, .prefix_len = prefix, .forwards = fw,
				  .nforwards = fw ? 1 : 0 };
	struct nv_err err = { 0 };
	assert_null(uplink_nat_new(&cfg, &err));
	assert_int_equal(err.kind, NV_ERR_INPUT);
	if (!strstr(err.msg, words))
		fail_msg("'%s' lacks '%s'", err.msg, words);
	assert_null(strchr(err.msg, '\n'));
}

static void test_bad_config(void **state)
{
	expect_bad(NET, 28, NULL, "192.168.100.0/28 is too small");
	expect_bad(NET, 31, NULL, "prefix");
	expect_bad(NET + 5, 24, NULL, "host bits");
	struct nat_forward fw = { .host_port = 2222, .guest_ip = GW, .guest_port = 22 };
	expect_bad(NET, 24, &fw, "port forward tcp 2222 -> 192.168.100.1:22");
	fw.guest_ip = 0x0a000005;
	expect_bad(NET, 24, &fw, "guest address");
	fw.guest_ip = GUEST;
	fw.guest_port = 0;
	expect_bad(NET, 24, &fw, "port 0");
	struct nv_err err = { 0 };
	assert_null(uplink_nat_new(NULL, &err));
	assert_int_equal(err.kind, NV_ERR_INPUT);
}

static void test_describe_and_timeout(void **state)
{
	struct nat_forward fw = { .udp = 1, .host_port = free_port(SOCK_DGRAM),
				  .guest_ip = GUEST, .guest_port = 69 };
	struct rx r;
	struct uplink *u = make_nat(&r, &fw, 1);
	assert_string_equal(u->ops->kind, "nat");
	struct json_object *o = json_object_new_object();
	u->ops->describe(u, o);
	struct json_object *v;
	assert_true(json_object_object_get_ex(o, "gateway", &v));
	assert_string_equal(json_object_get_string(v), "192.168.100.1");
	assert_true(json_object_object_get_ex(o, "dns", &v));
	assert_string_equal(json_object_get_string(v), "192.168.100.3");
	assert_true(json_object_object_get_ex(o, "dhcp_start", &v));
	assert_string_equal(json_object_get_string(v), "192.168.100.15");
	assert_true(json_object_object_get_ex(o, "network", &v));
	assert_string_equal(json_object_get_string(v), "192.168.100.0/24");
	assert_true(json_object_object_get_ex(o, "forwards", &v));
	assert_int_equal(json_object_array_length(v), 1);
	struct json_object *f0 = json_object_array_get_idx(v, 0), *x;
	assert_true(json_object_object_get_ex(f0, "proto", &x));
	assert_string_equal(json_object_get_string(x), "udp");
	assert_true(json_object_object_get_ex(f0, "guest_ip", &x));
	assert_string_equal(json_object_get_string(x), "192.168.100.20");
	json_object_put(o);

	/* A loop waiting forever wakes within slirp's bound (1 s): the NAT
	 * keeps a timer armed for slirp's own timers. */
	int64_t t0 = ms_now();
	assert_true(evloop_run_once(r.loop, 3000) >= 1);
	assert_true(ms_now() - t0 <= 1500);
	/* Attached once only. */
	assert_int_equal(u->ops->attach(u, r.loop), -EBUSY);
	free_nat(u, &r);
}

/* An integer field of the uplink's description. */
static long long described(struct uplink *u, const char *key)
{
	struct json_object *o = json_object_new_object(), *v;
	u->ops->describe(u, o);
	long long n = json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : -1;
	json_object_put(o);
	return n;
}

/* Datagrams the host's socket s received within ~1 s, concatenated. */
static void received(struct rx *r, int s, char *out, size_t size)
{
	size_t n = 0;
	out[0] = '\0';
	for (int64_t end = ms_now() + 1000; ms_now() < end;) {
		pump_round(r);
		ssize_t k;
		while ((k = recv(s, out + n, size - 1 - n, MSG_DONTWAIT)) > 0)
			n += (size_t)k;
		out[n] = '\0';
	}
}

/* Flow caps (issue 16, point 4): with 2 flows per port and 3 per switch,
 * a guest's third UDP source port is refused and counted while its open
 * flows go on; a second guest gets the switch's last flow, then is refused
 * too; SYNs past the cap are refused; DHCP, which opens no socket, still
 * works. */
static const uint8_t OTHER_MAC[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xdd };

static void test_flow_caps(void **state)
{
	uint16_t port;
	int s = udp_listener(&port);
	struct rx r;
	struct uplink *u = make_nat_caps(&r, NULL, 0, true, 2, 3);
	guest_arp(u, &r);
	uint8_t gw_mac[6];
	memcpy(gw_mac, r.f[0] + 6, 6);
	uint8_t f[128];
	char got[256];
	up_send(u, &r, f, udp(f, GUEST_MAC, gw_mac, GUEST, GW, 6001, port, "a", 1));
	up_send(u, &r, f, udp(f, GUEST_MAC, gw_mac, GUEST, GW, 6002, port, "b", 1));
	up_send(u, &r, f, udp(f, GUEST_MAC, gw_mac, GUEST, GW, 6003, port, "c", 1));
	up_send(u, &r, f, udp(f, GUEST_MAC, gw_mac, GUEST, GW, 6001, port, "d", 1));
	received(&r, s, got, sizeof(got));
	assert_int_equal(strlen(got), 3);
	assert_non_null(strchr(got, 'a'));
	assert_non_null(strchr(got, 'b'));
	assert_non_null(strchr(got, 'd')); /* an open flow goes on at the cap */
	assert_null(strchr(got, 'c'));
	assert_int_equal(described(u, "flows"), 2);
	assert_int_equal(described(u, "flows_refused"), 1);

	/* Another guest: the switch's third flow, then the switch's cap. */
	up_send(u, &r, f, udp(f, OTHER_MAC, gw_mac, GUEST + 1, GW, 7001, port, "e", 1));
	up_send(u, &r, f, udp(f, OTHER_MAC, gw_mac, GUEST + 1, GW, 7002, port, "f", 1));
	received(&r, s, got, sizeof(got));
	assert_string_equal(got, "e");
	assert_int_equal(described(u, "flows"), 3);
	assert_int_equal(described(u, "flows_refused"), 2);

	/* A SYN past the cap never reaches slirp. */
	up_send(u, &r, f, tcp_syn(f, GUEST_MAC, gw_mac, GUEST, GW, 40000, 9, 1));
	assert_int_equal(described(u, "flows_refused"), 3);

	/* What opens no socket still works: DHCP. */
	rx_clear(&r);
	uint8_t d[700];
	uint32_t xid = 0x1234;
	up_send(u, &r, d, dhcp_discover(d, GUEST_MAC, xid));
	assert_true(pump_until(u, &r, is_dhcp_offer, &xid) >= 0);
	assert_int_equal(described(u, "flows_refused"), 3);
	close(s);
	free_nat(u, &r);
}

/* A fragment of a UDP datagram: offset (8-byte units) and more-to-come. */
static size_t udp_fragment(uint8_t *f, const uint8_t *gw_mac, uint16_t off8, bool more, size_t plen)
{
	size_t o = ipv4(f, GUEST_MAC, gw_mac, GUEST, GW, 17, plen);
	uint8_t *ip = f + ETH_HDR_LEN;
	put16(ip + 6, (uint16_t)((more ? 0x2000 : 0) | off8));
	put16(ip + 10, 0);
	put16(ip + 10, csum(ip, 20, 0));
	memset(f + o, 'x', plen);
	if (off8 == 0) { /* the UDP header */
		put16(f + o, 5000);
		put16(f + o + 2, 53);
		put16(f + o + 4, 8 + 40);
		put16(f + o + 6, 0);
	}
	return o + plen;
}

/* Guests' IPv4 fragments never reach libslirp, whose reassembly corrupts
 * its heap when a datagram's last fragment comes first (the order here):
 * they are dropped and counted, and the switch goes on. */
static void test_fragments_dropped(void **state)
{
	struct rx r;
	struct uplink *u = make_nat(&r, NULL, 0);
	guest_arp(u, &r);
	uint8_t gw_mac[6];
	memcpy(gw_mac, r.f[0] + 6, 6);
	uint8_t f[128];
	up_send(u, &r, f, udp_fragment(f, gw_mac, 3, false, 24));
	up_send(u, &r, f, udp_fragment(f, gw_mac, 0, true, 24));
	for (int i = 0; i < 5; i++)
		pump_round(&r);
	assert_int_equal(described(u, "fragments_dropped"), 2);
	/* Still answering. */
	rx_clear(&r);
	up_send(u, &r, f, icmp_echo(f, GUEST_MAC, gw_mac, GUEST, GW, 0x4242, 7));
	assert_true(pump_until(u, &r, is_echo_reply, NULL) >= 0);
	free_nat(u, &r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dhcp_offer),
		cmocka_unit_test(test_arp_gateway),
		cmocka_unit_test(test_ping_gateway),
		cmocka_unit_test(test_port_forward_reaches_guest),
		cmocka_unit_test(test_port_forward_syn_when_guest_known),
		cmocka_unit_test(test_outbound_tcp_to_host_loopback),
		cmocka_unit_test(test_host_loopback_off_by_default),
		cmocka_unit_test(test_outbound_udp_round_trip),
		cmocka_unit_test(test_malformed_and_oversized),
		cmocka_unit_test(test_forward_port_in_use),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_describe_and_timeout),
		cmocka_unit_test(test_flow_caps),
		cmocka_unit_test(test_fragments_dropped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
