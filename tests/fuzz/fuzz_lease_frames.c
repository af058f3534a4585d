/* libFuzzer: frames into the NAT switch's lease table and guard
 * (net/lease_frames.c, net/nat_leases.c). The input is a run of frames,
 * each a 2-byte big-endian length and that many bytes; each goes through
 * the parsers, is learnt as if slirp had sent it (an ACK from 192.168.100.1
 * counts), and is judged as if a port had sent it. Any crash or sanitizer
 * report is a bug, and so is: an ACK read with no address; a learnt lease
 * that the table does not then give back both ways; two MACs holding one
 * address; a guard that lets a port's ARP claim an address leased to
 * another MAC. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "net/lease_frames.h"
#include "net/nat_leases.h"

#define GATEWAY 0xc0a86401u

static const struct mac_addr port_mac = { { 0x52, 0x54, 0, 0, 0, 0x0a } };

static void check_one_holder_each(const struct nat_leases *t)
{
	for (int i = 0; i < NAT_LEASES_MAX; i++)
		for (int j = i + 1; j < NAT_LEASES_MAX; j++)
			CHECK(!t->l[i].ip || t->l[i].ip != t->l[j].ip);
}

static void one_frame(struct nat_leases *t, const uint8_t *f, size_t len, bool spoofing)
{
	struct mac_addr mac, who;
	uint32_t ip, old;
	if (lease_frames_dhcp_ack(f, len, GATEWAY, &mac, &ip))
		CHECK(ip != 0);
	lease_frames_dhcp_request(f, len, &mac);
	bool arp = lease_frames_arp_sender(f, len, &mac, &ip);

	if (nat_leases_learn(t, f, len, GATEWAY, &mac, &old)) {
		uint32_t now = nat_leases_ip_of(t, &mac);
		CHECK(now != 0 && now != old);
		CHECK(nat_leases_holder(t, now, &who) && mac_equal(&who, &mac));
	}
	check_one_holder_each(t);

	struct lease_guard_port p = { .mac = port_mac, .mac_spoofing = spoofing };
	bool admitted = lease_guard_admit(t, f, len, &p);
	if (arp && admitted && nat_leases_holder(t, ip, &who))
		CHECK(mac_equal(&who, &mac));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t frame[NET_FRAME_MAX];
	struct nat_leases t;
	nat_leases_init(&t);
	bool spoofing = size > 0 && (data[0] & 1);
	size_t i = size > 0 ? 1 : 0;
	while (i + 2 <= size) {
		size_t len = (size_t)(data[i] << 8 | data[i + 1]);
		i += 2;
		if (len > size - i)
			len = size - i;
		if (len > sizeof(frame))
			len = sizeof(frame);
		/* A copy of exactly len bytes: ASan sees any read past it. */
		uint8_t *f = malloc(len ? len : 1);
		CHECK(f);
		memcpy(f, data + i, len);
		one_frame(&t, f, len, spoofing);
		free(f);
		i += len;
	}
	return 0;
}
