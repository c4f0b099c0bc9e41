// SPDX-License-Identifier: MIT
/*
 * test_blob.c - every blob operation on the ram device, for each geometry
 * of bst_geos (block sizes 512 and 4096, clusters from 4 KiB to 1 MiB).
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

/* Write version @v of [off, off + len) of blob @b. */
static void put(struct bst_env *e, struct blob *b, uint64_t off, size_t len,
		uint32_t v)
{
	bst_env_put(e, b, blob_get_id(b), off, len, v);
}

/* Check [off, off + len) of @b holds version @v (0: zeros). */
static void expect(struct bst_env *e, struct blob *b, uint64_t off, size_t len,
		   uint32_t v)
{
	bst_env_expect(e, b, blob_get_id(b), off, len, v);
}

/* --- tests ---------------------------------------------------------------- */

static void check_init_load(const struct bst_geo *g)
{
	struct blob_store_info info;
	struct bst_env e;

	bst_env_open(&e, g);
	blob_store_info_get(e.bs, &info);
	assert_int_equal(info.io_unit, g->block_size);
	assert_int_equal(info.cluster_size, g->cluster_size);
	assert_int_equal(info.cluster_count, g->dev_bytes / g->cluster_size);
	assert_int_equal(info.free_clusters, info.data_clusters);
	assert_int_equal(info.blobs, 0);
	assert_false(info.was_clean);
	bst_env_reload(&e);
	blob_store_info_get(e.bs, &info);
	assert_true(info.was_clean);
	assert_int_equal(info.free_clusters, info.data_clusters);
	bst_env_close(&e);
}

static void check_thick_data(const struct bst_geo *g)
{
	uint64_t cs = g->cluster_size, id, before;
	struct blob *b;
	struct bst_env e;

	bst_env_open(&e, g);
	before = bst_env_free_clusters(&e);
	assert_int_equal(bst_create(e.bs, 3, false, &id), 0);
	assert_int_equal(bst_env_free_clusters(&e), before - 3);
	assert_int_equal(bst_open(e.bs, id, &b), 0);
	assert_int_equal(blob_get_clusters(b), 3);
	assert_false(blob_is_thin(b));
	/* thick clusters are zeroed */
	expect(&e, b, 0, 3 * cs, 0);
	/* across cluster boundaries, unaligned to clusters */
	put(&e, b, cs - g->block_size, 2 * g->block_size, 1);
	put(&e, b, 2 * cs, cs, 2);
	expect(&e, b, cs - g->block_size, 2 * g->block_size, 1);
	expect(&e, b, 2 * cs, cs, 2);
	expect(&e, b, 0, g->block_size, 0);
	assert_int_equal(bst_close(b), 0);
	bst_env_reload(&e);
	assert_int_equal(bst_open(e.bs, id, &b), 0);
	expect(&e, b, cs - g->block_size, 2 * g->block_size, 1);
	expect(&e, b, 2 * cs, cs, 2);
	assert_int_equal(bst_close(b), 0);
	bst_env_close(&e);
}

static void check_thin(const struct bst_geo *g)
{
	uint64_t cs = g->cluster_size, id, before;
	struct blob *b;
	struct bst_env e;

	bst_env_open(&e, g);
	before = bst_env_free_clusters(&e);
	assert_int_equal(bst_create(e.bs, 8, true, &id), 0);
	assert_int_equal(bst_env_free_clusters(&e), before);
	assert_int_equal(bst_open(e.bs, id, &b), 0);
	assert_true(blob_is_thin(b));
	expect(&e, b, 0, 8 * cs, 0);
	put(&e, b, 5 * cs + g->block_size, g->block_size, 3);
	assert_int_equal(bst_env_free_clusters(&e), before - 1);
	expect(&e, b, 5 * cs, g->block_size, 0);
	expect(&e, b, 5 * cs + g->block_size, g->block_size, 3);
	expect(&e, b, 5 * cs + 2 * g->block_size, cs - 2 * g->block_size, 0);
	/* a write spanning an allocated and an unallocated cluster */
	put(&e, b, 6 * cs - g->block_size, 2 * g->block_size, 4);
	assert_int_equal(bst_env_free_clusters(&e), before - 2);
	expect(&e, b, 6 * cs - g->block_size, 2 * g->block_size, 4);
	assert_int_equal(bst_sync(b), 0);
	assert_int_equal(bst_close(b), 0);
	bst_env_reload(&e);
	assert_int_equal(bst_env_free_clusters(&e), before - 2);
	assert_int_equal(bst_open(e.bs, id, &b), 0);
	expect(&e, b, 5 * cs + g->block_size, g->block_size, 3);
	expect(&e, b, 6 * cs - g->block_size, 2 * g->block_size, 4);
	expect(&e, b, 0, 5 * cs, 0);
	assert_int_equal(bst_close(b), 0);
	bst_env_close(&e);
}

