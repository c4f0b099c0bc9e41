// SPDX-License-Identifier: MIT
/*
 * test_seek.c - lseek SEEK_DATA and SEEK_HOLE of bfs on a RAM device:
 * inline files, sparse files, a hole at the end, -ENXIO at and past the
 * end, whence values refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bfs_test_ext.h"
#include "vhostfs/log.h"

#define DEV (64ull << 20)
#define MB (1 << 20)

static uint8_t blk[8192];

static void test_inline(void **state)
{
	struct bt t;
	struct fs_entry e;
	struct fs_file *f;

	bt_setup(&t, DEV, 65536, false);
	assert_int_equal(bt_create(&t, t.root, "f", 0644, &e, &f), 0);
	assert_int_equal(bx_lseek(&t, f, 0, SEEK_DATA), -ENXIO);
	assert_int_equal(bx_lseek(&t, f, 0, SEEK_HOLE), -ENXIO);
	assert_int_equal(bt_write(&t, f, 0, blk, 100), 100);
	assert_int_equal(bx_lseek(&t, f, 0, SEEK_DATA), 0);
	assert_int_equal(bx_lseek(&t, f, 50, SEEK_DATA), 50);
	assert_int_equal(bx_lseek(&t, f, 50, SEEK_HOLE), 100);
	assert_int_equal(bx_lseek(&t, f, 100, SEEK_DATA), -ENXIO);
	assert_int_equal(bx_lseek(&t, f, 0, SEEK_SET), -EINVAL);
	assert_int_equal(bx_lseek(&t, f, 0, SEEK_END), -EINVAL);
	assert_int_equal(bt_release(&t, f), 0);
	bt_forget(&t, e.inode);
	bt_teardown(&t);
}

static void test_sparse(void **state)
{
	struct bt t;
	struct fs_entry e;
	struct fs_file *f;

	bt_setup(&t, DEV, 65536, false);
	assert_int_equal(bt_create(&t, t.root, "s", 0644, &e, &f), 0);
	assert_int_equal(bt_write(&t, f, 0, blk, 4096), 4096);
	assert_int_equal(bt_write(&t, f, MB, blk, 8192), 8192);
	assert_int_equal(bx_lseek(&t, f, 0, SEEK_DATA), 0);
	assert_int_equal(bx_lseek(&t, f, 10, SEEK_HOLE), 4096);
	assert_int_equal(bx_lseek(&t, f, 4096, SEEK_DATA), MB);
	assert_int_equal(bx_lseek(&t, f, 5000, SEEK_DATA), MB);
	assert_int_equal(bx_lseek(&t, f, 5000, SEEK_HOLE), 5000);
	assert_int_equal(bx_lseek(&t, f, MB + 1, SEEK_DATA), MB + 1);
	assert_int_equal(bx_lseek(&t, f, MB, SEEK_HOLE), MB + 8192);
	assert_int_equal(bx_lseek(&t, f, MB + 8192, SEEK_DATA), -ENXIO);
	assert_int_equal(bx_lseek(&t, f, MB + 8192, SEEK_HOLE), -ENXIO);
	/* a hole at the end: no data after the last extent */
	assert_int_equal(bt_truncate(&t, e.inode, 4 * MB), 0);
	assert_int_equal(bx_lseek(&t, f, MB + 8192, SEEK_DATA), -ENXIO);
	assert_int_equal(bx_lseek(&t, f, MB + 8192, SEEK_HOLE), MB + 8192);
	assert_int_equal(bx_lseek(&t, f, MB, SEEK_HOLE), MB + 8192);
	/* a partial block counts as data */
	assert_int_equal(bt_write(&t, f, 2 * MB + 100, blk, 10), 10);
	assert_int_equal(bx_lseek(&t, f, MB + 8192, SEEK_DATA), 2 * MB);
	assert_int_equal(bx_lseek(&t, f, 2 * MB, SEEK_HOLE), 2 * MB + 4096);
	assert_int_equal(bt_release(&t, f), 0);
	bt_forget(&t, e.inode);
	bt_teardown(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inline),
		cmocka_unit_test(test_sparse),
	};

	memset(blk, 0xa5, sizeof(blk));
	log_set_level(LOG_LEVEL_ERROR);
	bst_reactor();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
