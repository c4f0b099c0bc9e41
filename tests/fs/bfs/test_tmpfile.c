// SPDX-License-Identifier: MIT
/*
 * test_tmpfile.c - O_TMPFILE of bfs on a RAM device: an orphan from
 * birth, readable and writable, freed when released unnamed (and at the
 * next mount after a crash or an unmount while referenced), named by
 * link() later; link() of another unlinked inode stays -ENOENT.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bfs_test_ext.h"
#include "vhostfs/log.h"

#define DEV (64ull << 20)

static uint8_t data[20000], buf[20000];

static void remount(struct bt *t)
{
	bt_check(t);
	assert_int_equal(bt_unmount(t), 0);
	assert_int_equal(bt_mount(t), 0);
	bt_check(t);
}

static size_t entries(struct bt *t)
{
	struct bt_dirent ents[16];
	size_t n;

	assert_int_equal(bt_readdir(t, t->root, 2, false, ents, 16, &n), 0);
	return n;
}

static void test_link_later(void **state)
{
	struct bt t;
	struct fs_entry e, l;
	struct fs_file *f;
	struct stat st, rt;

	bt_setup(&t, DEV, 65536, false);
	t.cred.umask = 022;
	assert_int_equal(bt_getattr(&t, t.root, &rt), 0);
	assert_int_equal(bx_tmpfile(&t, t.root, 0666, &e, &f), 0);
	assert_int_equal(e.attr.st_nlink, 0);
	assert_true(S_ISREG(e.attr.st_mode));
	assert_int_equal(e.attr.st_mode & 0777, 0644);
	assert_int_equal(entries(&t), 0);
	assert_int_equal(bt_getattr(&t, t.root, &st), 0);
	assert_int_equal(st.st_size, rt.st_size);
	assert_int_equal(bt_write(&t, f, 0, data, sizeof(data)),
			 (long)sizeof(data));
	assert_int_equal(bt_read(&t, f, 0, buf, sizeof(buf)),
			 (long)sizeof(buf));
	assert_memory_equal(buf, data, sizeof(data));
	assert_int_equal(bt_check(&t), 2); /* an orphan: counted, no name */
	assert_int_equal(bt_link(&t, e.inode, t.root, "named", &l), 0);
	assert_int_equal(l.attr.st_nlink, 1);
	bt_forget(&t, l.inode);
	assert_int_equal(bt_release(&t, f), 0);
	bt_forget(&t, e.inode);
	remount(&t);
	assert_int_equal(bt_get(&t, t.root, "named", buf, sizeof(buf)),
			 (long)sizeof(data));
	assert_memory_equal(buf, data, sizeof(data));
	assert_int_equal(bt_check(&t), 2);
	bt_teardown(&t);
}

static void test_unnamed(void **state)
{
	struct bt t;
	struct fs_entry e, l, d;
	struct fs_file *f;

	bt_setup(&t, DEV, 65536, false);
	/* released unnamed: gone */
	assert_int_equal(bx_tmpfile(&t, t.root, 0600, &e, &f), 0);
	assert_int_equal(bt_write(&t, f, 0, data, sizeof(data)),
			 (long)sizeof(data));
	assert_int_equal(bt_release(&t, f), 0);
	bt_forget(&t, e.inode);
	assert_int_equal(bt_check(&t), 1);
	/* still referenced at unmount: freed by the next mount */
	assert_int_equal(bx_tmpfile(&t, t.root, 0600, &e, &f), 0);
	assert_int_equal(bt_write(&t, f, 0, data, sizeof(data)),
			 (long)sizeof(data));
	assert_int_equal(bt_release(&t, f), 0);
	assert_int_equal(bt_unmount(&t), 0);
	assert_int_equal(bt_mount(&t), 0);
	assert_int_equal(bt_check(&t), 1);
	/* an ordinary unlinked file may not be named again */
	assert_int_equal(bt_create(&t, t.root, "x", 0644, &e, &f), 0);
	assert_int_equal(bt_unlink(&t, t.root, "x"), 0);
	assert_int_equal(bt_link(&t, e.inode, t.root, "y", &l), -ENOENT);
	assert_int_equal(bt_release(&t, f), 0);
	bt_forget(&t, e.inode);
	/* the directory must be writable */
	assert_int_equal(bt_mkdir(&t, t.root, "d", 0755, &d), 0);
	t.cred.uid = 1000;
	assert_int_equal(bx_tmpfile(&t, d.inode, 0600, &e, &f), -EACCES);
	t.cred.uid = 0;
	bt_forget(&t, d.inode);
	remount(&t);
	bt_teardown(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_link_later),
		cmocka_unit_test(test_unnamed),
	};

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 17 + 3);
	log_set_level(LOG_LEVEL_ERROR);
	bst_reactor();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
