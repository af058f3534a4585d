#include "vmm/console_hub.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/peer_cred.h"
#include "vmm/vm_control.h"

int console_hub_open(struct console_hub *h, const char *sock_path, const char *log_path,
		     struct nv_err *err)
{
	memset(h, 0, sizeof(*h));
	h->listen_fd = -1;
	h->log.fd = -1;
	for (unsigned i = 0; i < CONSOLE_HUB_MAX_CLIENTS; i++)
		h->clients[i].fd = -1;
	if (console_log_open(&h->log, log_path, err) < 0)
		return -1;
	h->listen_fd = vm_control_listen(sock_path, SOCK_STREAM, err);
	if (h->listen_fd < 0) {
		console_log_close(&h->log);
		return -1;
	}
	return 0;
}

static void drop(struct console_hub *h, struct console_client *c)
{
	if (h->loop)
		evloop_remove(h->loop, c->id);
	close(c->fd);
	free(c->out);
	*c = (struct console_client){ .fd = -1 };
}

void console_hub_close(struct console_hub *h)
{
	for (unsigned i = 0; i < CONSOLE_HUB_MAX_CLIENTS; i++)
		if (h->clients[i].fd >= 0)
			drop(h, &h->clients[i]);
	if (h->loop)
		evloop_remove(h->loop, h->listen_id);
	h->loop = NULL;
	if (h->listen_fd >= 0)
		close(h->listen_fd);
	h->listen_fd = -1;
	console_log_close(&h->log);
}

/* Writes what the client has buffered, as far as its socket takes it.
 * false when the client is gone. */
static bool client_write(struct console_client *c)
{
	while (c->out_len > 0) {
		ssize_t w = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (w <= 0)
			return false;
		memmove(c->out, c->out + w, c->out_len - (size_t)w);
		c->out_len -= (size_t)w;
	}
	return true;
}

/* Queues p for the client; false when it does not fit (the client lags too
 * far behind and is dropped). */
static bool client_queue(struct console_client *c, const uint8_t *p, size_t n)
{
	if (n > CONSOLE_CLIENT_BUF - c->out_len)
		return false;
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	return true;
}

/* Attached hubs: watches the client for what it can do now. */
static void client_watch(struct console_hub *h, struct console_client *c)
{
	if (!h->loop || c->fd < 0)
		return;
	uint32_t want = (h->want_input ? EVLOOP_IN : 0) | (c->out_len ? EVLOOP_OUT : 0);
	if (want != c->interest && evloop_modify(h->loop, c->id, want) == 0)
		c->interest = want;
}

void console_hub_output(struct console_hub *h, const uint8_t *p, size_t n)
{
	console_log_write(&h->log, p, n);
	console_ring_write(&h->ring, p, n);
	for (unsigned i = 0; i < CONSOLE_HUB_MAX_CLIENTS; i++) {
		struct console_client *c = &h->clients[i];
		if (c->fd < 0)
			continue;
		if (!client_queue(c, p, n)) {
			h->dropped++;
			drop(h, c);
		} else if (!client_write(c)) {
			drop(h, c);
		} else {
			client_watch(h, c);
		}
	}
}

static void client_event(struct evloop *l, const struct evloop_event *ev, void *opaque);

