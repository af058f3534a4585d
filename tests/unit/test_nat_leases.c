/* The NAT switch's lease table (net/nat_leases.h) and its frame parsers
 * (net/lease_frames.h): DHCPACKs learnt only from the switch's own server,
 * every truncation of a frame refused, and the guard that keeps a port's
 * DHCP and ARP from claiming another VM's lease. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "net/lease_frames.h"
#include "net/nat_leases.h"
#include "net_frames.h"

#define GATEWAY 0xc0a86401u /* 192.168.100.1 */
#define LEASE_A 0xc0a8640fu /* .15 */
#define LEASE_B 0xc0a86410u /* .16 */

static const uint8_t mac_a[6] = { 0x52, 0x54, 0, 0, 0, 0x0a };
static const uint8_t mac_b[6] = { 0x52, 0x54, 0, 0, 0, 0x0b };
static const uint8_t mac_gw[6] = { 0x52, 0x55, 0xc0, 0xa8, 0x64, 0x01 };

/* A DHCP reply of type msg from src_ip:sport giving yiaddr to chaddr. */
static size_t dhcp_reply(uint8_t *f, uint32_t src_ip, uint16_t sport, int msg, const uint8_t *chaddr,
			 uint32_t yiaddr)
{
	uint8_t bp[548] = { 0 };
	bp[0] = 2; /* BOOTREPLY */
	bp[1] = 1;
	bp[2] = 6;
	put32(bp + 16, yiaddr);
	memcpy(bp + 28, chaddr, 6);
	put32(bp + 236, 0x63825363);
	uint8_t *o = bp + 240;
	*o++ = 0; /* a pad first: parsers must step over it */
	*o++ = 54, *o++ = 4;
	put32(o, GATEWAY), o += 4;
	*o++ = 53, *o++ = 1, *o++ = (uint8_t)msg;
	*o = 255;
	return udp(f, mac_gw, chaddr, src_ip, yiaddr, sport, 68, bp, sizeof(bp));
}

static struct mac_addr m(const uint8_t *b)
{
	struct mac_addr a;
	memcpy(a.b, b, 6);
	return a;
}

static void test_ack_learnt(void **state)
{
	uint8_t f[1600];
	struct nat_leases t;
	struct mac_addr who, a = m(mac_a);
	uint32_t old = 1;
	nat_leases_init(&t);
	size_t n = dhcp_reply(f, GATEWAY, 67, 5, mac_a, LEASE_A);
	assert_true(nat_leases_learn(&t, f, n, GATEWAY, &who, &old));
	assert_memory_equal(who.b, mac_a, 6);
	assert_int_equal(old, 0);
	assert_int_equal(nat_leases_ip_of(&t, &a), LEASE_A);
	/* The same ACK again (a renewal) changes nothing. */
	assert_false(nat_leases_learn(&t, f, n, GATEWAY, &who, &old));
	assert_true(nat_leases_holder(&t, LEASE_A, &who));
	assert_memory_equal(who.b, mac_a, 6);
}

static void test_only_the_servers_acks(void **state)
{
	uint8_t f[1600];
	struct nat_leases t;
	struct mac_addr who, a = m(mac_a);
	uint32_t old;
	nat_leases_init(&t);
	size_t n = dhcp_reply(f, GATEWAY, 67, 2, mac_a, LEASE_A); /* an OFFER */
	assert_false(nat_leases_learn(&t, f, n, GATEWAY, &who, &old));
	n = dhcp_reply(f, 0x08080808u, 67, 5, mac_a, LEASE_A); /* from outside */
	assert_false(nat_leases_learn(&t, f, n, GATEWAY, &who, &old));
	n = dhcp_reply(f, GATEWAY, 1067, 5, mac_a, LEASE_A); /* not port 67 */
	assert_false(nat_leases_learn(&t, f, n, GATEWAY, &who, &old));
	n = dhcp_reply(f, GATEWAY, 67, 5, mac_a, 0); /* no address */
	assert_false(nat_leases_learn(&t, f, n, GATEWAY, &who, &old));
	assert_int_equal(nat_leases_ip_of(&t, &a), 0);
}

static void test_every_truncation_refused(void **state)
{
	uint8_t f[1600];
	struct mac_addr who;
	uint32_t ip, spa;
	size_t n = dhcp_reply(f, GATEWAY, 67, 5, mac_a, LEASE_A);
	/* The IPv4 and UDP lengths say n: any shorter frame is refused. */
	for (size_t len = 0; len < n; len++)
		assert_false(lease_frames_dhcp_ack(f, len, GATEWAY, &who, &ip));
	assert_true(lease_frames_dhcp_ack(f, n, GATEWAY, &who, &ip));
	n = arp_request(f, mac_a, LEASE_A, GATEWAY);
	for (size_t len = 0; len < n; len++)
		assert_false(lease_frames_arp_sender(f, len, &who, &spa));
	assert_true(lease_frames_arp_sender(f, n, &who, &spa));
	assert_int_equal(spa, LEASE_A);
	/* Options that run past the end: no type, no ACK. */
	n = dhcp_reply(f, GATEWAY, 67, 5, mac_a, LEASE_A);
	uint8_t *opt = f + 14 + 20 + 8 + 240;
	opt[1] = 54, opt[2] = 250; /* option 54 claims 250 bytes before 53 */
	assert_false(lease_frames_dhcp_ack(f, n, GATEWAY, &who, &ip));
}

