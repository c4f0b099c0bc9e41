// SPDX-License-Identifier: MIT
/*
 * test_fault.c - the fault device: counters, failed writes and flushes,
 * power cuts, torn writes, crash images, and a small power-loss runner.
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

#define BLOCKS 16

static struct reactor *g_r;

/* A ram device with a volatile cache and a fault device around it. */
struct rig {
	struct bdev *ram;
	struct bt t; /* on the fault device */
};

static void rig_open(struct rig *g, uint32_t bs, struct bdev_fault_config *fc)
{
	struct bdev_ram_config rc = {
		.block_size = bs, .block_count = BLOCKS, .volatile_cache = true,
	};
	struct bdev *f;

	assert_int_equal(bdev_ram_create(&rc, &g->ram), 0);
	fc->base = g->ram;
	assert_int_equal(bdev_fault_create(fc, &f), 0);
	assert_int_equal(bdev_block_size(f), bs);
	assert_int_equal(bdev_block_count(f), BLOCKS);
	bt_open(&g->t, g_r, f);
}

static void rig_close(struct rig *g)
{
	bt_close(&g->t);
	assert_int_equal(bdev_destroy(g->ram), 0);
}

static int put(struct bt *t, uint64_t blk, uint32_t n, uint32_t seed,
	       uint32_t flags)
{
	uint32_t bs = bdev_block_size(t->b);
	unsigned char *buf = bt_alloc((size_t)n * bs);
	int rc;

	for (uint32_t i = 0; i < n; i++)
		bt_fill(buf + (size_t)i * bs, bs, seed + i);
	rc = bt_write(t, blk * bs, buf, (size_t)n * bs, flags);
	free(buf);
	return rc;
}

/* Whether block @blk of @b holds pattern @seed (0: zeros). */
static int holds(struct bdev *b, uint64_t blk, uint32_t seed)
{
	uint32_t bs = bdev_block_size(b);
	unsigned char *buf = bt_alloc(bs);
	unsigned char *want = bt_alloc(bs);
	struct bt t;
	int ok;

	bt_open(&t, g_r, b);
	assert_int_equal(bt_read(&t, blk * bs, buf, bs), 0);
	assert_int_equal(bdev_channel_destroy(t.ch), 0);
	if (seed)
		bt_fill(want, bs, seed);
	ok = memcmp(buf, want, bs) == 0;
	free(buf);
	free(want);
	return ok;
}

/* The image surviving the cut, checked then destroyed by the caller. */
static struct bdev *image(struct rig *g)
{
	struct bdev *img;

	assert_int_equal(bdev_fault_crash_image(g->t.b, &img), 0);
	return img;
}

static void check_counters(uint32_t bs)
{
	struct bdev_fault_config fc = { 0 };
	struct bdev_fault_stats st;
	unsigned char *buf = bt_alloc(2 * (size_t)bs);
	struct rig g;

	rig_open(&g, bs, &fc);
	assert_int_equal(put(&g.t, 0, 2, 1, 0), 0);
	assert_int_equal(bt_read(&g.t, 0, buf, bs), 0);
	assert_int_equal(bt_read(&g.t, 0, buf, 2 * (size_t)bs), 0);
	assert_int_equal(bt_write_zeroes(&g.t, 0, bs), 0);
	assert_int_equal(bt_unmap(&g.t, bs, bs), 0);
	assert_int_equal(bt_flush(&g.t), 0);
	/* invalid requests never reach the device */
	assert_int_equal(bt_read(&g.t, 1, buf, bs), -EINVAL);
	bdev_fault_stats_get(g.t.b, &st);
	assert_int_equal(st.reads, 2);
	assert_int_equal(st.bytes_read, 3 * (uint64_t)bs);
	assert_int_equal(st.writes, 3);
	assert_int_equal(st.bytes_written, 2 * (uint64_t)bs);
	assert_int_equal(st.write_zeroes, 1);
	assert_int_equal(st.unmaps, 1);
	assert_int_equal(st.flushes, 1);
	assert_int_equal(st.failed, 0);
	/* the base saw them too: its data is the wrapper's data */
	assert_int_equal(bdev_ram_pending_writes(g.ram), 0);
	assert_true(holds(g.ram, 0, 0));
	free(buf);
	rig_close(&g);
}

static void test_counters(void **s)
{
	check_counters(512);
	check_counters(4096);
}

/* Write N fails and changes nothing; the device keeps working. */
static void test_fail_write(void **s)
{
	struct bdev_fault_config fc = { .fail_write = 2 };
	struct bdev_fault_stats st;
	struct rig g;

	rig_open(&g, 512, &fc);
	assert_int_equal(put(&g.t, 0, 1, 1, 0), 0);
	assert_int_equal(put(&g.t, 1, 1, 2, 0), -EIO);
	assert_int_equal(bt_write_zeroes(&g.t, 0, 512), 0);
	assert_int_equal(put(&g.t, 2, 1, 3, 0), 0);
	assert_true(holds(g.ram, 1, 0));
	assert_true(holds(g.ram, 2, 3));
	assert_false(bdev_fault_power_lost(g.t.b));
	bdev_fault_stats_get(g.t.b, &st);
	assert_int_equal(st.writes, 4);
	assert_int_equal(st.failed, 1);
	rig_close(&g);
}

