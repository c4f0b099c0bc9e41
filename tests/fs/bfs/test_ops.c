// SPDX-License-Identifier: MIT
/*
 * test_ops.c - namespace operations of bfs on a RAM device: mkfs, mount,
 * lookup, mkdir, mknod, symlink, link, unlink, rmdir, rename (plain,
 * across directories, replacing, NOREPLACE, EXCHANGE), attributes,
 * readdir, statfs, and that all of it survives a remount with a clean
 * check.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include <cmocka.h>

#include "bfs_test.h"
#include "vhostfs/log.h"

#define DEV (64ull << 20)

static void remount(struct bt *t)
{
	bt_check(t);
	assert_int_equal(bt_unmount(t), 0);
	assert_int_equal(bt_mount(t), 0);
	bt_check(t);
}

static void test_mkfs_mount(void **state)
{
	struct bt t;
	struct stat st;
	struct statvfs sv;

	bt_setup(&t, DEV, 65536, false);
	assert_int_equal(bt_getattr(&t, t.root, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(st.st_nlink, 2);
	assert_int_equal(st.st_ino, 1);
	assert_int_equal(bt_statfs(&t, &sv), 0);
	assert_int_equal(sv.f_bsize, 4096);
	assert_true(sv.f_bfree > 0 && sv.f_bfree < sv.f_blocks);
	assert_int_equal(bt_check(&t), 1);
	remount(&t);
	bt_teardown(&t);
}

static void test_names(void **state)
{
	struct bt t;
	struct fs_entry d, f, n, l, s, x;
	struct stat st;
	char buf[64];

	bt_setup(&t, DEV, 65536, false);
	assert_int_equal(bt_mkdir(&t, t.root, "d", 0750, &d), 0);
	assert_int_equal(bt_mkdir(&t, t.root, "d", 0750, &x), -EEXIST);
	assert_true(S_ISDIR(d.attr.st_mode));
	assert_int_equal(d.attr.st_nlink, 2);
	assert_int_equal(bt_mknod(&t, d.inode, "fifo", S_IFIFO | 0644, 0, &f),
			 0);
	assert_true(S_ISFIFO(f.attr.st_mode));
	assert_int_equal(bt_mknod(&t, d.inode, "dev", S_IFCHR | 0600,
				  makedev(1, 3), &n), 0);
	assert_int_equal(n.attr.st_rdev, makedev(1, 3));
	assert_int_equal(bt_symlink(&t, d.inode, "sl", "../some/target", &s),
			 0);
	assert_int_equal(bt_readlink(&t, s.inode, buf, sizeof(buf)), 14);
	assert_string_equal(buf, "../some/target");
	assert_int_equal(bt_link(&t, n.inode, t.root, "devlink", &l), 0);
	assert_int_equal(l.attr.st_nlink, 2);
	assert_int_equal(bt_link(&t, d.inode, t.root, "dl", &x), -EPERM);
	assert_int_equal(bt_lookup(&t, t.root, "d", &x), 0);
	assert_int_equal(x.attr.st_ino, d.attr.st_ino);
	assert_int_equal(bt_lookup(&t, t.root, "nope", &x), -ENOENT);
	assert_int_equal(bt_getattr(&t, t.root, &st), 0);
	assert_int_equal(st.st_nlink, 3);
	assert_int_equal(bt_rmdir(&t, t.root, "d"), -ENOTEMPTY);
	assert_int_equal(bt_unlink(&t, t.root, "d"), -EISDIR);
	assert_int_equal(bt_rmdir(&t, d.inode, "fifo"), -ENOTDIR);
	remount(&t);
	/* after the remount, by name */
	assert_int_equal(bt_lookup(&t, t.root, "devlink", &l), 0);
	assert_int_equal(l.attr.st_nlink, 2);
	assert_int_equal(bt_unlink(&t, t.root, "devlink"), 0);
	assert_int_equal(bt_lookup(&t, t.root, "d", &d), 0);
	assert_int_equal(bt_lookup(&t, d.inode, "dev", &n), 0);
	assert_int_equal(n.attr.st_nlink, 1);
	assert_int_equal(bt_unlink(&t, d.inode, "dev"), 0);
	assert_int_equal(bt_unlink(&t, d.inode, "fifo"), 0);
	assert_int_equal(bt_unlink(&t, d.inode, "sl"), 0);
	assert_int_equal(bt_rmdir(&t, t.root, "d"), 0);
	assert_int_equal(bt_lookup(&t, t.root, "d", &x), -ENOENT);
	assert_int_equal(bt_getattr(&t, t.root, &st), 0);
	assert_int_equal(st.st_nlink, 2);
	assert_int_equal(st.st_size, 0);
	remount(&t);
	assert_int_equal(bt_check(&t), 1);
	bt_teardown(&t);
}

