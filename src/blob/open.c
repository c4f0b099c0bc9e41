// SPDX-License-Identifier: MIT
/*
 * open.c - opening, closing, syncing and listing blobs; the attribute
 * getters of open handles.
 */
#include <errno.h>
#include <stdlib.h>

#include "blob_internal.h"

/* --- getters (any thread) ------------------------------------------------- */

uint64_t blob_get_id(const struct blob *b)
{
	return b->id;
}

uint64_t blob_get_clusters(const struct blob *b)
{
	return atomic_load_explicit(&((struct blob *)b)->pub_clusters,
				    memory_order_relaxed);
}

uint64_t blob_get_allocated(const struct blob *b)
{
	const struct blob_map *m = atomic_load_explicit(
		&((struct blob *)b)->map, memory_order_acquire);
	uint64_t n = 0;

	for (uint64_t i = 0; i < m->clusters; i++)
		n += blob_map_get(m, i) != 0;
	return n;
}

uint64_t blob_get_parent(const struct blob *b)
{
	return atomic_load_explicit(&((struct blob *)b)->pub_parent,
				    memory_order_relaxed);
}

static uint32_t pub_flags(const struct blob *b)
{
	return atomic_load_explicit(&((struct blob *)b)->pub_flags,
				    memory_order_relaxed);
}

bool blob_is_thin(const struct blob *b)
{
	return (pub_flags(b) & BLOB_REC_THIN) != 0;
}

bool blob_is_read_only(const struct blob *b)
{
	return (pub_flags(b) & BLOB_REC_READ_ONLY) != 0;
}

/* --- open ----------------------------------------------------------------- */

struct open_req {
	struct blob_req req;
	uint64_t id;
	struct blob **out;
	struct blob *b;
};

static void open_got(void *arg, int err)
{
	struct open_req *q = arg;

	if (err == 0) {
		q->b->open_refs++;
		*q->out = q->b;
	}
	blob_req_done(&q->req, err);
}

static void open_start(struct blob_req *r)
{
	struct open_req *q = (struct open_req *)r;

	blob_get(r->bs, q->id, &q->b, open_got, q);
}

void blob_open(struct blob_store *bs, uint64_t id, struct blob **out,
	       blob_cb cb, void *arg)
{
	struct open_req *q = blob_req_new(bs, sizeof(*q), cb, arg);

	if (!q)
		return;
	q->id = id;
	q->out = out;
	blob_req_start(&q->req, open_start);
}

/* --- close ---------------------------------------------------------------- */

static void close_committed(void *arg, int err)
{
	struct blob_req *r = arg;
	struct blob *b = r->blob;

	b->open_refs--;
	blob_req_done(r, err);
	blob_op_finish(b);
	blob_put(b); /* the open's hold */
}

static void close_run(struct blob_op *op)
{
	struct blob_req *r = blob_container_of(op, struct blob_req, op);
	struct blob *b = r->blob;

	if (b->open_refs == 1 && blob_is_dirty(b)) {
		blob_commit(b, false, close_committed, r);
		return;
	}
	blob_defer(r->bs, close_committed, r, 0);
}

static void close_start(struct blob_req *r)
{
	r->op.run = close_run;
	blob_op_enqueue(r->blob, &r->op);
}

void blob_close(struct blob *b, blob_cb cb, void *arg)
{
	struct blob_req *r = blob_req_new(b->bs, sizeof(*r), cb, arg);

	if (!r)
		return;
	r->blob = b;
	blob_req_start(r, close_start);
}

/* --- sync ----------------------------------------------------------------- */

struct sync_req {
	struct blob_req req;
	struct blob_mdio mdio;
};

static void sync_cpl(void *arg, int err)
{
	struct blob_req *r = arg;
	struct blob *b = r->blob;

	blob_req_done(r, err);
	blob_op_finish(b);
}

static void sync_run(struct blob_op *op)
{
	struct sync_req *q = blob_container_of(op, struct sync_req, req.op);
	struct blob_store *bs = q->req.bs;
	int rc = blob_store_writable(bs);

	if (rc == -EROFS) {
		/* nothing can have changed */
		blob_defer(bs, sync_cpl, q, 0);
	} else if (rc < 0) {
		blob_defer(bs, sync_cpl, q, rc);
	} else if (blob_is_dirty(q->req.blob)) {
		blob_commit(q->req.blob, true, sync_cpl, q);
	} else {
		/* no metadata to commit: the data writes still need a flush */
		blob_mdio_flush(bs, &q->mdio, sync_cpl, q);
	}
}

static void sync_start(struct blob_req *r)
{
	r->op.run = sync_run;
	blob_op_enqueue(r->blob, &r->op);
}

void blob_sync(struct blob *b, blob_cb cb, void *arg)
{
	struct sync_req *q = blob_req_new(b->bs, sizeof(*q), cb, arg);

	if (!q)
		return;
	q->req.blob = b;
	blob_req_start(&q->req, sync_start);
}

/* --- list ----------------------------------------------------------------- */

struct list_req {
	struct blob_req req;
	uint64_t *ids;
	size_t max;
	size_t *count;
	uint64_t page;
	unsigned char *buf;
	struct blob_mdio mdio;
};

static void list_next(struct list_req *q);

static void list_done(struct list_req *q, int err)
{
	free(q->buf);
	blob_req_done(&q->req, err);
}

static void list_read_cpl(void *arg, int err)
{
	struct list_req *q = arg;
	struct blob_md_hdr h = { 0 };
	struct blob *b;

	if (err == 0 && (blob_md_hdr_decode(q->buf, &h) < 0 ||
			 h.type != BLOB_MD_ROOT ||
			 blob_id_page(h.blob_id) != q->page))
		err = -EUCLEAN;
	if (err < 0) {
		list_done(q, err);
		return;
	}
	b = blob_lookup(q->req.bs, h.blob_id);
	if (!b || !b->deleting)
		q->ids[(*q->count)++] = h.blob_id;
	q->page++;
	list_next(q);
}

static void list_next(struct list_req *q)
{
	struct blob_store *bs = q->req.bs;

	q->page = blob_bitmap_find_set(&bs->alloc.roots, q->page,
				       bs->super.md_pages);
	if (*q->count >= q->max || q->page >= bs->super.md_pages) {
		list_done(q, 0);
		return;
	}
	blob_md_page_read(bs, &q->mdio, (uint32_t)q->page, q->buf,
			  list_read_cpl, q);
}

static void list_start(struct blob_req *r)
{
	struct list_req *q = (struct list_req *)r;

	q->buf = blob_page_alloc(BLOB_PAGE_SIZE);
	if (!q->buf) {
		blob_req_done(r, -ENOMEM);
		return;
	}
	list_next(q);
}

void blob_list(struct blob_store *bs, uint64_t after, uint64_t *ids,
	       size_t max, size_t *count, blob_cb cb, void *arg)
{
	struct list_req *q = blob_req_new(bs, sizeof(*q), cb, arg);

	if (!q)
		return;
	*count = 0;
	q->ids = ids;
	q->max = max;
	q->count = count;
	q->page = after == BLOB_ID_NONE ? 0 : (uint64_t)blob_id_page(after) + 1;
	blob_req_start(&q->req, list_start);
}
