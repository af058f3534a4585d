/* Milliseconds of CLOCK_MONOTONIC: timeouts, rates and durations that a
 * change of the wall clock must not move. */
#ifndef NESTVM_UTIL_MONO_CLOCK_H
#define NESTVM_UTIL_MONO_CLOCK_H

#include <stdint.h>

int64_t mono_ms(void);

#endif