static uint64_t ino_of(struct bt *t, struct fs_inode *p, const char *name)
{
	struct fs_entry e;

	if (bt_lookup(t, p, name, &e))
		return 0;
	bt_forget(t, e.inode);
	return e.attr.st_ino;
}

static void test_rename(void **state)
{
	struct bt t;
	struct fs_entry a, b, c, sub;
	struct stat st;
	uint64_t fa, fb;

	bt_setup(&t, DEV, 65536, false);
	assert_int_equal(bt_mkdir(&t, t.root, "a", 0755, &a), 0);
	assert_int_equal(bt_mkdir(&t, t.root, "b", 0755, &b), 0);
	bt_put(&t, a.inode, "f", "one", 3, false);
	bt_put(&t, b.inode, "g", "two", 3, false);
	fa = ino_of(&t, a.inode, "f");
	fb = ino_of(&t, b.inode, "g");
	/* same directory */
	assert_int_equal(bt_rename(&t, a.inode, "f", a.inode, "f2", 0), 0);
	assert_int_equal(ino_of(&t, a.inode, "f"), 0);
	assert_int_equal(ino_of(&t, a.inode, "f2"), fa);
	/* across directories, NOREPLACE on an existing name */
	assert_int_equal(bt_rename(&t, a.inode, "f2", b.inode, "g",
				   RENAME_NOREPLACE), -EEXIST);
	/* EXCHANGE */
	assert_int_equal(bt_rename(&t, a.inode, "f2", b.inode, "g",
				   RENAME_EXCHANGE), 0);
	assert_int_equal(ino_of(&t, a.inode, "f2"), fb);
	assert_int_equal(ino_of(&t, b.inode, "g"), fa);
	/* replace: the victim goes */
	assert_int_equal(bt_rename(&t, a.inode, "f2", b.inode, "g", 0), 0);
	assert_int_equal(ino_of(&t, b.inode, "g"), fb);
	assert_int_equal(ino_of(&t, a.inode, "f2"), 0);
	assert_int_equal(bt_getattr(&t, a.inode, &st), 0);
	assert_int_equal(st.st_size, 0);
	/* directories: move a under b; b under a refused */
	assert_int_equal(bt_mkdir(&t, a.inode, "sub", 0755, &sub), 0);
	assert_int_equal(bt_rename(&t, t.root, "a", a.inode, "x", 0), -EINVAL);
	assert_int_equal(bt_rename(&t, t.root, "a", sub.inode, "x", 0),
			 -EINVAL);
	assert_int_equal(bt_rename(&t, t.root, "a", b.inode, "a", 0), 0);
	assert_int_equal(bt_getattr(&t, t.root, &st), 0);
	assert_int_equal(st.st_nlink, 3);
	assert_int_equal(bt_getattr(&t, b.inode, &st), 0);
	assert_int_equal(st.st_nlink, 3);
	/* a directory over a file and the reverse */
	assert_int_equal(bt_rename(&t, b.inode, "a", b.inode, "g", 0),
			 -ENOTDIR);
	assert_int_equal(bt_rename(&t, b.inode, "g", b.inode, "a", 0),
			 -EISDIR);
	/* a directory over an empty directory, across parents */
	assert_int_equal(bt_mkdir(&t, t.root, "empty", 0755, &c), 0);
	assert_int_equal(bt_rename(&t, b.inode, "a", t.root, "empty", 0), 0);
	assert_int_equal(bt_getattr(&t, t.root, &st), 0);
	assert_int_equal(st.st_nlink, 4); /* b, empty(=a) */
	assert_int_equal(bt_rename(&t, t.root, "nothing", t.root, "x",
				   RENAME_EXCHANGE), -ENOENT);
	remount(&t);
	assert_int_equal(ino_of(&t, t.root, "empty") != 0, 1);
	bt_teardown(&t);
}

