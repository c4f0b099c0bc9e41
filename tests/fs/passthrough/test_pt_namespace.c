// SPDX-License-Identifier: MIT
/*
 * test_pt_namespace.c - names: lookup, create, mkdir, mknod, symlink,
 * readlink, link, unlink, rmdir, rename (plain, NOREPLACE, EXCHANGE,
 * WHITEOUT), attributes, statfs, access, read-only shares.  Every test runs
 * with inodes held by file handles and by fds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "pt_test.h"

static void test_lookup_and_create(void **state)
{
	struct pt_env *e = *state;
	struct fs_entry ent, ent2;
	struct fs_open_out oo;
	struct stat st;
	char path[256];

	assert_int_equal(pt_t_lookup(e, e->root, "nope", &ent), -ENOENT);
	assert_int_equal(pt_t_create(e, e->root, "f", 0640, O_RDWR, &ent, &oo), 0);
	assert_non_null(oo.file);
	assert_true(S_ISREG(ent.attr.st_mode));
	assert_int_equal(ent.attr.st_mode & 07777, 0640);
	pt_host_path(e, "f", path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_ino, ent.attr.st_ino);
	/* the same inode comes back for the same file */
	assert_int_equal(pt_t_lookup(e, e->root, "f", &ent2), 0);
	assert_ptr_equal(ent2.inode, ent.inode);
	assert_int_equal(pt_t_getattr(e, ent.inode, &st), 0);
	assert_int_equal(st.st_ino, ent.attr.st_ino);
	/* O_EXCL: an existing name is an error; without it, it is opened */
	assert_int_equal(pt_t_create(e, e->root, "f", 0600, O_RDWR | O_CREAT | O_EXCL,
				     &ent2, &oo), -EEXIST);
	assert_int_equal(pt_t_release(e, oo.file), 0);
	assert_int_equal(pt_t_create(e, e->root, "f", 0600, O_RDWR | O_CREAT,
				     &ent2, &oo), 0);
	assert_ptr_equal(ent2.inode, ent.inode);
	assert_int_equal(pt_t_release(e, oo.file), 0);
	pt_t_forget(e, ent.inode, 3);
}

static void test_mkdir_mknod_symlink(void **state)
{
	struct pt_env *e = *state;
	struct fs_entry d, f, l, n;
	char buf[64];
	size_t len = 0;

	assert_int_equal(pt_t_mkdir(e, e->root, "d", 0750, &d), 0);
	assert_true(S_ISDIR(d.attr.st_mode));
	assert_int_equal(d.attr.st_mode & 07777, 0750);
	assert_int_equal(pt_t_mkdir(e, e->root, "d", 0750, &n), -EEXIST);
	assert_int_equal(pt_t_mknod(e, d.inode, "fifo", S_IFIFO | 0600, 0, &f), 0);
	assert_true(S_ISFIFO(f.attr.st_mode));
	assert_int_equal(pt_t_mknod(e, d.inode, "reg", 0644, 0, &n), 0);
	assert_true(S_ISREG(n.attr.st_mode));
	assert_int_equal(pt_t_mknod(e, d.inode, "bad", S_IFDIR | 0644, 0, &l), -EINVAL);
	assert_int_equal(pt_t_symlink(e, d.inode, "l", "../some/where", &l), 0);
	assert_true(S_ISLNK(l.attr.st_mode));
	assert_int_equal(pt_t_readlink(e, l.inode, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, strlen("../some/where"));
	assert_memory_equal(buf, "../some/where", len);
	assert_int_equal(pt_t_readlink(e, n.inode, buf, sizeof(buf), &len), -EINVAL);
	pt_t_forget(e, d.inode, 1);
	pt_t_forget(e, f.inode, 1);
	pt_t_forget(e, n.inode, 1);
	pt_t_forget(e, l.inode, 1);
}

static void test_link_unlink_rmdir(void **state)
{
	struct pt_env *e = *state;
	struct fs_entry d, f, l;
	struct fs_open_out oo;

	assert_int_equal(pt_t_mkdir(e, e->root, "d", 0755, &d), 0);
	assert_int_equal(pt_t_create(e, e->root, "f", 0644, O_WRONLY, &f, &oo), 0);
	assert_int_equal(pt_t_release(e, oo.file), 0);
	assert_int_equal(pt_t_link(e, f.inode, d.inode, "hard", &l), 0);
	assert_ptr_equal(l.inode, f.inode);
	assert_int_equal(l.attr.st_nlink, 2);
	assert_int_equal(pt_t_link(e, d.inode, e->root, "dirlink", &l), -EPERM);
	assert_int_equal(pt_t_rmdir(e, e->root, "d"), -ENOTEMPTY);
	assert_int_equal(pt_t_unlink(e, d.inode, "hard"), 0);
	assert_int_equal(pt_t_unlink(e, d.inode, "hard"), -ENOENT);
	assert_int_equal(pt_t_unlink(e, e->root, "d"), -EISDIR);
	assert_int_equal(pt_t_rmdir(e, e->root, "d"), 0);
	assert_int_equal(pt_t_unlink(e, e->root, "f"), 0);
	/* the inodes still answer after their names are gone */
	assert_int_equal(pt_t_getattr(e, f.inode, &l.attr), 0);
	assert_int_equal(l.attr.st_nlink, 0);
	pt_t_forget(e, f.inode, 2);
	pt_t_forget(e, d.inode, 1);
}

static void make_file(struct pt_env *e, const char *name, const char *data)
{
	char path[256];
	FILE *f;

	pt_host_path(e, name, path, sizeof(path));
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(data, f);
	fclose(f);
}

static void expect_content(struct pt_env *e, const char *name, const char *data)
{
	char path[256], buf[64] = { 0 };
	FILE *f;

	pt_host_path(e, name, path, sizeof(path));
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, data);
}

