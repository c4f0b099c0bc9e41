// SPDX-License-Identifier: MIT
/* bfs_test.c - see bfs_test.h. */
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

static int wait_run(struct wait *w)
{
	for (int i = 0; !w->done; i++) {
		assert_true(reactor_run_once(bst_reactor(), 10) >= 0);
		assert_true(i < 200000);
	}
	assert_int_equal(w->done, 1);
	return w->err;
}

#define WAIT(call)                      \
	do {                            \
		struct wait w_ = { 0 }; \
		struct wait *w = &w_;   \
		call;                   \
		return wait_run(w);     \
	} while (0)

static struct fs_call *mkcall(struct bt *t, struct fs_call *c, struct wait *w)
{
	memset(c, 0, sizeof(*c));
	c->cred = t->cred;
	c->reactor = bst_reactor();
	c->cb = wait_cb;
	c->cb_arg = w;
	return c;
}

#define CALL(expr)                               \
	do {                                     \
		struct wait w = { 0 };           \
		struct fs_call call;             \
		struct fs_call *c = mkcall(t, &call, &w); \
		expr;                            \
		return wait_run(&w);             \
	} while (0)

static int mkfs(struct blob_store *bs, const struct bfs_mkfs_opts *o,
		uint64_t *vol)
{
	WAIT(bfs_mkfs(bs, o, vol, wait_cb, w));
}

static int mount(struct bt *t)
{
	WAIT(bfs_mount(t->bs, t->vol, NULL, &t->fs, wait_cb, w));
}

static int unmount(struct fs *fs)
{
	WAIT(bfs_unmount(fs, wait_cb, w));
}

void bt_setup(struct bt *t, uint64_t bytes, uint32_t cluster, bool cache)
{
	bt_setup_opts(t, bytes, cluster, cache, NULL);
}

void bt_setup_opts(struct bt *t, uint64_t bytes, uint32_t cluster, bool cache,
		   const struct bfs_mkfs_opts *mo)
{
	struct bst_geo g = { .block_size = 4096, .cluster_size = cluster,
			     .dev_bytes = bytes };
	struct blob_store_opts o = bst_opts(&g);

	memset(t, 0, sizeof(*t));
	t->dev = bst_ram(&g, cache);
	assert_int_equal(bst_init(t->dev, &o, &t->bs), 0);
	assert_int_equal(mkfs(t->bs, mo, &t->vol), 0);
	assert_int_equal(bt_mount(t), 0);
}

int bt_mount(struct bt *t)
{
	int rc = mount(t);

	if (rc == 0)
		t->root = t->fs->ops->root(t->fs);
	return rc;
}

int bt_unmount(struct bt *t)
{
	int rc = unmount(t->fs);

	t->fs = NULL;
	t->root = NULL;
	return rc;
}

void bt_teardown(struct bt *t)
{
	if (t->fs)
		assert_int_equal(bt_unmount(t), 0);
	assert_int_equal(bst_unload(t->bs), 0);
	assert_int_equal(bdev_destroy(t->dev), 0);
}

static int check(struct bt *t, struct bfs_check_report *rep)
{
	WAIT(bfs_check(t->fs, rep, stderr, wait_cb, w));
}

uint64_t bt_check(struct bt *t)
{
	struct bfs_check_report rep;

	assert_int_equal(check(t, &rep), 0);
	if (rep.errors)
		fail_msg("bfs check: %llu problems",
			 (unsigned long long)rep.errors);
	t->used = rep.blocks_used;
	return rep.inodes;
}

int bt_lookup(struct bt *t, struct fs_inode *p, const char *name,
	      struct fs_entry *e)
{
	CALL(t->fs->ops->lookup(t->fs, c, p, name, e));
}

int bt_mkdir(struct bt *t, struct fs_inode *p, const char *name, mode_t mode,
	     struct fs_entry *e)
{
	CALL(t->fs->ops->mkdir(t->fs, c, p, name, mode, e));
}

