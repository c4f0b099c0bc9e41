// SPDX-License-Identifier: MIT
/*
 * test_power.c - the power-loss sweep.
 *
 * For each scenario a base store is built and unloaded cleanly.  Then, for
 * every loss mode of the fault device and for cut = 1, 2, 3, ...: a copy of
 * the base is loaded through a fault device that loses power after write
 * number `cut` (the load's own writes count), the scenario's operation runs
 * until it completes or fails, and the image that survives the power loss
 * is loaded again.  That load must succeed, the check must find nothing,
 * everything the base held must be intact, the operation must be all or
 * nothing (all if it had completed), and no blob may show a block another
 * blob wrote.  The sweep for a mode ends when the operation completes
 * before the cut.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blob_test.h"
#include "vhostfs/log.h"

#define CUT_MAX 400

/* Geometries of the sweep: small journals, so checkpoints happen too. */
static const struct bst_geo pl_geos[] = {
	{ .block_size = 512, .cluster_size = 4096, .dev_bytes = 1 << 20,
	  .md_pages = 64, .journal_pages = 16 },
	{ .block_size = 4096, .cluster_size = 16384, .dev_bytes = 2 << 20,
	  .md_pages = 64, .journal_pages = 24 },
};

struct mode {
	enum bdev_loss_mode loss;
	bool torn;
};

static const struct mode pl_modes[] = {
	{ BDEV_LOSS_DROP_ALL, false },
	{ BDEV_LOSS_KEEP_ALL, false },
	{ BDEV_LOSS_KEEP_PREFIX, false },
	{ BDEV_LOSS_KEEP_RANDOM, false },
	{ BDEV_LOSS_KEEP_RANDOM_BLOCKS, false },
	{ BDEV_LOSS_KEEP_ALL, true },
};

/* What a scenario knows about its blobs. */
struct pl {
	const struct bst_geo *g;
	struct blob_store *bs;
	struct blob_channel *ch;
	uint64_t a, b, c;    /* ids from the setup */
	uint64_t new_id;     /* an id the operation returned */
	uint64_t model[8];   /* scenario-specific */
	uint64_t n_old, n_new; /* grow: clusters before and after */
};

struct scenario {
	const char *name;
	void (*setup)(struct pl *p);
	int (*op)(struct pl *p);
	void (*verify)(struct pl *p, bool done);
};

static uint64_t cs(const struct pl *p)
{
	return p->g->cluster_size;
}

static uint32_t unit(const struct pl *p)
{
	return p->g->block_size;
}

/* --- helpers on the healthy store ----------------------------------------- */

static void must_write(struct pl *p, struct blob *b, uint64_t off, size_t len,
		       uint32_t v)
{
	void *buf = bst_alloc(len);

	bst_pattern(buf, len, unit(p), blob_get_id(b), off, v);
	assert_int_equal(bst_write(p->ch, b, off, buf, len), 0);
	free(buf);
}

static uint64_t must_create(struct pl *p, uint64_t n, bool thin)
{
	uint64_t id;

	assert_int_equal(bst_create(p->bs, n, thin, &id), 0);
	return id;
}

static struct blob *must_open(struct pl *p, uint64_t id)
{
	struct blob *b;

	assert_int_equal(bst_open(p->bs, id, &b), 0);
	return b;
}

/* Blob @p->a of @n clusters, version 1 written over [0, len). */
static void must_create_a(struct pl *p, uint64_t n, bool thin, size_t len)
{
	struct blob *b;

	p->a = must_create(p, n, thin);
	b = must_open(p, p->a);
	must_write(p, b, 0, len, 1);
	assert_int_equal(bst_close(b), 0);
}

/* Version of each unit of [off, off + len) of @b, written as @id. */
static void versions(struct pl *p, struct blob *b, uint64_t id, uint64_t off,
		     size_t len, int64_t *out)
{
	unsigned char *buf = bst_alloc(len);

	assert_int_equal(bst_read(p->ch, b, off, buf, len), 0);
	for (size_t i = 0; i < len / unit(p); i++)
		out[i] = bst_pattern_version(buf + i * unit(p), unit(p), id,
					     off + i * unit(p));
	free(buf);
}

