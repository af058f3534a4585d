/* A switch's config.json: subnet and forward parsing, validation of the
 * fields against each other, atomic write and read back, and corrupt or
 * hand-edited files (each error names the file and the field). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/switch_config.h"

static void assert_contains(const char *s, const char *sub)
{
	if (!strstr(s, sub))
		fail_msg("'%s' does not contain '%s'", s, sub);
}

static void test_subnet_parse(void **state)
{
	(void)state;
	uint32_t net;
	unsigned pl;
	struct nv_err e = { 0 };
	assert_int_equal(switch_subnet_parse("192.168.100.0/24", &net, &pl, &e), 0);
	assert_int_equal(net, 0xc0a86400);
	assert_int_equal(pl, 24);
	assert_int_equal(switch_subnet_parse("10.0.0.0/8", &net, &pl, &e), 0);
	assert_int_equal(switch_subnet_parse("10.1.2.4/30", &net, &pl, &e), 0);
	char out[19];
	switch_subnet_format(net, pl, out);
	assert_string_equal(out, "10.1.2.4/30");

	assert_int_equal(switch_subnet_parse("192.168.100.1/24", &net, &pl, &e), -1);
	assert_contains(e.msg, "host bits");
	assert_contains(e.msg, "192.168.100.0/24");
	assert_int_equal(switch_subnet_parse("10.0.0.0/7", &net, &pl, &e), -1);
	assert_contains(e.msg, "8..30");
	assert_int_equal(switch_subnet_parse("10.0.0.0/31", &net, &pl, &e), -1);
	assert_int_equal(switch_subnet_parse("10.0.0.0/", &net, &pl, &e), -1);
	assert_int_equal(switch_subnet_parse("10.0.0.0/24x", &net, &pl, &e), -1);
	assert_int_equal(switch_subnet_parse("10.0.0.0", &net, &pl, &e), -1);
	assert_int_equal(switch_subnet_parse("300.0.0.0/24", &net, &pl, &e), -1);
	assert_contains(e.msg, "not an IPv4 address");
	assert_int_equal(switch_subnet_parse("", &net, &pl, &e), -1);
	assert_int_equal(switch_subnet_parse(NULL, &net, &pl, &e), -1);
	assert_int_equal(e.kind, NV_ERR_INPUT);
}

static void test_forward_parse(void **state)
{
	(void)state;
	uint32_t net = 0xc0a86400;
	struct nat_forward f;
	struct nv_err e = { 0 };
	assert_int_equal(switch_forward_parse("tcp:8080:192.168.100.15:80", net, 24, &f, &e), 0);
	assert_int_equal(f.udp, 0);
	assert_int_equal(f.host_port, 8080);
	assert_int_equal(f.guest_ip, 0xc0a8640f);
	assert_int_equal(f.guest_port, 80);
	/* No host address: the host's loopback only, and the format says so. */
	assert_int_equal(f.host_ip, 0x7f000001);
	char s[64];
	switch_forward_format(&f, s, sizeof(s));
	assert_string_equal(s, "tcp:127.0.0.1:8080:192.168.100.15:80");
	assert_int_equal(switch_forward_parse("udp:53:192.168.100.2:5353", net, 24, &f, &e), 0);
	assert_int_equal(f.udp, 1);
	/* An address given: every address, or one of the host's. */
	assert_int_equal(switch_forward_parse("tcp:0.0.0.0:8080:192.168.100.15:80", net, 24, &f, &e), 0);
	assert_int_equal(f.host_ip, 0);
	assert_int_equal(f.host_port, 8080);
	switch_forward_format(&f, s, sizeof(s));
	assert_string_equal(s, "tcp:0.0.0.0:8080:192.168.100.15:80");
	assert_int_equal(switch_forward_parse("udp:10.1.2.3:53:192.168.100.2:5353", net, 24, &f, &e), 0);
	assert_int_equal(f.host_ip, 0x0a010203);
	assert_int_equal(f.guest_port, 5353);

	static const struct {
		const char *s, *msg;
	} bad[] = {
		{ "sctp:1:192.168.100.15:80", "protocol" },
		{ "tcp:0:192.168.100.15:80", "host port" },
		{ "tcp:65536:192.168.100.15:80", "host port" },
		{ "tcp:80:192.168.100.15:0", "guest port" },
		{ "tcp:80:192.168.100.15:", "guest port" },
		{ "tcp:80:10.0.0.1:80", "not a host address in the subnet 192.168.100.0/24" },
		{ "tcp:80:192.168.100.0:80", "not a host address" },
		{ "tcp:80:192.168.100.255:80", "not a host address" },
		{ "tcp:80:host:80", "not an IPv4 address" },
		{ "tcp:80:192.168.100.15", "PROTO:[HOSTADDR:]HOSTPORT:GUESTIP:GUESTPORT" },
		{ "tcp:80:192.168.100.15:80:1", "host address '80'" },
		{ "tcp:localhost:80:192.168.100.15:80", "host address 'localhost'" },
		{ "tcp:0.0.0.0:0:192.168.100.15:80", "host port" },
		{ "tcp:1.2.3.4:80:192.168.100.15:80:1", "too many" },
		{ "tcp", "PROTO:[HOSTADDR:]HOSTPORT" },
		{ "", "PROTO:[HOSTADDR:]HOSTPORT" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e.msg[0] = '\0';
		assert_int_equal(switch_forward_parse(bad[i].s, net, 24, &f, &e), -1);
		assert_contains(e.msg, bad[i].msg);
	}
	char longs[200];
	memset(longs, '1', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	assert_int_equal(switch_forward_parse(longs, net, 24, &f, &e), -1);
}

static void test_validate(void **state)
{
	(void)state;
	struct nv_err e = { 0 };
	struct switch_config c = { .name = "lan", .type = SWITCH_NAT };
	assert_int_equal(switch_config_validate(&c, &e), 0);
	assert_true(c.has_subnet);
	assert_int_equal(c.network, 0xc0a86400);

	struct switch_config p = { .name = "lan", .type = SWITCH_PRIVATE, .has_subnet = true };
	assert_int_equal(switch_config_validate(&p, &e), -1);
	assert_contains(e.msg, "--subnet");
	struct switch_config x = { .name = "lan", .type = SWITCH_EXTERNAL };
	assert_int_equal(switch_config_validate(&x, &e), -1);
	assert_contains(e.msg, "--interface");
	strcpy(x.interface, "eth0");
	assert_int_equal(switch_config_validate(&x, &e), 0);
	struct switch_config i = { .name = "lan", .type = SWITCH_INTERNAL, .nforwards = 1 };
	assert_int_equal(switch_config_validate(&i, &e), -1);
	assert_contains(e.msg, "--forward");
	struct switch_config n = { .name = "-lan", .type = SWITCH_PRIVATE };
	assert_int_equal(switch_config_validate(&n, &e), -1);
	assert_contains(e.msg, "not a valid switch name");

	struct switch_config d = { .name = "lan", .type = SWITCH_NAT };
	assert_int_equal(switch_config_validate(&d, &e), 0);
	assert_int_equal(switch_forward_parse("tcp:80:192.168.100.15:80", d.network, d.prefix_len,
					      &d.forwards[0], &e), 0);
	d.forwards[1] = d.forwards[0];
	d.forwards[1].guest_port = 81;
	d.nforwards = 2;
	assert_int_equal(switch_config_validate(&d, &e), -1);
	assert_contains(e.msg, "twice");
	d.forwards[1].udp = 1;
	assert_int_equal(switch_config_validate(&d, &e), 0);
}

static void test_type_names(void **state)
{
	(void)state;
	enum switch_type t;
	assert_int_equal(switch_type_parse("external", &t), 0);
	assert_int_equal(t, SWITCH_EXTERNAL);
	assert_string_equal(switch_type_name(SWITCH_NAT), "nat");
	assert_int_equal(switch_type_parse("bridge", &t), -1);
	assert_int_equal(switch_type_parse(NULL, &t), -1);
	assert_true(switch_ifname_valid("eth0"));
	assert_false(switch_ifname_valid("a/b"));
	assert_false(switch_ifname_valid("sixteen-chars-xx"));
	assert_false(switch_ifname_valid(""));
	assert_false(switch_ifname_valid(".."));
}

static void test_parse_valid(void **state)
{
	(void)state;
	struct switch_config c;
	struct nv_err e = { 0 };
	assert_int_equal(switch_config_parse("{\"version\":1,\"name\":\"a\",\"type\":\"private\"}", "f",
					     &c, &e), 0);
	assert_int_equal(c.type, SWITCH_PRIVATE);
	assert_false(c.has_subnet);
	assert_int_equal(switch_config_parse("{\"version\":1,\"name\":\"n\",\"type\":\"nat\","
					     "\"forwards\":[\"tcp:8080:192.168.100.15:80\"]}", "f", &c, &e), 0);
	assert_true(c.has_subnet);
	assert_int_equal(c.nforwards, 1);
	assert_int_equal(switch_config_parse("{\"version\":1,\"name\":\"n\",\"type\":\"nat\","
					     "\"subnet\":\"10.9.0.0/16\",\"forwards\":[\"udp:1:10.9.3.4:2\"]}",
					     "f", &c, &e), 0);
	assert_int_equal(c.forwards[0].guest_ip, 0x0a090304);
	assert_false(c.host_loopback); /* absent: off */
	assert_int_equal(switch_config_parse("{\"version\":1,\"name\":\"n\",\"type\":\"nat\","
					     "\"host_loopback\":true}", "f", &c, &e), 0);
	assert_true(c.host_loopback);
	assert_int_equal(switch_config_parse("{\"version\":1,\"name\":\"i\",\"type\":\"internal\","
					     "\"subnet\":\"10.9.0.0/16\"}", "f", &c, &e), 0);
	assert_int_equal(switch_config_parse("{\"version\":1,\"name\":\"x\",\"type\":\"external\","
					     "\"interface\":\"eth0\"}", "f", &c, &e), 0);
	assert_string_equal(c.interface, "eth0");
}

static void test_parse_invalid_names_field(void **state)
{
	(void)state;
	static const struct {
		const char *json, *field;
	} bad[] = {
		{ "{\"version\":2,\"name\":\"a\",\"type\":\"private\"}", "'version'" },
		{ "{\"version\":\"1\",\"name\":\"a\",\"type\":\"private\"}", "'version'" },
		{ "{\"name\":\"a\",\"type\":\"private\"}", "'version'" },
		{ "{\"version\":1,\"name\":\"../x\",\"type\":\"private\"}", "'name'" },
		{ "{\"version\":1,\"name\":5,\"type\":\"private\"}", "'name'" },
		{ "{\"version\":1,\"name\":\"a\",\"type\":\"bridge\"}", "'type'" },
		{ "{\"version\":1,\"name\":\"a\"}", "'type'" },
		{ "{\"version\":1,\"name\":\"a\",\"type\":\"nat\",\"subnet\":\"10.0.0.1/8\"}", "'subnet'" },
		{ "{\"version\":1,\"name\":\"a\",\"type\":\"nat\",\"subnet\":7}", "'subnet'" },
		{ "{\"version\":1,\"name\":\"a\",\"type\":\"external\",\"interface\":\"a b\"}", "'interface'" },
		{ "{\"version\":1,\"name\":\"a\",\"type\":\"external\",\"interface\":[]}", "'interface'" },
		{ "{\"version\":1,\"name\":\"a\",\"type\":\"nat\",\"forwards\":\"tcp:1:192.168.100.9:1\"}", "'forwards'" },
		{ "{\"version\":1,\"name\":\"a\",\"type\":\"nat\",\"forwards\":[1]}", "'forwards'" },
		{ "{\"version\":1,\"name\":\"a\",\"type\":\"nat\",\"forwards\":[\"tcp:1:10.0.0.9:1\"]}", "'forwards'" },
		{ "{\"version\":1,\"name\":\"a\",\"type\":\"private\",\"forwards\":[]}", "'forwards'" },
		{ "{\"version\":1,\"name\":\"a\",\"type\":\"private\",\"colour\":\"red\"}", "'colour'" },
		{ "{\"version\":1,\"name\":\"a\",\"type\":\"nat\",\"host_loopback\":1}", "'host_loopback'" },
		{ "{\"version\":1,\"name\":\"a\",\"type\":\"private\",\"host_loopback\":true}", "--host-loopback" },
		{ "{\"version\":1,\"name\":\"a\",\"type\":\"external\"}", "--interface" },
		{ "{\"version\":1,\"name\":\"a\",\"type\":\"private\",\"subnet\":\"10.0.0.0/8\"}", "--subnet" },
		{ "[1,2]", "not a JSON object" },
		{ "{\"version\":1,", "not a JSON object" },
		{ "", "not a JSON object" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct switch_config c;
		struct nv_err e = { 0 };
		if (switch_config_parse(bad[i].json, "/x/config.json", &c, &e) != -1)
			fail_msg("accepted %s", bad[i].json);
		assert_contains(e.msg, "/x/config.json: ");
		assert_contains(e.msg, bad[i].field);
		assert_null(strchr(e.msg, '\n'));
		assert_int_equal(e.kind, NV_ERR_INPUT);
	}
}

static void test_save_load_round_trip_and_corrupt(void **state)
{
	(void)state;
	char dir[] = "/tmp/nv-swcfg-XXXXXX", path[256], tmp[300];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/config.json", dir);
	struct switch_config c = { .name = "web", .type = SWITCH_NAT }, back;
	struct nv_err e = { 0 };
	assert_int_equal(switch_subnet_parse("10.20.0.0/16", &c.network, &c.prefix_len, &e), 0);
	c.has_subnet = true;
	assert_int_equal(switch_forward_parse("tcp:8080:10.20.0.15:80", c.network, c.prefix_len,
					      &c.forwards[0], &e), 0);
	assert_int_equal(switch_forward_parse("udp:5353:10.20.1.1:53", c.network, c.prefix_len,
					      &c.forwards[1], &e), 0);
	c.nforwards = 2;
	c.host_loopback = true;
	assert_int_equal(switch_config_save(path, &c, &e), 0);
	assert_int_equal(switch_config_load(path, &back, &e), 0);
	assert_string_equal(back.name, "web");
	assert_int_equal(back.type, SWITCH_NAT);
	assert_int_equal(back.network, c.network);
	assert_int_equal(back.prefix_len, 16);
	assert_int_equal(back.nforwards, 2);
	assert_memory_equal(back.forwards, c.forwards, 2 * sizeof(c.forwards[0]));
	assert_true(back.host_loopback);
	/* No temporary file left behind. */
	snprintf(tmp, sizeof(tmp), "%s/config.json.tmp.%d", dir, (int)getpid());
	assert_int_not_equal(access(tmp, F_OK), 0);

	/* Overwrite is atomic (replaces), then corrupt it by hand. */
	struct switch_config p = { .name = "web", .type = SWITCH_PRIVATE };
	assert_int_equal(switch_config_save(path, &p, &e), 0);
	assert_int_equal(switch_config_load(path, &back, &e), 0);
	assert_int_equal(back.type, SWITCH_PRIVATE);
	FILE *f = fopen(path, "w");
	fputs("{\"version\":1,\"name\":\"web\",\"ty", f);
	fclose(f);
	assert_int_equal(switch_config_load(path, &back, &e), -1);
	assert_contains(e.msg, path);
	f = fopen(path, "w");
	fwrite("{\0}", 1, 3, f);
	fclose(f);
	assert_int_equal(switch_config_load(path, &back, &e), -1);
	assert_contains(e.msg, path);
	unlink(path);
	assert_int_equal(switch_config_load(path, &back, &e), -1);
	assert_contains(e.msg, "No such file");
	rmdir(dir);
	/* An unwritable place is a clean error. */
	assert_int_equal(switch_config_save("/nonexistent-dir/config.json", &p, &e), -1);
	assert_contains(e.msg, "cannot write");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subnet_parse),
		cmocka_unit_test(test_forward_parse),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_invalid_names_field),
		cmocka_unit_test(test_save_load_round_trip_and_corrupt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
