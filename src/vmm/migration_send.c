#include "vmm/migration_send.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "state/memory_file.h"
#include "state/migration_channel.h"
#include "vmm/machine_private.h"
#include "vmm/machine_state.h"
#include "vmm/migration_disks.h"
#include "util/mono_clock.h"

#define REPLY_TIMEOUT_MS 30000
#define RESUME_TIMEOUT_MS 120000
#define SEND_TIMEOUT_S 30

struct sender {
	struct machine *m;
	const struct migration_options *o;
	struct migration_report *r;
	int fd;
	uint64_t npages, words;
	uint64_t *dirty;   /* this round's pages */
	uint64_t *written; /* the devices' writes since the start */
	int64_t start_ms;
	uint64_t paced_bytes; /* bytes counted against --bandwidth */
	int64_t told_ms;      /* the last progress report */
	uint64_t dirty_kbps;
	struct mig_disks *disks; /* --copy-disks, else NULL */
};

static uint64_t count_bits(const uint64_t *b, uint64_t words)
{
	uint64_t n = 0;
	for (uint64_t i = 0; i < words; i++)
		n += (uint64_t)__builtin_popcountll(b[i]);
	return n;
}

/* A progress report now, or when MIGRATION_PROGRESS_MS passed (!now). */
static void tell(struct sender *s, uint64_t left_pages, bool now)
{
	int64_t t = mono_ms();
	if (!s->o->progress || (!now && t - s->told_ms < MIGRATION_PROGRESS_MS))
		return;
	s->told_ms = t;
	struct migration_progress p = { .round = s->r->rounds + 1, .bytes = s->r->bytes,
					.left_bytes = left_pages * MIG_PAGE, .dirty_kbps = s->dirty_kbps,
					.elapsed_ms = t - s->start_ms };
	s->o->progress(s->o->progress_opaque, &p);
}

static uint8_t *page_at(const struct sender *s, uint64_t pg)
{
	return s->m->vm.mem.mapping + pg * MIG_PAGE;
}

/* --bandwidth: never ahead of what the limit allows since the start. */
static void pace(struct sender *s, uint64_t bytes)
{
	s->r->bytes += bytes;
	if (!s->o->bandwidth_mbps)
		return;
	s->paced_bytes += bytes;
	int64_t due = (int64_t)(s->paced_bytes / ((uint64_t)s->o->bandwidth_mbps * 1000)); /* ms */
	int64_t ahead = due - (mono_ms() - s->start_ms);
	if (ahead > 0)
		nanosleep(&(struct timespec){ .tv_sec = ahead / 1000, .tv_nsec = (ahead % 1000) * 1000000 }, NULL);
}

static void pace_disk(void *opaque, uint64_t bytes)
{
	pace(opaque, bytes);
}

static int send_pages(struct sender *s, uint64_t first, uint32_t count, struct nv_err *err)
{
	uint8_t range[MIG_RANGE_BYTES];
	mig_range_put(range, first, count);
	if (mig_send(s->fd, MIG_PAGES, range, sizeof(range), page_at(s, first), (size_t)count * MIG_PAGE, err) < 0)
		return -1;
	s->r->pages += count;
	pace(s, MIG_HEADER_BYTES + MIG_RANGE_BYTES + (uint64_t)count * MIG_PAGE);
	return 0;
}

static int send_zero(struct sender *s, uint64_t first, uint32_t count, struct nv_err *err)
{
	uint8_t range[MIG_RANGE_BYTES];
	mig_range_put(range, first, count);
	if (mig_send(s->fd, MIG_ZERO, range, sizeof(range), NULL, 0, err) < 0)
		return -1;
	s->r->zero_pages += count;
	pace(s, MIG_HEADER_BYTES + MIG_RANGE_BYTES);
	return 0;
}

/* Pages of want[] (a bitmap; NULL: every page the host backed) in runs:
 * data in batches, zero pages as ZERO runs (skipped in the first round:
 * the target's memory starts zero). The count of pages considered. */
static int send_set(struct sender *s, const uint64_t *want, bool first_round, uint64_t *sent,
		    struct nv_err *err)
{
	const struct guest_mem *mem = &s->m->vm.mem;
	uint64_t base = 0, n = 0;
	uint64_t total = want ? count_bits(want, s->words) : s->npages;
	for (int i = 0; i < mem->nregions; i++) {
		const struct guest_mem_region *reg = &mem->regions[i];
		uint64_t pages = reg->size / MIG_PAGE;
		unsigned char *backed = want ? NULL : memory_backed_pages(mem, reg);
		uint64_t run = 0, zrun = 0;
		uint32_t nrun = 0, nzrun = 0;
		int rc = 0;
		for (uint64_t p = 0; p <= pages && rc == 0; p++) {
			uint64_t pg = base + p;
			bool in = p < pages && (want ? (want[pg / 64] >> (pg % 64) & 1) : (!backed || backed[p]));
			bool zero = in && memory_page_is_zero(page_at(s, pg));
			bool data = in && !zero;
			zero = zero && !first_round;
			n += in;
			if ((p & 4095) == 0)
				tell(s, total > n ? total - n : 0, false);
			if (nrun && (!data || nrun == MIG_MAX_BATCH)) {
				rc = send_pages(s, run, nrun, err);
				nrun = 0;
			}
			if (nzrun && (!zero || nzrun == MIG_MAX_ZERO_RUN)) {
				rc = rc ? rc : send_zero(s, zrun, nzrun, err);
				nzrun = 0;
			}
			if (data && nrun++ == 0)
				run = pg;
			if (zero && nzrun++ == 0)
				zrun = pg;
		}
		free(backed);
		if (rc < 0)
			return -1;
		base += pages;
	}
	*sent = n;
	return 0;
}

