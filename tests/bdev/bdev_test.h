/* SPDX-License-Identifier: MIT */
/*
 * bdev_test.h - synchronous helpers for the block device tests: one reactor
 * on the test thread, one channel, each request driven to completion.
 */
#ifndef VHOSTFS_TESTS_BDEV_TEST_H
#define VHOSTFS_TESTS_BDEV_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vhostfs/bdev.h"

struct bt {
	struct reactor *r;
	struct bdev *b;
	struct bdev_channel *ch;
};

/* A reactor for this thread; exits 77 (skip) without io_uring. */
struct reactor *bt_reactor(void);
/* Open a channel on @b for @r. */
void bt_open(struct bt *t, struct reactor *r, struct bdev *b);
/* Close the channel and destroy the device. */
void bt_close(struct bt *t);

/* Run @r until *@done, failing the test after 5 s. */
void bt_run_until(struct reactor *r, const int *done);

/* Submit-and-wait; each checks that the callback did not run inline. */
int bt_readv(struct bt *t, const struct iovec *iov, unsigned int cnt,
	     uint64_t off);
int bt_writev(struct bt *t, const struct iovec *iov, unsigned int cnt,
	      uint64_t off, uint32_t flags);
int bt_read(struct bt *t, uint64_t off, void *buf, size_t len);
int bt_write(struct bt *t, uint64_t off, const void *buf, size_t len,
	     uint32_t flags);
int bt_flush(struct bt *t);
int bt_write_zeroes(struct bt *t, uint64_t off, uint64_t len);
int bt_unmap(struct bt *t, uint64_t off, uint64_t len);

/* A zeroed buffer aligned to 4096 (free() it). */
void *bt_alloc(size_t len);
/* Fill @len bytes with a pattern that depends on @seed and the position. */
void bt_fill(void *buf, size_t len, uint32_t seed);
/* Whether [buf, buf + len) is all @c. */
int bt_all(const void *buf, size_t len, unsigned char c);

#endif