/* Flush N fails and leaves the pending writes pending. */
static void test_fail_flush(void **s)
{
	struct bdev_fault_config fc = { .fail_flush = 1 };
	struct rig g;

	rig_open(&g, 4096, &fc);
	assert_int_equal(put(&g.t, 0, 1, 1, 0), 0);
	assert_int_equal(bt_flush(&g.t), -EIO);
	assert_int_equal(bdev_ram_pending_writes(g.ram), 1);
	assert_int_equal(bt_flush(&g.t), 0);
	assert_int_equal(bdev_ram_pending_writes(g.ram), 0);
	rig_close(&g);
}

/* After write N everything fails; the image is what the policy keeps. */
static void check_power_cut(enum bdev_loss_mode mode, int keeps_last)
{
	struct bdev_fault_config fc = {
		.power_cut_write = 3, .loss = { .mode = mode, .keep = 1 },
	};
	unsigned char *buf = bt_alloc(512);
	struct bdev *img;
	struct rig g;

	rig_open(&g, 512, &fc);
	assert_int_equal(put(&g.t, 0, 1, 1, 0), 0);
	assert_int_equal(bt_flush(&g.t), 0);
	assert_int_equal(put(&g.t, 1, 1, 2, 0), 0);
	assert_false(bdev_fault_power_lost(g.t.b));
	assert_int_equal(put(&g.t, 2, 1, 3, 0), 0); /* write 3 reaches the base */
	assert_true(bdev_fault_power_lost(g.t.b));
	assert_int_equal(put(&g.t, 3, 1, 4, 0), -EIO);
	assert_int_equal(bt_read(&g.t, 0, buf, 512), -EIO);
	assert_int_equal(bt_flush(&g.t), -EIO);
	assert_int_equal(bt_unmap(&g.t, 0, 512), -EIO);
	img = image(&g);
	assert_true(holds(img, 0, 1));
	assert_int_equal(holds(img, 1, 2), mode != BDEV_LOSS_DROP_ALL);
	assert_int_equal(holds(img, 2, 3), keeps_last);
	assert_true(holds(img, 3, 0));
	assert_int_equal(bdev_destroy(img), 0);
	free(buf);
	rig_close(&g);
}

static void test_power_cut(void **s)
{
	check_power_cut(BDEV_LOSS_DROP_ALL, 0);
	check_power_cut(BDEV_LOSS_KEEP_ALL, 1);
	check_power_cut(BDEV_LOSS_KEEP_PREFIX, 0);
}

/* A torn write lands its first blocks only, and fails. */
static void check_tear(uint32_t bs)
{
	struct bdev_fault_config fc = {
		.power_cut_write = 2, .tear_blocks = 3,
		.loss = { .mode = BDEV_LOSS_KEEP_ALL },
	};
	struct bdev *img;
	struct rig g;

	rig_open(&g, bs, &fc);
	assert_int_equal(put(&g.t, 0, 8, 100, 0), 0);
	assert_int_equal(bt_flush(&g.t), 0);
	assert_int_equal(put(&g.t, 0, 8, 200, BDEV_WRITE_FUA), -EIO);
	assert_true(bdev_fault_power_lost(g.t.b));
	img = image(&g);
	for (uint32_t i = 0; i < 8; i++)
		assert_true(holds(img, i, i < 3 ? 200 + i : 100 + i));
	assert_int_equal(bdev_destroy(img), 0);
	rig_close(&g);
}

static void test_tear(void **s)
{
	check_tear(512);
	check_tear(4096);
}

/* Tearing write_zeroes and unmap: only the first blocks are zeroed. */
static void test_tear_zeroes(void **s)
{
	struct bdev_fault_config fc = {
		.power_cut_write = 2, .tear_blocks = 1,
		.loss = { .mode = BDEV_LOSS_KEEP_ALL },
	};
	struct bdev *img;
	struct rig g;

	rig_open(&g, 512, &fc);
	assert_int_equal(put(&g.t, 0, 4, 1, 0), 0);
	assert_int_equal(bt_write_zeroes(&g.t, 0, 4 * 512), -EIO);
	img = image(&g);
	assert_true(holds(img, 0, 0));
	for (uint32_t i = 1; i < 4; i++)
		assert_true(holds(img, i, 1 + i));
	assert_int_equal(bdev_destroy(img), 0);
	rig_close(&g);
	/* a tear longer than the request: the request is whole */
	fc.tear_blocks = 8;
	rig_open(&g, 512, &fc);
	assert_int_equal(put(&g.t, 0, 4, 1, 0), 0);
	assert_int_equal(bt_unmap(&g.t, 0, 2 * 512), 0);
	assert_true(bdev_fault_power_lost(g.t.b));
	img = image(&g);
	assert_true(holds(img, 1, 0));
	assert_true(holds(img, 2, 3));
	assert_int_equal(bdev_destroy(img), 0);
	rig_close(&g);
}

