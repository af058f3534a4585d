#include "switch_probe_dhcp.h"

#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define BOOTP_LEN (236 + 312) /* slirp wants its whole struct bootp_t */

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t ip_checksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* A broadcast DHCP message of type msg (1 DISCOVER, 3 REQUEST). */
static void send_dhcp(int fd, const struct mac_addr *mac, const struct mac_addr *chaddr, int msg, uint32_t xid,
		      const uint8_t want[4], const uint8_t server[4])
{
	uint8_t f[ETH_HDR_LEN + 20 + 8 + BOOTP_LEN];
	memset(f, 0, sizeof(f));
	memset(f, 0xff, 6);
	memcpy(f + 6, mac->b, 6);
	put16(f + 12, 0x0800);
	uint8_t *ip = f + ETH_HDR_LEN, *udp = ip + 20, *b = udp + 8;
	ip[0] = 0x45;
	put16(ip + 2, 20 + 8 + BOOTP_LEN);
	ip[8] = 64;
	ip[9] = 17;
	memset(ip + 16, 0xff, 4);
	put16(ip + 10, ip_checksum(ip, 20));
	put16(udp, 68);
	put16(udp + 2, 67);
	put16(udp + 4, 8 + BOOTP_LEN);
	b[0] = 1;
	b[1] = 1;
	b[2] = 6;
	memcpy(b + 4, &xid, 4);
	memcpy(b + 28, chaddr->b, 6);
	uint8_t *o = b + 236;
	const uint8_t cookie[4] = { 99, 130, 83, 99 };
	memcpy(o, cookie, 4);
	o += 4;
	*o++ = 53, *o++ = 1, *o++ = (uint8_t)msg;
	if (want) {
		*o++ = 50, *o++ = 4;
		memcpy(o, want, 4), o += 4;
	}
	if (server) {
		*o++ = 54, *o++ = 4;
		memcpy(o, server, 4), o += 4;
	}
	*o = 255;
	send(fd, f, sizeof(f), MSG_NOSIGNAL);
}

/* Waits (up to 3 s in all) for a DHCP reply with xid and type msg: the
 * offered address and the server's id. Other frames are dropped. */
static int wait_dhcp(int fd, uint32_t xid, int msg, uint8_t yiaddr[4], uint8_t server[4])
{
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		long left = 3000 - (long)((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -1;
		uint8_t f[2048];
		ssize_t r = recv(fd, f, sizeof(f), MSG_DONTWAIT);
		const uint8_t *ip = f + ETH_HDR_LEN, *b = ip + 28;
		if (r < ETH_HDR_LEN + 28 + 240 || f[12] != 8 || f[13] != 0 || ip[9] != 17 || (ip[0] & 15) != 5 ||
		    ip[22] != 0 || ip[23] != 68 || memcmp(b + 4, &xid, 4))
			continue;
		int type = 0;
		for (const uint8_t *o = b + 240; o + 2 <= f + r && *o != 255;) {
			if (*o == 0) {
				o++;
				continue;
			}
			if (o + 2 + o[1] > f + r)
				break;
			if (o[0] == 53 && o[1] == 1)
				type = o[2];
			if (o[0] == 54 && o[1] == 4)
				memcpy(server, o + 2, 4);
			o += 2 + o[1];
		}
		if (type == msg) {
			memcpy(yiaddr, b + 16, 4);
			return 0;
		}
	}
}

void probe_dhcp(int fd, const struct mac_addr *mac, const struct mac_addr *chaddr)
{
	uint32_t xid = (uint32_t)time(NULL) ^ 0x5a5a1234u;
	uint8_t yi[4], server[4] = { 0 };
	char s[INET_ADDRSTRLEN];
	send_dhcp(fd, mac, chaddr, 1, xid, NULL, NULL);
	if (wait_dhcp(fd, xid, 2, yi, server) == 0) {
		send_dhcp(fd, mac, chaddr, 3, xid, yi, server);
		if (wait_dhcp(fd, xid, 5, yi, server) == 0) {
			printf("lease %s\n", inet_ntop(AF_INET, yi, s, sizeof(s)));
			fflush(stdout);
			return;
		}
	}
	printf("no lease\n");
	fflush(stdout);
}

void probe_arp_claim(int fd, const struct mac_addr *mac, const char *ip)
{
	uint8_t f[60] = { 0 };
	struct in_addr a;
	if (inet_pton(AF_INET, ip, &a) != 1) {
		printf("error: bad arp-claim address\n");
		return;
	}
	memset(f, 0xff, 6);
	memcpy(f + 6, mac->b, 6);
	put16(f + 12, 0x0806);
	uint8_t *p = f + ETH_HDR_LEN;
	put16(p, 1);
	put16(p + 2, 0x0800);
	p[4] = 6;
	p[5] = 4;
	put16(p + 6, 2); /* a reply: slirp learns from those */
	memcpy(p + 8, mac->b, 6);
	memcpy(p + 14, &a, 4);
	memset(p + 18, 0xff, 6);
	memcpy(p + 24, &a, 4);
	send(fd, f, sizeof(f), MSG_NOSIGNAL);
}

void probe_print_tcp(const uint8_t *f, size_t len)
{
	if (len < ETH_HDR_LEN + 40 || f[12] != 8 || f[13] != 0)
		return;
	const uint8_t *ip = f + ETH_HDR_LEN;
	size_t ihl = (size_t)(ip[0] & 15) * 4;
	if (ip[9] != 6 || ihl < 20 || len < ETH_HDR_LEN + ihl + 20)
		return;
	const uint8_t *t = ip + ihl;
	char s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, ip + 12, s, sizeof(s));
	inet_ntop(AF_INET, ip + 16, d, sizeof(d));
	uint8_t fl = t[13];
	printf("tcp %s:%u > %s:%u %s%s%s\n", s, t[0] << 8 | t[1], d, t[2] << 8 | t[3], fl & 2 ? "S" : "",
	       fl & 16 ? "A" : "", fl & 1 ? "F" : "");
}
