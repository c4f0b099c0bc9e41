// SPDX-License-Identifier: MIT
/*
 * test_snapshot.c - snapshots, clones, copy-on-write, inflate, decouple,
 * deleting along the tree, and device growth, for each geometry.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blob_test.h"
#include "vhostfs/log.h"

struct env {
	const struct bst_geo *g;
	struct bdev *dev;
	struct blob_store *bs;
	struct blob_channel *ch;
};

static void env_open(struct env *e, const struct bst_geo *g, uint64_t max)
{
	struct blob_store_opts o = bst_opts(g);

	o.max_size = max;
	e->g = g;
	e->dev = bst_ram(g, false);
	assert_int_equal(bst_init(e->dev, &o, &e->bs), 0);
	e->ch = bst_channel(e->bs);
}

static void env_reload(struct env *e)
{
	assert_int_equal(blob_channel_destroy(e->ch), 0);
	assert_int_equal(bst_unload(e->bs), 0);
	assert_int_equal(bst_load(e->dev, false, &e->bs), 0);
	e->ch = bst_channel(e->bs);
}

static void env_close(struct env *e)
{
	struct blob_check_report rep;

	assert_int_equal(blob_channel_destroy(e->ch), 0);
	assert_int_equal(bst_check(e->bs, 0, &rep), 0);
	assert_int_equal(rep.errors, 0);
	assert_int_equal(bst_unload(e->bs), 0);
	assert_int_equal(bdev_destroy(e->dev), 0);
}

static uint64_t cs(const struct env *e)
{
	return e->g->cluster_size;
}

static void put(struct env *e, struct blob *b, uint64_t id, uint64_t off,
		size_t len, uint32_t v)
{
	void *buf = bst_alloc(len);

	bst_pattern(buf, len, e->g->block_size, id, off, v);
	assert_int_equal(bst_write(e->ch, b, off, buf, len), 0);
	free(buf);
}

/* [off, off + len) of @b reads as version @v written as blob @id. */
static void expect(struct env *e, struct blob *b, uint64_t id, uint64_t off,
		   size_t len, int64_t v)
{
	uint32_t unit = e->g->block_size;
	unsigned char *buf = bst_alloc(len);

	assert_int_equal(bst_read(e->ch, b, off, buf, len), 0);
	for (size_t i = 0; i < len; i += unit)
		assert_int_equal(bst_pattern_version(buf + i, unit, id,
						     off + i), v);
	free(buf);
}

static uint64_t free_clusters(struct env *e)
{
	struct blob_store_info info;

	/* freed clusters come back after a grace period */
	for (int i = 0; i < 20; i++)
		reactor_run_once(bst_reactor(), 0);
	blob_store_info_get(e->bs, &info);
	return info.free_clusters;
}

static void check_snapshot_clone(const struct bst_geo *g)
{
	uint64_t a, snap, clone, before;
	struct blob *b, *s, *c;
	struct env e;

	env_open(&e, g, 0);
	assert_int_equal(bst_create(e.bs, 3, false, &a), 0);
	assert_int_equal(bst_open(e.bs, a, &b), 0);
	put(&e, b, a, 0, 3 * cs(&e), 1);
	before = free_clusters(&e);
	assert_int_equal(bst_snapshot(b, &snap), 0);
	/* no data copied: the snapshot took the clusters */
	assert_int_equal(free_clusters(&e), before);
	assert_int_equal(blob_get_parent(b), snap);
	assert_true(blob_is_thin(b));
	expect(&e, b, a, 0, 3 * cs(&e), 1);
	/* copy on write: one cluster more, only the written unit changes */
	put(&e, b, a, cs(&e) + e.g->block_size, e.g->block_size, 2);
	assert_int_equal(free_clusters(&e), before - 1);
	expect(&e, b, a, cs(&e), e.g->block_size, 1);
	expect(&e, b, a, cs(&e) + e.g->block_size, e.g->block_size, 2);
	expect(&e, b, a, cs(&e) + 2 * e.g->block_size,
	       cs(&e) - 2 * e.g->block_size, 1);
	assert_int_equal(bst_open(e.bs, snap, &s), 0);
	assert_true(blob_is_read_only(s));
	expect(&e, s, a, 0, 3 * cs(&e), 1);
	{
		void *buf = bst_alloc(e.g->block_size);

		assert_int_equal(bst_write(e.ch, s, 0, buf, e.g->block_size),
				 -EPERM);
		free(buf);
	}
	assert_int_equal(bst_resize(s, 5), -EPERM);
	assert_int_equal(bst_xattr_set(s, 0, "x", "y", 1), -EPERM);
	/* the owner may still name it: internal xattrs are bookkeeping */
	assert_int_equal(bst_xattr_set(s, BLOB_XATTR_INTERNAL, "n", "s", 1), 0);
	assert_int_equal(bst_snapshot(s, &clone), -EINVAL);
	assert_int_equal(bst_clone(e.bs, a, &clone), -EINVAL);
	assert_int_equal(bst_clone(e.bs, snap, &clone), 0);
	assert_int_equal(bst_open(e.bs, clone, &c), 0);
	expect(&e, c, a, 0, 3 * cs(&e), 1);
	/* a clone may be larger than its parent: zeros past it */
	assert_int_equal(bst_resize(c, 5), 0);
	expect(&e, c, a, 3 * cs(&e), 2 * cs(&e), 0);
	put(&e, c, clone, 4 * cs(&e), e.g->block_size, 3);
	assert_int_equal(bst_close(c), 0);
	assert_int_equal(bst_close(s), 0);
	assert_int_equal(bst_sync(b), 0);
	assert_int_equal(bst_close(b), 0);
	/* the snapshot cannot go while it has clones */
	assert_int_equal(bst_delete(e.bs, snap), -EBUSY);
	env_reload(&e);
	assert_int_equal(bst_open(e.bs, a, &b), 0);
	expect(&e, b, a, cs(&e) + e.g->block_size, e.g->block_size, 2);
	expect(&e, b, a, 0, cs(&e), 1);
	assert_int_equal(bst_close(b), 0);
	assert_int_equal(bst_open(e.bs, clone, &c), 0);
	expect(&e, c, a, 0, 3 * cs(&e), 1);
	expect(&e, c, clone, 4 * cs(&e), e.g->block_size, 3);
	assert_int_equal(bst_close(c), 0);
	/* delete the clones, then the snapshot; space comes back */
	assert_int_equal(bst_delete(e.bs, clone), 0);
	assert_int_equal(bst_delete(e.bs, snap), -EBUSY);
	assert_int_equal(bst_delete(e.bs, a), 0);
	assert_int_equal(bst_delete(e.bs, snap), 0);
	{
		struct blob_store_info info;

		free_clusters(&e);
		blob_store_info_get(e.bs, &info);
		assert_int_equal(info.free_clusters, info.data_clusters);
		assert_int_equal(info.blobs, 0);
	}
	env_close(&e);
}

