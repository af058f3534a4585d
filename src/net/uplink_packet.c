/* The external uplink: one of the host's interfaces, reached through a raw
 * packet socket. The interface is put in promiscuous mode so that frames for
 * the VMs' own MAC addresses arrive; the VMs then share the wire as if their
 * adapters were plugged into it (Hyper-V's external switch). Needs root or
 * CAP_NET_RAW.
 *
 * Limits of a packet socket, worth knowing when a VM sees odd traffic:
 * - The host's own transmissions (and ours) show up as PACKET_OUTGOING; they
 *   are skipped, or every frame the switch sends would come straight back.
 * - GRO on the interface can merge a stream toward a VM into frames larger
 *   than the MTU; those are dropped and counted (`ethtool -K IF gro off`).
 *   describe() reports whether GRO is on.
 * - A VLAN tag stripped by the NIC is not put back: tagged traffic is not
 *   supported. */
#include "net/uplink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/eth.h"

/* Frames read per wake-up: the switch's other ports get their turn even
 * when the wire is busy; the loop reports the rest next round. */
#define PACKET_BURST 64

struct packet_uplink {
	struct uplink up; /* first: the switch holds a struct uplink * */
	int fd;
	struct evloop *loop; /* once attached */
	evloop_id id;
	int ifindex;
	char ifname[IF_NAMESIZE];
	int gro; /* at start: 1 on, 0 off, -1 unknown */
	uint8_t buf[NET_FRAME_MAX];
};

static struct packet_uplink *pk_of(struct uplink *u)
{
	return (struct packet_uplink *)u;
}

static void pk_ready(struct evloop *l, const struct evloop_event *ev, void *opaque)
{
	struct packet_uplink *p = opaque;
	struct uplink *u = &p->up;
	for (int i = 0; i < PACKET_BURST; i++) {
		struct sockaddr_ll sll;
		socklen_t slen = sizeof(sll);
		/* MSG_TRUNC: the return value is the frame's real length. */
		ssize_t len = recvfrom(p->fd, p->buf, sizeof(p->buf), MSG_TRUNC | MSG_DONTWAIT,
				       (struct sockaddr *)&sll, &slen);
		if (len < 0) {
			if (errno == EINTR)
				continue;
			return; /* EAGAIN, or a reported error (ENETDOWN) now cleared */
		}
		if (sll.sll_pkttype == PACKET_OUTGOING)
			continue;
		if ((size_t)len > sizeof(p->buf) || len < NET_FRAME_MIN) {
			u->counters.dropped++;
			continue;
		}
		u->counters.rx_frames++;
		if (u->deliver)
			u->deliver(u->deliver_opaque, p->buf, (size_t)len);
	}
}

static int pk_attach(struct uplink *u, struct evloop *l)
{
	struct packet_uplink *p = pk_of(u);
	if (p->loop)
		return -EBUSY;
	int r = evloop_add_fd(l, p->fd, EVLOOP_IN, pk_ready, p, &p->id);
	if (r == 0)
		p->loop = l;
	return r;
}

