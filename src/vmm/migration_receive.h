/* Live migration's target side: listens, takes one source's stream
 * (state/migration_stream.h), checks its record against the one this
 * target expects (mgmt/vm_migration_check.h) before any memory moves, and
 * puts the RAM and the state it receives into a saved machine's two files
 * in a folder of its own, which then loads as any saved machine does
 * (machine_saved_load: every section checked again). The caller launches
 * the machine from it and answers RESUMED or FAILED. */
#ifndef NESTVM_VMM_MIGRATION_RECEIVE_H
#define NESTVM_VMM_MIGRATION_RECEIVE_H

#include <stdint.h>

#include "mgmt/vm_config.h"
#include "util/err.h"
#include "vmm/machine_state.h"

struct migration_incoming {
	int fd;                    /* the connection to the source, or -1 */
	char dir[VM_PATH_MAX];     /* the received files ("" when none) */
	struct machine_saved saved;
	uint64_t pages, zero_pages, bytes;
	int64_t receive_ms;        /* from the connection to COMPLETE */
	int64_t complete_at_ms;    /* CLOCK_MONOTONIC when COMPLETE arrived */
	uint64_t disk_bytes;       /* --copy-disks: disk data received */
	/* The copied disks' new files (vmm/migration_disk_files.h): removed
	 * unless the VM runs here. */
	char disk_files[VM_MAX_DISKS][VM_PATH_MAX];
	unsigned ndisk_files;
};

/* Called once the source's record is accepted, before any memory moves,
 * with the RAM's file (already its full size; pages arrive in it until
 * COMPLETE): the caller builds the machine then, so that the source's
 * downtime holds only the state's restore. 0, or -1 with err (the source
 * is refused with it). */
struct migration_prepare {
	int (*fn)(void *opaque, const struct vm_config *config, int memory_fd, struct nv_err *err);
	/* NULL, or called once the address listens (before any source). */
	void (*listening)(void *opaque);
	void *opaque;
	/* A copied disk's data (the source's --copy-disks), into disk index of
	 * the machine fn built (its config names the new file). NULL: this
	 * target takes no disk copies. 0, or -1 with err. */
	int (*disk_write)(void *opaque, unsigned index, uint64_t offset, const uint8_t *data, uint32_t len,
			  struct nv_err *err);
	const char *storage_dir; /* where copied disks go; NULL: the source's paths */
};

/* Waits at listen (unix:PATH or tcp:ADDR:PORT; timeout_ms -1: for ever)
 * for a source, then receives into a new folder under workdir (prep may be
 * NULL). expect NULL takes any valid record (`vm receive`: the source's
 * settings become the VM's); else the source must match it. 0: in->saved is loaded and checked; -1 with err (the source was
 * told REFUSE or FAILED, or left). Either way migration_incoming_end
 * afterwards. */
int migration_receive(const char *listen, int timeout_ms, const struct vm_config *expect,
		      const char *workdir, const struct migration_prepare *prep,
		      struct migration_incoming *in, struct nv_err *err);
/* The machine runs (ok) or could not be started (why): tell the source,
 * close the connection, remove the received files (RAM stays mapped). */
void migration_incoming_end(struct migration_incoming *in, bool ok, const char *why);

#endif
