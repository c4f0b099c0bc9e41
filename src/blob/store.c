// SPDX-License-Identifier: MIT
/*
 * store.c - formatting, loading and unloading a blobstore, device growth,
 * and the store-wide state shared by the other files.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "blob_internal.h"
#include "vhostfs/log.h"

struct store_ctx {
	struct blob_req req;
	struct blob_store **out;
	struct blob_store_opts opts;
	unsigned char *buf;
	struct blob_mdio mdio;
	struct reactor_op timer;
	struct blob_ckpt_req ck;
};

/* --- shared state --------------------------------------------------------- */

void blob_stats_update(struct blob_store *bs)
{
	const struct blob_alloc *a = &bs->alloc;

	atomic_store_explicit(&bs->stats.clusters_free,
			      a->cluster_count - a->cl_used_n,
			      memory_order_relaxed);
	atomic_store_explicit(&bs->stats.md_free,
			      bs->super.md_pages - a->md_used_n,
			      memory_order_relaxed);
	atomic_store_explicit(&bs->stats.blobs, blob_bitmap_count(&a->roots),
			      memory_order_relaxed);
	atomic_store_explicit(&bs->stats.cluster_count, a->cluster_count,
			      memory_order_relaxed);
}

void blob_store_fail(struct blob_store *bs, int err)
{
	if (bs->failed)
		return;
	bs->failed = err < 0 ? err : -EIO;
	log_warn("blob: metadata write failed (%d): no more changes until the "
		 "store is loaded again", err);
}

int blob_store_writable(const struct blob_store *bs)
{
	if (bs->read_only)
		return -EROFS;
	return bs->failed;
}

void blob_store_info_get(struct blob_store *bs, struct blob_store_info *out)
{
	memset(out, 0, sizeof(*out));
	out->io_unit = bs->block_size;
	out->cluster_size = bs->cluster_size;
	out->cluster_count = atomic_load_explicit(&bs->stats.cluster_count,
						  memory_order_relaxed);
	out->data_clusters = out->cluster_count - bs->super.data_start;
	out->free_clusters = atomic_load_explicit(&bs->stats.clusters_free,
						  memory_order_relaxed);
	out->md_pages = bs->super.md_pages;
	out->free_md_pages = atomic_load_explicit(&bs->stats.md_free,
						  memory_order_relaxed);
	out->blobs = atomic_load_explicit(&bs->stats.blobs,
					  memory_order_relaxed);
	out->read_only = bs->read_only;
	out->was_clean = bs->was_clean;
}

uint32_t blob_store_io_unit(const struct blob_store *bs)
{
	return bs->block_size;
}

uint32_t blob_store_cluster_size(const struct blob_store *bs)
{
	return bs->cluster_size;
}

/* --- life cycle of the in-memory store ------------------------------------ */

static struct blob_store *store_new(struct bdev *dev, struct reactor *md)
{
	struct blob_store *bs = calloc(1, sizeof(*bs));

	if (!bs)
		return NULL;
	bs->dev = dev;
	bs->md = md;
	bs->block_size = bdev_block_size(dev);
	if (blob_epoch_init(&bs->epoch) < 0) {
		free(bs);
		return NULL;
	}
	return bs;
}

static void store_free(struct blob_store *bs)
{
	if (bs->md_ch)
		bdev_channel_destroy(bs->md_ch);
	blob_alloc_destroy(&bs->alloc);
	blob_overlay_destroy(&bs->ov);
	free(bs->table.buckets);
	blob_epoch_destroy(&bs->epoch);
	free(bs);
}

