/* A switch's config.json: what `nestvm switch create` was given, read back
 * by the switch daemon. Parsed strictly: a hand-edited or corrupt file gives
 * one line naming the file and the field.
 *   {"version":1,"name":"lan","type":"nat","subnet":"192.168.100.0/24",
 *    "forwards":["tcp:8080:192.168.100.15:80"]}
 * "subnet": nat (default 192.168.100.0/24) and internal (optional: the host's
 * tap gets the first address); "interface": external only, required;
 * "forwards": nat only ("tcp:127.0.0.1:8080:192.168.100.15:80"; without a
 * host address a forward listens on 127.0.0.1); "host_loopback": nat only,
 * true when guests may reach the host's 127.0.0.1 through the gateway
 * (absent: false); "run_as": {"uid":N,"gid":N,"name":"..."}, the user the
 * daemon becomes once set up when root starts it (absent: none). */
#ifndef NESTVM_NET_SWITCH_CONFIG_H
#define NESTVM_NET_SWITCH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "confine/identity.h"
#include "net/switch_protocol.h"
#include "net/uplink.h"
#include "util/err.h"

#define SWITCH_CONFIG_VERSION 1
#define SWITCH_MAX_FORWARDS 64
#define SWITCH_IFNAME_MAX 15 /* IFNAMSIZ - 1 */
#define SWITCH_NAT_DEFAULT_SUBNET "192.168.100.0/24"

enum switch_type { SWITCH_PRIVATE, SWITCH_INTERNAL, SWITCH_EXTERNAL, SWITCH_NAT };

struct switch_config {
	char name[SWITCH_NAME_MAX + 1];
	enum switch_type type;
	bool has_subnet;
	uint32_t network;     /* host byte order */
	unsigned prefix_len;
	char interface[SWITCH_IFNAME_MAX + 1];
	struct nat_forward forwards[SWITCH_MAX_FORWARDS];
	unsigned nforwards;
	bool host_loopback;
	bool has_run_as;
	struct identity run_as;
};

const char *switch_type_name(enum switch_type t);
/* "private", "internal", "external", "nat"; -1 otherwise. */
int switch_type_parse(const char *s, enum switch_type *out);

/* "192.168.100.0/24": prefix 8..30, host bits zero. */
int switch_subnet_parse(const char *s, uint32_t *network, unsigned *prefix_len, struct nv_err *err);
void switch_subnet_format(uint32_t network, unsigned prefix_len, char out[19]);
void switch_ip_format(uint32_t ip, char out[16]);
/* "tcp:[HOSTADDR:]8080:192.168.100.15:80": tcp|udp, the host address to
 * listen on (default 127.0.0.1), ports 1..65535, the guest address a host
 * address inside the subnet. Formatted with the host address always. */
int switch_forward_parse(const char *s, uint32_t network, unsigned prefix_len,
			 struct nat_forward *out, struct nv_err *err);
void switch_forward_format(const struct nat_forward *f, char *out, size_t len);
/* An interface name the kernel would accept (1..15, no '/', ':', space). */
bool switch_ifname_valid(const char *s);

/* Checks the fields against each other and fills the NAT default subnet.
 * Messages name the option (--subnet, --interface, --forward). */
int switch_config_validate(struct switch_config *c, struct nv_err *err);

/* Atomic: a temporary file in the same directory, fsync, rename. */
int switch_config_save(const char *path, const struct switch_config *c, struct nv_err *err);
int switch_config_load(const char *path, struct switch_config *c, struct nv_err *err);
/* Parses JSON text; what names the source in messages (the file's path). */
int switch_config_parse(const char *text, const char *what, struct switch_config *c,
			struct nv_err *err);

#endif
