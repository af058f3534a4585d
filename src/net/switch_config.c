#include "net/switch_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "confine/identity_json.h"
#include "util/state_dir.h"
#include "util/file_io.h"
#include "util/parse.h"

/* config.json is a few hundred bytes; anything much larger is not ours. */
#define CONFIG_FILE_MAX (64 * 1024)

static const char *const type_names[] = { "private", "internal", "external", "nat" };

const char *switch_type_name(enum switch_type t)
{
	return (unsigned)t < 4 ? type_names[t] : "?";
}

int switch_type_parse(const char *s, enum switch_type *out)
{
	for (unsigned i = 0; s && i < 4; i++)
		if (!strcmp(s, type_names[i])) {
			*out = (enum switch_type)i;
			return 0;
		}
	return -1;
}

static int ip_parse(const char *s, uint32_t *out)
{
	struct in_addr a;
	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*out = ntohl(a.s_addr);
	return 0;
}

void switch_ip_format(uint32_t ip, char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

static uint32_t prefix_mask(unsigned prefix)
{
	return prefix ? ~0u << (32 - prefix) : 0;
}

int switch_subnet_parse(const char *s, uint32_t *network, unsigned *prefix_len, struct nv_err *err)
{
	char ip[32];
	const char *slash = s ? strchr(s, '/') : NULL;
	if (!slash || (size_t)(slash - s) >= sizeof(ip))
		return nv_err_input(err, "subnet '%s' is not ADDRESS/PREFIX, e.g. 192.168.100.0/24",
				    s ? s : "");
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = '\0';
	uint32_t addr;
	unsigned long prefix;
	if (ip_parse(ip, &addr) < 0)
		return nv_err_input(err, "subnet '%s': '%s' is not an IPv4 address", s, ip);
	if (parse_uint(slash + 1, 0, 32, &prefix) < 0 || prefix < 8 || prefix > 30)
		return nv_err_input(err, "subnet '%s': the prefix length must be 8..30", s);
	uint32_t mask = prefix_mask((unsigned)prefix);
	if (addr & ~mask) {
		char net[16];
		switch_ip_format(addr & mask, net);
		return nv_err_input(err, "subnet '%s' has host bits set (did you mean %s/%lu?)", s, net,
				    prefix);
	}
	*network = addr;
	*prefix_len = (unsigned)prefix;
	return 0;
}

void switch_subnet_format(uint32_t network, unsigned prefix_len, char out[19])
{
	char ip[16];
	switch_ip_format(network, ip);
	snprintf(out, 19, "%s/%u", ip, prefix_len);
}

static int port_parse(const char *s, uint16_t *out)
{
	unsigned long v;
	if (parse_uint(s, 1, 65535, &v) < 0)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

int switch_forward_parse(const char *s, uint32_t network, unsigned prefix_len,
			 struct nat_forward *out, struct nv_err *err)
{
	char buf[64], *part[5];
	const char *what = s ? s : "";
	int n = 0;
	if (strlen(what) >= sizeof(buf))
		return nv_err_input(err, "forward '%.40s...' is too long", what);
	strcpy(buf, what);
	/* Split at every ':' (strtok would merge empty fields). */
	for (char *p = buf;; p++) {
		if (n == 5)
			return nv_err_input(err, "forward '%s' has too many ':' fields", what);
		part[n++] = p;
		if (!(p = strchr(p, ':')))
			break;
		*p = '\0';
	}
	if (n != 4 && n != 5)
		return nv_err_input(err, "forward '%s' is not PROTO:[HOSTADDR:]HOSTPORT:GUESTIP:GUESTPORT, "
				    "e.g. tcp:8080:192.168.100.15:80", what);
	/* Without HOSTADDR the forward listens on the host's loopback only:
	 * opening a VM to the network is a choice, said with an address. */
	struct nat_forward f = { .host_ip = 0x7f000001 };
	char **rest = part + (n - 3);
	if (!strcmp(part[0], "udp"))
		f.udp = 1;
	else if (strcmp(part[0], "tcp"))
		return nv_err_input(err, "forward '%s': protocol '%s' is not tcp or udp", what, part[0]);
	if (n == 5 && ip_parse(part[1], &f.host_ip) < 0)
		return nv_err_input(err, "forward '%s': host address '%s' is not an IPv4 address", what, part[1]);
	if (port_parse(rest[0], &f.host_port) < 0)
		return nv_err_input(err, "forward '%s': host port '%s' is not 1..65535", what, rest[0]);
	if (ip_parse(rest[1], &f.guest_ip) < 0)
		return nv_err_input(err, "forward '%s': '%s' is not an IPv4 address", what, rest[1]);
	if (port_parse(rest[2], &f.guest_port) < 0)
		return nv_err_input(err, "forward '%s': guest port '%s' is not 1..65535", what, rest[2]);
	uint32_t mask = prefix_mask(prefix_len);
	if ((f.guest_ip & mask) != network || (f.guest_ip & ~mask) == 0 ||
	    (f.guest_ip & ~mask) == ~mask) {
		char sub[19];
		switch_subnet_format(network, prefix_len, sub);
		return nv_err_input(err, "forward '%s': guest address %s is not a host address in the subnet %s",
				    what, rest[1], sub);
	}
	*out = f;
	return 0;
}

void switch_forward_format(const struct nat_forward *f, char *out, size_t len)
{
	char host[16], guest[16];
	switch_ip_format(f->host_ip, host);
	switch_ip_format(f->guest_ip, guest);
	snprintf(out, len, "%s:%s:%u:%s:%u", f->udp ? "udp" : "tcp", host, f->host_port, guest,
		 f->guest_port);
}

bool switch_ifname_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > SWITCH_IFNAME_MAX || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || s[i] <= ' ' || s[i] == 0x7f)
			return false;
	return true;
}

