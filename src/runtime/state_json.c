#include "runtime/state_json.h"

struct json_object *state_json(const struct container *c)
{
	struct json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "ociVersion", json_object_new_string(RT_OCI_VERSION));
	json_object_object_add(o, "id", json_object_new_string(c->rec.id));
	json_object_object_add(o, "pid", json_object_new_int(c->status == CONTAINER_STOPPED ? 0 : c->rec.pid));
	json_object_object_add(o, "status", json_object_new_string(container_status_name(c->status)));
	json_object_object_add(o, "bundle", json_object_new_string(c->rec.bundle));
	json_object_object_add(o, "created", json_object_new_string(c->rec.created));
	json_object_object_add(o, "annotations", json_object_new_object());
	return o;
}
