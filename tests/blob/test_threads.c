// SPDX-License-Identifier: MIT
/*
 * test_threads.c - data I/O on one thread while the md thread changes the
 * blob under it: resizes that free clusters, other blobs that take them
 * and write their own data, snapshots, syncs.  Reads must only ever show
 * the blob's own data or zeros; nothing may crash (run it under ASan).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blob_test.h"
#include "vhostfs/log.h"

#define INFLIGHT 4
#define CLUSTERS 16

static const struct bst_geo geo = {
	.block_size = 4096, .cluster_size = 16384, .dev_bytes = 4 << 20,
	.md_pages = 128, .journal_pages = 32,
};

struct worker {
	struct blob_store *bs;
	struct blob *b;
	uint64_t id;
	_Atomic bool stop;
	_Atomic uint64_t ios, foreign;
	pthread_t thread;
};

struct slot {
	struct worker *w;
	struct blob_io io;
	struct iovec v;
	void *buf;
	bool write;
	uint64_t off;
	int busy;
};

static void slot_cb(void *arg, int err)
{
	struct slot *s = arg;
	uint32_t unit = geo.block_size;

	if (err == 0 && !s->write) {
		for (size_t u = 0; u < s->v.iov_len; u += unit) {
			int64_t v = bst_pattern_version(
				(unsigned char *)s->buf + u, unit, s->w->id,
				s->off + u);

			if (v < 0)
				atomic_fetch_add(&s->w->foreign, 1);
		}
	}
	/* -EINVAL: the blob shrank under the request */
	if (err != 0 && err != -EINVAL)
		atomic_fetch_add(&s->w->foreign, 1000000);
	atomic_fetch_add(&s->w->ios, 1);
	s->busy = 0;
}

static void slot_start(struct slot *s, struct blob_channel *ch,
		       uint64_t seq)
{
	uint64_t cs = geo.cluster_size;
	uint64_t len = (seq % 3 + 1) * geo.block_size;

	s->write = seq % 2;
	s->off = (seq * 7919 % (CLUSTERS * cs - len)) / geo.block_size *
		 geo.block_size;
	s->v.iov_base = s->buf;
	s->v.iov_len = len;
	s->busy = 1;
	if (s->write) {
		bst_pattern(s->buf, len, geo.block_size, s->w->id, s->off,
			    (uint32_t)(seq + 1));
		blob_writev(ch, s->w->b, &s->io, &s->v, 1, s->off, slot_cb, s);
	} else {
		blob_readv(ch, s->w->b, &s->io, &s->v, 1, s->off, slot_cb, s);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct reactor_config cfg = { .name = "blob-io" };
	struct slot slots[INFLIGHT];
	struct blob_channel *ch;
	struct reactor *r;
	uint64_t seq = 0;
	int busy;

	if (reactor_create(&r, &cfg) < 0 || reactor_run_once(r, 0) < 0 ||
	    blob_channel_create(w->bs, r, &ch) < 0)
		abort();
	for (int i = 0; i < INFLIGHT; i++) {
		slots[i] = (struct slot){ .w = w };
		slots[i].buf = bst_alloc(3 * geo.block_size);
	}
	do {
		busy = 0;
		for (int i = 0; i < INFLIGHT; i++) {
			if (!slots[i].busy && !atomic_load(&w->stop))
				slot_start(&slots[i], ch, seq++);
			busy |= slots[i].busy;
		}
		reactor_run_once(r, 1);
	} while (busy || !atomic_load(&w->stop));
	if (blob_channel_destroy(ch) < 0)
		abort();
	for (int i = 0; i < INFLIGHT; i++)
		free(slots[i].buf);
	reactor_destroy(r);
	return NULL;
}

/* Another blob takes free clusters and fills them with its own data. */
static void churn(struct blob_store *bs, struct blob_channel *ch)
{
	void *buf = bst_alloc(4 * geo.cluster_size);
	struct blob *b;
	uint64_t id;

	if (bst_create(bs, 4, false, &id) != 0) {
		free(buf);
		return;
	}
	assert_int_equal(bst_open(bs, id, &b), 0);
	bst_pattern(buf, 4 * geo.cluster_size, geo.block_size, id, 0, 1);
	assert_int_equal(bst_write(ch, b, 0, buf, 4 * geo.cluster_size), 0);
	assert_int_equal(bst_close(b), 0);
	assert_int_equal(bst_delete(bs, id), 0);
	free(buf);
}

static void test_concurrent(void **state)
{
	struct blob_store_opts o = bst_opts(&geo);
	struct bdev *dev = bst_ram(&geo, false);
	struct blob_check_report rep;
	struct blob_channel *ch;
	struct worker w = { 0 };
	uint64_t snap;
	int snaps = 0;

	assert_int_equal(bst_init(dev, &o, &w.bs), 0);
	ch = bst_channel(w.bs);
	assert_int_equal(bst_create(w.bs, CLUSTERS, true, &w.id), 0);
	assert_int_equal(bst_open(w.bs, w.id, &w.b), 0);
	assert_int_equal(pthread_create(&w.thread, NULL, worker_main, &w), 0);
	for (int round = 0; round < 150; round++) {
		uint64_t n = round % 3 == 0 ? CLUSTERS / 2 : CLUSTERS;

		assert_int_equal(bst_resize(w.b, n), 0);
		assert_int_equal(bst_sync(w.b), 0);
		churn(w.bs, ch);
		if (round % 10 == 5 && snaps < 8) {
			/* a snapshot, then back to a standalone blob */
			assert_int_equal(bst_snapshot(w.b, &snap), 0);
			assert_int_equal(bst_inflate(w.b), 0);
			assert_int_equal(bst_delete(w.bs, snap), 0);
			snaps++;
		}
	}
	atomic_store(&w.stop, true);
	/* the worker's trips to the md thread need this loop to run */
	while (pthread_tryjoin_np(w.thread, NULL) != 0)
		reactor_run_once(bst_reactor(), 1);
	if (getenv("BLOB_TEST_VERBOSE"))
		fprintf(stderr, "%llu I/Os\n",
			(unsigned long long)atomic_load(&w.ios));
	assert_int_equal(atomic_load(&w.foreign), 0);
	assert_true(atomic_load(&w.ios) > 100);
	assert_int_equal(bst_close(w.b), 0);
	assert_int_equal(bst_check(w.bs, 0, &rep), 0);
	assert_int_equal(rep.errors, 0);
	assert_int_equal(blob_channel_destroy(ch), 0);
	assert_int_equal(bst_unload(w.bs), 0);
	assert_int_equal(bdev_destroy(dev), 0);
}

static int teardown(void **s)
{
	bst_reactor_destroy();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concurrent),
	};

	log_set_level(LOG_LEVEL_ERROR);
	bst_reactor();
	return cmocka_run_group_tests(tests, NULL, teardown);
}
