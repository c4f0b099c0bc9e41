// SPDX-License-Identifier: MIT
/*
 * test_copy.c - copy_file_range of bfs: aligned whole blocks are shared
 * (reflink) with refcounts, writes to either side copy the block first,
 * frees drop references, the check verifies the counts; unaligned ranges
 * and destinations with data are copied byte by byte; overlapping ranges
 * of one file are refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include <cmocka.h>

#include "bfs_test.h"
#include "fs/bfs/bfs_internal.h"
#include "vhostfs/log.h"

#define MIB (1u << 20)

struct wait {
	int done;
	int err;
};

static void wait_cb(void *arg, int err)
{
	struct wait *w = arg;

	w->done++;
	w->err = err;
}

/* copy_file_range: bytes copied, or -errno. */
static long copy(struct bt *t, struct fs_file *in, uint64_t off_in,
		 struct fs_file *out, uint64_t off_out, uint64_t len)
{
	struct wait w = { 0 };
	struct fs_call c = { .cred = t->cred, .reactor = bst_reactor(),
			     .cb = wait_cb, .cb_arg = &w };
	size_t n = 0;

	t->fs->ops->copy_file_range(t->fs, &c, in, off_in, out, off_out, len,
				    0, &n);
	while (!w.done)
		assert_true(reactor_run_once(bst_reactor(), 10) >= 0);
	return w.err ? w.err : (long)n;
}

static void pattern(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 12));
}

static void expect_file(struct bt *t, struct fs_file *f, const uint8_t *model,
			size_t size)
{
	uint8_t *buf = bst_alloc(size + 8192);

	assert_int_equal(bt_read(t, f, 0, buf, size + 8192), (long)size);
	assert_memory_equal(buf, model, size);
	free(buf);
}

static struct fs_file *make(struct bt *t, const char *name, const uint8_t *buf,
			    size_t len, struct fs_entry *e)
{
	struct fs_file *f;

	assert_int_equal(bt_create(t, t->root, name, 0644, e, &f), 0);
	if (len)
		assert_int_equal(bt_write(t, f, 0, buf, len), (long)len);
	return f;
}

static uint64_t used_blocks(struct bt *t)
{
	return ((struct bfs *)t->fs)->st.used_blocks;
}

/* Clone 1 MiB, change each side, delete one: contents and space. */
static void test_reflink(void **state)
{
	uint8_t *a = bst_alloc(MIB), *b = bst_alloc(MIB);
	struct fs_entry ea, eb;
	struct fs_file *fa, *fb;
	uint64_t used0, used1;
	struct stat st;
	struct bt t;

	bt_setup(&t, 64ull << 20, 65536, false);
	pattern(a, MIB, 1);
	fa = make(&t, "a", a, MIB, &ea);
	fb = make(&t, "b", NULL, 0, &eb);
	used0 = used_blocks(&t);
	assert_int_equal(copy(&t, fa, 0, fb, 0, MIB), MIB);
	used1 = used_blocks(&t);
	/* shared: a few tree blocks for the refcounts, no data blocks */
	assert_true(used1 - used0 < 16);
	memcpy(b, a, MIB);
	expect_file(&t, fb, b, MIB);
	assert_int_equal(bt_getattr(&t, eb.inode, &st), 0);
	assert_int_equal(st.st_size, MIB);
	bt_check(&t);
	/* change each side: a partial block, a whole block, the edges */
	memset(b + 10 * 4096 + 100, 0xb1, 300);
	assert_int_equal(bt_write(&t, fb, 10 * 4096 + 100, b + 10 * 4096 + 100,
				  300), 300);
	memset(b + 20 * 4096, 0xb2, 4096);
	assert_int_equal(bt_write(&t, fb, 20 * 4096, b + 20 * 4096, 4096), 4096);
	memset(b, 0xb3, 5000);
	assert_int_equal(bt_write(&t, fb, 0, b, 5000), 5000);
	memset(a + 30 * 4096, 0xa1, 3 * 4096);
	assert_int_equal(bt_write(&t, fa, 30 * 4096, a + 30 * 4096, 3 * 4096),
			 3 * 4096);
	memset(a + MIB - 10, 0xa2, 10);
	assert_int_equal(bt_write(&t, fa, MIB - 10, a + MIB - 10, 10), 10);
	expect_file(&t, fa, a, MIB);
	expect_file(&t, fb, b, MIB);
	bt_check(&t);
	/* 2 + 1 + 1 blocks of b and 3 + 1 of a were copied */
	assert_true(used_blocks(&t) - used1 >= 8);
	/* delete a: only its own copies go; b keeps the shared blocks */
	assert_int_equal(bt_release(&t, fa), 0);
	bt_forget(&t, ea.inode);
	used1 = used_blocks(&t);
	assert_int_equal(bt_unlink(&t, t.root, "a"), 0);
	assert_true(used1 - used_blocks(&t) >= 4 &&
		    used1 - used_blocks(&t) < 16);
	expect_file(&t, fb, b, MIB);
	bt_check(&t);
	/* rewrite every block of b: no reference left, nothing shared */
	assert_int_equal(bt_write(&t, fb, 0, b, MIB), MIB);
	expect_file(&t, fb, b, MIB);
	bt_check(&t);
	assert_int_equal(bt_release(&t, fb), 0);
	bt_forget(&t, eb.inode);
	assert_int_equal(bt_unmount(&t), 0);
	assert_int_equal(bt_mount(&t), 0);
	assert_int_equal(bt_get(&t, t.root, "b", a, MIB), MIB);
	assert_memory_equal(a, b, MIB);
	bt_check(&t);
	bt_teardown(&t);
	free(a);
	free(b);
}

