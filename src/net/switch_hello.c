#include "net/switch_hello.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/state_dir.h"
#include "net/switch_protocol.h"

static int refuse(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int refuse(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}

static int hello_fields(struct json_object *o, struct switch_hello *out, char *why, size_t wl)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, "version", &v) || !json_object_is_type(v, json_type_int))
		return refuse(why, wl, "the hello has no protocol version");
	if (json_object_get_int64(v) != SWITCH_PROTOCOL_VERSION)
		return refuse(why, wl, "protocol version %lld is not supported (this switch speaks %d)",
			      (long long)json_object_get_int64(v), SWITCH_PROTOCOL_VERSION);
	const char *vm = NULL;
	if (json_object_object_get_ex(o, "vm", &v) && json_object_is_type(v, json_type_string))
		vm = json_object_get_string(v);
	if (!state_name_valid(vm, SWITCH_VM_NAME_MAX))
		return refuse(why, wl, "the hello's VM name is missing or not 1-%d of A-Z a-z 0-9 _ . -",
			      SWITCH_VM_NAME_MAX);
	if (!json_object_object_get_ex(o, "adapter", &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0 || json_object_get_int64(v) > SWITCH_ADAPTER_MAX)
		return refuse(why, wl, "the hello's adapter is missing or not 0..%d", SWITCH_ADAPTER_MAX);
	snprintf(out->port, sizeof(out->port), "%s/%d", vm, (int)json_object_get_int64(v));
	if (!json_object_object_get_ex(o, "mac", &v) || !json_object_is_type(v, json_type_string) ||
	    mac_parse(json_object_get_string(v), &out->mac) < 0)
		return refuse(why, wl, "the hello's MAC address is missing or malformed");
	if (mac_is_multicast(&out->mac) || mac_is_zero(&out->mac))
		return refuse(why, wl, "MAC address %s is not a unicast address", json_object_get_string(v));
	out->mac_spoofing = false;
	if (json_object_object_get_ex(o, "mac_spoofing", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return refuse(why, wl, "the hello's mac_spoofing is not true or false");
		out->mac_spoofing = json_object_get_boolean(v);
	}
	return 0;
}

int switch_hello_parse(const char *msg, size_t len, struct switch_hello *out, char *why,
		       size_t why_len)
{
	char buf[SWITCH_HELLO_MAX + 1];
	if (!msg || len == 0 || len > SWITCH_HELLO_MAX)
		return refuse(why, why_len, "the hello is empty or larger than %d bytes", SWITCH_HELLO_MAX);
	if (memchr(msg, '\0', len))
		return refuse(why, why_len, "the hello is not JSON text");
	memcpy(buf, msg, len);
	buf[len] = '\0';
	memset(out, 0, sizeof(*out));
	struct json_object *o = json_tokener_parse(buf);
	int r;
	if (!o || !json_object_is_type(o, json_type_object))
		r = refuse(why, why_len, "the hello is not a JSON object");
	else
		r = hello_fields(o, out, why, why_len);
	json_object_put(o);
	return r;
}

void switch_hello_answer(char *out, size_t len, const char *port, const char *error)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(!error));
	if (error)
		json_object_object_add(o, "error", json_object_new_string(error));
	else
		json_object_object_add(o, "port", json_object_new_string(port));
	snprintf(out, len, "%s", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}