static void check_resize(const struct bst_geo *g)
{
	uint64_t cs = g->cluster_size, id, tid, before;
	struct blob *b, *t;
	struct bst_env e;

	bst_env_open(&e, g);
	before = bst_env_free_clusters(&e);
	assert_int_equal(bst_create(e.bs, 1, false, &id), 0);
	assert_int_equal(bst_create(e.bs, 0, true, &tid), 0);
	assert_int_equal(bst_open(e.bs, id, &b), 0);
	assert_int_equal(bst_open(e.bs, tid, &t), 0);
	put(&e, b, 0, cs, 1);
	assert_int_equal(bst_resize(b, 4), 0);
	assert_int_equal(blob_get_clusters(b), 4);
	assert_int_equal(bst_env_free_clusters(&e), before - 4);
	expect(&e, b, 0, cs, 1);
	expect(&e, b, cs, 3 * cs, 0);
	put(&e, b, 3 * cs, cs, 2);
	assert_int_equal(bst_sync(b), 0);
	/* shrink: the cut clusters come back after the commit */
	assert_int_equal(bst_resize(b, 2), 0);
	assert_int_equal(blob_get_clusters(b), 2);
	assert_int_equal(bst_env_free_clusters(&e), before - 4);
	assert_int_equal(bst_sync(b), 0);
	/* grace period: the md thread polls; give it a few rounds */
	for (int i = 0; i < 100 && bst_env_free_clusters(&e) != before - 2; i++)
		reactor_run_once(bst_reactor(), 1);
	assert_int_equal(bst_env_free_clusters(&e), before - 2);
	/* beyond the end */
	{
		void *buf = bst_alloc(cs);

		assert_int_equal(bst_read(e.ch, b, 2 * cs, buf, cs), -EINVAL);
		assert_int_equal(bst_write(e.ch, b, cs, buf, 2 * cs), -EINVAL);
		free(buf);
	}
	/* grow again: new clusters are zero, not the old data */
	assert_int_equal(bst_resize(b, 4), 0);
	expect(&e, b, 2 * cs, 2 * cs, 0);
	/* thin grow, write, shrink before commit, grow again */
	assert_int_equal(bst_resize(t, 3000), 0);
	put(&e, t, 2500 * cs, g->block_size, 5);
	assert_int_equal(bst_resize(t, 10), 0);
	assert_int_equal(bst_resize(t, 3000), 0);
	expect(&e, t, 2500 * cs, g->block_size, 0);
	put(&e, t, 2999 * cs, g->block_size, 6);
	assert_int_equal(bst_close(b), 0);
	assert_int_equal(bst_close(t), 0);
	bst_env_reload(&e);
	assert_int_equal(bst_open(e.bs, id, &b), 0);
	assert_int_equal(blob_get_clusters(b), 4);
	expect(&e, b, 0, cs, 1);
	expect(&e, b, cs, 3 * cs, 0);
	assert_int_equal(bst_open(e.bs, tid, &t), 0);
	assert_int_equal(blob_get_clusters(t), 3000);
	expect(&e, t, 2999 * cs, g->block_size, 6);
	assert_int_equal(bst_resize(t, 0), 0);
	assert_int_equal(bst_close(t), 0);
	assert_int_equal(bst_close(b), 0);
	bst_env_close(&e);
}