/* A chain: a -> s1 -> s2; inflate and decouple move data in. */
static void check_inflate_decouple(const struct bst_geo *g)
{
	uint64_t a, s1, s2, before;
	struct blob *b;
	struct env e;

	env_open(&e, g, 0);
	assert_int_equal(bst_create(e.bs, 4, true, &a), 0);
	assert_int_equal(bst_open(e.bs, a, &b), 0);
	put(&e, b, a, 0, cs(&e), 1);
	assert_int_equal(bst_snapshot(b, &s1), 0);
	put(&e, b, a, cs(&e), cs(&e), 2);
	assert_int_equal(bst_snapshot(b, &s2), 0);
	put(&e, b, a, 2 * cs(&e), e.g->block_size, 3);
	/* a: own cluster 2; s2 has cluster 1; s1 has cluster 0 */
	assert_int_equal(blob_get_parent(b), s2);
	before = free_clusters(&e);
	assert_int_equal(bst_decouple(b), 0);
	assert_int_equal(blob_get_parent(b), s1);
	assert_int_equal(free_clusters(&e), before - 1);
	expect(&e, b, a, 0, cs(&e), 1);
	expect(&e, b, a, cs(&e), cs(&e), 2);
	expect(&e, b, a, 2 * cs(&e), e.g->block_size, 3);
	expect(&e, b, a, 3 * cs(&e), cs(&e), 0);
	assert_int_equal(bst_delete(e.bs, s2), 0);
	assert_int_equal(bst_inflate(b), 0);
	assert_int_equal(blob_get_parent(b), BLOB_ID_NONE);
	assert_false(blob_is_thin(b));
	assert_int_equal(bst_decouple(b), -EINVAL);
	assert_int_equal(bst_delete(e.bs, s1), 0);
	expect(&e, b, a, 0, cs(&e), 1);
	expect(&e, b, a, cs(&e), cs(&e), 2);
	expect(&e, b, a, 3 * cs(&e), cs(&e), 0);
	assert_int_equal(bst_close(b), 0);
	env_reload(&e);
	assert_int_equal(bst_open(e.bs, a, &b), 0);
	assert_false(blob_is_thin(b));
	expect(&e, b, a, 0, cs(&e), 1);
	expect(&e, b, a, cs(&e), cs(&e), 2);
	expect(&e, b, a, 2 * cs(&e), e.g->block_size, 3);
	/* inflating a thin blob without parent makes it thick */
	assert_int_equal(bst_close(b), 0);
	assert_int_equal(bst_create(e.bs, 2, true, &a), 0);
	assert_int_equal(bst_open(e.bs, a, &b), 0);
	assert_int_equal(bst_inflate(b), 0);
	assert_false(blob_is_thin(b));
	expect(&e, b, a, 0, 2 * cs(&e), 0);
	assert_int_equal(bst_close(b), 0);
	env_close(&e);
}

static void check_grow(const struct bst_geo *g)
{
	struct blob_store_info info;
	uint64_t n = g->dev_bytes / g->cluster_size, id;
	struct env e;

	env_open(&e, g, 2 * g->dev_bytes);
	assert_int_equal(bst_grow(e.bs), 0);
	blob_store_info_get(e.bs, &info);
	assert_int_equal(info.cluster_count, n);
	assert_int_equal(bdev_ram_resize(e.dev, 3 * g->dev_bytes /
						g->block_size), 0);
	assert_int_equal(bst_grow(e.bs), 0);
	blob_store_info_get(e.bs, &info);
	/* up to the capacity chosen at format time */
	assert_int_equal(info.cluster_count, 2 * n);
	assert_int_equal(bst_create(e.bs, info.free_clusters, false, &id), 0);
	env_reload(&e);
	blob_store_info_get(e.bs, &info);
	assert_int_equal(info.cluster_count, 2 * n);
	assert_int_equal(info.free_clusters, 0);
	env_close(&e);
}

#define FOR_GEOS(fn)                                               \
	static void test_##fn(void **s)                             \
	{                                                            \
		for (size_t i = 0; i < bst_ngeos; i++)               \
			check_##fn(&bst_geos[i]);                    \
	}

FOR_GEOS(snapshot_clone)
FOR_GEOS(inflate_decouple)
FOR_GEOS(grow)

static int teardown(void **s)
{
	bst_reactor_destroy();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_clone),
		cmocka_unit_test(test_inflate_decouple),
		cmocka_unit_test(test_grow),
	};

	log_set_level(LOG_LEVEL_ERROR);
	bst_reactor();
	return cmocka_run_group_tests(tests, NULL, teardown);
}
