// SPDX-License-Identifier: MIT
/*
 * remove.c - unlink and rmdir; what happens to an inode whose last link
 * goes (an ORPHAN item in the same step, freed once unused).
 */
#include <errno.h>
#include <string.h>

#include "bfs_names.h"
#include "iset.h"

int bfs_sticky_ok(const struct fs_cred *cr, const struct bfs_dinode *dir,
		  const struct bfs_dinode *victim)
{
	if (!(dir->mode & S_ISVTX) || cr->uid == 0 || cr->uid == dir->uid ||
	    cr->uid == victim->uid)
		return 0;
	return -EPERM;
}

int bfs_orphan_path(struct bfs *fs, uint64_t ino)
{
	struct bfs_path p;
	int rc = bfs_tree_search(fs, bfs_key_make(0, BFS_T_ORPHAN, ino), &p);

	return rc == -ENOENT || rc == 0 ? 0 : rc;
}

int bfs_orphan_add(struct bfs *fs, uint64_t ino)
{
	int rc = bfs_tree_insert(fs, bfs_key_make(0, BFS_T_ORPHAN, ino), NULL,
				 0);

	return rc == -EEXIST ? 0 : rc;
}

void bfs_unlinked(struct bfs *fs, uint64_t ino)
{
	struct bfs_inode *in = bfs_inode_find(fs, ino);

	if (in) {
		in->unlinked = true;
		bfs_inode_check_free(fs, in);
	} else {
		bfs_inode_free_start(fs, ino);
	}
}

/* unlink and rmdir: the common part, @dir selects which. */
static int remove_run(struct bfs_op *op, bool dir)
{
	struct bfs_name_args *a = BFS_ARGS(op, struct bfs_name_args);
	const struct fs_cred *cr = &op->call->cred;
	struct bfs *fs = op->fs;
	struct iset s = { 0 };
	struct bfs_dinode *pd, *d;
	uint64_t de_ino;
	struct bfs_key k;
	int rc = iset_get(fs, &s, a->parent->ino, &pd);

	if (rc == 0)
		rc = bfs_dir_access(fs, a->parent->ino, cr, pd, true);
	if (rc == 0)
		rc = bfs_dirent_find(fs, a->parent->ino, a->name, &k, &de_ino);
	if (rc == 0)
		rc = iset_get(fs, &s, de_ino, &d);
	if (rc == 0)
		rc = bfs_sticky_ok(cr, pd, d);
	if (rc)
		return rc;
	if (dir && !S_ISDIR(d->mode))
		return -ENOTDIR;
	if (!dir && S_ISDIR(d->mode))
		return -EISDIR;
	if (dir && d->size)
		return -ENOTEMPTY;
	if (dir && de_ino == BFS_ROOT_INO)
		return -EBUSY;
	rc = bfs_orphan_path(fs, de_ino);
	if (rc == 0)
		rc = bfs_space_check(op, bfs_tree_split_need(fs));
	if (rc)
		return rc;
	/* apply */
	rc = bfs_tree_delete(fs, k);
	pd->size--;
	pd->nlink -= dir ? 1 : 0;
	iset_dirty(&s, pd, true, true);
	d->nlink = dir ? 0 : d->nlink - 1;
	iset_dirty(&s, d, false, true);
	if (rc == 0 && d->nlink == 0)
		rc = bfs_orphan_add(fs, de_ino);
	if (rc == 0)
		rc = iset_write(fs, &s);
	rc = bfs_apply_check(fs, rc);
	if (rc == 0 && d->nlink == 0)
		bfs_unlinked(fs, de_ino);
	return rc;
}

int bfs_unlink_run(struct bfs_op *op)
{
	return remove_run(op, false);
}

int bfs_rmdir_run(struct bfs_op *op)
{
	return remove_run(op, true);
}
