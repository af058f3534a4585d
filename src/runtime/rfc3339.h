/* Times as RFC 3339 text, UTC: "2024-05-01T12:00:00Z", or with
 * nanoseconds as Go's RFC3339Nano writes them (runc's state "created"). */
#ifndef NESTVM_RUNTIME_RFC3339_H
#define NESTVM_RUNTIME_RFC3339_H

#include <stdbool.h>
#include <stddef.h>

/* The current time (CLOCK_REALTIME) in buf. */
void rfc3339_now(char *buf, size_t size, bool nanoseconds);

#endif
