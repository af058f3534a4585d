/* cloud-init's NoCloud documents and the checks of what the user gives for
 * them: host names (RFC 1123), OpenSSH public key files (a private key, a
 * key under another type, a cut key refused with the line named), the
 * meta-data and the generated user-data, and the seed's settings in the
 * VM record (round trip, strict parsing, the disk it takes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "mgmt/cloud_init.h"
#include "mgmt/vm_config.h"

#define ED25519 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA8YHIBx8Dktr7A1xi587AnCevN7W2l6H9f8qIZ4BeB8 me@host \"x\""
#define RSA "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQChYZd7qHQudsBQl+sz8SofZ6EBhcs1NlgynvbxW1adFwS6NtK/0CkLj1m4qWhH4OaUNZY1eQEmkcOo8GCx/p2a74XTJyq4wdhcJqEl+fkNLG+7w99qbYgbYkYusAVEX5IN8SPU7fRvwpvC3YX0h8m3YViKVj/ftklcxuBuoh7FwQ== r"

static void assert_contains(const char *s, const char *sub)
{
	if (!strstr(s, sub))
		fail_msg("'%s' does not contain '%s'", s, sub);
}

static void good_host(const char *h)
{
	struct nv_err err = { 0 };
	if (cloud_init_hostname_check(h, &err) != 0)
		fail_msg("'%s' refused: %s", h, err.msg);
}

static void bad_host(const char *h, const char *why)
{
	struct nv_err err = { 0 };
	assert_int_equal(cloud_init_hostname_check(h, &err), -1);
	assert_int_equal(err.kind, NV_ERR_INPUT);
	assert_contains(err.msg, why);
	assert_null(strchr(err.msg, '\n'));
}

static void test_hostnames(void **state)
{
	char label63[64], long_name[300];
	memset(label63, 'a', 63);
	label63[63] = '\0';
	good_host("web1");
	good_host("a");
	good_host("123"); /* RFC 1123 allows a digit first */
	good_host("db-2.internal.example.com");
	good_host(label63);
	snprintf(long_name, sizeof(long_name), "%s.%s.%s.%.61s", label63, label63, label63, label63); /* 253 */
	good_host(long_name);

	bad_host("", "empty");
	bad_host("web_1", "'_'");
	bad_host("web 1", "' '");
	bad_host("a..b", "empty label");
	bad_host(".a", "empty label");
	bad_host("a.", "empty label");
	bad_host("-web", "starting or ending with '-'");
	bad_host("web-", "starting or ending with '-'");
	bad_host("web\n1", "'?'"); /* a control character is not echoed */
	char label64[66];
	memset(label64, 'b', 64);
	label64[64] = '\0';
	bad_host(label64, "longer than 63");
	snprintf(long_name, sizeof(long_name), "%s.%s.%s.%.62s", label63, label63, label63, label63); /* 254 */
	bad_host(long_name, "at most 253");
}

static int keys(const char *text, struct nv_err *err)
{
	return cloud_init_ssh_keys_check(text, strlen(text), err);
}

static void bad_keys(const char *text, const char *why)
{
	struct nv_err err = { 0 };
	assert_int_equal(keys(text, &err), -1);
	assert_int_equal(err.kind, NV_ERR_INPUT);
	assert_contains(err.msg, why);
	assert_null(strchr(err.msg, '\n'));
}

