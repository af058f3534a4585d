/* The configuration of a container that `nestvm container run` starts:
 * a bundle's config.json, or for a bare root filesystem the defaults a
 * container engine would write (podman's mounts, PATH, an rlimit), with
 * the command line's command, terminal, host name and -v folders applied.
 * Made as JSON and read back through oci_config_parse, so that both paths
 * meet the same checks. */
#ifndef NESTVM_MGMT_CONTAINER_CONFIG_H
#define NESTVM_MGMT_CONTAINER_CONFIG_H

#include <limits.h>
#include <stdbool.h>

#include "mgmt/oci_config.h"
#include "util/err.h"

#define CONTAINER_VOLUMES_MAX 32

struct container_request {
	const char *path;        /* a bundle (a folder with config.json) or a root filesystem */
	char *const *command;    /* replaces process.args when given */
	int command_argc;
	bool terminal;           /* -t: process.terminal */
	const char *hostname;    /* NULL: the bundle's, or "nestvm" for a root filesystem */
	const char *volumes[CONTAINER_VOLUMES_MAX]; /* -v HOST:CTR[:ro|:rw] */
	unsigned nvolumes;
};

/* out: the parsed configuration; bundle_dir: the folder its root.path is
 * relative to. One line in err naming the problem. */
int container_config_make(const struct container_request *r, struct oci_config *out, char *bundle_dir,
			  size_t size, struct nv_err *err);

#endif
