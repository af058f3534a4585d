/* `nestvm --version`: the release and the git revision it was built from. */
#ifndef NESTVM_CLI_VERSION_H
#define NESTVM_CLI_VERSION_H

#include <stdio.h>

/* "nestvm VERSION (git REVISION)"; REVISION is "unknown" for a tree
 * built without git (a tarball). */
void cli_version_print(FILE *f);

#endif
