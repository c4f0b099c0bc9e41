/* SPDX-License-Identifier: MIT */
/*
 * bfs_test.h - synchronous wrappers around the embedded file system for
 * tests: one reactor (blob_test's) runs the store, the fs and the calls.
 */
#ifndef VHOSTFS_TESTS_BFS_TEST_H
#define VHOSTFS_TESTS_BFS_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blob_test.h"
#include "vhostfs/bfs.h"
#include "vhostfs/fs.h"

struct bt {
	struct bdev *dev;
	struct blob_store *bs;
	uint64_t vol;
	struct fs *fs;
	struct fs_inode *root;
	struct fs_cred cred;
	uint64_t used; /* blocks in use, as of the last bt_check() */
};

/* A ram device of @bytes, a store with @cluster clusters, mkfs, mount. */
void bt_setup(struct bt *t, uint64_t bytes, uint32_t cluster, bool cache);
void bt_setup_opts(struct bt *t, uint64_t bytes, uint32_t cluster, bool cache,
		   const struct bfs_mkfs_opts *mo);
/* Unmount, unload, destroy the device. */
void bt_teardown(struct bt *t);
int bt_mount(struct bt *t);
int bt_unmount(struct bt *t);
/* Check; fails the test on any problem.  Returns the report's inodes. */
uint64_t bt_check(struct bt *t);

int bt_lookup(struct bt *t, struct fs_inode *p, const char *name,
	      struct fs_entry *e);
int bt_mkdir(struct bt *t, struct fs_inode *p, const char *name, mode_t mode,
	     struct fs_entry *e);
int bt_mknod(struct bt *t, struct fs_inode *p, const char *name, mode_t mode,
	     dev_t rdev, struct fs_entry *e);
int bt_symlink(struct bt *t, struct fs_inode *p, const char *name,
	       const char *target, struct fs_entry *e);
int bt_link(struct bt *t, struct fs_inode *in, struct fs_inode *p,
	    const char *name, struct fs_entry *e);
int bt_unlink(struct bt *t, struct fs_inode *p, const char *name);
int bt_rmdir(struct bt *t, struct fs_inode *p, const char *name);
int bt_rename(struct bt *t, struct fs_inode *p, const char *name,
	      struct fs_inode *np, const char *newname, uint32_t flags);
int bt_create(struct bt *t, struct fs_inode *p, const char *name, mode_t mode,
	      struct fs_entry *e, struct fs_file **f);
int bt_open(struct bt *t, struct fs_inode *in, int flags, struct fs_file **f);
int bt_release(struct bt *t, struct fs_file *f);
/* Bytes written or read, or -errno. */
long bt_write(struct bt *t, struct fs_file *f, uint64_t off, const void *buf,
	      size_t len);
long bt_read(struct bt *t, struct fs_file *f, uint64_t off, void *buf,
	     size_t len);
int bt_getattr(struct bt *t, struct fs_inode *in, struct stat *st);
int bt_setattr(struct bt *t, struct fs_inode *in, const struct fs_setattr *s,
	       struct stat *st);
int bt_truncate(struct bt *t, struct fs_inode *in, uint64_t size);
int bt_readlink(struct bt *t, struct fs_inode *in, char *buf, size_t size);
int bt_fsync(struct bt *t, struct fs_file *f);
int bt_statfs(struct bt *t, struct statvfs *st);
void bt_forget(struct bt *t, struct fs_inode *in);

/* One readdir call from @off taking at most @max entries. */
struct bt_dirent {
	char name[256];
	uint64_t ino;
	uint64_t next;
};
int bt_readdir(struct bt *t, struct fs_inode *dir, uint64_t off, bool plus,
	       struct bt_dirent *out, size_t max, size_t *n);

/* Create @path's file under @p with @len bytes of @buf, fsync'd or not. */
struct fs_inode *bt_put(struct bt *t, struct fs_inode *p, const char *name,
			const void *buf, size_t len, bool sync);
/* Read all of @name under @p into @buf (at most @max); -errno or length. */
long bt_get(struct bt *t, struct fs_inode *p, const char *name, void *buf,
	    size_t max);

#endif
