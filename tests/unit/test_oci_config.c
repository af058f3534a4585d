/* An OCI bundle's config.json (mgmt/oci_config.c): a config as podman
 * writes one read whole, a minimal one, each refusal with the field it
 * names, the CPUs the resources ask for, and loading from a bundle
 * directory (a missing, symlinked, oversized or non-regular config.json
 * refused). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mgmt/oci_config.h"

/* What `podman run --name web -m 512m --cpus 1.5 --ulimit nofile=1024:2048
 * alpine sh -c 'sleep 1'` writes (podman 4/5 on a cgroup v2 host; IDs cut
 * short), with the hooks, annotations, capabilities and seccomp profile a
 * parser must pass over. */
static const char PODMAN[] =
	"{\n"
	"  \"ociVersion\": \"1.2.0\",\n"
	"  \"process\": {\n"
	"    \"user\": {\"uid\": 0, \"gid\": 0, \"umask\": 18,\n"
	"             \"additionalGids\": [0, 1, 2, 3, 4, 6, 10, 11, 20, 26, 27]},\n"
	"    \"args\": [\"sh\", \"-c\", \"sleep 1\"],\n"
	"    \"env\": [\n"
	"      \"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\n"
	"      \"TERM=xterm\",\n"
	"      \"container=podman\",\n"
	"      \"HOSTNAME=3f4c2a1b9e8d\",\n"
	"      \"HOME=/root\"\n"
	"    ],\n"
	"    \"cwd\": \"/\",\n"
	"    \"capabilities\": {\n"
	"      \"bounding\": [\"CAP_CHOWN\", \"CAP_DAC_OVERRIDE\", \"CAP_FOWNER\", \"CAP_FSETID\", \"CAP_KILL\",\n"
	"                   \"CAP_NET_BIND_SERVICE\", \"CAP_SETFCAP\", \"CAP_SETGID\", \"CAP_SETPCAP\", \"CAP_SETUID\",\n"
	"                   \"CAP_SYS_CHROOT\"],\n"
	"      \"effective\": [\"CAP_CHOWN\", \"CAP_KILL\"],\n"
	"      \"permitted\": [\"CAP_CHOWN\", \"CAP_KILL\"]\n"
	"    },\n"
	"    \"rlimits\": [\n"
	"      {\"type\": \"RLIMIT_NOFILE\", \"hard\": 2048, \"soft\": 1024},\n"
	"      {\"type\": \"RLIMIT_NPROC\", \"hard\": 4194304, \"soft\": 4194304}\n"
	"    ],\n"
	"    \"oomScoreAdj\": 0\n"
	"  },\n"
	"  \"root\": {\"path\": \"/var/lib/containers/storage/overlay/5e1f0b7c/merged\"},\n"
	"  \"hostname\": \"3f4c2a1b9e8d\",\n"
	"  \"mounts\": [\n"
	"    {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\",\n"
	"     \"options\": [\"nosuid\", \"noexec\", \"nodev\"]},\n"
	"    {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\",\n"
	"     \"options\": [\"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\"]},\n"
	"    {\"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\",\n"
	"     \"options\": [\"nosuid\", \"noexec\", \"newinstance\", \"ptmxmode=0666\", \"mode=0620\", \"gid=5\"]},\n"
	"    {\"destination\": \"/dev/mqueue\", \"type\": \"mqueue\", \"source\": \"mqueue\",\n"
	"     \"options\": [\"nosuid\", \"noexec\", \"nodev\"]},\n"
	"    {\"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\",\n"
	"     \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"ro\"]},\n"
	"    {\"destination\": \"/sys/fs/cgroup\", \"type\": \"cgroup\", \"source\": \"cgroup\",\n"
	"     \"options\": [\"rprivate\", \"nosuid\", \"noexec\", \"nodev\", \"relatime\", \"ro\"]},\n"
	"    {\"destination\": \"/dev/shm\", \"type\": \"bind\",\n"
	"     \"source\": \"/var/lib/containers/storage/overlay-containers/3f4c2a1b9e8d/userdata/shm\",\n"
	"     \"options\": [\"bind\", \"rprivate\", \"nosuid\", \"noexec\", \"nodev\"]},\n"
	"    {\"destination\": \"/etc/resolv.conf\", \"type\": \"bind\",\n"
	"     \"source\": \"/run/containers/storage/overlay-containers/3f4c2a1b9e8d/userdata/resolv.conf\",\n"
	"     \"options\": [\"bind\", \"rprivate\"]},\n"
	"    {\"destination\": \"/etc/hostname\", \"type\": \"bind\",\n"
	"     \"source\": \"/run/containers/storage/overlay-containers/3f4c2a1b9e8d/userdata/hostname\",\n"
	"     \"options\": [\"bind\", \"rprivate\"]},\n"
	"    {\"destination\": \"/run/.containerenv\", \"type\": \"bind\",\n"
	"     \"source\": \"/run/containers/storage/overlay-containers/3f4c2a1b9e8d/userdata/.containerenv\",\n"
	"     \"options\": [\"bind\", \"rprivate\"]}\n"
	"  ],\n"
	"  \"hooks\": {\"prestart\": [{\"path\": \"/usr/libexec/podman/hook\", \"args\": [\"hook\", \"prestart\"]}]},\n"
	"  \"annotations\": {\"io.container.manager\": \"libpod\", \"org.opencontainers.image.stopSignal\": \"15\"},\n"
	"  \"linux\": {\n"
	"    \"sysctl\": {\"net.ipv4.ping_group_range\": \"0 0\"},\n"
	"    \"resources\": {\n"
	"      \"devices\": [{\"allow\": false, \"access\": \"rwm\"}],\n"
	"      \"memory\": {\"limit\": 536870912, \"swap\": 1073741824},\n"
	"      \"cpu\": {\"quota\": 150000, \"period\": 100000},\n"
	"      \"pids\": {\"limit\": 2048}\n"
	"    },\n"
	"    \"cgroupsPath\": \"machine.slice:libpod:3f4c2a1b9e8d\",\n"
	"    \"namespaces\": [\n"
	"      {\"type\": \"pid\"},\n"
	"      {\"type\": \"network\", \"path\": \"/run/netns/netns-9a2e41f0-6c1d-4b8e-a7f3-2d5c8e1b0a64\"},\n"
	"      {\"type\": \"ipc\"},\n"
	"      {\"type\": \"uts\"},\n"
	"      {\"type\": \"mount\"},\n"
	"      {\"type\": \"cgroup\"}\n"
	"    ],\n"
	"    \"seccomp\": {\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 38,\n"
	"                \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"],\n"
	"                \"syscalls\": [{\"names\": [\"read\", \"write\"], \"action\": \"SCMP_ACT_ALLOW\"},\n"
	"                             {\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
	"                              \"args\": [{\"index\": 0, \"value\": 4294967295, \"op\": \"SCMP_CMP_EQ\"}]}]},\n"
	"    \"maskedPaths\": [\"/proc/acpi\", \"/proc/kcore\", \"/sys/firmware\"],\n"
	"    \"readonlyPaths\": [\"/proc/asound\", \"/proc/bus\", \"/proc/sys\"]\n"
	"  }\n"
	"}\n";

