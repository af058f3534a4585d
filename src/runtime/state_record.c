#include "runtime/state_record.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/file_io.h"

char *state_record_format(const struct state_record *r)
{
	struct json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "id", json_object_new_string(r->id));
	json_object_object_add(o, "bundle", json_object_new_string(r->bundle));
	json_object_object_add(o, "pid", json_object_new_int64(r->pid));
	json_object_object_add(o, "pid_start", json_object_new_uint64(r->pid_start));
	json_object_object_add(o, "created", json_object_new_string(r->created));
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
							      JSON_C_TO_STRING_NOSLASHESCAPE);
	char *copy = s ? strdup(s) : NULL;
	json_object_put(o);
	return copy;
}

static int get_string(struct json_object *o, const char *key, char *out, size_t size, struct nv_err *err)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return nv_err_input(err, "state.json: %s: missing or not a string", key);
	const char *s = json_object_get_string(v);
	if ((size_t)json_object_get_string_len(v) >= size || strlen(s) != (size_t)json_object_get_string_len(v))
		return nv_err_input(err, "state.json: %s: too long or holds a NUL", key);
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

int state_record_parse(const char *text, size_t len, struct state_record *out, struct nv_err *err)
{
	memset(out, 0, sizeof(*out));
	if (len > STATE_RECORD_MAX_BYTES || len > INT_MAX)
		return nv_err_input(err, "state.json: too big");
	struct json_tokener *tok = json_tokener_new();
	if (!tok)
		return nv_err_host(err, "out of memory");
	struct json_object *o = json_tokener_parse_ex(tok, text, (int)len);
	bool whole = o && json_tokener_get_error(tok) == json_tokener_success &&
		     (size_t)json_tokener_get_parse_end(tok) == len;
	json_tokener_free(tok);
	int r = -1;
	struct json_object *v;
	if (!whole || !json_object_is_type(o, json_type_object)) {
		nv_err_input(err, "state.json: not a JSON object");
	} else if (get_string(o, "id", out->id, sizeof(out->id), err) < 0 ||
		   get_string(o, "bundle", out->bundle, sizeof(out->bundle), err) < 0 ||
		   get_string(o, "created", out->created, sizeof(out->created), err) < 0) {
		/* err says which */
	} else if (!container_id_valid(out->id)) {
		nv_err_input(err, "state.json: id: not a container ID");
	} else if (out->bundle[0] != '/') {
		nv_err_input(err, "state.json: bundle: not an absolute path");
	} else if (!json_object_object_get_ex(o, "pid", &v) || !json_object_is_type(v, json_type_int) ||
		   json_object_get_int64(v) <= 0 || json_object_get_int64(v) > INT_MAX) {
		nv_err_input(err, "state.json: pid: missing or not a positive integer");
	} else {
		out->pid = (pid_t)json_object_get_int64(v);
		if (!json_object_object_get_ex(o, "pid_start", &v) || !json_object_is_type(v, json_type_int) ||
		    json_object_get_int64(v) < 0) {
			nv_err_input(err, "state.json: pid_start: missing or not an integer");
		} else {
			out->pid_start = json_object_get_uint64(v);
			r = 0;
		}
	}
	json_object_put(o);
	if (r < 0) {
		struct nv_err keep = err ? *err : (struct nv_err){ 0 };
		memset(out, 0, sizeof(*out));
		if (err)
			*err = keep;
	}
	return r;
}

int state_record_save(const char *dir, const struct state_record *r, struct nv_err *err)
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof(path), "%s/state.json", dir) >= sizeof(path))
		return nv_err_input(err, "%s: path too long", dir);
	char *text = state_record_format(r);
	if (!text)
		return nv_err_host(err, "out of memory");
	int e = file_write_text(path, text);
	free(text);
	if (e < 0)
		return nv_err_host(err, "%s: %s", path, strerror(-e));
	return 0;
}

int state_record_load(const char *dir, struct state_record *out, struct nv_err *err)
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof(path), "%s/state.json", dir) >= sizeof(path))
		return nv_err_input(err, "%s: path too long", dir);
	char *text;
	size_t len;
	int e = file_read_bounded(path, STATE_RECORD_MAX_BYTES, &text, &len);
	if (e < 0)
		return nv_err_host(err, "%s: %s", path, strerror(-e));
	int r = state_record_parse(text, len, out, err);
	free(text);
	if (r < 0)
		nv_err_prefix(err, "%s", dir);
	return r;
}
