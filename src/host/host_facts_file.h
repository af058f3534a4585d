/* Host facts as a small text file, so that hosts we do not have (an Intel
 * machine, a Hyper-V VM) can be recorded once and checked in tests:
 *
 *   # comment
 *   vendor_id = GenuineIntel
 *   cpu_vmx = 1
 *   kvm_module = kvm_intel
 *   ...
 *
 * One `key = value` a line, the keys being the struct host_facts fields
 * (caps as cap_NAME). Booleans are 0/1, facts yes/no/unknown, numbers -1 when
 * unknown, dev_errno "ok" or an errno name. Keys left out stay unknown. */
#ifndef NESTVM_HOST_HOST_FACTS_FILE_H
#define NESTVM_HOST_HOST_FACTS_FILE_H

#include <stddef.h>

#include "host/host_facts.h"
#include "util/err.h"

/* Writes every field of f into buf (NUL-terminated). Returns the length,
 * or -1 when n is too small. */
int host_facts_file_format(const struct host_facts *f, char *buf, size_t n);

/* Parses text into f (initialised first). -1 with err (NV_ERR_INPUT, naming
 * the line) on an unknown key or a bad value. */
int host_facts_file_parse(const char *text, struct host_facts *f, struct nv_err *err);

/* Reads and parses the file at path. */
int host_facts_file_load(const char *path, struct host_facts *f, struct nv_err *err);

#endif