/* Every unit of [off, off + len) of @b is version @v (written as @id). */
static void expect_all(struct pl *p, struct blob *b, uint64_t id, uint64_t off,
		       size_t len, int64_t v)
{
	int64_t *ver = calloc(len / unit(p), sizeof(*ver));

	versions(p, b, id, off, len, ver);
	for (size_t i = 0; i < len / unit(p); i++)
		assert_int_equal(ver[i], v);
	free(ver);
}

/* Every unit of [off, off + len) of @b is version @v1 or @v2. */
static void expect_either(struct pl *p, struct blob *b, uint64_t id,
			  uint64_t off, size_t len, int64_t v1, int64_t v2)
{
	int64_t *ver = calloc(len / unit(p), sizeof(*ver));

	versions(p, b, id, off, len, ver);
	for (size_t i = 0; i < len / unit(p); i++)
		assert_true(ver[i] == v1 || ver[i] == v2);
	free(ver);
}

static size_t list_all(struct pl *p, uint64_t *ids, size_t max)
{
	size_t n = 0, got;
	uint64_t after = BLOB_ID_NONE;

	do {
		assert_int_equal(bst_list(p->bs, after, ids + n, max - n, &got),
				 0);
		n += got;
		after = got ? ids[n - 1] : after;
	} while (got && n < max);
	return n;
}

/*
 * No blob shows what another blob wrote: every unit of every blob reads as
 * zeros or as a pattern of an id in @family (its own id always counts).
 */
static void check_no_foreign(struct pl *p, const uint64_t *family, size_t nf)
{
	uint64_t ids[64];
	size_t n = list_all(p, ids, 64);

	for (size_t i = 0; i < n; i++) {
		struct blob *b = must_open(p, ids[i]);
		size_t len = blob_get_clusters(b) * cs(p);
		unsigned char *buf = bst_alloc(len ? len : 1);

		if (len)
			assert_int_equal(bst_read(p->ch, b, 0, buf, len), 0);
		for (size_t u = 0; u < len; u += unit(p)) {
			bool ok = bst_pattern_version(buf + u, unit(p), ids[i],
						      u) >= 0;

			for (size_t f = 0; f < nf && !ok; f++)
				ok = bst_pattern_version(buf + u, unit(p),
							 family[f], u) >= 0;
			if (!ok)
				fail_msg("blob %#llx shows foreign data at %zu",
					 (unsigned long long)ids[i], u);
		}
		free(buf);
		assert_int_equal(bst_close(b), 0);
	}
}

/* --- scenarios ------------------------------------------------------------ */

/* create: a thick blob appears whole (zeroed) or not at all */
static void create_setup(struct pl *p)
{
	must_create_a(p, 2, false, 2 * cs(p));
}

static int create_op(struct pl *p)
{
	return bst_create(p->bs, 3, false, &p->new_id);
}

static void expect_a_v1(struct pl *p, uint64_t clusters)
{
	struct blob *b = must_open(p, p->a);

	assert_int_equal(blob_get_clusters(b), clusters);
	expect_all(p, b, p->a, 0, 2 * cs(p), 1);
	assert_int_equal(bst_close(b), 0);
}

static void create_verify(struct pl *p, bool done)
{
	uint64_t ids[8];
	size_t n = list_all(p, ids, 8);

	expect_a_v1(p, 2);
	assert_int_equal(n, done ? 2 : n);
	assert_true(n == 1 || n == 2);
	for (size_t i = 0; i < n; i++) {
		struct blob *b;

		if (ids[i] == p->a)
			continue;
		b = must_open(p, ids[i]);
		assert_int_equal(blob_get_clusters(b), 3);
		expect_all(p, b, ids[i], 0, 3 * cs(p), 0);
		assert_int_equal(bst_close(b), 0);
	}
	check_no_foreign(p, NULL, 0);
}