#define MINIMAL_PROCESS "\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\"],\"cwd\":\"/\"}"
#define MINIMAL_ROOT "\"root\":{\"path\":\"rootfs\"}"

static void assert_contains(const char *s, const char *sub)
{
	if (!strstr(s, sub))
		fail_msg("'%s' does not contain '%s'", s, sub);
}

static void parse_ok(const char *json, struct oci_config *c)
{
	struct nv_err err = { 0 };
	if (oci_config_parse(json, strlen(json), c, &err) != 0)
		fail_msg("refused: %s\n%s", err.msg, json);
}

/* json refused with one line naming the field (and why, when given). */
static void refused(const char *json, size_t len, const char *field, const char *why)
{
	struct oci_config c;
	struct nv_err err = { 0 };
	memset(&c, 0xa5, sizeof(c)); /* whatever was there is overwritten */
	if (oci_config_parse(json, len, &c, &err) != -1)
		fail_msg("accepted: %.300s", json);
	assert_int_equal(err.kind, NV_ERR_INPUT);
	assert_true(!strncmp(err.msg, "config.json: ", 13));
	assert_contains(err.msg, field);
	if (why)
		assert_contains(err.msg, why);
	assert_null(strchr(err.msg, '\n'));
	/* Zeroed: freeing it, or freeing it again, is harmless. */
	assert_null(c.args);
	assert_null(c.oci_version);
	assert_int_equal(c.nmounts, 0);
	oci_config_free(&c);
}

static void refused_str(const char *json, const char *field, const char *why)
{
	refused(json, strlen(json), field, why);
}

/* A minimal config with "process" replaced by process. */
static void refused_process(const char *process, const char *field, const char *why)
{
	char json[20000];
	snprintf(json, sizeof(json), "{\"ociVersion\":\"1.0.2\",\"process\":%s," MINIMAL_ROOT "}", process);
	refused_str(json, field, why);
}

/* A minimal config with more top-level members. */
static void refused_with(const char *members, const char *field, const char *why)
{
	char json[20000];
	snprintf(json, sizeof(json), "{\"ociVersion\":\"1.0.2\"," MINIMAL_PROCESS "," MINIMAL_ROOT ",%s}", members);
	refused_str(json, field, why);
}