/* Limits that follow from the geometry (FORMAT.md "Limits"). */
static void store_limits(struct blob_store *bs)
{
	uint64_t jp = bs->super.journal_pages;
	uint64_t cbp = blob_layout_cluster_bitmap_pages(&bs->super);
	uint64_t by_txn, by_rec;

	bs->j.max_pages = (uint32_t)jp;
	/*
	 * A delete frees every md page with a 16-byte record and all clusters
	 * in at most one bitmap page (plus record) per cluster bitmap page;
	 * the parent's root page and the header take the rest.
	 */
	by_txn = (jp - 2 * cbp - 4) * (BLOB_PAGE_SIZE / BLOB_TXN_REC_SIZE) -
		 BLOB_CHAIN_MAX - 16;
	by_rec = (BLOB_RECORD_MAX - BLOB_REC_HDR_SIZE) / 4;
	bs->max_ep = (uint32_t)(by_txn < by_rec ? by_txn : by_rec);
}

/* Structures sized by the super block; @count clusters on the device. */
static int store_setup(struct blob_store *bs, uint64_t count)
{
	int rc;

	bs->cluster_size = bs->super.cluster_size;
	store_limits(bs);
	rc = blob_alloc_init(bs, count);
	if (rc == 0)
		rc = blob_overlay_init(&bs->ov, bs->super.journal_pages);
	if (rc == 0) {
		bs->table.nbuckets = 256;
		bs->table.buckets = calloc(256, sizeof(*bs->table.buckets));
		rc = bs->table.buckets ? 0 : -ENOMEM;
	}
	return rc;
}

/* After load or format: "used" starts as what is committed. */
static int store_used_from_committed(struct blob_store *bs)
{
	struct blob_alloc *a = &bs->alloc;

	memcpy(a->cl_used.w, a->cl_committed.w,
	       (a->cl_used.nbits + 63) / 64 * 8);
	memcpy(a->md_used.w, a->md_committed.w,
	       (a->md_used.nbits + 63) / 64 * 8);
	a->cl_used_n = blob_bitmap_count(&a->cl_used);
	a->md_used_n = blob_bitmap_count(&a->md_used);
	a->cl_hint = bs->super.data_start;
	a->md_hint = 0;
	blob_stats_update(bs);
	return 0;
}

static uint64_t dev_bytes(const struct blob_store *bs)
{
	return bdev_block_count(bs->dev) * (uint64_t)bs->block_size;
}

/* --- format --------------------------------------------------------------- */

