#include "confine/identity_json.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct json_object *identity_to_json(const struct identity *who)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "uid", json_object_new_int64(who->uid));
	json_object_object_add(o, "gid", json_object_new_int64(who->gid));
	json_object_object_add(o, "name", json_object_new_string(who->name));
	return o;
}

int identity_from_json(struct json_object *v, struct identity *out, const char **why)
{
	struct json_object *uid, *gid, *name;
	if (!json_object_is_type(v, json_type_object) || !json_object_object_get_ex(v, "uid", &uid) ||
	    !json_object_object_get_ex(v, "gid", &gid) || !json_object_object_get_ex(v, "name", &name) ||
	    !json_object_is_type(uid, json_type_int) || !json_object_is_type(gid, json_type_int) ||
	    !json_object_is_type(name, json_type_string) || json_object_object_length(v) != 3) {
		*why = "is not {\"uid\":N,\"gid\":N,\"name\":\"USER\"}";
		return -1;
	}
	int64_t u = json_object_get_int64(uid), g = json_object_get_int64(gid);
	const char *n = json_object_get_string(name);
	if (u <= 0 || u >= 0xffffffffLL || g < 0 || g >= 0xffffffffLL) {
		*why = "has a uid or gid out of range (root is not a dedicated user)";
		return -1;
	}
	if (!*n || strlen(n) >= sizeof(out->name) || (int)strlen(n) != json_object_get_string_len(name)) {
		*why = "has no name or a name too long";
		return -1;
	}
	for (const char *p = n; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			*why = "has a name with control characters";
			return -1;
		}
	out->uid = (uid_t)u;
	out->gid = (gid_t)g;
	snprintf(out->name, sizeof(out->name), "%s", n);
	return 0;
}
