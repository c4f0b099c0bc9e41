/* SPDX-License-Identifier: MIT */
/*
 * pt_test.h - drive the passthrough back-end's fs_ops synchronously from a
 * test: a real reactor (this thread) and worker pool, a temporary shared
 * directory, and one helper per op that submits the call and pumps the
 * reactor until it completed.
 */
#ifndef VHOSTFS_TEST_PT_TEST_H
#define VHOSTFS_TEST_PT_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "vhostfs/fs.h"
#include "vhostfs/passthrough.h"
#include "vhostfs/reactor.h"

struct pt_env {
	char dir[64];             /* the shared directory */
	struct reactor *reactor;
	struct worker_pool *workers;
	struct fs *fs;
	struct fs_inode *root;
	struct fs_cred cred;      /* used for every call */
	int dirfd;                /* O_PATH fd of dir, for checks done by hand */
};

/* Exit 77 (skipped) unless running as root. */
void pt_test_require_root(void);

/* Set up with @mode and @fd_cache (0 = default); asserts on failure. */
struct pt_env *pt_env_new(enum passthrough_inode_mode mode, uint32_t fd_cache,
			  bool readonly);
void pt_env_free(struct pt_env *env);

/* cmocka group fixtures: handles, fds */
int pt_setup_handles(void **state);
int pt_setup_fds(void **state);
int pt_teardown(void **state);

/* Open fds of this process (counts /proc/self/fd). */
int pt_count_fds(void);

/* Synchronous wrappers; each returns the op's error (0 or -errno). */
int pt_t_lookup(struct pt_env *e, struct fs_inode *parent, const char *name,
		struct fs_entry *out);
void pt_t_forget(struct pt_env *e, struct fs_inode *inode, uint64_t n);
int pt_t_getattr(struct pt_env *e, struct fs_inode *inode, struct stat *st);
int pt_t_setattr(struct pt_env *e, struct fs_inode *inode, struct fs_file *f,
		 const struct fs_setattr *in, struct stat *out);
int pt_t_mknod(struct pt_env *e, struct fs_inode *parent, const char *name,
	       mode_t mode, dev_t rdev, struct fs_entry *out);
int pt_t_mkdir(struct pt_env *e, struct fs_inode *parent, const char *name,
	       mode_t mode, struct fs_entry *out);
int pt_t_symlink(struct pt_env *e, struct fs_inode *parent, const char *name,
		 const char *target, struct fs_entry *out);
int pt_t_readlink(struct pt_env *e, struct fs_inode *inode, char *buf,
		  size_t size, size_t *len);
int pt_t_link(struct pt_env *e, struct fs_inode *inode,
	      struct fs_inode *newparent, const char *name, struct fs_entry *out);
int pt_t_unlink(struct pt_env *e, struct fs_inode *parent, const char *name);
int pt_t_rmdir(struct pt_env *e, struct fs_inode *parent, const char *name);
int pt_t_rename(struct pt_env *e, struct fs_inode *p1, const char *n1,
		struct fs_inode *p2, const char *n2, uint32_t flags);
int pt_t_open(struct pt_env *e, struct fs_inode *inode, int flags,
	      struct fs_open_out *out);
int pt_t_create(struct pt_env *e, struct fs_inode *parent, const char *name,
		mode_t mode, int flags, struct fs_entry *entry,
		struct fs_open_out *out);
int pt_t_tmpfile(struct pt_env *e, struct fs_inode *parent, mode_t mode,
		 int flags, struct fs_entry *entry, struct fs_open_out *out);
int pt_t_flush(struct pt_env *e, struct fs_file *f, uint64_t owner);
int pt_t_release(struct pt_env *e, struct fs_file *f);
int pt_t_opendir(struct pt_env *e, struct fs_inode *inode,
		 struct fs_open_out *out);
int pt_t_readdir(struct pt_env *e, struct fs_file *dir, uint64_t off,
		 bool plus, fs_dir_fill_fn fill, void *ctx);
int pt_t_releasedir(struct pt_env *e, struct fs_file *dir);
int pt_t_fsyncdir(struct pt_env *e, struct fs_file *dir);
int pt_t_statfs(struct pt_env *e, struct fs_inode *inode, struct statvfs *out);
int pt_t_access(struct pt_env *e, struct fs_inode *inode, int mask);

/* Lookup that must succeed. */
struct fs_inode *pt_t_get(struct pt_env *e, struct fs_inode *parent,
			  const char *name);

/* Host-side path of @rel inside the share, into @buf. */
void pt_host_path(struct pt_env *e, const char *rel, char *buf, size_t size);

#endif /* VHOSTFS_TEST_PT_TEST_H */
