// SPDX-License-Identifier: MIT
/*
 * test_image.c - images (src/app/image.c, image_catalog.c) on a sparse
 * file: names, opening and its errors, the lock, the catalog (create,
 * snapshot, clone, delete), mounting, vimage_call from threads without a
 * reactor, and data that persists across close and open.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "app/cmd_blob_common.h"
#include "app/image_internal.h"
#include "vhostfs/log.h"

#define IMG_BYTES (128ull << 20)

static char img_path[64];

/* A fresh store (64 KiB clusters) in a sparse file; no file system yet. */
static int img_format(void)
{
	struct blob_store_opts o = { .cluster_size = 64 << 10 };
	struct bt_wait w = { 0 };
	struct bt t;
	int fd;

	snprintf(img_path, sizeof(img_path), "/tmp/vhostfs-test-image.XXXXXX");
	fd = mkstemp(img_path);
	if (fd < 0 || ftruncate(fd, (off_t)IMG_BYTES) < 0)
		return -errno;
	close(fd);
	if (bt_open(&t, "test", img_path, 4096, BDEV_URING_DIRECT_AUTO,
		    BT_LOCK_EXCLUSIVE) < 0)
		return -EIO;
	blob_store_init(t.dev, t.r, &o, &t.bs, bt_wait_cb, &w);
	if (bt_wait(&t, &w) < 0)
		return w.err;
	w.err = bt_unload(&t);
	bt_close(&t);
	return w.err;
}

static int setup(void **state)
{
	(void)state;
	log_set_level(LOG_LEVEL_ERROR);
	return img_format();
}

static int teardown(void **state)
{
	(void)state;
	unlink(img_path);
	return 0;
}

static int img_open(struct vimage **im, const char *name,
		    enum vimage_mode mode)
{
	struct vimage_config c = { .path = img_path, .export_name = name,
				   .mode = mode, .who = "test_image" };

	return vimage_open(im, &c);
}

static struct vimage *img_open_ok(const char *name, enum vimage_mode mode)
{
	struct vimage *im = NULL;

	assert_int_equal(img_open(&im, name, mode), 0);
	assert_non_null(im);
	return im;
}

/* --- synchronous fs calls ------------------------------------------------- */

struct op_args {
	struct fs_inode *parent;
	const char *name;
	struct fs_entry entry;
	struct fs_open_out open;
	struct fs_file *file;
	struct iovec iov;
	size_t done;
	uint64_t off;
	struct statvfs st;
};

static void start_create(struct fs *fs, struct fs_call *c, void *arg)
{
	struct op_args *a = arg;

	fs->ops->create(fs, c, a->parent, a->name, S_IFREG | 0644, O_RDWR,
			&a->entry, &a->open);
}

static void start_mkdir(struct fs *fs, struct fs_call *c, void *arg)
{
	struct op_args *a = arg;

	fs->ops->mkdir(fs, c, a->parent, a->name, 0755, &a->entry);
}

static void start_lookup(struct fs *fs, struct fs_call *c, void *arg)
{
	struct op_args *a = arg;

	fs->ops->lookup(fs, c, a->parent, a->name, &a->entry);
}

static void start_open(struct fs *fs, struct fs_call *c, void *arg)
{
	struct op_args *a = arg;

	fs->ops->open(fs, c, a->entry.inode, O_RDONLY, &a->open);
}

static void start_write(struct fs *fs, struct fs_call *c, void *arg)
{
	struct op_args *a = arg;

	fs->ops->write(fs, c, a->open.file, a->off, &a->iov, 1, 0, &a->done);
}

static void start_read(struct fs *fs, struct fs_call *c, void *arg)
{
	struct op_args *a = arg;

	fs->ops->read(fs, c, a->open.file, a->off, &a->iov, 1, &a->done);
}

static void start_release(struct fs *fs, struct fs_call *c, void *arg)
{
	struct op_args *a = arg;

	fs->ops->release(fs, c, a->open.file, false, 0);
}

static void start_statfs(struct fs *fs, struct fs_call *c, void *arg)
{
	struct op_args *a = arg;

	fs->ops->statfs(fs, c, a->parent, &a->st);
}

