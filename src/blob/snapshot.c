// SPDX-License-Identifier: MIT
/*
 * snapshot.c - snapshots, clones, inflate and decouple.
 *
 * A snapshot takes over the blob's clusters and extent pages as they are
 * (no data is copied, no extent page rewritten) and the blob becomes a thin
 * clone of it: one transaction with the two root chains.  While it runs,
 * writes to the blob are frozen: its map is replaced by a copy marked
 * FROZEN that sends writes to the md thread, where they queue behind the
 * snapshot, and a grace period lets writes already under way finish.
 * Clones are new thin blobs naming a snapshot as parent.  Inflate and
 * decouple copy clusters from the parents into the blob with the same
 * first-write machinery (cluster.c), then change the parent link.
 * Children counts live in the parents' records and change in the same
 * transaction as the link.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blob_internal.h"

/* A copy of @b's map with @flags (and parent @parent). */
static struct blob_map *map_copy(struct blob *b, uint32_t flags,
				 const struct blob_map *parent)
{
	const struct blob_map *m = atomic_load(&b->map);
	struct blob_map *n = blob_map_resized(m, m->clusters);

	if (n) {
		n->flags = flags;
		n->parent = parent;
	}
	return n;
}

/* Record pages of @b's chain. */
static uint32_t chain_pages(const struct blob *b)
{
	size_t rec = blob_record_size(b);

	return (uint32_t)((rec + BLOB_MD_PAYLOAD - 1) / BLOB_MD_PAYLOAD);
}

/* A new, never committed blob object with a fresh id; -ENOSPC. */
static int new_blob(struct blob_store *bs, struct blob **out)
{
	uint32_t root;
	struct blob *b;
	int rc;

	if (bs->alloc.gen_next == UINT32_MAX)
		return -ENOSPC;
	rc = blob_md_take(bs, &root);
	if (rc < 0)
		return rc;
	b = blob_obj_new(bs, blob_id_make(bs->alloc.gen_next, root));
	if (!b) {
		blob_md_give(bs, root);
		return -ENOMEM;
	}
	bs->alloc.gen_next++;
	b->state = BLOB_READY;
	b->is_new = true;
	*out = b;
	return 0;
}

/* --- snapshot ------------------------------------------------------------- */

struct snap_req {
	struct blob_req req;
	uint64_t *out;
	struct blob *snap;
	struct blob_map *bmap;     /* the blob's map after the snapshot */
	struct blob_retire retire;
};

static void snap_finish(struct snap_req *q, int err)
{
	struct blob *b = q->req.blob;

	if (err < 0 && !q->bmap) {
		/* nothing changed: thaw */
		struct blob_map *m = map_copy(b, b->flags & BLOB_REC_KNOWN,
					      atomic_load(&b->map)->parent);

		if (m)
			blob_map_publish(b, m, NULL, 0);
	}
	blob_req_done(&q->req, err);
	blob_op_finish(b);
}

static void snap_committed(void *arg, int err)
{
	struct snap_req *q = arg;
	struct blob *b = q->req.blob;

	/* memory says so either way; a failed commit failed the store */
	blob_map_publish(b, q->bmap, NULL, 0);
	blob_table_insert(b->bs, q->snap);
	if (err == 0)
		*q->out = q->snap->id;
	snap_finish(q, err);
}

/* Move @b's clusters and extent pages to @s; @b becomes its thin clone. */
static int snap_move(struct snap_req *q, struct blob *b, struct blob *s)
{
	const struct blob_map *m = atomic_load(&b->map);
	struct blob_map *smap;
	int rc = blob_ep_reserve(s, b->n_ep);

	if (rc < 0)
		return rc;
	smap = blob_map_resized(m, m->clusters);
	q->bmap = blob_map_new(m->clusters,
			       (b->flags | BLOB_REC_THIN) & BLOB_REC_KNOWN,
			       smap);
	if (!smap || !q->bmap) {
		free(smap);
		free(q->bmap);
		q->bmap = NULL;
		return -ENOMEM;
	}
	s->flags = BLOB_REC_READ_ONLY | (b->flags & BLOB_REC_THIN);
	smap->flags = s->flags;
	atomic_store(&s->map, smap);
	blob_pub_update(s);
	s->size = b->size;
	s->children = 1;
	s->parent_id = b->parent_id;
	s->parent = b->parent;          /* b's hold moves to s */
	s->depth = b->depth;
	for (uint32_t k = 0; k < b->n_ep; k++) {
		s->ep[k].page = b->ep[k].page;
		b->ep[k].page = BLOB_PAGE_NONE;
	}
	s->n_ep = b->n_ep;
	b->flags |= BLOB_REC_THIN;
	b->parent_id = s->id;
	b->parent = s;
	b->depth = s->depth + 1;
	b->rec_dirty = true;
	blob_hold(s);
	return 0;
}