int bt_mknod(struct bt *t, struct fs_inode *p, const char *name, mode_t mode,
	     dev_t rdev, struct fs_entry *e)
{
	CALL(t->fs->ops->mknod(t->fs, c, p, name, mode, rdev, e));
}

int bt_symlink(struct bt *t, struct fs_inode *p, const char *name,
	       const char *target, struct fs_entry *e)
{
	CALL(t->fs->ops->symlink(t->fs, c, p, name, target, e));
}

int bt_link(struct bt *t, struct fs_inode *in, struct fs_inode *p,
	    const char *name, struct fs_entry *e)
{
	CALL(t->fs->ops->link(t->fs, c, in, p, name, e));
}

int bt_unlink(struct bt *t, struct fs_inode *p, const char *name)
{
	CALL(t->fs->ops->unlink(t->fs, c, p, name));
}

int bt_rmdir(struct bt *t, struct fs_inode *p, const char *name)
{
	CALL(t->fs->ops->rmdir(t->fs, c, p, name));
}

int bt_rename(struct bt *t, struct fs_inode *p, const char *name,
	      struct fs_inode *np, const char *newname, uint32_t flags)
{
	CALL(t->fs->ops->rename(t->fs, c, p, name, np, newname, flags));
}

int bt_create(struct bt *t, struct fs_inode *p, const char *name, mode_t mode,
	      struct fs_entry *e, struct fs_file **f)
{
	struct fs_open_out o = { 0 };
	struct wait w = { 0 };
	struct fs_call call;
	int rc;

	t->fs->ops->create(t->fs, mkcall(t, &call, &w), p, name, mode, O_RDWR,
			   e, &o);
	rc = wait_run(&w);
	*f = o.file;
	return rc;
}

int bt_open(struct bt *t, struct fs_inode *in, int flags, struct fs_file **f)
{
	struct fs_open_out o = { 0 };
	struct wait w = { 0 };
	struct fs_call call;
	int rc;

	t->fs->ops->open(t->fs, mkcall(t, &call, &w), in, flags, &o);
	rc = wait_run(&w);
	*f = o.file;
	return rc;
}

int bt_release(struct bt *t, struct fs_file *f)
{
	CALL(t->fs->ops->release(t->fs, c, f, false, 0));
}

static int do_write(struct bt *t, struct fs_file *f, uint64_t off,
		    const struct iovec *v, size_t *n)
{
	CALL(t->fs->ops->write(t->fs, c, f, off, v, 1, 0, n));
}

static int do_read(struct bt *t, struct fs_file *f, uint64_t off,
		   const struct iovec *v, size_t *n)
{
	CALL(t->fs->ops->read(t->fs, c, f, off, v, 1, n));
}

long bt_write(struct bt *t, struct fs_file *f, uint64_t off, const void *buf,
	      size_t len)
{
	struct iovec v = { (void *)buf, len };
	size_t n = 0;
	int rc = do_write(t, f, off, &v, &n);

	return rc ? rc : (long)n;
}

long bt_read(struct bt *t, struct fs_file *f, uint64_t off, void *buf,
	     size_t len)
{
	struct iovec v = { buf, len };
	size_t n = 0;
	int rc = do_read(t, f, off, &v, &n);

	return rc ? rc : (long)n;
}

int bt_getattr(struct bt *t, struct fs_inode *in, struct stat *st)
{
	CALL(t->fs->ops->getattr(t->fs, c, in, NULL, st));
}

int bt_setattr(struct bt *t, struct fs_inode *in, const struct fs_setattr *s,
	       struct stat *st)
{
	CALL(t->fs->ops->setattr(t->fs, c, in, NULL, s, st));
}

int bt_truncate(struct bt *t, struct fs_inode *in, uint64_t size)
{
	struct fs_setattr s = { .valid = FS_SET_SIZE, .size = size };
	struct stat st;

	return bt_setattr(t, in, &s, &st);
}

