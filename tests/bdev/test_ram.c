// SPDX-License-Identifier: MIT
/*
 * test_ram.c - the memory device: data round trips and its volatile cache
 * model (what flush and FUA make durable, and every loss policy).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bdev_test.h"

#define BLOCKS 32

static struct reactor *g_r;

static void ram_open(struct bt *t, uint32_t bs, bool cache, uint64_t max)
{
	struct bdev_ram_config cfg = {
		.block_size = bs,
		.block_count = BLOCKS,
		.volatile_cache = cache,
		.cache_max_bytes = max,
	};
	struct bdev *b;

	assert_int_equal(bdev_ram_create(&cfg, &b), 0);
	bt_open(t, g_r, b);
}

/* Write block @blk filled with pattern @seed. */
static void put(struct bt *t, uint64_t blk, uint32_t seed, uint32_t flags)
{
	uint32_t bs = bdev_block_size(t->b);
	unsigned char *buf = bt_alloc(bs);

	bt_fill(buf, bs, seed);
	assert_int_equal(bt_write(t, blk * bs, buf, bs, flags), 0);
	free(buf);
}

/*
 * Which pattern block @blk holds: seed, 0 for zeros, -1 for anything else.
 * Seeds tried: 1..64.
 */
static int which(struct bt *t, uint64_t blk)
{
	uint32_t bs = bdev_block_size(t->b);
	unsigned char *buf = bt_alloc(bs);
	unsigned char *want = bt_alloc(bs);
	int found = -1;

	assert_int_equal(bt_read(t, blk * bs, buf, bs), 0);
	if (bt_all(buf, bs, 0))
		found = 0;
	for (uint32_t seed = 1; found < 0 && seed <= 64; seed++) {
		bt_fill(want, bs, seed);
		if (memcmp(buf, want, bs) == 0)
			found = (int)seed;
	}
	free(buf);
	free(want);
	return found;
}

/* which() of block @blk in the image surviving a loss under @p. */
static int which_after(struct bt *t, enum bdev_loss_mode mode, uint64_t seed,
		       uint64_t keep, uint64_t blk)
{
	struct bdev_loss_policy p = { .mode = mode, .seed = seed, .keep = keep };
	struct bt img;
	struct bdev *b;
	int w;

	assert_int_equal(bdev_ram_crash_image(t->b, &p, &b), 0);
	bt_open(&img, g_r, b);
	assert_int_equal(bdev_ram_pending_writes(b), 0);
	w = which(&img, blk);
	bt_close(&img);
	return w;
}

static void check_round_trip(uint32_t bs, bool cache)
{
	struct bt t;
	size_t len = 4 * (size_t)bs;
	unsigned char *out = bt_alloc(len);
	unsigned char *in = bt_alloc(len);
	/* scatter on write and gather on read with different splits */
	struct iovec wv[3] = {
		{ out, bs }, { out + bs, 2 * (size_t)bs }, { out + 3 * bs, bs },
	};
	struct iovec rv[2] = { { in, 3 * (size_t)bs }, { in + 3 * bs, bs } };

	ram_open(&t, bs, cache, 0);
	bt_fill(out, len, 9);
	assert_int_equal(bt_writev(&t, wv, 3, 5 * (uint64_t)bs, 0), 0);
	assert_int_equal(bt_readv(&t, rv, 2, 5 * (uint64_t)bs), 0);
	assert_memory_equal(in, out, len);
	/* neighbours untouched */
	assert_int_equal(which(&t, 4), 0);
	assert_int_equal(which(&t, 9), 0);
	/* zeroes and unmap read back as zeros */
	assert_int_equal(bt_write_zeroes(&t, 6 * (uint64_t)bs, bs), 0);
	assert_int_equal(bt_unmap(&t, 7 * (uint64_t)bs, bs), 0);
	assert_int_equal(bt_readv(&t, rv, 2, 5 * (uint64_t)bs), 0);
	assert_memory_equal(in, out, bs);
	assert_true(bt_all(in + bs, 2 * (size_t)bs, 0));
	assert_memory_equal(in + 3 * bs, out + 3 * bs, bs);
	bt_close(&t);
	free(out);
	free(in);
}

static void test_round_trip(void **s)
{
	check_round_trip(512, false);
	check_round_trip(4096, false);
	check_round_trip(512, true);
	check_round_trip(4096, true);
}

