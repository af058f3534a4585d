/* `state ID`: the OCI runtime spec's state of a container (runtime.md,
 * "State") as JSON on stdout, indented as runc prints it. */
#include <json-c/json.h>
#include <stdio.h>

#include "runtime/args.h"
#include "runtime/commands.h"
#include "runtime/container.h"
#include "runtime/log.h"
#include "runtime/state_json.h"

int rt_cmd_state(const struct rt_globals *g, int argc, char **argv)
{
	int st = rt_help_only("state", argc, argv, "usage: nestvm-runtime state ID\n\nThe container's state (OCI runtime spec) as JSON.");
	if (st >= 0)
		return st;
	const char *id;
	if (rt_one_id("state", argc, argv, &id))
		return 1;
	struct container c;
	struct nv_err err = { 0 };
	if (container_load(g->root, id, &c, NULL, &err) < 0)
		return rt_fail("%s", err.msg);
	struct json_object *s = state_json(&c);
	if (!s)
		return rt_fail("out of memory");
	printf("%s\n", json_object_to_json_string_ext(s, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(s);
	return fflush(stdout) == 0 ? 0 : rt_fail("state: stdout: write failed");
}
