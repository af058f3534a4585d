/* A VM's definition and its runtime record: the one schema for `run` (a
 * transient record), the store of named VMs, the VMM process and the
 * machine it builds; its limits and its validation live here only. Stored as one JSON document per VM:
 *   {"version":1,
 *    "config":{"name":"web1","memory_mib":512,"cpus":1,
 *              "kernel":"","initrd":"","append":"",         ("" = default guest)
 *              "disks":[{"path":"/abs/data.img","readonly":false}],
 *              "nics":[{"switch":"wan","mac":"52:54:00:..","mac_spoofing":false}],
 *              "devices":["rng"],                            (optional: none)
 *              "expose_virtualization_extensions":false,
 *              "dynamic_memory_enabled":false,
 *              "dynamic_memory":{"min_mib":512,"max_mib":2048,   (optional)
 *                                "buffer_percent":20,"weight":50},
 *              "automatic_start_action":"start-if-running",      (optional: these)
 *              "automatic_stop_action":"save",
 *              "run_as":{"uid":65534,"gid":65534,"name":"nobody"},  (optional: none)
 *              "cloud_init":{"user_data":"/abs/user-data","ssh_key":"",   (optional: none)
 *                            "hostname":"web1","instance_id":"nestvm-web1-..",
 *                            "seed":"/state/vms/web1/cloud-init/seed.iso"}},
 *    "runtime":{"state":"Off","pid":0,"started_at":0,"last_stop":"...",
 *               "running_at_host_stop":false}}                  (optional)
 * Parsing is strict: a missing or mistyped field is an error that names the
 * file and the field (e.g. "vms/web1/vm.json: config.cpus: must be 1..255"). */
#ifndef NESTVM_MGMT_VM_CONFIG_H
#define NESTVM_MGMT_VM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "confine/identity.h"
#include "util/eth.h"
#include "util/err.h"

struct json_object;

#define VM_CONFIG_VERSION 1
#define VM_NAME_MAX 64
#define VM_PATH_MAX 1024
#define VM_APPEND_MAX 1024
#define VM_MAX_DISKS 16
#define VM_MAX_NICS 8
#define VM_MAX_DEVICES 8 /* --device entries */
#define VM_DEVICE_NAME_MAX 16
/* Disks, adapters, --device entries and shared folders share the
 * machine's virtio-mmio windows and interrupts. */
#define VM_MAX_VIRTIO 16
#define VM_MAX_CPUS 255 /* xAPIC ids: the MADT uses 8-bit ids */
/* 4 TiB: far above any host today, low enough that bytes fit everywhere. */
#define VM_MAX_MEMORY_MIB (4ull * 1024 * 1024)
#define VM_SWITCH_NAME_MAX 32
#define VM_DEFAULT_MEMORY_MIB 512
#define VM_MIN_MEMORY_MIB 16
/* What `enable-nested` raises a VM's memory to: a nestvm guest running
 * nestvm with one default L3 guest (512 MiB) and room to spare. Hyper-V
 * asks 4 GB because its guests run Windows. */
#define VM_NESTED_MIN_MEMORY_MIB 2048
/* A new VM with the extensions and no --memory: room for its own default
 * guest (512 MiB, touched lazily) and itself, so that `nestvm run --nested
 * -- nestvm run -- CMD` works with every default. */
#define VM_NESTED_DEFAULT_MEMORY_MIB 1024
/* Guest RAM is given as the guest touches it, as KVM, QEMU and Firecracker
 * do: a VM may have more than the host's free memory. Only more than this
 * many times the host's RAM and swap is refused as absurd. */
#define VM_MEMORY_OVERCOMMIT_MAX 4
/* Dynamic memory's defaults: Hyper-V's minimum, buffer and priority; the
 * maximum is 4 times the startup memory (Hyper-V's 1 TB would cost a Linux
 * guest 16 GiB of page structures). */
#define VM_DYNAMIC_MIN_DEFAULT_MIB 512
#define VM_DYNAMIC_MAX_FACTOR 4
#define VM_DYNAMIC_BUFFER_DEFAULT 20
#define VM_DYNAMIC_WEIGHT_DEFAULT 50

struct vm_disk {
	char path[VM_PATH_MAX]; /* absolute */
	bool readonly;
};

