// SPDX-License-Identifier: MIT
/*
 * rename.c - rename and RENAME2 (NOREPLACE, EXCHANGE) as one atomic step,
 * across directories too: every dirent and inode record it changes is
 * found first, then all changes are applied together.
 */
#include <errno.h>
#include <linux/fs.h>
#include <string.h>

#include "bfs_names.h"
#include "iset.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

struct side {
	uint64_t dir;
	struct bfs_dinode *pd;
	struct bfs_key k;
	bool exists;
	uint64_t de_ino;
	struct bfs_dinode *d;
};

/* Is @anc an ancestor of (or equal to) directory @ino? */
static int is_ancestor(struct bfs *fs, uint64_t anc, uint64_t ino)
{
	for (unsigned int depth = 0; depth < 4096; depth++) {
		struct bfs_dinode d;
		int rc;

		if (ino == anc)
			return 1;
		if (ino == BFS_ROOT_INO)
			return 0;
		rc = bfs_dinode_read(fs, ino, &d);
		if (rc)
			return rc;
		ino = d.parent;
	}
	return -EUCLEAN;
}

static int side_find(struct bfs *fs, struct iset *s, struct side *sd,
		     uint64_t dir, const char *name, const struct fs_cred *cr)
{
	int rc = iset_get(fs, s, dir, &sd->pd);

	sd->dir = dir;
	sd->exists = false;
	if (rc) /* no directory record: never "no such name" */
		return rc;
	rc = bfs_dir_access(fs, dir, cr, sd->pd, true);
	if (rc == 0)
		rc = bfs_dirent_find(fs, dir, name, &sd->k, &sd->de_ino);
	sd->exists = rc == 0;
	if (rc == 0)
		rc = iset_get(fs, s, sd->de_ino, &sd->d);
	if (rc == 0)
		rc = bfs_sticky_ok(cr, sd->pd, sd->d);
	return rc == -ENOENT && !sd->exists ? 0 : rc;
}

/* Type rules of rename(2) for replacing @dst by @src. */
static int replace_ok(const struct side *src, const struct side *dst)
{
	if (S_ISDIR(src->d->mode) && !S_ISDIR(dst->d->mode))
		return -ENOTDIR;
	if (!S_ISDIR(src->d->mode) && S_ISDIR(dst->d->mode))
		return -EISDIR;
	if (S_ISDIR(dst->d->mode) && dst->d->size)
		return -ENOTEMPTY;
	return 0;
}

/* A directory moving from @from to @to. */
static void dir_moves(struct iset *s, struct bfs_dinode *d,
		      struct side *from, struct side *to)
{
	if (!S_ISDIR(d->mode) || from->dir == to->dir)
		return;
	d->parent = to->dir;
	from->pd->nlink--;
	to->pd->nlink++;
	iset_dirty(s, d, false, true);
}

static int dirent_retarget(struct bfs *fs, struct bfs_key k,
			   const char *name, uint64_t ino, mode_t mode)
{
	uint8_t buf[BFS_DIRENT_MAX];

	return bfs_tree_update(fs, k, buf, bfs_dirent_encode(buf, name, ino, mode));
}

static int dirent_add(struct bfs *fs, struct bfs_key k, const char *name,
		      uint64_t ino, mode_t mode)
{
	uint8_t buf[BFS_DIRENT_MAX];

	return bfs_tree_insert(fs, k, buf, bfs_dirent_encode(buf, name, ino, mode));
}

static int apply_exchange(struct bfs *fs, struct iset *s, struct side *a,
			  struct side *b, const char *an, const char *bn)
{
	int rc = dirent_retarget(fs, a->k, an, b->de_ino, b->d->mode);

	if (rc == 0)
		rc = dirent_retarget(fs, b->k, bn, a->de_ino, a->d->mode);
	dir_moves(s, a->d, a, b);
	dir_moves(s, b->d, b, a);
	iset_dirty(s, a->d, false, true);
	iset_dirty(s, b->d, false, true);
	return rc;
}

