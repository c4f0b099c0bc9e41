// SPDX-License-Identifier: MIT
/*
 * image_catalog.c - the named file systems of a store (image_internal.h):
 * every blob that carries the internal xattr "vhostfs.name" is one.
 *
 * The catalog is not kept anywhere else: each look-up walks the blob list
 * and reads the name of each blob.  Stores hold a few file systems (and
 * maybe some unnamed blobs), and the catalog is read only when an image is
 * opened or changed, so a scan is cheaper than keeping a second copy of
 * the truth consistent across crashes.
 *
 * Crash windows: a new file system (mkfs, snapshot, clone) is a blob made
 * durable first and named right after.  A crash between the two leaves an
 * unnamed blob, which the catalog does not show and nothing mounts; it
 * costs only its space (vhostfs dump lists it).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "app/cmd_blob_common.h"
#include "app/image_impl.h"

#define SCAN_BATCH 64

int vimage_name_check(const char *name)
{
	size_t n;

	if (!name)
		return -EINVAL;
	n = strlen(name);
	/* a leading '-' reads as an option, a leading '.' as a hidden file */
	if (n == 0 || n > VIMAGE_NAME_MAX || name[0] == '-' || name[0] == '.')
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '_' ||
			  c == '-';

		if (!ok)
			return -EINVAL;
	}
	return 0;
}

/* --- blob steps (fs thread) ----------------------------------------------- */

struct bstep {
	uint64_t id;
	uint64_t after;
	uint64_t *ids;
	size_t max;
	size_t count;
	struct blob *b;
	char *buf;
	size_t size;
	size_t len;
	uint64_t out_id;
	const char *value;
	const struct bfs_mkfs_opts *mkfs;
};

static void st_list(struct vimage *im, void *arg, blob_cb cb, void *cb_arg)
{
	struct bstep *s = arg;

	blob_list(im->bs, s->after, s->ids, s->max, &s->count, cb, cb_arg);
}

static void st_open(struct vimage *im, void *arg, blob_cb cb, void *cb_arg)
{
	struct bstep *s = arg;

	blob_open(im->bs, s->id, &s->b, cb, cb_arg);
}

static void st_close(struct vimage *im, void *arg, blob_cb cb, void *cb_arg)
{
	struct bstep *s = arg;

	blob_close(s->b, cb, cb_arg);
}

static void st_name_get(struct vimage *im, void *arg, blob_cb cb,
			void *cb_arg)
{
	struct bstep *s = arg;

	blob_xattr_get(s->b, BLOB_XATTR_INTERNAL, VIMAGE_NAME_XATTR, s->buf,
		       s->size, &s->len, cb, cb_arg);
}

static void st_name_set(struct vimage *im, void *arg, blob_cb cb,
			void *cb_arg)
{
	struct bstep *s = arg;

	blob_xattr_set(s->b, BLOB_XATTR_INTERNAL, VIMAGE_NAME_XATTR, s->value,
		       strlen(s->value), cb, cb_arg);
}

static void st_sync(struct vimage *im, void *arg, blob_cb cb, void *cb_arg)
{
	struct bstep *s = arg;

	blob_sync(s->b, cb, cb_arg);
}

static void st_delete(struct vimage *im, void *arg, blob_cb cb, void *cb_arg)
{
	struct bstep *s = arg;

	blob_delete(im->bs, s->id, cb, cb_arg);
}

static void st_snapshot(struct vimage *im, void *arg, blob_cb cb,
			void *cb_arg)
{
	struct bstep *s = arg;

	blob_snapshot(s->b, &s->out_id, cb, cb_arg);
}

static void st_clone(struct vimage *im, void *arg, blob_cb cb, void *cb_arg)
{
	struct bstep *s = arg;

	blob_clone(im->bs, s->after, &s->id, cb, cb_arg);
}

static void st_mkfs(struct vimage *im, void *arg, blob_cb cb, void *cb_arg)
{
	struct bstep *s = arg;

	bfs_mkfs(im->bs, s->mkfs, &s->id, cb, cb_arg);
}

/* --- reading the catalog -------------------------------------------------- */

/* Close s->b; @rc unless it is 0 or more and the close failed. */
static int blob_done(struct vimage *im, struct bstep *s, int rc)
{
	int rc2 = vimage_run(im, st_close, s);

	return rc < 0 || rc2 == 0 ? rc : rc2;
}

static void entry_fill(struct vimage_entry *e, const struct blob *b,
		       const char *name)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->blob_id = blob_get_id(b);
	e->parent_id = blob_get_parent(b);
	e->clusters = blob_get_clusters(b);
	e->allocated = blob_get_allocated(b);
	if (blob_is_read_only(b))
		e->kind = VIMAGE_SNAPSHOT;
	else if (e->parent_id != BLOB_ID_NONE)
		e->kind = VIMAGE_CLONE;
	else
		e->kind = VIMAGE_VOLUME;
}