int switch_config_validate(struct switch_config *c, struct nv_err *err)
{
	if (!state_name_valid(c->name, SWITCH_NAME_MAX))
		return nv_err_input(err, "'%s' is not a valid switch name (1-%d of A-Z a-z 0-9 _ . -, not starting with . or -)",
				    c->name, SWITCH_NAME_MAX);
	if (c->has_subnet && c->type != SWITCH_NAT && c->type != SWITCH_INTERNAL)
		return nv_err_input(err, "--subnet is only for nat and internal switches, not %s",
				    switch_type_name(c->type));
	if (c->type == SWITCH_EXTERNAL && !c->interface[0])
		return nv_err_input(err, "an external switch needs --interface (the host interface to bridge to, e.g. eth0)");
	if (c->type != SWITCH_EXTERNAL && c->interface[0])
		return nv_err_input(err, "--interface is only for external switches, not %s",
				    switch_type_name(c->type));
	if (c->interface[0] && !switch_ifname_valid(c->interface))
		return nv_err_input(err, "interface '%s' is not a valid interface name", c->interface);
	if (c->nforwards && c->type != SWITCH_NAT)
		return nv_err_input(err, "--forward is only for nat switches, not %s",
				    switch_type_name(c->type));
	if (c->host_loopback && c->type != SWITCH_NAT)
		return nv_err_input(err, "--host-loopback is only for nat switches, not %s",
				    switch_type_name(c->type));
	if (c->type == SWITCH_NAT && !c->has_subnet) {
		if (switch_subnet_parse(SWITCH_NAT_DEFAULT_SUBNET, &c->network, &c->prefix_len, err) < 0)
			return -1;
		c->has_subnet = true;
	}
	for (unsigned i = 0; i < c->nforwards; i++) {
		char s[64], sub[19];
		const struct nat_forward *f = &c->forwards[i];
		uint32_t mask = prefix_mask(c->prefix_len), host = f->guest_ip & ~mask;
		switch_forward_format(f, s, sizeof(s));
		switch_subnet_format(c->network, c->prefix_len, sub);
		if ((f->guest_ip & mask) != c->network || host == 0 || host == ~mask)
			return nv_err_input(err, "forward '%s': the guest address is not a host address in the subnet %s",
					    s, sub);
		for (unsigned j = 0; j < i; j++)
			if (c->forwards[j].udp == f->udp && c->forwards[j].host_port == f->host_port)
				return nv_err_input(err, "forward '%s': host port %s:%u is forwarded twice", s,
						    f->udp ? "udp" : "tcp", f->host_port);
	}
	return 0;
}

