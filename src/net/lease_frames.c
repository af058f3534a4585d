#include "net/lease_frames.h"

#include <string.h>

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_ARP 0x0806
#define IPPROTO_UDP_ 17
#define UDP_HDR_LEN 8
/* BOOTP's fixed part, then the magic cookie that starts DHCP's options. */
#define BOOTP_FIXED_LEN 236
#define BOOTP_OP_REQUEST 1
#define BOOTP_OP_REPLY 2
#define BOOTP_YIADDR 16
#define BOOTP_CHADDR 28
#define DHCP_OPT_PAD 0
#define DHCP_OPT_MSG_TYPE 53
#define DHCP_OPT_END 255
#define DHCP_ACK 5

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* An unfragmented IPv4 UDP datagram in f: its source address and ports,
 * and its payload (bounded by both the frame and the UDP length). */
struct udp_view {
	uint32_t src_ip;
	uint16_t sport, dport;
	const uint8_t *payload;
	size_t payload_len;
};

static bool udp_view(const uint8_t *f, size_t len, struct udp_view *u)
{
	if (!f || len < ETH_HDR_LEN + 20 || be16(f + 12) != ETHERTYPE_IPV4)
		return false;
	const uint8_t *ip = f + ETH_HDR_LEN;
	size_t room = len - ETH_HDR_LEN;
	size_t ihl = (size_t)(ip[0] & 15) * 4;
	size_t total = be16(ip + 2);
	if (ip[0] >> 4 != 4 || ihl < 20 || total < ihl || total > room || ip[9] != IPPROTO_UDP_)
		return false;
	if ((be16(ip + 6) & 0x3fff) != 0) /* a fragment: no whole header to read */
		return false;
	if (total - ihl < UDP_HDR_LEN)
		return false;
	const uint8_t *udp = ip + ihl;
	size_t ulen = be16(udp + 4);
	if (ulen < UDP_HDR_LEN || ulen > total - ihl)
		return false;
	u->src_ip = be32(ip + 12);
	u->sport = be16(udp);
	u->dport = be16(udp + 2);
	u->payload = udp + UDP_HDR_LEN;
	u->payload_len = ulen - UDP_HDR_LEN;
	return true;
}

/* The DHCP message type option (53) of a BOOTP message, or 0 if none. */
static int dhcp_message_type(const uint8_t *b, size_t len)
{
	static const uint8_t cookie[4] = { 99, 130, 83, 99 };
	if (len < BOOTP_FIXED_LEN + 4 || memcmp(b + BOOTP_FIXED_LEN, cookie, 4))
		return 0;
	size_t i = BOOTP_FIXED_LEN + 4;
	while (i < len) {
		uint8_t code = b[i++];
		if (code == DHCP_OPT_PAD)
			continue;
		if (code == DHCP_OPT_END || i >= len)
			return 0;
		size_t olen = b[i++];
		if (olen > len - i)
			return 0;
		if (code == DHCP_OPT_MSG_TYPE && olen == 1)
			return b[i];
		i += olen;
	}
	return 0;
}

bool lease_frames_dhcp_ack(const uint8_t *f, size_t len, uint32_t server_ip, struct mac_addr *client,
			   uint32_t *yiaddr)
{
	struct udp_view u;
	if (!udp_view(f, len, &u) || u.src_ip != server_ip || u.sport != DHCP_SERVER_PORT ||
	    u.dport != DHCP_CLIENT_PORT || u.payload_len < BOOTP_FIXED_LEN)
		return false;
	const uint8_t *b = u.payload;
	/* htype 1 (Ethernet), hlen 6: chaddr's first 6 bytes are a MAC. */
	if (b[0] != BOOTP_OP_REPLY || b[1] != 1 || b[2] != ETH_ALEN_)
		return false;
	if (dhcp_message_type(b, u.payload_len) != DHCP_ACK)
		return false;
	uint32_t ip = be32(b + BOOTP_YIADDR);
	if (ip == 0)
		return false;
	memcpy(client->b, b + BOOTP_CHADDR, ETH_ALEN_);
	*yiaddr = ip;
	return true;
}

bool lease_frames_dhcp_request(const uint8_t *f, size_t len, struct mac_addr *chaddr)
{
	struct udp_view u;
	if (!udp_view(f, len, &u) || u.dport != DHCP_SERVER_PORT || u.payload_len < BOOTP_CHADDR + ETH_ALEN_)
		return false;
	if (u.payload[0] != BOOTP_OP_REQUEST)
		return false;
	memcpy(chaddr->b, u.payload + BOOTP_CHADDR, ETH_ALEN_);
	return true;
}

bool lease_frames_arp_sender(const uint8_t *f, size_t len, struct mac_addr *sha, uint32_t *spa)
{
	if (!f || len < ETH_HDR_LEN + 28 || be16(f + 12) != ETHERTYPE_ARP)
		return false;
	/* The sender's addresses where Ethernet/IPv4 ARP has them, whatever
	 * the hardware and protocol fields say: libslirp 4.7 reads them there
	 * without looking at those fields, so this is what it would learn. */
	const uint8_t *a = f + ETH_HDR_LEN;
	memcpy(sha->b, a + 8, ETH_ALEN_);
	*spa = be32(a + 14);
	return true;
}
