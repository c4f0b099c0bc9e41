/* SPDX-License-Identifier: MIT */
/*
 * bfs_ops_ext.h - fs_ops entry points that live next to their steps
 * rather than in ops.c: lseek (seek.c), fallocate (falloc.c), POSIX
 * locks and flock (lock.c).  The xattr ones are in bfs_xattr.h.
 */
#ifndef VHOSTFS_BFS_OPS_EXT_H
#define VHOSTFS_BFS_OPS_EXT_H

#include "bfs_internal.h"

void bfs_lseek(struct fs *fs, struct fs_call *c, struct fs_file *file,
	       uint64_t off, int whence, uint64_t *out);
void bfs_fallocate(struct fs *fs, struct fs_call *c, struct fs_file *file,
		   int mode, uint64_t off, uint64_t len);
void bfs_getlk(struct fs *fs, struct fs_call *c, struct fs_file *file,
	       struct fs_lock *lk);
void bfs_setlk(struct fs *fs, struct fs_call *c, struct fs_file *file,
	       const struct fs_lock *lk, bool wait);
void bfs_interrupt(struct fs *fs, struct fs_call *c);
/* FLUSH: drop the POSIX locks of @owner on the file's inode. */
void bfs_flush(struct fs *fs, struct fs_call *c, struct fs_file *file,
	       uint64_t owner);
/*
 * On the fs thread, when @f is released: drop its flocks and the POSIX
 * locks taken through it (and of @owner with @flock_release); free the
 * inode's lock state once no file is open.
 */
void bfs_locks_release(struct bfs *fs, struct bfs_file *f,
		       bool flock_release, uint64_t owner);

/* Free what is left of an inode's locks (its memory is going). */
void bfs_locks_free(struct bfs_inode *in);

#endif
