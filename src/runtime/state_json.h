/* A container's state as the OCI runtime spec has it (runtime.md,
 * "State"): ociVersion, id, status, pid (0 once stopped), bundle,
 * annotations, and runc's created. For `state` and `list --format json`. */
#ifndef NESTVM_RUNTIME_STATE_JSON_H
#define NESTVM_RUNTIME_STATE_JSON_H

#include <json-c/json.h>

#include "runtime/container.h"

#define RT_OCI_VERSION "1.0.2"

/* A new object (json_object_put it), or NULL when out of memory. */
struct json_object *state_json(const struct container *c);

#endif
