/* The back-ends of a VM's shared folders: one virtiofsd (vmm/virtiofsd.h)
 * per share of its settings, in their order, all started before the
 * machine is built and all ended with it. */
#ifndef NESTVM_VMM_VIRTIOFSD_SET_H
#define NESTVM_VMM_VIRTIOFSD_SET_H

#include "mgmt/vm_config.h"
#include "util/err.h"
#include "vmm/virtiofsd.h"

struct virtiofsd_set {
	struct virtiofsd d[VM_SHARES_MAX]; /* d[i] serves share i */
	unsigned n;                        /* how many were started */
};

/* An empty set (nothing to stop). */
void virtiofsd_set_init(struct virtiofsd_set *s);
/* Starts one virtiofsd per share (n <= VM_SHARES_MAX) on its folder;
 * socks[i] is share i's connected socket, for its virtio-fs device. All or
 * none: when share k's cannot start (its folder gone meanwhile, a fork or
 * socket failing), the ones before it are ended, their sockets closed,
 * every socks[i] is -1 and err names share k's folder. 0, or -1. */
int virtiofsd_set_start(struct virtiofsd_set *s, const struct vm_share *shares, unsigned n, int *socks,
			struct nv_err *err);
/* After their connections closed (the machine destroyed, or the sockets
 * never handed over): ends every one, waiting VIRTIOFSD_STOP_MS at most in
 * all, not each. Idempotent. */
void virtiofsd_set_stop(struct virtiofsd_set *s);

#endif