/* The target's answer; REFUSE, FAILED or ABANDON become err. */
static int await(struct sender *s, enum mig_type want, int timeout_ms, struct nv_err *err)
{
	uint8_t raw[MIG_HEADER_BYTES], payload[MIG_MAX_TEXT];
	char text[MIG_MAX_TEXT + 1];
	struct mig_hdr h;
	if (mig_recv_exact(s->fd, raw, sizeof(raw), timeout_ms, err) < 0 || mig_header_parse(raw, &h, err) < 0)
		return -1;
	if (h.length > sizeof(payload))
		return nv_err_input(err, "migration stream: the target sent %s of %u bytes", mig_type_name(h.type),
				    h.length);
	if (mig_recv_exact(s->fd, payload, h.length, timeout_ms, err) < 0 ||
	    mig_reply_parse(&h, payload, text, err) < 0)
		return -1;
	if (h.type == want)
		return 0;
	if (h.type == MIG_REFUSE || h.type == MIG_FAILED || h.type == MIG_ABANDON)
		return nv_err_input(err, "the target %s: %s",
				    h.type == MIG_REFUSE ? "refused the VM" : h.type == MIG_FAILED ? "failed" : "abandoned",
				    text);
	return nv_err_input(err, "migration stream: the target sent %s where %s was expected",
			    mig_type_name(h.type), mig_type_name(want));
}

static int handshake(struct sender *s, struct nv_err *err)
{
	uint8_t start[16], head[16];
	mig_start_put(start, s->disks ? MIG_VERSION_DISKS : MIG_VERSION_MEMORY);
	char *json = machine_config_json(s->m);
	if (!json)
		return nv_err_host(err, "out of memory");
	mig_config_put(head, s->m->vm.mem.ram_size, s->m->cfg.cpus);
	int rc = mig_send(s->fd, MIG_START, start, sizeof(start), NULL, 0, err);
	if (rc == 0 && s->disks)
		rc = mig_disks_announce(s->disks, err);
	if (rc == 0)
		rc = mig_send(s->fd, MIG_CONFIG, head, sizeof(head), json, strlen(json), err);
	if (rc == 0)
		pace(s, 2 * MIG_HEADER_BYTES + 32 + strlen(json));
	free(json);
	if (rc == 0)
		return await(s, MIG_ACCEPT, REPLY_TIMEOUT_MS, err);
	/* A target that refused START or a DISKINFO has said why before it left. */
	struct nv_err refused = { 0 };
	if (await(s, MIG_ACCEPT, 1000, &refused) < 0 && strncmp(refused.msg, "the target refused", 18) == 0)
		*err = refused;
	return -1;
}

/* Rounds while running, until the rest fits the downtime (1 when it did,
 * with that rest in s->dirty, unsent; 0 when the rounds ran out, or 1 then
 * too with --pause-to-converge: the caller pauses and sends the rest). */
static int precopy(struct sender *s, unsigned downtime, unsigned max_rounds, struct nv_err *err)
{
	uint64_t sent;
	int64_t t0 = mono_ms();
	uint64_t b0 = s->r->bytes;
	if (send_set(s, NULL, true, &sent, err) < 0)
		return -1;
	s->r->rounds = 1;
	for (;;) {
		int64_t ms = mono_ms() - t0;
		uint64_t bytes = s->r->bytes - b0;
		if (ms > 0 && bytes > 0)
			s->r->rate_kbps = bytes / (uint64_t)ms; /* bytes per ms = KB/s */
		memset(s->dirty, 0, s->words * 8);
		if (kvm_vm_dirty_fetch(&s->m->vm, s->dirty, err) < 0)
			return -1;
		uint64_t left = count_bits(s->dirty, s->words) * MIG_PAGE;
		if (ms > 0)
			s->dirty_kbps = left / (uint64_t)ms; /* written during a round that long */
		tell(s, left / MIG_PAGE, true);
		uint64_t rate = s->r->rate_kbps ? s->r->rate_kbps : 1; /* bytes per ms */
		if (left / rate <= downtime)
			return 1;
		if (s->r->rounds >= max_rounds && s->o->pause_to_converge) {
			s->r->paused_to_converge = true;
			return 1;
		}
		if (s->r->rounds >= max_rounds) {
			nv_err_input(err, "the guest writes memory faster than the link carries it: %llu KiB "
					    "still written after %u rounds at %llu KB/s (the VM runs on here)",
					    (unsigned long long)(left >> 10), s->r->rounds,
					    (unsigned long long)s->r->rate_kbps);
			return 0;
		}
		t0 = mono_ms();
		b0 = s->r->bytes;
		if (send_set(s, s->dirty, false, &sent, err) < 0)
			return -1;
		s->r->rounds++;
	}
}

