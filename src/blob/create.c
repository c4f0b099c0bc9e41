// SPDX-License-Identifier: MIT
/*
 * create.c - creating and deleting blobs; each is one transaction.
 *
 * A new blob is built in memory (thick clusters taken and zeroed), then
 * its root chain, extent pages and ROOT_SET go to the journal together: it
 * exists on disk completely or not at all.  Delete frees every md page of
 * the blob and, through FORMAT.md's derivation, every cluster its extent
 * pages name, in one transaction without a single page image; the clusters
 * become reusable once it is durable.
 */
#include <errno.h>
#include <stdlib.h>

#include "blob_internal.h"

/* --- create --------------------------------------------------------------- */

struct create_req {
	struct blob_req req;
	struct blob_create_opts opts;
	uint64_t *id_out;
	uint32_t root;
};

/* Give back everything a never-committed blob took. */
static void create_discard(struct create_req *q)
{
	struct blob *b = q->req.blob;
	const struct blob_map *m = atomic_load(&b->map);

	for (uint64_t i = 0; m && i < m->clusters; i++) {
		if (blob_map_get(m, i))
			blob_cluster_give(q->req.bs, blob_map_get(m, i));
	}
	blob_md_give(q->req.bs, q->root);
	blob_stats_update(q->req.bs);
	blob_obj_free(b);
}

static void create_committed(void *arg, int err)
{
	struct create_req *q = arg;
	struct blob *b = q->req.blob;

	if (err == 0)
		*q->id_out = b->id;
	/* a failed commit failed the store; only checks before it give back */
	if (err < 0 && b->is_new)
		create_discard(q);
	else
		blob_obj_free(b);
	blob_req_done(&q->req, err);
}

static void create_resized(void *arg, int err)
{
	struct create_req *q = arg;

	if (err < 0) {
		create_discard(q);
		blob_req_done(&q->req, err);
		return;
	}
	blob_commit(q->req.blob, false, create_committed, q);
}

static struct blob *create_obj(struct create_req *q, uint64_t id)
{
	struct blob *b = blob_obj_new(q->req.bs, id);
	struct blob_map *m;

	if (!b)
		return NULL;
	b->flags = q->opts.thin ? BLOB_REC_THIN : 0;
	m = blob_map_new(0, b->flags, NULL);
	if (!m) {
		free(b);
		return NULL;
	}
	atomic_store(&b->map, m);
	b->state = BLOB_READY;
	b->is_new = true;
	return b;
}

static void create_start(struct blob_req *r)
{
	struct create_req *q = (struct create_req *)r;
	struct blob_store *bs = r->bs;
	int rc = blob_store_writable(bs);

	if (rc == 0 && bs->alloc.gen_next == UINT32_MAX)
		rc = -ENOSPC;
	if (rc == 0)
		rc = blob_md_take(bs, &q->root);
	if (rc < 0) {
		blob_req_done(r, rc);
		return;
	}
	r->blob = create_obj(q, blob_id_make(bs->alloc.gen_next, q->root));
	if (!r->blob) {
		blob_md_give(bs, q->root);
		blob_req_done(r, -ENOMEM);
		return;
	}
	bs->alloc.gen_next++;
	blob_resize_internal(r->blob, q->opts.clusters, create_resized, q);
}

void blob_create(struct blob_store *bs, const struct blob_create_opts *opts,
		 uint64_t *id, blob_cb cb, void *arg)
{
	struct create_req *q = blob_req_new(bs, sizeof(*q), cb, arg);

	if (!q)
		return;
	if (opts)
		q->opts = *opts;
	q->id_out = id;
	blob_req_start(&q->req, create_start);
}

/* --- delete --------------------------------------------------------------- */

struct delete_req {
	struct blob_req req;
	uint64_t id;
	uint32_t *release;   /* uncommitted clusters, given back after grace */
	uint32_t nrelease, release_cap;
};

static int release_push(struct delete_req *q, uint32_t c)
{
	int rc = blob_array_reserve(&q->release, &q->release_cap,
				    q->nrelease + 1, sizeof(*q->release));

	if (rc == 0)
		q->release[q->nrelease++] = c;
	return rc;
}

/* Free extent @k: its page, and split its clusters by commit state. */
static int delete_ep(struct delete_req *q, struct blob_change *c, uint32_t k)
{
	struct blob *b = q->req.blob;
	const struct blob_ep *e = &b->ep[k];
	int rc = 0;

	for (uint32_t s = 0; s < BLOB_EP_SLOTS && rc == 0; s++) {
		uint32_t cur = blob_ep_cur(b, k, s);
		uint32_t committed = e->old ? e->old[s]
				     : e->page == BLOB_PAGE_NONE ? 0 : cur;

		if (cur && cur != committed)
			rc = release_push(q, cur);
	}
	if (rc == 0 && e->page != BLOB_PAGE_NONE)
		rc = blob_change_rec(c, BLOB_REC_MD_FREE, e->page, 0);
	return rc;
}