/* resize up (thick): size old or new, data kept, new clusters zero */
/* Resize @p->a to @n clusters and sync. */
static int resize_a(struct pl *p, uint64_t n)
{
	struct blob *b;
	int rc = bst_open(p->bs, p->a, &b), rc2;

	if (rc < 0)
		return rc;
	rc = bst_resize(b, n);
	if (rc == 0)
		rc = bst_sync(b);
	rc2 = bst_close(b);
	return rc ? rc : rc2;
}

static int resize_up_op(struct pl *p)
{
	return resize_a(p, 5);
}

static void resize_up_verify(struct pl *p, bool done)
{
	struct blob *b = must_open(p, p->a);
	uint64_t n = blob_get_clusters(b);

	assert_true(n == 5 || (!done && n == 2));
	expect_all(p, b, p->a, 0, 2 * cs(p), 1);
	if (n == 5)
		expect_all(p, b, p->a, 2 * cs(p), 3 * cs(p), 0);
	assert_int_equal(bst_close(b), 0);
	check_no_foreign(p, NULL, 0);
}

/* resize down: freed clusters never show up in a new blob */
static void resize_down_setup(struct pl *p)
{
	must_create_a(p, 5, false, 5 * cs(p));
}

static int resize_down_op(struct pl *p)
{
	return resize_a(p, 2);
}

static void resize_down_verify(struct pl *p, bool done)
{
	struct blob *b = must_open(p, p->a);
	uint64_t n = blob_get_clusters(b), id;

	assert_true(n == 2 || (!done && n == 5));
	expect_all(p, b, p->a, 0, n * cs(p), 1);
	assert_int_equal(bst_close(b), 0);
	/* a new blob on the freed space reads zeros */
	assert_int_equal(bst_create(p->bs, 3, false, &id), 0);
	b = must_open(p, id);
	expect_all(p, b, id, 0, 3 * cs(p), 0);
	assert_int_equal(bst_close(b), 0);
	check_no_foreign(p, NULL, 0);
}

/* write + sync over allocated and unallocated clusters of a thin blob */
static void write_setup(struct pl *p)
{
	must_create_a(p, 6, true, cs(p) + unit(p));
}

static int write_op(struct pl *p)
{
	size_t len = 4 * cs(p) - cs(p) / 2;
	void *buf = bst_alloc(len);
	struct blob *b;
	int rc = bst_open(p->bs, p->a, &b), rc2;

	if (rc < 0) {
		free(buf);
		return rc;
	}
	bst_pattern(buf, len, unit(p), p->a, cs(p) / 2, 2);
	rc = bst_write(p->ch, b, cs(p) / 2, buf, len);
	if (rc == 0)
		rc = bst_sync(b);
	rc2 = bst_close(b);
	free(buf);
	return rc ? rc : rc2;
}

static void write_verify(struct pl *p, bool done)
{
	struct blob *b = must_open(p, p->a);
	uint64_t half = cs(p) / 2, u = unit(p);

	assert_int_equal(blob_get_clusters(b), 6);
	expect_all(p, b, p->a, 0, half, 1);
	if (done) {
		expect_all(p, b, p->a, half, 4 * cs(p) - half, 2);
	} else {
		expect_either(p, b, p->a, half, cs(p) + u - half, 1, 2);
		expect_either(p, b, p->a, cs(p) + u, 3 * cs(p) - u, 0, 2);
	}
	expect_all(p, b, p->a, 4 * cs(p), 2 * cs(p), 0);
	assert_int_equal(bst_close(b), 0);
	check_no_foreign(p, NULL, 0);
}

/* xattrs: both changes and the record rewrite are atomic */
static void xattr_setup(struct pl *p)
{
	struct blob *b;

	p->a = must_create(p, 1, true);
	b = must_open(p, p->a);
	assert_int_equal(bst_xattr_set(b, 0, "k", "old", 3), 0);
	assert_int_equal(bst_close(b), 0);
}

static char xattr_big[5000];

static int xattr_op(struct pl *p)
{
	struct blob *b;
	int rc = bst_open(p->bs, p->a, &b), rc2;

	if (rc < 0)
		return rc;
	memset(xattr_big, 'n', sizeof(xattr_big));
	rc = bst_xattr_set(b, 0, "k", xattr_big, sizeof(xattr_big));
	if (rc == 0)
		rc = bst_xattr_set(b, BLOB_XATTR_INTERNAL, "k2", "x", 1);
	if (rc == 0)
		rc = bst_sync(b);
	rc2 = bst_close(b);
	return rc ? rc : rc2;
}

