#include "net/switch_path.h"

#include <stdio.h>

#include "net/switch_protocol.h"
#include "util/state_dir.h"

int switch_path(const char *name, const char *file, char *out, size_t len, struct nv_err *err)
{
	char base[4096];
	if (!state_name_valid(name, SWITCH_NAME_MAX))
		return nv_err_input(err, "'%s' is not a valid switch name (1-%d of A-Z a-z 0-9 _ . -)",
				    name ? name : "", SWITCH_NAME_MAX);
	if (state_dir_path(base, sizeof(base), err) < 0)
		return -1;
	int n = snprintf(out, len, "%s/%s/%s%s%s", base, SWITCH_DIR, name, file ? "/" : "",
			 file ? file : "");
	if (n < 0 || (size_t)n >= len)
		return nv_err_input(err, "the path of switch %s is too long (shorten NESTVM_HOME)", name);
	return 0;
}