static void test_manual_cut_and_args(void **s)
{
	struct bdev_fault_config fc = { 0 };
	struct bdev_fault_config none = { 0 };
	struct bdev_fault_config inner = { 0 };
	struct bdev *f, *ff, *img;
	struct rig g;

	assert_int_equal(bdev_fault_create(&none, &f), -EINVAL);
	rig_open(&g, 512, &fc);
	bdev_fault_power_cut(g.t.b);
	assert_true(bdev_fault_power_lost(g.t.b));
	assert_int_equal(put(&g.t, 0, 1, 1, 0), -EIO);
	/* only ram bases have crash images; other calls reject non-faults */
	inner.base = g.t.b;
	assert_int_equal(bdev_fault_create(&inner, &ff), 0);
	assert_int_equal(bdev_fault_crash_image(ff, &img), -EOPNOTSUPP);
	assert_int_equal(bdev_destroy(ff), 0);
	assert_int_equal(bdev_fault_crash_image(g.ram, &img), -EINVAL);
	assert_false(bdev_fault_power_lost(g.ram));
	rig_close(&g);
}

static void base_resized(void *arg, uint64_t old_blocks, uint64_t new_blocks)
{
	*(uint64_t *)arg = new_blocks;
}

static void test_resize_passes_up(void **s)
{
	struct bdev_fault_config fc = { 0 };
	uint64_t seen = 0;
	struct rig g;

	rig_open(&g, 512, &fc);
	bdev_set_resize_cb(g.t.b, base_resized, &seen);
	assert_int_equal(bdev_ram_resize(g.ram, BLOCKS * 2), 0);
	assert_int_equal(bdev_block_count(g.t.b), BLOCKS * 2);
	assert_int_equal(seen, BLOCKS * 2);
	assert_int_equal(put(&g.t, BLOCKS * 2 - 1, 1, 1, 0), 0);
	rig_close(&g);
}

/*
 * A tiny "file system" that alternates two copies of a record (blocks 0-3
 * and 4-7) and commits with a FUA write of a header naming the live copy,
 * after a flush.  Cut power after each write in turn, under every loss
 * policy: the surviving header must always name a complete copy.  This is
 * the shape of the blobstore's power-loss tests.
 */
static int mini_commit(struct bt *t, uint32_t gen)
{
	uint32_t copy = gen % 2;
	int rc;

	rc = put(t, 1 + copy * 4, 4, gen * 10, 0);
	if (rc == 0)
		rc = bt_flush(t);
	if (rc == 0)
		rc = put(t, 0, 1, gen, BDEV_WRITE_FUA);
	return rc;
}

static void mini_check(struct bdev *img)
{
	uint32_t gen = 0;

	for (uint32_t g = 1; g <= 6 && !gen; g++)
		gen = holds(img, 0, g) ? g : 0;
	if (!gen) {
		assert_true(holds(img, 0, 0));
		return;
	}
	for (uint32_t i = 0; i < 4; i++)
		assert_true(holds(img, 1 + (gen % 2) * 4 + i, gen * 10 + i));
}

static void test_power_loss_runner(void **s)
{
	static const enum bdev_loss_mode modes[] = {
		BDEV_LOSS_DROP_ALL, BDEV_LOSS_KEEP_ALL, BDEV_LOSS_KEEP_PREFIX,
		BDEV_LOSS_KEEP_RANDOM, BDEV_LOSS_KEEP_RANDOM_BLOCKS,
	};
	unsigned int cuts = 0;

	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		for (uint64_t n = 1; n <= 12; n++) {
			struct bdev_fault_config fc = {
				.power_cut_write = n,
				.tear_blocks = (uint32_t)(n % 3),
				.loss = { .mode = modes[m], .seed = n, .keep = n % 2 },
			};
			struct bdev *img;
			struct rig g;
			int rc = 0;

			rig_open(&g, 512, &fc);
			for (uint32_t gen = 1; gen <= 6 && rc == 0; gen++)
				rc = mini_commit(&g.t, gen);
			cuts += rc != 0;
			img = image(&g);
			mini_check(img);
			assert_int_equal(bdev_destroy(img), 0);
			rig_close(&g);
		}
	}
	assert_true(cuts > 0);
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
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_fail_write),
		cmocka_unit_test(test_fail_flush),
		cmocka_unit_test(test_power_cut),
		cmocka_unit_test(test_tear),
		cmocka_unit_test(test_tear_zeroes),
		cmocka_unit_test(test_manual_cut_and_args),
		cmocka_unit_test(test_resize_passes_up),
		cmocka_unit_test(test_power_loss_runner),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
