#include "net/nat_flows.h"

#include <string.h>

enum frame_kind {
	NOT_A_FLOW, /* ARP, DHCP, a TCP segment past its SYN, a ping of the gateway... */
	NEW_FLOW,   /* a TCP SYN, a ping of another host */
	UDP_SOURCE, /* a UDP datagram: new unless its source has a socket */
	FRAGMENT,   /* part of a datagram: only slirp's reassembly tells */
};

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* What slirp will do with the frame, as far as sockets go. Lengths are
 * checked here again: the frame is the guest's. */
static enum frame_kind classify(const uint8_t *f, size_t len, uint32_t gateway, uint32_t *ip, uint16_t *port)
{
	if (len < ETH_HDR_LEN + 20 || be16(f + 12) != 0x0800)
		return NOT_A_FLOW;
	const uint8_t *p = f + ETH_HDR_LEN;
	size_t plen = len - ETH_HDR_LEN, ihl = (size_t)(p[0] & 15) * 4, tot = be16(p + 2);
	if (p[0] >> 4 != 4 || ihl < 20 || tot < ihl || tot > plen)
		return NOT_A_FLOW; /* slirp drops it */
	uint8_t proto = p[9];
	if (proto != 6 && proto != 17 && proto != 1)
		return NOT_A_FLOW;
	if (be16(p + 6) & 0x3fff) /* more fragments, or an offset */
		return FRAGMENT;
	const uint8_t *l4 = p + ihl;
	size_t l4len = tot - ihl;
	switch (proto) {
	case 6: /* SYN without ACK: slirp connects a socket */
		return l4len >= 14 && (l4[13] & 0x02) && !(l4[13] & 0x10) ? NEW_FLOW : NOT_A_FLOW;
	case 17:
		if (l4len < 8 || be16(l4 + 2) == 67) /* DHCP: slirp's own server */
			return NOT_A_FLOW;
		*ip = be32(p + 12);
		*port = be16(l4);
		return UDP_SOURCE;
	default: /* ICMP: an echo request to another host gets a socket */
		return l4len >= 1 && l4[0] == 8 && be32(p + 16) != gateway ? NEW_FLOW : NOT_A_FLOW;
	}
}

static unsigned udp_hash(uint32_t ip, uint16_t port)
{
	return (unsigned)((ip * 2654435761u) ^ port) % NAT_FLOWS_UDP_HASH;
}

static bool udp_known(const struct nat_flows *f, uint32_t ip, uint16_t port)
{
	for (int fd = f->udp_head[udp_hash(ip, port)]; fd >= 0; fd = f->udp_next[fd])
		if (f->udp_ip[fd] == ip && f->udp_port[fd] == port)
			return true;
	return false;
}

static void udp_add(struct nat_flows *f, int fd, uint32_t ip, uint16_t port)
{
	unsigned h = udp_hash(ip, port);
	f->is_udp[fd] = true;
	f->udp_ip[fd] = ip;
	f->udp_port[fd] = port;
	f->udp_next[fd] = f->udp_head[h];
	f->udp_head[h] = (int16_t)fd;
}

static void udp_remove(struct nat_flows *f, int fd)
{
	int16_t *link = &f->udp_head[udp_hash(f->udp_ip[fd], f->udp_port[fd])];
	while (*link >= 0 && *link != fd)
		link = &f->udp_next[*link];
	if (*link == fd)
		*link = f->udp_next[fd];
	f->is_udp[fd] = false;
}

void nat_flows_init(struct nat_flows *f, unsigned max_per_port, unsigned max_total)
{
	memset(f, 0, sizeof(*f));
	f->max_per_port = max_per_port ? max_per_port : NAT_FLOWS_PER_PORT_DEFAULT;
	f->max_total = max_total ? max_total : NAT_FLOWS_TOTAL_DEFAULT;
	memset(f->owner, 0xff, sizeof(f->owner));
	memset(f->udp_head, 0xff, sizeof(f->udp_head));
	memset(f->udp_next, 0xff, sizeof(f->udp_next));
	f->current = -1;
}

/* mac's slot, made if new (a slot with no open flow is reused when all
 * are taken); -1 when every slot has flows open. */
static int port_slot(struct nat_flows *f, const struct mac_addr *mac)
{
	int free_slot = -1, idle = -1;
	for (int i = 0; i < NAT_FLOWS_PORTS; i++) {
		struct nat_flow_port *p = &f->ports[i];
		if (p->used && mac_equal(&p->mac, mac))
			return i;
		if (!p->used && free_slot < 0)
			free_slot = i;
		if (p->used && p->open == 0 && idle < 0)
			idle = i;
	}
	int s = free_slot >= 0 ? free_slot : idle;
	if (s >= 0)
		f->ports[s] = (struct nat_flow_port){ .mac = *mac, .used = true };
	return s;
}

const struct nat_flow_port *nat_flows_port(const struct nat_flows *f, const struct mac_addr *mac)
{
	for (int i = 0; i < NAT_FLOWS_PORTS; i++)
		if (f->ports[i].used && mac_equal(&f->ports[i].mac, mac))
			return &f->ports[i];
	return NULL;
}

bool nat_flows_admit(struct nat_flows *f, const uint8_t *frame, size_t len, uint32_t gateway)
{
	f->current = -1;
	f->cur_udp = false;
	uint32_t ip = 0;
	uint16_t port = 0;
	enum frame_kind k = classify(frame, len, gateway, &ip, &port);
	if (k == NOT_A_FLOW || (k == UDP_SOURCE && udp_known(f, ip, port)))
		return true;
	int s = port_slot(f, eth_src(frame));
	if (s < 0 || f->ports[s].open >= f->max_per_port || f->total >= f->max_total) {
		f->refused++;
		if (s >= 0)
			f->ports[s].refused++;
		return false;
	}
	f->current = s;
	if (k == UDP_SOURCE) {
		f->cur_udp = true;
		f->cur_ip = ip;
		f->cur_port = port;
	}
	return true;
}

void nat_flows_input_done(struct nat_flows *f)
{
	f->current = -1;
	f->cur_udp = false;
}

void nat_flows_opened(struct nat_flows *f, int fd)
{
	if (fd < 0 || fd >= NAT_FLOWS_FDS)
		return;
	if (f->owner[fd] >= 0) /* a close we never heard of */
		nat_flows_closed(f, fd);
	if (f->current < 0)
		return; /* the switch's own: a forward's listener or its connection */
	f->owner[fd] = (int16_t)f->current;
	f->ports[f->current].open++;
	f->total++;
	if (f->cur_udp)
		udp_add(f, fd, f->cur_ip, f->cur_port);
}

void nat_flows_closed(struct nat_flows *f, int fd)
{
	if (fd < 0 || fd >= NAT_FLOWS_FDS || f->owner[fd] < 0)
		return;
	struct nat_flow_port *p = &f->ports[f->owner[fd]];
	if (p->open > 0)
		p->open--;
	if (f->total > 0)
		f->total--;
	f->owner[fd] = -1;
	if (f->is_udp[fd])
		udp_remove(f, fd);
}