static void xattr_verify(struct pl *p, bool done)
{
	struct blob *b = must_open(p, p->a);
	static char v[sizeof(xattr_big)];
	size_t len, len2;
	int rc2;

	assert_int_equal(bst_xattr_get(b, 0, "k", v, sizeof(v), &len), 0);
	rc2 = bst_xattr_get(b, BLOB_XATTR_INTERNAL, "k2", v + 10, 1, &len2);
	if (len == 3) {
		assert_false(done);
		assert_memory_equal(v, "old", 3);
		assert_int_equal(rc2, -ENODATA);
	} else {
		assert_int_equal(len, sizeof(xattr_big));
		assert_int_equal(rc2, 0);
	}
	assert_int_equal(bst_close(b), 0);
}

/* delete: gone or intact; its clusters never leak into a new blob */
static void delete_setup(struct pl *p)
{
	struct blob *b;

	create_setup(p);
	p->b = must_create(p, 4, true);
	b = must_open(p, p->b);
	must_write(p, b, 3 * cs(p), cs(p), 1);
	must_write(p, b, 0, unit(p), 1);
	assert_int_equal(bst_close(b), 0);
}

static int delete_op(struct pl *p)
{
	return bst_delete(p->bs, p->b);
}

static void delete_verify(struct pl *p, bool done)
{
	struct blob *b;
	uint64_t id;
	int rc = bst_open(p->bs, p->b, &b);

	expect_a_v1(p, 2);
	assert_int_equal(rc, done ? -ENOENT : rc);
	if (rc == 0) {
		expect_all(p, b, p->b, 3 * cs(p), cs(p), 1);
		expect_all(p, b, p->b, 0, unit(p), 1);
		assert_int_equal(bst_close(b), 0);
	} else {
		assert_int_equal(rc, -ENOENT);
	}
	assert_int_equal(bst_create(p->bs, 6, false, &id), 0);
	b = must_open(p, id);
	expect_all(p, b, id, 0, 6 * cs(p), 0);
	assert_int_equal(bst_close(b), 0);
	check_no_foreign(p, NULL, 0);
}

/* snapshot, copy-on-write, clone */
static int snapshot_op(struct pl *p)
{
	struct blob *b;
	void *buf = bst_alloc(unit(p));
	int rc = bst_open(p->bs, p->a, &b), rc2;

	if (rc < 0) {
		free(buf);
		return rc;
	}
	rc = bst_snapshot(b, &p->model[0]);
	bst_pattern(buf, unit(p), unit(p), p->a, cs(p), 2);
	if (rc == 0)
		rc = bst_write(p->ch, b, cs(p), buf, unit(p));
	if (rc == 0)
		rc = bst_sync(b);
	if (rc == 0)
		rc = bst_clone(p->bs, p->model[0], &p->model[1]);
	rc2 = bst_close(b);
	free(buf);
	return rc ? rc : rc2;
}

static void snapshot_verify(struct pl *p, bool done)
{
	uint64_t ids[8], fam[1] = { p->a };
	size_t n = list_all(p, ids, 8);
	struct blob *b = must_open(p, p->a);

	/* a: v1, its cluster 1 may have its first unit rewritten as v2 */
	assert_int_equal(blob_get_clusters(b), 2);
	expect_all(p, b, p->a, 0, cs(p), 1);
	if (done)
		expect_all(p, b, p->a, cs(p), unit(p), 2);
	else
		expect_either(p, b, p->a, cs(p), unit(p), 1, 2);
	expect_all(p, b, p->a, cs(p) + unit(p), cs(p) - unit(p), 1);
	assert_int_equal(bst_close(b), 0);
	assert_true(n <= 3);
	if (done)
		assert_int_equal(n, 3);
	/* the snapshot and the clone show a's first version */
	for (size_t i = 0; i < n; i++) {
		if (ids[i] == p->a)
			continue;
		b = must_open(p, ids[i]);
		expect_all(p, b, p->a, 0, 2 * cs(p), 1);
		assert_int_equal(bst_close(b), 0);
	}
	check_no_foreign(p, fam, 1);
}