/* Create @name in the root with @len bytes of @byte. */
static void file_put(struct vimage *im, const char *name, int byte,
		     size_t len)
{
	struct fs *fs = vimage_fs(im);
	struct op_args a = { .name = name };
	char *buf = malloc(len);

	assert_non_null(buf);
	memset(buf, byte, len);
	a.parent = fs->ops->root(fs);
	assert_non_null(a.parent);
	assert_int_equal(vimage_call(im, NULL, start_create, &a), 0);
	a.iov = (struct iovec){ .iov_base = buf, .iov_len = len };
	assert_int_equal(vimage_call(im, NULL, start_write, &a), 0);
	assert_int_equal(a.done, len);
	assert_int_equal(vimage_call(im, NULL, start_release, &a), 0);
	fs->ops->forget(fs, a.entry.inode, 1);
	fs->ops->forget(fs, a.parent, 1);
	free(buf);
}

/* @name in the root holds @len bytes of @byte (or is missing: -ENOENT). */
static int file_get(struct vimage *im, const char *name, int byte,
		    size_t len)
{
	struct fs *fs = vimage_fs(im);
	struct op_args a = { .name = name };
	char *buf = calloc(1, len + 1);
	int rc;

	assert_non_null(buf);
	a.parent = fs->ops->root(fs);
	rc = vimage_call(im, NULL, start_lookup, &a);
	if (rc == 0) {
		assert_int_equal(a.entry.attr.st_size, len);
		assert_int_equal(vimage_call(im, NULL, start_open, &a), 0);
		a.iov = (struct iovec){ .iov_base = buf, .iov_len = len + 1 };
		assert_int_equal(vimage_call(im, NULL, start_read, &a), 0);
		assert_int_equal(a.done, len);
		for (size_t i = 0; i < len; i++)
			assert_int_equal((unsigned char)buf[i], byte);
		assert_int_equal(vimage_call(im, NULL, start_release, &a), 0);
		fs->ops->forget(fs, a.entry.inode, 1);
	}
	fs->ops->forget(fs, a.parent, 1);
	free(buf);
	return rc;
}

static void check_clean(struct vimage *im)
{
	struct bfs_check_report rep;

	assert_int_equal(vimage_check(im, &rep, stderr), 0);
	assert_int_equal(rep.errors, 0);
	assert_true(rep.inodes >= 1);
}

static void catalog_has(struct vimage *im, const char *name,
			enum vimage_kind kind)
{
	struct vimage_entry *v = NULL;
	size_t n = 0;
	bool found = false;

	assert_int_equal(vimage_list(im, &v, &n), 0);
	for (size_t i = 0; i < n; i++) {
		if (i)
			assert_true(strcmp(v[i - 1].name, v[i].name) < 0);
		if (strcmp(v[i].name, name) == 0) {
			assert_int_equal(v[i].kind, kind);
			assert_true(v[i].blob_id != BLOB_ID_NONE);
			found = true;
		}
	}
	free(v);
	assert_true(found);
}

static size_t catalog_count(struct vimage *im)
{
	struct vimage_entry *v = NULL;
	size_t n = 0;

	assert_int_equal(vimage_list(im, &v, &n), 0);
	free(v);
	return n;
}

/* --- tests ---------------------------------------------------------------- */

static void test_name_check(void **state)
{
	char longest[VIMAGE_NAME_MAX + 2];

	(void)state;
	assert_int_equal(vimage_name_check("main"), 0);
	assert_int_equal(vimage_name_check("gold-2026.11_a"), 0);
	assert_int_equal(vimage_name_check("A9"), 0);
	assert_int_equal(vimage_name_check(""), -EINVAL);
	assert_int_equal(vimage_name_check(NULL), -EINVAL);
	assert_int_equal(vimage_name_check("a/b"), -EINVAL);
	assert_int_equal(vimage_name_check("a b"), -EINVAL);
	assert_int_equal(vimage_name_check("-x"), -EINVAL);
	assert_int_equal(vimage_name_check("."), -EINVAL);
	assert_int_equal(vimage_name_check(".."), -EINVAL);
	assert_int_equal(vimage_name_check("caf\xc3\xa9"), -EINVAL);
	memset(longest, 'x', sizeof(longest));
	longest[VIMAGE_NAME_MAX] = '\0';
	assert_int_equal(vimage_name_check(longest), 0);
	longest[VIMAGE_NAME_MAX] = 'x';
	longest[VIMAGE_NAME_MAX + 1] = '\0';
	assert_int_equal(vimage_name_check(longest), -EINVAL);
}

