/* switch_probe's IPv4 talk (DHCP as a client, an ARP claim, TCP frames
 * printed): enough to test a NAT switch's leases and forwards. */
#ifndef NESTVM_TESTS_SWITCH_PROBE_DHCP_H
#define NESTVM_TESTS_SWITCH_PROBE_DHCP_H

#include <stddef.h>
#include <stdint.h>

#include "util/eth.h"

/* DISCOVER and REQUEST from mac (chaddr in the BOOTP message); prints
 * "lease IP" or "no lease". */
void probe_dhcp(int fd, const struct mac_addr *mac, const struct mac_addr *chaddr);
/* An ARP reply to everyone: ip is at mac. */
void probe_arp_claim(int fd, const struct mac_addr *mac, const char *ip);
/* "tcp SRC:PORT > DST:PORT FLAGS" for an IPv4 TCP frame. */
void probe_print_tcp(const uint8_t *f, size_t len);

#endif
