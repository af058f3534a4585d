#include "runtime/container_id.h"

#include <string.h>

bool container_id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > CONTAINER_ID_MAX || id[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
		      c == '.' || c == '-'))
			return false;
	}
	return true;
}
