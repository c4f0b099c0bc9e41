// SPDX-License-Identifier: MIT
/* bfs_test_ext.c - see bfs_test_ext.h. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "bfs_test_ext.h"

static void pending_cb(void *arg, int err)
{
	struct bx_pending *p = arg;

	p->done++;
	p->err = err;
}

struct fs_call *bx_call(struct bt *t, struct bx_pending *p)
{
	memset(p, 0, sizeof(*p));
	p->call.cred = t->cred;
	p->call.reactor = bst_reactor();
	p->call.cb = pending_cb;
	p->call.cb_arg = p;
	return &p->call;
}

int bx_wait(struct bx_pending *p)
{
	for (int i = 0; !p->done; i++) {
		assert_true(reactor_run_once(bst_reactor(), 10) >= 0);
		assert_true(i < 200000);
	}
	assert_int_equal(p->done, 1);
	return p->err;
}

bool bx_poll(struct bx_pending *p)
{
	for (int i = 0; i < 20 && !p->done; i++)
		assert_true(reactor_run_once(bst_reactor(), 1) >= 0);
	return p->done != 0;
}

#define BX(expr)                                   \
	do {                                       \
		struct bx_pending p_;              \
		struct fs_call *c = bx_call(t, &p_); \
		expr;                              \
		return bx_wait(&p_);               \
	} while (0)

int bx_setxattr(struct bt *t, struct fs_inode *in, const char *name,
		const void *v, size_t size, int flags)
{
	BX(t->fs->ops->setxattr(t->fs, c, in, name, v, size, flags));
}

static int getx(struct bt *t, struct fs_inode *in, const char *name,
		void *buf, size_t size, size_t *len)
{
	BX(t->fs->ops->getxattr(t->fs, c, in, name, buf, size, len));
}

long bx_getxattr(struct bt *t, struct fs_inode *in, const char *name,
		 void *buf, size_t size)
{
	size_t len = 0;
	int rc = getx(t, in, name, buf, size, &len);

	return rc ? rc : (long)len;
}

static int listx(struct bt *t, struct fs_inode *in, char *buf, size_t size,
		 size_t *len)
{
	BX(t->fs->ops->listxattr(t->fs, c, in, buf, size, len));
}

long bx_listxattr(struct bt *t, struct fs_inode *in, char *buf, size_t size)
{
	size_t len = 0;
	int rc = listx(t, in, buf, size, &len);

	return rc ? rc : (long)len;
}

int bx_removexattr(struct bt *t, struct fs_inode *in, const char *name)
{
	BX(t->fs->ops->removexattr(t->fs, c, in, name));
}

int bx_access(struct bt *t, struct fs_inode *in, int mask)
{
	BX(t->fs->ops->access(t->fs, c, in, mask));
}

int bx_fallocate(struct bt *t, struct fs_file *f, int mode, uint64_t off,
		 uint64_t len)
{
	BX(t->fs->ops->fallocate(t->fs, c, f, mode, off, len));
}

static int seek(struct bt *t, struct fs_file *f, uint64_t off, int whence,
		uint64_t *out)
{
	BX(t->fs->ops->lseek(t->fs, c, f, off, whence, out));
}

int64_t bx_lseek(struct bt *t, struct fs_file *f, uint64_t off, int whence)
{
	uint64_t out = 0;
	int rc = seek(t, f, off, whence, &out);

	return rc ? rc : (int64_t)out;
}

static int tmpf(struct bt *t, struct fs_inode *p, mode_t mode,
		struct fs_entry *e, struct fs_open_out *o)
{
	BX(t->fs->ops->tmpfile(t->fs, c, p, mode, O_RDWR, e, o));
}

int bx_tmpfile(struct bt *t, struct fs_inode *p, mode_t mode,
	       struct fs_entry *e, struct fs_file **f)
{
	struct fs_open_out o = { 0 };
	int rc = tmpf(t, p, mode, e, &o);

	*f = o.file;
	return rc;
}

int bx_getlk(struct bt *t, struct fs_file *f, struct fs_lock *lk)
{
	BX(t->fs->ops->getlk(t->fs, c, f, lk));
}

int bx_setlk(struct bt *t, struct fs_file *f, const struct fs_lock *lk)
{
	BX(t->fs->ops->setlk(t->fs, c, f, lk, false));
}

int bx_flush(struct bt *t, struct fs_file *f, uint64_t owner)
{
	BX(t->fs->ops->flush(t->fs, c, f, owner));
}

int bx_release(struct bt *t, struct fs_file *f, bool flock, uint64_t owner)
{
	BX(t->fs->ops->release(t->fs, c, f, flock, owner));
}

static int copy(struct bt *t, struct fs_file *in, uint64_t off_in,
		struct fs_file *out, uint64_t off_out, uint64_t len,
		size_t *n)
{
	BX(t->fs->ops->copy_file_range(t->fs, c, in, off_in, out, off_out, len,
				       0, n));
}

long bx_copy(struct bt *t, struct fs_file *in, uint64_t off_in,
	     struct fs_file *out, uint64_t off_out, uint64_t len)
{
	size_t n = 0;
	int rc = copy(t, in, off_in, out, off_out, len, &n);

	return rc ? rc : (long)n;
}

int bx_chmod(struct bt *t, struct fs_inode *in, mode_t mode)
{
	struct fs_setattr s = { .valid = FS_SET_MODE, .mode = mode };
	struct stat st;

	return bt_setattr(t, in, &s, &st);
}
