/* Objects coming down a pipe from a nestvm Get-VM* cmdlet: one JSON object
 * per line (hyperv_format.h prints them), read as hostile input: each line
 * bounded, each object checked before a cmdlet acts on the VM it names. */
#ifndef NESTVM_CLI_HYPERV_PIPE_H
#define NESTVM_CLI_HYPERV_PIPE_H

#include <stddef.h>
#include <stdio.h>

#include "cli/hyperv_alias.h"

struct json_object;

#define HV_PIPE_LINE_MAX 65536
#define HV_PIPE_OBJECTS_MAX 4096

/* Reads every line of in into a new array of objects (blank lines
 * skipped). 0, or -1 with one line in err naming the line and the
 * problem (not JSON, not an object, too long, too many). */
int hv_pipe_read(FILE *in, struct json_object **objects, char *err, size_t errlen);
/* The VM (and adapter) object names, for a cmdlet that acts on VMs; the
 * binding's strings point into object. 0, or -1 with err. */
int hv_pipe_binding(struct json_object *object, size_t index, struct hyperv_binding *b, char *err,
		    size_t errlen);

#endif