static void test_ssh_keys(void **state)
{
	struct nv_err err = { 0 };
	assert_int_equal(keys(ED25519 "\n", &err), 0);
	assert_int_equal(keys(ED25519, &err), 0); /* no final newline */
	assert_int_equal(keys(RSA "\n", &err), 0);
	assert_int_equal(keys("# mine\n\n" ED25519 "\r\n  " RSA "\n\n", &err), 0);
	/* No comment at all is a key too. */
	assert_int_equal(keys("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA8YHIBx8Dktr7A1xi587AnCevN7W2l6H9f8qIZ4BeB8", &err), 0);

	bad_keys("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
		 "private key");
	bad_keys("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n", "private key");
	bad_keys("", "no public key");
	bad_keys("# only a comment\n\n", "no public key");
	bad_keys("#cloud-config\npackages: [htop]\n", "line 2 is not an OpenSSH public key");
	bad_keys(ED25519 "\nssh-foo AAAA me\n", "line 2");
	/* An ed25519 key under the RSA type; a key cut short; not base64. */
	bad_keys("ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIA8YHIBx8Dktr7A1xi587AnCevN7W2l6H9f8qIZ4BeB8 x", "not a base64 ssh-rsa key");
	bad_keys("ssh-ed25519 AAAAC3Nz x", "line 1");
	bad_keys("ssh-ed25519 AAAA!3NzaC1lZDI1NTE5AAAAIA8YHIBx8Dktr7A1xi587AnCevN7W2l6H9f8qIZ4BeB8", "line 1");
	bad_keys("ssh-ed25519", "line 1");
	bad_keys(ED25519 " \x1b[2J", "control character");
	assert_int_equal(cloud_init_ssh_keys_check(ED25519 "\0more", sizeof(ED25519 "\0more") - 1, &err), -1);
	assert_contains(err.msg, "NUL");
}

static void test_instance_id(void **state)
{
	const uint8_t r[8] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
	char id[VM_INSTANCE_ID_MAX + 1];
	cloud_init_instance_id("web1", r, id, sizeof(id));
	assert_string_equal(id, "nestvm-web1-0123456789abcdef");
	char name[VM_NAME_MAX + 1];
	memset(name, 'n', VM_NAME_MAX);
	name[VM_NAME_MAX] = '\0';
	cloud_init_instance_id(name, r, id, sizeof(id)); /* the longest name fits */
	assert_int_equal(strlen(id), strlen("nestvm-") + VM_NAME_MAX + 17);
}

static void test_meta_data(void **state)
{
	struct cloud_init_inputs in = { .instance_id = "nestvm-web1-00", .hostname = "web1.example",
					.ssh_keys = "# c\n" ED25519 "\n" RSA "\n", .user_data_given = true };
	char *m = cloud_init_meta_data(&in);
	assert_non_null(m);
	assert_contains(m, "instance-id: \"nestvm-web1-00\"\n");
	assert_contains(m, "local-hostname: \"web1.example\"\n");
	/* The user's own user-data is left as is: the keys go here, quoted. */
	assert_contains(m, "public-keys:\n  - \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA8YHIBx8Dktr7A1xi587AnCevN7W2l6H9f8qIZ4BeB8 me@host \\\"x\\\"\"\n  - \"ssh-rsa ");
	assert_null(strstr(m, "# c"));
	free(m);

	in.user_data_given = false; /* then the generated user-data has them */
	in.hostname = "";
	m = cloud_init_meta_data(&in);
	assert_string_equal(m, "instance-id: \"nestvm-web1-00\"\n");
	free(m);
}

static void test_user_data(void **state)
{
	struct cloud_init_inputs in = { .instance_id = "i", .hostname = "web1", .ssh_keys = ED25519 "\n" };
	char *u = cloud_init_user_data(&in);
	assert_non_null(u);
	assert_int_equal(strncmp(u, "#cloud-config\n", 14), 0);
	assert_contains(u, "\nhostname: \"web1\"\n");
	assert_contains(u, "\nssh_authorized_keys:\n  - \"ssh-ed25519 AAAAC3Nza");
	free(u);

	in.ssh_keys = NULL; /* a host name alone */
	u = cloud_init_user_data(&in);
	assert_contains(u, "hostname: \"web1\"\n");
	assert_null(strstr(u, "ssh_authorized_keys"));
	free(u);

	in.ssh_keys = RSA;
	in.hostname = NULL; /* a key alone */
	u = cloud_init_user_data(&in);
	assert_null(strstr(u, "hostname"));
	assert_contains(u, "  - \"ssh-rsa ");
	free(u);
}

