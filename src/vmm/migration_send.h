/* Live migration's source side (pre-copy): a running machine's RAM is sent
 * while it runs, round after round of the pages written meanwhile, until
 * the rest would move within the downtime limit at the measured link rate;
 * then the machine pauses, the last pages and its state (the same sections
 * machine_save writes) go, and the target resumes it. Written pages: KVM's
 * dirty log for the vCPUs' writes; for the VMM's own (virtio used rings and
 * the buffers devices fill) guest_mem's device-write bitmap, kept for the
 * whole migration and sent in full in the paused round. */
#ifndef NESTVM_VMM_MIGRATION_SEND_H
#define NESTVM_VMM_MIGRATION_SEND_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"
#include "vmm/machine.h"

#define MIGRATION_DEFAULT_DOWNTIME_MS 300
#define MIGRATION_MAX_ROUNDS 30

/* Where a migration is, for a progress line. */
struct migration_progress {
	unsigned round;
	uint64_t bytes;      /* on the wire so far */
	uint64_t left_bytes; /* this round's rest, or the pages written since the last */
	uint64_t dirty_kbps; /* how fast the guest wrote pages in the last round (0: not known yet) */
	int64_t elapsed_ms;
};

struct migration_options {
	const char *to;          /* unix:PATH or tcp:ADDR:PORT: its name */
	int fd;                  /* connected to it (not closed here) */
	unsigned downtime_ms;    /* 0: MIGRATION_DEFAULT_DOWNTIME_MS */
	unsigned bandwidth_mbps; /* 0: no limit (megabytes per second) */
	unsigned max_rounds;     /* 0: MIGRATION_MAX_ROUNDS */
	/* NULL, or told where it is at most every MIGRATION_PROGRESS_MS and
	 * after each round (on the migrating thread). */
	void (*progress)(void *opaque, const struct migration_progress *p);
	void *progress_opaque;
	/* Rounds ran out and the rest still does not fit the downtime: pause
	 * and send it anyway (the downtime is then what it takes) rather than
	 * fail. Off: the migration fails and the VM runs on here. */
	bool pause_to_converge;
	bool copy_disks;         /* writable disks' content too (vmm/migration_disks.h) */
};

#define MIGRATION_PROGRESS_MS 500

struct migration_report {
	int64_t total_ms;
	int64_t downtime_ms;  /* pause to the target's RESUMED */
	unsigned rounds;      /* the paused round included */
	uint64_t bytes;       /* on the wire */
	uint64_t pages;       /* PAGES sent */
	uint64_t zero_pages;  /* ZERO sent (pages zeroed since sent) */
	uint64_t final_pages; /* sent while paused */
	uint64_t rate_kbps;   /* measured link rate, KB/s */
	bool paused_to_converge; /* the rounds ran out: paused with more than the downtime left */
	uint64_t disk_bytes;  /* --copy-disks: disk data sent */
	uint64_t disk_blocks_again; /* of it, blocks the guest wrote after they went */
};

/* Migrates m (running) over o->fd. 0: the target runs it now and m stays
 * paused (the caller ends it). -1 with err: m runs on as before (anything
 * sent is abandoned). */
int migration_send(struct machine *m, const struct migration_options *o, struct migration_report *r,
		   struct nv_err *err);

#endif
