#include "vmm/virtiofsd_set.h"

#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void virtiofsd_set_init(struct virtiofsd_set *s)
{
	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < VM_SHARES_MAX; i++)
		s->d[i].pidfd = s->d[i].log_fd = -1;
}

/* virtiofsd only fails on a missing folder once the device's handshake
 * meets its closed socket: an obscure error, so it is checked here. */
static int start_one(struct virtiofsd *d, const struct vm_share *sh, int *sock, struct nv_err *err)
{
	struct stat st;
	if (stat(sh->dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return nv_err_input(err, "shared folder %.300s (tag %s): not an existing folder", sh->dir, sh->tag);
	if (virtiofsd_start(d, sh->dir, sh->readonly, sock, err) == 0)
		return 0;
	return nv_err_prefix(err, "shared folder %.200s (tag %s)", sh->dir, sh->tag);
}

int virtiofsd_set_start(struct virtiofsd_set *s, const struct vm_share *shares, unsigned n, int *socks,
			struct nv_err *err)
{
	virtiofsd_set_init(s);
	if (n > VM_SHARES_MAX)
		return nv_err_input(err, "at most %d shared folders", VM_SHARES_MAX);
	for (unsigned i = 0; i < n; i++)
		socks[i] = -1;
	for (; s->n < n; s->n++) {
		if (start_one(&s->d[s->n], &shares[s->n], &socks[s->n], err) == 0)
			continue;
		/* Closed first, so the ones started end on their own. */
		for (unsigned i = 0; i < s->n; i++) {
			close(socks[i]);
			socks[i] = -1;
		}
		virtiofsd_set_stop(s);
		return -1;
	}
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void virtiofsd_set_stop(struct virtiofsd_set *s)
{
	/* They end together once their connections are closed: one wait for
	 * all, so eight stuck ones do not hold the VMM's exit 8 times. */
	int64_t deadline = now_ms() + VIRTIOFSD_STOP_MS;
	for (unsigned i = 0; i < s->n; i++) {
		int64_t left = deadline - now_ms();
		virtiofsd_stop_wait(&s->d[i], left > 0 ? (int)left : 0);
	}
	s->n = 0;
}
