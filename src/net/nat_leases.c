#include "net/nat_leases.h"

#include <string.h>

#include "net/lease_frames.h"

void nat_leases_init(struct nat_leases *t)
{
	memset(t, 0, sizeof(*t));
}

static struct nat_lease *find_mac(struct nat_leases *t, const struct mac_addr *mac)
{
	for (int i = 0; i < NAT_LEASES_MAX; i++)
		if (t->l[i].ip && mac_equal(&t->l[i].mac, mac))
			return &t->l[i];
	return NULL;
}

bool nat_leases_learn(struct nat_leases *t, const uint8_t *f, size_t len, uint32_t server_ip,
		      struct mac_addr *mac, uint32_t *old_ip)
{
	struct mac_addr m;
	uint32_t ip;
	if (!lease_frames_dhcp_ack(f, len, server_ip, &m, &ip))
		return false;
	/* One holder per address: slirp gives an address to one MAC, and a
	 * new ACK for it means the old holder's lease is gone. */
	for (int i = 0; i < NAT_LEASES_MAX; i++)
		if (t->l[i].ip == ip && !mac_equal(&t->l[i].mac, &m))
			t->l[i].ip = 0;
	struct nat_lease *e = find_mac(t, &m);
	uint32_t before = e ? e->ip : 0;
	if (!e) {
		for (int i = 0; i < NAT_LEASES_MAX && !e; i++)
			if (!t->l[i].ip)
				e = &t->l[i];
		if (!e) /* full: the oldest slot makes room (slirp has 16) */
			e = &t->l[0];
	}
	e->mac = m;
	e->ip = ip;
	if (before == ip)
		return false;
	*mac = m;
	*old_ip = before;
	return true;
}

uint32_t nat_leases_ip_of(const struct nat_leases *t, const struct mac_addr *mac)
{
	for (int i = 0; i < NAT_LEASES_MAX; i++)
		if (t->l[i].ip && mac_equal(&t->l[i].mac, mac))
			return t->l[i].ip;
	return 0;
}

bool nat_leases_holder(const struct nat_leases *t, uint32_t ip, struct mac_addr *mac)
{
	for (int i = 0; i < NAT_LEASES_MAX; i++)
		if (ip && t->l[i].ip == ip) {
			*mac = t->l[i].mac;
			return true;
		}
	return false;
}

/* May this port speak for mac? Its own, or (spoofing allowed: a nested
 * guest's) any MAC that is not another port's own. */
static bool port_may_speak_for(const struct lease_guard_port *p, const struct mac_addr *mac)
{
	if (mac_equal(mac, &p->mac))
		return true;
	if (!p->mac_spoofing)
		return false;
	return !(p->pinned_elsewhere && p->pinned_elsewhere(p->opaque, mac));
}

bool lease_guard_admit(const struct nat_leases *t, const uint8_t *f, size_t len,
		       const struct lease_guard_port *p)
{
	struct mac_addr m, holder;
	uint32_t spa;
	if (lease_frames_dhcp_request(f, len, &m))
		return port_may_speak_for(p, &m);
	if (lease_frames_arp_sender(f, len, &m, &spa)) {
		if (!nat_leases_holder(t, spa, &holder))
			return true; /* nobody's lease: nothing to steal */
		return mac_equal(&m, &holder) && port_may_speak_for(p, &holder);
	}
	return true;
}
