/* libFuzzer: a hostile port hello (net/switch_hello.c), the first message
 * any process that can reach a switch's port.sock sends it, parsed before a
 * port exists. The input is the message. Any crash or sanitizer report is a
 * bug, and so is: an accepted hello whose port name, MAC or adapter the
 * switch could not use (its port must be addable to a switch); a refusal
 * that is not one line; a reason that runs past the buffer it is given
 * (each hello is parsed twice, the second time with a small buffer whose
 * reason must be the first's, cut); an answer (switch_hello_answer) that
 * does not read back as the JSON the peer expects. */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "net/switch_core.h"
#include "net/switch_hello.h"
#include "util/state_dir.h"

#define WHY_MAX 256
#define CANARY 0x5a

static enum switch_out_result out(void *opaque, int to, const uint8_t *frame, size_t len)
{
	(void)opaque;
	(void)to;
	(void)frame;
	(void)len;
	return SWITCH_OUT_SENT;
}

/* The answer the switch sends back reads as {"ok":..} with the port or the
 * reason, unchanged. */
static void check_answer(const char *port, const char *error)
{
	char msg[600]; /* the switch's own buffer (switch_daemon_loop.c) */
	switch_hello_answer(msg, sizeof(msg), port, error);
	struct json_object *o = json_tokener_parse(msg), *ok, *v;
	CHECK(o && json_object_is_type(o, json_type_object));
	CHECK(json_object_object_get_ex(o, "ok", &ok) && json_object_get_boolean(ok) == !error);
	CHECK(json_object_object_get_ex(o, error ? "error" : "port", &v));
	CHECK(!strcmp(json_object_get_string(v), error ? error : port));
	json_object_put(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *msg = (const char *)data;
	struct switch_hello h;
	char why[WHY_MAX];
	memset(why, 0, sizeof(why));
	int r = switch_hello_parse(msg, size, &h, why, sizeof(why));

	/* Again, with a reason buffer of 1..64 bytes and canaries after it. */
	size_t small = 1 + size % 64;
	char cut[64 + 8];
	memset(cut, CANARY, sizeof(cut));
	struct switch_hello h2;
	CHECK(switch_hello_parse(msg, size, &h2, cut, small) == r);
	for (size_t i = small; i < sizeof(cut); i++)
		CHECK(cut[i] == CANARY);

	if (r < 0) {
		CHECK(r == -1 && why[0] && memchr(why, '\0', sizeof(why)) && !strchr(why, '\n'));
		CHECK(memchr(cut, '\0', small) && !strncmp(cut, why, small - 1));
		check_answer(NULL, why);
		return 0;
	}
	CHECK(r == 0 && !memcmp(&h, &h2, sizeof(h)));
	/* "VM/ADAPTER": a VM name as the state directory takes it, 0..255. */
	CHECK(memchr(h.port, '\0', sizeof(h.port)));
	const char *slash = strchr(h.port, '/');
	CHECK(slash && slash > h.port && (size_t)(slash - h.port) <= SWITCH_VM_NAME_MAX);
	char vm[SWITCH_VM_NAME_MAX + 1];
	memcpy(vm, h.port, (size_t)(slash - h.port));
	vm[slash - h.port] = '\0';
	CHECK(state_name_valid(vm, SWITCH_VM_NAME_MAX));
	char *end;
	long adapter = strtol(slash + 1, &end, 10);
	CHECK(*end == '\0' && adapter >= 0 && adapter <= SWITCH_ADAPTER_MAX && slash[1] != '\0');
	CHECK(!mac_is_multicast(&h.mac) && !mac_is_zero(&h.mac));
	check_answer(h.port, NULL);

	/* The switch takes the port, once. */
	static struct switch_core *sw;
	if (!sw)
		sw = switch_core_new(2, 16, 1000, out, NULL, NULL, NULL);
	CHECK(sw);
	int id = switch_core_add_port(sw, h.port, &h.mac, h.mac_spoofing);
	CHECK(id >= 0 && switch_core_add_port(sw, h.port, &h.mac, false) == -2);
	const struct switch_port *p = switch_core_port(sw, id);
	CHECK(p && !strcmp(p->name, h.port) && mac_equal(&p->mac, &h.mac) && p->mac_spoofing == h.mac_spoofing);
	switch_core_remove_port(sw, id);
	return 0;
}
