/* One container of the runtime: its folder ROOT/ID, its record, and its
 * status as the OCI runtime spec names them, told from its VMM:
 *   created  the VMM is alive (the same process: not a zombie, the same
 *            start time) and DIR/started is not there yet;
 *   running  alive, and the VMM made DIR/started when `start` let it go;
 *   stopped  the VMM is gone. */
#ifndef NESTVM_RUNTIME_CONTAINER_H
#define NESTVM_RUNTIME_CONTAINER_H

#include <limits.h>

#include "runtime/state_record.h"
#include "util/err.h"

enum container_status { CONTAINER_CREATED, CONTAINER_RUNNING, CONTAINER_STOPPED };

struct container {
	char dir[PATH_MAX];
	struct state_record rec;
	enum container_status status;
};

/* ROOT/ID in dir. 0, or -1 with err (a bad ID, a path too long). */
int container_dir(const char *root, const char *id, char *dir, size_t size, struct nv_err *err);

/* Reads ROOT/ID's record and tells its status. 0, or -1 with err: an ID
 * with no folder is "container ID does not exist" (ENOENT in *missing when
 * missing is not NULL). */
int container_load(const char *root, const char *id, struct container *c, int *missing, struct nv_err *err);

/* The status now (the VMM may have ended since container_load). */
enum container_status container_status_of(const struct container *c);

const char *container_status_name(enum container_status s);

#endif
