// SPDX-License-Identifier: MIT
/* blob_test.c - see blob_test.h. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "blob_test.h"

const struct bst_geo bst_geos[] = {
	{ .block_size = 512, .cluster_size = 4096, .dev_bytes = 4 << 20,
	  .md_pages = 64, .journal_pages = 16 },
	{ .block_size = 4096, .cluster_size = 16384, .dev_bytes = 8 << 20,
	  .md_pages = 128, .journal_pages = 32 },
	{ .block_size = 512, .cluster_size = 65536, .dev_bytes = 16 << 20,
	  .md_pages = 64, .journal_pages = 64 },
	{ .block_size = 4096, .cluster_size = 1 << 20, .dev_bytes = 64 << 20,
	  .md_pages = 0, .journal_pages = 0 },
};
const size_t bst_ngeos = sizeof(bst_geos) / sizeof(bst_geos[0]);

static struct reactor *g_r;

struct reactor *bst_reactor(void)
{
	struct reactor_config cfg = { .name = "blob-test" };
	int rc;

	if (g_r)
		return g_r;
	rc = reactor_create(&g_r, &cfg);
	if (rc == -ENOSYS || rc == -EPERM) {
		fprintf(stderr, "io_uring unavailable (%d): skipped\n", rc);
		exit(77);
	}
	assert_int_equal(rc, 0);
	/* bind it to this thread so that calls see it as their origin */
	assert_true(reactor_run_once(g_r, 0) >= 0);
	return g_r;
}

void bst_reactor_destroy(void)
{
	reactor_destroy(g_r);
	g_r = NULL;
}

struct dev_wait {
	struct bdev_io io;
	int done;
	int err;
};

static void dev_cb(void *arg, int err)
{
	struct dev_wait *w = arg;

	w->done = 1;
	w->err = err;
}

static void dev_run(struct dev_wait *w)
{
	while (!w->done)
		assert_true(reactor_run_once(bst_reactor(), 10) >= 0);
	assert_int_equal(w->err, 0);
}

/* Fill @b with the foreign pattern and flush. */
static void dev_soil(struct bdev *b, uint32_t unit)
{
	size_t chunk = 256 << 10;
	uint64_t bytes = bdev_block_count(b) * (uint64_t)unit;
	void *buf = bst_alloc(chunk);
	struct bdev_channel *ch;
	struct dev_wait w;

	assert_int_equal(bdev_channel_create(b, bst_reactor(), &ch), 0);
	for (uint64_t off = 0; off < bytes; off += chunk) {
		struct iovec v = { .iov_base = buf,
				   .iov_len = bytes - off < chunk ? bytes - off
								  : chunk };

		bst_pattern(buf, v.iov_len, unit, BST_FOREIGN, off, 1);
		w = (struct dev_wait){ .done = 0 };
		bdev_writev(ch, &w.io, &v, 1, off, 0, dev_cb, &w);
		dev_run(&w);
	}
	w = (struct dev_wait){ .done = 0 };
	bdev_flush(ch, &w.io, dev_cb, &w);
	dev_run(&w);
	assert_int_equal(bdev_channel_destroy(ch), 0);
	free(buf);
}

struct bdev *bst_ram(const struct bst_geo *g, bool cache)
{
	struct bdev_ram_config rc = {
		.block_size = g->block_size,
		.block_count = g->dev_bytes / g->block_size,
		.volatile_cache = cache,
	};
	struct bdev *b;

	assert_int_equal(bdev_ram_create(&rc, &b), 0);
	dev_soil(b, g->block_size);
	return b;
}

struct blob_store_opts bst_opts(const struct bst_geo *g)
{
	struct blob_store_opts o = {
		.cluster_size = g->cluster_size,
		.md_pages = g->md_pages,
		.journal_pages = g->journal_pages,
	};

	return o;
}

/* --- waiting -------------------------------------------------------------- */

struct wait {
	int done;
	int err;
};