/* A cloud-init NoCloud seed (mgmt/cloud_init_seed.h): what the user gave
 * (`--user-data FILE`, `--ssh-key FILE`, `--hostname NAME`) and the seed
 * image made from it, which the VM gets as a read-only disk after its own
 * disks when launched (not one of `disks`: checkpoints, merges and disk
 * copies leave it alone). */
#define VM_HOSTNAME_MAX 253
#define VM_INSTANCE_ID_MAX 96
struct vm_cloud_init {
	char user_data[VM_PATH_MAX]; /* the file given, absolute ("" none: one is generated) */
	char ssh_key[VM_PATH_MAX];   /* the public key file given ("" none) */
	char hostname[VM_HOSTNAME_MAX + 1];
	char instance_id[VM_INSTANCE_ID_MAX + 1];
	char seed[VM_PATH_MAX];      /* the seed image, absolute ("" no seed) */
};

struct vm_nic {
	char switch_name[VM_SWITCH_NAME_MAX + 1];
	struct mac_addr mac; /* always set: generated at create time if not given */
	bool mac_spoofing;
};

/* Hyper-V's automatic actions (Set-VM -AutomaticStartAction
 * -AutomaticStopAction), what `nestvm service start|stop` (the host's
 * boot and shutdown, nestvm.service) does with the VM. Hyper-V's defaults:
 * start if it was running, save. */
enum vm_start_action { VM_START_IF_RUNNING, VM_START_NOTHING, VM_START_ALWAYS };
enum vm_stop_action { VM_STOP_SAVE, VM_STOP_TURN_OFF, VM_STOP_SHUTDOWN };
const char *vm_start_action_name(enum vm_start_action a); /* "start-if-running", "nothing", "start" */
int vm_start_action_parse(const char *s, enum vm_start_action *out);
const char *vm_stop_action_name(enum vm_stop_action a); /* "save", "turn-off", "shutdown" */
int vm_stop_action_parse(const char *s, enum vm_stop_action *out);

#define VM_SHARE_TAG_MAX 36 /* virtio-fs's tag field */
/* Each share is one more virtio device (and one virtiofsd): 8, as for
 * adapters, leaves room within VM_MAX_VIRTIO for disks and the rest. */
#define VM_SHARES_MAX 8
struct vm_share {
	char dir[VM_PATH_MAX]; /* absolute */
	char tag[VM_SHARE_TAG_MAX + 1];
	bool readonly; /* the host refuses the guest's writes */
};

struct vm_config {
	char name[VM_NAME_MAX + 1];
	uint64_t memory_mib;
	unsigned cpus;
	char kernel[VM_PATH_MAX]; /* "" = the default guest */
	char initrd[VM_PATH_MAX];
	char append[VM_APPEND_MAX];
	struct vm_disk disks[VM_MAX_DISKS];
	unsigned ndisks;
	struct vm_nic nics[VM_MAX_NICS];
	unsigned nnics;
	/* Virtio devices without settings, by type name (`--device rng`, the
	 * list in dev/virtio/virtio_types.c), after the adapters in this order. */
	char devices[VM_MAX_DEVICES][VM_DEVICE_NAME_MAX];
	unsigned ndevices;
	bool expose_virtualization_extensions;
	/* Hyper-V's dynamic memory: memory_mib is the startup memory; the
	 * guest's RAM is the maximum, a balloon (implied) holds what is not
	 * assigned, and the VMM's balancer moves it within min..max by the
	 * guest's demand. The settings are kept while it is off. */
	bool dynamic_memory_enabled;
	uint64_t memory_min_mib, memory_max_mib;
	unsigned memory_buffer_pct; /* Hyper-V's Buffer: 5..2000 */
	unsigned memory_weight;     /* Hyper-V's Priority: 0..100 */
	enum vm_start_action automatic_start_action;
	enum vm_stop_action automatic_stop_action;
	/* `vm create|set --run-as USER` (root's VMs only): the VMM's threads
	 * become this user once set up (confine/identity.h), and the VM's
	 * folder has a part the user owns (mgmt/vm_store.h). */
	bool has_run_as;
	struct identity run_as;
	struct vm_cloud_init cloud_init;
	/* `nestvm run --share DIR:TAG` (repeatable): host folders the guest
	 * mounts by their tags (one virtio-fs device and one virtiofsd each,
	 * in this order). Not stored in a record yet: only run takes them,
	 * and such a VM cannot be saved. Added with vm_config_add_share. */
	struct vm_share shares[VM_SHARES_MAX];
	unsigned nshares;
};

