// SPDX-License-Identifier: MIT
/*
 * free.c - removing what an inode owns, in bounded atomic steps: freeing
 * an unlinked inode (last reference gone, or an orphan found at mount)
 * and cutting the extents of a truncated file.  Each step deletes at most
 * FREE_BATCH items; progress is the tree itself, so a step that misses a
 * block just runs again, and a crash between steps leaves the ORPHAN item
 * that makes the next mount finish the work.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bfs_internal.h"
#include "bfs_refcount.h"
#include "vhostfs/log.h"

#define FREE_BATCH 32

struct victim {
	struct bfs_key k;
	struct bfs_dextent e; /* extents: what to free */
	uint64_t keep;        /* blocks of the extent kept (a cut) */
};

/*
 * A shared extent drops its references from the end, at most
 * BFS_REF_BATCH blocks a step, with the paths of their items cached:
 * the step that takes it takes nothing after it.
 */
static int collect_shared(struct bfs *fs, struct victim *x)
{
	uint64_t cut = x->e.count > BFS_REF_BATCH ? x->e.count - BFS_REF_BATCH
						  : 0;

	x->keep = x->keep > cut ? x->keep : cut;
	return bfs_ref_paths(fs, x->e.disk + x->keep, x->e.count - x->keep);
}

/*
 * Collect up to FREE_BATCH items of @ino other than its inode to remove
 * (all when @from is UINT64_MAX... see callers): with @all every item,
 * otherwise the extents from file block @from on.
 */
static int collect(struct bfs *fs, uint64_t ino, bool all, uint64_t from,
		   struct victim *v, unsigned int *n)
{
	struct bfs_path p;
	int rc = bfs_tree_seek(fs, bfs_key_make(ino, BFS_T_DIRENT, 0), &p);

	*n = 0;
	for (; rc == 0 && *n < FREE_BATCH; rc = bfs_tree_next(fs, &p)) {
		struct bfs_key k = bfs_path_key(&p);
		struct victim x = { .k = k };
		uint16_t len;
		void *val = bfs_path_val(&p, &len);

		if (k.id != ino)
			break;
		if (bfs_key_type(k) == BFS_T_EXTENT) {
			if (len != sizeof(x.e))
				return -EUCLEAN;
			memcpy(&x.e, val, sizeof(x.e));
			if (!all && bfs_key_off(k) + x.e.count <= from)
				continue;
			if (!all && bfs_key_off(k) < from)
				x.keep = from - bfs_key_off(k);
			if (x.e.flags & BFS_EXT_SHARED) {
				int r2 = collect_shared(fs, &x);

				if (r2)
					return r2;
				v[(*n)++] = x;
				break;
			}
		} else if (!all) {
			continue;
		}
		v[(*n)++] = x;
	}
	return rc == -ENOENT ? 0 : rc;
}

static bool extent_ok(const struct bfs *fs, const struct bfs_dextent *e)
{
	return e->count && e->count <= BFS_EXT_MAX &&
	       e->disk >= fs->sb.data_start && e->disk < fs->sb.nblocks &&
	       e->count <= fs->sb.nblocks - e->disk; /* no wrap-around */
}