static void test_podman(void **state)
{
	(void)state;
	struct oci_config c;
	parse_ok(PODMAN, &c);
	assert_string_equal(c.oci_version, "1.2.0");
	assert_false(c.terminal);
	assert_int_equal(c.uid, 0);
	assert_int_equal(c.gid, 0);
	assert_true(c.has_umask);
	assert_int_equal(c.umask, 022);
	assert_int_equal(c.ngids, 11);
	assert_int_equal(c.gids[0], 0);
	assert_int_equal(c.gids[10], 27);
	assert_int_equal(c.nargs, 3);
	assert_string_equal(c.args[0], "sh");
	assert_string_equal(c.args[2], "sleep 1");
	assert_int_equal(c.nenv, 5);
	assert_string_equal(c.env[0], "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	assert_string_equal(c.env[1], "TERM=xterm");
	assert_string_equal(c.env[3], "HOSTNAME=3f4c2a1b9e8d");
	assert_string_equal(c.cwd, "/");
	assert_int_equal(c.nrlimits, 2);
	assert_int_equal(c.rlimits[0].resource, RLIMIT_NOFILE);
	assert_int_equal(c.rlimits[0].soft, 1024);
	assert_int_equal(c.rlimits[0].hard, 2048);
	assert_int_equal(c.rlimits[1].resource, RLIMIT_NPROC);
	assert_int_equal(c.rlimits[1].soft, 4194304);
	assert_false(c.no_new_privileges);
	assert_string_equal(c.root_path, "/var/lib/containers/storage/overlay/5e1f0b7c/merged");
	assert_false(c.root_readonly);
	assert_string_equal(c.hostname, "3f4c2a1b9e8d");

	assert_int_equal(c.nmounts, 10);
	assert_string_equal(c.mounts[0].destination, "/proc");
	assert_string_equal(c.mounts[0].type, "proc");
	assert_string_equal(c.mounts[0].source, "proc");
	assert_int_equal(c.mounts[0].noptions, 3);
	assert_string_equal(c.mounts[1].destination, "/dev");
	assert_string_equal(c.mounts[1].type, "tmpfs");
	assert_string_equal(c.mounts[1].options[3], "size=65536k");
	assert_string_equal(c.mounts[2].type, "devpts");
	assert_string_equal(c.mounts[2].options[5], "gid=5");
	assert_string_equal(c.mounts[3].destination, "/dev/mqueue");
	assert_string_equal(c.mounts[4].destination, "/sys");
	assert_string_equal(c.mounts[4].type, "sysfs");
	assert_string_equal(c.mounts[4].options[3], "ro");
	assert_string_equal(c.mounts[6].destination, "/dev/shm");
	assert_string_equal(c.mounts[6].source,
			    "/var/lib/containers/storage/overlay-containers/3f4c2a1b9e8d/userdata/shm");
	assert_string_equal(c.mounts[6].options[0], "bind");
	assert_string_equal(c.mounts[9].destination, "/run/.containerenv");

	assert_int_equal(c.memory_limit, 512u << 20);
	assert_int_equal(c.cpu_quota, 150000);
	assert_int_equal(c.cpu_period, 100000);
	assert_string_equal(c.cpuset_cpus, "");
	assert_int_equal(oci_config_cpus(&c), 2); /* 1.5 CPUs: 2 vCPUs */
	assert_true(c.has_netns);
	assert_string_equal(c.netns_path, "/run/netns/netns-9a2e41f0-6c1d-4b8e-a7f3-2d5c8e1b0a64");
	oci_config_free(&c);
	oci_config_free(&c); /* twice */
	assert_null(c.args);
}

static void test_minimal(void **state)
{
	(void)state;
	struct oci_config c;
	parse_ok("{\"ociVersion\":\"1.0.0\"," MINIMAL_PROCESS "," MINIMAL_ROOT "}", &c);
	assert_string_equal(c.oci_version, "1.0.0");
	assert_int_equal(c.nargs, 1);
	assert_string_equal(c.args[0], "sh");
	assert_int_equal(c.nenv, 0);
	assert_null(c.env);
	assert_int_equal(c.ngids, 0);
	assert_false(c.has_umask);
	assert_int_equal(c.nrlimits, 0);
	assert_int_equal(c.nmounts, 0);
	assert_string_equal(c.root_path, "rootfs");
	assert_string_equal(c.hostname, "");
	assert_string_equal(c.cpuset_cpus, "");
	assert_string_equal(c.netns_path, "");
	assert_false(c.has_netns);
	assert_int_equal(c.memory_limit, 0);
	assert_int_equal(c.cpu_quota, 0);
	assert_int_equal(c.cpu_period, 0);
	assert_int_equal(oci_config_cpus(&c), 0);
	oci_config_free(&c);

	/* Nulls are absent, unknown fields ignored, white space around the
	 * object allowed; the text need not end in a NUL. */
	const char *more = " \r\n\t{\"ociVersion\":\"1.1.0\",\"hostname\":null,\"mounts\":null,\"linux\":null,"
			   "\"future\":{\"x\":[1,2.5,\"y\",null,true]},"
			   "\"process\":{\"terminal\":true,\"user\":{\"uid\":4294967295,\"gid\":1000,\"umask\":0,"
			   "\"additionalGids\":[4294967295]},\"args\":[\"/bin/app\",\"\",\"--x=y\"],"
			   "\"env\":[\"A=\",\"B==c\"],\"cwd\":\"/srv\",\"noNewPrivileges\":true,"
			   "\"rlimits\":[{\"type\":\"RLIMIT_CORE\",\"soft\":18446744073709551615,"
			   "\"hard\":18446744073709551615}]},"
			   "\"root\":{\"path\":\"/abs/rootfs\",\"readonly\":true},"
			   "\"mounts\":[{\"destination\":\"/data\"}],"
			   "\"linux\":{\"namespaces\":[{\"type\":\"network\"},{\"type\":\"mount\"}],"
			   "\"resources\":{\"memory\":{\"limit\":-1},\"cpu\":{\"quota\":-1,\"period\":100000,"
			   "\"cpus\":\"0-3,5\"}}}}\n  XYZ";
	struct nv_err err = { 0 };
	char *exact = malloc(strlen(more) - 5);
	memcpy(exact, more, strlen(more) - 5); /* without "  XYZ" and the NUL */
	if (oci_config_parse(exact, strlen(more) - 5, &c, &err) != 0)
		fail_msg("refused: %s", err.msg);
	free(exact);
	assert_true(c.terminal);
	assert_int_equal(c.uid, 4294967295u);
	assert_int_equal(c.gid, 1000);
	assert_true(c.has_umask);
	assert_int_equal(c.umask, 0);
	assert_int_equal(c.gids[0], 4294967295u);
	assert_int_equal(c.nargs, 3);
	assert_string_equal(c.args[1], "");
	assert_string_equal(c.env[0], "A=");
	assert_string_equal(c.env[1], "B==c");
	assert_string_equal(c.cwd, "/srv");
	assert_true(c.no_new_privileges);
	assert_int_equal(c.rlimits[0].resource, RLIMIT_CORE);
	assert_true(c.rlimits[0].soft == UINT64_MAX && c.rlimits[0].hard == UINT64_MAX);
	assert_true(c.root_readonly);
	assert_string_equal(c.hostname, "");
	assert_int_equal(c.nmounts, 1);
	assert_string_equal(c.mounts[0].destination, "/data");
	assert_string_equal(c.mounts[0].type, "");
	assert_string_equal(c.mounts[0].source, "");
	assert_int_equal(c.mounts[0].noptions, 0);
	assert_true(c.has_netns);
	assert_string_equal(c.netns_path, "");
	assert_int_equal(c.memory_limit, 0); /* -1: unlimited */
	assert_int_equal(c.cpu_quota, 0);
	assert_string_equal(c.cpuset_cpus, "0-3,5");
	assert_int_equal(oci_config_cpus(&c), 5);
	oci_config_free(&c);
}

static void test_refusals_text(void **state)
{
	(void)state;
	refused_str("", "empty", NULL);
	refused_str("{\"ociVersion\":", "not valid JSON", "ends too early");
	refused_str("{\"ociVersion\" \"1\"}", "not valid JSON", "at byte");
	refused_str("[]", "not a JSON object", NULL);
	refused_str("\"1.0.0\"", "not a JSON object", NULL);
	refused_str("{\"ociVersion\":\"1.0.0\"," MINIMAL_PROCESS "," MINIMAL_ROOT "} {}", "text after the JSON object",
		    NULL);
	refused_str("{\"ociVersion\":\"1.0.0\"," MINIMAL_PROCESS "," MINIMAL_ROOT "}x", "text after", NULL);
	refused_str("{/* c */\"ociVersion\":\"1.0.0\"}", "not valid JSON", NULL);
	refused_str("{'ociVersion':'1.0.0'}", "not valid JSON", NULL);
	refused_str("{\"ociVersion\":\"1.0.0\",}", "not valid JSON", NULL);
	refused_str("{\"ociVersion\":\"\xff\"}", "not valid JSON", NULL);
	refused("{\"ociVersion\":\"1.0.0\"}\0", 23, "NUL byte", NULL);
	refused("{\"ociVersion\":\"1\0\"}", 19, "NUL byte", NULL);
	/* Too many objects for json-c's appetite, and too long a text. */
	size_t n = 16385 * 3 + 2;
	char *many = malloc(n + 1);
	many[0] = '[';
	for (size_t i = 0; i < 16385; i++)
		memcpy(many + 1 + 3 * i, "{},", 3);
	many[n - 2] = ']';
	many[n - 1] = '\0';
	refused(many, n - 1, "more than 16384 JSON objects", NULL);
	free(many);
	char *big = calloc(1, OCI_CONFIG_MAX_BYTES + 2);
	memset(big, ' ', OCI_CONFIG_MAX_BYTES + 1);
	refused(big, OCI_CONFIG_MAX_BYTES + 1, "larger than 4 MiB", NULL);
	free(big);
}

static void test_refusals_required(void **state)
{
	(void)state;
	refused_str("{}", "ociVersion", "missing");
	refused_str("{\"ociVersion\":1}", "ociVersion", "not a string");
	refused_str("{\"ociVersion\":\"\"}", "ociVersion", "empty");
	refused_str("{\"ociVersion\":\"1.0.0\"," MINIMAL_ROOT "}", "process", "missing");
	refused_str("{\"ociVersion\":\"1.0.0\",\"process\":[]," MINIMAL_ROOT "}", "process", "not an object");
	refused_str("{\"ociVersion\":\"1.0.0\"," MINIMAL_PROCESS "}", "root", "missing");
	refused_str("{\"ociVersion\":\"1.0.0\"," MINIMAL_PROCESS ",\"root\":{}}", "root.path", "missing");
	refused_str("{\"ociVersion\":\"1.0.0\"," MINIMAL_PROCESS ",\"root\":{\"path\":\"\"}}", "root.path", "empty");
	refused_str("{\"ociVersion\":\"1.0.0\"," MINIMAL_PROCESS ",\"root\":{\"path\":7}}", "root.path",
		    "not a string");
	refused_str("{\"ociVersion\":\"1.0.0\"," MINIMAL_PROCESS ",\"root\":{\"path\":\"r\",\"readonly\":1}}",
		    "root.readonly", "not true or false");

	refused_process("{\"args\":[\"sh\"],\"cwd\":\"/\"}", "process.user", "missing");
	refused_process("{\"user\":{\"gid\":0},\"args\":[\"sh\"],\"cwd\":\"/\"}", "process.user.uid", "missing");
	refused_process("{\"user\":{\"uid\":0},\"args\":[\"sh\"],\"cwd\":\"/\"}", "process.user.gid", "missing");
	refused_process("{\"user\":{\"uid\":0,\"gid\":0},\"cwd\":\"/\"}", "process.args", "missing");
	refused_process("{\"user\":{\"uid\":0,\"gid\":0},\"args\":[],\"cwd\":\"/\"}", "process.args", "empty");
	refused_process("{\"user\":{\"uid\":0,\"gid\":0},\"args\":\"sh\",\"cwd\":\"/\"}", "process.args",
			"not an array");
	refused_process("{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"\"],\"cwd\":\"/\"}", "process.args[0]", "empty");
	refused_process("{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\"]}", "process.cwd", "missing");
	refused_process("{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\"],\"cwd\":\"srv\"}", "process.cwd",
			"not an absolute path");
	refused_process("{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\"],\"cwd\":\"\"}", "process.cwd",
			"not an absolute path");
}

static void test_refusals_types_and_numbers(void **state)
{
	(void)state;
#define P(user, rest) "{\"user\":" user ",\"args\":[\"sh\"],\"cwd\":\"/\"" rest "}"
	refused_process(P("{\"uid\":0,\"gid\":0}", ",\"terminal\":\"yes\""), "process.terminal", "not true or false");
	refused_process(P("{\"uid\":0,\"gid\":0}", ",\"noNewPrivileges\":1"), "process.noNewPrivileges", NULL);
	refused_process(P("[0,0]", ""), "process.user", "not an object");
	refused_process(P("{\"uid\":-1,\"gid\":0}", ""), "process.user.uid", "must be 0..4294967295, not -1");
	refused_process(P("{\"uid\":4294967296,\"gid\":0}", ""), "process.user.uid", "not 4294967296");
	refused_process(P("{\"uid\":0,\"gid\":1.0}", ""), "process.user.gid", "not an integer");
	refused_process(P("{\"uid\":0,\"gid\":\"0\"}", ""), "process.user.gid", "not an integer");
	refused_process(P("{\"uid\":0,\"gid\":1e3}", ""), "process.user.gid", "not an integer");
	refused_process(P("{\"uid\":0,\"gid\":0,\"umask\":-18}", ""), "process.user.umask", "not -18");
	refused_process(P("{\"uid\":0,\"gid\":0,\"additionalGids\":[1,-2]}", ""), "process.user.additionalGids[1]",
			"not -2");
	refused_process(P("{\"uid\":0,\"gid\":0,\"additionalGids\":[1,\"wheel\"]}", ""),
			"process.user.additionalGids[1]", "not an integer");
	refused_process(P("{\"uid\":0,\"gid\":0,\"additionalGids\":5}", ""), "process.user.additionalGids",
			"not an array");
	/* Beyond 64 bits: not read as the nearest limit (json-c's way). */
	refused_process(P("{\"uid\":0,\"gid\":0}", ",\"rlimits\":[{\"type\":\"RLIMIT_CORE\",\"soft\":0,"
						"\"hard\":18446744073709551616}]"),
			"process.rlimits[0].hard", "not a number that large");
	refused_process(P("{\"uid\":99999999999999999999999999,\"gid\":0}", ""), "process.user.uid",
			"not a number that large");
	refused_process(P("{\"uid\":-9223372036854775809,\"gid\":0}", ""), "process.user.uid", "that large");
	refused_with("\"linux\":{\"resources\":{\"cpu\":{\"period\":18446744073709551616}}}",
		     "linux.resources.cpu.period", "that large");
	/* ...but the same digits in a string or an unknown field are nobody's business. */
	struct oci_config c;
	parse_ok("{\"ociVersion\":\"1.0.0\",\"x\":[18446744073709551616,-9223372036854775809,\"1844674407370955161600\"],"
		 MINIMAL_PROCESS "," MINIMAL_ROOT ",\"hostname\":\"18446744073709551616\"}", &c);
	assert_string_equal(c.hostname, "18446744073709551616");
	oci_config_free(&c);

	refused_with("\"hostname\":7", "hostname", "not a string");
	refused_with("\"mounts\":{}", "mounts", "not an array");
	refused_with("\"linux\":[]", "linux", "not an object");
	refused_with("\"linux\":{\"resources\":5}", "linux.resources", "not an object");
	refused_with("\"linux\":{\"resources\":{\"memory\":{\"limit\":-2}}}", "linux.resources.memory.limit",
		     "not -2");
	refused_with("\"linux\":{\"resources\":{\"memory\":{\"limit\":9223372036854775808}}}",
		     "linux.resources.memory.limit", "not 9223372036854775808");
	refused_with("\"linux\":{\"resources\":{\"memory\":{\"limit\":\"1g\"}}}", "linux.resources.memory.limit",
		     "not an integer");
	refused_with("\"linux\":{\"resources\":{\"memory\":[]}}", "linux.resources.memory", "not an object");
	refused_with("\"linux\":{\"resources\":{\"cpu\":{\"quota\":-5}}}", "linux.resources.cpu.quota", "not -5");
	refused_with("\"linux\":{\"resources\":{\"cpu\":{\"period\":-1}}}", "linux.resources.cpu.period", "not -1");
	refused_with("\"linux\":{\"resources\":{\"cpu\":{\"cpus\":3}}}", "linux.resources.cpu.cpus", "not a string");
	static const char *const bad_cpus[] = { "a", "1-", "-1", "3-1", "1,", ",1", "1,,2", "0-8192", "8192",
						"1 ,2", "0x1", "1-2-3", "99999999999999999999" };
	for (size_t i = 0; i < sizeof(bad_cpus) / sizeof(bad_cpus[0]); i++) {
		char m[200];
		snprintf(m, sizeof(m), "\"linux\":{\"resources\":{\"cpu\":{\"cpus\":\"%s\"}}}", bad_cpus[i]);
		refused_with(m, "linux.resources.cpu.cpus", "is not a list of CPUs");
	}
	refused_with("\"linux\":{\"namespaces\":{}}", "linux.namespaces", "not an array");
	refused_with("\"linux\":{\"namespaces\":[\"network\"]}", "linux.namespaces[0]", "not an object");
	refused_with("\"linux\":{\"namespaces\":[{\"path\":\"/x\"}]}", "linux.namespaces[0].type", "missing");
	refused_with("\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":1}]}", "linux.namespaces[0].path",
		     "not a string");
	refused_with("\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":\"run/netns/x\"}]}",
		     "linux.namespaces[0].path", "not an absolute path");
	refused_with("\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},{\"type\":\"network\","
		     "\"path\":\"/run/netns/a\"}]}", "linux.namespaces[2].type", "'network' given twice");
