// SPDX-License-Identifier: MIT
/*
 * unmap.c - giving clusters of a thin blob back to the store.
 *
 * Like a shrink in the middle of the blob (resize.c): the extents the range
 * falls in are marked dirty first (saving their committed slots), then a
 * copy of the map with the range's slots cleared is published.  I/O that
 * began before sees the old map until it completes: the old map is retired
 * after a grace period, and only then are the clusters no commit recorded
 * given back; committed ones are freed by the commit that records the
 * cleared slots, after its own grace period (FORMAT.md O2).  A cleared slot
 * reads as zeros or from the parent, and a later write fills it again.
 */
#include <errno.h>
#include <stdlib.h>

#include "blob_internal.h"

/* Clusters of [first, end) the current map has that no commit recorded. */
static int unmap_uncommitted(const struct blob *b, const struct blob_map *m,
			     uint64_t first, uint64_t end, uint32_t **out,
			     uint32_t *count)
{
	uint32_t cap = 0;

	*out = NULL;
	*count = 0;
	for (uint64_t i = first; i < end; i++) {
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

/* Whether any slot of [first, end) holds a cluster. */
static bool unmap_any(const struct blob_map *m, uint64_t first, uint64_t end)
{
	for (uint64_t i = first; i < end; i++) {
		if (blob_map_get(m, i))
			return true;
	}
	return false;
}

static int unmap_check(const struct blob *b, uint64_t first, uint64_t count)
{
	if (b->flags & BLOB_REC_READ_ONLY)
		return -EPERM;
	if (!(b->flags & BLOB_REC_THIN) || first > b->size ||
	    count > b->size - first)
		return -EINVAL;
	return blob_store_writable(b->bs);
}

/* In memory: clear the slots of [first, first + count). */
static int unmap_apply(struct blob *b, uint64_t first, uint64_t count)
{
	const struct blob_map *m = atomic_load(&b->map);
	uint64_t end = first + count;
	struct blob_map *n;
	uint32_t *release;
	uint32_t nrel;
	int rc = unmap_check(b, first, count);

	if (rc < 0 || count == 0 || !unmap_any(m, first, end))
		return rc;
	rc = unmap_uncommitted(b, m, first, end, &release, &nrel);
	n = rc == 0 ? blob_map_resized(m, m->clusters) : NULL;
	if (!n) {
		free(release);
		return -ENOMEM;
	}
	for (uint64_t k = first / BLOB_EP_SLOTS;
	     k * BLOB_EP_SLOTS < end && rc == 0; k++)
		rc = blob_ep_dirty(b, (uint32_t)k);
	if (rc < 0) {
		/* some extents marked: harmless, they commit unchanged */
		free(release);
		free(n);
		return rc;
	}
	for (uint64_t i = first; i < end; i++)
		blob_map_set(n, i, 0);
	blob_map_publish(b, n, release, nrel);
	return 0;
}

/* --- the public call ------------------------------------------------------ */

struct unmap_req {
	struct blob_req req;
	uint64_t first;
	uint64_t count;
};

static void unmap_run(struct blob_op *op)
{
	struct unmap_req *q = blob_container_of(op, struct unmap_req, req.op);
	struct blob *b = q->req.blob;

	blob_req_done(&q->req, unmap_apply(b, q->first, q->count));
	blob_op_finish(b);
}

static void unmap_start(struct blob_req *r)
{
	r->op.run = unmap_run;
	blob_op_enqueue(r->blob, &r->op);
}

void blob_unmap(struct blob *b, uint64_t first_cluster, uint64_t count,
		blob_cb cb, void *arg)
{
	struct unmap_req *q = blob_req_new(b->bs, sizeof(*q), cb, arg);

	if (!q)
		return;
	q->req.blob = b;
	q->first = first_cluster;
	q->count = count;
	blob_req_start(&q->req, unmap_start);
}
