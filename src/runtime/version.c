#include "runtime/version.h"

#include "runtime/state_json.h"

/* From the Makefile, as for cli/version.c. */
#ifndef NESTVM_VERSION
#define NESTVM_VERSION "unknown"
#endif
#ifndef NESTVM_REVISION
#define NESTVM_REVISION "unknown"
#endif

void rt_version_print(FILE *f)
{
	fprintf(f, "nestvm-runtime version %s\ncommit: %s\nspec: %s\n", NESTVM_VERSION, NESTVM_REVISION,
		RT_OCI_VERSION);
}
