/* json_get PATH...: reads one JSON document on stdin and prints, for each
 * PATH (keys and array indices joined by '.', "" for the whole document),
 * one line: its type and value ("string web1", "boolean true", "int 3",
 * "array 2", "object 5", "null", "missing"). Exits 2 when stdin is not
 * JSON. Tests use it where they would otherwise need python3 or jq, which
 * the lab does not have; it uses json-c, nestvm's own JSON library. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct json_object *walk(struct json_object *o, const char *path)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save)) {
		if (json_object_is_type(o, json_type_array)) {
			char *end;
			long i = strtol(k, &end, 10);
			o = *end || i < 0 ? NULL : json_object_array_get_idx(o, (size_t)i);
		} else if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, k, &o)) {
			return NULL;
		}
	}
	return o;
}

int main(int argc, char **argv)
{
	static char in[1 << 20];
	size_t n = fread(in, 1, sizeof(in) - 1, stdin);
	in[n] = '\0';
	enum json_tokener_error e;
	struct json_object *doc = json_tokener_parse_verbose(in, &e);
	if (!doc && strcmp(in, "null") != 0) {
		fprintf(stderr, "json_get: not JSON: %s\n", json_tokener_error_desc(e));
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		int found = 1;
		struct json_object *v = argv[i][0] ? NULL : doc;
		if (argv[i][0]) {
			v = walk(doc, argv[i]);
			/* A key present with a null value is null, not missing. */
			found = v != NULL;
			if (!found) {
				char parent[512], *dot;
				snprintf(parent, sizeof(parent), "%s", argv[i]);
				dot = strrchr(parent, '.');
				struct json_object *p = dot ? (*dot = '\0', walk(doc, parent)) : doc;
				const char *key = dot ? dot + 1 : argv[i];
				found = p && json_object_is_type(p, json_type_object) &&
					json_object_object_get_ex(p, key, NULL);
			}
		}
		if (!found)
			printf("missing\n");
		else if (!v)
			printf("null\n");
		else if (json_object_is_type(v, json_type_array))
			printf("array %zu\n", json_object_array_length(v));
		else if (json_object_is_type(v, json_type_object))
			printf("object %d\n", json_object_object_length(v));
		else
			printf("%s %s\n", json_type_to_name(json_object_get_type(v)), json_object_get_string(v));
	}
	json_object_put(doc);
	return 0;
}