/* Paused: the last pages (the vCPUs' since the last round, every page a
 * device may have written), the state, COMPLETE, and the target's word. */
static int final_round(struct sender *s, struct nv_err *err)
{
	/* s->dirty still holds what the last check found (not sent yet). */
	if (kvm_vm_dirty_fetch(&s->m->vm, s->dirty, err) < 0)
		return -1;
	for (uint64_t i = 0; i < s->words; i++)
		s->dirty[i] |= __atomic_load_n(&s->written[i], __ATOMIC_RELAXED);
	uint64_t sent;
	if (send_set(s, s->dirty, false, &sent, err) < 0 || (s->disks && mig_disks_round(s->disks, err) < 0))
		return -1;
	s->r->final_pages = sent;
	s->r->rounds++;
	uint8_t *image = NULL;
	size_t len = 0;
	if (machine_state_image(s->m, &image, &len, err) < 0)
		return -1;
	int rc = mig_send(s->fd, MIG_STATE, image, len, NULL, 0, err);
	free(image);
	if (rc == 0)
		rc = mig_send(s->fd, MIG_COMPLETE, NULL, 0, NULL, 0, err);
	if (rc < 0)
		return -1;
	pace(s, 2 * MIG_HEADER_BYTES + len);
	return await(s, MIG_RESUMED, RESUME_TIMEOUT_MS, err);
}

static int migrate(struct sender *s, struct nv_err *err)
{
	unsigned downtime = s->o->downtime_ms ? s->o->downtime_ms : MIGRATION_DEFAULT_DOWNTIME_MS;
	unsigned rounds = s->o->max_rounds ? s->o->max_rounds : MIGRATION_MAX_ROUNDS;
	if (handshake(s, err) < 0)
		return -1;
	guest_mem_track_writes(&s->m->vm.mem, s->written);
	if (kvm_vm_dirty_log(&s->m->vm, true, err) < 0)
		return -1;
	if (s->disks && mig_disks_precopy(s->disks, err) < 0)
		return -1;
	if (precopy(s, downtime, rounds, err) <= 0)
		return -1; /* 0: did not converge, err says so */
	if (s->disks && mig_disks_round(s->disks, err) < 0)
		return -1; /* what the guest wrote during the memory's rounds */
	int64_t paused_at = mono_ms();
	machine_pause(s->m);
	if (final_round(s, err) < 0) {
		machine_resume(s->m);
		return -1;
	}
	s->r->downtime_ms = mono_ms() - paused_at;
	return 0;
}

int migration_send(struct machine *m, const struct migration_options *o, struct migration_report *r,
		   struct nv_err *err)
{
	memset(r, 0, sizeof(*r));
	if (vm_config_has_share(machine_config(m)))
		return nv_err_input(err, "a VM with a shared folder cannot be migrated yet");
	if (machine_paused(m))
		return nv_err_input(err, "the VM is paused: resume it before migrating it");
	struct sender s = { .m = m, .o = o, .r = r, .start_ms = mono_ms() };
	s.npages = m->vm.mem.ram_size / MIG_PAGE;
	s.words = (s.npages + 63) / 64;
	s.dirty = calloc(s.words, 8);
	s.written = calloc(s.words, 8);
	if (!s.dirty || !s.written) {
		free(s.dirty);
		free(s.written);
		return nv_err_host(err, "out of memory");
	}
	s.fd = o->fd;
	if (o->copy_disks && !(s.disks = mig_disks_new(m, s.fd, (struct mig_disks_pace){ pace_disk, &s }, err))) {
		free(s.dirty);
		free(s.written);
		return -1;
	}
	struct timeval tv = { .tv_sec = SEND_TIMEOUT_S };
	setsockopt(s.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	int rc = migrate(&s, err);
	if (rc < 0) { /* the target discards what it has; it may be gone */
		const char *why = err->msg;
		mig_send(s.fd, MIG_ABANDON, why, strlen(why) > MIG_MAX_TEXT ? MIG_MAX_TEXT : strlen(why), NULL, 0, NULL);
	}
	shutdown(s.fd, SHUT_RDWR); /* the client's copy too: the target sees the end */
	guest_mem_track_writes(&m->vm.mem, NULL);
	/* Left on, logging would only cost speed: its failure is no failure. */
	kvm_vm_dirty_log(&m->vm, false, NULL);
	r->disk_bytes = mig_disks_sent(s.disks);
	r->disk_blocks_again = mig_disks_again(s.disks);
	mig_disks_free(s.disks);
	r->total_ms = mono_ms() - s.start_ms;
	free(s.dirty);
	free(s.written);
	return rc;
}
