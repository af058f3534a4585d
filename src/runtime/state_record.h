/* The runtime's own record of a container, ROOT/ID/state.json: its ID, its
 * bundle's absolute path, its VMM's pid and that pid's start time (to tell
 * the VMM from a process that got its pid later), and when it was created
 * (RFC 3339). JSON text both ways, checked on the way in: unit-tested. */
#ifndef NESTVM_RUNTIME_STATE_RECORD_H
#define NESTVM_RUNTIME_STATE_RECORD_H

#include <limits.h>
#include <sys/types.h>

#include "runtime/container_id.h"
#include "util/err.h"

#define STATE_RECORD_MAX_BYTES 65536

struct state_record {
	char id[CONTAINER_ID_MAX + 1];
	char bundle[PATH_MAX];
	pid_t pid;
	unsigned long long pid_start; /* /proc/PID/stat field 22 */
	char created[64];
};

/* The record as JSON text, malloc()ed (free it); NULL when out of memory. */
char *state_record_format(const struct state_record *r);

/* Parses the text (len bytes, NUL-terminated or not). 0, or -1 with one line
 * in err: not JSON, a field missing or of the wrong type, a bad ID, a
 * relative bundle, a pid that is not positive. */
int state_record_parse(const char *text, size_t len, struct state_record *out, struct nv_err *err);

/* DIR/state.json, written atomically / read and parsed. 0, or -1 with err. */
int state_record_save(const char *dir, const struct state_record *r, struct nv_err *err);
int state_record_load(const char *dir, struct state_record *out, struct nv_err *err);

#endif