/*
 * The entry of blob @id: 1 when it is a file system, 0 when it has no
 * name (not ours) or a name that is not valid (from the disk: checked),
 * or an error.
 */
static int entry_read(struct vimage *im, uint64_t id, struct vimage_entry *e)
{
	char name[VIMAGE_NAME_MAX + 1];
	struct bstep s = { .id = id, .buf = name, .size = VIMAGE_NAME_MAX };
	int rc = vimage_run(im, st_open, &s);

	if (rc < 0)
		return rc;
	rc = vimage_run(im, st_name_get, &s);
	if (rc == -ENODATA || rc == -ERANGE)
		return blob_done(im, &s, 0);
	if (rc == 0) {
		name[s.len] = '\0';
		if (s.len != strlen(name) || vimage_name_check(name) < 0)
			return blob_done(im, &s, 0);
		entry_fill(e, s.b, name);
		rc = 1;
	}
	return blob_done(im, &s, rc);
}

typedef int (*entry_fn)(void *ctx, const struct vimage_entry *e);

/* Call @fn for each file system in on-disk order; stops at its nonzero. */
static int catalog_scan(struct vimage *im, entry_fn fn, void *ctx)
{
	uint64_t ids[SCAN_BATCH];
	struct bstep s = { .after = BLOB_ID_NONE, .ids = ids,
			   .max = SCAN_BATCH };
	struct vimage_entry e;
	int rc;

	for (;;) {
		rc = vimage_run(im, st_list, &s);
		if (rc < 0 || s.count == 0)
			return rc;
		for (size_t i = 0; i < s.count; i++) {
			rc = entry_read(im, ids[i], &e);
			if (rc == 1)
				rc = fn(ctx, &e);
			if (rc)
				return rc;
		}
		s.after = ids[s.count - 1];
	}
}

struct find_ctx {
	const char *name;
	struct vimage_entry *out;
};

static int find_fn(void *ctx, const struct vimage_entry *e)
{
	struct find_ctx *f = ctx;

	if (strcmp(e->name, f->name) != 0)
		return 0;
	*f->out = *e;
	return 1;
}

int vimage_find(struct vimage *im, const char *name,
		struct vimage_entry *out)
{
	struct find_ctx f = { .name = name, .out = out };
	int rc = catalog_scan(im, find_fn, &f);

	if (rc == 1)
		return 0;
	return rc < 0 ? rc : -ENOENT;
}

struct list_ctx {
	struct vimage_entry *v;
	size_t n;
	size_t cap;
};

static int list_fn(void *ctx, const struct vimage_entry *e)
{
	struct list_ctx *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		struct vimage_entry *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *e;
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct vimage_entry *x = a, *y = b;

	return strcmp(x->name, y->name);
}

int vimage_list(struct vimage *im, struct vimage_entry **out, size_t *n)
{
	struct list_ctx l = { 0 };
	int rc = catalog_scan(im, list_fn, &l);

	if (rc < 0) {
		free(l.v);
		return rc;
	}
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), entry_cmp);
	*out = l.v;
	*n = l.n;
	return 0;
}

void vimage_names_str(struct vimage *im, char *buf, size_t len)
{
	struct vimage_entry *v = NULL;
	size_t n = 0, used = 0;

	buf[0] = '\0';
	if (vimage_list(im, &v, &n) < 0)
		return;
	for (size_t i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
					 i ? ", " : "", v[i].name);
	free(v);
}

/* --- changing the catalog ------------------------------------------------- */

static int catalog_writable(struct vimage *im)
{
	if (im->store_read_only) {
		vimage_err(im, "%s is open read-only: the catalog cannot "
			   "change", im->path);
		return -EROFS;
	}
	return 0;
}

/* A valid name that no file system of the store has yet. */
static int name_free(struct vimage *im, const char *name)
{
	struct vimage_entry e;
	int rc;

	if (vimage_name_check(name) < 0) {
		vimage_err(im, "'%s' is not a valid file-system name (1 to %d "
			   "of A-Z a-z 0-9 . _ -, not starting with '-' or "
			   "'.')", name ? name : "", VIMAGE_NAME_MAX);
		return -EINVAL;
	}
	rc = vimage_find(im, name, &e);
	if (rc == 0) {
		vimage_err(im, "%s already has a file system named '%s'",
			   im->path, name);
		return -EEXIST;
	}
	return rc == -ENOENT ? 0 : rc;
}

/* The file system @name, or a message naming those there are. */
static int must_find(struct vimage *im, const char *name,
		     struct vimage_entry *e)
{
	char names[512];
	int rc = vimage_find(im, name, e);

	if (rc == -ENOENT) {
		vimage_names_str(im, names, sizeof(names));
		vimage_err(im, "no file system named '%s' in %s; it has: %s",
			   name, im->path, names[0] ? names : "none");
	} else if (rc < 0) {
		vimage_err(im, "cannot read the catalog of %s: %s", im->path,
			   bt_strerror(rc));
	}
	return rc;
}