static void test_address_moves(void **state)
{
	uint8_t f[1600];
	struct nat_leases t;
	struct mac_addr who, a = m(mac_a), b = m(mac_b);
	uint32_t old;
	nat_leases_init(&t);
	size_t n = dhcp_reply(f, GATEWAY, 67, 5, mac_a, LEASE_A);
	nat_leases_learn(&t, f, n, GATEWAY, &who, &old);
	/* slirp gives .15 to b: a no longer holds it. */
	n = dhcp_reply(f, GATEWAY, 67, 5, mac_b, LEASE_A);
	assert_true(nat_leases_learn(&t, f, n, GATEWAY, &who, &old));
	assert_int_equal(nat_leases_ip_of(&t, &a), 0);
	assert_int_equal(nat_leases_ip_of(&t, &b), LEASE_A);
	/* b moves to .16: old is .15. */
	n = dhcp_reply(f, GATEWAY, 67, 5, mac_b, LEASE_B);
	assert_true(nat_leases_learn(&t, f, n, GATEWAY, &who, &old));
	assert_int_equal(old, LEASE_A);
	assert_false(nat_leases_holder(&t, LEASE_A, &who));
}

static bool pinned_b(void *opaque, const struct mac_addr *mac)
{
	return !memcmp(mac->b, mac_b, 6);
}

static void leases_a_and_b(struct nat_leases *t)
{
	uint8_t f[1600];
	struct mac_addr who;
	uint32_t old;
	nat_leases_init(t);
	nat_leases_learn(t, f, dhcp_reply(f, GATEWAY, 67, 5, mac_a, LEASE_A), GATEWAY, &who, &old);
	nat_leases_learn(t, f, dhcp_reply(f, GATEWAY, 67, 5, mac_b, LEASE_B), GATEWAY, &who, &old);
}

static void test_guard_arp(void **state)
{
	uint8_t f[1600];
	struct nat_leases t;
	leases_a_and_b(&t);
	struct lease_guard_port pa = { .mac = m(mac_a), .pinned_elsewhere = pinned_b };
	/* a about its own lease, about an address nobody holds: fine. */
	assert_true(lease_guard_admit(&t, f, arp_request(f, mac_a, LEASE_A, GATEWAY), &pa));
	assert_true(lease_guard_admit(&t, f, arp_request(f, mac_a, 0xc0a86420u, GATEWAY), &pa));
	/* a saying b's address is at a: the lie that would take b's forward. */
	assert_false(lease_guard_admit(&t, f, arp_request(f, mac_a, LEASE_B, GATEWAY), &pa));
	/* a with b's MAC as sender, the right pair but not a's to say. */
	assert_false(lease_guard_admit(&t, f, arp_request(f, mac_b, LEASE_B, GATEWAY), &pa));
	/* The same lie with odd hardware and length fields: slirp reads the
	 * addresses where they are anyway, so the guard must too. */
	size_t n = arp_request(f, mac_a, LEASE_B, GATEWAY);
	f[14] = 0x99, f[18] = 7;
	assert_false(lease_guard_admit(&t, f, n, &pa));
	pa.mac_spoofing = true; /* b's MAC is another port's own: still no */
	assert_false(lease_guard_admit(&t, f, arp_request(f, mac_b, LEASE_B, GATEWAY), &pa));
	assert_false(lease_guard_admit(&t, f, arp_request(f, mac_a, LEASE_B, GATEWAY), &pa));
}

static void test_guard_dhcp_chaddr(void **state)
{
	uint8_t f[1600];
	struct nat_leases t;
	leases_a_and_b(&t);
	static const uint8_t nested[6] = { 0x52, 0x54, 0, 0, 1, 1 };
	struct lease_guard_port pa = { .mac = m(mac_a), .pinned_elsewhere = pinned_b };
	assert_true(lease_guard_admit(&t, f, dhcp_discover(f, mac_a, 1), &pa));
	/* A DISCOVER from a's port with b's chaddr (its Ethernet source a's). */
	size_t n = dhcp_discover(f, mac_b, 2);
	memcpy(f + 6, mac_a, 6);
	assert_false(lease_guard_admit(&t, f, n, &pa));
	n = dhcp_discover(f, nested, 3);
	assert_false(lease_guard_admit(&t, f, n, &pa));
	/* With MAC spoofing on (a nested guest behind a), its own MAC is fine;
	 * another port's own still is not. */
	pa.mac_spoofing = true;
	assert_true(lease_guard_admit(&t, f, n, &pa));
	assert_false(lease_guard_admit(&t, f, dhcp_discover(f, mac_b, 4), &pa));
	/* Anything else passes. */
	assert_true(lease_guard_admit(&t, f, tcp_syn(f, mac_a, mac_gw, LEASE_A, GATEWAY, 1000, 80, 1), &pa));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ack_learnt),
		cmocka_unit_test(test_only_the_servers_acks),
		cmocka_unit_test(test_every_truncation_refused),
		cmocka_unit_test(test_address_moves),
		cmocka_unit_test(test_guard_arp),
		cmocka_unit_test(test_guard_dhcp_chaddr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