/* Move src to dst (which may exist: it loses this link). */
static int apply_move(struct bfs *fs, struct iset *s, struct side *src,
		      struct side *dst, const char *dn, bool *orphan)
{
	int rc = bfs_tree_delete(fs, src->k);

	src->pd->size--;
	if (rc == 0 && dst->exists) {
		rc = dirent_retarget(fs, dst->k, dn, src->de_ino, src->d->mode);
		dst->d->nlink = S_ISDIR(dst->d->mode) ? 0 : dst->d->nlink - 1;
		if (S_ISDIR(dst->d->mode))
			dst->pd->nlink--;
		iset_dirty(s, dst->d, false, true);
		*orphan = dst->d->nlink == 0;
		if (rc == 0 && *orphan)
			rc = bfs_orphan_add(fs, dst->de_ino);
	} else if (rc == 0) {
		rc = dirent_add(fs, dst->k, dn, src->de_ino, src->d->mode);
		dst->pd->size++;
	}
	dir_moves(s, src->d, src, dst);
	iset_dirty(s, src->d, false, true);
	return rc;
}

static int rename_check(struct bfs *fs, struct bfs_name_args *a,
			struct side *src, struct side *dst)
{
	int rc;

	if (!src->exists)
		return -ENOENT;
	if (a->flags & ~(uint32_t)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	if ((a->flags & RENAME_NOREPLACE) && (a->flags & RENAME_EXCHANGE))
		return -EINVAL;
	if ((a->flags & RENAME_NOREPLACE) && dst->exists)
		return -EEXIST;
	if ((a->flags & RENAME_EXCHANGE) && !dst->exists)
		return -ENOENT;
	if (dst->exists && !(a->flags & RENAME_EXCHANGE)) {
		rc = replace_ok(src, dst);
		if (rc)
			return rc;
	}
	if (bfs_key_off(dst->k) == BFS_OFF_MASK)
		return -ENOSPC;
	/* no directory may move below itself */
	if (S_ISDIR(src->d->mode) && src->dir != dst->dir) {
		rc = is_ancestor(fs, src->de_ino, dst->dir);
		if (rc)
			return rc > 0 ? -EINVAL : rc;
	}
	if (dst->exists && S_ISDIR(dst->d->mode) && src->dir != dst->dir &&
	    (a->flags & RENAME_EXCHANGE)) {
		rc = is_ancestor(fs, dst->de_ino, src->dir);
		if (rc)
			return rc > 0 ? -EINVAL : rc;
	}
	return 0;
}

int bfs_rename_run(struct bfs_op *op)
{
	struct bfs_name_args *a = BFS_ARGS(op, struct bfs_name_args);
	const struct fs_cred *cr = &op->call->cred;
	struct bfs *fs = op->fs;
	struct iset s = { 0 };
	struct side src = { 0 }, dst = { 0 };
	bool orphan = false;
	int rc = side_find(fs, &s, &src, a->parent->ino, a->name, cr);

	if (rc == 0)
		rc = side_find(fs, &s, &dst, a->parent2->ino, a->name2, cr);
	if (rc == 0)
		rc = rename_check(fs, a, &src, &dst);
	if (rc)
		return rc;
	/* the same inode under both names: nothing to do (POSIX) */
	if (dst.exists && src.de_ino == dst.de_ino)
		return 0;
	if (dst.exists)
		rc = bfs_orphan_path(fs, dst.de_ino);
	if (rc == 0)
		rc = bfs_space_check(op, 3 * bfs_tree_split_need(fs));
	if (rc)
		return rc;
	if (a->flags & RENAME_EXCHANGE)
		rc = apply_exchange(fs, &s, &src, &dst, a->name, a->name2);
	else
		rc = apply_move(fs, &s, &src, &dst, a->name2, &orphan);
	iset_dirty(&s, src.pd, true, true);
	iset_dirty(&s, dst.pd, true, true);
	if (rc == 0)
		rc = iset_write(fs, &s);
	rc = bfs_apply_check(fs, rc);
	if (rc == 0 && orphan)
		bfs_unlinked(fs, dst.de_ino);
	return rc;
}
