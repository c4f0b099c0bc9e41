// SPDX-License-Identifier: MIT
/*
 * cluster.c - giving a blob a new cluster: the first write to an
 * unallocated cluster of a thin blob, and the copies of inflate/decouple.
 *
 * On the md thread, inside an operation of the blob: take a free cluster,
 * write all of it (the new data, and the parent's data or zeros around it),
 * and only when those writes completed put it in the map.  Until the next
 * commit only memory knows the cluster belongs to the blob; the commit's
 * flush orders these writes before the transaction (FORMAT.md O1).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blob_internal.h"

struct fill_ctx {
	struct blob *b;
	uint64_t idx;
	uint64_t off, len;           /* the new data within the cluster */
	const struct iovec *iov;
	unsigned int iovcnt;
	uint32_t cluster;
	uint32_t src;                /* the parent's cluster, or 0 */
	int step;
	unsigned char *buf;          /* copy from a parent */
	struct iovec one;
	blob_cb cb;
	void *arg;
	struct blob_mdio mdio;
};

static void fill_step(struct fill_ctx *f);

static void fill_finish(struct fill_ctx *f, int err)
{
	blob_cb cb = f->cb;
	void *arg = f->arg;

	if (err < 0 && f->cluster) {
		/* never exposed: back at once */
		blob_cluster_give(f->b->bs, f->cluster);
		blob_stats_update(f->b->bs);
	}
	free(f->buf);
	free(f);
	cb(arg, err);
}

/* The cluster is written: expose it. */
static void fill_expose(struct fill_ctx *f)
{
	struct blob *b = f->b;
	int rc = blob_ep_dirty(b, (uint32_t)(f->idx / BLOB_EP_SLOTS));

	if (rc < 0) {
		fill_finish(f, rc);
		return;
	}
	b->bs->fills_unflushed = true;
	blob_map_set(atomic_load(&b->map), f->idx, f->cluster);
	f->cluster = 0;
	fill_finish(f, 0);
}

static void fill_io_cpl(void *arg, int err)
{
	struct fill_ctx *f = arg;

	if (err < 0) {
		fill_finish(f, err);
		return;
	}
	f->step++;
	fill_step(f);
}

static uint64_t fill_off(const struct fill_ctx *f, uint64_t within)
{
	return blob_cluster_off(f->b->bs, f->cluster) + within;
}

/* Zeros, data, zeros: three requests at most, never overlapping. */
static void fill_step_zero(struct fill_ctx *f)
{
	struct blob_store *bs = f->b->bs;
	uint64_t end = f->off + f->len;

	switch (f->step) {
	case 0:
		if (f->off) {
			blob_mdio_zeroes(bs, &f->mdio, fill_off(f, 0), f->off,
					 fill_io_cpl, f);
			return;
		}
		f->step++;
		/* fall through */
	case 1:
		if (f->len) {
			blob_mdio_writev(bs, &f->mdio, fill_off(f, f->off),
					 f->iov, f->iovcnt, 0, fill_io_cpl, f);
			return;
		}
		f->step++;
		/* fall through */
	case 2:
		if (end < bs->cluster_size) {
			blob_mdio_zeroes(bs, &f->mdio, fill_off(f, end),
					 bs->cluster_size - end, fill_io_cpl,
					 f);
			return;
		}
		f->step++;
		/* fall through */
	default:
		fill_expose(f);
	}
}

/* Read the parent's cluster, lay the new data over it, write it all. */
static void fill_step_copy(struct fill_ctx *f)
{
	struct blob_store *bs = f->b->bs;
	struct iov_cursor c;

	switch (f->step) {
	case 0:
		blob_mdio_read(bs, &f->mdio, blob_cluster_off(bs, f->src),
			       f->buf, bs->cluster_size, fill_io_cpl, f);
		return;
	case 1:
		iov_cursor_init(&c, f->iov, f->iovcnt);
		(void)iov_cursor_read(&c, f->buf + f->off, f->len);
		blob_mdio_write(bs, &f->mdio, fill_off(f, 0), f->buf,
				bs->cluster_size, 0, fill_io_cpl, f);
		return;
	default:
		fill_expose(f);
	}
}

static void fill_step(struct fill_ctx *f)
{
	if (f->src)
		fill_step_copy(f);
	else
		fill_step_zero(f);
}

static void fill_begin(struct fill_ctx *f);

static void fill_retry(void *arg, int err)
{
	struct fill_ctx *f = arg;

	if (err < 0) {
		fill_finish(f, err);
		return;
	}
	fill_begin(f);
}

static void fill_begin(struct fill_ctx *f)
{
	struct blob *b = f->b;
	int rc = blob_cluster_take(b->bs, &f->cluster);

	if (rc < 0) {
		/* freed clusters may be on their way back */
		f->cluster = 0;
		blob_cluster_wait(b->bs, fill_retry, f);
		return;
	}
	blob_stats_update(b->bs);
	f->src = blob_map_lookup_chain(atomic_load(&b->map)->parent, f->idx);
	if (f->src) {
		f->buf = blob_page_alloc(b->bs->cluster_size);
		if (!f->buf) {
			fill_finish(f, -ENOMEM);
			return;
		}
	}
	fill_step(f);
}

static void fill_committed(void *arg, int err)
{
	struct fill_ctx *f = arg;

	if (err < 0) {
		fill_finish(f, err);
		return;
	}
	fill_begin(f);
}

void blob_cluster_fill(struct blob *b, uint64_t idx, uint64_t off,
		       uint64_t len, const struct iovec *iov,
		       unsigned int iovcnt, blob_cb cb, void *arg)
{
	struct fill_ctx *f = calloc(1, sizeof(*f));
	uint32_t k = (uint32_t)(idx / BLOB_EP_SLOTS);

	if (!f) {
		blob_defer(b->bs, cb, arg, -ENOMEM);
		return;
	}
	*f = (struct fill_ctx){
		.b = b, .idx = idx, .off = off, .len = len, .iov = iov,
		.iovcnt = iovcnt, .cb = cb, .arg = arg,
	};
	/*
	 * One more dirty extent must still fit the blob's next commit in one
	 * transaction; if not, commit what is pending first.
	 */
	if (!b->ep[k].old &&
	    blob_commit_pages(b) + 2 > b->bs->j.max_pages) {
		blob_commit(b, false, fill_committed, f);
		return;
	}
	fill_begin(f);
}
