/* The NAT uplink: a user-mode TCP/IP stack (libslirp) that answers the VMs as
 * their gateway, DHCP server and DNS forwarder, and carries their TCP/UDP
 * connections through ordinary sockets of the daemon, as QEMU's user
 * networking does. No privilege needed, except for ping (below).
 *
 * Ping from a guest to anything but the gateway uses an ICMP datagram socket
 * (socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)) on the host, which Linux allows
 * only to groups in net.ipv4.ping_group_range. The default "1 0" is an empty
 * range and excludes everyone, root included; e.g.
 * `sysctl net.ipv4.ping_group_range="0 2147483647"` lets guests ping. Ping to
 * the gateway itself is answered by slirp and always works.
 *
 * libslirp 4.7 facts this file relies on: SlirpConfig version 4 (the highest
 * 4.7 knows); timers through timer_new_opaque + slirp_handle_timer (version 4),
 * timer_new kept as the older fallback; timer_mod gets an absolute expiry in
 * milliseconds of clock_get_ns's clock; slirp writes to host sockets without
 * MSG_NOSIGNAL (see uplink_nat_new). How slirp runs on the daemon's event
 * loop is uplink_nat_loop.c. */
#include "net/slirp_runtime.h"
#include "net/uplink_nat_private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/eth.h"

int64_t nat_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct in_addr in_addr_of(uint32_t host_order)
{
	struct in_addr a = { .s_addr = htonl(host_order) };
	return a;
}

static void ip_format(uint32_t host_order, char out[INET_ADDRSTRLEN])
{
	struct in_addr a = in_addr_of(host_order);
	inet_ntop(AF_INET, &a, out, INET_ADDRSTRLEN);
}

/* ---- frames out of slirp ---- */

void nat_queue_flush(struct nat_uplink *n)
{
	while (n->queue_count) {
		unsigned i = n->queue_head;
		uint8_t *f = n->queue[i];
		size_t len = n->queue_len[i];
		n->queue[i] = NULL;
		n->queue_head = (i + 1) % NAT_QUEUE;
		n->queue_count--;
		n->up.counters.rx_frames++;
		if (n->up.deliver)
			n->up.deliver(n->up.deliver_opaque, f, len);
		free(f);
	}
}

/* slirp's send_packet: a frame toward the VMs. The buffer stays slirp's (or
 * ours, when queued): deliver() copies what it keeps. */
static ssize_t nat_send_packet(const void *buf, size_t len, void *opaque)
{
	struct nat_uplink *n = opaque;
	if (len < NET_FRAME_MIN || len > NET_FRAME_MAX) {
		n->up.counters.dropped++;
		return (ssize_t)len;
	}
	struct mac_addr mac;
	uint32_t old_ip;
	if (nat_leases_learn(&n->leases, buf, len, n->gateway, &mac, &old_ip)) {
		char m[18], ip[INET_ADDRSTRLEN];
		mac_format(&mac, m);
		ip_format(nat_leases_ip_of(&n->leases, &mac), ip);
		fprintf(stderr, "nat: leased %s to %s\n", ip, m); /* the daemon's log */
		/* Forwards follow once slirp is out of this callback: slirp
		 * must not change its sockets from inside its own call. */
		n->leases_changed = true; /* old_ip's holder may have lost it too */
	}
	if (!n->in_send) {
		n->up.counters.rx_frames++;
		if (n->up.deliver)
			n->up.deliver(n->up.deliver_opaque, buf, len);
		return (ssize_t)len;
	}
	uint8_t *copy = n->queue_count < NAT_QUEUE ? malloc(len) : NULL;
	if (!copy) {
		n->up.counters.dropped++;
		return (ssize_t)len;
	}
	memcpy(copy, buf, len);
	unsigned tail = (n->queue_head + n->queue_count) % NAT_QUEUE;
	n->queue[tail] = copy;
	n->queue_len[tail] = len;
	n->queue_count++;
	return (ssize_t)len;
}

static void nat_guest_error(const char *msg, void *opaque)
{
	/* The one thing library code prints: it lands in the daemon's log. */
	fprintf(stderr, "nat: guest error: %s\n", msg);
}