/* Without a cache every completed write survives. */
static void test_no_cache_durable(void **s)
{
	struct bt t;

	ram_open(&t, 512, false, 0);
	put(&t, 1, 1, 0);
	assert_int_equal(bdev_ram_pending_writes(t.b), 0);
	assert_int_equal(which_after(&t, BDEV_LOSS_DROP_ALL, 0, 0, 1), 1);
	bt_close(&t);
}

/* Reads see pending writes; only flush and FUA make them durable. */
static void check_flush_fua(uint32_t bs)
{
	struct bt t;

	ram_open(&t, bs, true, 0);
	put(&t, 0, 1, 0);
	assert_int_equal(which(&t, 0), 1);
	assert_int_equal(bdev_ram_pending_writes(t.b), 1);
	assert_int_equal(which_after(&t, BDEV_LOSS_DROP_ALL, 0, 0, 0), 0);
	assert_int_equal(which_after(&t, BDEV_LOSS_KEEP_ALL, 0, 0, 0), 1);
	assert_int_equal(bt_flush(&t), 0);
	assert_int_equal(bdev_ram_pending_writes(t.b), 0);
	assert_int_equal(which_after(&t, BDEV_LOSS_DROP_ALL, 0, 0, 0), 1);
	/* an overwrite is pending until flushed: the old version survives */
	put(&t, 0, 2, 0);
	assert_int_equal(which_after(&t, BDEV_LOSS_DROP_ALL, 0, 0, 0), 1);
	/* FUA is durable at once, without making others durable */
	put(&t, 1, 3, BDEV_WRITE_FUA);
	assert_int_equal(bdev_ram_pending_writes(t.b), 1);
	assert_int_equal(which_after(&t, BDEV_LOSS_DROP_ALL, 0, 0, 1), 3);
	assert_int_equal(which_after(&t, BDEV_LOSS_DROP_ALL, 0, 0, 0), 1);
	/* pending zeroes and unmaps are lost like writes */
	assert_int_equal(bt_flush(&t), 0);
	assert_int_equal(bt_write_zeroes(&t, 0, bs), 0);
	assert_int_equal(bt_unmap(&t, bs, bs), 0);
	assert_int_equal(which(&t, 0), 0);
	assert_int_equal(which(&t, 1), 0);
	assert_int_equal(which_after(&t, BDEV_LOSS_DROP_ALL, 0, 0, 0), 2);
	assert_int_equal(which_after(&t, BDEV_LOSS_DROP_ALL, 0, 0, 1), 3);
	assert_int_equal(which_after(&t, BDEV_LOSS_KEEP_ALL, 0, 0, 1), 0);
	bt_close(&t);
}

static void test_flush_fua_512(void **s)
{
	check_flush_fua(512);
}

static void test_flush_fua_4096(void **s)
{
	check_flush_fua(4096);
}

/* KEEP_PREFIX keeps exactly the first @keep pending writes. */
static void test_loss_prefix(void **s)
{
	struct bt t;

	ram_open(&t, 512, true, 0);
	for (uint32_t i = 0; i < 4; i++)
		put(&t, i, i + 1, 0);
	assert_int_equal(bdev_ram_pending_writes(t.b), 4);
	for (uint64_t keep = 0; keep <= 5; keep++) {
		for (uint64_t blk = 0; blk < 4; blk++) {
			int want = blk < keep ? (int)blk + 1 : 0;

			assert_int_equal(which_after(&t, BDEV_LOSS_KEEP_PREFIX,
						     0, keep, blk), want);
		}
	}
	bt_close(&t);
}

/*
 * Two pending versions of one block over a durable one: every version can
 * survive, depending on the seed, and the same seed gives the same image.
 * A FUA version is never overwritten by an older pending one.
 */