static void test_rename_variants(void **state)
{
	struct pt_env *e = *state;
	struct fs_entry d;
	char path[256];
	struct stat st;

	assert_int_equal(pt_t_mkdir(e, e->root, "d", 0755, &d), 0);
	make_file(e, "a", "A");
	make_file(e, "b", "B");
	assert_int_equal(pt_t_rename(e, e->root, "a", d.inode, "a2", 0), 0);
	expect_content(e, "d/a2", "A");
	assert_int_equal(pt_t_rename(e, d.inode, "a2", e->root, "b",
				     RENAME_NOREPLACE), -EEXIST);
	assert_int_equal(pt_t_rename(e, d.inode, "a2", e->root, "b",
				     RENAME_EXCHANGE), 0);
	expect_content(e, "b", "A");
	expect_content(e, "d/a2", "B");
	assert_int_equal(pt_t_rename(e, e->root, "b", e->root, "c",
				     RENAME_EXCHANGE), -ENOENT);
	assert_int_equal(pt_t_rename(e, e->root, "b", e->root, "c",
				     RENAME_WHITEOUT), 0);
	pt_host_path(e, "b", path, sizeof(path));
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISCHR(st.st_mode)); /* the whiteout, a 0/0 char device */
	assert_int_equal(st.st_rdev, makedev(0, 0));
	assert_int_equal(pt_t_rename(e, e->root, "c", e->root, "..", 0), -EINVAL);
	assert_int_equal(pt_t_rename(e, e->root, "c", e->root, "x", 0x80), -EINVAL);
	assert_int_equal(pt_t_rename(e, e->root, "c", e->root, "c2", 0), 0);
	pt_t_forget(e, d.inode, 1);
}

