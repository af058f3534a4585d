/* A fake VM adapter for the switch tests: connects to a switch as port
 * VM/ADAPTER with the given MAC and anti-spoofing setting (the VMM's own
 * port_client_connect), then follows commands on stdin and reports frames:
 *   switch_probe SWITCH VM ADAPTER MAC on|off
 * stdin:  send DST SRC [LEN]   a LEN-byte frame (default 60), type 0x88b5
 *         raw LEN              LEN bytes (any size, for malformed frames)
 *         dhcp [CHADDR]        DHCP DISCOVER, then REQUEST for what is offered
 *                              (chaddr: this adapter's MAC unless given);
 *                              answers "lease IP" or "no lease" (3 s)
 *         arp-claim IP         an ARP reply saying IP is at this adapter's MAC
 *         quit
 * stdout: connected PORT | recv DST SRC LEN | hangup | error: WHY (exit 2);
 *         after a RARP frame's recv line also: rarp OPCODE SENDER-MAC TARGET-MAC
 *         (a moved VM's announcement, util/eth_announce.h); after an IPv4
 *         TCP frame's: tcp SRC-IP:PORT > DST-IP:PORT FLAGS (S for a SYN) */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/eth.h"
#include "net/port_client.h"
#include "switch_probe_dhcp.h"

static int send_frame(int fd, const char *dst, const char *src, size_t len)
{
	static uint8_t f[65536];
	struct mac_addr d, s;
	if (mac_parse(dst, &d) < 0 || mac_parse(src, &s) < 0 || len > sizeof(f)) {
		printf("error: bad send command\n");
		return -1;
	}
	memset(f, 0, sizeof(f));
	memcpy(f, d.b, 6);
	memcpy(f + 6, s.b, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	if (send(fd, f, len, MSG_NOSIGNAL) < 0)
		perror("send");
	return 0;
}

static void report(int fd)
{
	uint8_t f[65536];
	ssize_t r;
	while ((r = recv(fd, f, sizeof(f), MSG_DONTWAIT)) > 0) {
		char d[18] = "?", s[18] = "?";
		if (r >= 12) {
			mac_format(eth_dst(f), d);
			mac_format(eth_src(f), s);
		}
		printf("recv %s %s %zd\n", d, s, r);
		if (r >= 42 && f[12] == 0x80 && f[13] == 0x35) {
			mac_format((const struct mac_addr *)(f + 22), s);
			mac_format((const struct mac_addr *)(f + 32), d);
			printf("rarp %d %s %s\n", f[20] << 8 | f[21], s, d);
		}
		probe_print_tcp(f, (size_t)r);
	}
	fflush(stdout);
}

int main(int argc, char **argv)
{
	if (argc != 6 || !strcmp(argv[1], "switch-daemon")) {
		fprintf(stderr, "usage: switch_probe SWITCH VM ADAPTER MAC on|off\n");
		return 2;
	}
	struct port_hello h = { .vm = argv[2], .adapter = (unsigned)atoi(argv[3]),
				.mac_spoofing = !strcmp(argv[5], "on") };
	if (mac_parse(argv[4], &h.mac) < 0) {
		fprintf(stderr, "bad MAC %s\n", argv[4]);
		return 2;
	}
	char port[128];
	struct nv_err err = { 0 };
	int fd = port_client_connect(argv[1], &h, port, sizeof(port), &err);
	if (fd < 0) {
		printf("error: %s\n", err.msg);
		return 2;
	}
	printf("connected %s\n", port);
	fflush(stdout);
	char line[256];
	/* Unbuffered: a line left in stdio's buffer would wait for poll(). */
	setvbuf(stdin, NULL, _IONBF, 0);
	for (;;) {
		struct pollfd p[2] = { { .fd = 0, .events = POLLIN }, { .fd = fd, .events = POLLIN } };
		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents & POLLIN)
			report(fd);
		if (p[1].revents & (POLLHUP | POLLERR)) {
			printf("hangup\n");
			return 0;
		}
		if (!(p[0].revents & (POLLIN | POLLHUP)))
			continue;
		if (!fgets(line, sizeof(line), stdin))
			break;
		char a[32] = "", b[32] = "";
		unsigned long len = 60;
		if (sscanf(line, "send %31s %31s %lu", a, b, &len) >= 2)
			send_frame(fd, a, b, len);
		else if (sscanf(line, "raw %lu", &len) == 1)
			send_frame(fd, "ff:ff:ff:ff:ff:ff", argv[4], len);
		else if (!strncmp(line, "dhcp", 4)) {
			struct mac_addr ch = h.mac;
			if (sscanf(line, "dhcp %31s", a) == 1 && mac_parse(a, &ch) < 0)
				printf("error: bad dhcp command\n");
			else
				probe_dhcp(fd, &h.mac, &ch);
		} else if (sscanf(line, "arp-claim %31s", a) == 1)
			probe_arp_claim(fd, &h.mac, a);
		else if (!strncmp(line, "quit", 4))
			break;
		fflush(stdout);
	}
	close(fd);
	return 0;
}