static void test_attr(void **state)
{
	struct bt t;
	struct fs_entry e;
	struct fs_setattr s = { 0 };
	struct stat st;

	bt_setup(&t, DEV, 65536, false);
	bt_put(&t, t.root, "f", "x", 1, false);
	assert_int_equal(bt_lookup(&t, t.root, "f", &e), 0);
	s.valid = FS_SET_MODE | FS_SET_UID | FS_SET_GID | FS_SET_MTIME |
		  FS_SET_ATIME;
	s.mode = 04711;
	s.uid = 1000;
	s.gid = 100;
	s.atime = (struct timespec){ 123, 456789 };
	s.mtime = (struct timespec){ 1700000000, 999999999 };
	assert_int_equal(bt_setattr(&t, e.inode, &s, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0711); /* chown dropped S_ISUID */
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_atim.tv_nsec, 456789);
	assert_int_equal(st.st_mtim.tv_sec, 1700000000);
	assert_int_equal(st.st_mtim.tv_nsec, 999999999);
	/* another user may not chmod */
	t.cred.uid = 2000;
	s.valid = FS_SET_MODE;
	assert_int_equal(bt_setattr(&t, e.inode, &s, &st), -EPERM);
	t.cred.uid = 1000;
	assert_int_equal(bt_setattr(&t, e.inode, &s, &st), 0);
	t.cred.uid = 0;
	remount(&t);
	assert_int_equal(bt_lookup(&t, t.root, "f", &e), 0);
	assert_int_equal(e.attr.st_mtim.tv_nsec, 999999999);
	assert_int_equal(e.attr.st_mode & 07777, 04711);
	bt_teardown(&t);
}

static void test_perm(void **state)
{
	struct bt t;
	struct fs_entry d, x;
	struct fs_setattr s = { .valid = FS_SET_MODE, .mode = 0755 };
	struct stat st;

	bt_setup(&t, DEV, 65536, false);
	assert_int_equal(bt_setattr(&t, t.root, &s, &st), 0);
	t.cred.uid = 1000;
	t.cred.gid = 1000;
	assert_int_equal(bt_mkdir(&t, t.root, "d", 0755, &d), -EACCES);
	t.cred.uid = 0;
	assert_int_equal(bt_mkdir(&t, t.root, "d", 0777, &d), 0);
	t.cred.uid = 1000;
	t.cred.umask = 022;
	assert_int_equal(bt_mkdir(&t, d.inode, "mine", 0777, &x), 0);
	assert_int_equal(x.attr.st_mode & 0777, 0755);
	assert_int_equal(x.attr.st_uid, 1000);
	bt_teardown(&t);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct bt_dirent *)a)->name,
		      ((const struct bt_dirent *)b)->name);
}

#define NFILES 2000

/* All names once, in pieces of 7, while entries come and go. */
static void test_readdir(void **state)
{
	static struct bt_dirent all[NFILES + 8];
	struct bt_dirent part[7];
	struct bt t;
	struct fs_entry d;
	uint64_t off = 0;
	size_t total = 0, n;
	char name[32];

	bt_setup(&t, DEV, 65536, false);
	assert_int_equal(bt_mkdir(&t, t.root, "d", 0755, &d), 0);
	for (int i = 0; i < NFILES; i++) {
		struct fs_entry e;

		snprintf(name, sizeof(name), "file-%05d", i);
		assert_int_equal(bt_mknod(&t, d.inode, name, S_IFREG | 0644, 0,
					  &e), 0);
		bt_forget(&t, e.inode);
	}
	do {
		assert_int_equal(bt_readdir(&t, d.inode, off, total % 2, part,
					    7, &n), 0);
		for (size_t i = 0; i < n; i++) {
			all[total++] = part[i];
			off = part[i].next;
		}
		/* changes meanwhile: names that exist throughout appear once */
		if (total == 700) {
			struct fs_entry e;

			assert_int_equal(bt_mknod(&t, d.inode, "new-during",
						  S_IFREG | 0644, 0, &e), 0);
			bt_forget(&t, e.inode);
			assert_int_equal(bt_unlink(&t, d.inode, "new-during"),
					 0);
		}
	} while (n);
	assert_int_equal(total, NFILES + 2);
	assert_string_equal(all[0].name, ".");
	assert_string_equal(all[1].name, "..");
	qsort(all + 2, NFILES, sizeof(all[0]), cmp_name);
	for (int i = 0; i < NFILES; i++) {
		snprintf(name, sizeof(name), "file-%05d", i);
		assert_string_equal(all[2 + i].name, name);
	}
	remount(&t);
	bt_teardown(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mkfs_mount),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_rename),
		cmocka_unit_test(test_attr),
		cmocka_unit_test(test_perm),
		cmocka_unit_test(test_readdir),
	};

	log_set_level(LOG_LEVEL_ERROR);
	bst_reactor();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
