/* A container's configuration from a bundle or the defaults, with the
 * command line applied (mgmt/container_config.h). */
#include "mgmt/container_config.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static json_object *strings(const char *const *v, size_t n)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

static void add_mount(json_object *mounts, const char *dest, const char *type, const char *source,
		      const char *const *options, size_t noptions)
{
	json_object *m = json_object_new_object();
	json_object_object_add(m, "destination", json_object_new_string(dest));
	json_object_object_add(m, "type", json_object_new_string(type));
	json_object_object_add(m, "source", json_object_new_string(source));
	json_object_object_add(m, "options", strings(options, noptions));
	json_object_array_add(mounts, m);
}

#define OPTS(...) (const char *const[]){ __VA_ARGS__ }, sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(char *)

/* What podman writes for a container with no options, near enough. */
static json_object *default_config(const char *rootfs)
{
	json_object *c = json_object_new_object(), *p = json_object_new_object(), *u = json_object_new_object();
	json_object *root = json_object_new_object(), *mounts = json_object_new_array();
	json_object_object_add(c, "ociVersion", json_object_new_string("1.0.2"));
	json_object_object_add(u, "uid", json_object_new_int(0));
	json_object_object_add(u, "gid", json_object_new_int(0));
	json_object_object_add(p, "user", u);
	json_object_object_add(p, "args", strings(OPTS("/bin/sh")));
	json_object_object_add(p, "env", strings(OPTS(DEFAULT_PATH)));
	json_object_object_add(p, "cwd", json_object_new_string("/"));
	json_object *rl = json_object_new_object();
	json_object_object_add(rl, "type", json_object_new_string("RLIMIT_NOFILE"));
	json_object_object_add(rl, "soft", json_object_new_int64(1048576));
	json_object_object_add(rl, "hard", json_object_new_int64(1048576));
	json_object *rls = json_object_new_array();
	json_object_array_add(rls, rl);
	json_object_object_add(p, "rlimits", rls);
	json_object_object_add(c, "process", p);
	json_object_object_add(root, "path", json_object_new_string(rootfs));
	json_object_object_add(root, "readonly", json_object_new_boolean(0));
	json_object_object_add(c, "root", root);
	json_object_object_add(c, "hostname", json_object_new_string("nestvm"));
	add_mount(mounts, "/proc", "proc", "proc", OPTS("nosuid", "noexec", "nodev"));
	add_mount(mounts, "/dev", "tmpfs", "tmpfs", OPTS("nosuid", "strictatime", "mode=755", "size=65536k"));
	add_mount(mounts, "/dev/pts", "devpts", "devpts",
		  OPTS("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"));
	add_mount(mounts, "/dev/shm", "tmpfs", "shm", OPTS("nosuid", "noexec", "nodev", "mode=1777", "size=65536k"));
	add_mount(mounts, "/dev/mqueue", "mqueue", "mqueue", OPTS("nosuid", "noexec", "nodev"));
	add_mount(mounts, "/sys", "sysfs", "sysfs", OPTS("nosuid", "noexec", "nodev", "ro"));
	add_mount(mounts, "/sys/fs/cgroup", "cgroup2", "cgroup", OPTS("nosuid", "noexec", "nodev", "relatime", "ro"));
	json_object_object_add(c, "mounts", mounts);
	return c;
}

/* -v HOST:CTR[:ro|:rw] as a bind mount. */
static int add_volume(json_object *config, const char *spec, struct nv_err *err)
{
	char buf[2 * PATH_MAX], *host = buf, *ctr, *mode;
	if (snprintf(buf, sizeof(buf), "%s", spec) >= (int)sizeof(buf))
		return nv_err_input(err, "-v %.40s...: too long", spec);
	if (!(ctr = strchr(buf, ':')))
		return nv_err_input(err, "-v '%s': give HOST-FOLDER:CONTAINER-PATH[:ro]", spec);
	*ctr++ = '\0';
	mode = strchr(ctr, ':');
	if (mode)
		*mode++ = '\0';
	if (mode && strcmp(mode, "ro") && strcmp(mode, "rw"))
		return nv_err_input(err, "-v '%s': '%s' is not ro or rw", spec, mode);
	if (host[0] != '/' || ctr[0] != '/')
		return nv_err_input(err, "-v '%s': both paths must be absolute", spec);
	json_object *mounts;
	if (!json_object_object_get_ex(config, "mounts", &mounts) || !json_object_is_type(mounts, json_type_array)) {
		mounts = json_object_new_array();
		json_object_object_add(config, "mounts", mounts);
	}
	bool ro = mode && !strcmp(mode, "ro");
	add_mount(mounts, ctr, "bind", host, (const char *const[]){ "rbind", ro ? "ro" : "rw" }, 2);
	return 0;
}

static json_object *section(json_object *o, const char *key)
{
	json_object *s;
	if (!json_object_object_get_ex(o, key, &s) || !json_object_is_type(s, json_type_object)) {
		s = json_object_new_object();
		json_object_object_add(o, key, s);
	}
	return s;
}

static json_object *bundle_config(const char *path, struct nv_err *err)
{
	char file[PATH_MAX], *text;
	size_t len;
	if (oci_config_read(path, file, &text, &len, err) < 0)
		return NULL;
	/* The whole text is checked first (types, caps, trailing bytes), so
	 * that its messages name the field; the tree is then edited. */
	struct oci_config probe = { 0 };
	struct nv_err e = { 0 };
	json_object *c = NULL;
	json_tokener *tok = NULL;
	if (oci_config_parse(text, len, &probe, &e) < 0)
		nv_err_input(err, "%s/%s", path, e.msg);
	else if (!(c = json_tokener_parse_ex(tok = json_tokener_new(), text, (int)len)))
		nv_err_input(err, "%s: does not parse", file);
	if (tok)
		json_tokener_free(tok);
	oci_config_free(&probe);
	free(text);
	return c;
}

int container_config_make(const struct container_request *r, struct oci_config *out, char *bundle_dir,
			  size_t size, struct nv_err *err)
{
	char config_path[PATH_MAX + 16];
	struct stat st;
	snprintf(config_path, sizeof(config_path), "%s/config.json", r->path);
	if (stat(r->path, &st) < 0 || !S_ISDIR(st.st_mode))
		return nv_err_input(err, "%s: not a folder (give a root filesystem or a bundle)", r->path);
	bool bundle = lstat(config_path, &st) == 0;
	json_object *c = bundle ? bundle_config(r->path, err) : default_config(r->path);
	if (!c)
		return -1;
	snprintf(bundle_dir, size, "%s", r->path);
	json_object *p = section(c, "process");
	if (r->command_argc > 0)
		json_object_object_add(p, "args", strings((const char *const *)r->command, (size_t)r->command_argc));
	if (r->terminal) {
		json_object_object_add(p, "terminal", json_object_new_boolean(1));
		json_object *env;
		if (!bundle && json_object_object_get_ex(p, "env", &env))
			json_object_array_add(env, json_object_new_string("TERM=xterm"));
	}
	if (r->hostname)
		json_object_object_add(c, "hostname", json_object_new_string(r->hostname));
	int rc = 0;
	for (unsigned i = 0; i < r->nvolumes && rc == 0; i++)
		rc = add_volume(c, r->volumes[i], err);
	if (rc == 0) {
		size_t len;
		const char *text = json_object_to_json_string_length(c, JSON_C_TO_STRING_PLAIN, &len);
		rc = oci_config_parse(text, len, out, err);
	}
	json_object_put(c);
	return rc;
}
