// SPDX-License-Identifier: MIT
/* bdev_test.c - see bdev_test.h. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "bdev_test.h"

struct bt_wait {
	struct bdev_io io;
	int done;
	int err;
};

static void bt_wait_cb(void *arg, int err)
{
	struct bt_wait *w = arg;

	w->done++;
	w->err = err;
}

static uint64_t bt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct reactor *bt_reactor(void)
{
	struct reactor_config cfg = { .name = "bdev-test" };
	struct reactor *r;
	int rc = reactor_create(&r, &cfg);

	if (rc == -ENOSYS || rc == -EPERM) {
		fprintf(stderr, "io_uring unavailable (%d): skipped\n", rc);
		exit(77);
	}
	assert_int_equal(rc, 0);
	return r;
}

void bt_open(struct bt *t, struct reactor *r, struct bdev *b)
{
	t->r = r;
	t->b = b;
	assert_int_equal(bdev_channel_create(b, r, &t->ch), 0);
}

void bt_close(struct bt *t)
{
	assert_int_equal(bdev_channel_destroy(t->ch), 0);
	assert_int_equal(bdev_destroy(t->b), 0);
	t->ch = NULL;
	t->b = NULL;
}

void bt_run_until(struct reactor *r, const int *done)
{
	uint64_t end = bt_now_ms() + 5000;

	while (!*done) {
		assert_true(reactor_run_once(r, 100) >= 0);
		assert_true(bt_now_ms() < end);
	}
}

/* The callback must not have run inside the submitting call. */
static int bt_finish(struct bt *t, struct bt_wait *w)
{
	assert_int_equal(w->done, 0);
	bt_run_until(t->r, &w->done);
	assert_int_equal(w->done, 1);
	return w->err;
}

int bt_readv(struct bt *t, const struct iovec *iov, unsigned int cnt,
	     uint64_t off)
{
	struct bt_wait w = { .done = 0 };

	bdev_readv(t->ch, &w.io, iov, cnt, off, bt_wait_cb, &w);
	return bt_finish(t, &w);
}

int bt_writev(struct bt *t, const struct iovec *iov, unsigned int cnt,
	      uint64_t off, uint32_t flags)
{
	struct bt_wait w = { .done = 0 };

	bdev_writev(t->ch, &w.io, iov, cnt, off, flags, bt_wait_cb, &w);
	return bt_finish(t, &w);
}

int bt_read(struct bt *t, uint64_t off, void *buf, size_t len)
{
	struct iovec v = { .iov_base = buf, .iov_len = len };

	return bt_readv(t, &v, 1, off);
}

int bt_write(struct bt *t, uint64_t off, const void *buf, size_t len,
	     uint32_t flags)
{
	struct iovec v = { .iov_base = (void *)buf, .iov_len = len };

	return bt_writev(t, &v, 1, off, flags);
}

int bt_flush(struct bt *t)
{
	struct bt_wait w = { .done = 0 };

	bdev_flush(t->ch, &w.io, bt_wait_cb, &w);
	return bt_finish(t, &w);
}

int bt_write_zeroes(struct bt *t, uint64_t off, uint64_t len)
{
	struct bt_wait w = { .done = 0 };

	bdev_write_zeroes(t->ch, &w.io, off, len, bt_wait_cb, &w);
	return bt_finish(t, &w);
}

int bt_unmap(struct bt *t, uint64_t off, uint64_t len)
{
	struct bt_wait w = { .done = 0 };

	bdev_unmap(t->ch, &w.io, off, len, bt_wait_cb, &w);
	return bt_finish(t, &w);
}

void *bt_alloc(size_t len)
{
	void *p = NULL;

	assert_int_equal(posix_memalign(&p, 4096, len ? len : 1), 0);
	memset(p, 0, len);
	return p;
}

void bt_fill(void *buf, size_t len, uint32_t seed)
{
	unsigned char *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)((i * 131u + seed * 7919u + (i >> 9)) | 1u);
}

int bt_all(const void *buf, size_t len, unsigned char c)
{
	const unsigned char *p = buf;

	for (size_t i = 0; i < len; i++) {
		if (p[i] != c)
			return 0;
	}
	return 1;
}