static int snap_check(const struct snap_req *q, const struct blob *b)
{
	const struct blob_store *bs = b->bs;

	if (b->depth + 1 >= BLOB_PARENT_DEPTH_MAX ||
	    2 * chain_pages(b) + 6 > bs->j.max_pages)
		return -EFBIG;
	if (bs->super.md_pages - bs->alloc.md_used_n < chain_pages(b) + 1)
		return -ENOSPC;
	return 0;
}

static void snap_build(void *arg, int err)
{
	struct snap_req *q = arg;
	struct blob *b = q->req.blob;
	struct blob_change *c;

	if (err == 0)
		err = snap_check(q, b);
	if (err == 0)
		err = new_blob(b->bs, &q->snap);
	if (err < 0) {
		snap_finish(q, err);
		return;
	}
	c = blob_change_new();
	err = c ? snap_move(q, b, q->snap) : -ENOMEM;
	if (err < 0) {
		blob_md_give(b->bs, blob_id_page(q->snap->id));
		blob_obj_free(q->snap);
		blob_change_free(c);
		snap_finish(q, err);
		return;
	}
	err = blob_commit_build(q->snap, c);
	if (err == 0)
		err = blob_commit_build(b, c);
	if (err < 0) {
		blob_store_fail(b->bs, err);
		blob_change_free(c);
		blob_defer(b->bs, snap_committed, q, err);
		return;
	}
	c->cb = snap_committed;
	c->arg = q;
	blob_journal_submit(b->bs, c);
}

/* No write that could see the unfrozen map is left: commit what is due. */
static void snap_frozen(struct blob_retire *r)
{
	struct snap_req *q = blob_container_of(r, struct snap_req, retire);
	struct blob *b = q->req.blob;

	if (blob_is_dirty(b))
		blob_commit(b, false, snap_build, q);
	else
		snap_build(q, 0);
}

static void snap_run(struct blob_op *op)
{
	struct snap_req *q = blob_container_of(op, struct snap_req, req.op);
	struct blob *b = q->req.blob;
	struct blob_map *frozen;
	int rc = blob_store_writable(b->bs);

	if (rc == 0 && (b->flags & BLOB_REC_READ_ONLY))
		rc = -EINVAL;
	if (rc < 0) {
		q->bmap = NULL;
		blob_req_done(&q->req, rc);
		blob_op_finish(b);
		return;
	}
	frozen = map_copy(b, (b->flags & BLOB_REC_KNOWN) | BLOB_MAP_FROZEN,
			  atomic_load(&b->map)->parent);
	if (!frozen) {
		blob_req_done(&q->req, -ENOMEM);
		blob_op_finish(b);
		return;
	}
	blob_map_publish(b, frozen, NULL, 0);
	q->retire.fn = snap_frozen;
	blob_retire(b->bs, &q->retire);
}

static void snap_start(struct blob_req *r)
{
	r->op.run = snap_run;
	blob_op_enqueue(r->blob, &r->op);
}

void blob_snapshot(struct blob *b, uint64_t *snap, blob_cb cb, void *arg)
{
	struct snap_req *q = blob_req_new(b->bs, sizeof(*q), cb, arg);

	if (!q)
		return;
	q->req.blob = b;
	q->out = snap;
	blob_req_start(&q->req, snap_start);
}

/* --- clone ---------------------------------------------------------------- */

struct clone_req {
	struct blob_req req;
	uint64_t snap_id;
	uint64_t *out;
	struct blob *clone;
};

static void clone_committed(void *arg, int err)
{
	struct clone_req *q = arg;
	struct blob *s = q->req.blob;

	if (err == 0)
		*q->out = q->clone->id;
	/* never loaded as a blob: its map had no reader */
	blob_obj_free(q->clone);
	blob_req_done(&q->req, err);
	blob_op_finish(s);
	blob_put(s); /* the get's hold */
}

