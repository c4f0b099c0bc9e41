/* SPDX-License-Identifier: MIT */
/*
 * bfs_refcount.h - shared blocks (refcount.c): a block that several
 * extents reference (copy_file_range as a clone) has a REFCOUNT item with
 * their number; a block without one belongs to its only extent.  Only
 * extents flagged BFS_EXT_SHARED can reference a counted block.
 */
#ifndef VHOSTFS_BFS_REFCOUNT_H
#define VHOSTFS_BFS_REFCOUNT_H

#include "bfs_internal.h"

/* Blocks one step of sharing, unsharing or freeing handles at most. */
#define BFS_REF_BATCH 64u

/* References of disk block @blk (1 without an item): 0, BFS_AGAIN, -EUCLEAN. */
int bfs_ref_get(struct bfs *fs, uint64_t blk, uint32_t *refs);
/* Prepare: cache the paths of the items of blocks [blk, blk + n). */
int bfs_ref_paths(struct bfs *fs, uint64_t blk, uint64_t n);
/* Apply: one more reference to @blk. */
int bfs_ref_inc(struct bfs *fs, uint64_t blk);
/* Apply: one reference less; *@last when none is left (free the block). */
int bfs_ref_dec(struct bfs *fs, uint64_t blk, bool *last);
/*
 * Apply: drop the references of [blk, blk + n) of a shared extent,
 * freeing the blocks whose last reference it was.
 */
int bfs_ref_drop_run(struct bfs *fs, uint64_t blk, uint64_t n);

/* fs_ops.copy_file_range (copy.c). */
void bfs_copy_file_range(struct fs *f, struct fs_call *c, struct fs_file *in,
			 uint64_t off_in, struct fs_file *out, uint64_t off_out,
			 uint64_t len, uint32_t flags, size_t *copied);

#endif