/* device growth */
static int grow_op(struct pl *p)
{
	return bst_grow(p->bs);
}

static void grow_verify(struct pl *p, bool done)
{
	struct blob_store_info info;

	blob_store_info_get(p->bs, &info);
	assert_true(info.cluster_count == p->n_new ||
		    (!done && info.cluster_count == p->n_old));
	expect_a_v1(p, 2);
}

/*
 * A mixed workload: creates, writes, syncs, a delete, xattrs.  The model
 * keeps per blob what was synced; after the cut every blob the store still
 * has must show at least that, nothing foreign, and every blob whose create
 * completed must exist unless its delete completed.
 */
enum { MX_B, MX_C, MX_D, MX_N };

static int mixed_op(struct pl *p)
{
	struct blob *b = NULL, *c = NULL;
	void *buf = bst_alloc(2 * cs(p));
	int rc;

	rc = bst_create(p->bs, 4, true, &p->model[MX_B]);
	if (rc == 0)
		rc = bst_open(p->bs, p->model[MX_B], &b);
	if (rc == 0) {
		bst_pattern(buf, 2 * cs(p), unit(p), p->model[MX_B], cs(p), 1);
		rc = bst_write(p->ch, b, cs(p), buf, 2 * cs(p));
	}
	if (rc == 0)
		rc = bst_sync(b);
	if (rc == 0)
		p->model[4] = 1; /* b synced with v1 at clusters 1-2 */
	if (rc == 0)
		rc = bst_delete(p->bs, p->a);
	if (rc == 0)
		p->model[5] = 1; /* a gone */
	if (rc == 0)
		rc = bst_create(p->bs, 2, false, &p->model[MX_C]);
	if (rc == 0)
		rc = bst_open(p->bs, p->model[MX_C], &c);
	if (rc == 0) {
		bst_pattern(buf, cs(p), unit(p), p->model[MX_C], 0, 3);
		rc = bst_write(p->ch, c, 0, buf, cs(p));
	}
	if (rc == 0)
		rc = bst_xattr_set(b, 0, "size", "12345", 5);
	if (rc == 0) {
		bst_pattern(buf, unit(p), unit(p), p->model[MX_B], 0, 4);
		rc = bst_write(p->ch, b, 0, buf, unit(p));
	}
	if (rc == 0)
		rc = bst_sync(c);
	if (rc == 0)
		p->model[6] = 1; /* c synced with v3 in cluster 0 */
	if (rc == 0)
		rc = bst_sync(b);
	if (rc == 0)
		p->model[7] = 1; /* b's xattr and unit 0 v4 synced */
	if (b)
		bst_close(b);
	if (c)
		bst_close(c);
	free(buf);
	return rc;
}

static void mixed_verify(struct pl *p, bool done)
{
	struct blob *b;
	int rc;

	rc = bst_open(p->bs, p->a, &b);
	if (p->model[5]) {
		assert_int_equal(rc, -ENOENT);
	} else if (rc == 0) {
		expect_all(p, b, p->a, 0, 2 * cs(p), 1);
		assert_int_equal(bst_close(b), 0);
	}
	if (p->model[MX_B] && bst_open(p->bs, p->model[MX_B], &b) == 0) {
		if (p->model[4])
			expect_all(p, b, p->model[MX_B], cs(p), 2 * cs(p), 1);
		if (p->model[7]) {
			char v[8];
			size_t len;

			expect_all(p, b, p->model[MX_B], 0, unit(p), 4);
			assert_int_equal(bst_xattr_get(b, 0, "size", v, 8,
						       &len), 0);
		}
		assert_int_equal(bst_close(b), 0);
	} else {
		assert_int_equal(p->model[4], 0);
	}
	if (p->model[MX_C] && bst_open(p->bs, p->model[MX_C], &b) == 0) {
		expect_either(p, b, p->model[MX_C], 0, cs(p),
			      p->model[6] ? 3 : 0, 3);
		assert_int_equal(bst_close(b), 0);
	} else {
		assert_int_equal(p->model[6], 0);
	}
	check_no_foreign(p, NULL, 0);
}

