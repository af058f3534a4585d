#include "util/eth_announce.h"

#include <string.h>

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

size_t eth_announce_frame(const struct mac_addr *mac, uint8_t out[ETH_ANNOUNCE_LEN])
{
	static const struct mac_addr broadcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	memset(out, 0, ETH_ANNOUNCE_LEN); /* the protocol addresses and the padding */
	memcpy(out, broadcast.b, ETH_ALEN_);
	memcpy(out + ETH_ALEN_, mac->b, ETH_ALEN_);
	put_be16(out + 12, ETH_P_RARP_);
	uint8_t *rarp = out + ETH_HDR_LEN;
	put_be16(rarp, 1);           /* hardware: Ethernet */
	put_be16(rarp + 2, 0x0800);  /* protocol: IPv4 */
	rarp[4] = ETH_ALEN_;         /* hardware address length */
	rarp[5] = 4;                 /* protocol address length */
	put_be16(rarp + 6, RARP_OP_REVERSE_REQUEST);
	memcpy(rarp + 8, mac->b, ETH_ALEN_);  /* sender hardware address */
	memcpy(rarp + 18, mac->b, ETH_ALEN_); /* target hardware address */
	return ETH_ANNOUNCE_LEN;
}

unsigned eth_announce_gap_ms(unsigned done)
{
	unsigned long gap = ETH_ANNOUNCE_FIRST_GAP_MS + (unsigned long)done * ETH_ANNOUNCE_GAP_STEP_MS;
	return gap > ETH_ANNOUNCE_MAX_GAP_MS ? ETH_ANNOUNCE_MAX_GAP_MS : (unsigned)gap;
}
