// SPDX-License-Identifier: MIT
/*
 * test_unmap.c - blob_unmap: clusters of a thin blob go back to the store,
 * read as zeros (or the parent's data), come back on the next write, and
 * the free count, the check and a reload agree.
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

/* Freed clusters come back after a grace period: poll for @want. */
static void expect_free(struct bst_env *e, uint64_t want)
{
	for (int i = 0; i < 200 && bst_env_free_clusters(e) != want; i++)
		reactor_run_once(bst_reactor(), 1);
	assert_int_equal(bst_env_free_clusters(e), want);
}

static struct blob *open_thin(struct bst_env *e, uint64_t n, uint64_t *id)
{
	struct blob *b;

	assert_int_equal(bst_create(e->bs, n, true, id), 0);
	assert_int_equal(bst_open(e->bs, *id, &b), 0);
	return b;
}

/* Committed clusters come back with the commit of the unmap. */
static void check_committed(const struct bst_geo *g)
{
	uint64_t cs = g->cluster_size, id, before;
	struct blob *b;
	struct bst_env e;

	bst_env_open(&e, g);
	b = open_thin(&e, 8, &id);
	bst_env_put(&e, b, id, 0, 8 * cs, 1);
	assert_int_equal(bst_sync(b), 0);
	before = bst_env_free_clusters(&e);
	assert_int_equal(bst_unmap(b, 2, 3), 0);
	bst_env_expect(&e, b, id, 0, 2 * cs, 1);
	bst_env_expect(&e, b, id, 2 * cs, 3 * cs, 0);
	bst_env_expect(&e, b, id, 5 * cs, 3 * cs, 1);
	/* still owned until the commit says otherwise */
	assert_int_equal(bst_env_free_clusters(&e), before);
	assert_int_equal(bst_sync(b), 0);
	expect_free(&e, before + 3);
	/* a write allocates again */
	bst_env_put(&e, b, id, 3 * cs, cs, 2);
	assert_int_equal(bst_env_free_clusters(&e), before + 2);
	assert_int_equal(bst_close(b), 0);
	bst_env_reload(&e);
	assert_int_equal(bst_env_free_clusters(&e), before + 2);
	assert_int_equal(bst_open(e.bs, id, &b), 0);
	bst_env_expect(&e, b, id, 0, 2 * cs, 1);
	bst_env_expect(&e, b, id, 2 * cs, cs, 0);
	bst_env_expect(&e, b, id, 3 * cs, cs, 2);
	bst_env_expect(&e, b, id, 4 * cs, cs, 0);
	bst_env_expect(&e, b, id, 5 * cs, 3 * cs, 1);
	assert_int_equal(bst_close(b), 0);
	bst_env_close(&e);
}

/* Clusters no commit recorded come back after the grace period alone. */
static void check_uncommitted(const struct bst_geo *g)
{
	uint64_t cs = g->cluster_size, id, before;
	struct blob *b;
	struct bst_env e;

	bst_env_open(&e, g);
	b = open_thin(&e, 4, &id);
	assert_int_equal(bst_sync(b), 0);
	before = bst_env_free_clusters(&e);
	bst_env_put(&e, b, id, 0, 4 * cs, 1);
	assert_int_equal(bst_env_free_clusters(&e), before - 4);
	assert_int_equal(bst_unmap(b, 1, 2), 0);
	expect_free(&e, before - 2);
	bst_env_expect(&e, b, id, cs, 2 * cs, 0);
	assert_int_equal(bst_close(b), 0);
	bst_env_reload(&e);
	assert_int_equal(bst_env_free_clusters(&e), before - 2);
	assert_int_equal(bst_open(e.bs, id, &b), 0);
	bst_env_expect(&e, b, id, 0, cs, 1);
	bst_env_expect(&e, b, id, cs, 2 * cs, 0);
	bst_env_expect(&e, b, id, 3 * cs, cs, 1);
	assert_int_equal(bst_close(b), 0);
	bst_env_close(&e);
}