/* Three files share blocks; truncates and deletes count down. */
static void test_refcount_chain(void **state)
{
	uint8_t *a = bst_alloc(MIB);
	struct fs_entry e[3];
	struct fs_file *f[3];
	uint64_t used0;
	struct bt t;

	bt_setup(&t, 64ull << 20, 65536, false);
	pattern(a, MIB, 2);
	f[0] = make(&t, "x0", a, MIB, &e[0]);
	used0 = used_blocks(&t);
	f[1] = make(&t, "x1", NULL, 0, &e[1]);
	f[2] = make(&t, "x2", NULL, 0, &e[2]);
	assert_int_equal(copy(&t, f[0], 0, f[1], 0, MIB), MIB);
	assert_int_equal(copy(&t, f[1], 0, f[2], 0, MIB), MIB);
	bt_check(&t);
	assert_int_equal(bt_truncate(&t, e[0].inode, MIB / 2), 0);
	assert_int_equal(bt_truncate(&t, e[1].inode, 4096), 0);
	bt_check(&t);
	expect_file(&t, f[2], a, MIB);
	expect_file(&t, f[1], a, 4096);
	for (int i = 0; i < 3; i++) {
		char name[8];

		snprintf(name, sizeof(name), "x%d", i);
		assert_int_equal(bt_release(&t, f[i]), 0);
		bt_forget(&t, e[i].inode);
		if (i < 2)
			assert_int_equal(bt_unlink(&t, t.root, name), 0);
		bt_check(&t);
	}
	{
		uint8_t *r = bst_alloc(MIB);

		assert_int_equal(bt_get(&t, t.root, "x2", r, MIB), MIB);
		assert_memory_equal(r, a, MIB);
		free(r);
	}
	assert_int_equal(bt_unlink(&t, t.root, "x2"), 0);
	bt_check(&t);
	/* everything shared is gone: back to before the first file */
	assert_true(used_blocks(&t) + MIB / 4096 <= used0 + 4);
	bt_teardown(&t);
	free(a);
}

/* Unaligned ranges, destinations with data, EOF, one file. */
static void test_byte_copy(void **state)
{
	uint8_t *a = bst_alloc(MIB), *m = bst_alloc(2 * MIB);
	struct fs_entry ea, eb, ec;
	struct fs_file *fa, *fb, *fc;
	struct bt t;

	bt_setup(&t, 64ull << 20, 65536, false);
	pattern(a, MIB, 3);
	fa = make(&t, "a", a, MIB - 100, &ea);
	/* unaligned: bytes */
	fb = make(&t, "b", NULL, 0, &eb);
	memset(m, 0, 2 * MIB);
	assert_int_equal(copy(&t, fa, 100, fb, 5000, 70000), 70000);
	memcpy(m + 5000, a + 100, 70000);
	expect_file(&t, fb, m, 75000);
	/* past EOF: clamped; aligned with a partial tail */
	assert_int_equal(copy(&t, fa, MIB / 2, fb, MIB, MIB), MIB / 2 - 100);
	memcpy(m + MIB, a + MIB / 2, MIB / 2 - 100);
	expect_file(&t, fb, m, MIB + MIB / 2 - 100);
	assert_int_equal(copy(&t, fa, MIB, fb, 0, 10), 0);
	/* a destination with data: bytes, not shared */
	fc = make(&t, "c", a, 64 * 1024, &ec);
	assert_int_equal(copy(&t, fa, 0, fc, 0, 128 * 1024), 128 * 1024);
	expect_file(&t, fc, a, 128 * 1024);
	/* one file: overlapping refused, apart works (and shares) */
	assert_int_equal(copy(&t, fa, 0, fa, 4096, 8192), -EINVAL);
	assert_int_equal(copy(&t, fa, 0, fa, MIB, 8192), 8192);
	memcpy(m, a, MIB - 100);
	memset(m + MIB - 100, 0, 100);
	memcpy(m + MIB, a, 8192);
	expect_file(&t, fa, m, MIB + 8192);
	/* small inline files copy as bytes */
	{
		struct fs_entry ei, ej;
		struct fs_file *fi = make(&t, "i", (const uint8_t *)"hello", 5,
					  &ei);
		struct fs_file *fj = make(&t, "j", NULL, 0, &ej);

		assert_int_equal(copy(&t, fi, 0, fj, 0, 4096), 5);
		expect_file(&t, fj, (const uint8_t *)"hello", 5);
		assert_int_equal(bt_release(&t, fi), 0);
		assert_int_equal(bt_release(&t, fj), 0);
		bt_forget(&t, ei.inode);
		bt_forget(&t, ej.inode);
	}
	bt_check(&t);
	assert_int_equal(bt_release(&t, fa), 0);
	assert_int_equal(bt_release(&t, fb), 0);
	assert_int_equal(bt_release(&t, fc), 0);
	bt_forget(&t, ea.inode);
	bt_forget(&t, eb.inode);
	bt_forget(&t, ec.inode);
	bt_teardown(&t);
	free(a);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reflink),
		cmocka_unit_test(test_refcount_chain),
		cmocka_unit_test(test_byte_copy),
	};

	log_set_level(LOG_LEVEL_ERROR);
	bst_reactor();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