static struct json_object *config_to_json(const struct switch_config *c)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_int(SWITCH_CONFIG_VERSION));
	json_object_object_add(o, "name", json_object_new_string(c->name));
	json_object_object_add(o, "type", json_object_new_string(switch_type_name(c->type)));
	if (c->has_subnet) {
		char sub[19];
		switch_subnet_format(c->network, c->prefix_len, sub);
		json_object_object_add(o, "subnet", json_object_new_string(sub));
	}
	if (c->interface[0])
		json_object_object_add(o, "interface", json_object_new_string(c->interface));
	if (c->type == SWITCH_NAT) {
		struct json_object *a = json_object_new_array();
		for (unsigned i = 0; i < c->nforwards; i++) {
			char s[64];
			switch_forward_format(&c->forwards[i], s, sizeof(s));
			json_object_array_add(a, json_object_new_string(s));
		}
		json_object_object_add(o, "forwards", a);
		json_object_object_add(o, "host_loopback", json_object_new_boolean(c->host_loopback));
	}
	if (c->has_run_as)
		json_object_object_add(o, "run_as", identity_to_json(&c->run_as));
	return o;
}

int switch_config_save(const char *path, const struct switch_config *c, struct nv_err *err)
{
	struct json_object *o = config_to_json(c);
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);
	int rc = file_write_text(path, s);
	json_object_put(o);
	if (rc == -ENAMETOOLONG)
		return nv_err_input(err, "%s: path too long", path);
	if (rc < 0)
		return nv_err_host(err, "cannot write %s: %s", path, strerror(-rc));
	return 0;
}

static int field_fail(struct nv_err *err, const char *what, const char *field, const char *why)
{
	return nv_err_input(err, "%s: field '%s' %s", what, field, why);
}