static void check_errors(const struct bst_geo *g)
{
	uint64_t id, thick, snap, before;
	struct blob *b, *t, *s;
	struct bst_env e;

	bst_env_open(&e, g);
	b = open_thin(&e, 8, &id);
	assert_int_equal(bst_unmap(b, 7, 2), -EINVAL);
	assert_int_equal(bst_unmap(b, 9, 0), -EINVAL);
	assert_int_equal(bst_unmap(b, 8, 0), 0);
	before = bst_env_free_clusters(&e);
	assert_int_equal(bst_unmap(b, 0, 8), 0); /* nothing allocated */
	assert_int_equal(bst_env_free_clusters(&e), before);
	assert_int_equal(bst_create(e.bs, 2, false, &thick), 0);
	assert_int_equal(bst_open(e.bs, thick, &t), 0);
	assert_int_equal(bst_unmap(t, 0, 1), -EINVAL);
	assert_int_equal(bst_close(t), 0);
	bst_env_put(&e, b, id, 0, g->cluster_size, 1);
	assert_int_equal(bst_snapshot(b, &snap), 0);
	assert_int_equal(bst_open(e.bs, snap, &s), 0);
	assert_int_equal(bst_unmap(s, 0, 1), -EPERM);
	assert_int_equal(bst_close(s), 0);
	assert_int_equal(bst_close(b), 0);
	bst_env_close(&e);
}

/* A clone's unmapped cluster reads its parent's data again. */
static void check_clone(const struct bst_geo *g)
{
	uint64_t cs = g->cluster_size, id, snap;
	struct blob *b;
	struct bst_env e;

	bst_env_open(&e, g);
	b = open_thin(&e, 4, &id);
	bst_env_put(&e, b, id, 0, 4 * cs, 1);
	assert_int_equal(bst_snapshot(b, &snap), 0);
	bst_env_put(&e, b, id, cs, cs, 2);
	bst_env_expect(&e, b, id, cs, cs, 2);
	assert_int_equal(bst_unmap(b, 0, 4), 0);
	bst_env_expect(&e, b, id, 0, 4 * cs, 1);
	assert_int_equal(bst_close(b), 0);
	bst_env_reload(&e);
	assert_int_equal(bst_open(e.bs, id, &b), 0);
	bst_env_expect(&e, b, id, 0, 4 * cs, 1);
	assert_int_equal(bst_close(b), 0);
	bst_env_close(&e);
}

struct io_wait {
	int done;
	int err;
};

static void io_cb(void *arg, int err)
{
	struct io_wait *w = arg;

	w->done++;
	w->err = w->err ? w->err : err;
}

/* An unmap while writes to the same clusters are in flight. */
static void check_inflight(const struct bst_geo *g)
{
	uint64_t cs = g->cluster_size, id, before;
	struct io_wait w = { 0 };
	struct blob_io io[4];
	struct iovec v[4];
	unsigned char *buf = bst_alloc(4 * cs);
	struct blob *b;
	struct bst_env e;

	bst_env_open(&e, g);
	b = open_thin(&e, 4, &id);
	assert_int_equal(bst_sync(b), 0);
	before = bst_env_free_clusters(&e);
	bst_env_put(&e, b, id, 0, 4 * cs, 1);
	assert_int_equal(bst_sync(b), 0);
	bst_pattern(buf, 4 * cs, g->block_size, id, 0, 2);
	for (int i = 0; i < 4; i++) {
		v[i] = (struct iovec){ buf + i * cs, cs };
		blob_writev(e.ch, b, &io[i], &v[i], 1, i * cs, io_cb, &w);
	}
	blob_unmap(b, 0, 4, io_cb, &w);
	while (w.done < 5)
		assert_true(reactor_run_once(bst_reactor(), 10) >= 0);
	assert_int_equal(w.err, 0);
	assert_int_equal(bst_sync(b), 0);
	expect_free(&e, before);
	bst_env_expect(&e, b, id, 0, 4 * cs, 0);
	assert_int_equal(bst_close(b), 0);
	free(buf);
	bst_env_close(&e);
}

#define FOR_GEOS(fn)                                 \
	static void test_##fn(void **state)          \
	{                                            \
		(void)state;                         \
		for (size_t i = 0; i < bst_ngeos; i++) \
			check_##fn(&bst_geos[i]);    \
	}

FOR_GEOS(committed)
FOR_GEOS(uncommitted)
FOR_GEOS(errors)
FOR_GEOS(clone)
FOR_GEOS(inflight)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_committed),
		cmocka_unit_test(test_uncommitted),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_clone),
		cmocka_unit_test(test_inflight),
	};
	int rc;

	bst_reactor();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	bst_reactor_destroy();
	return rc;
}
