#include "cli/version.h"

/* Both come from the Makefile (VERSION, and build/gen/revision, rewritten
 * only when the revision changes so that nothing else relinks). */
#ifndef NESTVM_VERSION
#define NESTVM_VERSION "unknown"
#endif
#ifndef NESTVM_REVISION
#define NESTVM_REVISION "unknown"
#endif

void cli_version_print(FILE *f)
{
	fprintf(f, "nestvm %s (git %s)\n", NESTVM_VERSION, NESTVM_REVISION);
}
