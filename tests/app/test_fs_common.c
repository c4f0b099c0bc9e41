// SPDX-License-Identifier: MIT
/*
 * test_fs_common.c - what the file-system tools share (src/app/
 * cmd_fs_common.c): the hard-link map (adds, finds, removals in probe
 * chains), names the image may give, the xattrs copied, and on a real
 * image in a sparse file: path resolution (symlinks relative, absolute,
 * through "..", loops), mkdir -p, whole-directory reads in order, and the
 * synchronous wrappers for data and xattrs.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "app/cmd_blob_common.h"
#include "app/cmd_fs_common.h"
#include "vhostfs/log.h"

#define IMG_BYTES (128ull << 20)

/* --- the hard-link map ------------------------------------------------------ */

static void *tag(uint64_t i)
{
	return (void *)(uintptr_t)(i + 1);
}

static void count_left(void *ctx, void *ptr)
{
	(void)ptr;
	(*(int *)ctx)++;
}

static void test_links(void **state)
{
	struct ft_links m = { 0 };
	struct ft_link *l;
	int left = 0;

	(void)state;
	assert_null(ft_links_find(&m, 1, 2));
	for (uint64_t i = 0; i < 5000; i++)
		assert_int_equal(ft_links_add(&m, i % 7, i, i, tag(i)), 0);
	assert_int_equal(m.n, 5000);
	/* remove every third: the rest must still be found */
	for (uint64_t i = 0; i < 5000; i += 3) {
		l = ft_links_find(&m, i % 7, i);
		assert_non_null(l);
		assert_ptr_equal(l->ptr, tag(i));
		ft_links_remove(&m, l);
	}
	for (uint64_t i = 0; i < 5000; i++) {
		l = ft_links_find(&m, i % 7, i);
		if (i % 3 == 0) {
			assert_null(l);
			continue;
		}
		assert_non_null(l);
		assert_int_equal(l->left, i);
		assert_ptr_equal(l->ptr, tag(i));
	}
	assert_null(ft_links_find(&m, 1, 0)); /* (0, 0) was added, not (1, 0) */
	assert_int_equal(ft_links_add(&m, 1, 1, 1, NULL), -EINVAL);
	ft_links_free(&m, count_left, &left);
	assert_int_equal(left, 5000 - 1667);
	assert_int_equal(m.cap, 0);
}

static void test_names(void **state)
{
	char longname[NAME_MAX + 2];
	char *p;

	(void)state;
	assert_int_equal(ft_name_check("a", 1), 0);
	assert_int_equal(ft_name_check("...", 3), 0);
	assert_int_equal(ft_name_check(".", 1), -EINVAL);
	assert_int_equal(ft_name_check("..", 2), -EINVAL);
	assert_int_equal(ft_name_check("a/b", 3), -EINVAL);
	assert_int_equal(ft_name_check("a\0b", 3), -EINVAL);
	assert_int_equal(ft_name_check("", 0), -EINVAL);
	memset(longname, 'x', sizeof(longname));
	assert_int_equal(ft_name_check(longname, NAME_MAX), 0);
	assert_int_equal(ft_name_check(longname, NAME_MAX + 1), -EINVAL);

	p = ft_path_join("", "a");
	assert_string_equal(p, "a");
	free(p);
	p = ft_path_join("/", "a");
	assert_string_equal(p, "/a");
	free(p);
	p = ft_path_join("x/y", "a");
	assert_string_equal(p, "x/y/a");
	free(p);

	assert_true(ft_xattr_copied("user.a"));
	assert_true(ft_xattr_copied("trusted.overlay.opaque"));
	assert_true(ft_xattr_copied("security.capability"));
	assert_true(ft_xattr_copied("system.posix_acl_access"));
	assert_true(ft_xattr_copied("system.posix_acl_default"));
	assert_false(ft_xattr_copied("system.nfs4_acl"));
	assert_false(ft_xattr_copied("user"));
	assert_true(ft_xattr_unsupported(-ENOSYS));
	assert_true(ft_xattr_unsupported(-EOPNOTSUPP));
	assert_false(ft_xattr_unsupported(-EPERM));
}

/* --- on an image ---------------------------------------------------------- */