static void test_loss_random(void **s)
{
	int seen[4] = { 0 };
	struct bt t;

	ram_open(&t, 4096, true, 0);
	put(&t, 0, 1, 0);
	assert_int_equal(bt_flush(&t), 0);
	put(&t, 0, 2, 0);
	put(&t, 0, 3, 0);
	put(&t, 1, 4, 0);
	put(&t, 1, 5, BDEV_WRITE_FUA);
	for (uint64_t seed = 0; seed < 64; seed++) {
		int w = which_after(&t, BDEV_LOSS_KEEP_RANDOM, seed, 0, 0);

		assert_true(w >= 1 && w <= 3);
		seen[w]++;
		assert_int_equal(which_after(&t, BDEV_LOSS_KEEP_RANDOM, seed,
					     0, 0), w);
		assert_int_equal(which_after(&t, BDEV_LOSS_KEEP_RANDOM, seed,
					     0, 1), 5);
	}
	assert_true(seen[1] > 0 && seen[2] > 0 && seen[3] > 0);
	bt_close(&t);
}

/* Per-block survival tears a multi-block write: each block old or new. */
static void test_loss_random_blocks(void **s)
{
	const uint32_t bs = 512, n = 8;
	unsigned char *buf = bt_alloc(n * bs);
	unsigned char *want = bt_alloc(bs);
	int torn = 0;
	struct bt t;

	ram_open(&t, bs, true, 0);
	for (uint32_t i = 0; i < n; i++)
		bt_fill(buf + i * bs, bs, 10 + i);
	assert_int_equal(bt_write(&t, 0, buf, n * bs, 0), 0);
	for (uint64_t seed = 0; seed < 16; seed++) {
		int news = 0;

		for (uint32_t i = 0; i < n; i++) {
			int w = which_after(&t, BDEV_LOSS_KEEP_RANDOM_BLOCKS,
					    seed, 0, i);

			assert_true(w == 0 || w == (int)(10 + i));
			news += w != 0;
		}
		torn += news > 0 && news < (int)n;
	}
	assert_true(torn > 0);
	free(buf);
	free(want);
	bt_close(&t);
}

/* A full write-back cache makes its oldest writes durable by itself. */
static void test_cache_destage(void **s)
{
	struct bt t;

	ram_open(&t, 512, true, 2 * 512);
	put(&t, 0, 1, 0);
	put(&t, 1, 2, 0);
	put(&t, 2, 3, 0);
	assert_int_equal(bdev_ram_pending_writes(t.b), 2);
	assert_int_equal(which_after(&t, BDEV_LOSS_DROP_ALL, 0, 0, 0), 1);
	assert_int_equal(which_after(&t, BDEV_LOSS_DROP_ALL, 0, 0, 1), 0);
	assert_int_equal(which_after(&t, BDEV_LOSS_DROP_ALL, 0, 0, 2), 0);
	bt_close(&t);
}

/* Crash images keep geometry and configuration, and reject bad input. */
static void test_crash_image_args(void **s)
{
	struct bdev_loss_policy bad = { .mode = (enum bdev_loss_mode)99 };
	struct bdev_loss_policy ok = { .mode = BDEV_LOSS_KEEP_ALL };
	struct bdev_fault_config fc = { 0 };
	struct bdev *img, *f;
	struct bt t;

	ram_open(&t, 512, true, 0);
	assert_int_equal(bdev_ram_crash_image(t.b, &bad, &img), -EINVAL);
	fc.base = t.b;
	assert_int_equal(bdev_fault_create(&fc, &f), 0);
	assert_int_equal(bdev_ram_crash_image(f, &ok, &img), -EINVAL);
	assert_int_equal(bdev_ram_resize(f, BLOCKS + 1), -EINVAL);
	assert_int_equal(bdev_ram_pending_writes(f), 0);
	assert_int_equal(bdev_destroy(f), 0);
	assert_int_equal(bdev_ram_resize(t.b, BLOCKS + 4), 0);
	assert_int_equal(bdev_ram_crash_image(t.b, &ok, &img), 0);
	assert_int_equal(bdev_block_size(img), 512);
	assert_int_equal(bdev_block_count(img), BLOCKS + 4);
	assert_int_equal(bdev_destroy(img), 0);
	bt_close(&t);
}

static int setup(void **s)
{
	g_r = bt_reactor();
	return 0;
}

static int teardown(void **s)
{
	reactor_destroy(g_r);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_no_cache_durable),
		cmocka_unit_test(test_flush_fua_512),
		cmocka_unit_test(test_flush_fua_4096),
		cmocka_unit_test(test_loss_prefix),
		cmocka_unit_test(test_loss_random),
		cmocka_unit_test(test_loss_random_blocks),
		cmocka_unit_test(test_cache_destage),
		cmocka_unit_test(test_crash_image_args),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
