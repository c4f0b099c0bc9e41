// SPDX-License-Identifier: MIT
/*
 * test_commit.c - when the commit timer runs.  Overwrites in place change
 * only times and size: they wait for the lazy interval (1 s), so a stream
 * of them over 300 ms commits at most once.  A namespace change commits
 * within commit_ms (50 ms), and cuts a lazy timer already armed short.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "bfs_test.h"
#include "fs/bfs/bfs_internal.h"
#include "vhostfs/log.h"

#define DEV (64ull << 20)
#define CHUNK (128u << 10)
#define FILE_BYTES (4u * CHUNK)

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t commits(struct bt *t)
{
	return ((struct bfs *)t->fs)->j.commits;
}

/* Run the reactor until a commit beyond @base or @max_ms; elapsed ms. */
static uint64_t wait_commit(struct bt *t, uint64_t base, uint64_t max_ms)
{
	uint64_t t0 = now_ms();

	while (commits(t) == base && now_ms() - t0 < max_ms)
		assert_true(reactor_run_once(bst_reactor(), 10) >= 0);
	return now_ms() - t0;
}

/* A file of FILE_BYTES written and synced: later writes are in place. */
static struct fs_file *setup_file(struct bt *t, uint8_t **buf)
{
	struct fs_entry e;
	struct fs_file *f;

	bt_setup(t, DEV, 65536, false);
	*buf = bst_alloc(CHUNK);
	memset(*buf, 0x5a, CHUNK);
	assert_int_equal(bt_create(t, t->root, "data", 0644, &e, &f), 0);
	for (uint32_t off = 0; off < FILE_BYTES; off += CHUNK)
		assert_int_equal(bt_write(t, f, off, *buf, CHUNK), (long)CHUNK);
	assert_int_equal(bt_fsync(t, f), 0);
	bt_forget(t, e.inode);
	return f;
}

/* Overwrite in place for @ms of reactor time. */
static void overwrite_for(struct bt *t, struct fs_file *f, uint8_t *buf,
			  uint64_t ms)
{
	uint64_t t0 = now_ms();

	for (uint32_t i = 0; now_ms() - t0 < ms; i++) {
		buf[0] = (uint8_t)i;
		assert_int_equal(bt_write(t, f, (i % 4) * CHUNK, buf, CHUNK),
				 (long)CHUNK);
		assert_true(reactor_run_once(bst_reactor(), 1) >= 0);
	}
}

static void finish(struct bt *t, struct fs_file *f, uint8_t *buf)
{
	assert_int_equal(bt_release(t, f), 0);
	free(buf);
	bt_check(t);
	bt_teardown(t);
}

static void test_overwrites_lazy(void **state)
{
	struct bt t;
	uint8_t *buf;
	struct fs_file *f = setup_file(&t, &buf);
	uint64_t c0 = commits(&t);

	overwrite_for(&t, f, buf, 300);
	assert_true(commits(&t) - c0 <= 1);
	/* the times are committed, lazily: about 1 s after the first */
	c0 = commits(&t);
	assert_true(wait_commit(&t, c0, 3000) < 3000);
	assert_int_equal(commits(&t), c0 + 1);
	finish(&t, f, buf);
	(void)state;
}

static void test_namespace_prompt(void **state)
{
	struct bt t;
	struct fs_entry e;
	uint8_t *buf;
	struct fs_file *f = setup_file(&t, &buf);
	uint64_t c0 = commits(&t);

	/* create and unlink, each committed within ~commit_ms (50 ms) */
	bt_forget(&t, bt_put(&t, t.root, "a", "x", 1, false));
	assert_true(wait_commit(&t, c0, 3000) < 600);
	c0 = commits(&t);
	assert_int_equal(bt_unlink(&t, t.root, "a"), 0);
	assert_true(wait_commit(&t, c0, 3000) < 600);
	/* a lazy timer armed by overwrites is cut short by a mkdir */
	c0 = commits(&t);
	overwrite_for(&t, f, buf, 20);
	assert_int_equal(commits(&t), c0);
	assert_int_equal(bt_mkdir(&t, t.root, "d", 0755, &e), 0);
	bt_forget(&t, e.inode);
	assert_true(wait_commit(&t, c0, 3000) < 600);
	finish(&t, f, buf);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_overwrites_lazy),
		cmocka_unit_test(test_namespace_prompt),
	};

	log_set_level(LOG_LEVEL_ERROR);
	bst_reactor();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
