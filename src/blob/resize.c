// SPDX-License-Identifier: MIT
/*
 * resize.c - changing a blob's size in memory (committed by the next sync).
 *
 * Growing a thin blob only publishes a longer map.  Growing a thick blob
 * takes clusters, zeroes them on the device and only then publishes them:
 * a cluster must never show a previous owner's data (FORMAT.md O1).
 * Shrinking publishes a shorter map; clusters only this uncommitted state
 * had are given back after a grace period, committed ones by the commit
 * that records the shrink (O2).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blob_internal.h"

/* Clusters are zeroed in runs of at most this many bytes per request. */
#define ZERO_RUN_MAX (64ull << 20)

struct resize_ctx {
	struct blob *b;
	uint64_t clusters;
	blob_cb cb;
	void *arg;
	uint32_t *taken;      /* thick growth: the new clusters, in order */
	uint64_t ntaken;
	uint64_t zeroed;
	struct blob_map *map;
	struct blob_mdio mdio;
};

static void resize_finish(struct resize_ctx *r, int err)
{
	blob_cb cb = r->cb;
	void *arg = r->arg;

	if (err < 0) {
		for (uint64_t i = 0; i < r->ntaken; i++)
			blob_cluster_give(r->b->bs, r->taken[i]);
		free(r->map);
	}
	free(r->taken);
	free(r);
	cb(arg, err);
}

/* Mark every extent the slots [from, to) fall in dirty. */
static int resize_dirty(struct blob *b, uint64_t from, uint64_t to)
{
	int rc = 0;

	for (uint64_t k = from / BLOB_EP_SLOTS;
	     k * BLOB_EP_SLOTS < to && rc == 0; k++)
		rc = blob_ep_dirty(b, (uint32_t)k);
	return rc;
}

/* The new longer map is ready (and zeroed): make it the blob's. */
static void grow_publish(struct resize_ctx *r)
{
	struct blob *b = r->b;
	uint64_t old = b->size;
	int rc;

	for (uint64_t i = 0; i < r->ntaken; i++)
		blob_map_set(r->map, old + i, r->taken[i]);
	b->n_ep = blob_extents_for(r->clusters);
	rc = resize_dirty(b, old, old + r->ntaken);
	if (rc < 0) {
		/* extents half marked: the blob's state is unknown */
		blob_store_fail(b->bs, rc);
		resize_finish(r, rc);
		return;
	}
	b->size = r->clusters;
	b->rec_dirty = true;
	blob_map_publish(b, r->map, NULL, 0);
	r->map = NULL;
	r->ntaken = 0;
	blob_stats_update(b->bs);
	resize_finish(r, 0);
}

static void zero_next(struct resize_ctx *r);

static void zero_cpl(void *arg, int err)
{
	struct resize_ctx *r = arg;

	if (err < 0) {
		resize_finish(r, err);
		return;
	}
	zero_next(r);
}

/* Zero the next physically contiguous run of taken clusters. */
static void zero_next(struct resize_ctx *r)
{
	struct blob_store *bs = r->b->bs;
	uint64_t first = r->zeroed, n = 1;

	if (first >= r->ntaken) {
		bs->fills_unflushed = true;
		grow_publish(r);
		return;
	}
	while (first + n < r->ntaken &&
	       r->taken[first + n] == r->taken[first] + n &&
	       (n + 1) * bs->cluster_size <= ZERO_RUN_MAX)
		n++;
	r->zeroed += n;
	blob_mdio_zeroes(bs, &r->mdio, blob_cluster_off(bs, r->taken[first]),
			 n * bs->cluster_size, zero_cpl, r);
}

static int grow_take(struct resize_ctx *r, uint64_t n)
{
	struct blob_store *bs = r->b->bs;

	r->taken = malloc((size_t)n * sizeof(*r->taken));
	if (!r->taken)
		return -ENOMEM;
	while (r->ntaken < n) {
		uint64_t left;
		uint32_t c, more;
		int rc = blob_cluster_take(bs, &c);

		if (rc < 0)
			return rc;
		r->taken[r->ntaken++] = c;
		left = n - r->ntaken;
		more = blob_cluster_take_run(bs, c, left < UINT32_MAX
							   ? (uint32_t)left
							   : UINT32_MAX);
		for (uint32_t i = 1; i <= more; i++)
			r->taken[r->ntaken++] = c + i;
	}
	return 0;
}

static void resize_grow(struct resize_ctx *r);

static void grow_retry(void *arg, int err)
{
	struct resize_ctx *r = arg;

	if (err < 0) {
		resize_finish(r, err);
		return;
	}
	resize_grow(r);
}

/* Out of space: give back what was taken, and try again once freed
 * clusters are back (if any are on their way). */