static int64_t nat_clock_get_ns(void *opaque)
{
	return nat_now_ns();
}

/* ---- timers ---- */

static struct nat_timer *timer_add(struct nat_uplink *n)
{
	struct nat_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL; /* slirp does not check; timer_mod/free accept NULL */
	t->expire_ms = -1;
	t->next = n->timers;
	n->timers = t;
	return t;
}

static void *nat_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct nat_timer *t = timer_add(opaque);
	if (t) {
		t->cb = cb;
		t->cb_opaque = cb_opaque;
	}
	return t;
}

static void *nat_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	struct nat_timer *t = timer_add(opaque);
	if (t) {
		t->opaque_kind = true;
		t->id = id;
		t->cb_opaque = cb_opaque;
	}
	return t;
}

static void nat_timer_free(void *timer, void *opaque)
{
	struct nat_uplink *n = opaque;
	for (struct nat_timer **pp = &n->timers; *pp; pp = &(*pp)->next) {
		if (*pp == timer) {
			*pp = (*pp)->next;
			free(timer);
			return;
		}
	}
}

static void nat_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct nat_timer *t = timer;
	if (t)
		t->expire_ms = expire_ms < 0 ? 0 : expire_ms;
}

/* A new socket is watched from the next slirp_pollfds_fill on (a closing
 * one: nat_unregister_poll_fd, uplink_nat_loop.c). */
static void nat_register_poll_fd(int fd, void *opaque)
{
	struct nat_uplink *n = opaque;
	nat_flows_opened(n->flows, fd); /* a guest's flow while its frame is in */
}

/* slirp wants a fill soon (room in a socket buffer again). */
static void nat_notify(void *opaque)
{
	nat_kick(opaque);
}

static const SlirpCb nat_callbacks = {
	.send_packet = nat_send_packet,
	.guest_error = nat_guest_error,
	.clock_get_ns = nat_clock_get_ns,
	.timer_new = nat_timer_new,
	.timer_free = nat_timer_free,
	.timer_mod = nat_timer_mod,
	.register_poll_fd = nat_register_poll_fd,
	.unregister_poll_fd = nat_unregister_poll_fd,
	.notify = nat_notify,
	.timer_new_opaque = nat_timer_new_opaque,
};

/* Headers slirp would trust: an ARP body, an IPv4 header whose lengths fit
 * the frame. The rest (checksums, transport headers) slirp checks itself;
 * this is only a second line of defence in front of it. */
static bool frame_sane(const uint8_t *f, size_t len)
{
	if (len < NET_FRAME_MIN || len > NET_FRAME_MAX)
		return false;
	uint16_t type = (uint16_t)(f[12] << 8 | f[13]);
	const uint8_t *p = f + ETH_HDR_LEN;
	size_t plen = len - ETH_HDR_LEN;
	if (type == 0x0806)
		return plen >= 28;
	if (type != 0x0800)
		return true; /* IPv6 and others: slirp ignores them */
	if (plen < 20 || p[0] >> 4 != 4)
		return false;
	size_t ihl = (size_t)(p[0] & 15) * 4;
	size_t tot = (size_t)(p[2] << 8 | p[3]);
	return ihl >= 20 && tot >= ihl && tot <= plen;
}

/* An IPv4 fragment (more to come, or an offset). libslirp 4.7's
 * reassembly (Debian 12's) corrupts its heap on some orders of fragments
 * (a last fragment arriving first, then the rest: tests/fuzz/fuzz_nat_uplink
 * found it, and its corpus keeps the frames), so one guest could crash a NAT
 * switch, or worse, for every VM on it. Guests' fragments never reach it:
 * TCP does not fragment, and the UDP and ICMP a guest sends through NAT
 * (DNS, DHCP, NTP, pings) fit in one frame; a larger datagram is dropped
 * and counted (fragments_dropped in `switch show`). */
static bool is_fragment(const uint8_t *f, size_t len)
{
	if (len < ETH_HDR_LEN + 20 || (f[12] << 8 | f[13]) != 0x0800)
		return false;
	const uint8_t *ip = f + ETH_HDR_LEN;
	return ((ip[6] << 8 | ip[7]) & 0x3fff) != 0;
}