static int clone_make(struct clone_req *q, struct blob *s)
{
	struct blob *c;
	struct blob_map *m;
	int rc = new_blob(s->bs, &c);

	if (rc < 0)
		return rc;
	m = blob_map_new(s->size, BLOB_REC_THIN, atomic_load(&s->map));
	rc = m ? blob_ep_reserve(c, blob_extents_for(s->size)) : -ENOMEM;
	if (rc < 0) {
		free(m);
		blob_md_give(s->bs, blob_id_page(c->id));
		blob_obj_free(c);
		return rc;
	}
	atomic_store(&c->map, m);
	c->flags = BLOB_REC_THIN;
	c->size = s->size;
	c->n_ep = blob_extents_for(s->size);
	c->parent_id = s->id;
	q->clone = c;
	return 0;
}

static void clone_run(struct blob_op *op)
{
	struct clone_req *q = blob_container_of(op, struct clone_req, req.op);
	struct blob *s = q->req.blob;
	struct blob_change *c = NULL;
	int rc = blob_store_writable(s->bs);

	if (rc == 0 && (chain_pages(s) + 4 > s->bs->j.max_pages ||
			s->depth + 1 >= BLOB_PARENT_DEPTH_MAX))
		rc = -EFBIG;
	if (rc == 0)
		rc = clone_make(q, s);
	if (rc == 0) {
		c = blob_change_new();
		rc = c ? 0 : -ENOMEM;
	}
	if (rc == 0) {
		s->children++;
		s->rec_dirty = true;
		rc = blob_commit_build(q->clone, c);
		if (rc == 0)
			rc = blob_commit_build(s, c);
		if (rc < 0)
			blob_store_fail(s->bs, rc);
	}
	if (rc < 0) {
		blob_change_free(c);
		if (!q->clone) {
			blob_req_done(&q->req, rc);
			blob_op_finish(s);
			blob_put(s);
			return;
		}
		blob_defer(s->bs, clone_committed, q, rc);
		return;
	}
	c->cb = clone_committed;
	c->arg = q;
	blob_journal_submit(s->bs, c);
}

static void clone_got(void *arg, int err)
{
	struct clone_req *q = arg;
	struct blob *s = q->req.blob;

	if (err == 0 && !(s->flags & BLOB_REC_READ_ONLY)) {
		blob_put(s);
		err = -EINVAL;
	}
	if (err < 0) {
		blob_req_done(&q->req, err);
		return;
	}
	q->req.op.run = clone_run;
	blob_op_enqueue(s, &q->req.op);
}

static void clone_start(struct blob_req *r)
{
	struct clone_req *q = (struct clone_req *)r;
	int rc = blob_store_writable(r->bs);

	if (rc < 0) {
		blob_req_done(r, rc);
		return;
	}
	blob_get(r->bs, q->snap_id, &r->blob, clone_got, q);
}

void blob_clone(struct blob_store *bs, uint64_t snap_id, uint64_t *clone,
		blob_cb cb, void *arg)
{
	struct clone_req *q = blob_req_new(bs, sizeof(*q), cb, arg);

	if (!q)
		return;
	q->snap_id = snap_id;
	q->out = clone;
	blob_req_start(&q->req, clone_start);
}

/* --- inflate and decouple ------------------------------------------------- */

struct copy_req {
	struct blob_req req;
	bool inflate;
	uint64_t idx;
	struct blob *old_parent;
};

static void copy_finish(struct copy_req *q, int err)
{
	struct blob *b = q->req.blob;

	blob_req_done(&q->req, err);
	blob_op_finish(b);
}

static void copy_linked(void *arg, int err)
{
	struct copy_req *q = arg;

	if (q->old_parent)
		blob_put(q->old_parent); /* b's hold on it */
	copy_finish(q, err);
}

/* Whether cluster @idx must be copied into @b. */
static bool copy_wanted(const struct copy_req *q, const struct blob_map *m,
			uint64_t idx)
{
	const struct blob_map *p = m->parent;

	if (blob_map_get(m, idx))
		return false;
	if (q->inflate)
		return true;
	return idx < p->clusters && blob_map_get(p, idx) != 0;
}

/* In memory: @b hangs from @g (NULL: no parent) instead of @p. */
static void relink_memory(struct copy_req *q, struct blob *b, struct blob *p,
			  struct blob *g, struct blob_map *m)
{
	if (q->inflate)
		b->flags &= ~BLOB_REC_THIN;
	b->parent_id = g ? g->id : 0;
	b->parent = g;
	b->depth = g ? g->depth + 1 : 0;
	b->rec_dirty = true;
	p->children--;
	p->rec_dirty = true;
	if (g) {
		blob_hold(g);
		g->children++;
		g->rec_dirty = true;
	}
	q->old_parent = p;
	blob_map_publish(b, m, NULL, 0);
}

