// SPDX-License-Identifier: MIT
/*
 * attr.c - SETATTR: mode, owner, times, and size.  A size change joins the
 * inode's write queue; shrinking zeroes the tail of the new last block
 * first, then changes the size (with an ORPHAN item when extents have to
 * go) in one step, then cuts the extents in bounded steps.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "bfs_io.h"
#include "bfs_names.h"
#include "bfs_xattr.h"

enum { SA_START, SA_META, SA_CUT };

static int owner_ok(const struct fs_cred *cr, const struct bfs_dinode *d)
{
	return cr->uid == 0 || cr->uid == d->uid ? 0 : -EPERM;
}

static int check_times(struct bfs_op *op, const struct fs_setattr *s,
		       const struct bfs_dinode *d)
{
	const struct fs_cred *cr = &op->call->cred;
	uint64_t ino = BFS_ARGS(op, struct bfs_io_args)->inode->ino;

	uint32_t expl = FS_SET_ATIME | FS_SET_MTIME;
	uint32_t now = FS_SET_ATIME_NOW | FS_SET_MTIME_NOW;

	if ((s->valid & expl) & ~((s->valid & now) >> 2))
		return owner_ok(cr, d);
	if (s->valid & now && owner_ok(cr, d))
		return bfs_perm_acl(op->fs, ino, cr, d, W_OK);
	return 0;
}

static int check(struct bfs_op *op, const struct bfs_dinode *d)
{
	struct bfs_io_args *a = BFS_ARGS(op, struct bfs_io_args);
	const struct fs_cred *cr = &op->call->cred;
	const struct fs_setattr *s = a->set;
	int rc = 0;

	if ((s->valid & FS_SET_MODE) && owner_ok(cr, d))
		return -EPERM;
	if ((s->valid & FS_SET_UID) && s->uid != d->uid && cr->uid)
		return -EPERM;
	if ((s->valid & FS_SET_GID) && s->gid != d->gid && cr->uid &&
	    (cr->uid != d->uid || s->gid != cr->gid))
		return -EPERM;
	if (s->valid & FS_SET_SIZE) {
		if (S_ISDIR(d->mode))
			return -EISDIR;
		if (!S_ISREG(d->mode))
			return -EINVAL;
		if (!a->file)
			rc = bfs_perm_acl(op->fs, a->inode->ino, cr, d, W_OK);
	}
	return rc ? rc : check_times(op, s, d);
}

static void set_time(int64_t *sec, uint32_t *ns, const struct timespec *t)
{
	*sec = t->tv_sec;
	*ns = (uint32_t)t->tv_nsec;
}

static void apply_meta(struct bfs_op *op, struct bfs_dinode *d)
{
	const struct fs_setattr *s = BFS_ARGS(op, struct bfs_io_args)->set;
	const struct fs_cred *cr = &op->call->cred;
	struct timespec now;

	bfs_now(&now);
	if (s->valid & FS_SET_MODE) {
		d->mode = (d->mode & S_IFMT) | (s->mode & 07777);
		if (cr->uid && cr->gid != d->gid)
			d->mode &= ~(uint32_t)S_ISGID;
	}
	if (s->valid & (FS_SET_UID | FS_SET_GID) && !S_ISDIR(d->mode)) {
		d->mode &= ~(uint32_t)S_ISUID;
		if (d->mode & S_IXGRP)
			d->mode &= ~(uint32_t)S_ISGID;
	}
	if (s->valid & FS_SET_UID)
		d->uid = s->uid;
	if (s->valid & FS_SET_GID)
		d->gid = s->gid;
	if (s->valid & FS_SET_ATIME)
		set_time(&d->atime, &d->atime_ns,
			 s->valid & FS_SET_ATIME_NOW ? &now : &s->atime);
	if (s->valid & FS_SET_MTIME)
		set_time(&d->mtime, &d->mtime_ns,
			 s->valid & FS_SET_MTIME_NOW ? &now : &s->mtime);
	if (s->valid & FS_SET_KILL_SUIDGID) {
		d->mode &= ~(uint32_t)S_ISUID;
		if (d->mode & S_IXGRP)
			d->mode &= ~(uint32_t)S_ISGID;
	}
	set_time(&d->ctime, &d->ctime_ns,
		 s->valid & FS_SET_CTIME ? &s->ctime : &now);
	if (s->valid & FS_SET_SIZE) {
		if (s->size != d->size)
			set_time(&d->mtime, &d->mtime_ns, &now);
		d->size = s->size;
	}
}

static void sa_finish(struct bfs_op *op, int err, const struct bfs_dinode *d)
{
	struct bfs_io_args *a = BFS_ARGS(op, struct bfs_io_args);

	if (!err && d && a->attr)
		bfs_dinode_to_stat(d, a->inode->ino, a->attr);
	if (a->owner) {
		a->owner = false;
		bfs_wq_leave(op->fs, a->inode);
	}
	if (a->then) {
		a->then(op, err);
		return;
	}
	bfs_op_done(op, err);
}

static void sa_zeroed(struct bfs_op *op, int err)
{
	struct bfs_io_args *a = BFS_ARGS(op, struct bfs_io_args);

	a->then = NULL;
	if (err) {
		sa_finish(op, err, NULL);
		return;
	}
	a->stage = SA_META;
	op->run = bfs_setattr_run;
	bfs_op_run(op);
}

/* Shrinking into the middle of a mapped block: zero its tail first. */
static int sa_zero_tail(struct bfs_op *op, const struct bfs_dinode *d)
{
	struct bfs_io_args *a = BFS_ARGS(op, struct bfs_io_args);
	uint64_t n = a->set->size;
	uint64_t end = (n / BFS_BLOCK + 1) * BFS_BLOCK;

	a->stage = SA_META;
	if (!(a->set->valid & FS_SET_SIZE) || n >= d->size || !(n % BFS_BLOCK) ||
	    (d->flags & BFS_INODE_INLINE))
		return 0;
	a->off = n;
	a->total = (end < d->size ? end : d->size) - n;
	a->done = 0;
	a->iov = NULL;
	a->out = NULL;
	a->then = sa_zeroed;
	op->run = bfs_write_run; /* keeps the write queue */
	return bfs_write_run(op);
}