/* Records freeing everything of the (closed, clean) blob. */
static int delete_build(struct delete_req *q, struct blob_change *c)
{
	struct blob *b = q->req.blob;
	int rc = 0;

	for (uint32_t k = 0; k < b->n_ep && rc == 0; k++)
		rc = delete_ep(q, c, k);
	for (uint32_t i = 0; i < b->n_dropped && rc == 0; i++)
		rc = blob_change_rec(c, BLOB_REC_MD_FREE, b->dropped[i].page,
				     0);
	if (rc == 0)
		rc = blob_change_rec(c, BLOB_REC_ROOT_CLEAR, b->chain[0], 0);
	for (uint32_t i = 0; i < b->chain_len && rc == 0; i++)
		rc = blob_change_rec(c, BLOB_REC_MD_FREE, b->chain[i], 0);
	if (rc == 0 && b->parent) {
		b->parent->children--;
		b->parent->rec_dirty = true;
		rc = blob_commit_build(b->parent, c);
	}
	return rc;
}

/*
 * The allocator's view of the frees: the journal learns the clusters from
 * the change, so list the committed slots of every extent being freed.
 */
static int delete_cl_frees(struct blob *b, struct blob_change *c)
{
	int rc = 0;

	for (uint32_t k = 0; k < b->n_ep && rc == 0; k++) {
		const struct blob_ep *e = &b->ep[k];

		for (uint32_t s = 0; s < BLOB_EP_SLOTS && rc == 0; s++) {
			uint32_t v = e->old ? e->old[s]
				     : e->page == BLOB_PAGE_NONE
					       ? 0 : blob_ep_cur(b, k, s);

			if (v)
				rc = blob_change_cl_free(c, v);
		}
	}
	for (uint32_t i = 0; i < b->n_dropped && rc == 0; i++) {
		for (uint32_t s = 0; s < BLOB_EP_SLOTS && rc == 0; s++) {
			if (b->dropped[i].old[s])
				rc = blob_change_cl_free(c,
							 b->dropped[i].old[s]);
		}
	}
	return rc;
}

static void delete_committed(void *arg, int err)
{
	struct delete_req *q = arg;
	struct blob *b = q->req.blob;
	struct blob_map *empty = err == 0 ? blob_map_new(0, b->flags, NULL)
					  : NULL;

	if (empty) {
		/* uncommitted clusters: free once no I/O can reach them */
		blob_map_publish(b, empty, q->release, q->nrelease);
		q->release = NULL;
	}
	free(q->release);
	if (err == 0) {
		b->state = BLOB_GONE;
		blob_table_remove(q->req.bs, b);
	} else {
		b->deleting = false;
	}
	blob_req_done(&q->req, err);
	blob_op_finish(b);
	blob_put(b); /* the get's hold */
}

/* -EFBIG unless the records fit one transaction with the parent's pages. */
static int delete_fits(const struct blob *b)
{
	uint32_t nrec = b->n_ep + b->n_dropped + b->chain_len + 1;
	/* only the parent's first page changes (its children count) */
	uint32_t parent = b->parent ? 2 : 0;
	uint64_t frees = (uint64_t)(b->n_ep + b->n_dropped) * BLOB_EP_SLOTS;

	return blob_txn_pages(nrec, 0) + blob_delta_pages(frees, b->bs) +
			       parent <= b->bs->j.max_pages
		       ? 0 : -EFBIG;
}

static void delete_run(struct blob_op *op)
{
	struct delete_req *q = blob_container_of(op, struct delete_req, req.op);
	struct blob *b = q->req.blob;
	struct blob_change *c = NULL;
	int rc = blob_store_writable(q->req.bs);

	if (rc == 0)
		rc = delete_fits(b);
	if (rc == 0) {
		c = blob_change_new();
		rc = c ? 0 : -ENOMEM;
	}
	if (rc == 0) {
		rc = delete_build(q, c);
		if (rc == 0)
			rc = delete_cl_frees(b, c);
		if (rc < 0)
			blob_store_fail(q->req.bs, rc);
	}
	if (rc < 0) {
		blob_change_free(c);
		blob_defer(q->req.bs, delete_committed, q, rc);
		return;
	}
	c->cb = delete_committed;
	c->arg = q;
	blob_journal_submit(q->req.bs, c);
}

static void delete_got(void *arg, int err)
{
	struct delete_req *q = arg;
	struct blob *b = q->req.blob;

	if (err == 0 && (b->open_refs || b->children || b->deleting)) {
		err = b->deleting ? -ENOENT : -EBUSY;
		blob_put(b);
	}
	if (err < 0) {
		blob_req_done(&q->req, err);
		return;
	}
	b->deleting = true;
	q->req.op.run = delete_run;
	blob_op_enqueue(b, &q->req.op);
}

static void delete_start(struct blob_req *r)
{
	struct delete_req *q = (struct delete_req *)r;
	int rc = blob_store_writable(r->bs);

	if (rc < 0) {
		blob_req_done(r, rc);
		return;
	}
	blob_get(r->bs, q->id, &r->blob, delete_got, q);
}

void blob_delete(struct blob_store *bs, uint64_t id, blob_cb cb, void *arg)
{
	struct delete_req *q = blob_req_new(bs, sizeof(*q), cb, arg);

	if (!q)
		return;
	q->id = id;
	blob_req_start(&q->req, delete_start);
}
