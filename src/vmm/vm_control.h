/* A named VM's control.sock (SOCK_SEQPACKET): one JSON request, one JSON
 * reply, then the connection closes.
 *   {"cmd":"status"}   -> {"ok":true,"state":"Running","pid":N,"uptime":S
 *                          [,"ram_mib","memory_target_mib","balloon_mib",
 *                           "demand_mib" (with a balloon; demand once the
 *                           guest sent statistics),"dynamic_memory"]}
 *   {"cmd":"shutdown"} -> {"ok":true}  (the ACPI power button is pressed)
 *   {"cmd":"kill"[,"reason":"..."]} -> {"ok":true}  (the VM ends now)
 *   {"cmd":"pause"}    -> {"ok":true,"state":"Paused"}  (vCPUs and devices stop)
 *   {"cmd":"resume"}   -> {"ok":true,"state":"Running"}
 *   {"cmd":"save"}     -> {"ok":true,"state":"Saved"}  (state on disk, the VMM exits)
 *   {"cmd":"checkpoint","name":"cp1"} -> {"ok":true}  (state on disk, the VM goes on)
 *   {"cmd":"memory","mib":N} -> {"ok":true,"target_mib":N}  (the balloon gives
 *                      the rest of its RAM back; needs one)
 *   {"cmd":"memory-policy","min_mib":N,"max_mib":N,"buffer_percent":N,"weight":N}
 *                      -> {"ok":true}  (dynamic memory's balancer takes them)
 *   {"cmd":"migrate","to":"unix:PATH|tcp:ADDR:PORT"[,"downtime_ms":N]   (with
 *    the connection to the target passed along, SCM_RIGHTS: vm_control_call_fd)
 *    [,"bandwidth_mbps":N][,"max_rounds":N][,"pause_to_converge":true][,"copy_disks":true]
 *    [,"progress":true]}
 *                      -> (with progress, about twice a second:
 *                      {"interim":{"round","bytes","left_bytes","dirty_kbps",
 *                      "elapsed_ms"}}) {"ok":true,"total_ms","downtime_ms","rounds",
 *                      "bytes","pages","final_pages","rate_kbps","paused_to_converge",
 *                      "disk_bytes","disk_blocks_again"} once the
 *                      target runs the VM (this VMM then ends: "migrated");
 *                      a failure leaves the VM running here
 *   anything else      -> {"ok":false,"error":"..."}
 * Both sides are here; the VMM's loop is vm_process. */
#ifndef NESTVM_VMM_VM_CONTROL_H
#define NESTVM_VMM_VM_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mgmt/vm_config.h"
#include "util/err.h"

struct json_object;

#define VM_CONTROL_MAX 20480 /* bytes in one request or reply (16 disk paths fit) */

enum vm_control_cmd {
	VM_CONTROL_INVALID,
	VM_CONTROL_STATUS,
	VM_CONTROL_SHUTDOWN,
	VM_CONTROL_KILL,
	VM_CONTROL_PAUSE,
	VM_CONTROL_RESUME,
	VM_CONTROL_SAVE,
	VM_CONTROL_CHECKPOINT,
	VM_CONTROL_MEMORY,
	VM_CONTROL_MEMORY_POLICY,
	VM_CONTROL_MIGRATE,
};

struct vm_control_request {
	enum vm_control_cmd cmd;
	char reason[160]; /* kill: why, for last_stop ("" = not given) */
	char name[72];    /* checkpoint: its name (checked: a state name) */
	/* checkpoint: "overlays":[PATH or "", one per disk]: writable disk i
	 * moves onto a new differencing disk there (absolute, checked). */
	char overlays[VM_MAX_DISKS][VM_PATH_MAX];
	unsigned noverlays;
	uint64_t mib;     /* memory: what the guest should keep */
	/* memory-policy: checked against the limits, not yet against the VM */
	uint64_t min_mib, max_mib;
	unsigned buffer_pct, weight;
	char to[128];     /* migrate: the target's address (checked) */
	unsigned downtime_ms, bandwidth_mbps, max_rounds; /* migrate: 0 = the default */
	bool progress;    /* migrate: interim {"interim":{"round",...}} messages wanted */
	bool pause_to_converge; /* migrate: after max_rounds, pause rather than fail */
	bool copy_disks;  /* migrate: the writable disks' content too */
	char error[160];  /* VM_CONTROL_INVALID: what was wrong */
};

/* Parses one request message (not NUL-terminated). */
void vm_control_parse(const char *msg, size_t len, struct vm_control_request *req);

/* A listening AF_UNIX socket of type (SOCK_STREAM, SOCK_SEQPACKET) at path,
 * mode 0600, non-blocking and close-on-exec; a stale socket file is
 * replaced. */
int vm_control_listen(const char *path, int type, struct nv_err *err);

/* The client: sends req (not consumed) to the VMM of VM name and returns its
 * reply (the caller puts it), or NULL with err: no VMM listening is
 * NV_ERR_INPUT ("VM X is not running"); {"ok":false} is returned as its
 * error. */
struct json_object *vm_control_call(const char *name, struct json_object *req, int timeout_ms,
				    struct nv_err *err);

/* The same, handing pass_fd over with the request (SCM_RIGHTS): migrate's
 * connection to its target, which the client opens, so that the VMM itself
 * never reaches the network (its filter allows no AF_INET socket). */
struct json_object *vm_control_call_fd(const char *name, struct json_object *req, int pass_fd,
				       int timeout_ms, struct nv_err *err);
/* ... with the interim messages of a long request given to interim. */
struct json_object *vm_control_call_interim(const char *name, struct json_object *req, int pass_fd,
					    int timeout_ms, void (*interim)(void *opaque, struct json_object *o),
					    void *opaque, struct nv_err *err);

#endif