/* Give blob @id the catalog name @name, durably. */
static int name_set(struct vimage *im, uint64_t id, const char *name)
{
	struct bstep s = { .id = id, .value = name };
	int rc = vimage_run(im, st_open, &s);

	if (rc < 0)
		return rc;
	rc = vimage_run(im, st_name_set, &s);
	if (rc == 0)
		rc = vimage_run(im, st_sync, &s);
	return blob_done(im, &s, rc);
}

static int first_err(int a, int b)
{
	return a < 0 ? a : b;
}

static int change_failed(struct vimage *im, const char *what,
			 const char *name, int rc)
{
	vimage_err(im, "%s '%s' in %s failed: %s", what, name, im->path,
		   bt_strerror(rc));
	return rc;
}

int vimage_create(struct vimage *im, const char *name,
		  const struct bfs_mkfs_opts *opts)
{
	struct bfs_mkfs_opts zero = { 0 };
	struct bstep s = { .mkfs = opts ? opts : &zero };
	int rc = catalog_writable(im);

	if (rc == 0)
		rc = name_free(im, name);
	if (rc < 0)
		return rc;
	rc = vimage_run(im, st_mkfs, &s);
	if (rc == 0)
		rc = name_set(im, s.id, name);
	return rc < 0 ? change_failed(im, "creating", name, rc) : 0;
}

/*
 * Mount @vol read-write and unmount it: replays a journal left by a crash
 * and marks the volume clean, so what the snapshot freezes mounts as is.
 */
static int vol_clean(struct vimage *im, const struct vimage_entry *vol)
{
	struct fs *fs;
	int rc;

	if (im->fs && im->vol_id == vol->blob_id)
		return vimage_sync(im);
	rc = vimage_mount_id(im, vol->blob_id, false, &fs);
	if (rc == 0)
		rc = vimage_unmount_fs(im, fs);
	return rc;
}

static int vol_snapshot(struct vimage *im, uint64_t vol_id, uint64_t *snap)
{
	struct bstep s = { .id = vol_id };
	int rc = vimage_run(im, st_open, &s);

	if (rc < 0)
		return rc;
	rc = vimage_run(im, st_snapshot, &s);
	*snap = rc == 0 ? s.out_id : BLOB_ID_NONE;
	return blob_done(im, &s, rc);
}

int vimage_snapshot(struct vimage *im, const char *vol, const char *snap)
{
	struct vimage_entry e;
	uint64_t snap_id = BLOB_ID_NONE;
	int rc = catalog_writable(im);

	if (rc == 0)
		rc = must_find(im, vol, &e);
	if (rc == 0 && e.kind == VIMAGE_SNAPSHOT) {
		vimage_err(im, "'%s' is a snapshot already: clone it (vhostfs "
			   "clone) to get a file system to snapshot", vol);
		rc = -EINVAL;
	}
	if (rc == 0)
		rc = name_free(im, snap);
	if (rc < 0)
		return rc;
	rc = vol_clean(im, &e);
	if (rc < 0)
		return change_failed(im, "cleaning the journal of", vol, rc);
	/* a snapshot made whose close failed is still named */
	rc = vol_snapshot(im, e.blob_id, &snap_id);
	if (snap_id != BLOB_ID_NONE)
		rc = first_err(rc, name_set(im, snap_id, snap));
	return rc < 0 ? change_failed(im, "taking snapshot", snap, rc) : 0;
}

int vimage_clone(struct vimage *im, const char *snap, const char *name)
{
	struct vimage_entry e;
	struct bstep s = { 0 };
	int rc = catalog_writable(im);

	if (rc == 0)
		rc = must_find(im, snap, &e);
	if (rc == 0 && e.kind != VIMAGE_SNAPSHOT) {
		vimage_err(im, "'%s' is not a snapshot: take one first "
			   "(vhostfs snapshot IMAGE %s NAME)", snap, snap);
		rc = -EINVAL;
	}
	if (rc == 0)
		rc = name_free(im, name);
	if (rc < 0)
		return rc;
	s.after = e.blob_id;
	rc = vimage_run(im, st_clone, &s);
	if (rc == 0)
		rc = name_set(im, s.id, name);
	return rc < 0 ? change_failed(im, "cloning", snap, rc) : 0;
}

int vimage_delete(struct vimage *im, const char *name)
{
	struct vimage_entry e;
	struct bstep s = { 0 };
	int rc = catalog_writable(im);

	if (rc == 0)
		rc = must_find(im, name, &e);
	if (rc < 0)
		return rc;
	if (im->fs && im->vol_id == e.blob_id) {
		vimage_err(im, "'%s' is mounted", name);
		return -EBUSY;
	}
	s.id = e.blob_id;
	rc = vimage_run(im, st_delete, &s);
	if (rc == -EBUSY)
		vimage_err(im, "'%s' has clones: delete them first", name);
	else if (rc < 0)
		change_failed(im, "deleting", name, rc);
	return rc;
}