static const char *get_string(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* {"uid":N,"gid":N,"name":"..."}: a user other than root. */
static int parse_run_as(struct json_object *v, const char *what, struct switch_config *c, struct nv_err *err)
{
	const char *why;
	if (identity_from_json(v, &c->run_as, &why) < 0)
		return field_fail(err, what, "run_as", why);
	c->has_run_as = true;
	return 0;
}

static int parse_forwards(struct json_object *a, const char *what, struct switch_config *c,
			  struct nv_err *err)
{
	if (!json_object_is_type(a, json_type_array))
		return field_fail(err, what, "forwards", "is not an array of strings");
	size_t n = json_object_array_length(a);
	if (n > SWITCH_MAX_FORWARDS)
		return field_fail(err, what, "forwards", "has more than 64 entries");
	for (size_t i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(a, i);
		struct nv_err e = { 0 };
		if (!json_object_is_type(v, json_type_string))
			return field_fail(err, what, "forwards", "is not an array of strings");
		if (switch_forward_parse(json_object_get_string(v), c->network, c->prefix_len,
					 &c->forwards[i], &e) < 0)
			return nv_err_input(err, "%s: field 'forwards': %s", what, e.msg);
	}
	c->nforwards = (unsigned)n;
	return 0;
}

int switch_config_parse(const char *text, const char *what, struct switch_config *c,
			struct nv_err *err)
{
	memset(c, 0, sizeof(*c));
	struct json_object *o = json_tokener_parse(text), *v;
	int ret = -1;
	if (!o || !json_object_is_type(o, json_type_object)) {
		nv_err_input(err, "%s: not a JSON object (corrupt? delete the switch and create it again)", what);
		goto out;
	}
	json_object_object_foreach(o, key, val) {
		(void)val;
		if (strcmp(key, "version") && strcmp(key, "name") && strcmp(key, "type") &&
		    strcmp(key, "subnet") && strcmp(key, "interface") && strcmp(key, "forwards") &&
		    strcmp(key, "host_loopback") && strcmp(key, "run_as")) {
			field_fail(err, what, key, "is unknown");
			goto out;
		}
	}
	if (!json_object_object_get_ex(o, "version", &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) != SWITCH_CONFIG_VERSION) {
		field_fail(err, what, "version", "is missing or not 1");
		goto out;
	}
	const char *s = get_string(o, "name");
	if (!s || !state_name_valid(s, SWITCH_NAME_MAX)) {
		field_fail(err, what, "name", "is missing or not a valid switch name");
		goto out;
	}
	strcpy(c->name, s);
	if (switch_type_parse(get_string(o, "type"), &c->type) < 0) {
		field_fail(err, what, "type", "is missing or not private, internal, external or nat");
		goto out;
	}
	if (json_object_object_get_ex(o, "subnet", &v)) {
		struct nv_err e = { 0 };
		if (!json_object_is_type(v, json_type_string) ||
		    switch_subnet_parse(json_object_get_string(v), &c->network, &c->prefix_len, &e) < 0) {
			nv_err_input(err, "%s: field 'subnet': %s", what, e.msg[0] ? e.msg : "is not a string");
			goto out;
		}
		c->has_subnet = true;
	}
	if (json_object_object_get_ex(o, "interface", &v)) {
		s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
		if (!switch_ifname_valid(s)) {
			field_fail(err, what, "interface", "is not a valid interface name");
			goto out;
		}
		strcpy(c->interface, s);
	}
	struct nv_err e = { 0 };
	if (c->type == SWITCH_NAT && !c->has_subnet &&
	    switch_config_validate(c, &e) < 0) { /* fills the default subnet */
		nv_err_input(err, "%s: %s", what, e.msg);
		goto out;
	}
	if (json_object_object_get_ex(o, "forwards", &v)) {
		if (c->type != SWITCH_NAT) {
			field_fail(err, what, "forwards", "is only for type nat");
			goto out;
		}
		if (parse_forwards(v, what, c, err) < 0)
			goto out;
	}
	if (json_object_object_get_ex(o, "host_loopback", &v)) {
		if (!json_object_is_type(v, json_type_boolean)) {
			field_fail(err, what, "host_loopback", "is not true or false");
			goto out;
		}
		c->host_loopback = json_object_get_boolean(v);
	}
	if (json_object_object_get_ex(o, "run_as", &v) && parse_run_as(v, what, c, err) < 0)
		goto out;
	if (switch_config_validate(c, &e) < 0) {
		nv_err_input(err, "%s: %s", what, e.msg);
		goto out;
	}
	ret = 0;
out:
	json_object_put(o);
	return ret;
}

int switch_config_load(const char *path, struct switch_config *c, struct nv_err *err)
{
	char *buf;
	size_t len;
	int rc = file_read_bounded(path, CONFIG_FILE_MAX, &buf, &len), ret;
	if (rc == -ENOMEM)
		ret = nv_err_host(err, "out of memory reading %s", path);
	else if (rc == -EFBIG)
		ret = nv_err_input(err, "%s: larger than %d bytes (corrupt?)", path, CONFIG_FILE_MAX);
	else if (rc < 0)
		ret = nv_err_input(err, "cannot read %s: %s", path, strerror(-rc));
	else if (memchr(buf, '\0', len))
		ret = nv_err_input(err, "%s: contains NUL bytes (corrupt?)", path);
	else
		ret = switch_config_parse(buf, path, c, err);
	free(buf);
	return ret;
}
