// SPDX-License-Identifier: MIT
/*
 * test_bdev.c - the shared layer: request validation, completion rules,
 * channels, resize notification (on ram devices of 512 and 4096 blocks).
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

#define BLOCKS 64

static struct bt *bt_ram_open(struct reactor *r, uint32_t bs)
{
	struct bdev_ram_config cfg = { .block_size = bs, .block_count = BLOCKS };
	struct bt *t = calloc(1, sizeof(*t));
	struct bdev *b;

	assert_non_null(t);
	assert_int_equal(bdev_ram_create(&cfg, &b), 0);
	bt_open(t, r, b);
	return t;
}

static void bt_ram_close(struct bt *t)
{
	bt_close(t);
	free(t);
}

/* Every kind of broken request completes with -EINVAL, none crashes. */
static void check_invalid(uint32_t bs)
{
	struct reactor *r = bt_reactor();
	struct bt *t = bt_ram_open(r, bs);
	uint64_t size = (uint64_t)BLOCKS * bs;
	unsigned char *buf = bt_alloc(2 * bs);
	struct iovec v[2] = {
		{ .iov_base = buf, .iov_len = bs },
		{ .iov_base = buf + bs, .iov_len = bs },
	};
	struct iovec odd = { .iov_base = buf + 8, .iov_len = bs };
	struct iovec short_len = { .iov_base = buf, .iov_len = bs - 8 };
	struct iovec empty = { .iov_base = buf, .iov_len = 0 };

	assert_int_equal(bt_read(t, 8, buf, bs), -EINVAL);
	assert_int_equal(bt_write(t, bs / 2, buf, bs, 0), -EINVAL);
	assert_int_equal(bt_readv(t, &odd, 1, 0), -EINVAL);
	assert_int_equal(bt_writev(t, &short_len, 1, 0, 0), -EINVAL);
	assert_int_equal(bt_readv(t, &empty, 1, 0), -EINVAL);
	assert_int_equal(bt_readv(t, v, 0, 0), -EINVAL);
	assert_int_equal(bt_readv(t, NULL, 1, 0), -EINVAL);
	assert_int_equal(bt_readv(t, v, BDEV_IOV_MAX + 1, 0), -EINVAL);
	assert_int_equal(bt_writev(t, v, 1, 0, 0x80), -EINVAL);
	/* out of range: one block past the end, huge, wrapping */
	assert_int_equal(bt_readv(t, v, 2, size - bs), -EINVAL);
	assert_int_equal(bt_writev(t, v, 1, size, 0), -EINVAL);
	assert_int_equal(bt_read(t, UINT64_MAX - bs + 1, buf, bs), -EINVAL);
	assert_int_equal(bt_write_zeroes(t, 0, 0), -EINVAL);
	assert_int_equal(bt_write_zeroes(t, bs, 7), -EINVAL);
	assert_int_equal(bt_write_zeroes(t, bs, size), -EINVAL);
	assert_int_equal(bt_unmap(t, 1, bs), -EINVAL);
	assert_int_equal(bt_unmap(t, size - bs, UINT64_MAX - bs + 1), -EINVAL);
	/* the edges themselves are fine */
	assert_int_equal(bt_readv(t, v, 2, size - 2 * bs), 0);
	assert_int_equal(bt_write_zeroes(t, 0, size), 0);
	assert_int_equal(bt_unmap(t, size - bs, bs), 0);
	assert_int_equal(bt_flush(t), 0);
	free(buf);
	bt_ram_close(t);
	reactor_destroy(r);
}

static void test_invalid_512(void **s)
{
	check_invalid(512);
}

static void test_invalid_4096(void **s)
{
	check_invalid(4096);
}

static void check_geometry(uint32_t bs)
{
	struct bdev_ram_config cfg = { .block_size = bs, .block_count = 10 };
	struct bdev *b;

	assert_int_equal(bdev_ram_create(&cfg, &b), 0);
	assert_int_equal(bdev_block_size(b), bs);
	assert_int_equal(bdev_block_count(b), 10);
	assert_string_equal(bdev_name(b), "ram");
	assert_int_equal(bdev_destroy(b), 0);
}

static void test_geometry(void **s)
{
	struct bdev_ram_config bad = { .block_size = 1024, .block_count = 1 };
	struct bdev_ram_config none = { .block_size = 512, .block_count = 0 };
	struct bdev_ram_config dflt = { .block_count = 1 };
	struct bdev *b;

	check_geometry(512);
	check_geometry(4096);
	assert_int_equal(bdev_ram_create(&bad, &b), -EINVAL);
	assert_int_equal(bdev_ram_create(&none, &b), -EINVAL);
	assert_int_equal(bdev_ram_create(&dflt, &b), 0);
	assert_int_equal(bdev_block_size(b), 4096);
	assert_int_equal(bdev_destroy(b), 0);
}

struct count {
	int done;
	int err;
	struct bdev_channel *destroy; /* channel to close from the callback */
};