static void test_setattr(void **state)
{
	struct pt_env *e = *state;
	struct fs_setattr in = { 0 };
	struct fs_entry f;
	struct fs_open_out oo;
	struct stat st;

	assert_int_equal(pt_t_create(e, e->root, "f", 04755, O_RDONLY, &f, &oo), 0);
	in.valid = FS_SET_MODE;
	in.mode = 0600;
	assert_int_equal(pt_t_setattr(e, f.inode, NULL, &in, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* size through a read-only file: a fresh writable fd is used */
	in.valid = FS_SET_SIZE;
	in.size = 12345;
	assert_int_equal(pt_t_setattr(e, f.inode, oo.file, &in, &st), 0);
	assert_int_equal(st.st_size, 12345);
	in.valid = FS_SET_UID | FS_SET_GID;
	in.uid = 1234;
	in.gid = 4321;
	assert_int_equal(pt_t_setattr(e, f.inode, NULL, &in, &st), 0);
	assert_int_equal(st.st_uid, 1234);
	assert_int_equal(st.st_gid, 4321);
	in.valid = FS_SET_ATIME | FS_SET_MTIME;
	in.atime.tv_sec = 1000000;
	in.mtime.tv_sec = 2000000;
	in.mtime.tv_nsec = 5;
	assert_int_equal(pt_t_setattr(e, f.inode, NULL, &in, &st), 0);
	assert_int_equal(st.st_atim.tv_sec, 1000000);
	assert_int_equal(st.st_mtim.tv_sec, 2000000);
	assert_int_equal(st.st_mtim.tv_nsec, 5);
	/* KILL_SUIDGID drops S_ISUID, and S_ISGID with group exec */
	in.valid = FS_SET_MODE;
	in.mode = 06750;
	assert_int_equal(pt_t_setattr(e, f.inode, NULL, &in, &st), 0);
	assert_int_equal(st.st_mode & 07777, 06750);
	in.valid = FS_SET_KILL_SUIDGID | FS_SET_SIZE;
	in.size = 1;
	assert_int_equal(pt_t_setattr(e, f.inode, NULL, &in, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(pt_t_release(e, oo.file), 0);
	pt_t_forget(e, f.inode, 1);
}

static void test_statfs_access(void **state)
{
	struct pt_env *e = *state;
	struct statvfs sv;
	struct fs_entry f;
	struct fs_open_out oo;

	assert_int_equal(pt_t_statfs(e, e->root, &sv), 0);
	assert_true(sv.f_bsize > 0);
	assert_int_equal(pt_t_create(e, e->root, "f", 0640, O_RDONLY, &f, &oo), 0);
	assert_int_equal(pt_t_release(e, oo.file), 0);
	assert_int_equal(pt_t_access(e, f.inode, R_OK | W_OK), 0);
	assert_int_equal(pt_t_access(e, f.inode, X_OK), -EACCES);
	e->cred.uid = 1000;
	e->cred.gid = 1000;
	assert_int_equal(pt_t_access(e, f.inode, R_OK), -EACCES);
	e->cred.gid = 0; /* the owning group may read */
	assert_int_equal(pt_t_access(e, f.inode, R_OK), 0);
	assert_int_equal(pt_t_access(e, f.inode, W_OK), -EACCES);
	e->cred.uid = e->cred.gid = 0;
	assert_int_equal(pt_t_access(e, f.inode, 0x40), -EINVAL);
	pt_t_forget(e, f.inode, 1);
}

static void test_readonly(void **state)
{
	struct pt_env *e = pt_env_new(PASSTHROUGH_INODES_AUTO, 0, true);
	struct fs_entry ent;
	struct fs_open_out oo;
	struct fs_setattr in = { .valid = FS_SET_MODE, .mode = 0 };
	struct stat st;

	(void)state;
	make_file(e, "f", "x");
	assert_int_equal(pt_t_mkdir(e, e->root, "d", 0755, &ent), -EROFS);
	assert_int_equal(pt_t_create(e, e->root, "g", 0644, O_RDWR, &ent, &oo), -EROFS);
	assert_int_equal(pt_t_unlink(e, e->root, "f"), -EROFS);
	assert_int_equal(pt_t_rename(e, e->root, "f", e->root, "g", 0), -EROFS);
	assert_int_equal(pt_t_lookup(e, e->root, "f", &ent), 0);
	assert_int_equal(pt_t_setattr(e, ent.inode, NULL, &in, &st), -EROFS);
	assert_int_equal(pt_t_open(e, ent.inode, O_RDWR, &oo), -EROFS);
	assert_int_equal(pt_t_open(e, ent.inode, O_RDONLY, &oo), 0);
	assert_int_equal(pt_t_release(e, oo.file), 0);
	pt_t_forget(e, ent.inode, 1);
	pt_env_free(e);
}

#define BOTH(t) \
	cmocka_unit_test_setup_teardown(t, pt_setup_handles, pt_teardown), \
	cmocka_unit_test_setup_teardown(t, pt_setup_fds, pt_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_lookup_and_create),
		BOTH(test_mkdir_mknod_symlink),
		BOTH(test_link_unlink_rmdir),
		BOTH(test_rename_variants),
		BOTH(test_setattr),
		BOTH(test_statfs_access),
		cmocka_unit_test(test_readonly),
	};

	pt_test_require_root();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