static void grow_wait(struct resize_ctx *r)
{
	for (uint64_t i = 0; i < r->ntaken; i++)
		blob_cluster_give(r->b->bs, r->taken[i]);
	r->ntaken = 0;
	free(r->taken);
	r->taken = NULL;
	free(r->map);
	r->map = NULL;
	blob_cluster_wait(r->b->bs, grow_retry, r);
}

static void resize_grow(struct resize_ctx *r)
{
	struct blob *b = r->b;
	int rc = blob_ep_reserve(b, blob_extents_for(r->clusters));

	if (rc == 0) {
		r->map = blob_map_resized(atomic_load(&b->map), r->clusters);
		rc = r->map ? 0 : -ENOMEM;
	}
	if (rc == 0 && !(b->flags & BLOB_REC_THIN))
		rc = grow_take(r, r->clusters - b->size);
	if (rc == -ENOSPC) {
		grow_wait(r);
		return;
	}
	if (rc < 0) {
		resize_finish(r, rc);
		return;
	}
	zero_next(r);
}

/* Clusters of [n, size) that no commit has recorded yet. */
static int shrink_uncommitted(struct blob *b, uint64_t n, uint32_t **out,
			      uint32_t *count)
{
	const struct blob_map *m = atomic_load(&b->map);
	uint32_t cap = 0;

	*out = NULL;
	*count = 0;
	for (uint64_t i = n; i < b->size; i++) {
		const struct blob_ep *e = &b->ep[i / BLOB_EP_SLOTS];
		uint32_t cur = blob_map_get(m, i);
		uint32_t committed = e->old ? e->old[i % BLOB_EP_SLOTS] : cur;

		if (!cur || cur == committed)
			continue;
		if (blob_array_reserve(out, &cap, *count + 1, sizeof(**out)))
			return -ENOMEM;
		(*out)[(*count)++] = cur;
	}
	return 0;
}

static void resize_shrink(struct resize_ctx *r)
{
	struct blob *b = r->b;
	uint64_t n = r->clusters;
	uint32_t *release, nrel;
	int rc = shrink_uncommitted(b, n, &release, &nrel);

	if (rc == 0) {
		r->map = blob_map_resized(atomic_load(&b->map), n);
		rc = r->map ? 0 : -ENOMEM;
	}
	if (rc < 0) {
		free(release);
		resize_finish(r, rc);
		return;
	}
	/* the cut extent keeps its committed slots for the next commit */
	if (n % BLOB_EP_SLOTS)
		rc = blob_ep_dirty(b, (uint32_t)(n / BLOB_EP_SLOTS));
	if (rc == 0)
		rc = blob_ep_drop_from(b, blob_extents_for(n));
	if (rc < 0) {
		blob_store_fail(b->bs, rc);
		free(release);
		resize_finish(r, rc);
		return;
	}
	b->size = n;
	b->rec_dirty = true;
	blob_map_publish(b, r->map, release, nrel);
	r->map = NULL;
	resize_finish(r, 0);
}

static int resize_check(const struct blob *b, uint64_t clusters)
{
	if (b->flags & BLOB_REC_READ_ONLY)
		return -EPERM;
	if (blob_extents_for(clusters) > b->bs->max_ep ||
	    clusters > UINT64_MAX / b->bs->cluster_size)
		return -EFBIG;
	return blob_store_writable(b->bs);
}

void blob_resize_internal(struct blob *b, uint64_t clusters, blob_cb cb,
			  void *arg)
{
	struct resize_ctx *r;
	int rc = resize_check(b, clusters);

	if (rc < 0 || clusters == b->size) {
		blob_defer(b->bs, cb, arg, rc);
		return;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		blob_defer(b->bs, cb, arg, -ENOMEM);
		return;
	}
	r->b = b;
	r->clusters = clusters;
	r->cb = cb;
	r->arg = arg;
	if (clusters > b->size)
		resize_grow(r);
	else
		resize_shrink(r);
}

/* --- the public call ------------------------------------------------------ */

struct resize_req {
	struct blob_req req;
	uint64_t clusters;
};

static void resize_cpl(void *arg, int err)
{
	struct resize_req *q = arg;
	struct blob *b = q->req.blob;

	blob_req_done(&q->req, err);
	blob_op_finish(b);
}

static void resize_run(struct blob_op *op)
{
	struct resize_req *q = blob_container_of(op, struct resize_req, req.op);

	blob_resize_internal(q->req.blob, q->clusters, resize_cpl, q);
}

static void resize_start(struct blob_req *r)
{
	r->op.run = resize_run;
	blob_op_enqueue(r->blob, &r->op);
}

void blob_resize(struct blob *b, uint64_t clusters, blob_cb cb, void *arg)
{
	struct resize_req *q = blob_req_new(b->bs, sizeof(*q), cb, arg);

	if (!q)
		return;
	q->req.blob = b;
	q->clusters = clusters;
	blob_req_start(&q->req, resize_start);
}
