/* Ethernet basics shared by the virtio-net device, the switch and its
 * uplinks: MAC addresses (parse, format, generate) and frame limits. */
#ifndef NESTVM_UTIL_ETH_H
#define NESTVM_UTIL_ETH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ETH_ALEN_ 6
#define ETH_HDR_LEN 14
/* A frame as carried between ports: destination, source, type, payload; no
 * FCS. 1500 bytes of payload plus room for one 802.1Q tag. */
#define NET_MTU 1500
#define NET_FRAME_MIN ETH_HDR_LEN
#define NET_FRAME_MAX (ETH_HDR_LEN + 4 + NET_MTU)

struct mac_addr {
	uint8_t b[ETH_ALEN_];
};

/* "52:54:00:12:34:56" (also '-' separated, any case). 0, or -1 if malformed. */
int mac_parse(const char *s, struct mac_addr *out);
/* Writes "52:54:00:12:34:56" (18 bytes with the NUL). */
void mac_format(const struct mac_addr *m, char out[18]);
bool mac_equal(const struct mac_addr *a, const struct mac_addr *b);
bool mac_is_multicast(const struct mac_addr *m); /* includes broadcast */
bool mac_is_zero(const struct mac_addr *m);
/* A locally administered unicast MAC in QEMU's 52:54:00 range, derived from
 * a VM name and an adapter index: the same VM gets the same MAC every time. */
void mac_generate(const char *vm_name, unsigned adapter, struct mac_addr *out);

static inline const struct mac_addr *eth_dst(const uint8_t *frame)
{
	return (const struct mac_addr *)frame;
}

static inline const struct mac_addr *eth_src(const uint8_t *frame)
{
	return (const struct mac_addr *)(frame + ETH_ALEN_);
}

#endif
