// SPDX-License-Identifier: MIT
/*
 * test_falloc.c - fallocate of bfs on a RAM device: allocation with and
 * without KEEP_SIZE (inline files too), punch hole, zero range, the modes
 * refused, -ENOSPC that leaves the file as it was, and a clean check
 * after each and after a remount.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bfs_test_ext.h"
#include "vhostfs/log.h"

#define DEV (64ull << 20)
#define KEEP FALLOC_FL_KEEP_SIZE

static uint8_t pat[1 << 20], buf[1 << 20];

static void remount(struct bt *t)
{
	bt_check(t);
	assert_int_equal(bt_unmount(t), 0);
	assert_int_equal(bt_mount(t), 0);
	bt_check(t);
}

static bool zeros(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i])
			return false;
	}
	return true;
}

static struct stat attr(struct bt *t, struct fs_inode *in)
{
	struct stat st;

	assert_int_equal(bt_getattr(t, in, &st), 0);
	return st;
}

/* A new file with @len bytes of the pattern, open read-write. */
static struct fs_file *file(struct bt *t, const char *name, size_t len,
			    struct fs_entry *e)
{
	struct fs_file *f;

	assert_int_equal(bt_create(t, t->root, name, 0644, e, &f), 0);
	if (len)
		assert_int_equal(bt_write(t, f, 0, pat, len), (long)len);
	return f;
}

static void done(struct bt *t, struct fs_file *f, struct fs_entry *e)
{
	assert_int_equal(bt_release(t, f), 0);
	bt_forget(t, e->inode);
}

static void test_allocate(void **state)
{
	struct bt t;
	struct fs_entry e;
	struct fs_file *f;
	struct stat st;

	bt_setup(&t, DEV, 65536, false);
	/* an empty file: 1 MiB of zeros, allocated */
	f = file(&t, "a", 0, &e);
	assert_int_equal(bx_fallocate(&t, f, 0, 0, 1 << 20), 0);
	st = attr(&t, e.inode);
	assert_int_equal(st.st_size, 1 << 20);
	assert_int_equal(st.st_blocks, (1 << 20) / 512);
	assert_int_equal(bt_read(&t, f, 0, buf, 1 << 20), 1 << 20);
	assert_true(zeros(buf, 1 << 20));
	assert_int_equal(bx_lseek(&t, f, 0, SEEK_HOLE), 1 << 20);
	done(&t, f, &e);
	bt_check(&t);
	/* data kept, the rest zeros */
	f = file(&t, "b", 10000, &e);
	assert_int_equal(bx_fallocate(&t, f, 0, 4096, 65536), 0);
	assert_int_equal(attr(&t, e.inode).st_size, 4096 + 65536);
	assert_int_equal(bt_read(&t, f, 0, buf, 80000), 4096 + 65536);
	assert_memory_equal(buf, pat, 10000);
	assert_true(zeros(buf + 10000, 4096 + 65536 - 10000));
	/* KEEP_SIZE: blocks past the end, the size stays */
	st = attr(&t, e.inode);
	assert_int_equal(bx_fallocate(&t, f, KEEP, 0, 200000), 0);
	assert_int_equal(attr(&t, e.inode).st_size, st.st_size);
	assert_true(attr(&t, e.inode).st_blocks > st.st_blocks);
	bt_check(&t);
	assert_int_equal(bt_truncate(&t, e.inode, 200000), 0);
	assert_int_equal(bt_read(&t, f, 0, buf, 200000), 200000);
	assert_memory_equal(buf, pat, 10000);
	assert_true(zeros(buf + 10000, 190000));
	done(&t, f, &e);
	remount(&t);
	bt_teardown(&t);
}

static void test_inline(void **state)
{
	struct bt t;
	struct fs_entry e;
	struct fs_file *f;

	bt_setup(&t, DEV, 65536, false);
	f = file(&t, "s", 100, &e);
	assert_int_equal(bx_fallocate(&t, f, 0, 0, 1000), 0);
	assert_int_equal(attr(&t, e.inode).st_size, 1000);
	assert_int_equal(bt_read(&t, f, 0, buf, 4096), 1000);
	assert_memory_equal(buf, pat, 100);
	assert_true(zeros(buf + 100, 900));
	/* punch inside the inline bytes */
	assert_int_equal(bx_fallocate(&t, f, FALLOC_FL_PUNCH_HOLE | KEEP, 10,
				      20), 0);
	assert_int_equal(bt_read(&t, f, 0, buf, 4096), 1000);
	assert_memory_equal(buf, pat, 10);
	assert_true(zeros(buf + 10, 20));
	assert_memory_equal(buf + 30, pat + 30, 70);
	/* past the inline limit: converted to a block, kept */
	assert_int_equal(bx_fallocate(&t, f, 0, 0, 10000), 0);
	assert_int_equal(bt_read(&t, f, 0, buf, 20000), 10000);
	assert_memory_equal(buf, pat, 10);
	assert_true(zeros(buf + 10, 20));
	assert_memory_equal(buf + 30, pat + 30, 70);
	assert_true(zeros(buf + 100, 9900));
	assert_int_equal(attr(&t, e.inode).st_blocks, 3 * 8);
	done(&t, f, &e);
	remount(&t);
	assert_int_equal(bt_get(&t, t.root, "s", buf, 20000), 10000);
	assert_memory_equal(buf + 30, pat + 30, 70);
	bt_teardown(&t);
}