static int do_readlink(struct bt *t, struct fs_inode *in, char *buf,
		       size_t size, size_t *len)
{
	CALL(t->fs->ops->readlink(t->fs, c, in, buf, size, len));
}

int bt_readlink(struct bt *t, struct fs_inode *in, char *buf, size_t size)
{
	size_t len = 0;
	int rc = do_readlink(t, in, buf, size - 1, &len);

	if (rc)
		return rc;
	buf[len] = 0;
	return (int)len;
}

int bt_fsync(struct bt *t, struct fs_file *f)
{
	CALL(t->fs->ops->fsync(t->fs, c, f, false));
}

int bt_statfs(struct bt *t, struct statvfs *st)
{
	CALL(t->fs->ops->statfs(t->fs, c, t->root, st));
}

void bt_forget(struct bt *t, struct fs_inode *in)
{
	t->fs->ops->forget(t->fs, in, 1);
}

struct rd {
	struct bt_dirent *out;
	size_t max, n;
	struct bt *t;
};

static int rd_fill(void *ctx, const char *name, size_t namelen, uint64_t ino,
		   uint32_t dtype, uint64_t next, const struct fs_entry *plus)
{
	struct rd *r = ctx;

	if (r->n == r->max) {
		if (plus && plus->inode)
			bt_forget(r->t, plus->inode);
		return 1;
	}
	memcpy(r->out[r->n].name, name, namelen);
	r->out[r->n].name[namelen] = 0;
	r->out[r->n].ino = ino;
	r->out[r->n].next = next;
	r->n++;
	if (plus && plus->inode)
		bt_forget(r->t, plus->inode);
	return 0;
}

static int do_opendir(struct bt *t, struct fs_inode *dir, struct fs_open_out *o)
{
	CALL(t->fs->ops->opendir(t->fs, c, dir, 0, o));
}

static int do_readdir(struct bt *t, struct fs_file *f, uint64_t off, bool plus,
		      struct rd *r)
{
	CALL(t->fs->ops->readdir(t->fs, c, f, off, plus, rd_fill, r));
}

static int do_releasedir(struct bt *t, struct fs_file *f)
{
	CALL(t->fs->ops->releasedir(t->fs, c, f));
}

int bt_readdir(struct bt *t, struct fs_inode *dir, uint64_t off, bool plus,
	       struct bt_dirent *out, size_t max, size_t *n)
{
	struct fs_open_out o = { 0 };
	struct rd r = { .out = out, .max = max, .t = t };
	int rc = do_opendir(t, dir, &o);

	if (rc)
		return rc;
	rc = do_readdir(t, o.file, off, plus, &r);
	assert_int_equal(do_releasedir(t, o.file), 0);
	*n = r.n;
	return rc;
}

struct fs_inode *bt_put(struct bt *t, struct fs_inode *p, const char *name,
			const void *buf, size_t len, bool sync)
{
	struct fs_entry e;
	struct fs_file *f;

	assert_int_equal(bt_create(t, p, name, 0644, &e, &f), 0);
	if (len)
		assert_int_equal(bt_write(t, f, 0, buf, len), (long)len);
	if (sync)
		assert_int_equal(bt_fsync(t, f), 0);
	assert_int_equal(bt_release(t, f), 0);
	return e.inode;
}

long bt_get(struct bt *t, struct fs_inode *p, const char *name, void *buf,
	    size_t max)
{
	struct fs_entry e;
	struct fs_file *f;
	long n;
	int rc = bt_lookup(t, p, name, &e);

	if (rc)
		return rc;
	rc = bt_open(t, e.inode, O_RDONLY, &f);
	if (rc) {
		bt_forget(t, e.inode);
		return rc;
	}
	n = bt_read(t, f, 0, buf, max);
	assert_int_equal(bt_release(t, f), 0);
	bt_forget(t, e.inode);
	return n;
}
