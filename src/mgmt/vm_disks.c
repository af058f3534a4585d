#include "mgmt/vm_disks.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "disk/disk_chain.h"
#include "disk/disk_image.h"
#include "mgmt/vm_checkpoint.h"
#include "mgmt/vm_store.h"

bool vm_disks_writable(const struct vm_config *c)
{
	for (unsigned i = 0; i < c->ndisks; i++)
		if (!c->disks[i].readonly)
			return true;
	return false;
}

int vm_disks_overlay_paths(const char *vm, const struct vm_config *c, const char *cp,
			   char (*out)[VM_PATH_MAX], struct nv_err *err)
{
	char dir[VM_PATH_MAX];
	if (vm_store_path(vm, VM_DISKS_DIR, dir, sizeof(dir), err) < 0)
		return -1;
	if (vm_disks_writable(c) && mkdir(dir, 0700) < 0 && errno != EEXIST)
		return nv_err_host(err, "cannot create %s: %s", dir, strerror(errno));
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	/* The time keeps names unique when a deleted checkpoint's name comes
	 * back while its images are still needed. */
	unsigned long long ms = (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000;
	for (unsigned i = 0; i < c->ndisks; i++) {
		out[i][0] = '\0';
		if (!c->disks[i].readonly &&
		    (size_t)snprintf(out[i], VM_PATH_MAX, "%s/disk%u-%s-%llx.qcow2", dir, i, cp, ms) >= VM_PATH_MAX)
			return nv_err_input(err, "disk image path too long in %s", dir);
	}
	return 0;
}

int vm_disks_branch(struct vm_config *c, const char (*overlays)[VM_PATH_MAX], struct nv_err *err)
{
	unsigned i;
	for (i = 0; i < c->ndisks; i++) {
		if (!overlays[i][0])
			continue;
		uint64_t size;
		if (disk_chain_size(c->disks[i].path, &size, err) < 0 ||
		    disk_chain_branch(c->disks[i].path, size, overlays[i], err) < 0)
			break;
	}
	if (i < c->ndisks) { /* all or none */
		while (i-- > 0)
			if (overlays[i][0]) {
				disk_chain_forget(overlays[i]);
				unlink(overlays[i]);
			}
		return -1;
	}
	for (i = 0; i < c->ndisks; i++)
		if (overlays[i][0])
			snprintf(c->disks[i].path, VM_PATH_MAX, "%s", overlays[i]);
	return 0;
}

/* ---- collecting: what the VM's record and checkpoints still need ---- */

struct image {
	char path[VM_PATH_MAX];
	char parent[VM_PATH_MAX]; /* "" = a base image (no record) */
	bool owned;               /* in the VM's disks folder: ours to remove */
	bool named;               /* a disk of the record or of a checkpoint */
	bool needed;              /* named, or under a named one */
	unsigned children;
	size_t child;
};

struct graph {
	struct image *v;
	size_t n, cap;
	struct vm_checkpoint *cps;
	size_t ncps;
};

static struct image *find(struct graph *g, const char *path)
{
	for (size_t i = 0; i < g->n; i++)
		if (!strcmp(g->v[i].path, path))
			return &g->v[i];
	return NULL;
}

static struct image *add(struct graph *g, const char *path, struct nv_err *err)
{
	struct image *im = find(g, path);
	if (im)
		return im;
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 32;
		struct image *v = realloc(g->v, cap * sizeof(*v));
		if (!v) {
			nv_err_host(err, "out of memory");
			return NULL;
		}
		g->v = v;
		g->cap = cap;
	}
	im = &g->v[g->n++];
	memset(im, 0, sizeof(*im));
	snprintf(im->path, sizeof(im->path), "%s", path);
	return im;
}

static int add_named(struct graph *g, const struct vm_config *c, struct nv_err *err)
{
	for (unsigned i = 0; i < c->ndisks; i++) {
		if (c->disks[i].readonly)
			continue;
		struct image *im = add(g, c->disks[i].path, err);
		if (!im)
			return -1;
		im->named = true;
	}
	return 0;
}