static void check_delete(const struct bst_geo *g)
{
	uint64_t cs = g->cluster_size, id, id2, before;
	struct blob *b;
	struct bst_env e;

	bst_env_open(&e, g);
	before = bst_env_free_clusters(&e);
	assert_int_equal(bst_create(e.bs, 2, false, &id), 0);
	assert_int_equal(bst_create(e.bs, 5, true, &id2), 0);
	assert_int_equal(bst_open(e.bs, id2, &b), 0);
	put(&e, b, 4 * cs, cs, 1);
	assert_int_equal(bst_delete(e.bs, id2), -EBUSY);
	assert_int_equal(bst_close(b), 0);
	assert_int_equal(bst_delete(e.bs, id2), 0);
	assert_int_equal(bst_delete(e.bs, id2), -ENOENT);
	assert_int_equal(bst_open(e.bs, id2, &b), -ENOENT);
	assert_int_equal(bst_delete(e.bs, id), 0);
	for (int i = 0; i < 100 && bst_env_free_clusters(&e) != before; i++)
		reactor_run_once(bst_reactor(), 1);
	assert_int_equal(bst_env_free_clusters(&e), before);
	assert_int_equal(bst_open(e.bs, BLOB_ID_NONE, &b), -ENOENT);
	assert_int_equal(bst_open(e.bs, id ^ (1ull << 40), &b), -ENOENT);
	/* a new blob may reuse the root page, never the id */
	assert_int_equal(bst_create(e.bs, 0, true, &id2), 0);
	assert_true(id2 != id);
	assert_int_equal(bst_open(e.bs, id, &b), -ENOENT);
	bst_env_reload(&e);
	assert_int_equal(bst_open(e.bs, id, &b), -ENOENT);
	assert_int_equal(bst_open(e.bs, id2, &b), 0);
	assert_int_equal(bst_close(b), 0);
	bst_env_close(&e);
}