static void nat_send(struct uplink *u, const uint8_t *frame, size_t len)
{
	struct nat_uplink *n = nat_of(u);
	if (!frame_sane(frame, len)) {
		u->counters.dropped++;
		return;
	}
	if (is_fragment(frame, len)) {
		u->counters.dropped++;
		n->fragments_dropped++;
		return;
	}
	/* With the host's loopback behind the gateway, its pings are the
	 * host's too: sockets like any other host's. */
	if (!nat_flows_admit(n->flows, frame, len, n->host_loopback ? 0 : n->gateway)) {
		u->counters.dropped++; /* a new flow past a cap: counted there too */
		return;
	}
	u->counters.tx_frames++;
	n->in_send = true;
	slirp_input(n->slirp, frame, (int)len);
	n->in_send = false;
	if (n->leases_changed) {
		n->leases_changed = false;
		nat_hostfwd_follow_leases(&n->hostfwds, n->slirp, &n->leases);
	}
	nat_flows_input_done(n->flows);
	nat_kick(n); /* slirp's answer, new sockets, new timers: a round soon */
}

/* ---- describe and free ---- */

static void add_ip(struct json_object *obj, const char *key, uint32_t ip)
{
	char s[INET_ADDRSTRLEN];
	ip_format(ip, s);
	json_object_object_add(obj, key, json_object_new_string(s));
}

/* Open flows and refusals, per switch and per port that has had any. */
static void add_flows(struct json_object *obj, const struct nat_flows *f)
{
	json_object_object_add(obj, "flows", json_object_new_int((int)f->total));
	json_object_object_add(obj, "flows_refused", json_object_new_int64((int64_t)f->refused));
	char caps[64];
	snprintf(caps, sizeof(caps), "%u per port, %u per switch", f->max_per_port, f->max_total);
	json_object_object_add(obj, "flow_caps", json_object_new_string(caps));
	struct json_object *ports = json_object_new_array();
	for (int i = 0; i < NAT_FLOWS_PORTS; i++) {
		const struct nat_flow_port *p = &f->ports[i];
		if (!p->used || (!p->open && !p->refused))
			continue;
		char mac[18], line[96];
		mac_format(&p->mac, mac);
		snprintf(line, sizeof(line), "%s: %u open, %llu refused", mac, p->open,
			 (unsigned long long)p->refused);
		json_object_array_add(ports, json_object_new_string(line));
	}
	json_object_object_add(obj, "flows_by_mac", ports);
}

static void nat_describe(struct uplink *u, struct json_object *obj)
{
	struct nat_uplink *n = nat_of(u);
	char net[INET_ADDRSTRLEN + 4];
	ip_format(n->network, net);
	snprintf(net + strlen(net), sizeof(net) - strlen(net), "/%u", n->prefix_len);
	json_object_object_add(obj, "network", json_object_new_string(net));
	add_ip(obj, "gateway", n->gateway);
	add_ip(obj, "dns", n->dns);
	add_ip(obj, "dhcp_start", n->dhcp_start);
	struct json_object *fw = json_object_new_array();
	for (unsigned i = 0; i < n->nforwards; i++) {
		const struct nat_forward *f = &n->forwards[i];
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "proto", json_object_new_string(f->udp ? "udp" : "tcp"));
		json_object_object_add(o, "host_port", json_object_new_int(f->host_port));
		add_ip(o, "guest_ip", f->guest_ip);
		json_object_object_add(o, "guest_port", json_object_new_int(f->guest_port));
		json_object_array_add(fw, o);
	}
	json_object_object_add(obj, "forwards", fw);
	struct json_object *rfw = json_object_new_array();
	for (int i = 0; i < NAT_HOSTFWD_MAX; i++) {
		const struct nat_hostfwd *f = &n->hostfwds.f[i];
		if (!f->used)
			continue;
		struct json_object *o = json_object_new_object();
		char mac[18];
		mac_format(&f->mac, mac);
		json_object_object_add(o, "mac", json_object_new_string(mac));
		json_object_object_add(o, "host_port", json_object_new_int(f->host_port));
		add_ip(o, "guest_ip", f->guest_ip);
		json_object_object_add(o, "guest_port", json_object_new_int(f->guest_port));
		json_object_array_add(rfw, o);
	}
	json_object_object_add(obj, "runtime_forwards", rfw);
	add_flows(obj, n->flows);
	json_object_object_add(obj, "fragments_dropped", json_object_new_int64((int64_t)n->fragments_dropped));
	/* slirp's table of live connections, one line each; g_malloc'd by the
	 * loaded library's allocator, so freed by it (slirp_runtime_free). */
	char *info = slirp_connection_info(n->slirp);
	if (info) {
		struct json_object *lines = json_object_new_array();
		for (char *save = NULL, *l = strtok_r(info, "\n", &save); l;
		     l = strtok_r(NULL, "\n", &save))
			json_object_array_add(lines, json_object_new_string(l));
		json_object_object_add(obj, "connections", lines);
		slirp_runtime_free(info);
	}
}

