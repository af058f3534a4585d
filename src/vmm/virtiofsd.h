/* The vhost-user back-end of a VM's shared folder: Debian's virtiofsd
 * (QEMU's C daemon, package qemu-system-common), started by the VMM for
 * `run --share` and ended with it. Its sandbox (a mount, PID and network
 * namespace, pivot_root into the folder; or chroot into it) is what keeps
 * the guest inside the folder: `..`, symlinks pointing out, hard links and
 * rename races are resolved by a process that cannot see anything else. */
#ifndef NESTVM_VMM_VIRTIOFSD_H
#define NESTVM_VMM_VIRTIOFSD_H

#include <stdbool.h>
#include <sys/types.h>

#include "util/err.h"

#define VIRTIOFSD_PATH "/usr/lib/qemu/virtiofsd"
/* How long it may take to end after its connection closed. */
#define VIRTIOFSD_STOP_MS 2000

struct virtiofsd {
	pid_t pid;  /* 0: none */
	int pidfd;  /* -1: none; signals only this process once the VMM is confined */
	/* Its stderr (a memfd), said when it ends: what it prints at every
	 * disconnect ("Unexpected poll revents") is left out, so that a
	 * guest's output is not followed by virtiofsd's. -1: none. */
	int log_fd;
};

/* Is virtiofsd there to run? 0, or -1 with an NV_ERR_INPUT naming its
 * package: checked with the input, before KVM. */
int virtiofsd_check(struct nv_err *err);
/* Starts virtiofsd on dir (readonly: through a read-only bind mount of it,
 * in a mount namespace of its own), on a listening socket in a private
 * temporary folder, and connects to it: *sock is the connected socket,
 * for the virtio-fs device. Its sandbox is virtiofsd's namespace one, or
 * chroot where the root is the initial ramfs (pivot_root cannot work
 * there: the lab). NESTVM_VIRTIOFSD names another binary and
 * NESTVM_VIRTIOFSD_SANDBOX (chroot|namespace) picks the sandbox (tests).
 * 0, or -1 with err (a missing virtiofsd is NV_ERR_INPUT, naming its
 * package). */
int virtiofsd_start(struct virtiofsd *d, const char *dir, bool readonly, int *sock,
		    struct nv_err *err);
/* After its connection closed (the device destroyed): waits a moment for
 * it to end on its own, else kills it; reaps it. Idempotent. */
void virtiofsd_stop(struct virtiofsd *d);
/* The same, waiting at most wait_ms (>= 0) before the kill: several
 * stopped together share one wait (vmm/virtiofsd_set.h). */
void virtiofsd_stop_wait(struct virtiofsd *d, int wait_ms);

#endif