enum vm_state {
	VM_STATE_OFF,
	VM_STATE_STARTING,
	VM_STATE_RUNNING,
	VM_STATE_STOPPING,
	VM_STATE_PAUSED, /* Hyper-V's Suspend-VM: vCPUs and devices stopped, memory kept */
	VM_STATE_SAVED,  /* Hyper-V's Save-VM: no VMM; vCPUs, devices and memory on disk */
	VM_STATE_RECEIVING, /* `vm receive`: its VMM waits for, or takes in, a live migration */
};

struct vm_runtime {
	enum vm_state state;
	pid_t pid;             /* the VMM process while not Off */
	int64_t started_at;    /* unix seconds, while not Off */
	char last_stop[256];   /* why the VM last went Off ("" if never ran) */
	bool running_at_host_stop; /* the host's shutdown stopped it (start-if-running) */
	/* Not stored: state, started_at and last_stop came from the status
	 * the VMM of a VM with run_as wrote in its user's part (vm_store). */
	bool from_vmm_status;
};

struct vm_record {
	struct vm_config config;
	struct vm_runtime runtime;
};

/* Defaults for a new VM called name (memory, cpus; everything else empty). */
void vm_config_defaults(struct vm_config *c, const char *name);
/* Checks a config as a whole (name, sizes, counts, paths absolute, MACs
 * unicast, switch names valid, devices known, dynamic memory's bounds
 * around the startup memory). what prefixes errors. */
int vm_config_validate(const struct vm_config *c, const char *what, struct nv_err *err);

/* Dynamic memory's defaults for the startup memory now set: min 512 MiB
 * (or the startup memory if less), max 4x, buffer 20 %, weight 50. */
void vm_config_dynamic_defaults(struct vm_config *c);
/* The guest's RAM: its startup memory, or with dynamic memory its maximum. */
uint64_t vm_config_ram_mib(const struct vm_config *c);
/* Has it a cloud-init seed (a disk after its own when launched)? */
bool vm_config_has_seed(const struct vm_config *c);
/* Has it a shared folder (--share)? */
bool vm_config_has_share(const struct vm_config *c);
/* Adds a shared folder after the others: dir as given (absolute; the CLI
 * canonicalizes it first), mounted in the guest by tag. 0, or -1 with a
 * one-line NV_ERR_INPUT (c unchanged) for a tag that is not valid
 * (vm_share_tag_valid) or is another share's already, a dir that is not
 * absolute or too long, or more than VM_SHARES_MAX shares. */
int vm_config_add_share(struct vm_config *c, const char *dir, const char *tag, bool readonly,
			struct nv_err *err);
/* Is tag a usable --share tag: 1..VM_SHARE_TAG_MAX of A-Z a-z 0-9 _ . -? */
bool vm_share_tag_valid(const char *tag);
/* Has it a balloon: a `--device balloon`, or dynamic memory's. */
bool vm_config_has_balloon(const struct vm_config *c);

const char *vm_state_name(enum vm_state s); /* "Off", "Starting", ... */
/* Has the VM a `--device` entry of that type ("balloon")? */
bool vm_config_has_device(const struct vm_config *c, const char *type);
int vm_state_parse(const char *s, enum vm_state *out);

/* JSON document <-> record. file names the document in errors. */
struct json_object *vm_record_to_json(const struct vm_record *r);
int vm_record_from_json(struct json_object *doc, const char *file, struct vm_record *r,
			struct nv_err *err);
/* The "runtime" object alone (a VMM's status file, mgmt/vm_status_file.h). */
struct json_object *vm_runtime_to_json(const struct vm_runtime *rt);
int vm_runtime_from_json(struct json_object *o, const char *file, struct vm_runtime *rt, struct nv_err *err);
/* The same from the file's text (len bytes): truncated or malformed JSON is
 * one line naming file, anything else as vm_record_from_json. */
int vm_record_parse_text(const char *text, size_t len, const char *file, struct vm_record *r,
			 struct nv_err *err);

#endif
