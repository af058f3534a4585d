/* What a cloud-init NoCloud seed says (https://cloudinit.readthedocs.io,
 * "NoCloud"): its meta-data and, when the user gave none, a generated
 * user-data; and the checks of what the user gives for them (a host name,
 * an OpenSSH public key file). Pure text in, text out: unit-tested; the
 * files and the image are mgmt/cloud_init_seed.h's. */
#ifndef NESTVM_MGMT_CLOUD_INIT_H
#define NESTVM_MGMT_CLOUD_INIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* A user-data file is passed as is, up to this: cloud-config and scripts
 * are kilobytes (EC2 takes 16 KiB); a bigger file is a mistake (an image
 * given for the user-data), not a configuration. */
#define CLOUD_INIT_USER_DATA_MAX (1u << 20)
/* An OpenSSH public key file: a few keys of at most a few KiB each. */
#define CLOUD_INIT_SSH_KEYS_MAX (64u << 10)
#define CLOUD_INIT_HOSTNAME_MAX 253 /* RFC 1123 (with RFC 952's 63-byte labels) */
#define CLOUD_INIT_INSTANCE_ID_MAX 96

/* A host name as RFC 1123 has it: dot-separated labels of 1..63 letters,
 * digits and '-', not starting or ending with '-', 253 characters at most.
 * 0, or -1 with an input error naming what is wrong. */
int cloud_init_hostname_check(const char *h, struct nv_err *err);

/* An OpenSSH public key file's text (len bytes): every line not blank and
 * not a '#' comment is "TYPE BASE64 [COMMENT]" with a known TYPE; at least
 * one. A private key is named as one (give the .pub file). 0, or -1 with
 * an input error naming the line. */
int cloud_init_ssh_keys_check(const char *text, size_t len, struct nv_err *err);

/* "nestvm-NAME-HEX": the VM's name and 8 random bytes. cloud-init runs its
 * per-instance steps once per instance id: a named VM keeps one for its
 * life, an unnamed run gets a fresh one. */
void cloud_init_instance_id(const char *name, const uint8_t random[8], char *out, size_t size);

/* What the documents are made from: checked already (above). */
struct cloud_init_inputs {
	const char *instance_id;
	const char *hostname;    /* "" or NULL: none */
	const char *ssh_keys;    /* the key file's text (NUL-terminated), NULL: none */
	bool user_data_given;    /* the user's own user-data goes in as is */
};

/* The meta-data (YAML): instance-id, local-hostname when given, and, when
 * the user's own user-data goes in, the keys as public-keys (NoCloud reads
 * them from there, so the user's file is never rewritten). malloc()ed;
 * NULL when out of memory. */
char *cloud_init_meta_data(const struct cloud_init_inputs *in);

/* The user-data made when the user gave none: "#cloud-config" with
 * hostname and ssh_authorized_keys for what was given. malloc()ed; NULL
 * when out of memory. */
char *cloud_init_user_data(const struct cloud_init_inputs *in);

#endif