/* Apply: remove the victims; returns the blocks freed. */
static int remove_victims(struct bfs *fs, const struct victim *v,
			  unsigned int n, uint64_t *freed)
{
	*freed = 0;
	for (unsigned int i = 0; i < n; i++) {
		int rc = 0;

		if (bfs_key_type(v[i].k) == BFS_T_EXTENT) {
			struct bfs_dextent e = v[i].e;

			if (!extent_ok(fs, &e))
				return -EUCLEAN;
			if (e.flags & BFS_EXT_SHARED)
				rc = bfs_ref_drop_run(fs, e.disk + v[i].keep,
						      e.count - v[i].keep);
			else
				bfs_alloc_free(fs, e.disk + v[i].keep,
					       (uint32_t)(e.count - v[i].keep));
			if (rc)
				return rc;
			*freed += e.count - v[i].keep;
			if (v[i].keep) {
				e.count = (uint32_t)v[i].keep;
				rc = bfs_tree_update(fs, v[i].k, &e, sizeof(e));
				if (rc)
					return rc;
				continue;
			}
		}
		rc = bfs_tree_delete(fs, v[i].k);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * One step of cutting @ino's extents from block @from (or, with @all,
 * removing everything it owns).  0 when nothing is left, -EINPROGRESS
 * after a step that removed something, BFS_AGAIN, or an error.
 */
int bfs_cut_step(struct bfs *fs, uint64_t ino, bool all, uint64_t from)
{
	struct victim v[FREE_BATCH];
	struct bfs_dinode d;
	unsigned int n;
	uint64_t freed;
	int rc = bfs_dinode_read(fs, ino, &d);

	if (rc)
		return rc;
	rc = collect(fs, ino, all, from, v, &n);
	if (rc || n == 0)
		return rc;
	rc = remove_victims(fs, v, n, &freed);
	if (rc == 0) {
		d.blocks = d.blocks >= freed ? d.blocks - freed : 0;
		rc = bfs_dinode_write(fs, ino, &d);
	}
	if (rc)
		bfs_fail(fs, "removing the blocks of an inode failed");
	return rc ? -EIO : -EINPROGRESS;
}

/* Remove everything of unlinked @ino, then its inode and orphan items. */
static int free_inode_steps(struct bfs *fs, uint64_t ino)
{
	struct bfs_key ok = bfs_key_make(0, BFS_T_ORPHAN, ino);
	struct bfs_dinode d;
	struct bfs_path p;
	int rc;

	do {
		rc = bfs_cut_step(fs, ino, true, 0);
	} while (rc == -EINPROGRESS);
	if (rc == -ENOENT) {
		d.nlink = 0; /* the inode is gone already: drop the orphan */
		rc = 0;
	} else if (rc) {
		return rc;
	} else {
		rc = bfs_dinode_read(fs, ino, &d);
	}
	if (rc)
		return rc;
	if (d.nlink) {
		/* an interrupted truncate: cut past the size, keep the inode */
		uint64_t from = (d.size + BFS_BLOCK - 1) / BFS_BLOCK;

		do {
			rc = bfs_cut_step(fs, ino, false, from);
		} while (rc == -EINPROGRESS);
		if (rc)
			return rc;
	}
	rc = bfs_tree_search(fs, ok, &p);
	if (rc != 0 && rc != -ENOENT)
		return rc;
	if (rc == 0)
		bfs_tree_delete(fs, ok);
	if (bfs_dinode_read(fs, ino, &d) == 0 && d.nlink == 0) {
		bfs_tree_delete(fs, bfs_key_make(ino, BFS_T_INODE, 0));
		fs->st.inodes--;
	}
	return 0;
}

struct free_args {
	uint64_t ino;
};
BFS_ARGS_FIT(struct free_args);

static int free_run(struct bfs_op *op)
{
	return free_inode_steps(op->fs, BFS_ARGS(op, struct free_args)->ino);
}

static void free_done(struct bfs *fs, int err)
{
	if (err)
		log_warn("bfs: freeing an unlinked inode failed (%d); the next "
			 "mount retries", err);
}

void bfs_inode_free_start(struct bfs *fs, uint64_t ino)
{
	struct bfs_op *op = bfs_op_internal(fs, free_run, free_done);

	if (!op)
		return; /* the orphan item stays: the next mount frees it */
	BFS_ARGS(op, struct free_args)->ino = ino;
	bfs_op_run(op);
}

/* --- orphans at mount ----------------------------------------------------------- */

static int orphans_run(struct bfs_op *op)
{
	struct bfs *fs = op->fs;

	for (;;) {
		struct bfs_path p;
		struct bfs_key k;
		int rc = bfs_tree_seek(fs, bfs_key_make(0, BFS_T_ORPHAN, 0), &p);

		if (rc == -ENOENT)
			return 0;
		if (rc)
			return rc;
		k = bfs_path_key(&p);
		if (k.id != 0 || bfs_key_type(k) != BFS_T_ORPHAN)
			return 0;
		rc = free_inode_steps(fs, bfs_key_off(k));
		if (rc)
			return rc;
	}
}

int bfs_orphans_start(struct bfs *fs, void (*done)(struct bfs *fs, int err))
{
	struct bfs_op *op;

	if (fs->read_only) {
		done(fs, 0);
		return 0;
	}
	op = bfs_op_internal(fs, orphans_run, done);
	if (!op)
		return -ENOMEM;
	bfs_op_run(op);
	return 0;
}