struct img {
	char path[64];
	struct ft t;
};

static int img_make(struct img *im)
{
	struct blob_store_opts o = { .cluster_size = 64 << 10 };
	struct vimage_config cfg = { .mode = VIMAGE_STORE_RW, .who = "test" };
	struct bt_wait w = { 0 };
	struct vimage *v;
	struct bt t;
	int fd, rc;

	snprintf(im->path, sizeof(im->path), "/tmp/vhostfs-test-ft.XXXXXX");
	fd = mkstemp(im->path);
	if (fd < 0 || ftruncate(fd, (off_t)IMG_BYTES) < 0)
		return -errno;
	close(fd);
	if (bt_open(&t, "test", im->path, 4096, BDEV_URING_DIRECT_AUTO,
		    BT_LOCK_EXCLUSIVE) < 0)
		return -EIO;
	blob_store_init(t.dev, t.r, &o, &t.bs, bt_wait_cb, &w);
	rc = bt_wait(&t, &w);
	if (rc == 0)
		rc = bt_unload(&t);
	bt_close(&t);
	cfg.path = im->path;
	if (rc == 0)
		rc = vimage_open(&v, &cfg);
	if (rc == 0) {
		rc = vimage_create(v, VIMAGE_DEFAULT_EXPORT, NULL);
		if (vimage_close(v) < 0 && rc == 0)
			rc = -EIO;
	}
	return rc ? rc : ft_open(&im->t, "test", im->path, NULL,
				 VIMAGE_MOUNT_RW);
}

static int setup(void **state)
{
	struct img *im = calloc(1, sizeof(*im));

	log_set_level(LOG_LEVEL_ERROR);
	if (!im)
		return -1;
	*state = im;
	if (img_make(im) < 0) {
		unlink(im->path);
		free(im);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	struct img *im = *state;
	int rc = ft_close(&im->t);

	unlink(im->path);
	free(im);
	return rc;
}

/* @path resolves to an inode with @mode's type (forgotten again). */
static int resolve_type(struct ft *t, const char *path, bool follow,
			mode_t *type)
{
	struct fs_entry e;
	int rc = ft_resolve(t, path, follow, &e);

	if (rc == 0) {
		*type = e.attr.st_mode & S_IFMT;
		ft_forget(t, e.inode);
	}
	return rc;
}

static void test_paths(void **state)
{
	struct img *im = *state;
	struct ft *t = &im->t;
	struct fs_entry d, e;
	mode_t type;

	assert_int_equal(ft_mkpath(t, "/a/b/c", &d), 0);
	assert_true(S_ISDIR(d.attr.st_mode));
	assert_int_equal(ft_mknod(t, d.inode, "f", S_IFREG | 0644, 0, &e), 0);
	ft_forget(t, e.inode);
	ft_forget(t, d.inode);
	assert_int_equal(ft_mkpath(t, "a/b", &d), 0); /* exists: fine */
	assert_int_equal(ft_symlink(t, d.inode, "up", "../b/c/f", &e), 0);
	ft_forget(t, e.inode);
	assert_int_equal(ft_symlink(t, d.inode, "abs", "/a/b/c", &e), 0);
	ft_forget(t, e.inode);
	assert_int_equal(ft_symlink(t, d.inode, "loop", "loop", &e), 0);
	ft_forget(t, e.inode);
	ft_forget(t, d.inode);

	assert_int_equal(resolve_type(t, "/", false, &type), 0);
	assert_int_equal(type, S_IFDIR);
	assert_int_equal(resolve_type(t, "/a/b/c/f", false, &type), 0);
	assert_int_equal(type, S_IFREG);
	assert_int_equal(resolve_type(t, "a/b/up", false, &type), 0);
	assert_int_equal(type, S_IFLNK);
	assert_int_equal(resolve_type(t, "a/b/up", true, &type), 0);
	assert_int_equal(type, S_IFREG);
	assert_int_equal(resolve_type(t, "/a/b/abs/f", false, &type), 0);
	assert_int_equal(type, S_IFREG);
	assert_int_equal(resolve_type(t, "/../../a/./b/c/../c/f", false,
				      &type), 0);
	assert_int_equal(type, S_IFREG);
	assert_int_equal(resolve_type(t, "/a/b/loop", true, &type), -ELOOP);
	assert_int_equal(resolve_type(t, "/a/b/c/f/x", false, &type),
			 -ENOTDIR);
	assert_int_equal(resolve_type(t, "/a/missing", false, &type), -ENOENT);
	assert_int_equal(ft_mkpath(t, "/a/b/c/f/g", &d), -ENOTDIR);
	assert_int_equal(ft_mkpath(t, "/a/../b", &d), -EINVAL);
}

static void test_dir_read(void **state)
{
	static const char *const names[] = { "b", "a", "c", "aa", "B" };
	struct img *im = *state;
	struct ft *t = &im->t;
	struct fs_entry d, e;
	struct ft_dir dir;
	char name[16];

	assert_int_equal(ft_mkpath(t, "/many", &d), 0);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(ft_mkdir(t, d.inode, names[i], 0755, &e), 0);
		ft_forget(t, e.inode);
	}
	/* more than one readdir batch */
	for (int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "f%05d", i);
		assert_int_equal(ft_mknod(t, d.inode, name, S_IFIFO | 0600, 0,
					  &e), 0);
		ft_forget(t, e.inode);
	}
	assert_int_equal(ft_dir_read(t, d.inode, &dir), 0);
	assert_int_equal(dir.n, 3005);
	assert_string_equal(dir.e[0].name, "B");
	assert_string_equal(dir.e[1].name, "a");
	assert_string_equal(dir.e[2].name, "aa");
	assert_string_equal(dir.e[5].name, "f00000");
	assert_string_equal(dir.e[3004].name, "f02999");
	for (size_t i = 1; i < dir.n; i++)
		assert_true(strcmp(dir.e[i - 1].name, dir.e[i].name) < 0);
	ft_dir_free(&dir);
	ft_forget(t, d.inode);
}

