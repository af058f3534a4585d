/* `features`: what this runtime implements, as the OCI runtime spec's
 * features.md has it, truthfully for a container in a VM of its own: no
 * hooks run; the mount options are the ones the guest's init
 * (guest/tools/nestvm-container.c) understands; the container gets a
 * mount and a UTS namespace of its own in its VM; no host cgroup,
 * capability set, seccomp, AppArmor or SELinux is applied by the runtime
 * (the VM is the boundary). */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>

#include "runtime/args.h"
#include "runtime/commands.h"
#include "runtime/log.h"

static const char *const mount_options[] = {
	"async",     "atime",	   "bind",     "defaults", "dev",	  "diratime", "dirsync",    "exec",
	"mand",	     "noatime",	   "nodev",    "nodiratime", "noexec",	  "nomand",   "norelatime", "nosuid",
	"notmpcopyup", "private",  "rbind",    "relatime", "rprivate",	  "rshared",  "rslave",     "runbindable",
	"ro",	     "rw",	   "shared",   "slave",	   "strictatime", "suid",     "sync",	    "tmpcopyup",
	"unbindable",
};

static struct json_object *strings(const char *const *s, size_t n)
{
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(s[i]));
	return a;
}

static struct json_object *enabled(int on)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "enabled", json_object_new_boolean(on));
	return o;
}

int rt_cmd_features(const struct rt_globals *g, int argc, char **argv)
{
	int st = rt_help_only("features", argc, argv,
			      "usage: nestvm-runtime features\n\nWhat this runtime implements (OCI features.md) as JSON.");
	if (st >= 0)
		return st;
	if (optind < argc)
		return rt_fail("features: no operands ('%s')", argv[optind]);
	static const char *const namespaces[] = { "mount", "uts" };
	struct json_object *f = json_object_new_object();
	json_object_object_add(f, "ociVersionMin", json_object_new_string("1.0.0"));
	json_object_object_add(f, "ociVersionMax", json_object_new_string("1.0.2"));
	json_object_object_add(f, "hooks", json_object_new_array());
	json_object_object_add(f, "mountOptions",
			       strings(mount_options, sizeof(mount_options) / sizeof(mount_options[0])));
	struct json_object *linux = json_object_new_object();
	json_object_object_add(linux, "namespaces", strings(namespaces, 2));
	json_object_object_add(linux, "capabilities", json_object_new_array());
	struct json_object *cgroup = json_object_new_object();
	json_object_object_add(cgroup, "v1", json_object_new_boolean(0));
	json_object_object_add(cgroup, "v2", json_object_new_boolean(0));
	json_object_object_add(cgroup, "systemd", json_object_new_boolean(0));
	json_object_object_add(cgroup, "systemdUser", json_object_new_boolean(0));
	json_object_object_add(linux, "cgroup", cgroup);
	json_object_object_add(linux, "seccomp", enabled(0));
	json_object_object_add(linux, "apparmor", enabled(0));
	json_object_object_add(linux, "selinux", enabled(0));
	json_object_object_add(f, "linux", linux);
	json_object_object_add(f, "annotations", json_object_new_object());
	printf("%s\n", json_object_to_json_string_ext(f, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(f);
	return fflush(stdout) == 0 ? 0 : rt_fail("features: stdout: write failed");
}
