// SPDX-License-Identifier: MIT
/*
 * refcount.c - reference counts of shared blocks (bfs_refcount.h).  One
 * item per block keeps the updates of a clone, a copy-on-write and a free
 * local to the blocks they touch; the items sort after the orphans under
 * id 0, away from every inode's items.
 */
#include <errno.h>
#include <string.h>

#include "bfs_refcount.h"

static struct bfs_key ref_key(uint64_t blk)
{
	return bfs_key_make(0, BFS_T_REFCOUNT, blk);
}

int bfs_ref_get(struct bfs *fs, uint64_t blk, uint32_t *refs)
{
	struct bfs_drefcount r;
	int rc = bfs_item_read(fs, ref_key(blk), &r, sizeof(r));

	if (rc == -ENOENT) {
		*refs = 1;
		return 0;
	}
	if (rc)
		return rc;
	if (r.refs < 2)
		return -EUCLEAN;
	*refs = r.refs;
	return 0;
}

int bfs_ref_paths(struct bfs *fs, uint64_t blk, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		struct bfs_path p;
		int rc = bfs_tree_search(fs, ref_key(blk + i), &p);

		if (rc != 0 && rc != -ENOENT)
			return rc;
	}
	return 0;
}

int bfs_ref_inc(struct bfs *fs, uint64_t blk)
{
	struct bfs_drefcount r = { .refs = 2 };
	uint32_t refs;
	int rc = bfs_ref_get(fs, blk, &refs);

	if (rc)
		return rc;
	if (refs == 1)
		return bfs_tree_insert(fs, ref_key(blk), &r, sizeof(r));
	if (refs == UINT32_MAX)
		return -EMLINK;
	r.refs = refs + 1;
	return bfs_tree_update(fs, ref_key(blk), &r, sizeof(r));
}

int bfs_ref_dec(struct bfs *fs, uint64_t blk, bool *last)
{
	struct bfs_drefcount r = { 0 };
	uint32_t refs;
	int rc = bfs_ref_get(fs, blk, &refs);

	*last = false;
	if (rc)
		return rc;
	if (refs == 1) {
		*last = true;
		return 0;
	}
	if (refs == 2)
		return bfs_tree_delete(fs, ref_key(blk));
	r.refs = refs - 1;
	return bfs_tree_update(fs, ref_key(blk), &r, sizeof(r));
}

int bfs_ref_drop_run(struct bfs *fs, uint64_t blk, uint64_t n)
{
	uint64_t run = 0; /* blocks to free, ending at blk + i */

	for (uint64_t i = 0; i < n; i++) {
		bool last;
		int rc = bfs_ref_dec(fs, blk + i, &last);

		if (rc)
			return rc;
		if (last) {
			run++;
			continue;
		}
		if (run)
			bfs_alloc_free(fs, blk + i - run, (uint32_t)run);
		run = 0;
	}
	if (run)
		bfs_alloc_free(fs, blk + n - run, (uint32_t)run);
	return 0;
}
