#include "net/slirp_runtime.h"

#include <dlfcn.h>
#include <pthread.h>
#include <slirp/libslirp.h>
#include <stdio.h>
#include <string.h>

/* One pointer per libslirp function nestvm calls. */
#define SLIRP_FUNCTIONS(X)                                                                         \
	X(slirp_new, Slirp *, (const SlirpConfig *, const SlirpCb *, void *))                      \
	X(slirp_cleanup, void, (Slirp *))                                                          \
	X(slirp_pollfds_fill, void, (Slirp *, uint32_t *, SlirpAddPollCb, void *))                 \
	X(slirp_pollfds_poll, void, (Slirp *, int, SlirpGetREventsCb, void *))                     \
	X(slirp_input, void, (Slirp *, const uint8_t *, int))                                      \
	X(slirp_handle_timer, void, (Slirp *, SlirpTimerId, void *))                               \
	X(slirp_add_hostfwd, int, (Slirp *, int, struct in_addr, int, struct in_addr, int))        \
	X(slirp_remove_hostfwd, int, (Slirp *, int, struct in_addr, int))                         \
	X(slirp_connection_info, char *, (Slirp *))                                                \
	X(slirp_version_string, const char *, (void))

#define POINTER(name, ret, args) static ret(*p_##name) args;
SLIRP_FUNCTIONS(POINTER)

/* GLib's g_free, for what libslirp allocates and hands over. */
static void (*p_g_free)(void *);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[256];

static void load(void)
{
	void *h = dlopen(SLIRP_RUNTIME_LIBRARY, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(load_error, sizeof(load_error), "cannot load %s (the NAT switch's TCP/IP stack; "
			 "apt-get install libslirp0): %s", SLIRP_RUNTIME_LIBRARY, dlerror());
		return;
	}
	/* dlsym hands back void *; a function pointer is what it holds. */
#define RESOLVE(name, ret, args)                                                                   \
	if (!load_error[0]) {                                                                      \
		void *sym = dlsym(h, #name);                                                       \
		if (!sym)                                                                          \
			snprintf(load_error, sizeof(load_error), "%s has no %s", SLIRP_RUNTIME_LIBRARY, \
				 #name);                                                           \
		else                                                                               \
			memcpy(&p_##name, &sym, sizeof(sym));                                      \
	}
	SLIRP_FUNCTIONS(RESOLVE)
	/* dlsym on libslirp's handle searches its dependencies: GLib. */
	if (!load_error[0]) {
		void *sym = dlsym(h, "g_free");
		if (!sym)
			snprintf(load_error, sizeof(load_error), "%s has no g_free (GLib)", SLIRP_RUNTIME_LIBRARY);
		else
			memcpy(&p_g_free, &sym, sizeof(sym));
	}
}

void slirp_runtime_free(void *p)
{
	if (p && p_g_free)
		p_g_free(p);
}

int slirp_runtime_load(struct nv_err *err)
{
	pthread_once(&once, load);
	if (load_error[0])
		return nv_err_host(err, "%s", load_error);
	return 0;
}

/* The wrappers: callers load first (slirp_new is the way in, and nothing
 * else is called without its Slirp). */
Slirp *slirp_new(const SlirpConfig *cfg, const SlirpCb *callbacks, void *opaque)
{
	return slirp_runtime_load(NULL) == 0 ? p_slirp_new(cfg, callbacks, opaque) : NULL;
}

void slirp_cleanup(Slirp *slirp)
{
	p_slirp_cleanup(slirp);
}

void slirp_pollfds_fill(Slirp *slirp, uint32_t *timeout, SlirpAddPollCb add_poll, void *opaque)
{
	p_slirp_pollfds_fill(slirp, timeout, add_poll, opaque);
}

void slirp_pollfds_poll(Slirp *slirp, int select_error, SlirpGetREventsCb get_revents, void *opaque)
{
	p_slirp_pollfds_poll(slirp, select_error, get_revents, opaque);
}

void slirp_input(Slirp *slirp, const uint8_t *pkt, int pkt_len)
{
	p_slirp_input(slirp, pkt, pkt_len);
}

void slirp_handle_timer(Slirp *slirp, SlirpTimerId id, void *cb_opaque)
{
	p_slirp_handle_timer(slirp, id, cb_opaque);
}

int slirp_add_hostfwd(Slirp *slirp, int is_udp, struct in_addr host_addr, int host_port,
		      struct in_addr guest_addr, int guest_port)
{
	return p_slirp_add_hostfwd(slirp, is_udp, host_addr, host_port, guest_addr, guest_port);
}

int slirp_remove_hostfwd(Slirp *slirp, int is_udp, struct in_addr host_addr, int host_port)
{
	return p_slirp_remove_hostfwd(slirp, is_udp, host_addr, host_port);
}

char *slirp_connection_info(Slirp *slirp)
{
	return p_slirp_connection_info(slirp);
}

const char *slirp_version_string(void)
{
	return slirp_runtime_load(NULL) == 0 ? p_slirp_version_string() : "(not loaded)";
}