static void test_open_errors(void **state)
{
	struct vimage_config c = { .path = "/nonexistent/vhostfs.img",
				   .mode = VIMAGE_STORE_RO, .who = "t" };
	struct vimage *im = (struct vimage *)1;
	char other[] = "/tmp/vhostfs-test-notimg.XXXXXX";
	int fd = mkstemp(other);

	(void)state;
	assert_int_equal(vimage_open(&im, &c), -ENOENT);
	assert_null(im);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	c.path = other;
	assert_int_equal(vimage_open(&im, &c), -EILSEQ);
	unlink(other);
	assert_int_equal(img_open(&im, "bad name", VIMAGE_MOUNT_RW), -EINVAL);
	/* an empty catalog has no "main" */
	assert_int_equal(img_open(&im, NULL, VIMAGE_MOUNT_RW), -ENOENT);
	assert_null(im);
}

static void test_create_and_serve(void **state)
{
	struct vimage *im = img_open_ok(NULL, VIMAGE_STORE_RW), *other = NULL;

	(void)state;
	assert_null(vimage_fs(im));
	assert_non_null(vimage_reactor(im));
	assert_int_equal(catalog_count(im), 0);
	assert_int_equal(vimage_create(im, "main", NULL), 0);
	assert_int_equal(vimage_create(im, "main", NULL), -EEXIST);
	assert_int_equal(vimage_create(im, "no/slash", NULL), -EINVAL);
	catalog_has(im, "main", VIMAGE_VOLUME);
	/* a writer holds the image: nobody else opens it */
	assert_int_equal(img_open(&other, NULL, VIMAGE_STORE_RO),
			 -EWOULDBLOCK);
	assert_int_equal(vimage_close(im), 0);

	im = img_open_ok(NULL, VIMAGE_MOUNT_RW);
	assert_false(vimage_read_only(im));
	file_put(im, "hello", 'h', 10000);
	assert_int_equal(vimage_sync(im), 0);
	check_clean(im);
	assert_int_equal(vimage_close(im), 0);

	/* two readers at once; the data came through close and open */
	im = img_open_ok("main", VIMAGE_MOUNT_RO);
	other = img_open_ok("main", VIMAGE_MOUNT_RO);
	assert_true(vimage_read_only(im));
	assert_int_equal(file_get(im, "hello", 'h', 10000), 0);
	assert_int_equal(file_get(other, "hello", 'h', 10000), 0);
	check_clean(other);
	assert_int_equal(vimage_close(other), 0);
	assert_int_equal(vimage_close(im), 0);
}

struct thread_arg {
	struct vimage *im;
	char name[16];
	int byte;
};

static void *writer_main(void *arg)
{
	struct thread_arg *t = arg;

	file_put(t->im, t->name, t->byte, 5000 + (size_t)t->byte);
	return NULL;
}