/*
 * A full store: delete a blob and, at the same time, create one that needs
 * its clusters.  They may only be reused once the delete is durable: if the
 * new blob's zeroing reached them first, a power cut that loses the delete
 * would leave the deleted blob with zeros.
 */
static void reuse_setup(struct pl *p)
{
	struct blob_store_info info;

	create_setup(p);
	p->c = must_create(p, 1, true);
	blob_store_info_get(p->bs, &info);
	p->b = must_create(p, info.free_clusters - 1, false);
}

struct done {
	int n;
	int err;
};

static void done_cb(void *arg, int err)
{
	struct done *d = arg;

	d->n++;
	d->err = err;
}

static void run_until(struct done *d)
{
	while (!d->n)
		assert_true(reactor_run_once(bst_reactor(), 10) >= 0);
}

static int reuse_op(struct pl *p)
{
	struct blob_create_opts o = { .clusters = 2 };
	struct done del = { 0 }, cr;
	void *buf = bst_alloc(unit(p));
	struct blob *t;
	int rc = bst_open(p->bs, p->c, &t), rc2 = 0;

	if (rc < 0) {
		free(buf);
		return rc;
	}
	/* a first write takes the last free cluster: the next commit flushes */
	bst_pattern(buf, unit(p), unit(p), p->c, 0, 1);
	rc = bst_write(p->ch, t, 0, buf, unit(p));
	free(buf);
	if (rc == 0)
		blob_delete(p->bs, p->a, done_cb, &del);
	/* keep asking for A's space while the delete is under way */
	do {
		cr = (struct done){ 0 };
		blob_create(p->bs, &o, &p->new_id, done_cb, &cr);
		run_until(&cr);
	} while (rc == 0 && cr.err == -ENOSPC && !del.n);
	if (rc == 0)
		run_until(&del);
	if (rc == 0 && cr.err == -ENOSPC && del.err == 0) {
		/* the freed clusters come back after a grace period */
		for (int i = 0; i < 100 && cr.err == -ENOSPC; i++) {
			reactor_run_once(bst_reactor(), 1);
			cr = (struct done){ 0 };
			blob_create(p->bs, &o, &p->new_id, done_cb, &cr);
			run_until(&cr);
		}
	}
	rc2 = bst_close(t);
	return rc ? rc : del.err ? del.err : cr.err ? cr.err : rc2;
}

static void reuse_verify(struct pl *p, bool done)
{
	struct blob *b;
	int rc = bst_open(p->bs, p->a, &b);

	if (rc == 0) {
		assert_false(done);
		expect_all(p, b, p->a, 0, 2 * cs(p), 1);
		assert_int_equal(bst_close(b), 0);
	}
	check_no_foreign(p, NULL, 0);
}

/* unmap: the range reads as before or as zeros (and a rewrite), all or
 * nothing; the clusters given back never show up elsewhere */
static void unmap_setup(struct pl *p)
{
	must_create_a(p, 6, true, 6 * cs(p));
}

static int unmap_op(struct pl *p)
{
	struct blob *b;
	void *buf = bst_alloc(cs(p));
	int rc = bst_open(p->bs, p->a, &b), rc2;

	if (rc < 0) {
		free(buf);
		return rc;
	}
	rc = bst_unmap(b, 1, 3);
	bst_pattern(buf, cs(p), unit(p), p->a, 2 * cs(p), 2);
	if (rc == 0)
		rc = bst_write(p->ch, b, 2 * cs(p), buf, cs(p));
	if (rc == 0)
		rc = bst_sync(b);
	rc2 = bst_close(b);
	free(buf);
	return rc ? rc : rc2;
}