static uint64_t clamp64(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* The super block for @opts on this device; -EINVAL/-ENOSPC. */
static int format_geometry(struct blob_store *bs,
			   const struct blob_store_opts *o, uint64_t *count)
{
	struct blob_super *s = &bs->super;
	uint64_t bytes = dev_bytes(bs);
	uint32_t cs = o->cluster_size ? o->cluster_size : BLOB_CLUSTER_DEFAULT;
	uint64_t n, cap, md, cbp;

	if (cs < BLOB_CLUSTER_MIN || cs > BLOB_CLUSTER_MAX || (cs & (cs - 1)))
		return -EINVAL;
	n = bytes / cs;
	cap = o->max_size / cs > n ? o->max_size / cs : n;
	if (n > BLOB_CAPACITY_MAX)
		return -EINVAL;
	cap = cap > BLOB_CAPACITY_MAX ? BLOB_CAPACITY_MAX : cap;
	md = o->md_pages ? o->md_pages
			 : clamp64(n < bytes / 65536 ? n : bytes / 65536, 64,
				   BLOB_MD_PAGES_MAX);
	if (md < BLOB_MD_PAGES_MIN || md > BLOB_MD_PAGES_MAX)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	s->block_size = bs->block_size;
	s->cluster_size = cs;
	s->md_pages = (uint32_t)md;
	s->journal_pages = o->journal_pages
				   ? o->journal_pages
				   : (uint32_t)clamp64(md / 16, 64, 1024);
	s->cluster_capacity = cap;
	cbp = blob_layout_cluster_bitmap_pages(s);
	if (!o->journal_pages && s->journal_pages < 2 * cbp + 64)
		s->journal_pages = (uint32_t)(2 * cbp + 64);
	if (s->journal_pages < BLOB_JOURNAL_MIN ||
	    s->journal_pages > BLOB_JOURNAL_MAX ||
	    s->journal_pages < 2 * cbp + 8 || blob_layout_compute(s) < 0)
		return -EINVAL;
	if (s->data_start >= n)
		return -ENOSPC;
	s->seq = 1;
	s->ckpt_seq = 1;
	s->journal_seq = 1;
	*count = n;
	return getrandom(s->uuid, sizeof(s->uuid), 0) == sizeof(s->uuid)
		       ? 0 : -EIO;
}

static void store_done(struct store_ctx *c, int err)
{
	struct blob_store *bs = c->req.bs;

	free(c->buf);
	c->buf = NULL;
	if (err == 0) {
		*c->out = bs;
		blob_req_done(&c->req, 0);
		return;
	}
	/* the request outlives the store it was made for */
	bs->reqs--;
	store_free(bs);
	c->req.bs = NULL;
	blob_req_fail(&c->req, err);
}

static void format_super_cpl(void *arg, int err)
{
	struct store_ctx *c = arg;

	if (err == 0)
		err = store_used_from_committed(c->req.bs);
	store_done(c, err);
}

static void format_flush_cpl(void *arg, int err)
{
	struct store_ctx *c = arg;
	struct blob_store *bs = c->req.bs;

	if (err < 0) {
		store_done(c, err);
		return;
	}
	blob_super_encode(&bs->super, c->buf);
	blob_mdio_write(bs, &c->mdio, BLOB_PAGE_SIZE, c->buf, BLOB_PAGE_SIZE,
			BDEV_WRITE_FUA, format_super_cpl, c);
}

static void format_area_cpl(void *arg, int err)
{
	struct store_ctx *c = arg;

	if (err < 0) {
		store_done(c, err);
		return;
	}
	blob_mdio_flush(c->req.bs, &c->mdio, format_flush_cpl, c);
}

static void format_zero_cpl(void *arg, int err)
{
	struct store_ctx *c = arg;
	struct blob_store *bs = c->req.bs;

	if (err < 0) {
		store_done(c, err);
		return;
	}
	blob_ckpt_serialize(bs, 1, c->buf);
	blob_mdio_write(bs, &c->mdio, bs->super.ckpt_start[0] * BLOB_PAGE_SIZE,
			c->buf, blob_ckpt_bytes(bs), 0, format_area_cpl, c);
}

static void format_start(struct blob_req *r)
{
	struct store_ctx *c = (struct store_ctx *)r;
	struct blob_store *bs = r->bs;
	uint64_t count;
	int rc = bdev_channel_create(bs->dev, bs->md, &bs->md_ch);

	if (rc == 0)
		rc = format_geometry(bs, &c->opts, &count);
	if (rc == 0)
		rc = store_setup(bs, count);
	if (rc == 0) {
		/* the zeroed super pages, then the checkpoint area */
		size_t len = blob_ckpt_bytes(bs);

		c->buf = blob_page_alloc(len > 2 * BLOB_PAGE_SIZE
						 ? len : 2 * BLOB_PAGE_SIZE);
		rc = c->buf ? 0 : -ENOMEM;
	}
	if (rc < 0) {
		store_done(c, rc);
		return;
	}
	for (uint64_t i = 0; i < bs->super.data_start; i++) {
		blob_bitmap_set(&bs->alloc.cl_committed, i);
	}
	bs->j.seq = 1;
	blob_mdio_write(bs, &c->mdio, 0, c->buf, 2 * BLOB_PAGE_SIZE, 0,
			format_zero_cpl, c);
}

static struct store_ctx *store_ctx_new(struct bdev *dev, struct reactor *md,
				       struct blob_store **out, blob_cb cb,
				       void *arg)
{
	struct blob_store *bs = store_new(dev, md);
	struct store_ctx *c;

	if (!bs) {
		/* a throw-away store only to report the error */
		struct blob_store tmp = { .md = md };

		c = blob_req_new(&tmp, sizeof(*c), cb, arg);
		if (c)
			blob_req_fail(&c->req, -ENOMEM);
		return NULL;
	}
	c = blob_req_new(bs, sizeof(*c), cb, arg);
	if (!c) {
		store_free(bs);
		return NULL;
	}
	c->out = out;
	return c;
}

void blob_store_init(struct bdev *dev, struct reactor *md,
		     const struct blob_store_opts *opts,
		     struct blob_store **out, blob_cb cb, void *arg)
{
	struct store_ctx *c = store_ctx_new(dev, md, out, cb, arg);

	if (!c)
		return;
	if (opts)
		c->opts = *opts;
	blob_req_start(&c->req, format_start);
}

/* --- load ----------------------------------------------------------------- */

static void load_ckpt_cpl(void *arg, int err)
{
	struct store_ctx *c = arg;

	if (err == 0)
		err = store_used_from_committed(c->req.bs);
	store_done(c, err);
}

static void load_replay_cpl(void *arg, int err)
{
	struct store_ctx *c = arg;
	struct blob_store *bs = c->req.bs;

	if (err == 0)
		err = store_used_from_committed(bs);
	if (err < 0 || bs->read_only) {
		store_done(c, err);
		return;
	}
	/* replayed pages go home and the super block says "in use" */
	blob_ckpt_write(bs, false, load_ckpt_cpl, c);
}

static void load_area_cpl(void *arg, int err)
{
	struct store_ctx *c = arg;
	struct blob_store *bs = c->req.bs;

	if (err == 0)
		err = blob_ckpt_parse(bs, c->buf);
	/* the device must still hold every cluster the store had */
	if (err == 0 &&
	    bs->alloc.cluster_count * bs->cluster_size > dev_bytes(bs))
		err = -EUCLEAN;
	if (err < 0) {
		store_done(c, err);
		return;
	}
	bs->j.seq = bs->super.journal_seq;
	bs->j.pos = 0;
	if (bs->was_clean) {
		blob_mdio_defer(bs, &c->mdio, 0, load_replay_cpl, c);
		return;
	}
	blob_replay(bs, load_replay_cpl, c);
}

/* FORMAT.md "Selecting the super block". */
static int load_pick_super(struct store_ctx *c)
{
	struct blob_store *bs = c->req.bs;
	struct blob_super s[2];
	int rc[2];

	for (uint32_t i = 0; i < 2; i++)
		rc[i] = blob_super_decode(c->buf + i * BLOB_PAGE_SIZE, i,
					  &s[i]);
	if (rc[0] < 0 && rc[1] < 0)
		return rc[0] == -EUCLEAN || rc[1] == -EUCLEAN ? -EUCLEAN
							      : -EILSEQ;
	if (rc[0] < 0 || (rc[1] == 0 && s[1].seq > s[0].seq))
		s[0] = s[1];
	bs->super = s[0];
	if (bs->super.block_size != bs->block_size)
		return -EINVAL;
	if (bs->super.data_start * bs->super.cluster_size > dev_bytes(bs))
		return -EUCLEAN;
	bs->was_clean = (bs->super.flags & BLOB_SUPER_CLEAN) != 0;
	return 0;
}

static void load_super_cpl(void *arg, int err)
{
	struct store_ctx *c = arg;
	struct blob_store *bs = c->req.bs;
	uint64_t area;

	if (err == 0)
		err = load_pick_super(c);
	if (err == 0)
		err = store_setup(bs, 0);
	if (err == 0) {
		free(c->buf);
		c->buf = blob_page_alloc(blob_ckpt_bytes(bs));
		err = c->buf ? 0 : -ENOMEM;
	}
	if (err < 0) {
		store_done(c, err);
		return;
	}
	area = bs->super.ckpt_start[bs->super.ckpt_area] * BLOB_PAGE_SIZE;
	blob_mdio_read(bs, &c->mdio, area, c->buf, blob_ckpt_bytes(bs),
		       load_area_cpl, c);
}

static void load_start(struct blob_req *r)
{
	struct store_ctx *c = (struct store_ctx *)r;
	struct blob_store *bs = r->bs;
	int rc = bdev_channel_create(bs->dev, bs->md, &bs->md_ch);

	if (rc == 0 && bdev_block_count(bs->dev) * bs->block_size <
			       2 * BLOB_PAGE_SIZE)
		rc = -EILSEQ;
	if (rc == 0) {
		c->buf = blob_page_alloc(2 * BLOB_PAGE_SIZE);
		rc = c->buf ? 0 : -ENOMEM;
	}
	if (rc < 0) {
		store_done(c, rc);
		return;
	}
	blob_mdio_read(bs, &c->mdio, 0, c->buf, 2 * BLOB_PAGE_SIZE,
		       load_super_cpl, c);
}

void blob_store_load(struct bdev *dev, struct reactor *md,
		     const struct blob_load_opts *opts,
		     struct blob_store **out, blob_cb cb, void *arg)
{
	struct store_ctx *c = store_ctx_new(dev, md, out, cb, arg);

	if (!c)
		return;
	c->req.bs->read_only = opts && opts->read_only;
	blob_req_start(&c->req, load_start);
}

/* --- unload --------------------------------------------------------------- */

static void unload_finish(struct store_ctx *c, int err)
{
	struct blob_store *bs = c->req.bs;

	bs->reqs--;
	store_free(bs);
	c->req.bs = NULL;
	blob_req_fail(&c->req, err);
}

static void unload_wait_cpl(void *arg, int res)
{
	struct store_ctx *c = arg;
	struct blob_store *bs = c->req.bs;

	/* retired items and a grace timer must be gone before we free */
	if (!blob_epoch_idle(bs) || !blob_journal_idle(bs)) {
		reactor_op_init(&c->timer, unload_wait_cpl, c);
		reactor_timeout(bs->md, &c->timer, 50000);
		return;
	}
	unload_finish(c, c->req.err);
}

static void unload_ckpt_cpl(void *arg, int err)
{
	struct store_ctx *c = arg;

	/* the journal is still on the stack: look again from the loop */
	c->req.err = err;
	blob_defer(c->req.bs, unload_wait_cpl, c, 0);
}

static void unload_start(struct blob_req *r)
{
	struct store_ctx *c = (struct store_ctx *)r;
	struct blob_store *bs = r->bs;

	if (bs->table.n || bs->epoch.nchannels || bs->reqs > 1) {
		blob_req_done(r, -EBUSY);
		return;
	}
	if (bs->read_only || bs->failed) {
		c->req.err = bs->failed;
		unload_wait_cpl(c, 0);
		return;
	}
	c->ck.clean = true;
	c->ck.cb = unload_ckpt_cpl;
	c->ck.arg = c;
	blob_journal_checkpoint(bs, &c->ck);
}

void blob_store_unload(struct blob_store *bs, blob_cb cb, void *arg)
{
	struct store_ctx *c = blob_req_new(bs, sizeof(*c), cb, arg);

	if (c)
		blob_req_start(&c->req, unload_start);
}

/* --- grow ----------------------------------------------------------------- */

static void grow_cpl(void *arg, int err)
{
	struct store_ctx *c = arg;

	blob_stats_update(c->req.bs);
	blob_req_done(&c->req, err);
}

static void grow_start(struct blob_req *r)
{
	struct blob_store *bs = r->bs;
	uint64_t n = dev_bytes(bs) / bs->cluster_size;
	struct blob_change *ch;
	int rc = blob_store_writable(bs);

	if (n > bs->super.cluster_capacity)
		n = bs->super.cluster_capacity;
	if (rc < 0 || n <= bs->alloc.cluster_count) {
		blob_req_done(r, rc);
		return;
	}
	ch = blob_change_new();
	rc = ch ? blob_change_rec(ch, BLOB_REC_GROW, 0, n) : -ENOMEM;
	if (rc < 0) {
		blob_change_free(ch);
		blob_req_done(r, rc);
		return;
	}
	ch->cb = grow_cpl;
	ch->arg = r;
	blob_journal_submit(bs, ch);
}

void blob_store_grow(struct blob_store *bs, blob_cb cb, void *arg)
{
	struct store_ctx *c = blob_req_new(bs, sizeof(*c), cb, arg);

	if (c)
		blob_req_start(&c->req, grow_start);
}