static int sa_cut(struct bfs_op *op, const struct bfs_dinode *d)
{
	struct bfs_io_args *a = BFS_ARGS(op, struct bfs_io_args);
	struct bfs *fs = op->fs;
	uint64_t from = (d->size + BFS_BLOCK - 1) / BFS_BLOCK;
	struct bfs_key ok = bfs_key_make(0, BFS_T_ORPHAN, a->inode->ino);
	struct bfs_dinode now;
	struct bfs_path p;
	int rc;

	do {
		rc = bfs_cut_step(fs, a->inode->ino, false, from);
	} while (rc == -EINPROGRESS);
	if (rc == 0)
		rc = bfs_tree_search(fs, ok, &p);
	if (rc == 0)
		rc = bfs_apply_check2(fs, bfs_tree_delete(fs, ok));
	else if (rc == -ENOENT)
		rc = 0;
	if (rc == BFS_AGAIN)
		return rc;
	if (rc == 0)
		rc = bfs_dinode_read(fs, a->inode->ino, &now);
	if (rc == BFS_AGAIN)
		return rc;
	sa_finish(op, rc, rc ? NULL : &now);
	return BFS_ASYNC;
}

/* One step: the new attributes, the orphan when extents must go. */
static int sa_meta(struct bfs_op *op, struct bfs_dinode *d)
{
	struct bfs_io_args *a = BFS_ARGS(op, struct bfs_io_args);
	struct bfs *fs = op->fs;
	bool shrink = (a->set->valid & FS_SET_SIZE) && a->set->size < d->size;
	bool cut = shrink && !(d->flags & BFS_INODE_INLINE);
	uint8_t buf[BFS_INLINE_FILE_MAX];
	uint64_t keep = a->set->size < sizeof(buf) ? a->set->size : sizeof(buf);
	struct bfs_acl_chmod cm = { .have = false };
	int rc = 0;

	/* chmod changes the ACL's owner, mask and other entries too */
	if (a->set->valid & FS_SET_MODE)
		rc = bfs_acl_chmod_prepare(fs, a->inode->ino, d, &cm);
	if (rc == 0 && shrink && !cut)
		rc = bfs_inline_read(fs, a->inode->ino, 0, buf, keep);
	if (rc == 0 && shrink && !cut)
		rc = bfs_inline_paths(fs, a->inode->ino, 4 * BFS_INLINE_CHUNK);
	if (rc == 0 && cut)
		rc = bfs_orphan_path(fs, a->inode->ino);
	if (rc == 0)
		rc = bfs_space_check(op, 3 * bfs_tree_split_need(fs));
	if (rc)
		return rc;
	apply_meta(op, d);
	rc = bfs_acl_chmod_apply(fs, &cm, d->mode);
	if (rc == 0 && shrink && !cut)
		rc = bfs_inline_store(fs, a->inode->ino, buf, keep);
	if (rc == 0 && cut)
		rc = bfs_orphan_add(fs, a->inode->ino);
	if (rc == 0)
		rc = bfs_dinode_write(fs, a->inode->ino, d);
	rc = bfs_apply_check2(fs, rc);
	if (rc == 0 && cut) {
		a->stage = SA_CUT;
		return sa_cut(op, d);
	}
	sa_finish(op, rc, rc ? NULL : d);
	return BFS_ASYNC;
}

int bfs_setattr_run(struct bfs_op *op)
{
	struct bfs_io_args *a = BFS_ARGS(op, struct bfs_io_args);
	struct bfs_dinode d;
	int rc = 0;

	if (a->set->valid & FS_SET_SIZE)
		rc = bfs_wq_enter(op, a->inode, &a->owner);
	if (rc == 0)
		rc = bfs_dinode_read(op->fs, a->inode->ino, &d);
	if (rc == 0 && a->stage == SA_START) {
		rc = check(op, &d);
		if (rc == 0)
			rc = sa_zero_tail(op, &d);
		if (rc == 0)
			return bfs_setattr_run(op);
	}
	if (rc == 0 && a->stage == SA_META)
		return sa_meta(op, &d);
	if (rc == 0 && a->stage == SA_CUT)
		return sa_cut(op, &d);
	if (rc == BFS_AGAIN || rc == BFS_ASYNC)
		return rc;
	sa_finish(op, rc, NULL);
	return BFS_ASYNC;
}