static void test_punch(void **state)
{
	struct bt t;
	struct fs_entry e;
	struct fs_file *f;
	struct stat st;

	bt_setup(&t, DEV, 65536, false);
	f = file(&t, "p", 40960, &e);
	st = attr(&t, e.inode);
	assert_int_equal(bx_fallocate(&t, f, FALLOC_FL_PUNCH_HOLE, 0, 10),
			 -EOPNOTSUPP);
	assert_int_equal(bx_fallocate(&t, f, FALLOC_FL_COLLAPSE_RANGE, 0, 4096),
			 -EOPNOTSUPP);
	assert_int_equal(bx_fallocate(&t, f, FALLOC_FL_PUNCH_HOLE | KEEP, 5000,
				      25000), 0);
	assert_int_equal(attr(&t, e.inode).st_size, 40960);
	/* blocks 2 .. 6 are free, 1 and 7 zeroed in part */
	assert_int_equal(attr(&t, e.inode).st_blocks, st.st_blocks - 5 * 8);
	assert_int_equal(bt_read(&t, f, 0, buf, 40960), 40960);
	assert_memory_equal(buf, pat, 5000);
	assert_true(zeros(buf + 5000, 25000));
	assert_memory_equal(buf + 30000, pat + 30000, 10960);
	assert_int_equal(bx_lseek(&t, f, 0, SEEK_HOLE), 8192);
	assert_int_equal(bx_lseek(&t, f, 8192, SEEK_DATA), 28672);
	bt_check(&t);
	/* inside one block; and a punch splitting one extent in three */
	assert_int_equal(bx_fallocate(&t, f, FALLOC_FL_PUNCH_HOLE | KEEP, 100,
				      50), 0);
	assert_int_equal(bt_read(&t, f, 0, buf, 200), 200);
	assert_true(zeros(buf + 100, 50));
	assert_memory_equal(buf + 150, pat + 150, 50);
	done(&t, f, &e);
	f = file(&t, "q", 1 << 20, &e);
	assert_int_equal(bx_fallocate(&t, f, FALLOC_FL_PUNCH_HOLE | KEEP,
				      65536, 65536), 0);
	assert_int_equal(bt_read(&t, f, 0, buf, 1 << 20), 1 << 20);
	assert_memory_equal(buf, pat, 65536);
	assert_true(zeros(buf + 65536, 65536));
	assert_memory_equal(buf + 131072, pat + 131072, (1 << 20) - 131072);
	/* past the end: nothing to free, the size stays */
	assert_int_equal(bx_fallocate(&t, f, FALLOC_FL_PUNCH_HOLE | KEEP,
				      2 << 20, 4096), 0);
	assert_int_equal(attr(&t, e.inode).st_size, 1 << 20);
	done(&t, f, &e);
	remount(&t);
	assert_int_equal(bt_get(&t, t.root, "q", buf, 1 << 20), 1 << 20);
	assert_true(zeros(buf + 65536, 65536));
	assert_memory_equal(buf + 131072, pat + 131072, (1 << 20) - 131072);
	bt_teardown(&t);
}

static void test_zero_range(void **state)
{
	struct bt t;
	struct fs_entry e;
	struct fs_file *f;
	struct stat st;

	bt_setup(&t, DEV, 65536, false);
	f = file(&t, "z", 40960, &e);
	st = attr(&t, e.inode);
	assert_int_equal(bx_fallocate(&t, f, FALLOC_FL_ZERO_RANGE, 5000, 25000),
			 0);
	assert_int_equal(attr(&t, e.inode).st_blocks, st.st_blocks);
	assert_int_equal(bt_read(&t, f, 0, buf, 40960), 40960);
	assert_memory_equal(buf, pat, 5000);
	assert_true(zeros(buf + 5000, 25000));
	assert_memory_equal(buf + 30000, pat + 30000, 10960);
	/* past the end: allocated, the size grows unless KEEP_SIZE */
	assert_int_equal(bx_fallocate(&t, f, FALLOC_FL_ZERO_RANGE | KEEP, 40000,
				      20000), 0);
	assert_int_equal(attr(&t, e.inode).st_size, 40960);
	assert_int_equal(bx_fallocate(&t, f, FALLOC_FL_ZERO_RANGE, 40000,
				      20000), 0);
	assert_int_equal(attr(&t, e.inode).st_size, 60000);
	assert_int_equal(bt_read(&t, f, 0, buf, 60000), 60000);
	assert_memory_equal(buf + 30000, pat + 30000, 10000);
	assert_true(zeros(buf + 40000, 20000));
	done(&t, f, &e);
	/* an inline file */
	f = file(&t, "zi", 300, &e);
	assert_int_equal(bx_fallocate(&t, f, FALLOC_FL_ZERO_RANGE, 100, 1000),
			 0);
	assert_int_equal(bt_read(&t, f, 0, buf, 4096), 1100);
	assert_memory_equal(buf, pat, 100);
	assert_true(zeros(buf + 100, 1000));
	done(&t, f, &e);
	remount(&t);
	bt_teardown(&t);
}

