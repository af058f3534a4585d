/* A cloud-init NoCloud seed on disk: the user's files read (bounded) and
 * checked, then a folder holding what the seed is made of and the seed
 * itself, an ISO 9660 image with volume id "cidata" (Rock Ridge and
 * Joliet) holding user-data and meta-data, as cloud-localds makes it:
 *   user-data     the user's file as is, or the generated #cloud-config
 *   meta-data     mgmt/cloud_init.h's
 *   ssh-key.pub   a copy of the --ssh-key file (to remake the seed later)
 *   seed.iso      what the VM gets, read-only
 * The image is written by Debian's genisoimage (package genisoimage). */
#ifndef NESTVM_MGMT_CLOUD_INIT_SEED_H
#define NESTVM_MGMT_CLOUD_INIT_SEED_H

#include <stddef.h>

#include "mgmt/vm_config.h"
#include "util/err.h"

#define CLOUD_INIT_SEED_DIR "cloud-init" /* in a named VM's folder */
#define CLOUD_INIT_SEED_IMAGE "seed.iso"
#define CLOUD_INIT_USER_DATA_FILE "user-data"
#define CLOUD_INIT_META_DATA_FILE "meta-data"
#define CLOUD_INIT_SSH_KEY_FILE "ssh-key.pub"

/* What a seed is made from, read and checked. */
struct cloud_init_seed_input {
	char *user_data; /* the user's file (user_data_len bytes), NULL: generated */
	size_t user_data_len;
	char *ssh_keys;  /* a checked public key file's text, NULL: none */
	char hostname[VM_HOSTNAME_MAX + 1];
	char instance_id[VM_INSTANCE_ID_MAX + 1];
};

/* A user-data file (at most CLOUD_INIT_USER_DATA_MAX bytes) into in; what
 * names it in errors ("--user-data FILE"). 0, or -1 with an input error. */
int cloud_init_seed_read_user_data(struct cloud_init_seed_input *in, const char *path, const char *what,
				   struct nv_err *err);
/* An OpenSSH public key file, checked (cloud_init_ssh_keys_check). */
int cloud_init_seed_read_ssh_key(struct cloud_init_seed_input *in, const char *path, const char *what,
				 struct nv_err *err);
/* A checked host name (cloud_init_hostname_check) into in. */
int cloud_init_seed_set_hostname(struct cloud_init_seed_input *in, const char *name, const char *what,
				 struct nv_err *err);
/* A fresh instance id for a VM called name (cloud_init_instance_id). */
int cloud_init_seed_new_instance_id(struct cloud_init_seed_input *in, const char *name, struct nv_err *err);
void cloud_init_seed_input_free(struct cloud_init_seed_input *in);

/* Whether genisoimage can be run: 0, or -1 with a host error that says
 * which package to install. Asked before anything is made. */
int cloud_init_seed_tool_check(struct nv_err *err);

/* The files above, and the seed, written in dir (an existing folder of
 * the caller's). 0, or -1 with err (genisoimage's last line when it fails). */
int cloud_init_seed_write(const char *dir, const struct cloud_init_seed_input *in, struct nv_err *err);

/* A named VM's seed folder <vm_dir>/cloud-init made anew: written aside,
 * then swapped in, so that a failure leaves the old one whole. The seed's
 * path into seed (size bytes). */
int cloud_init_seed_replace(const char *vm_dir, const struct cloud_init_seed_input *in, char *seed, size_t size,
			    struct nv_err *err);

#endif
