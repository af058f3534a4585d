#include "net/nat_hostfwd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>


#define PICK_TRIES 8

static struct in_addr in_addr_of(uint32_t host_order)
{
	struct in_addr a = { .s_addr = htonl(host_order) };
	return a;
}

/* A TCP port free on 127.0.0.1 now: the kernel's pick for port 0. slirp
 * binds it a moment later; another program could take it in between, so
 * the caller tries again when slirp cannot listen. 0 if none. */
static uint16_t free_loopback_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return 0;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr = in_addr_of(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	uint16_t port = 0;
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(s, (struct sockaddr *)&a, &alen) == 0)
		port = ntohs(a.sin_port);
	close(s);
	return port;
}

static int listen_on(Slirp *slirp, uint16_t host_port, uint32_t guest_ip, uint16_t guest_port)
{
	return slirp_add_hostfwd(slirp, 0, in_addr_of(INADDR_LOOPBACK), host_port, in_addr_of(guest_ip),
				 guest_port);
}

static void unlisten(Slirp *slirp, const struct nat_hostfwd *f)
{
	slirp_remove_hostfwd(slirp, 0, in_addr_of(INADDR_LOOPBACK), f->host_port);
}

int nat_hostfwd_add(struct nat_hostfwds *t, Slirp *slirp, const struct nat_leases *leases, int owner,
		    const struct mac_addr *mac, uint16_t guest_port, uint16_t *host_port, struct nv_err *err)
{
	char m[18];
	mac_format(mac, m);
	uint32_t ip = nat_leases_ip_of(leases, mac);
	if (!ip)
		return nv_err_input(err, "no DHCP lease for %s yet", m);
	struct nat_hostfwd *slot = NULL;
	for (int i = 0; i < NAT_HOSTFWD_MAX; i++) {
		struct nat_hostfwd *f = &t->f[i];
		if (f->used && f->owner == owner && mac_equal(&f->mac, mac) && f->guest_port == guest_port) {
			*host_port = f->host_port; /* asked again: the same one */
			return 0;
		}
		if (!f->used && !slot)
			slot = f;
	}
	if (!slot)
		return nv_err_host(err, "the switch has %d forwards already", NAT_HOSTFWD_MAX);
	for (int try = 0; try < PICK_TRIES; try++) {
		uint16_t port = free_loopback_port();
		if (!port)
			return nv_err_host(err, "no free TCP port on 127.0.0.1: %s", strerror(errno));
		if (listen_on(slirp, port, ip, guest_port) == 0) {
			*slot = (struct nat_hostfwd){ .used = true, .owner = owner, .mac = *mac, .guest_ip = ip,
						      .guest_port = guest_port, .host_port = port };
			*host_port = port;
			return 0;
		}
	}
	return nv_err_host(err, "cannot listen on 127.0.0.1 for %s port %u (tried %d ports)", m, guest_port,
			   PICK_TRIES);
}

void nat_hostfwd_drop(struct nat_hostfwds *t, Slirp *slirp, int owner)
{
	for (int i = 0; i < NAT_HOSTFWD_MAX; i++) {
		struct nat_hostfwd *f = &t->f[i];
		if (f->used && f->owner == owner) {
			unlisten(slirp, f);
			f->used = false;
		}
	}
}

void nat_hostfwd_follow_leases(struct nat_hostfwds *t, Slirp *slirp, const struct nat_leases *leases)
{
	for (int i = 0; i < NAT_HOSTFWD_MAX; i++) {
		struct nat_hostfwd *f = &t->f[i];
		uint32_t ip = f->used ? nat_leases_ip_of(leases, &f->mac) : 0;
		if (!f->used || ip == f->guest_ip)
			continue;
		unlisten(slirp, f);
		/* No lease any more (another MAC holds the address): the forward
		 * goes rather than point at someone else. */
		if (!ip || listen_on(slirp, f->host_port, ip, f->guest_port) < 0) {
			fprintf(stderr, "nat: forward 127.0.0.1:%u removed: its VM's address changed\n",
				f->host_port);
			f->used = false;
			continue;
		}
		f->guest_ip = ip;
	}
}
