/* A container's VM from its OCI bundle (mgmt/oci_config.h): the folders
 * shared live with the guest (the root and each folder a bind mount
 * names), and the files the guest's init gets at boot, in a cpio archive
 * appended to the default guest's initrd: /etc/nestvm/container.spec,
 * which guest/tools/nestvm-container.c reads, and copies of the files a
 * bind mount names (podman's /etc/hosts, /etc/resolv.conf: read once at
 * start, not shared, since virtio-fs shares folders only).
 *
 * The spec: records of a key and a fixed number of fields, each a string
 * ended by a NUL byte. "nestvm-container-spec" 1 (first), arg A, env K=V,
 * cwd DIR, user UID GID UMASK|-, gid GID, hostname NAME, rlimit RESOURCE
 * SOFT HARD (numbers), root TAG 0|1 (read-only), mount DEST TYPE SOURCE
 * OPTIONS (a virtio-fs share: type virtiofs, source its tag; a copied
 * file: type nestvm-file, source its path in the guest), terminal 0|1,
 * stdin 0|1 (0: the process reads /dev/null, not the console),
 * no-new-privileges 0|1, memory-limit BYTES (linux.resources.memory.limit:
 * a cgroup in the guest around the process), end (last, so that a cut spec
 * is refused). */
#ifndef NESTVM_MGMT_CONTAINER_SPEC_H
#define NESTVM_MGMT_CONTAINER_SPEC_H

#include "mgmt/oci_config.h"
#include "mgmt/vm_config.h"
#include "util/cpio_newc.h"
#include "util/err.h"

#define CONTAINER_ROOT_TAG "rootfs"
#define CONTAINER_SPEC_PATH "etc/nestvm/container.spec"
#define CONTAINER_SPEC_MAX (8u << 20)  /* guest/tools/nestvm-container.c reads no more */
#define CONTAINER_FILE_MAX (1u << 20)  /* one bound file */
#define CONTAINER_INITRAMFS_MAX (16u << 20)

struct container_plan {
	struct vm_share shares[VM_SHARES_MAX]; /* [0] is the root */
	unsigned nshares;
	struct cpio_newc initramfs; /* finished: append it to the initrd */
};

/* The plan for config c of the bundle in bundle_dir (root.path relative to
 * it); stdin_open: the process reads the console. Refuses, in one line naming the mount, what a VM cannot give: a
 * bind mount of something other than a folder or a regular file, a mount
 * type the guest does not know, more folders than a VM has shares. */
int container_plan_make(const struct oci_config *c, const char *bundle_dir, bool stdin_open,
			struct container_plan *p, struct nv_err *err);
void container_plan_free(struct container_plan *p);

#endif