#undef P
}

static void test_refusals_lists(void **state)
{
	(void)state;
	char *buf = malloc(OCI_CONFIG_MAX_BYTES), *p;
	/* More than the caps. */
	p = buf + sprintf(buf, "{\"user\":{\"uid\":0,\"gid\":0},\"cwd\":\"/\",\"args\":[");
	for (int i = 0; i <= OCI_MAX_ARGS; i++)
		p += sprintf(p, "%s\"a\"", i ? "," : "");
	strcpy(p, "]}");
	refused_process(buf, "process.args", "more than 1024 entries");
	p = buf + sprintf(buf, "{\"user\":{\"uid\":0,\"gid\":0},\"cwd\":\"/\",\"args\":[\"sh\"],\"env\":[");
	for (int i = 0; i <= OCI_MAX_ENV; i++)
		p += sprintf(p, "%s\"A=1\"", i ? "," : "");
	strcpy(p, "]}");
	char *json = malloc(OCI_CONFIG_MAX_BYTES);
	snprintf(json, OCI_CONFIG_MAX_BYTES, "{\"ociVersion\":\"1.0.2\",\"process\":%s," MINIMAL_ROOT "}", buf);
	refused_str(json, "process.env", "more than 4096 entries");
	p = buf + sprintf(buf, "{\"user\":{\"uid\":0,\"gid\":0,\"additionalGids\":[");
	for (int i = 0; i <= OCI_MAX_GIDS; i++)
		p += sprintf(p, "%s%d", i ? "," : "", i);
	strcpy(p, "]},\"cwd\":\"/\",\"args\":[\"sh\"]}");
	refused_process(buf, "process.user.additionalGids", "more than 256 entries");
	p = buf + sprintf(buf, "\"mounts\":[");
	for (int i = 0; i <= OCI_MAX_MOUNTS; i++)
		p += sprintf(p, "%s{\"destination\":\"/m%d\"}", i ? "," : "", i);
	strcpy(p, "]");
	refused_with(buf, "mounts", "more than 128 entries");
	p = buf + sprintf(buf, "\"mounts\":[{\"destination\":\"/m\",\"options\":[");
	for (int i = 0; i <= 64; i++)
		p += sprintf(p, "%s\"o%d\"", i ? "," : "", i);
	strcpy(p, "]}]");
	refused_with(buf, "mounts[0].options", "more than 64 entries");
	p = buf + sprintf(buf, "{\"user\":{\"uid\":0,\"gid\":0},\"cwd\":\"/\",\"args\":[\"sh\"],\"rlimits\":[");
	for (int i = 0; i <= OCI_MAX_RLIMITS; i++)
		p += sprintf(p, "%s{\"type\":\"RLIMIT_CORE\",\"soft\":0,\"hard\":0}", i ? "," : "");
	strcpy(p, "]}");
	refused_process(buf, "process.rlimits", "more than 32 entries");

	/* Strings: too long, a NUL inside. */
	p = buf + sprintf(buf, "{\"user\":{\"uid\":0,\"gid\":0},\"cwd\":\"/\",\"args\":[\"sh\",\"");
	memset(p, 'x', OCI_MAX_STRING + 1);
	strcpy(p + OCI_MAX_STRING + 1, "\"]}");
	refused_process(buf, "process.args[1]", "longer than 4096 bytes");
	p[OCI_MAX_STRING + 1] = '\0';
	p[OCI_MAX_STRING] = '\0';
	strcat(buf, "\"]}"); /* exactly 4096: taken */
	snprintf(json, OCI_CONFIG_MAX_BYTES, "{\"ociVersion\":\"1.0.2\",\"process\":%s," MINIMAL_ROOT "}", buf);
	struct oci_config c;
	parse_ok(json, &c);
	assert_int_equal(strlen(c.args[1]), OCI_MAX_STRING);
	oci_config_free(&c);
	refused_process("{\"user\":{\"uid\":0,\"gid\":0},\"cwd\":\"/\",\"args\":[\"sh\",\"a\\u0000b\"]}", "process.args[1]",
			"contains a NUL byte");
	refused_process("{\"user\":{\"uid\":0,\"gid\":0},\"cwd\":\"/\",\"args\":[\"sh\",3]}", "process.args[1]",
			"not a string");
	refused_process("{\"user\":{\"uid\":0,\"gid\":0},\"cwd\":\"/\",\"args\":[\"sh\",null]}", "process.args[1]",
			"not a string");
	refused_process("{\"user\":{\"uid\":0,\"gid\":0},\"cwd\":\"/\\u0000x\",\"args\":[\"sh\"]}", "process.cwd",
			"contains a NUL byte");
	refused_with("\"hostname\":\"a\\u0000\"", "hostname", "NUL");

	/* env entries: KEY=VALUE. */
	refused_process("{\"user\":{\"uid\":0,\"gid\":0},\"cwd\":\"/\",\"args\":[\"sh\"],\"env\":[\"A=1\",\"PATH\"]}",
			"process.env[1]", "no '='");
	refused_process("{\"user\":{\"uid\":0,\"gid\":0},\"cwd\":\"/\",\"args\":[\"sh\"],\"env\":[\"=1\"]}",
			"process.env[0]", "no name");
	refused_process("{\"user\":{\"uid\":0,\"gid\":0},\"cwd\":\"/\",\"args\":[\"sh\"],\"env\":\"A=1\"}",
			"process.env", "not an array");

	/* Mounts. */
	refused_with("\"mounts\":[{\"destination\":\"/a\"},{\"destination\":\"dev/shm\"}]", "mounts[1].destination",
		     "not an absolute path");
	refused_with("\"mounts\":[{\"type\":\"tmpfs\"}]", "mounts[0].destination", "missing");
	refused_with("\"mounts\":[\"/a\"]", "mounts[0]", "not an object");
	refused_with("\"mounts\":[{\"destination\":\"/a\",\"type\":5}]", "mounts[0].type", "not a string");
	refused_with("\"mounts\":[{\"destination\":\"/a\",\"source\":[]}]", "mounts[0].source", "not a string");
	refused_with("\"mounts\":[{\"destination\":\"/a\",\"options\":\"ro\"}]", "mounts[0].options", "not an array");
	refused_with("\"mounts\":[{\"destination\":\"/a\",\"options\":[\"ro\",1]}]", "mounts[0].options[1]",
		     "not a string");

	/* Rlimits. */
#define R(list) "{\"user\":{\"uid\":0,\"gid\":0},\"cwd\":\"/\",\"args\":[\"sh\"],\"rlimits\":" list "}"
	static const char *const names[] = { "AS", "CORE", "CPU", "DATA", "FSIZE", "LOCKS", "MEMLOCK", "MSGQUEUE",
					     "NICE", "NOFILE", "NPROC", "RSS", "RTPRIO", "RTTIME", "SIGPENDING", "STACK" };
	static const int resources[] = { RLIMIT_AS, RLIMIT_CORE, RLIMIT_CPU, RLIMIT_DATA, RLIMIT_FSIZE, RLIMIT_LOCKS,
					 RLIMIT_MEMLOCK, RLIMIT_MSGQUEUE, RLIMIT_NICE, RLIMIT_NOFILE, RLIMIT_NPROC,
					 RLIMIT_RSS, RLIMIT_RTPRIO, RLIMIT_RTTIME, RLIMIT_SIGPENDING, RLIMIT_STACK };
	p = buf + sprintf(buf, "{\"ociVersion\":\"1.0.2\"," MINIMAL_ROOT ",\"process\":"
			  "{\"user\":{\"uid\":0,\"gid\":0},\"cwd\":\"/\",\"args\":[\"sh\"],\"rlimits\":[");
	for (int i = 0; i < 16; i++)
		p += sprintf(p, "%s{\"type\":\"RLIMIT_%s\",\"soft\":%d,\"hard\":%d}", i ? "," : "", names[i], i, 2 * i);
	strcpy(p, "]}}");
	parse_ok(buf, &c);
	assert_int_equal(c.nrlimits, 16);
	for (int i = 0; i < 16; i++) {
		assert_int_equal(c.rlimits[i].resource, resources[i]);
		assert_int_equal(c.rlimits[i].soft, i);
		assert_int_equal(c.rlimits[i].hard, 2 * i);
	}
	oci_config_free(&c);
	refused_process(R("[{\"type\":\"RLIMIT_FOO\",\"soft\":1,\"hard\":1}]"), "process.rlimits[0].type",
			"'RLIMIT_FOO' is not a Linux rlimit");
	refused_process(R("[{\"type\":\"rlimit_nofile\",\"soft\":1,\"hard\":1}]"), "process.rlimits[0].type",
			"not a Linux rlimit");
	refused_process(R("[{\"type\":\"RLIMIT_NOFILE\\u0000\",\"soft\":1,\"hard\":1}]"), "process.rlimits[0].type",
			"NUL");
	refused_process(R("[{\"type\":\"RLIMIT_NOFILE\",\"soft\":2,\"hard\":1}]"), "process.rlimits[0].soft",
			"2 is above the hard limit 1");
	refused_process(R("[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":1},{\"type\":\"RLIMIT_NPROC\",\"soft\":1,"
			  "\"hard\":1},{\"type\":\"RLIMIT_NOFILE\",\"soft\":2,\"hard\":2}]"),
			"process.rlimits[2].type", "RLIMIT_NOFILE given twice");
	refused_process(R("[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1}]"), "process.rlimits[0].soft", "missing");
	refused_process(R("[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1}]"), "process.rlimits[0].hard", "missing");
	refused_process(R("[{\"soft\":1,\"hard\":1}]"), "process.rlimits[0].type", "missing");
	refused_process(R("[{\"type\":\"RLIMIT_NOFILE\",\"soft\":-1,\"hard\":1}]"), "process.rlimits[0].soft",
			"not -1");
	refused_process(R("[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":1.5}]"), "process.rlimits[0].hard",
			"not an integer");
	refused_process(R("[\"RLIMIT_NOFILE\"]"), "process.rlimits[0]", "not an object");
	refused_process(R("{}"), "process.rlimits", "not an array");
