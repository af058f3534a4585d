/* `nestvm-runtime --version`, as runc prints its own: the release (that of
 * the nestvm it is built with), the git revision, the runtime spec. */
#ifndef NESTVM_RUNTIME_VERSION_H
#define NESTVM_RUNTIME_VERSION_H

#include <stdio.h>

void rt_version_print(FILE *f);

#endif