static void wait_cb(void *arg, int err)
{
	struct wait *w = arg;

	w->done++;
	w->err = err;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The callback never runs inside the call; then run until it did. */
static int wait_run(struct wait *w)
{
	uint64_t end = now_ms() + 20000;

	assert_int_equal(w->done, 0);
	while (!w->done) {
		assert_true(reactor_run_once(g_r, 10) >= 0);
		assert_true(now_ms() < end);
	}
	assert_int_equal(w->done, 1);
	return w->err;
}

#define WAIT(call)                                     \
	do {                                           \
		struct wait w_ = { 0 };                \
		struct wait *w = &w_;                  \
		call;                                  \
		return wait_run(w);                    \
	} while (0)

int bst_init(struct bdev *dev, const struct blob_store_opts *o,
	     struct blob_store **bs)
{
	WAIT(blob_store_init(dev, bst_reactor(), o, bs, wait_cb, w));
}

int bst_load(struct bdev *dev, bool ro, struct blob_store **bs)
{
	struct blob_load_opts o = { .read_only = ro };

	WAIT(blob_store_load(dev, bst_reactor(), &o, bs, wait_cb, w));
}

int bst_unload(struct blob_store *bs)
{
	WAIT(blob_store_unload(bs, wait_cb, w));
}

int bst_grow(struct blob_store *bs)
{
	WAIT(blob_store_grow(bs, wait_cb, w));
}

int bst_create(struct blob_store *bs, uint64_t clusters, bool thin,
	       uint64_t *id)
{
	struct blob_create_opts o = { .clusters = clusters, .thin = thin };

	WAIT(blob_create(bs, &o, id, wait_cb, w));
}

int bst_open(struct blob_store *bs, uint64_t id, struct blob **b)
{
	WAIT(blob_open(bs, id, b, wait_cb, w));
}

int bst_close(struct blob *b)
{
	WAIT(blob_close(b, wait_cb, w));
}

int bst_delete(struct blob_store *bs, uint64_t id)
{
	WAIT(blob_delete(bs, id, wait_cb, w));
}

int bst_resize(struct blob *b, uint64_t clusters)
{
	WAIT(blob_resize(b, clusters, wait_cb, w));
}

int bst_unmap(struct blob *b, uint64_t first, uint64_t count)
{
	WAIT(blob_unmap(b, first, count, wait_cb, w));
}

int bst_sync(struct blob *b)
{
	WAIT(blob_sync(b, wait_cb, w));
}

int bst_list(struct blob_store *bs, uint64_t after, uint64_t *ids,
	     size_t max, size_t *count)
{
	WAIT(blob_list(bs, after, ids, max, count, wait_cb, w));
}

int bst_xattr_set(struct blob *b, uint32_t flags, const char *name,
		  const void *v, size_t len)
{
	WAIT(blob_xattr_set(b, flags, name, v, len, wait_cb, w));
}

int bst_xattr_get(struct blob *b, uint32_t flags, const char *name, void *buf,
		  size_t size, size_t *len)
{
	WAIT(blob_xattr_get(b, flags, name, buf, size, len, wait_cb, w));
}

int bst_xattr_remove(struct blob *b, uint32_t flags, const char *name)
{
	WAIT(blob_xattr_remove(b, flags, name, wait_cb, w));
}

int bst_xattr_list(struct blob *b, uint32_t flags, char *buf, size_t size,
		   size_t *len)
{
	WAIT(blob_xattr_list(b, flags, buf, size, len, wait_cb, w));
}

int bst_snapshot(struct blob *b, uint64_t *snap)
{
	WAIT(blob_snapshot(b, snap, wait_cb, w));
}

int bst_clone(struct blob_store *bs, uint64_t snap, uint64_t *clone)
{
	WAIT(blob_clone(bs, snap, clone, wait_cb, w));
}

int bst_inflate(struct blob *b)
{
	WAIT(blob_inflate(b, wait_cb, w));
}

int bst_decouple(struct blob *b)
{
	WAIT(blob_decouple(b, wait_cb, w));
}

int bst_check(struct blob_store *bs, uint32_t flags,
	      struct blob_check_report *rep)
{
	WAIT(blob_store_check(bs, flags, rep, NULL, wait_cb, w));
}

int bst_dump(struct blob_store *bs, FILE *out)
{
	WAIT(blob_store_dump(bs, out, wait_cb, w));
}

struct blob_channel *bst_channel(struct blob_store *bs)
{
	struct blob_channel *ch;

	assert_int_equal(blob_channel_create(bs, bst_reactor(), &ch), 0);
	return ch;
}

int bst_write(struct blob_channel *ch, struct blob *b, uint64_t off,
	      const void *buf, size_t len)
{
	struct iovec v = { .iov_base = (void *)buf, .iov_len = len };
	struct blob_io io;

	WAIT(blob_writev(ch, b, &io, &v, 1, off, wait_cb, w));
}

int bst_read(struct blob_channel *ch, struct blob *b, uint64_t off, void *buf,
	     size_t len)
{
	struct iovec v = { .iov_base = buf, .iov_len = len };
	struct blob_io io;

	WAIT(blob_readv(ch, b, &io, &v, 1, off, wait_cb, w));
}

void *bst_alloc(size_t len)
{
	void *p = NULL;

	assert_int_equal(posix_memalign(&p, 4096, len ? len : 1), 0);
	memset(p, 0, len);
	return p;
}

/* --- patterns ------------------------------------------------------------- */

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static void unit_fill(unsigned char *p, uint32_t unit, uint64_t id,
		      uint64_t off, uint32_t version)
{
	uint64_t seed = mix(id ^ mix(off) ^ mix(version + 1ull));

	memcpy(p, &id, 8);
	memcpy(p + 8, &off, 8);
	memcpy(p + 16, &version, 4);
	for (uint32_t i = 20; i < unit; i++)
		p[i] = (unsigned char)(mix(seed + i / 8) >> (8 * (i % 8)));
}

void bst_pattern(void *buf, size_t len, uint32_t unit, uint64_t id,
		 uint64_t off, uint32_t version)
{
	for (size_t i = 0; i < len; i += unit)
		unit_fill((unsigned char *)buf + i, unit, id, off + i, version);
}

int64_t bst_pattern_version(const void *buf, uint32_t unit, uint64_t id,
			    uint64_t off)
{
	const unsigned char *p = buf;
	unsigned char *want;
	uint64_t got_id, got_off;
	uint32_t ver;
	int64_t ret = -1;

	for (uint32_t i = 0; i < unit && p[i] == 0; i++) {
		if (i == unit - 1)
			return 0;
	}
	memcpy(&got_id, p, 8);
	memcpy(&got_off, p + 8, 8);
	memcpy(&ver, p + 16, 4);
	if (got_id != id || got_off != off || ver == 0)
		return -1;
	want = malloc(unit);
	unit_fill(want, unit, id, off, ver);
	if (memcmp(want, p, unit) == 0)
		ret = ver;
	free(want);
	return ret;
}

/* --- a store on a ram device ---------------------------------------------- */

void bst_env_open(struct bst_env *e, const struct bst_geo *g)
{
	struct blob_store_opts o = bst_opts(g);

	e->g = g;
	e->dev = bst_ram(g, false);
	assert_int_equal(bst_init(e->dev, &o, &e->bs), 0);
	e->ch = bst_channel(e->bs);
}

void bst_env_unload(struct bst_env *e)
{
	assert_int_equal(blob_channel_destroy(e->ch), 0);
	assert_int_equal(bst_unload(e->bs), 0);
	e->bs = NULL;
}

void bst_env_reload(struct bst_env *e)
{
	bst_env_unload(e);
	assert_int_equal(bst_load(e->dev, false, &e->bs), 0);
	e->ch = bst_channel(e->bs);
}

void bst_env_close(struct bst_env *e)
{
	struct blob_check_report rep;

	assert_int_equal(bst_check(e->bs, 0, &rep), 0);
	assert_int_equal(rep.errors, 0);
	bst_env_unload(e);
	assert_int_equal(bdev_destroy(e->dev), 0);
}

uint64_t bst_env_free_clusters(struct bst_env *e)
{
	struct blob_store_info info;

	blob_store_info_get(e->bs, &info);
	return info.free_clusters;
}

void bst_env_put(struct bst_env *e, struct blob *b, uint64_t id, uint64_t off,
		 size_t len, uint32_t v)
{
	void *buf = bst_alloc(len);

	bst_pattern(buf, len, e->g->block_size, id, off, v);
	assert_int_equal(bst_write(e->ch, b, off, buf, len), 0);
	free(buf);
}

void bst_env_expect(struct bst_env *e, struct blob *b, uint64_t id,
		    uint64_t off, size_t len, uint32_t v)
{
	uint32_t unit = e->g->block_size;
	unsigned char *buf = bst_alloc(len);

	assert_int_equal(bst_read(e->ch, b, off, buf, len), 0);
	for (size_t i = 0; i < len; i += unit)
		assert_int_equal(bst_pattern_version(buf + i, unit, id, off + i),
				 v);
	free(buf);
}