static void test_enospc(void **state)
{
	struct bt t;
	struct fs_entry e;
	struct fs_file *f, *ro;
	struct stat st;
	struct statvfs sv;

	bt_setup(&t, 16ull << 20, 65536, false);
	f = file(&t, "n", 5000, &e);
	st = attr(&t, e.inode);
	assert_int_equal(bt_statfs(&t, &sv), 0);
	assert_int_equal(bx_fallocate(&t, f, 0, 0,
				      (sv.f_bfree + 10) * 4096), -ENOSPC);
	assert_int_equal(attr(&t, e.inode).st_size, st.st_size);
	assert_int_equal(attr(&t, e.inode).st_blocks, st.st_blocks);
	assert_int_equal(bt_statfs(&t, &sv), 0);
	bt_check(&t);
	/* a range that fits is allocated */
	assert_int_equal(bx_fallocate(&t, f, 0, 0, 100 * 4096), 0);
	assert_int_equal(attr(&t, e.inode).st_blocks, 100 * 8);
	assert_int_equal(bt_open(&t, e.inode, O_RDONLY, &ro), 0);
	assert_int_equal(bx_fallocate(&t, ro, 0, 0, 4096), -EBADF);
	assert_int_equal(bt_release(&t, ro), 0);
	assert_int_equal(bx_fallocate(&t, f, 0, 0, 0), -EINVAL);
	done(&t, f, &e);
	remount(&t);
	bt_teardown(&t);
}

/* Punch and zero a clone: the blocks it shares are never written. */
static void test_shared(void **state)
{
	struct bt t;
	struct fs_entry ea, eb;
	struct fs_file *a, *b;
	const long n = 256 * 1024;
	uint64_t used;

	bt_setup(&t, DEV, 65536, false);
	a = file(&t, "a", (size_t)n, &ea);
	b = file(&t, "b", 0, &eb);
	bt_check(&t);
	used = t.used;
	assert_int_equal(bx_copy(&t, a, 0, b, 0, (uint64_t)n), n);
	bt_check(&t);
	assert_true(t.used < used + 16); /* a clone, not a copy */
	assert_int_equal(bx_fallocate(&t, b, FALLOC_FL_PUNCH_HOLE | KEEP, 5000,
				      25000), 0);
	assert_int_equal(bx_fallocate(&t, b, FALLOC_FL_ZERO_RANGE, 40000,
				      10000), 0);
	/* a punch across more shared blocks than one step drops */
	assert_int_equal(bx_fallocate(&t, b, FALLOC_FL_PUNCH_HOLE | KEEP,
				      65536, 150000), 0);
	bt_check(&t);
	assert_int_equal(bt_read(&t, a, 0, buf, (size_t)n), n);
	assert_memory_equal(buf, pat, (size_t)n);
	assert_int_equal(bt_read(&t, b, 0, buf, (size_t)n), n);
	assert_memory_equal(buf, pat, 5000);
	assert_true(zeros(buf + 5000, 25000));
	assert_memory_equal(buf + 30000, pat + 30000, 10000);
	assert_true(zeros(buf + 40000, 10000));
	assert_memory_equal(buf + 50000, pat + 50000, 65536 - 50000);
	assert_true(zeros(buf + 65536, 150000));
	assert_memory_equal(buf + 215536, pat + 215536, (size_t)n - 215536);
	/* the original lets go too: the blocks only it kept are freed */
	assert_int_equal(bx_fallocate(&t, a, FALLOC_FL_PUNCH_HOLE | KEEP, 0,
				      (uint64_t)n), 0);
	done(&t, a, &ea);
	done(&t, b, &eb);
	remount(&t);
	assert_int_equal(bt_get(&t, t.root, "b", buf, (size_t)n), n);
	assert_memory_equal(buf + 30000, pat + 30000, 10000);
	assert_memory_equal(buf + 215536, pat + 215536, (size_t)n - 215536);
	bt_teardown(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allocate),
		cmocka_unit_test(test_inline),
		cmocka_unit_test(test_punch),
		cmocka_unit_test(test_zero_range),
		cmocka_unit_test(test_enospc),
		cmocka_unit_test(test_shared),
	};

	for (size_t i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)(i * 31 + i / 4096 + 1);
	log_set_level(LOG_LEVEL_ERROR);
	bst_reactor();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
