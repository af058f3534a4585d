/* Reading the few frames a NAT switch needs to know which address its DHCP
 * server gave to which MAC, and which ARP claims an address: pure parsers
 * over a frame's bytes (every length checked; a guest controls most of what
 * they read, so they never trust a length field). */
#ifndef NESTVM_NET_LEASE_FRAMES_H
#define NESTVM_NET_LEASE_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/eth.h"

#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68

/* A DHCPACK from server_ip (host byte order) to a client: the client's
 * hardware address (chaddr) and the address it was given (yiaddr, host byte
 * order). false for anything else (another DHCP message, a NAK, a
 * fragment, a truncated frame, a zero yiaddr). */
bool lease_frames_dhcp_ack(const uint8_t *f, size_t len, uint32_t server_ip, struct mac_addr *client,
			   uint32_t *yiaddr);

/* A DHCP client's message (IPv4 UDP to port 67, BOOTREQUEST): its chaddr. */
bool lease_frames_dhcp_request(const uint8_t *f, size_t len, struct mac_addr *chaddr);

/* An ARP frame (EtherType 0x0806, 28 bytes of ARP or more): the sender's
 * hardware and protocol addresses at Ethernet/IPv4 ARP's offsets (spa in
 * host byte order), whatever its hardware and protocol fields say. */
bool lease_frames_arp_sender(const uint8_t *f, size_t len, struct mac_addr *sha, uint32_t *spa);

#endif