static int build(struct graph *g, const char *vm, const struct vm_record *r, struct nv_err *err)
{
	char dir[VM_PATH_MAX];
	if (vm_store_path(vm, VM_DISKS_DIR, dir, sizeof(dir), err) < 0)
		return -1;
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			size_t len = strlen(e->d_name);
			if (len < 6 || strcmp(e->d_name + len - 6, ".qcow2"))
				continue;
			char path[VM_PATH_MAX];
			if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= sizeof(path))
				continue; /* not one of ours: they fit */
			struct image *im = add(g, path, err);
			if (!im) {
				closedir(d);
				return -1;
			}
			im->owned = true;
		}
		closedir(d);
	}
	if (add_named(g, &r->config, err) < 0)
		return -1;
	for (size_t k = 0; k < g->ncps; k++)
		if (add_named(g, &g->cps[k].record.config, err) < 0)
			return -1;
	for (size_t i = 0; i < g->n; i++) { /* g->n grows as parents come in */
		char parent[VM_PATH_MAX];
		if (disk_chain_backing(g->v[i].path, parent, sizeof(parent), err) < 0)
			return -1;
		snprintf(g->v[i].parent, sizeof(g->v[i].parent), "%s", parent);
		if (parent[0] && !add(g, parent, err))
			return -1;
	}
	for (size_t i = 0; i < g->n; i++) {
		if (!g->v[i].named)
			continue;
		/* Up the chain; its length is bounded by the images there are. */
		struct image *im = &g->v[i];
		for (size_t depth = 0; im && !im->needed && depth <= g->n; depth++) {
			im->needed = true;
			im = im->parent[0] ? find(g, im->parent) : NULL;
		}
	}
	for (size_t i = 0; i < g->n; i++) {
		struct image *p = g->v[i].needed && g->v[i].parent[0] ? find(g, g->v[i].parent) : NULL;
		if (p) {
			p->children++;
			p->child = i;
		}
	}
	return 0;
}

static void rename_disks(struct vm_config *c, const char *from, const char *to)
{
	for (unsigned i = 0; i < c->ndisks; i++)
		if (!strcmp(c->disks[i].path, from))
			snprintf(c->disks[i].path, sizeof(c->disks[i].path), "%s", to);
}

/* Overlay top's clusters into base, then everything that pointed at top
 * points at base, then top goes. */
static int merge(struct graph *g, const char *vm, struct vm_record *r, const struct image *base,
		 const struct image *top, struct nv_err *err)
{
	struct disk_chain *c = malloc(sizeof(*c));
	if (!c)
		return nv_err_host(err, "out of memory");
	const char *paths[DISK_CHAIN_MAX];
	int rc = disk_chain_resolve(base->path, c, err);
	if (rc == 0) {
		disk_chain_array(c, paths);
		rc = disk_image_commit(top->path, paths, c->n, err);
	}
	free(c);
	if (rc < 0)
		return -1;
	enum disk_format f;
	if (disk_image_probe(base->path, &f, err) < 0)
		return -1;
	for (size_t i = 0; i < g->n; i++)
		if (g->v[i].needed && !strcmp(g->v[i].parent, top->path) &&
		    (qcow2_set_backing(g->v[i].path, base->path, f, err) < 0 ||
		     disk_chain_record(g->v[i].path, base->path, err) < 0))
			return -1;
	for (size_t k = 0; k < g->ncps; k++) {
		struct vm_config before = g->cps[k].record.config;
		rename_disks(&g->cps[k].record.config, top->path, base->path);
		if (memcmp(&before, &g->cps[k].record.config, sizeof(before)) &&
		    vm_checkpoint_write(vm, &g->cps[k], err) < 0)
			return -1;
	}
	rename_disks(&r->config, top->path, base->path);
	disk_chain_forget(top->path);
	unlink(top->path);
	return 0;
}

/* One pass: removes what nothing needs, then does at most one merge.
 * 1 when it merged (the graph is stale: build again), 0 when done. */
static int collect_once(const char *vm, struct vm_record *r, struct nv_err *err)
{
	struct graph g = { 0 };
	int rc = vm_checkpoint_list(vm, &g.cps, &g.ncps, err);
	if (rc == 0)
		rc = build(&g, vm, r, err);
	for (size_t i = 0; rc == 0 && i < g.n; i++)
		if (g.v[i].owned && !g.v[i].needed) {
			disk_chain_forget(g.v[i].path);
			unlink(g.v[i].path);
		}
	for (size_t i = 0; rc == 0 && i < g.n; i++) {
		const struct image *x = &g.v[i];
		if (x->needed && !x->named && x->children == 1 && g.v[x->child].owned) {
			rc = merge(&g, vm, r, x, &g.v[x->child], err);
			if (rc == 0)
				rc = 1;
			break;
		}
	}
	free(g.v);
	free(g.cps);
	return rc;
}

int vm_disks_collect(const char *vm, struct vm_record *r, struct nv_err *err)
{
	bool moved = false;
	int rc = 1;
	for (unsigned pass = 0; pass < 2 * DISK_CHAIN_MAX && rc == 1; pass++) {
		rc = collect_once(vm, r, err);
		moved |= rc == 1;
	}
	if (rc > 0)
		rc = 0;
	if (moved) {
		struct nv_err ignored = { 0 };
		if (vm_store_save(r, rc < 0 ? &ignored : err) < 0)
			rc = -1;
	}
	return rc;
}