static void unmap_verify(struct pl *p, bool done)
{
	struct blob *b = must_open(p, p->a);
	int64_t v;
	uint64_t id;

	versions(p, b, p->a, cs(p), unit(p), &v);
	assert_true(v == 0 || (!done && v == 1));
	expect_all(p, b, p->a, 0, cs(p), 1);
	expect_all(p, b, p->a, 4 * cs(p), 2 * cs(p), 1);
	if (v == 1) {
		expect_all(p, b, p->a, cs(p), 3 * cs(p), 1);
	} else {
		expect_all(p, b, p->a, cs(p), cs(p), 0);
		expect_all(p, b, p->a, 2 * cs(p), cs(p), 2);
		expect_all(p, b, p->a, 3 * cs(p), cs(p), 0);
	}
	assert_int_equal(bst_close(b), 0);
	assert_int_equal(bst_create(p->bs, 3, false, &id), 0);
	b = must_open(p, id);
	expect_all(p, b, id, 0, 3 * cs(p), 0);
	assert_int_equal(bst_close(b), 0);
	check_no_foreign(p, NULL, 0);
}

static const struct scenario scenarios[] = {
	{ "create", create_setup, create_op, create_verify },
	{ "resize_up", create_setup, resize_up_op, resize_up_verify },
	{ "resize_down", resize_down_setup, resize_down_op,
	  resize_down_verify },
	{ "write_sync", write_setup, write_op, write_verify },
	{ "xattr_sync", xattr_setup, xattr_op, xattr_verify },
	{ "delete", delete_setup, delete_op, delete_verify },
	{ "snapshot", create_setup, snapshot_op, snapshot_verify },
	{ "grow", create_setup, grow_op, grow_verify },
	{ "mixed", create_setup, mixed_op, mixed_verify },
	{ "reuse", reuse_setup, reuse_op, reuse_verify },
	{ "unmap", unmap_setup, unmap_op, unmap_verify },
};

/* --- the runner ----------------------------------------------------------- */

static struct bdev *copy_of(struct bdev *ram)
{
	struct bdev_loss_policy all = { .mode = BDEV_LOSS_KEEP_ALL };
	struct bdev *img;

	assert_int_equal(bdev_ram_crash_image(ram, &all, &img), 0);
	return img;
}

/* Build the scenario's base store on a fresh device, unloaded cleanly. */
static struct bdev *base_build(const struct bst_geo *g,
			       const struct scenario *sc, struct pl *p)
{
	struct blob_store_opts o = bst_opts(g);
	struct bdev *dev = bst_ram(g, true);

	memset(p, 0, sizeof(*p));
	p->g = g;
	p->n_old = g->dev_bytes / g->cluster_size;
	p->n_new = 2 * p->n_old;
	if (strcmp(sc->name, "grow") == 0)
		o.max_size = 2 * g->dev_bytes;
	assert_int_equal(bst_init(dev, &o, &p->bs), 0);
	p->ch = bst_channel(p->bs);
	sc->setup(p);
	assert_int_equal(blob_channel_destroy(p->ch), 0);
	assert_int_equal(bst_unload(p->bs), 0);
	return dev;
}

/* Load, check and verify the image that survived; then drop it. */
static void recover(struct pl *p, const struct scenario *sc, struct bdev *img,
		    bool done)
{
	struct blob_check_report rep;

	assert_int_equal(bst_load(img, false, &p->bs), 0);
	assert_int_equal(bst_check(p->bs, 0, &rep), 0);
	if (rep.errors)
		fail_msg("%s: check found %llu problems", sc->name,
			 (unsigned long long)rep.errors);
	p->ch = bst_channel(p->bs);
	sc->verify(p, done);
	assert_int_equal(blob_channel_destroy(p->ch), 0);
	assert_int_equal(bst_check(p->bs, 0, &rep), 0);
	assert_int_equal(rep.errors, 0);
	assert_int_equal(bst_unload(p->bs), 0);
}

