/* Parsing of user-supplied numbers: strict, overflow-checked, no locale. */
#ifndef NESTVM_UTIL_PARSE_H
#define NESTVM_UTIL_PARSE_H

#include <stdint.h>

/* "512M", "2G", "1.5G" is refused; K/M/G/T are binary units, an optional
 * trailing "B" or "iB" is accepted, case-insensitive. A bare number is taken
 * in units of (1 << default_shift) bytes (20 for MiB, as QEMU does).
 * Returns 0, or -1 for anything else (empty, sign, garbage, overflow). */
int parse_size(const char *s, unsigned default_shift, uint64_t *out);

/* A decimal unsigned integer in [min, max]. */
int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);

#endif
