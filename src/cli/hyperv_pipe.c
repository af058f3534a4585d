/* Reading piped objects (hyperv_pipe.h). */
#include "cli/hyperv_pipe.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cli/hyperv_objects.h"
#include "mgmt/vm_config.h"
#include "util/state_dir.h"

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr(" \t\r\n", s[i]))
			return false;
	return true;
}

static int parse_line(const char *text, size_t len, size_t line, struct json_object *objects, char *err,
		      size_t errlen)
{
	struct json_tokener *tok = json_tokener_new_ex(32);
	if (!tok)
		return snprintf(err, errlen, "out of memory"), -1;
	struct json_object *o = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error e = json_tokener_get_error(tok);
	size_t used = (size_t)json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!o || e != json_tokener_success || !blank(text + used, len - used)) {
		json_object_put(o);
		snprintf(err, errlen,
			 "standard input, line %zu: not an object from a nestvm Get-VM* cmdlet (one JSON "
			 "object per line)",
			 line);
		return -1;
	}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		snprintf(err, errlen, "standard input, line %zu: a JSON value but not an object", line);
		return -1;
	}
	if (json_object_array_length(objects) >= HV_PIPE_OBJECTS_MAX) {
		json_object_put(o);
		snprintf(err, errlen, "standard input: more than %d objects", HV_PIPE_OBJECTS_MAX);
		return -1;
	}
	json_object_array_add(objects, o);
	return 0;
}

/* One line into buf (without its newline). 1: a line, 0: end of input,
 * -1: too long or holding a NUL byte (err says which). */
static int read_line(FILE *in, char *buf, size_t *len, size_t line, char *err, size_t errlen)
{
	int ch;
	size_t n = 0;
	while ((ch = getc(in)) != EOF && ch != '\n') {
		if (ch == '\0')
			return snprintf(err, errlen, "standard input, line %zu: a NUL byte", line), -1;
		if (n == HV_PIPE_LINE_MAX)
			return snprintf(err, errlen, "standard input, line %zu: longer than %d bytes", line,
					HV_PIPE_LINE_MAX), -1;
		buf[n++] = (char)ch;
	}
	buf[n] = '\0';
	*len = n;
	return ch == EOF && n == 0 ? 0 : 1;
}

int hv_pipe_read(FILE *in, struct json_object **objects, char *err, size_t errlen)
{
	char *buf = malloc(HV_PIPE_LINE_MAX + 1);
	*objects = json_object_new_array();
	if (!buf || !*objects) {
		free(buf);
		json_object_put(*objects);
		*objects = NULL;
		return snprintf(err, errlen, "out of memory"), -1;
	}
	size_t line = 0, n = 0;
	int r;
	while ((r = read_line(in, buf, &n, ++line, err, errlen)) == 1)
		if (!blank(buf, n) && (r = parse_line(buf, n, line, *objects, err, errlen)) < 0)
			break;
	if (r == 0 && ferror(in)) {
		snprintf(err, errlen, "standard input: read error");
		r = -1;
	}
	free(buf);
	if (r < 0) {
		json_object_put(*objects);
		*objects = NULL;
		return -1;
	}
	return 0;
}

static const char *string_of(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int hv_pipe_binding(struct json_object *object, size_t index, struct hyperv_binding *b, char *err,
		    size_t errlen)
{
	const char *name = string_of(object, "VMName");
	const char *type = string_of(object, "PSTypeName");
	b->vm_name = name;
	b->adapter = -1;
	if (!name) {
		snprintf(err, errlen,
			 "object %zu piped in names no VM (no \"VMName\"): pipe in what Get-VM, "
			 "Get-VMProcessor, Get-VMMemory or Get-VMNetworkAdapter prints",
			 index + 1);
		return -1;
	}
	if (!state_name_valid(name, VM_NAME_MAX)) {
		snprintf(err, errlen, "object %zu piped in: \"VMName\" is not a VM name", index + 1);
		return -1;
	}
	if (hv_object_kind_of(type) == HV_OBJ_ADAPTER) {
		struct json_object *v;
		int64_t i;
		if (!json_object_object_get_ex(object, "AdapterIndex", &v) || !json_object_is_type(v, json_type_int) ||
		    (i = json_object_get_int64(v)) < 0 || i >= VM_MAX_NICS) {
			snprintf(err, errlen, "object %zu piped in: a network adapter without a valid "
					      "\"AdapterIndex\" (0..%d)", index + 1, VM_MAX_NICS - 1);
			return -1;
		}
		b->adapter = (int)i;
	}
	return 0;
}