/* Several threads without a reactor call at once; the fs thread serializes. */
static void test_calls_from_threads(void **state)
{
	struct vimage *im = img_open_ok(NULL, VIMAGE_MOUNT_RW);
	struct thread_arg ta[4];
	pthread_t tid[4];
	struct op_args a = { .name = "dir" };
	struct fs *fs = vimage_fs(im);

	(void)state;
	for (int i = 0; i < 4; i++) {
		ta[i].im = im;
		ta[i].byte = 'a' + i;
		snprintf(ta[i].name, sizeof(ta[i].name), "t%d", i);
		assert_int_equal(pthread_create(&tid[i], NULL, writer_main,
						&ta[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(tid[i], NULL);
	a.parent = fs->ops->root(fs);
	assert_int_equal(vimage_call(im, NULL, start_mkdir, &a), 0);
	fs->ops->forget(fs, a.entry.inode, 1);
	assert_int_equal(vimage_call(im, NULL, start_statfs, &a), 0);
	assert_true(a.st.f_blocks > 0 && a.st.f_bfree < a.st.f_blocks);
	fs->ops->forget(fs, a.parent, 1);
	for (int i = 0; i < 4; i++)
		assert_int_equal(file_get(im, ta[i].name, 'a' + i,
					  5000 + (size_t)('a' + i)), 0);
	check_clean(im);
	assert_int_equal(vimage_close(im), 0);
}

static void test_snapshot_clone_delete(void **state)
{
	struct vimage *im = img_open_ok(NULL, VIMAGE_STORE_RW);

	(void)state;
	assert_int_equal(vimage_snapshot(im, "main", "gold"), 0);
	assert_int_equal(vimage_snapshot(im, "main", "gold"), -EEXIST);
	assert_int_equal(vimage_snapshot(im, "nope", "x"), -ENOENT);
	assert_int_equal(vimage_snapshot(im, "gold", "x"), -EINVAL);
	catalog_has(im, "gold", VIMAGE_SNAPSHOT);
	catalog_has(im, "main", VIMAGE_CLONE);
	assert_int_equal(vimage_clone(im, "gold", "dev"), 0);
	assert_int_equal(vimage_clone(im, "main", "x"), -EINVAL);
	assert_int_equal(vimage_clone(im, "gold", "dev"), -EEXIST);
	catalog_has(im, "dev", VIMAGE_CLONE);
	assert_int_equal(vimage_close(im), 0);

	/* a snapshot is served read-only only, and holds what main held */
	assert_int_equal(img_open(&im, "gold", VIMAGE_MOUNT_RW), -EROFS);
	im = img_open_ok("gold", VIMAGE_MOUNT_RO);
	assert_true(vimage_read_only(im));
	assert_int_equal(file_get(im, "hello", 'h', 10000), 0);
	check_clean(im);
	assert_int_equal(vimage_close(im), 0);

	/* the clone diverges; main and gold do not see it */
	im = img_open_ok("dev", VIMAGE_MOUNT_RW);
	file_put(im, "only-dev", 'd', 70000);
	assert_int_equal(file_get(im, "hello", 'h', 10000), 0);
	check_clean(im);
	assert_int_equal(vimage_close(im), 0);
	im = img_open_ok("main", VIMAGE_MOUNT_RW);
	assert_int_equal(file_get(im, "only-dev", 'd', 70000), -ENOENT);
	file_put(im, "only-main", 'm', 3000);
	assert_int_equal(vimage_close(im), 0);
	im = img_open_ok("gold", VIMAGE_MOUNT_RO);
	assert_int_equal(file_get(im, "only-main", 'm', 3000), -ENOENT);
	assert_int_equal(vimage_close(im), 0);

	im = img_open_ok(NULL, VIMAGE_STORE_RW);
	assert_int_equal(vimage_delete(im, "gold"), -EBUSY);
	assert_int_equal(vimage_delete(im, "dev"), 0);
	assert_int_equal(vimage_delete(im, "dev"), -ENOENT);
	assert_int_equal(catalog_count(im), 2);
	assert_int_equal(vimage_close(im), 0);

	/* catalog changes need a writable store */
	im = img_open_ok(NULL, VIMAGE_STORE_RO);
	catalog_has(im, "gold", VIMAGE_SNAPSHOT);
	assert_int_equal(vimage_create(im, "x", NULL), -EROFS);
	assert_int_equal(vimage_snapshot(im, "main", "x"), -EROFS);
	assert_int_equal(vimage_close(im), 0);
	im = img_open_ok("main", VIMAGE_MOUNT_RO);
	assert_int_equal(file_get(im, "only-main", 'm', 3000), 0);
	assert_int_equal(vimage_close(im), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_check),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_create_and_serve),
		cmocka_unit_test(test_calls_from_threads),
		cmocka_unit_test(test_snapshot_clone_delete),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
