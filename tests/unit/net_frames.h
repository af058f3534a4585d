/* Hand-built Ethernet frames for tests of the network code: Ethernet, ARP,
 * IPv4 (checksummed), UDP, TCP SYN, ICMP echo, a DHCP DISCOVER, and readers
 * for what comes back. Big-endian helpers; addresses in host byte order. */
#ifndef NESTVM_TESTS_UNIT_NET_FRAMES_H
#define NESTVM_TESTS_UNIT_NET_FRAMES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/eth.h"

static inline uint16_t csum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;
	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static inline size_t eth(uint8_t *f, const uint8_t *src, const uint8_t *dst, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	put16(f + 12, type);
	return ETH_HDR_LEN;
}

static inline size_t arp_request(uint8_t *f, const uint8_t *src, uint32_t sip, uint32_t tip)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	size_t o = eth(f, src, bcast, 0x0806);
	uint8_t *a = f + o;
	put16(a, 1);           /* Ethernet */
	put16(a + 2, 0x0800);  /* IPv4 */
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, 1);       /* request */
	memcpy(a + 8, src, 6);
	put32(a + 14, sip);
	memset(a + 18, 0, 6);
	put32(a + 24, tip);
	return o + 28;
}

/* IPv4 header (checksummed) at f + 14 for a payload of plen bytes. */
static inline size_t ipv4(uint8_t *f, const uint8_t *src_mac, const uint8_t *dst_mac,
			  uint32_t src, uint32_t dst, uint8_t proto, size_t plen)
{
	size_t o = eth(f, src_mac, dst_mac, 0x0800);
	uint8_t *ip = f + o;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + plen));
	put16(ip + 4, 0x1234);
	ip[8] = 64;
	ip[9] = proto;
	put32(ip + 12, src);
	put32(ip + 16, dst);
	put16(ip + 10, csum(ip, 20, 0));
	return o + 20;
}

/* TCP/UDP checksum over the pseudo header and the segment. */
static inline uint16_t l4_csum(uint32_t src, uint32_t dst, uint8_t proto, const uint8_t *seg, size_t len)
{
	uint8_t ph[12];
	put32(ph, src);
	put32(ph + 4, dst);
	ph[8] = 0;
	ph[9] = proto;
	put16(ph + 10, (uint16_t)len);
	uint32_t sum = (uint16_t)~csum(ph, 12, 0);
	return csum(seg, len, sum);
}

static inline size_t udp(uint8_t *f, const uint8_t *src_mac, const uint8_t *dst_mac, uint32_t src,
			 uint32_t dst, uint16_t sport, uint16_t dport, const void *data, size_t dlen)
{
	size_t o = ipv4(f, src_mac, dst_mac, src, dst, 17, 8 + dlen);
	uint8_t *u = f + o;
	put16(u, sport);
	put16(u + 2, dport);
	put16(u + 4, (uint16_t)(8 + dlen));
	put16(u + 6, 0); /* no checksum: allowed for UDP over IPv4 */
	memcpy(u + 8, data, dlen);
	return o + 8 + dlen;
}

static inline size_t tcp_syn(uint8_t *f, const uint8_t *src_mac, const uint8_t *dst_mac,
			     uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint32_t seq)
{
	size_t o = ipv4(f, src_mac, dst_mac, src, dst, 6, 20);
	uint8_t *t = f + o;
	memset(t, 0, 20);
	put16(t, sport);
	put16(t + 2, dport);
	put32(t + 4, seq);
	t[12] = 5 << 4;
	t[13] = 0x02; /* SYN */
	put16(t + 14, 64240);
	put16(t + 16, l4_csum(src, dst, 6, t, 20));
	return o + 20;
}

static inline size_t icmp_echo(uint8_t *f, const uint8_t *src_mac, const uint8_t *dst_mac,
			       uint32_t src, uint32_t dst, uint16_t id, uint16_t seq)
{
	size_t o = ipv4(f, src_mac, dst_mac, src, dst, 1, 8 + 16);
	uint8_t *c = f + o;
	memset(c, 0, 24);
	c[0] = 8; /* echo request */
	put16(c + 4, id);
	put16(c + 6, seq);
	memcpy(c + 8, "nestvm ping data", 16);
	put16(c + 2, csum(c, 24, 0));
	return o + 24;
}

static inline size_t dhcp_discover(uint8_t *f, const uint8_t *mac, uint32_t xid)
{
	uint8_t bp[548] = { 0 };
	bp[0] = 1; /* BOOTREQUEST */
	bp[1] = 1;
	bp[2] = 6;
	put32(bp + 4, xid);
	memcpy(bp + 28, mac, 6);
	put32(bp + 236, 0x63825363); /* magic cookie */
	uint8_t *opt = bp + 240;
	*opt++ = 53, *opt++ = 1, *opt++ = 1; /* DHCPDISCOVER */
	*opt++ = 55, *opt++ = 3, *opt++ = 1, *opt++ = 3, *opt++ = 6;
	*opt = 255;
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	return udp(f, mac, bcast, 0, 0xffffffffu, 68, 67, bp, sizeof(bp));
}

/* The IPv4 payload of f if it carries proto, else NULL. */
static inline const uint8_t *ip_payload(const uint8_t *f, size_t len, uint8_t proto, size_t *plen)
{
	if (len < 34 || get16(f + 12) != 0x0800 || f[14 + 9] != proto)
		return NULL;
	size_t ihl = (size_t)(f[14] & 15) * 4;
	size_t tot = get16(f + 16);
	if (tot < ihl || 14 + tot > len)
		return NULL;
	*plen = tot - ihl;
	return f + 14 + ihl;
}

/* Value of DHCP option code in the BOOTP payload bp (NULL if absent). */
static inline const uint8_t *dhcp_option(const uint8_t *bp, size_t len, uint8_t code, uint8_t *olen)
{
	for (size_t i = 240; i + 1 < len && bp[i] != 255;) {
		if (bp[i] == 0) {
			i++;
			continue;
		}
		if (i + 2 + bp[i + 1] > len)
			return NULL;
		if (bp[i] == code) {
			*olen = bp[i + 1];
			return bp + i + 2;
		}
		i += 2 + bp[i + 1];
	}
	return NULL;
}

#endif