/* The link change: the three records in one transaction. */
static void relink_commit(struct copy_req *q, struct blob_change *c)
{
	struct blob *b = q->req.blob, *p = q->old_parent, *g = b->parent;
	int err = blob_commit_build(b, c);

	if (err == 0)
		err = blob_commit_build(p, c);
	if (err == 0 && g)
		err = blob_commit_build(g, c);
	if (err < 0) {
		blob_store_fail(b->bs, err);
		blob_change_free(c);
		blob_defer(b->bs, copy_linked, q, err);
		return;
	}
	c->cb = copy_linked;
	c->arg = q;
	blob_journal_submit(b->bs, c);
}

/* Every cluster is in: re-link @b (to no parent, or the grandparent). */
static void copy_relink(void *arg, int err)
{
	struct copy_req *q = arg;
	struct blob *b = q->req.blob, *p = b->parent;
	struct blob *g = p && !q->inflate ? p->parent : NULL;
	uint32_t flags = q->inflate ? b->flags & ~BLOB_REC_THIN : b->flags;
	struct blob_change *c = err == 0 ? blob_change_new() : NULL;
	struct blob_map *m = c ? map_copy(b, flags,
					  g ? atomic_load(&g->map) : NULL)
			       : NULL;

	if (err < 0 || !m) {
		blob_change_free(c);
		copy_finish(q, err < 0 ? err : -ENOMEM);
		return;
	}
	if (!p) {
		/* inflating a thin blob without parent: it is thick now */
		blob_change_free(c);
		b->flags = flags;
		b->rec_dirty = true;
		blob_map_publish(b, m, NULL, 0);
		blob_commit(b, false, copy_linked, q);
		return;
	}
	relink_memory(q, b, p, g, m);
	relink_commit(q, c);
}

static void copy_next(struct copy_req *q);

static void copy_filled(void *arg, int err)
{
	struct copy_req *q = arg;

	if (err < 0) {
		/* what was copied stays, uncommitted: a consistent state */
		copy_finish(q, err);
		return;
	}
	q->idx++;
	copy_next(q);
}

static void copy_next(struct copy_req *q)
{
	struct blob *b = q->req.blob;
	const struct blob_map *m = atomic_load(&b->map);

	while (q->idx < m->clusters && !copy_wanted(q, m, q->idx))
		q->idx++;
	if (q->idx < m->clusters) {
		blob_cluster_fill(b, q->idx, 0, 0, NULL, 0, copy_filled, q);
		return;
	}
	/* commit the copies first: the link change must fit on its own */
	if (blob_is_dirty(b))
		blob_commit(b, false, copy_relink, q);
	else
		copy_relink(q, 0);
}

static void copy_run(struct blob_op *op)
{
	struct copy_req *q = blob_container_of(op, struct copy_req, req.op);
	struct blob *b = q->req.blob;
	int rc = blob_store_writable(b->bs);

	if (rc == 0 && (b->flags & BLOB_REC_READ_ONLY))
		rc = -EPERM;
	if (rc == 0 && !q->inflate && !b->parent)
		rc = -EINVAL;
	if (rc == 0 && q->inflate && !b->parent &&
	    !(b->flags & BLOB_REC_THIN))
		rc = 1; /* thick already: nothing to do */
	if (rc != 0) {
		copy_finish(q, rc < 0 ? rc : 0);
		return;
	}
	q->idx = 0;
	copy_next(q);
}

static void copy_start(struct blob_req *r)
{
	r->op.run = copy_run;
	blob_op_enqueue(r->blob, &r->op);
}

static void copy_call(struct blob *b, bool inflate, blob_cb cb, void *arg)
{
	struct copy_req *q = blob_req_new(b->bs, sizeof(*q), cb, arg);

	if (!q)
		return;
	q->req.blob = b;
	q->inflate = inflate;
	blob_req_start(&q->req, copy_start);
}

void blob_inflate(struct blob *b, blob_cb cb, void *arg)
{
	copy_call(b, true, cb, arg);
}

void blob_decouple(struct blob *b, blob_cb cb, void *arg)
{
	copy_call(b, false, cb, arg);
}