static void test_data_xattrs(void **state)
{
	struct img *im = *state;
	struct ft *t = &im->t;
	char *buf = malloc(FT_CHUNK + 4096), *back = malloc(FT_CHUNK + 4096);
	struct fs_entry d, e;
	struct fs_file *f;
	size_t n;
	void *val;
	char *names;
	int rc;

	assert_non_null(buf);
	assert_non_null(back);
	for (size_t i = 0; i < FT_CHUNK + 4096; i++)
		buf[i] = (char)(i * 7);
	assert_int_equal(ft_mkpath(t, "/data", &d), 0);
	assert_int_equal(ft_create(t, d.inode, "x", 0644, &e, &f), 0);
	assert_int_equal(ft_write(t, f, 100, buf, FT_CHUNK + 4096), 0);
	assert_int_equal(ft_read(t, f, 100, back, FT_CHUNK + 4096, &n), 0);
	assert_int_equal(n, FT_CHUNK + 4096);
	assert_memory_equal(buf, back, n);
	assert_int_equal(ft_read(t, f, FT_CHUNK, back, 8192, &n), 0);
	assert_int_equal(n, 4196); /* short at the end */
	assert_int_equal(ft_release(t, f), 0);

	rc = ft_setxattr(t, e.inode, "user.k", "value", 5);
	if (rc == -ENOSYS || rc == -EOPNOTSUPP) {
		print_message("xattrs not supported by the fs: not tested\n");
	} else {
		assert_int_equal(rc, 0);
		assert_int_equal(ft_getxattr(t, e.inode, "user.k", &val, &n),
				 0);
		assert_int_equal(n, 5);
		assert_memory_equal(val, "value", 5);
		free(val);
		assert_int_equal(ft_listxattr(t, e.inode, &names, &n), 0);
		assert_int_equal(n, 7);
		assert_string_equal(names, "user.k");
		free(names);
	}
	ft_forget(t, e.inode);
	ft_forget(t, d.inode);
	free(buf);
	free(back);
}

int main(void)
{
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(test_links),
		cmocka_unit_test(test_names),
	};
	const struct CMUnitTest image[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_dir_read),
		cmocka_unit_test(test_data_xattrs),
	};
	int rc = cmocka_run_group_tests_name("fs_common", pure, NULL, NULL);

	return rc | cmocka_run_group_tests_name("fs_common_image", image,
						 setup, teardown);
}
