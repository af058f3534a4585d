/* Save and restore of a whole machine. Save (machine paused): every vCPU's
 * state on its own thread, then every device in table order, then the
 * settings, into the state file; guest RAM into the memory file.
 *
 * Restore, after machine_create built the machine from the saved settings
 * over the mapped memory file (no kernel load, no boot registers):
 *   1. every vCPU (cpu_state_put: its own order, nested state included);
 *   2. every device in table order: the in-kernel irqchip and PIT first,
 *      then kvm-clock, then the devices that drive interrupt lines (they
 *      re-assert their lines against the restored IOAPIC).
 * Nothing runs until machine_start, so restore makes the vCPU ioctls from
 * the calling thread. */
#include "vmm/machine_state.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/device_snapshot.h"
#include "state/memory_file.h"
#include "state/cpu_state.h"
#include "vmm/machine_private.h"

#define SECTION_CONFIG "config"
#define SECTION_MACHINE "machine"
#define DEVICE_PREFIX "device:"

/* The two files of a saved machine's folder. */
struct saved_paths {
	char state[VM_PATH_MAX + 32];
	char memory[VM_PATH_MAX + 32];
};

static int saved_paths(const char *dir, struct saved_paths *p, struct nv_err *err)
{
	if ((size_t)snprintf(p->state, sizeof(p->state), "%s/%s", dir, MACHINE_STATE_FILE) >= sizeof(p->state) ||
	    (size_t)snprintf(p->memory, sizeof(p->memory), "%s/%s", dir, MACHINE_MEMORY_FILE) >= sizeof(p->memory))
		return nv_err_input(err, "saved state directory %s: path too long", dir);
	return 0;
}

/* The "machine" section: what must match before anything is applied. */
static int machine_section(struct device_snapshot *s, uint32_t *cpus, uint64_t *ram)
{
	snapshot_version(s, 1);
	snapshot_u32(s, cpus, "cpus");
	snapshot_u64(s, ram, "ram_bytes");
	return snapshot_done(s) ? 0 : -1;
}

struct vcpu_save_job {
	const struct cpu_state_host *host;
	struct cpu_state st;
	struct nv_err *err;
};

static int save_vcpu_on_thread(struct vcpu *v, void *arg)
{
	struct vcpu_save_job *j = arg;
	return cpu_state_get(j->host, v->fd, v->index, &j->st, j->err);
}

/* Everything collected before anything is written: sections point into
 * snapshots freed at the end. */
struct save_sections {
	struct state_section items[2 + MACHINE_MAX_CPUS + DEVICE_TABLE_MAX];
	struct device_snapshot snaps[2 + MACHINE_MAX_CPUS + DEVICE_TABLE_MAX];
	unsigned n;
	char *config_json;
};

static struct device_snapshot *add_section(struct save_sections *ss, const char *name)
{
	unsigned i = ss->n++;
	snprintf(ss->items[i].name, sizeof(ss->items[i].name), "%s", name);
	snapshot_init_save(&ss->snaps[i]);
	return &ss->snaps[i];
}

static void seal_section(struct save_sections *ss)
{
	unsigned i = ss->n - 1;
	ss->items[i].data = ss->snaps[i].buf;
	ss->items[i].len = ss->snaps[i].len;
}

char *machine_config_json(const struct machine *m)
{
	struct vm_record rec = { .config = m->cfg };
	struct json_object *doc = vm_record_to_json(&rec);
	if (!doc)
		return NULL;
	char *s = strdup(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN));
	json_object_put(doc);
	return s;
}