static void check_xattrs(const struct bst_geo *g)
{
	static const char big_name[] = "big";
	/* a small journal limits the record: 64 KiB needs >= 36 pages */
	size_t big = g->journal_pages && g->journal_pages < 36 ? 16384 : 65536;
	size_t len;
	unsigned char *v = bst_alloc(65537), *out = bst_alloc(65537);
	char names[64];
	struct blob *b;
	struct bst_env e;
	uint64_t id;

	for (size_t i = 0; i < 65537; i++)
		v[i] = (unsigned char)(i * 7 + 1);
	bst_env_open(&e, g);
	assert_int_equal(bst_create(e.bs, 0, true, &id), 0);
	assert_int_equal(bst_open(e.bs, id, &b), 0);
	assert_int_equal(bst_xattr_set(b, 0, "a", "user", 4), 0);
	assert_int_equal(bst_xattr_set(b, BLOB_XATTR_INTERNAL, "a", "int", 3),
			 0);
	assert_int_equal(bst_xattr_set(b, 0, "b", "", 0), 0);
	assert_int_equal(bst_xattr_get(b, 0, "a", out, 16, &len), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(out, "user", 4);
	assert_int_equal(bst_xattr_get(b, BLOB_XATTR_INTERNAL, "a", out, 16,
				       &len), 0);
	assert_int_equal(len, 3);
	assert_int_equal(bst_xattr_get(b, 0, "a", out, 2, &len), -ERANGE);
	assert_int_equal(bst_xattr_get(b, 0, "a", NULL, 0, &len), 0);
	assert_int_equal(len, 4);
	assert_int_equal(bst_xattr_get(b, 0, "c", out, 16, &len), -ENODATA);
	assert_int_equal(bst_xattr_set(b, 0, "", "x", 1), -EINVAL);
	assert_int_equal(bst_xattr_set(b, 4, "x", "x", 1), -EINVAL);
	assert_int_equal(bst_xattr_set(b, 0, "x", v, 65537), -EINVAL);
	if (big < 65536)
		assert_int_equal(bst_xattr_set(b, 0, "x", v, 65536), -EFBIG);
	assert_int_equal(bst_xattr_list(b, 0, names, sizeof(names), &len), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(names, "a\0b\0", 4);
	/* replace keeps one entry */
	assert_int_equal(bst_xattr_set(b, 0, "a", "USER!", 5), 0);
	assert_int_equal(bst_xattr_set(b, 0, big_name, v, big), 0);
	assert_int_equal(bst_xattr_remove(b, 0, "b"), 0);
	assert_int_equal(bst_xattr_remove(b, 0, "b"), -ENODATA);
	assert_int_equal(bst_close(b), 0);
	bst_env_reload(&e);
	assert_int_equal(bst_open(e.bs, id, &b), 0);
	assert_int_equal(bst_xattr_get(b, 0, "a", out, 16, &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(out, "USER!", 5);
	assert_int_equal(bst_xattr_get(b, 0, big_name, out, big, &len), 0);
	assert_int_equal(len, big);
	assert_memory_equal(out, v, big);
	assert_int_equal(bst_xattr_get(b, 0, "b", out, 16, &len), -ENODATA);
	assert_int_equal(bst_xattr_list(b, BLOB_XATTR_INTERNAL, names,
					sizeof(names), &len), 0);
	assert_int_equal(len, 2);
	/* the chain shrinks back to one page */
	assert_int_equal(bst_xattr_remove(b, 0, big_name), 0);
	assert_int_equal(bst_close(b), 0);
	bst_env_reload(&e);
	assert_int_equal(bst_open(e.bs, id, &b), 0);
	assert_int_equal(bst_xattr_list(b, 0, names, sizeof(names), &len), 0);
	assert_int_equal(len, 2);
	assert_int_equal(bst_close(b), 0);
	bst_env_close(&e);
	free(v);
	free(out);
}

static void check_many(const struct bst_geo *g)
{
	uint32_t n = g->md_pages ? g->md_pages / 2 : 30;
	uint64_t *ids = calloc(n, sizeof(*ids)), got[16], after = 0;
	size_t count, total = 0;
	struct bst_env e;

	bst_env_open(&e, g);
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(bst_create(e.bs, 0, true, &ids[i]), 0);
	for (uint32_t i = 0; i < n; i += 2)
		assert_int_equal(bst_delete(e.bs, ids[i]), 0);
	bst_env_reload(&e);
	do {
		assert_int_equal(bst_list(e.bs, after, got, 16, &count), 0);
		for (size_t i = 0; i < count; i++) {
			bool found = false;

			for (uint32_t k = 1; k < n; k += 2)
				found |= got[i] == ids[k];
			assert_true(found);
		}
		total += count;
		after = count ? got[count - 1] : 0;
	} while (count);
	assert_int_equal(total, n / 2);
	bst_env_close(&e);
	free(ids);
}

static void check_errors(const struct bst_geo *g)
{
	uint32_t bs = g->block_size;
	void *buf = bst_alloc(2 * (size_t)g->cluster_size);
	struct blob_store *ro;
	struct blob *b;
	struct bst_env e;
	uint64_t id;

	bst_env_open(&e, g);
	assert_int_equal(bst_create(e.bs, 2, false, &id), 0);
	assert_int_equal(bst_open(e.bs, id, &b), 0);
	if (bs > 512)
		assert_int_equal(bst_write(e.ch, b, 512, buf, bs), -EINVAL);
	assert_int_equal(bst_read(e.ch, b, 0, (char *)buf + 8, bs), -EINVAL);
	assert_int_equal(bst_read(e.ch, b, 0, buf, 0), -EINVAL);
	assert_int_equal(bst_read(e.ch, b, UINT64_MAX - bs + 1, buf, bs),
			 -EINVAL);
	assert_int_equal(bst_create(e.bs, UINT64_MAX / 2, false, &id), -EFBIG);
	assert_int_equal(bst_create(e.bs, g->dev_bytes / g->cluster_size,
				    false, &id), -ENOSPC);
	assert_int_equal(bst_resize(b, g->dev_bytes / g->cluster_size),
			 -ENOSPC);
	assert_int_equal(blob_get_clusters(b), 2);
	assert_int_equal(bst_close(b), 0);
	bst_env_unload(&e);
	/* read-only load: reads work, changes are -EROFS */
	assert_int_equal(bst_load(e.dev, true, &ro), 0);
	e.bs = ro;
	e.ch = bst_channel(ro);
	assert_int_equal(bst_open(ro, id, &b), 0);
	assert_int_equal(bst_read(e.ch, b, 0, buf, bs), 0);
	assert_int_equal(bst_write(e.ch, b, 0, buf, bs), -EROFS);
	assert_int_equal(bst_resize(b, 3), -EROFS);
	assert_int_equal(bst_xattr_set(b, 0, "x", "y", 1), -EROFS);
	assert_int_equal(bst_sync(b), 0);
	assert_int_equal(bst_create(e.bs, 1, true, &id), -EROFS);
	assert_int_equal(bst_delete(e.bs, id), -EROFS);
	assert_int_equal(bst_close(b), 0);
	/* busy: open blobs and channels */
	assert_int_equal(bst_open(ro, id, &b), 0);
	assert_int_equal(bst_unload(ro), -EBUSY);
	assert_int_equal(bst_close(b), 0);
	assert_int_equal(bst_unload(ro), -EBUSY);
	bst_env_close(&e);
	free(buf);
}

/* Many commits through a small journal: checkpoints in between. */
static void check_journal_wrap(const struct bst_geo *g)
{
	uint32_t rounds = 3 * (g->journal_pages ? g->journal_pages : 64);
	uint32_t last[64] = { 0 };
	uint64_t cs = g->cluster_size, id;
	struct blob *b;
	struct bst_env e;

	bst_env_open(&e, g);
	assert_int_equal(bst_create(e.bs, 64, true, &id), 0);
	assert_int_equal(bst_open(e.bs, id, &b), 0);
	for (uint32_t i = 0; i < rounds; i++) {
		char v[16];

		snprintf(v, sizeof(v), "%u", i);
		assert_int_equal(bst_xattr_set(b, 0, "n", v, strlen(v)), 0);
		if (i % 7 == 0) {
			put(&e, b, ((i * 5) % 64) * cs, g->block_size, i + 1);
			last[(i * 5) % 64] = i + 1;
		}
		assert_int_equal(bst_sync(b), 0);
	}
	assert_int_equal(bst_close(b), 0);
	bst_env_reload(&e);
	assert_int_equal(bst_open(e.bs, id, &b), 0);
	for (uint32_t k = 0; k < 64; k++)
		expect(&e, b, k * cs, g->block_size, last[k]);
	assert_int_equal(bst_close(b), 0);
	bst_env_close(&e);
}

/* A store not unloaded: loading replays the journal. */
static void check_dirty_load(const struct bst_geo *g)
{
	struct bdev_loss_policy keep = { .mode = BDEV_LOSS_KEEP_ALL };
	struct blob_store_opts o = bst_opts(g);
	struct bdev *dev = bst_ram(g, true), *img;
	struct blob_store *bs, *bs2;
	struct blob_channel *ch;
	uint64_t id, id2;
	struct blob *b;
	void *buf = bst_alloc(g->block_size);

	assert_int_equal(bst_init(dev, &o, &bs), 0);
	ch = bst_channel(bs);
	assert_int_equal(bst_create(bs, 4, true, &id), 0);
	assert_int_equal(bst_create(bs, 1, false, &id2), 0);
	assert_int_equal(bst_open(bs, id, &b), 0);
	bst_pattern(buf, g->block_size, g->block_size, id, 0, 9);
	assert_int_equal(bst_write(ch, b, 0, buf, g->block_size), 0);
	assert_int_equal(bst_xattr_set(b, 0, "k", "v", 1), 0);
	assert_int_equal(bst_sync(b), 0);
	assert_int_equal(bst_delete(bs, id2), 0);
	assert_int_equal(bdev_ram_crash_image(dev, &keep, &img), 0);
	assert_int_equal(bst_load(img, false, &bs2), 0);
	{
		struct blob_check_report rep;
		struct blob_store_info info;
		struct blob_channel *ch2 = bst_channel(bs2);
		struct blob *b2;
		size_t len;
		char v;

		blob_store_info_get(bs2, &info);
		assert_false(info.was_clean);
		assert_int_equal(info.blobs, 1);
		assert_int_equal(bst_open(bs2, id, &b2), 0);
		assert_int_equal(bst_open(bs2, id2, &b2), -ENOENT);
		assert_int_equal(bst_open(bs2, id, &b2), 0);
		memset(buf, 0, g->block_size);
		assert_int_equal(bst_read(ch2, b2, 0, buf, g->block_size), 0);
		assert_int_equal(bst_pattern_version(buf, g->block_size, id, 0),
				 9);
		assert_int_equal(bst_xattr_get(b2, 0, "k", &v, 1, &len), 0);
		assert_int_equal(bst_close(b2), 0);
		assert_int_equal(bst_close(b2), 0);
		assert_int_equal(bst_check(bs2, 0, &rep), 0);
		assert_int_equal(rep.errors, 0);
		assert_int_equal(blob_channel_destroy(ch2), 0);
	}
	assert_int_equal(bst_unload(bs2), 0);
	assert_int_equal(bdev_destroy(img), 0);
	assert_int_equal(bst_close(b), 0);
	assert_int_equal(blob_channel_destroy(ch), 0);
	assert_int_equal(bst_unload(bs), 0);
	assert_int_equal(bdev_destroy(dev), 0);
	free(buf);
}

/* check reports and the dump of a healthy store; when they refuse */
static void check_tools(const struct bst_geo *g)
{
	struct blob_check_report rep;
	struct blob_store *ro;
	char *text = NULL;
	size_t len = 0;
	uint64_t a, t, snap;
	struct blob *b;
	struct bst_env e;
	FILE *f;

	bst_env_open(&e, g);
	assert_int_equal(bst_create(e.bs, 3, false, &a), 0);
	assert_int_equal(bst_create(e.bs, 5, true, &t), 0);
	assert_int_equal(bst_open(e.bs, t, &b), 0);
	put(&e, b, g->cluster_size, g->block_size, 1);
	assert_int_equal(bst_xattr_set(b, 0, "name", "value", 5), 0);
	assert_int_equal(bst_xattr_set(b, BLOB_XATTR_INTERNAL, "bin", "\1\2",
				       2), 0);
	assert_int_equal(bst_check(e.bs, 0, &rep), -EBUSY);
	assert_int_equal(bst_snapshot(b, &snap), 0);
	assert_int_equal(bst_close(b), 0);
	assert_int_equal(bst_check(e.bs, BLOB_CHECK_REPAIR, &rep), 0);
	assert_int_equal(rep.errors, 0);
	assert_int_equal(rep.fixed, 0);
	assert_int_equal(rep.blobs, 3);
	assert_int_equal(rep.clusters_used, 4);
	assert_int_equal(rep.md_pages_used, 3 + 2);
	f = open_memstream(&text, &len);
	assert_int_equal(bst_dump(e.bs, f), 0);
	fclose(f);
	assert_non_null(strstr(text, "super: seq"));
	assert_non_null(strstr(text, "blobs: 3"));
	assert_non_null(strstr(text, ": 3 clusters, 3 allocated"));
	assert_non_null(strstr(text, ": 5 clusters, 1 allocated, thin, "
				     "snapshot, 1 children"));
	assert_non_null(strstr(text,
			       "xattr user \"name\" (5 bytes) = \"value\""));
	assert_non_null(strstr(text,
			       "xattr internal \"bin\" (2 bytes) = 0102"));
	free(text);
	bst_env_unload(&e);
	assert_int_equal(bst_load(e.dev, true, &ro), 0);
	assert_int_equal(bst_check(ro, BLOB_CHECK_REPAIR, &rep), -EROFS);
	assert_int_equal(bst_check(ro, 0, &rep), 0);
	assert_int_equal(rep.errors, 0);
	assert_int_equal(bst_unload(ro), 0);
	assert_int_equal(bst_load(e.dev, false, &e.bs), 0);
	e.ch = bst_channel(e.bs);
	bst_env_close(&e);
}

/*
 * One commit of more than 1024 extent pages: a transaction written in
 * several requests, replayed after a crash, checkpointed home.
 */
static void test_big_commit(void **s)
{
	static const struct bst_geo g = {
		.block_size = 4096, .cluster_size = 4096,
		.dev_bytes = 40 << 20, .md_pages = 1200, .journal_pages = 2100,
	};
	struct bdev_loss_policy keep = { .mode = BDEV_LOSS_KEEP_ALL };
	struct blob_store_opts o = bst_opts(&g);
	uint32_t extents = 1030;
	struct bst_env e = { .g = &g };
	struct bdev *img;
	struct blob *b;
	uint64_t id;

	e.dev = bst_ram(&g, true);
	assert_int_equal(bst_init(e.dev, &o, &e.bs), 0);
	e.ch = bst_channel(e.bs);
	assert_int_equal(bst_create(e.bs, (uint64_t)extents * 1016, true, &id),
			 0);
	assert_int_equal(bst_open(e.bs, id, &b), 0);
	for (uint32_t k = 0; k < extents; k++)
		put(&e, b, (uint64_t)k * 1016 * g.cluster_size, g.block_size,
		    k + 1);
	assert_int_equal(bst_sync(b), 0);
	/* the image as a crash would leave it: the journal holds it all */
	assert_int_equal(bdev_ram_crash_image(e.dev, &keep, &img), 0);
	assert_int_equal(bst_close(b), 0);
	bst_env_unload(&e);
	assert_int_equal(bdev_destroy(e.dev), 0);
	e.dev = img;
	assert_int_equal(bst_load(e.dev, false, &e.bs), 0);
	e.ch = bst_channel(e.bs);
	assert_int_equal(bst_open(e.bs, id, &b), 0);
	for (uint32_t k = 0; k < extents; k += 97)
		expect(&e, b, (uint64_t)k * 1016 * g.cluster_size,
		       g.block_size, k + 1);
	expect(&e, b, g.cluster_size, g.block_size, 0);
	assert_int_equal(bst_close(b), 0);
	bst_env_reload(&e);
	assert_int_equal(bst_open(e.bs, id, &b), 0);
	expect(&e, b, (uint64_t)(extents - 1) * 1016 * g.cluster_size,
	       g.block_size, extents);
	assert_int_equal(bst_close(b), 0);
	assert_int_equal(bst_delete(e.bs, id), 0);
	bst_env_close(&e);
}

#define FOR_GEOS(fn)                                               \
	static void test_##fn(void **s)                             \
	{                                                            \
		for (size_t i = 0; i < bst_ngeos; i++)               \
			check_##fn(&bst_geos[i]);                    \
	}

FOR_GEOS(init_load)
FOR_GEOS(thick_data)
FOR_GEOS(thin)
FOR_GEOS(resize)
FOR_GEOS(delete)
FOR_GEOS(xattrs)
FOR_GEOS(many)
FOR_GEOS(errors)
FOR_GEOS(journal_wrap)
FOR_GEOS(dirty_load)
FOR_GEOS(tools)

static int teardown(void **s)
{
	bst_reactor_destroy();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_load),
		cmocka_unit_test(test_thick_data),
		cmocka_unit_test(test_thin),
		cmocka_unit_test(test_resize),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_xattrs),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_journal_wrap),
		cmocka_unit_test(test_dirty_load),
		cmocka_unit_test(test_tools),
		cmocka_unit_test(test_big_commit),
	};

	bst_reactor();
	return cmocka_run_group_tests(tests, NULL, teardown);
}
