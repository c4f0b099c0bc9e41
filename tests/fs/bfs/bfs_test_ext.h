/* SPDX-License-Identifier: MIT */
/*
 * bfs_test_ext.h - synchronous wrappers of the bfs operations beyond the
 * core ones (xattrs, fallocate, lseek, tmpfile, locks), and a way to start
 * a call and wait for it later (SETLKW).
 */
#ifndef VHOSTFS_TESTS_BFS_TEST_EXT_H
#define VHOSTFS_TESTS_BFS_TEST_EXT_H

#include "bfs_test.h"

/* A call in flight: start it with bx_call(), finish with bx_wait(). */
struct bx_pending {
	struct fs_call call;
	int done;
	int err;
};

struct fs_call *bx_call(struct bt *t, struct bx_pending *p);
/* Run the reactor until @p completed; its error. */
int bx_wait(struct bx_pending *p);
/* Run the reactor a little: true if @p completed meanwhile. */
bool bx_poll(struct bx_pending *p);

int bx_setxattr(struct bt *t, struct fs_inode *in, const char *name,
		const void *v, size_t size, int flags);
/* Length, or -errno. */
long bx_getxattr(struct bt *t, struct fs_inode *in, const char *name,
		 void *buf, size_t size);
long bx_listxattr(struct bt *t, struct fs_inode *in, char *buf, size_t size);
int bx_removexattr(struct bt *t, struct fs_inode *in, const char *name);
int bx_access(struct bt *t, struct fs_inode *in, int mask);
int bx_fallocate(struct bt *t, struct fs_file *f, int mode, uint64_t off,
		 uint64_t len);
/* The offset, or -errno. */
int64_t bx_lseek(struct bt *t, struct fs_file *f, uint64_t off, int whence);
int bx_tmpfile(struct bt *t, struct fs_inode *p, mode_t mode,
	       struct fs_entry *e, struct fs_file **f);
int bx_getlk(struct bt *t, struct fs_file *f, struct fs_lock *lk);
int bx_setlk(struct bt *t, struct fs_file *f, const struct fs_lock *lk);
int bx_flush(struct bt *t, struct fs_file *f, uint64_t owner);
int bx_release(struct bt *t, struct fs_file *f, bool flock, uint64_t owner);
int bx_chmod(struct bt *t, struct fs_inode *in, mode_t mode);
/* Bytes copied, or -errno. */
long bx_copy(struct bt *t, struct fs_file *in, uint64_t off_in,
	     struct fs_file *out, uint64_t off_out, uint64_t len);

#endif