static void pk_send(struct uplink *u, const uint8_t *frame, size_t len)
{
	struct packet_uplink *p = pk_of(u);
	if (len < NET_FRAME_MIN || len > NET_FRAME_MAX) {
		u->counters.dropped++;
		return;
	}
	ssize_t r;
	do
		r = send(p->fd, frame, len, MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	/* EAGAIN/ENOBUFS (queue full), ENETDOWN, EMSGSIZE (above the MTU): the
	 * frame is lost, as on a congested wire. */
	if (r < 0)
		u->counters.dropped++;
	else
		u->counters.tx_frames++;
}

static int if_ioctl(int fd, const char *ifname, unsigned long req, struct ifreq *ifr)
{
	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", ifname);
	return ioctl(fd, req, ifr);
}

static void pk_describe(struct uplink *u, struct json_object *obj)
{
	struct packet_uplink *p = pk_of(u);
	struct ifreq ifr;
	json_object_object_add(obj, "interface", json_object_new_string(p->ifname));
	json_object_object_add(obj, "ifindex", json_object_new_int(p->ifindex));
	if (if_ioctl(p->fd, p->ifname, SIOCGIFMTU, &ifr) == 0)
		json_object_object_add(obj, "mtu", json_object_new_int(ifr.ifr_mtu));
	if (if_ioctl(p->fd, p->ifname, SIOCGIFFLAGS, &ifr) == 0)
		json_object_object_add(obj, "up", json_object_new_boolean(ifr.ifr_flags & IFF_UP));
	if (p->gro >= 0)
		json_object_object_add(obj, "gro", json_object_new_boolean(p->gro));
}

static void pk_free(struct uplink *u)
{
	struct packet_uplink *p = pk_of(u);
	if (!p)
		return;
	if (p->loop)
		evloop_remove(p->loop, p->id);
	/* Closing the socket drops its promiscuous membership. */
	if (p->fd >= 0)
		close(p->fd);
	free(p);
}

static const struct uplink_ops packet_ops = {
	.kind = "packet",
	.attach = pk_attach,
	.send = pk_send,
	.describe = pk_describe,
	.free = pk_free,
};

static struct uplink *fail(struct packet_uplink *p)
{
	pk_free(&p->up);
	return NULL;
}

struct uplink *uplink_packet_new(const char *ifname, struct nv_err *err)
{
	if (!ifname || !*ifname || strlen(ifname) >= IF_NAMESIZE) {
		nv_err_input(err, "switch type external: '%s' is not a network interface name",
			     ifname ? ifname : "");
		return NULL;
	}
	unsigned idx = if_nametoindex(ifname);
	if (!idx) {
		nv_err_input(err, "switch type external: no network interface named %s", ifname);
		return NULL;
	}
	struct packet_uplink *p = calloc(1, sizeof(*p));
	if (!p) {
		nv_err_host(err, "external uplink: out of memory");
		return NULL;
	}
	p->up.ops = &packet_ops;
	p->ifindex = (int)idx;
	snprintf(p->ifname, sizeof(p->ifname), "%s", ifname);

	/* Protocol 0 receives nothing until bind() names the interface, so no
	 * frame of another interface slips into the queue in between. */
	p->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0) {
		if (errno == EPERM || errno == EACCES)
			nv_err_input(err,
				     "switch type external needs root or CAP_NET_RAW to use interface %s",
				     ifname);
		else
			nv_err_host(err, "external uplink on %s: packet socket: %s", ifname,
				    strerror(errno));
		return fail(p);
	}
	struct ifreq ifr;
	if (if_ioctl(p->fd, ifname, SIOCGIFFLAGS, &ifr) < 0) {
		nv_err_host(err, "external uplink on %s: %s", ifname, strerror(errno));
		return fail(p);
	}
	if (!(ifr.ifr_flags & IFF_UP)) {
		nv_err_input(err, "switch type external: interface %s is down (ip link set %s up)",
			     ifname, ifname);
		return fail(p);
	}
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = p->ifindex,
	};
	if (bind(p->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		nv_err_host(err, "external uplink: cannot bind to interface %s: %s", ifname,
			    strerror(errno));
		return fail(p);
	}
	struct packet_mreq mr = { .mr_ifindex = p->ifindex, .mr_type = PACKET_MR_PROMISC };
	if (setsockopt(p->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0) {
		nv_err_host(err, "external uplink: cannot make interface %s promiscuous: %s",
			     ifname, strerror(errno));
		return fail(p);
	}
	/* Read once, here: the confined daemon may not use SIOCETHTOOL, whose
	 * other commands change an interface (confine/syscall_policy.c). */
	struct ethtool_value ev = { .cmd = ETHTOOL_GGRO };
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (char *)&ev;
	p->gro = ioctl(p->fd, SIOCETHTOOL, &ifr) == 0 ? ev.data != 0 : -1;
#ifdef PACKET_IGNORE_OUTGOING
	/* Linux 4.20+: the kernel skips outgoing frames for us (pk_ready() still
	 * checks sll_pkttype on older kernels). */
	int one = 1;
	setsockopt(p->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
#endif
	return &p->up;
}
