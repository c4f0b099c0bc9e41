// SPDX-License-Identifier: MIT
/*
 * test_data.c - file data of bfs: inline small files, the move to blocks,
 * aligned and unaligned writes and reads against a model, sparse files,
 * truncate, unlink of an open file (and its orphan after a crash), space.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bfs_test.h"
#include "vhostfs/log.h"

#define DEV (64ull << 20)
#define MODEL (3u << 20)

static uint64_t rnd_state = 88172645463325252ull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 9));
}

static void expect_file(struct bt *t, struct fs_file *f, const uint8_t *model,
			size_t size)
{
	uint8_t *buf = bst_alloc(size + 8192);

	assert_int_equal(bt_read(t, f, 0, buf, size + 8192), (long)size);
	assert_memory_equal(buf, model, size);
	free(buf);
}

static void test_inline(void **state)
{
	struct bt t;
	struct fs_entry e;
	struct fs_file *f;
	struct stat st;
	uint8_t model[6000] = { 0 }, buf[6000];

	bt_setup(&t, DEV, 65536, false);
	assert_int_equal(bt_create(&t, t.root, "small", 0644, &e, &f), 0);
	assert_int_equal(bt_write(&t, f, 0, "a", 1), 1);
	assert_int_equal(bt_read(&t, f, 0, buf, 100), 1);
	assert_int_equal(buf[0], 'a');
	/* up to 2048 bytes stay inline */
	fill(model, 2048, 1);
	model[0] = 'a';
	assert_int_equal(bt_write(&t, f, 1, model + 1, 2047), 2047);
	expect_file(&t, f, model, 2048);
	assert_int_equal(bt_getattr(&t, e.inode, &st), 0);
	assert_int_equal(st.st_size, 2048);
	/* past it: the bytes move to block 0 */
	fill(model + 3000, 1000, 9);
	assert_int_equal(bt_write(&t, f, 3000, model + 3000, 1000), 1000);
	expect_file(&t, f, model, 4000);
	assert_int_equal(bt_getattr(&t, e.inode, &st), 0);
	assert_int_equal(st.st_blocks, 8);
	assert_int_equal(bt_release(&t, f), 0);
	bt_check(&t);
	assert_int_equal(bt_unmount(&t), 0);
	assert_int_equal(bt_mount(&t), 0);
	assert_int_equal(bt_get(&t, t.root, "small", buf, sizeof(buf)), 4000);
	assert_memory_equal(buf, model, 4000);
	bt_check(&t);
	bt_teardown(&t);
}

/* Random writes of random sizes and alignment against a model. */
static void test_random_rw(void **state)
{
	struct bt t;
	struct fs_entry e;
	struct fs_file *f;
	uint8_t *model = calloc(1, MODEL), *buf = bst_alloc(MODEL + 4096);
	size_t size = 0;

	bt_setup(&t, DEV, 65536, false);
	assert_int_equal(bt_create(&t, t.root, "big", 0644, &e, &f), 0);
	for (int i = 0; i < 300; i++) {
		size_t len = 1 + rnd() % (i % 3 ? 9000 : 300000);
		uint64_t off = rnd() % (MODEL - len);
		bool aligned = i % 4 == 0;
		uint8_t *src = bst_alloc(len + 4096);

		if (aligned) {
			off &= ~4095ull;
			len = (len + 4095) & ~4095ul;
			if (off + len > MODEL)
				len = MODEL - off;
		}
		fill(src + (aligned ? 0 : 1), len, (uint8_t)i);
		memcpy(model + off, src + (aligned ? 0 : 1), len);
		assert_int_equal(bt_write(&t, f, off, src + (aligned ? 0 : 1),
					  len), (long)len);
		size = off + len > size ? off + len : size;
		free(src);
		if (i % 50 == 49) {
			uint64_t r = rnd() % size, n = rnd() % 70000;

			n = r + n > size ? size - r : n;
			assert_int_equal(bt_read(&t, f, r, buf + 1, n), (long)n);
			assert_memory_equal(buf + 1, model + r, n);
		}
	}
	expect_file(&t, f, model, size);
	assert_int_equal(bt_fsync(&t, f), 0);
	assert_int_equal(bt_release(&t, f), 0);
	bt_check(&t);
	assert_int_equal(bt_unmount(&t), 0);
	assert_int_equal(bt_mount(&t), 0);
	assert_int_equal(bt_get(&t, t.root, "big", buf, MODEL + 4096),
			 (long)size);
	assert_memory_equal(buf, model, size);
	bt_check(&t);
	bt_teardown(&t);
	free(model);
	free(buf);
}