static void nat_free(struct uplink *u)
{
	struct nat_uplink *n = nat_of(u);
	if (!n)
		return;
	nat_detach(n);
	if (n->slirp)
		slirp_cleanup(n->slirp); /* frees its timers through timer_free */
	while (n->timers) {
		struct nat_timer *t = n->timers;
		n->timers = t->next;
		free(t);
	}
	while (n->queue_count) {
		free(n->queue[n->queue_head]);
		n->queue_head = (n->queue_head + 1) % NAT_QUEUE;
		n->queue_count--;
	}
	free(n->forwards);
	free(n->flows);
	free(n);
}

static const struct nat_leases *nat_leases_of(struct uplink *u)
{
	return &nat_of(u)->leases;
}

static int nat_forward_add(struct uplink *u, int owner, const struct mac_addr *mac, uint16_t guest_port,
			   uint16_t *host_port, struct nv_err *err)
{
	struct nat_uplink *n = nat_of(u);
	return nat_hostfwd_add(&n->hostfwds, n->slirp, &n->leases, owner, mac, guest_port, host_port, err);
}

static void nat_forwards_drop(struct uplink *u, int owner)
{
	struct nat_uplink *n = nat_of(u);
	nat_hostfwd_drop(&n->hostfwds, n->slirp, owner);
}

static const struct uplink_ops nat_ops = {
	.kind = "nat",
	.attach = nat_attach,
	.send = nat_send,
	.describe = nat_describe,
	.free = nat_free,
	.leases = nat_leases_of,
	.forward_add = nat_forward_add,
	.forwards_drop = nat_forwards_drop,
};

/* ---- construction ---- */

static int check_config(const struct nat_config *cfg, struct nv_err *err)
{
	char net[INET_ADDRSTRLEN];
	ip_format(cfg->network, net);
	if (cfg->prefix_len < 8 || cfg->prefix_len > 30)
		return nv_err_input(err, "nat network %s/%u: the prefix must be 8 to 30", net,
				    cfg->prefix_len);
	uint32_t mask = ~0u << (32 - cfg->prefix_len);
	if (cfg->network & ~mask)
		return nv_err_input(err, "nat network %s/%u has host bits set", net,
				    cfg->prefix_len);
	/* slirp hands out 16 leases from DHCP start (.15) without looking at
	 * the mask: they must all fit below the broadcast address. */
	if (cfg->prefix_len > 27)
		return nv_err_input(err,
				    "nat network %s/%u is too small: NAT needs /27 or larger "
				    "(gateway .1, DNS .3, DHCP leases .15 to .30)",
				    net, cfg->prefix_len);
	for (unsigned i = 0; i < cfg->nforwards; i++) {
		const struct nat_forward *f = &cfg->forwards[i];
		char g[INET_ADDRSTRLEN];
		ip_format(f->guest_ip, g);
		uint32_t host = f->guest_ip & ~mask;
		if (!f->host_port || !f->guest_port)
			return nv_err_input(err, "port forward %s %u -> %s:%u: port 0 is not allowed",
					    f->udp ? "udp" : "tcp", f->host_port, g, f->guest_port);
		if ((f->guest_ip & mask) != cfg->network || host == 0 || host == ~mask ||
		    host == 1 || host == 3)
			return nv_err_input(err,
					    "port forward %s %u -> %s:%u: the guest address must be "
					    "a VM's address in %s/%u",
					    f->udp ? "udp" : "tcp", f->host_port, g, f->guest_port,
					    net, cfg->prefix_len);
	}
	return 0;
}