static void seeded(struct vm_record *r)
{
	memset(r, 0, sizeof(*r));
	vm_config_defaults(&r->config, "web1");
	struct vm_cloud_init *ci = &r->config.cloud_init;
	snprintf(ci->user_data, sizeof(ci->user_data), "/home/u/user-data");
	snprintf(ci->hostname, sizeof(ci->hostname), "web1");
	snprintf(ci->instance_id, sizeof(ci->instance_id), "nestvm-web1-0123456789abcdef");
	snprintf(ci->seed, sizeof(ci->seed), "/h/vms/web1/cloud-init/seed.iso");
}

static int parse(const char *text, struct vm_record *r, struct nv_err *err)
{
	return vm_record_parse_text(text, strlen(text), "vm.json", r, err);
}

static void test_record(void **state)
{
	struct vm_record r, back;
	struct nv_err err = { 0 };
	seeded(&r);
	assert_true(vm_config_has_seed(&r.config));
	assert_int_equal(vm_config_validate(&r.config, "web1", &err), 0);
	struct json_object *doc = vm_record_to_json(&r);
	const char *text = json_object_to_json_string(doc);
	assert_contains(text, "\"cloud_init\"");
	assert_int_equal(parse(text, &back, &err), 0);
	assert_memory_equal(&back.config.cloud_init, &r.config.cloud_init, sizeof(r.config.cloud_init));

	/* A record without a seed stores none, and reads back as none. */
	struct vm_record plain;
	memset(&plain, 0, sizeof(plain));
	vm_config_defaults(&plain.config, "web2");
	struct json_object *pdoc = vm_record_to_json(&plain);
	assert_null(strstr(json_object_to_json_string(pdoc), "cloud_init"));
	assert_int_equal(parse(json_object_to_json_string(pdoc), &back, &err), 0);
	assert_false(vm_config_has_seed(&back.config));
	json_object_put(pdoc);

	/* Strict: an unknown field, a missing seed, a bad host name. */
	struct json_object *cfg, *ci;
	json_object_object_get_ex(doc, "config", &cfg);
	json_object_object_get_ex(cfg, "cloud_init", &ci);
	json_object_object_add(ci, "vendor_data", json_object_new_string("x"));
	assert_int_equal(parse(json_object_to_json_string(doc), &back, &err), -1);
	assert_contains(err.msg, "vm.json: config.cloud_init.vendor_data: unknown field");
	json_object_object_del(ci, "vendor_data");
	json_object_object_add(ci, "seed", json_object_new_string(""));
	assert_int_equal(parse(json_object_to_json_string(doc), &back, &err), -1);
	assert_contains(err.msg, "config.cloud_init.seed");
	json_object_object_add(ci, "seed", json_object_new_string("/s.iso"));
	json_object_object_add(ci, "hostname", json_object_new_string("bad_host"));
	assert_int_equal(parse(json_object_to_json_string(doc), &back, &err), -1);
	assert_contains(err.msg, "config.cloud_init.hostname");
	json_object_put(doc);
}

/* The seed is a disk when launched: with 16 disks there is no room. */
static void test_seed_takes_a_disk(void **state)
{
	struct vm_record r;
	struct nv_err err = { 0 };
	seeded(&r);
	struct vm_config *c = &r.config;
	for (c->ndisks = 0; c->ndisks < VM_MAX_DISKS - 1; c->ndisks++) {
		snprintf(c->disks[c->ndisks].path, sizeof(c->disks[0].path), "/d%u.img", c->ndisks);
		c->disks[c->ndisks].readonly = true;
	}
	assert_int_equal(vm_config_validate(c, "web1", &err), 0);
	snprintf(c->disks[c->ndisks].path, sizeof(c->disks[0].path), "/last.img");
	c->ndisks++;
	assert_int_equal(vm_config_validate(c, "web1", &err), -1);
	assert_contains(err.msg, "cloud-init seed");
	c->cloud_init.seed[0] = '\0';
	assert_int_equal(vm_config_validate(c, "web1", &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostnames),
		cmocka_unit_test(test_ssh_keys),
		cmocka_unit_test(test_instance_id),
		cmocka_unit_test(test_meta_data),
		cmocka_unit_test(test_user_data),
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_seed_takes_a_disk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