#undef R
	free(json);
	free(buf);
}

static void test_cpus(void **state)
{
	(void)state;
	struct oci_config c = { 0 };
	assert_int_equal(oci_config_cpus(&c), 0); /* zeroed: nothing asked */
	c.cpu_quota = 100000;
	c.cpu_period = 100000;
	assert_int_equal(oci_config_cpus(&c), 1);
	c.cpu_quota = 100001;
	assert_int_equal(oci_config_cpus(&c), 2);
	c.cpu_quota = 50000;
	assert_int_equal(oci_config_cpus(&c), 1);
	c.cpu_quota = 400000;
	assert_int_equal(oci_config_cpus(&c), 4);
	c.cpu_quota = INT64_MAX;
	c.cpu_period = 1;
	assert_int_equal(oci_config_cpus(&c), UINT32_MAX); /* at most UINT_MAX */
	c.cpu_quota = 0;
	assert_int_equal(oci_config_cpus(&c), 0);
	/* The quota without a period (or the other way) leaves the cpuset. */
	char cpus[32] = "0-3,5";
	c.cpuset_cpus = cpus;
	assert_int_equal(oci_config_cpus(&c), 5);
	c.cpu_quota = 200000;
	c.cpu_period = 0;
	assert_int_equal(oci_config_cpus(&c), 5);
	c.cpu_period = 100000;
	assert_int_equal(oci_config_cpus(&c), 2); /* the quota first */
	c.cpu_quota = 0;
	static const struct {
		const char *s;
		unsigned n;
	} sets[] = { { "", 0 }, { "0", 1 }, { "7", 1 }, { "0-3", 4 }, { "0-3,5", 5 }, { "0,1,2", 3 },
		     { "0-3,2-5", 6 }, { "3,3,3", 1 }, { "0-8191", 8192 }, { "8191", 1 }, { "x", 0 }, { "1-", 0 } };
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		snprintf(cpus, sizeof(cpus), "%s", sets[i].s);
		if (oci_config_cpus(&c) != sets[i].n)
			fail_msg("'%s': %u CPUs, not %u", sets[i].s, oci_config_cpus(&c), sets[i].n);
	}

	/* Through the parser. */
	struct oci_config p;
	parse_ok("{\"ociVersion\":\"1.0.0\"," MINIMAL_PROCESS "," MINIMAL_ROOT
		 ",\"linux\":{\"resources\":{\"cpu\":{\"quota\":250000,\"period\":100000,\"cpus\":\"0-7\"}}}}", &p);
	assert_int_equal(oci_config_cpus(&p), 3);
	oci_config_free(&p);
	parse_ok("{\"ociVersion\":\"1.0.0\"," MINIMAL_PROCESS "," MINIMAL_ROOT
		 ",\"linux\":{\"resources\":{\"cpu\":{\"quota\":250000,\"cpus\":\"0-7\"}}}}", &p);
	assert_int_equal(oci_config_cpus(&p), 8);
	oci_config_free(&p);
	parse_ok("{\"ociVersion\":\"1.0.0\"," MINIMAL_PROCESS "," MINIMAL_ROOT
		 ",\"linux\":{\"resources\":{\"cpu\":{\"shares\":1024}}}}", &p);
	assert_int_equal(oci_config_cpus(&p), 0);
	oci_config_free(&p);
}

