#include "util/user_db.h"

#include <pwd.h>
#include <stdio.h>
#include <string.h>

bool user_db_find(const char *name, uid_t uid, uid_t *uid_out, gid_t *gid_out, char *name_out,
		  size_t name_len)
{
	FILE *f = fopen("/etc/passwd", "re");
	struct passwd *pw;
	bool found = false;
	while (f && !found && (pw = fgetpwent(f))) {
		if (name ? strcmp(pw->pw_name, name) != 0 : pw->pw_uid != uid)
			continue;
		if (uid_out)
			*uid_out = pw->pw_uid;
		if (gid_out)
			*gid_out = pw->pw_gid;
		if (name_out && name_len)
			snprintf(name_out, name_len, "%s", pw->pw_name);
		found = true;
	}
	if (f)
		fclose(f);
	return found;
}