static void count_cb(void *arg, int err)
{
	struct count *c = arg;

	c->done++;
	c->err = err;
	if (c->destroy)
		assert_int_equal(bdev_channel_destroy(c->destroy), 0);
}

/* A busy channel or device refuses to go; the last callback may close. */
static void test_channel_lifetime(void **s)
{
	struct reactor *r = bt_reactor();
	struct bt *t = bt_ram_open(r, 512);
	unsigned char *buf = bt_alloc(512);
	struct bdev_io io;
	struct count c = { 0 };

	bdev_write_zeroes(t->ch, &io, 0, 512, count_cb, &c);
	assert_int_equal(bdev_channel_destroy(t->ch), -EBUSY);
	assert_int_equal(bdev_destroy(t->b), -EBUSY);
	bt_run_until(r, &c.done);
	assert_int_equal(c.err, 0);
	/* an invalid request is outstanding until its callback too */
	c.done = 0;
	c.destroy = t->ch;
	bdev_write_zeroes(t->ch, &io, 1, 512, count_cb, &c);
	assert_int_equal(bdev_channel_destroy(t->ch), -EBUSY);
	bt_run_until(r, &c.done);
	assert_int_equal(c.err, -EINVAL);
	assert_int_equal(bdev_destroy(t->b), 0);
	free(t);
	free(buf);
	reactor_destroy(r);
}

/* Many requests in flight on one channel, each completes exactly once. */
static void test_many_inflight(void **s)
{
	enum { N = 32 };
	struct reactor *r = bt_reactor();
	struct bt *t = bt_ram_open(r, 4096);
	unsigned char *buf = bt_alloc((size_t)N * 4096);
	struct bdev_io io[N];
	struct iovec v[N];
	struct count c[N];
	int all = 0;

	for (int i = 0; i < N; i++) {
		c[i] = (struct count){ 0 };
		v[i] = (struct iovec){ buf + (size_t)i * 4096, 4096 };
		bt_fill(v[i].iov_base, 4096, (uint32_t)i);
		bdev_writev(t->ch, &io[i], &v[i], 1, (uint64_t)i * 4096, 0,
			    count_cb, &c[i]);
	}
	while (!all) {
		assert_true(reactor_run_once(r, 100) >= 0);
		all = 1;
		for (int i = 0; i < N; i++)
			all &= c[i].done == 1;
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(c[i].err, 0);
	memset(buf, 0, (size_t)N * 4096);
	assert_int_equal(bt_read(t, 0, buf, (size_t)N * 4096), 0);
	for (int i = 0; i < N; i++) {
		unsigned char want[4096];

		bt_fill(want, sizeof(want), (uint32_t)i);
		assert_memory_equal(buf + (size_t)i * 4096, want, 4096);
	}
	free(buf);
	bt_ram_close(t);
	reactor_destroy(r);
}

struct resized {
	int calls;
	uint64_t old_blocks;
	uint64_t new_blocks;
};

static void resized_cb(void *arg, uint64_t old_blocks, uint64_t new_blocks)
{
	struct resized *z = arg;

	z->calls++;
	z->old_blocks = old_blocks;
	z->new_blocks = new_blocks;
}

/* Growing publishes the size, calls back, and the new blocks work. */
static void test_resize(void **s)
{
	struct reactor *r = bt_reactor();
	struct bt *t = bt_ram_open(r, 512);
	unsigned char *buf = bt_alloc(512);
	struct resized z = { 0 };

	bdev_set_resize_cb(t->b, resized_cb, &z);
	assert_int_equal(bt_read(t, BLOCKS * 512, buf, 512), -EINVAL);
	assert_int_equal(bdev_ram_resize(t->b, BLOCKS - 1), -EINVAL);
	assert_int_equal(z.calls, 0);
	assert_int_equal(bdev_ram_resize(t->b, BLOCKS + 8), 0);
	assert_int_equal(z.calls, 1);
	assert_int_equal(z.old_blocks, BLOCKS);
	assert_int_equal(z.new_blocks, BLOCKS + 8);
	assert_int_equal(bdev_block_count(t->b), BLOCKS + 8);
	memset(buf, 0xff, 512);
	assert_int_equal(bt_read(t, (BLOCKS + 7) * 512, buf, 512), 0);
	assert_true(bt_all(buf, 512, 0));
	bt_fill(buf, 512, 3);
	assert_int_equal(bt_write(t, (BLOCKS + 7) * 512, buf, 512, 0), 0);
	/* same size again: no call */
	assert_int_equal(bdev_ram_resize(t->b, BLOCKS + 8), 0);
	assert_int_equal(z.calls, 1);
	free(buf);
	bt_ram_close(t);
	reactor_destroy(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid_512),
		cmocka_unit_test(test_invalid_4096),
		cmocka_unit_test(test_geometry),
		cmocka_unit_test(test_channel_lifetime),
		cmocka_unit_test(test_many_inflight),
		cmocka_unit_test(test_resize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
