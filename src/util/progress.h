/* Progress of long work (a checkpoint's differencing disk merged back into
 * its disk file), for a person watching. The CLI installs a printer when
 * stderr is a terminal; the code doing the work reports through it and is
 * silent otherwise (logs and pipes get no progress lines). */
#ifndef NESTVM_UTIL_PROGRESS_H
#define NESTVM_UTIL_PROGRESS_H

#include <stdint.h>

typedef void (*progress_fn)(const char *what, uint64_t done, uint64_t total);

/* The process's printer (NULL: none, the default). */
void progress_set(progress_fn fn);
/* done of total units of what: printed when a new percent is reached, and
 * always at the end (done == total). */
void progress_report(const char *what, uint64_t done, uint64_t total);

#endif