static void accept_client(struct console_hub *h)
{
	int fd = accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	if (!peer_cred_trusted(fd, NULL)) { /* another user: not this VM's console */
		close(fd);
		return;
	}
	struct console_client *c = NULL;
	for (unsigned i = 0; i < CONSOLE_HUB_MAX_CLIENTS && !c; i++)
		if (h->clients[i].fd < 0)
			c = &h->clients[i];
	uint8_t *out = c ? malloc(CONSOLE_CLIENT_BUF) : NULL;
	if (!out) {
		static const char full[] = "\r\n[nestvm: too many consoles attached]\r\n";
		ssize_t w = send(fd, full, sizeof(full) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)w;
		close(fd);
		return;
	}
	*c = (struct console_client){ .fd = fd, .out = out };
	/* The replay: what the console showed last, so the client sees the
	 * prompt it attaches to. CONSOLE_RING_SIZE < CONSOLE_CLIENT_BUF. */
	c->out_len = console_ring_copy(&h->ring, c->out);
	if (!client_write(c)) {
		drop(h, c);
		return;
	}
	if (h->loop) {
		c->interest = (h->want_input ? EVLOOP_IN : 0) | (c->out_len ? EVLOOP_OUT : 0);
		if (evloop_add_fd(h->loop, c->fd, c->interest, client_event, h, &c->id) < 0) {
			c->id = 0;
			drop(h, c);
		}
	}
}

unsigned console_hub_clients(const struct console_hub *h)
{
	unsigned n = 0;
	for (unsigned i = 0; i < CONSOLE_HUB_MAX_CLIENTS; i++)
		n += h->clients[i].fd >= 0;
	return n;
}

/* The client's input, up to room bytes: how many, 0 for none now, -1 when
 * the client is gone. */
static ssize_t client_recv(struct console_client *c, uint8_t *buf, size_t room)
{
	if (room == 0)
		return 0;
	ssize_t r = recv(c->fd, buf, room, MSG_DONTWAIT);
	if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	return r <= 0 ? -1 : r;
}

/* A client is ready: writes its queue, reads its input into buf (*got
 * bytes), notices a hang-up. false when it is gone. */
static bool client_ready(struct console_client *c, bool out, bool in, bool hup,
			 uint8_t *buf, size_t room, size_t *got)
{
	*got = 0;
	bool alive = true;
	if (out)
		alive = client_write(c);
	if (alive && in) {
		ssize_t r = client_recv(c, buf, room);
		alive = r >= 0;
		*got = r > 0 ? (size_t)r : 0;
	} else if (alive && hup) {
		alive = false;
	}
	return alive;
}

static void client_event(struct evloop *l, const struct evloop_event *ev, void *opaque)
{
	struct console_hub *h = opaque;
	struct console_client *c = NULL;
	for (unsigned i = 0; i < CONSOLE_HUB_MAX_CLIENTS && !c; i++)
		if (h->clients[i].fd >= 0 && h->clients[i].id == ev->id)
			c = &h->clients[i];
	if (!c)
		return;
	uint8_t buf[8192];
	size_t room = h->in.room(h->in.opaque), got;
	if (room > sizeof(buf))
		room = sizeof(buf);
	bool alive = client_ready(c, ev->events & EVLOOP_OUT, ev->events & EVLOOP_IN,
				  ev->events & (EVLOOP_HUP | EVLOOP_ERR), buf, room, &got);
	if (got)
		h->in.put(h->in.opaque, buf, got); /* may close the gate: client_watch below */
	if (alive)
		client_watch(h, c);
	else
		drop(h, c);
}

static void listen_event(struct evloop *l, const struct evloop_event *ev, void *opaque)
{
	accept_client(opaque);
}

int console_hub_attach(struct console_hub *h, struct evloop *l, const struct console_hub_input *in,
		       struct nv_err *err)
{
	int r = evloop_add_fd(l, h->listen_fd, EVLOOP_IN, listen_event, h, &h->listen_id);
	if (r < 0)
		return nv_err_host(err, "console socket: %s", strerror(-r));
	h->loop = l;
	h->in = *in;
	h->want_input = true;
	return 0;
}

void console_hub_want_input(struct console_hub *h, bool want)
{
	h->want_input = want;
	for (unsigned i = 0; i < CONSOLE_HUB_MAX_CLIENTS; i++)
		client_watch(h, &h->clients[i]);
}

void console_hub_flush(struct console_hub *h)
{
	for (unsigned i = 0; i < CONSOLE_HUB_MAX_CLIENTS; i++)
		if (h->clients[i].fd >= 0)
			client_write(&h->clients[i]);
}
