/* A machine saved to a directory and brought back: `vm save`, checkpoints
 * and `run --save-on-exit` / `--restore`.
 *
 *   DIR/vm.state  the state file (state/state_file.h): sections "config"
 *                 (the VM's settings as launched, the one JSON schema),
 *                 "machine", "vcpu0".."vcpuN-1" and "device:NAME" for every
 *                 device of the table that keeps state
 *   DIR/memory    guest RAM (state/memory_file.h), mapped private on restore
 *
 * The restored machine is built from the saved settings exactly as the
 * original was (same devices, same CPUID), then every vCPU and device gets
 * its state back; see machine_state.c for the order. */
#ifndef NESTVM_VMM_MACHINE_STATE_H
#define NESTVM_VMM_MACHINE_STATE_H

#include "mgmt/vm_config.h"
#include "state/memory_file.h"
#include "state/state_file.h"
#include "util/err.h"
#include "vmm/machine.h"

#define MACHINE_STATE_FILE STATE_FILE_NAME
#define MACHINE_MEMORY_FILE MEMORY_FILE_NAME

/* Saves the machine, which must be paused (machine_pause), into dir
 * (created if missing; files replaced atomically). */
int machine_save(struct machine *m, const char *dir, struct nv_err *err);

/* The machine's settings as the "config" section holds them (malloc'd
 * JSON text), or NULL (out of memory). */
char *machine_config_json(const struct machine *m);
/* The same state file's bytes in memory (*image malloc'd, the caller
 * frees it), of a paused machine: what a live migration sends. */
int machine_state_image(struct machine *m, uint8_t **image, size_t *len, struct nv_err *err);

/* A loaded, checked saved machine, ready for machine_resources.saved. */
struct machine_saved {
	char dir[VM_PATH_MAX];
	struct state_file file;
	struct vm_config config; /* the settings it was saved with */
	int memory_fd;
	/* The same VM goes on (a live migration: its source is gone), so its
	 * generation ID stays; otherwise restore gives it a new one. */
	bool same_generation;
};

/* Loads dir's state file and opens its memory file: every refusal is one
 * line naming the file and section. */
int machine_saved_load(const char *dir, struct machine_saved *s, struct nv_err *err);
void machine_saved_free(struct machine_saved *s);
/* Gives a machine created from s (machine_resources.from_saved, with
 * s->memory_fd and s->config) every vCPU's and device's state back. Before
 * machine_start, which then has its adapters announce themselves. */
int machine_restore(struct machine *m, const struct machine_saved *s, struct nv_err *err);
/* True when dir holds a state file. */
bool machine_saved_exists(const char *dir);
/* Removes a saved state (the two files, then dir if empty). */
int machine_saved_remove(const char *dir, struct nv_err *err);

#endif
