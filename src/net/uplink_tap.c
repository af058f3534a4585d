/* The internal uplink: a tap device on the host ("nv-" + switch name), so
 * the host and the VMs see each other and nobody else (Hyper-V's internal
 * switch). The tap is not persistent: it goes away with the daemon. Needs
 * root or CAP_NET_ADMIN. */
#include "net/uplink_tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/eth.h"

/* Frames read per wake-up: the switch's ports get their turn too. */
#define TAP_BURST 64
/* Reads bigger than a frame (a tap with a raised MTU) are dropped. */
#define TAP_READ_MAX 65536

struct tap_uplink {
	struct uplink up; /* first: the switch holds a struct uplink * */
	int fd;
	struct evloop *loop; /* once attached */
	evloop_id id;
	char ifname[UPLINK_TAP_IFNAME_LEN];
	char address[20]; /* "192.168.100.1/24" once set */
	uint8_t buf[TAP_READ_MAX];
};

void uplink_tap_ifname(const char *switch_name, char out[UPLINK_TAP_IFNAME_LEN])
{
	const char *n = switch_name ? switch_name : "";
	if (strlen(n) + 3 < UPLINK_TAP_IFNAME_LEN) {
		snprintf(out, UPLINK_TAP_IFNAME_LEN, "nv-%s", n);
		return;
	}
	uint32_t h = 2166136261u;
	for (const char *p = n; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	snprintf(out, UPLINK_TAP_IFNAME_LEN, "nv-%08x", h);
}

static void tap_ready(struct evloop *l, const struct evloop_event *ev, void *opaque)
{
	struct tap_uplink *t = opaque;
	struct uplink *u = &t->up;
	for (int i = 0; i < TAP_BURST; i++) {
		ssize_t r = read(t->fd, t->buf, sizeof(t->buf));
		if (r < 0)
			break; /* EAGAIN; a tap has no other way to fail a read that matters */
		if (r < NET_FRAME_MIN || r > NET_FRAME_MAX) {
			u->counters.dropped++;
			continue;
		}
		u->counters.rx_frames++;
		if (u->deliver)
			u->deliver(u->deliver_opaque, t->buf, (size_t)r);
	}
}

static int tap_attach(struct uplink *u, struct evloop *l)
{
	struct tap_uplink *t = (struct tap_uplink *)u;
	if (t->loop)
		return -EBUSY;
	int r = evloop_add_fd(l, t->fd, EVLOOP_IN, tap_ready, t, &t->id);
	if (r == 0)
		t->loop = l;
	return r;
}

static void tap_send(struct uplink *u, const uint8_t *frame, size_t len)
{
	struct tap_uplink *t = (struct tap_uplink *)u;
	/* The tap's queue full (EAGAIN) or the interface down (EIO): dropped. */
	if (write(t->fd, frame, len) == (ssize_t)len)
		u->counters.tx_frames++;
	else
		u->counters.dropped++;
}

static void tap_describe(struct uplink *u, struct json_object *obj)
{
	struct tap_uplink *t = (struct tap_uplink *)u;
	json_object_object_add(obj, "interface", json_object_new_string(t->ifname));
	if (t->address[0])
		json_object_object_add(obj, "address", json_object_new_string(t->address));
}

static void tap_free(struct uplink *u)
{
	struct tap_uplink *t = (struct tap_uplink *)u;
	if (!t)
		return;
	if (t->loop)
		evloop_remove(t->loop, t->id);
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

static const struct uplink_ops tap_ops = {
	.kind = "tap",
	.attach = tap_attach,
	.send = tap_send,
	.describe = tap_describe,
	.free = tap_free,
};

static int if_ioctl(const char *ifname, unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", ifname);
	int r = ioctl(s, req, ifr);
	int saved = errno;
	close(s);
	errno = saved;
	return r;
}

struct uplink *uplink_tap_new(const char *switch_name, const char *ifname, struct nv_err *err)
{
	struct tap_uplink *t = calloc(1, sizeof(*t));
	if (!t) {
		nv_err_host(err, "internal uplink: out of memory");
		return NULL;
	}
	t->up.ops = &tap_ops;
	if (ifname && *ifname)
		snprintf(t->ifname, sizeof(t->ifname), "%s", ifname);
	else
		uplink_tap_ifname(switch_name, t->ifname);
	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		if (errno == EACCES || errno == EPERM)
			nv_err_input(err, "switch type internal needs root or CAP_NET_ADMIN to create tap device %s",
				     t->ifname);
		else
			nv_err_host(err, "switch type internal: cannot open /dev/net/tun: %s (is the tun module loaded? modprobe tun)",
				    strerror(errno));
		goto fail;
	}
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t->ifname);
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		if (errno == EPERM || errno == EACCES)
			nv_err_input(err, "switch type internal needs root or CAP_NET_ADMIN to create tap device %s",
				     t->ifname);
		else if (errno == EBUSY)
			nv_err_input(err, "switch type internal: tap device %s is in use by another program",
				     t->ifname);
		else if (errno == EINVAL)
			nv_err_input(err, "switch type internal: %s exists and is not a tap device", t->ifname);
		else
			nv_err_host(err, "switch type internal: cannot create tap device %s: %s", t->ifname,
				    strerror(errno));
		goto fail;
	}
	struct ifreq fl = { 0 };
	if (if_ioctl(t->ifname, SIOCGIFFLAGS, &fl) < 0) {
		nv_err_host(err, "tap device %s: %s", t->ifname, strerror(errno));
		goto fail;
	}
	fl.ifr_flags |= IFF_UP;
	if (if_ioctl(t->ifname, SIOCSIFFLAGS, &fl) < 0) {
		nv_err_host(err, "tap device %s: cannot bring it up: %s", t->ifname, strerror(errno));
		goto fail;
	}
	return &t->up;
fail:
	tap_free(&t->up);
	return NULL;
}

static void set_in_addr(struct ifreq *ifr, uint32_t ip)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(ip) };
	memcpy(&ifr->ifr_addr, &sin, sizeof(sin));
}

int uplink_tap_set_address(struct uplink *u, uint32_t network, unsigned prefix_len,
			   struct nv_err *err)
{
	struct tap_uplink *t = (struct tap_uplink *)u;
	if (!u || u->ops != &tap_ops || prefix_len < 8 || prefix_len > 30)
		return nv_err_host(err, "uplink_tap_set_address: not a tap uplink or a bad prefix");
	uint32_t mask = ~0u << (32 - prefix_len), host = (network & mask) + 1;
	struct ifreq ifr = { 0 };
	set_in_addr(&ifr, host);
	if (if_ioctl(t->ifname, SIOCSIFADDR, &ifr) < 0)
		return nv_err_host(err, "tap device %s: cannot set its address: %s", t->ifname,
				   strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	set_in_addr(&ifr, mask);
	if (if_ioctl(t->ifname, SIOCSIFNETMASK, &ifr) < 0)
		return nv_err_host(err, "tap device %s: cannot set its netmask: %s", t->ifname,
				   strerror(errno));
	snprintf(t->address, sizeof(t->address), "%u.%u.%u.%u/%u", host >> 24, (host >> 16) & 255,
		 (host >> 8) & 255, host & 255, prefix_len);
	return 0;
}
