/* Caps on the flows guests open through a NAT switch. Each flow is a host
 * socket libslirp opens for a guest (a TCP connection, a UDP source port,
 * a ping), so a guest that opens them without end would take the switch
 * daemon's file descriptors from every other VM on it. Flows are counted
 * per port (by the frame's source MAC, which the switch pins to its port)
 * and per switch; a frame that would open a flow past either cap is
 * refused (dropped) and counted, while frames of flows already open always
 * pass: the switch keeps forwarding.
 *
 * Use: nat_flows_admit before slirp_input (false: drop the frame), then
 * nat_flows_input_done after it; slirp's register_poll_fd and
 * unregister_poll_fd callbacks call nat_flows_opened and nat_flows_closed,
 * and a socket opened while a guest's frame is being input is that
 * guest's flow. Pure bookkeeping: no I/O. */
#ifndef NESTVM_NET_NAT_FLOWS_H
#define NESTVM_NET_NAT_FLOWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/eth.h"

#define NAT_FLOWS_PORTS 256 /* a switch's ports */
#define NAT_FLOWS_FDS 4096  /* the switch daemon's file limit */
#define NAT_FLOWS_UDP_HASH 1024
/* The defaults: well under the daemon's 4096 descriptors. */
#define NAT_FLOWS_PER_PORT_DEFAULT 256
#define NAT_FLOWS_TOTAL_DEFAULT 1024

struct nat_flow_port {
	struct mac_addr mac;
	bool used;
	unsigned open;
	uint64_t refused;
};

struct nat_flows {
	unsigned max_per_port, max_total;
	unsigned total;   /* open flows of all ports */
	uint64_t refused; /* of all ports */
	struct nat_flow_port ports[NAT_FLOWS_PORTS];
	int16_t owner[NAT_FLOWS_FDS]; /* fd -> port slot, or -1 */
	/* A UDP flow's socket serves one guest source (address, port):
	 * frames from a known one pass whatever the counts. Hashed; the
	 * chains link fds. */
	uint32_t udp_ip[NAT_FLOWS_FDS];
	uint16_t udp_port[NAT_FLOWS_FDS];
	bool is_udp[NAT_FLOWS_FDS];
	int16_t udp_next[NAT_FLOWS_FDS];
	int16_t udp_head[NAT_FLOWS_UDP_HASH];
	/* The frame slirp is handling: whose flow a new socket is. */
	int current;
	bool cur_udp;
	uint32_t cur_ip;
	uint16_t cur_port;
};

/* Caps of 0 take the defaults. */
void nat_flows_init(struct nat_flows *f, unsigned max_per_port, unsigned max_total);
/* A guest frame, before slirp sees it: false when it would open a flow
 * past a cap (the refusal is counted). gateway: the switch's address,
 * whose pings slirp answers itself. */
bool nat_flows_admit(struct nat_flows *f, const uint8_t *frame, size_t len, uint32_t gateway);
void nat_flows_input_done(struct nat_flows *f);
void nat_flows_opened(struct nat_flows *f, int fd);
void nat_flows_closed(struct nat_flows *f, int fd);
/* The port slot of mac, or NULL. */
const struct nat_flow_port *nat_flows_port(const struct nat_flows *f, const struct mac_addr *mac);

#endif