static int collect(struct machine *m, struct save_sections *ss, struct nv_err *err)
{
	ss->config_json = machine_config_json(m);
	if (!ss->config_json)
		return nv_err_host(err, "out of memory");
	unsigned i = ss->n++;
	snprintf(ss->items[i].name, sizeof(ss->items[i].name), SECTION_CONFIG);
	ss->items[i].data = (const uint8_t *)ss->config_json;
	ss->items[i].len = strlen(ss->config_json);

	uint32_t cpus = m->cfg.cpus;
	uint64_t ram = m->vm.mem.ram_size;
	machine_section(add_section(ss, SECTION_MACHINE), &cpus, &ram);
	seal_section(ss);

	struct cpu_state_host host;
	if (cpu_state_host_init(&host, m->vm.kvm_fd, m->vm.fd, err) < 0)
		return -1;
	int rc = 0;
	for (unsigned c = 0; c < m->nvcpus_created && rc == 0; c++) {
		struct vcpu_save_job job = { .host = &host, .err = err };
		int r = vcpu_run_on(&m->vcpus[c], save_vcpu_on_thread, &job);
		if (r < 0) {
			if (r != -1) /* not from cpu_state_get: the vCPU itself */
				nv_err_host(err, "vCPU %u cannot be saved: %s", c, strerror(-r));
			rc = -1;
			break;
		}
		char name[STATE_SECTION_NAME_MAX];
		snprintf(name, sizeof(name), "vcpu%u", c);
		struct device_snapshot *s = add_section(ss, name);
		if (cpu_state_snapshot(&job.st, s) < 0)
			rc = nv_err_host(err, "vCPU %u's state does not fit a section (%s)", c,
					 s->failed_field);
		seal_section(ss);
		cpu_state_free(&job.st);
	}
	cpu_state_host_free(&host);
	if (rc < 0)
		return -1;

	for (unsigned d = 0; d < m->devices.n; d++) {
		const struct device *dev = &m->devices.items[d];
		if (!dev->ops->snapshot)
			continue;
		char name[STATE_SECTION_NAME_MAX];
		snprintf(name, sizeof(name), DEVICE_PREFIX "%s", dev->name);
		struct device_snapshot *s = add_section(ss, name);
		if (dev->ops->snapshot(dev->dev, s, err) < 0) {
			if (s->failed)
				nv_err_host(err, "device %s cannot be saved (%s)", dev->name, s->failed_field);
			return -1;
		}
		seal_section(ss);
	}
	return 0;
}

static void sections_free(struct save_sections *ss)
{
	for (unsigned i = 0; i < ss->n; i++)
		if (strcmp(ss->items[i].name, SECTION_CONFIG) != 0)
			snapshot_free(&ss->snaps[i]);
	free(ss->config_json);
	free(ss);
}

int machine_save(struct machine *m, const char *dir, struct nv_err *err)
{
	if (vm_config_has_share(&m->cfg))
		return nv_err_input(err, "a VM with a shared folder cannot be saved yet");
	if (!m->paused)
		return nv_err_host(err, "the VM must be paused to be saved");
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return nv_err_input(err, "cannot create %s: %s", dir, strerror(errno));
	struct saved_paths p;
	if (saved_paths(dir, &p, err) < 0)
		return -1;
	struct save_sections *ss = calloc(1, sizeof(*ss));
	if (!ss)
		return nv_err_host(err, "out of memory");
	/* Memory first: a state file beside memory that is not its own would
	 * restore a broken guest; the state file's rename is the commit. */
	int rc = collect(m, ss, err);
	if (rc == 0)
		rc = memory_file_write(p.memory, &m->vm.mem, err);
	if (rc == 0)
		rc = state_file_write(p.state, ss->items, ss->n, err);
	sections_free(ss);
	return rc;
}

int machine_state_image(struct machine *m, uint8_t **image, size_t *len, struct nv_err *err)
{
	if (!m->paused)
		return nv_err_host(err, "the VM must be paused for its state");
	struct save_sections *ss = calloc(1, sizeof(*ss));
	if (!ss)
		return nv_err_host(err, "out of memory");
	int rc = collect(m, ss, err);
	if (rc == 0)
		rc = state_file_build("(migration)", ss->items, ss->n, image, len, err);
	sections_free(ss);
	return rc;
}

bool machine_saved_exists(const char *dir)
{
	struct saved_paths p;
	struct stat st;
	return saved_paths(dir, &p, NULL) == 0 && stat(p.state, &st) == 0;
}

int machine_saved_remove(const char *dir, struct nv_err *err)
{
	struct saved_paths p;
	if (saved_paths(dir, &p, err) < 0)
		return -1;
	const char *files[] = { p.state, p.memory };
	for (unsigned i = 0; i < 2; i++)
		if (unlink(files[i]) < 0 && errno != ENOENT)
			return nv_err_host(err, "cannot remove %s: %s", files[i], strerror(errno));
	rmdir(dir); /* only when empty: a checkpoint's disks may live there */
	return 0;
}

void machine_saved_free(struct machine_saved *s)
{
	state_file_free(&s->file);
	if (s->memory_fd >= 0)
		close(s->memory_fd);
	s->memory_fd = -1;
}

static const struct state_section *need(const struct machine_saved *s, const char *path,
					const char *name, struct nv_err *err)
{
	const struct state_section *sec = state_file_find(&s->file, name);
	if (!sec)
		nv_err_input(err, "state file %s: section %s is missing", path, name);
	return sec;
}