static char bundle[64];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void test_load(void **state)
{
	(void)state;
	char path[128], other[128], withslash[80];
	struct oci_config c;
	struct nv_err err = { 0 };
	snprintf(bundle, sizeof(bundle), "/tmp/nv-oci-XXXXXX");
	assert_non_null(mkdtemp(bundle));
	snprintf(path, sizeof(path), "%s/config.json", bundle);

	/* Missing. */
	assert_int_equal(oci_config_load(bundle, &c, &err), -1);
	assert_int_equal(err.kind, NV_ERR_INPUT);
	assert_true(!strncmp(err.msg, path, strlen(path)));
	assert_contains(err.msg, "No such file");
	oci_config_free(&c);

	write_file(path, PODMAN);
	assert_int_equal(oci_config_load(bundle, &c, &err), 0);
	assert_string_equal(c.hostname, "3f4c2a1b9e8d");
	assert_int_equal(c.nmounts, 10);
	oci_config_free(&c);
	snprintf(withslash, sizeof(withslash), "%s/", bundle);
	assert_int_equal(oci_config_load(withslash, &c, &err), 0);
	oci_config_free(&c);

	/* A refusal names the file's path. */
	write_file(path, "{\"ociVersion\":\"1.0.0\",\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\",1],"
			 "\"cwd\":\"/\"},\"root\":{\"path\":\"rootfs\"}}");
	assert_int_equal(oci_config_load(bundle, &c, &err), -1);
	char want[200];
	snprintf(want, sizeof(want), "%s: process.args[1]: not a string", path);
	assert_string_equal(err.msg, want);

	/* A symbolic link, even to a good file, is not followed. */
	snprintf(other, sizeof(other), "%s/real.json", bundle);
	write_file(other, PODMAN);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("real.json", path), 0);
	assert_int_equal(oci_config_load(bundle, &c, &err), -1);
	assert_true(!strncmp(err.msg, path, strlen(path)));
	assert_contains(err.msg, "symbolic link");
	assert_int_equal(unlink(path), 0);

	/* Not a regular file: a directory, a FIFO (no hang). */
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(oci_config_load(bundle, &c, &err), -1);
	assert_contains(err.msg, "not a regular file");
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(oci_config_load(bundle, &c, &err), -1);
	assert_contains(err.msg, "not a regular file");
	assert_int_equal(unlink(path), 0);

	/* Larger than the limit (sparse), and exactly at it (parsed: white
	 * space after the object). */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, OCI_CONFIG_MAX_BYTES + 1), 0);
	close(fd);
	assert_int_equal(oci_config_load(bundle, &c, &err), -1);
	assert_true(!strncmp(err.msg, path, strlen(path)));
	assert_contains(err.msg, "larger than 4 MiB");
	char *full = malloc(OCI_CONFIG_MAX_BYTES);
	memset(full, '\n', OCI_CONFIG_MAX_BYTES);
	memcpy(full, PODMAN, strlen(PODMAN));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, full, OCI_CONFIG_MAX_BYTES), OCI_CONFIG_MAX_BYTES);
	close(fd);
	free(full);
	assert_int_equal(oci_config_load(bundle, &c, &err), 0);
	assert_int_equal(c.nargs, 3);
	oci_config_free(&c);

	/* An empty file, a NUL inside. */
	write_file(path, "");
	assert_int_equal(oci_config_load(bundle, &c, &err), -1);
	assert_contains(err.msg, "empty");
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "{\0}", 3), 3);
	close(fd);
	assert_int_equal(oci_config_load(bundle, &c, &err), -1);
	assert_contains(err.msg, "NUL byte");

	assert_int_equal(oci_config_load("", &c, &err), -1);
	unlink(path);
	unlink(other);
	assert_int_equal(rmdir(bundle), 0);
}

static void test_free_partial(void **state)
{
	(void)state;
	struct oci_config c = { 0 };
	oci_config_free(&c);
	oci_config_free(&c);
	oci_config_free(NULL);
	/* Partly filled, as a caller building one by hand may leave it. */
	c.args = calloc(3, sizeof(char *));
	c.args[0] = strdup("sh");
	c.nargs = 3;
	c.mounts = calloc(2, sizeof(*c.mounts));
	c.mounts[0].destination = strdup("/x");
	c.mounts[0].options = calloc(1, sizeof(char *));
	c.mounts[0].noptions = 1;
	c.nmounts = 2;
	c.hostname = strdup("h");
	oci_config_free(&c);
	assert_null(c.args);
	assert_null(c.mounts);
	assert_int_equal(c.nmounts, 0);
	oci_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_podman),
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_refusals_text),
		cmocka_unit_test(test_refusals_required),
		cmocka_unit_test(test_refusals_types_and_numbers),
		cmocka_unit_test(test_refusals_lists),
		cmocka_unit_test(test_cpus),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_free_partial),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
