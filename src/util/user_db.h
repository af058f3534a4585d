/* The password database, read without NSS. nestvm is a static binary, which
 * cannot load NSS modules: a lookup that reaches nsswitch.conf's "systemd"
 * (a user not in /etc/passwd) crashes it. /etc/passwd is read with glibc's
 * own parser (fgetpwent); users known only elsewhere (LDAP, homed) are not
 * found, and callers take numbers instead. */
#ifndef NESTVM_UTIL_USER_DB_H
#define NESTVM_UTIL_USER_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The entry named name, or with uid uid when name is NULL: its uid, group
 * and name (any output may be NULL). */
bool user_db_find(const char *name, uid_t uid, uid_t *uid_out, gid_t *gid_out, char *name_out,
		  size_t name_len);

#endif