int machine_saved_load(const char *dir, struct machine_saved *s, struct nv_err *err)
{
	memset(s, 0, sizeof(*s));
	s->memory_fd = -1;
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	struct saved_paths p;
	if (saved_paths(dir, &p, err) < 0)
		return -1;
	const char *state_path = p.state;
	if (state_file_load(&s->file, state_path, err) < 0)
		return -1;
	const struct state_section *cfg = need(s, state_path, SECTION_CONFIG, err);
	const struct state_section *mach = cfg ? need(s, state_path, SECTION_MACHINE, err) : NULL;
	if (!mach)
		goto fail;
	char what[VM_PATH_MAX + 64];
	snprintf(what, sizeof(what), "state file %s: section config", state_path);
	struct vm_record rec;
	if (vm_record_parse_text((const char *)cfg->data, cfg->len, what, &rec, err) < 0 ||
	    vm_config_validate(&rec.config, what, err) < 0)
		goto fail;
	s->config = rec.config;
	uint32_t cpus = 0;
	uint64_t ram = 0;
	struct device_snapshot ms;
	snapshot_init_restore(&ms, mach->data, mach->len);
	if (machine_section(&ms, &cpus, &ram) < 0) {
		nv_err_input(err, "state file %s: section machine: bad %s", state_path, ms.failed_field);
		goto fail;
	}
	if (cpus != s->config.cpus || ram != vm_config_ram_mib(&s->config) << 20) {
		nv_err_input(err, "state file %s: section machine: %u vCPUs and %llu bytes, but the config says %u and %llu MiB",
			     state_path, cpus, (unsigned long long)ram, s->config.cpus,
			     (unsigned long long)vm_config_ram_mib(&s->config));
		goto fail;
	}
	for (unsigned c = 0; c < cpus; c++) {
		char name[STATE_SECTION_NAME_MAX];
		snprintf(name, sizeof(name), "vcpu%u", c);
		if (!need(s, state_path, name, err))
			goto fail;
	}
	s->memory_fd = memory_file_open(p.memory, ram, err);
	if (s->memory_fd < 0)
		goto fail;
	return 0;
fail:
	machine_saved_free(s);
	return -1;
}

static int restore_vcpu(struct machine *m, const struct machine_saved *saved,
			const struct cpu_state_host *host, unsigned c, const char *path,
			struct nv_err *err)
{
	char name[STATE_SECTION_NAME_MAX];
	snprintf(name, sizeof(name), "vcpu%u", c);
	const struct state_section *sec = state_file_find(&saved->file, name);
	struct cpu_state st;
	memset(&st, 0, sizeof(st));
	struct device_snapshot s;
	snapshot_init_restore(&s, sec->data, sec->len);
	int rc = cpu_state_snapshot(&st, &s);
	if (rc < 0)
		nv_err_input(err, "state file %s: section %s: bad %s", path, name, s.failed_field);
	else
		rc = cpu_state_put(host, m->vcpus[c].fd, c, &st, err);
	cpu_state_free(&st);
	return rc;
}

int machine_restore(struct machine *m, const struct machine_saved *saved, struct nv_err *err)
{
	struct saved_paths p;
	if (saved_paths(saved->dir, &p, err) < 0)
		return -1;
	const char *path = p.state;
	struct cpu_state_host host;
	if (cpu_state_host_init(&host, m->vm.kvm_fd, m->vm.fd, err) < 0)
		return -1;
	int rc = 0;
	for (unsigned c = 0; c < m->nvcpus_created && rc == 0; c++)
		rc = restore_vcpu(m, saved, &host, c, path, err);
	cpu_state_host_free(&host);
	/* Devices with threads of their own (virtio-net's I/O) hold still
	 * while their state is replaced. */
	device_table_pause(&m->devices);
	for (unsigned d = 0; d < m->devices.n && rc == 0; d++) {
		const struct device *dev = &m->devices.items[d];
		if (!dev->ops->snapshot)
			continue;
		char name[STATE_SECTION_NAME_MAX];
		snprintf(name, sizeof(name), DEVICE_PREFIX "%s", dev->name);
		const struct state_section *sec = state_file_find(&saved->file, name);
		if (!sec) {
			rc = nv_err_input(err, "state file %s: section %s is missing", path, name);
			break;
		}
		struct device_snapshot s;
		snapshot_init_restore(&s, sec->data, sec->len);
		rc = dev->ops->snapshot(dev->dev, &s, err);
		if (rc < 0 && s.failed)
			nv_err_input(err, "state file %s: section %s: bad %s", path, name, s.failed_field);
	}
	device_table_resume(&m->devices);
	/* Another VM may continue from this same state: a new generation, so
	 * that the guest reseeds its RNG (after the IOAPIC has its state).
	 * Not after a live migration: the one VM moved, as Hyper-V keeps it. */
	if (rc == 0 && !saved->same_generation)
		machine_new_generation(m, true);
	/* Every restore, not only a migration's (QEMU announces after any
	 * incoming stream, a file's too): the adapters come back on new ports
	 * whose MACs the switch forgot with the old ones, perhaps on another
	 * host; five broadcasts per adapter cost nothing. */
	if (rc == 0)
		m->announce_on_start = true;
	return rc;
}