/* One cut: returns whether power was lost before the operation ended. */
static bool run_cut(const struct scenario *sc, struct bdev *base,
		    const struct pl *setup, const struct mode *m, uint64_t cut,
		    uint64_t seed)
{
	struct bdev_fault_config fc = {
		.power_cut_write = cut,
		.tear_blocks = m->torn ? (uint32_t)(1 + (cut + seed) % 3) : 0,
		.loss = { .mode = m->loss,
			  .seed = (cut * 7919 + m->loss) ^ (seed << 32),
			  .keep = (cut + seed) % 4 },
	};
	struct bdev *dev = copy_of(base), *fault, *img;
	struct pl p = *setup;
	bool lost, done = false;
	int rc;

	fc.base = dev;
	assert_int_equal(bdev_fault_create(&fc, &fault), 0);
	if (strcmp(sc->name, "grow") == 0)
		assert_int_equal(bdev_ram_resize(dev,
						 bdev_block_count(dev) * 2), 0);
	rc = bst_load(fault, false, &p.bs);
	if (rc == 0) {
		p.ch = bst_channel(p.bs);
		done = sc->op(&p) == 0;
		assert_int_equal(blob_channel_destroy(p.ch), 0);
		rc = bst_unload(p.bs);
		/* the operation must not leave anything open */
		assert_int_not_equal(rc, -EBUSY);
	}
	lost = bdev_fault_power_lost(fault);
	/* without a power cut everything must have worked */
	assert_true((rc == 0 && done) || lost);
	assert_int_equal(bdev_fault_crash_image(fault, &img), 0);
	assert_int_equal(bdev_destroy(fault), 0);
	assert_int_equal(bdev_destroy(dev), 0);
	recover(&p, sc, img, done);
	assert_int_equal(bdev_destroy(img), 0);
	return lost;
}

/*
 * BLOB_POWER_SEEDS=n repeats the sweep with n seeds of the random modes
 * (a soak run); the default single seed keeps the suite fast.
 */
static uint64_t seeds(const struct mode *m)
{
	const char *env = getenv("BLOB_POWER_SEEDS");
	bool random = m->loss == BDEV_LOSS_KEEP_RANDOM ||
		      m->loss == BDEV_LOSS_KEEP_RANDOM_BLOCKS || m->torn;

	return random && env && atoi(env) > 1 ? (uint64_t)atoi(env) : 1;
}

/* Cut after write 1, 2, ... until the operation outruns the cut. */
static void sweep_mode(const struct scenario *sc, struct bdev *base,
		       const struct pl *setup, const struct mode *m,
		       uint64_t seed)
{
	uint64_t cut = 1;

	while (run_cut(sc, base, setup, m, cut, seed)) {
		cut++;
		if (cut > CUT_MAX)
			fail_msg("%s: no end after %d cuts", sc->name,
				 CUT_MAX);
	}
	if (getenv("BLOB_TEST_VERBOSE"))
		fprintf(stderr, "%s bs %u mode %d%s seed %llu: %llu cuts\n",
			sc->name, setup->g->block_size, (int)m->loss,
			m->torn ? " torn" : "", (unsigned long long)seed,
			(unsigned long long)cut);
}

static void sweep(const struct bst_geo *g, const struct scenario *sc)
{
	struct pl setup;
	struct bdev *base = base_build(g, sc, &setup);

	for (size_t m = 0; m < sizeof(pl_modes) / sizeof(pl_modes[0]); m++) {
		for (uint64_t seed = 0; seed < seeds(&pl_modes[m]); seed++)
			sweep_mode(sc, base, &setup, &pl_modes[m], seed);
	}
	assert_int_equal(bdev_destroy(base), 0);
}

static void test_scenario(void **state)
{
	const struct scenario *sc = *state;

	for (size_t i = 0; i < sizeof(pl_geos) / sizeof(pl_geos[0]); i++)
		sweep(&pl_geos[i], sc);
}

static int teardown(void **s)
{
	bst_reactor_destroy();
	return 0;
}

int main(void)
{
	struct CMUnitTest tests[sizeof(scenarios) / sizeof(scenarios[0])];

	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		tests[i] = (struct CMUnitTest)cmocka_unit_test(test_scenario);
		tests[i].name = scenarios[i].name;
		tests[i].initial_state = (void *)&scenarios[i];
	}
	log_set_level(LOG_LEVEL_ERROR);
	bst_reactor();
	return cmocka_run_group_tests(tests, NULL, teardown);
}