static void test_sparse_truncate(void **state)
{
	struct bt t;
	struct fs_entry e;
	struct fs_file *f;
	uint8_t *model = calloc(1, MODEL), *buf = bst_alloc(MODEL + 4096);
	struct stat st;

	bt_setup(&t, DEV, 65536, false);
	assert_int_equal(bt_create(&t, t.root, "s", 0644, &e, &f), 0);
	fill(model + 1000000, 5000, 3);
	assert_int_equal(bt_write(&t, f, 1000000, model + 1000000, 5000),
			 5000);
	expect_file(&t, f, model, 1005000);
	assert_int_equal(bt_getattr(&t, e.inode, &st), 0);
	assert_int_equal(st.st_blocks, 2 * 8); /* only what was written */
	/* shrink into the middle of a block, then grow: zeros after it */
	assert_int_equal(bt_truncate(&t, e.inode, 1002001), 0);
	memset(model + 1002001, 0, 10000);
	assert_int_equal(bt_truncate(&t, e.inode, 1010000), 0);
	expect_file(&t, f, model, 1010000);
	assert_int_equal(bt_truncate(&t, e.inode, 10), 0);
	assert_int_equal(bt_getattr(&t, e.inode, &st), 0);
	assert_int_equal(st.st_size, 10);
	assert_int_equal(st.st_blocks, 0);
	expect_file(&t, f, model, 10);
	assert_int_equal(bt_release(&t, f), 0);
	bt_check(&t);
	bt_teardown(&t);
	free(model);
	free(buf);
}

/* Unlinked while open: readable until released; then the space returns. */
static void test_unlink_open(void **state)
{
	struct bt t;
	struct fs_entry e;
	struct fs_file *f;
	uint8_t *data = bst_alloc(1 << 20), *buf = bst_alloc(1 << 20);
	struct statvfs before, during;
	struct stat st;
	uint64_t used;

	bt_setup(&t, DEV, 65536, false);
	bt_check(&t);
	used = t.used;
	assert_int_equal(bt_statfs(&t, &before), 0);
	assert_int_equal(bt_create(&t, t.root, "f", 0644, &e, &f), 0);
	fill(data, 1 << 20, 5);
	assert_int_equal(bt_write(&t, f, 0, data, 1 << 20), 1 << 20);
	assert_int_equal(bt_unlink(&t, t.root, "f"), 0);
	assert_int_equal(bt_getattr(&t, e.inode, &st), 0);
	assert_int_equal(st.st_nlink, 0);
	assert_int_equal(bt_read(&t, f, 0, buf, 1 << 20), 1 << 20);
	assert_memory_equal(buf, data, 1 << 20);
	assert_int_equal(bt_statfs(&t, &during), 0);
	assert_true(during.f_bfree + 256 <= before.f_bfree);
	bt_check(&t); /* an orphan, not an error */
	assert_int_equal(bt_release(&t, f), 0);
	bt_forget(&t, e.inode);
	bt_check(&t);
	/* freed blocks are reusable after the next checkpoint */
	assert_int_equal(bt_unmount(&t), 0);
	assert_int_equal(bt_mount(&t), 0);
	assert_int_equal(bt_check(&t), 1);
	assert_int_equal(t.used, used);
	bt_teardown(&t);
	free(data);
	free(buf);
}

/* An open unlinked file at a crash is freed by the next mount. */
static void test_orphan_crash(void **state)
{
	struct bdev_loss_policy all = { .mode = BDEV_LOSS_KEEP_ALL };
	struct bt t, t2;
	struct fs_entry e;
	struct fs_file *f;
	uint8_t *data = bst_alloc(1 << 20);
	uint64_t used;

	bt_setup(&t, DEV, 65536, true);
	bt_check(&t);
	used = t.used;
	assert_int_equal(bt_create(&t, t.root, "f", 0644, &e, &f), 0);
	fill(data, 1 << 20, 5);
	assert_int_equal(bt_write(&t, f, 0, data, 1 << 20), 1 << 20);
	assert_int_equal(bt_unlink(&t, t.root, "f"), 0);
	assert_int_equal(bt_fsync(&t, f), 0);
	/* power lost with the file open: copy the durable image */
	t2 = t;
	assert_int_equal(bdev_ram_crash_image(t.dev, &all, &t2.dev), 0);
	assert_int_equal(bt_release(&t, f), 0);
	bt_forget(&t, e.inode);
	bt_teardown(&t);
	assert_int_equal(bst_load(t2.dev, false, &t2.bs), 0);
	assert_int_equal(bt_mount(&t2), 0);
	assert_int_equal(bt_check(&t2), 1);
	assert_int_equal(bt_unmount(&t2), 0);
	assert_int_equal(bt_mount(&t2), 0);
	assert_int_equal(bt_check(&t2), 1);
	assert_int_equal(t2.used, used);
	bt_teardown(&t2);
	free(data);
}

/* 2000 one-byte files fit in a few hundred KiB of the volume. */
static void test_small_files_space(void **state)
{
	struct bt t;
	struct statvfs before, after;
	char name[32];

	bt_setup(&t, DEV, 65536, false);
	assert_int_equal(bt_statfs(&t, &before), 0);
	for (int i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		bt_forget(&t, bt_put(&t, t.root, name, "x", 1, false));
	}
	assert_int_equal(bt_statfs(&t, &after), 0);
	/* well under 4 KiB per file: about 200 bytes of tree each */
	assert_true((before.f_bfree - after.f_bfree) * 4096 < 2000 * 400);
	assert_int_equal(bt_check(&t), 2001);
	bt_teardown(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inline),
		cmocka_unit_test(test_random_rw),
		cmocka_unit_test(test_sparse_truncate),
		cmocka_unit_test(test_unlink_open),
		cmocka_unit_test(test_orphan_crash),
		cmocka_unit_test(test_small_files_space),
	};

	log_set_level(LOG_LEVEL_ERROR);
	bst_reactor();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