static int add_forward(struct nat_uplink *n, const struct nat_forward *f, struct nv_err *err)
{
	errno = 0;
	if (slirp_add_hostfwd(n->slirp, f->udp, in_addr_of(f->host_ip), f->host_port, in_addr_of(f->guest_ip),
			      f->guest_port) == 0)
		return 0;
	int e = errno;
	char g[INET_ADDRSTRLEN];
	ip_format(f->guest_ip, g);
	const char *why = e == EADDRINUSE ? "the host port is in use"
			  : e == EACCES   ? "ports below 1024 need root or CAP_NET_BIND_SERVICE"
			  : e             ? strerror(e)
					  : "slirp refused it";
	return nv_err_input(err, "port forward %s %u -> %s:%u: cannot listen on host port %u: %s",
			    f->udp ? "udp" : "tcp", f->host_port, g, f->guest_port, f->host_port,
			    why);
}

struct uplink *uplink_nat_new(const struct nat_config *cfg, struct nv_err *err)
{
	if (!cfg) {
		nv_err_input(err, "nat uplink: no configuration");
		return NULL;
	}
	if (check_config(cfg, err) < 0)
		return NULL;
	struct nat_uplink *n = calloc(1, sizeof(*n));
	if (!n || !(n->flows = malloc(sizeof(*n->flows))) ||
	    (cfg->nforwards && !(n->forwards = calloc(cfg->nforwards, sizeof(*n->forwards))))) {
		if (n)
			free(n->flows);
		free(n);
		nv_err_host(err, "nat uplink: out of memory");
		return NULL;
	}
	n->up.ops = &nat_ops;
	nat_flows_init(n->flows, cfg->max_flows_per_port, cfg->max_flows);
	n->host_loopback = cfg->host_loopback;
	nat_leases_init(&n->leases);
	n->network = cfg->network;
	n->prefix_len = cfg->prefix_len;
	n->gateway = cfg->network + 1;
	n->dns = cfg->network + 3;
	n->dhcp_start = cfg->network + 15;
	if (cfg->nforwards)
		memcpy(n->forwards, cfg->forwards, cfg->nforwards * sizeof(*n->forwards));
	n->nforwards = cfg->nforwards;

	/* slirp writes to host sockets without MSG_NOSIGNAL: a connection the
	 * far end closed would kill the daemon with SIGPIPE. No NAT user wants
	 * that, so ignore it unless the program chose a handler. */
	struct sigaction sa;
	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);

	SlirpConfig sc = {
		.version = 4,
		.restricted = 0,
		.in_enabled = true,
		.vnetwork = in_addr_of(cfg->network),
		.vnetmask = in_addr_of(~0u << (32 - cfg->prefix_len)),
		.vhost = in_addr_of(n->gateway),
		.in6_enabled = false,
		.vhostname = "nestvm-nat",
		.vdhcp_start = in_addr_of(n->dhcp_start),
		.vnameserver = in_addr_of(n->dns),
		.if_mtu = NET_MTU,
		.if_mru = NET_MTU,
		/* Loopback services trust that only the host calls them. */
		.disable_host_loopback = !cfg->host_loopback,
		.enable_emu = false,
	};
	if (slirp_runtime_load(err) < 0) {
		nat_free(&n->up);
		return NULL;
	}
	n->slirp = slirp_new(&sc, &nat_callbacks, n);
	if (!n->slirp) {
		nat_free(&n->up);
		nv_err_host(err, "nat uplink: libslirp %s could not start", slirp_version_string());
		return NULL;
	}
	for (unsigned i = 0; i < n->nforwards; i++) {
		if (add_forward(n, &n->forwards[i], err) < 0) {
			nat_free(&n->up);
			return NULL;
		}
	}
	return &n->up;
}
