// SPDX-License-Identifier: MIT
/*
 * write.c - WRITE in pieces (see data.c): prepare a piece (map, reserve),
 * do its device I/O, then apply its metadata (extent, size, times) as a
 * step of its own that may run again after a miss.
 *
 * A block of a shared extent (copy.c) that another extent still
 * references is copied on write: the piece (one block) goes to a new
 * block, and its apply splits the extent around it and drops a reference
 * of the old block (freeing it if that was the last).
 */
#include <errno.h>
#include <string.h>

#include "bfs_io.h"
#include "bfs_refcount.h"

static int write_apply_run(struct bfs_op *op);

static void write_finish(struct bfs_op *op, int err)
{
	struct bfs_io_args *a = BFS_ARGS(op, struct bfs_io_args);
	struct bfs *fs = op->fs;
	bool lazy;

	if (a->rw)
		bfs_rw_put(fs, a->rw);
	a->rw = NULL;
	if (!err && a->out)
		*a->out = a->done;
	/* an overwrite in place changed only times and size: lazy commit */
	lazy = a->shared && !a->mode_set;
	bfs_write_leave(fs, a);
	if (a->done && !err && lazy)
		bfs_commit_kick_lazy(fs);
	else if (a->done && !err)
		bfs_commit_kick(fs);
	if (a->then) {
		a->then(op, err);
		return;
	}
	bfs_op_done(op, err);
}

static void write_fail(struct bfs_op *op, int err)
{
	struct bfs_io_args *a = BFS_ARGS(op, struct bfs_io_args);

	if (a->rw && a->rw->fresh)
		bfs_alloc_unreserve(op->fs, a->rw->disk, a->rw->nblk);
	write_finish(op, err);
}

static void write_cpl(void *arg, int err)
{
	struct bfs_op *op = arg;
	struct bfs_rw *rw = BFS_ARGS(op, struct bfs_io_args)->rw;

	if (!err && rw->fresh) /* the store allocated their clusters */
		bfs_alloc_data_done(op->fs, rw->disk, rw->nblk);
	if (err) {
		write_fail(op, err);
		return;
	}
	op->run = write_apply_run;
	bfs_op_run(op);
}

/* Fill the bounce with the piece's new bytes (old contents around them). */
static int patch(struct bfs_rw *rw)
{
	uint8_t *at = rw->bounce + rw->boff;

	if (rw->zero_src) {
		memset(at, 0, rw->blen);
		return 0;
	}
	return iov_cursor_read(&rw->cur, at, rw->blen);
}

static void rmw_read_cpl(void *arg, int err)
{
	struct bfs_op *op = arg;
	struct bfs_rw *rw = BFS_ARGS(op, struct bfs_io_args)->rw;

	if (!err)
		err = patch(rw);
	if (err) {
		write_fail(op, err);
		return;
	}
	blob_writev(op->fs->ch, op->fs->vol, &rw->io, rw->iov, 1,
		    rw->disk * BFS_BLOCK, write_cpl, op);
}

/*
 * New blocks for a piece.  Without room (in the volume or the store) the
 * write waits once for a checkpoint when frees are on their way back.
 */
static int reserve(struct bfs_op *op, struct bfs_rw *rw,
		   const struct bfs_map *m, uint64_t want)
{
	struct bfs *fs = op->fs;
	uint64_t near = m->has_prev ? m->prev.disk + m->prev.count : 0;
	uint32_t got;
	int rc = bfs_alloc_reserve_data(fs, near, (uint32_t)want, &rw->disk,
					&got);

	if (rc == -ENOSPC)
		return bfs_space_check(op, UINT64_MAX);
	if (rc)
		return rc;
	rw->nblk = got;
	rw->fresh = true;
	rw->merge = m->has_prev && near == rw->disk &&
		    m->prev.count + got <= BFS_EXT_MAX;
	rw->prev_key = m->prev_key;
	rw->prev = m->prev;
	return 0;
}

/* A partial block: read (or zero) it, patch, write it. */
static int piece_partial(struct bfs_op *op, struct bfs_rw *rw,
			 const struct bfs_map *m, uint64_t pos, uint64_t want)
{
	struct bfs *fs = op->fs;
	int rc;

	rw->boff = (uint32_t)(pos % BFS_BLOCK);
	rw->blen = (uint32_t)(want < BFS_BLOCK - rw->boff ? want
							  : BFS_BLOCK - rw->boff);
	rw->bytes = rw->blen;
	rw->iov[0].iov_base = rw->bounce;
	rw->iov[0].iov_len = BFS_BLOCK;
	rw->niov = 1;
	if (m->disk && !m->unwritten) {
		rw->disk = m->disk;
		rw->nblk = 1;
		if (rw->cow) { /* read the shared block, write a new one */
			rc = reserve(op, rw, m, 1);
			if (rc)
				return rc;
			rw->merge = false;
		}
		blob_readv(fs->ch, fs->vol, &rw->io, rw->iov, 1,
			   m->disk * BFS_BLOCK, rmw_read_cpl, op);
		return BFS_ASYNC;
	}
	if (m->unwritten)
		return -EOPNOTSUPP; /* fallocate does not exist yet */
	rc = reserve(op, rw, m, 1);
	if (rc)
		return rc;
	memset(rw->bounce, 0, BFS_BLOCK);
	rc = patch(rw);
	if (rc)
		return rc;
	blob_writev(fs->ch, fs->vol, &rw->io, rw->iov, 1, rw->disk * BFS_BLOCK,
		    write_cpl, op);
	return BFS_ASYNC;
}

/* Whole blocks: straight from the iovecs when aligned. */
static int piece_full(struct bfs_op *op, struct bfs_rw *rw,
		      const struct bfs_map *m, uint64_t want)
{
	struct bfs *fs = op->fs;
	uint64_t n = want / BFS_BLOCK;
	int rc;

	n = n < m->len ? n : m->len;
	n = n < BFS_PIECE_MAX ? n : BFS_PIECE_MAX;
	if (m->unwritten)
		return -EOPNOTSUPP;
	if (rw->cow) {
		rc = reserve(op, rw, m, 1);
		if (rc)
			return rc;
		rw->merge = false;
		n = 1;
	} else if (m->disk) {
		rw->disk = m->disk;
		rw->nblk = (uint32_t)n;
	} else {
		rc = reserve(op, rw, m, n);
		if (rc)
			return rc;
		n = rw->nblk;
	}
	rw->bounced = !bfs_slice_aligned(fs, rw, n * BFS_BLOCK);
	if (rw->bounced) {
		if (n > BFS_BOUNCE_BLOCKS) {
			if (rw->fresh)
				bfs_alloc_unreserve(fs, rw->disk + BFS_BOUNCE_BLOCKS,
						    (uint32_t)(n - BFS_BOUNCE_BLOCKS));
			n = BFS_BOUNCE_BLOCKS;
			rw->nblk = (uint32_t)n;
		}
		rc = iov_cursor_read(&rw->cur, rw->bounce, n * BFS_BLOCK);
		if (rc)
			return rc;
		rw->iov[0].iov_base = rw->bounce;
		rw->iov[0].iov_len = n * BFS_BLOCK;
		rw->niov = 1;
	}
	rw->bytes = (uint32_t)(n * BFS_BLOCK);
	blob_writev(fs->ch, fs->vol, &rw->io, rw->iov, rw->niov,
		    rw->disk * BFS_BLOCK, write_cpl, op);
	return BFS_ASYNC;
}

static void kill_suid(struct bfs_io_args *a, struct bfs_dinode *d)
{
	uint32_t mode = d->mode;

	if (!(a->wflags & FS_WRITE_KILL_SUIDGID))
		return;
	d->mode &= ~(uint32_t)S_ISUID;
	if (d->mode & S_IXGRP)
		d->mode &= ~(uint32_t)S_ISGID;
	a->mode_set |= d->mode != mode;
}

/* A small file stays inline: no data I/O, one atomic step. */
static int write_inline(struct bfs_op *op, struct bfs_io_args *a,
			struct bfs_dinode *d)
{
	struct bfs *fs = op->fs;
	uint8_t buf[BFS_INLINE_FILE_MAX];
	uint64_t end = a->off + a->total;
	uint64_t old = d->size < sizeof(buf) ? d->size : sizeof(buf);
	uint64_t len = end > old ? end : old;
	int rc = bfs_inline_read(fs, a->inode->ino, 0, buf, len);

	if (rc == 0)
		rc = bfs_inline_paths(fs, a->inode->ino, 4 * BFS_INLINE_CHUNK);
	if (rc == 0)
		rc = bfs_space_check(op, 3 * bfs_tree_split_need(fs));
	if (rc == 0)
		rc = iov_cursor_read(&a->rw->cur, buf + a->off, a->total);
	if (rc)
		return rc;
	rc = bfs_inline_store(fs, a->inode->ino, buf, len);
	d->size = end > d->size ? end : d->size;
	bfs_touch(d, true, true);
	kill_suid(a, d);
	if (rc == 0)
		rc = bfs_dinode_write(fs, a->inode->ino, d);
	a->done = a->total;
	return bfs_apply_check2(fs, rc);
}

/* Inline bytes move to block 0 before the file grows past them. */
static int piece_convert(struct bfs_op *op, struct bfs_io_args *a,
			 struct bfs_dinode *d)
{
	struct bfs *fs = op->fs;
	struct bfs_rw *rw = a->rw;
	struct bfs_map m = { .len = 1 };
	int rc;

	if (d->size == 0) { /* nothing to move */
		d->flags &= ~BFS_INODE_INLINE;
		return bfs_apply_check2(fs, bfs_dinode_write(fs, a->inode->ino,
							     d));
	}
	rc = bfs_inline_read(fs, a->inode->ino, 0, rw->bounce, BFS_BLOCK);
	if (rc == 0)
		rc = reserve(op, rw, &m, 1);
	if (rc)
		return rc;
	rw->convert = true;
	rw->fblk = 0;
	rw->iov[0].iov_base = rw->bounce;
	rw->iov[0].iov_len = BFS_BLOCK;
	blob_writev(fs->ch, fs->vol, &rw->io, rw->iov, 1, rw->disk * BFS_BLOCK,
		    write_cpl, op);
	return BFS_ASYNC;
}

/*
 * A block of a shared extent: copied first (one block a piece) while
 * another extent references it; otherwise written in place, with the
 * piece cut before the next block that is shared.
 */
static int cow_check(struct bfs *fs, struct bfs_rw *rw, struct bfs_map *m)
{
	uint32_t refs;
	uint64_t k = 1;
	int rc = bfs_ref_get(fs, m->disk, &refs);

	while (rc == 0 && refs < 2 && k < m->len && k < BFS_REF_BATCH) {
		uint32_t r2;

		rc = bfs_ref_get(fs, m->disk + k, &r2);
		if (rc == 0 && r2 >= 2)
			break;
		k++;
	}
	if (rc)
		return rc;
	m->len = refs < 2 ? k : 1;
	if (refs < 2)
		return 0;
	rw->cow = true;
	rw->old = m->disk;
	rw->ext_key = m->key;
	rw->ext = m->ext;
	return 0;
}

static int write_piece(struct bfs_op *op, struct bfs_io_args *a,
		       struct bfs_dinode *d)
{
	struct bfs *fs = op->fs;
	uint64_t pos = a->off + a->done, want = a->total - a->done;
	struct bfs_rw *rw = a->rw;
	struct bfs_map m;
	int rc;

	if (d->flags & BFS_INODE_INLINE) {
		if (pos + want <= BFS_INLINE_FILE_MAX)
			return write_inline(op, a, d);
		return piece_convert(op, a, d);
	}
	rc = bfs_map(fs, a->inode->ino, pos / BFS_BLOCK, &m);
	if (rc == 0 && m.disk && m.shared && !m.unwritten)
		rc = cow_check(fs, rw, &m);
	if (rc)
		return rc;
	rw->fblk = pos / BFS_BLOCK;
	if (rw->zero_src && !m.disk) {
		a->done = a->total; /* a hole reads as zeros already */
		return 0;
	}
	if (pos % BFS_BLOCK || want < BFS_BLOCK || rw->zero_src)
		return piece_partial(op, rw, &m, pos, want);
	return piece_full(op, rw, &m, want);
}

int bfs_write_run(struct bfs_op *op)
{
	struct bfs_io_args *a = BFS_ARGS(op, struct bfs_io_args);
	struct bfs_dinode d;
	bool zero;
	int rc = bfs_write_enter(op, a);

	if (rc)
		return rc;
	if (!a->rw) {
		if (a->iov) /* else: zeros, a->total set by the caller */
			a->total = iov_length(a->iov, a->iovcnt);
		a->rw = bfs_rw_get(op->fs);
		if (!a->rw) {
			write_finish(op, -ENOMEM);
			return BFS_ASYNC;
		}
		iov_cursor_init(&a->rw->cur, a->iov, a->iovcnt);
		a->rw->zero_src = a->iov == NULL;
	}
	zero = a->rw->zero_src;
	memset(&a->rw->disk, 0, sizeof(*a->rw) - offsetof(struct bfs_rw, disk));
	a->rw->zero_src = zero;
	if (a->done >= a->total) {
		write_finish(op, 0);
		return BFS_ASYNC;
	}
	rc = bfs_dinode_read(op->fs, a->inode->ino, &d);
	if (rc == 0)
		rc = write_piece(op, a, &d);
	if (rc == 0 && a->done < a->total)
		return bfs_write_run(op); /* a synchronous piece: go on */
	if (rc == BFS_AGAIN || rc == BFS_ASYNC)
		return rc;
	if (rc == 0) {
		write_finish(op, 0);
		return BFS_ASYNC;
	}
	write_fail(op, rc);
	return BFS_ASYNC;
}

/* --- after a piece's I/O: its metadata --------------------------------------- */

/* The extent keeps its shape while the writer holds the inode. */
static int cow_paths(struct bfs *fs, struct bfs_io_args *a)
{
	struct bfs_rw *rw = a->rw;
	struct bfs_path p;
	int rc = bfs_tree_search(fs, rw->ext_key, &p);

	if (rc == -ENOENT)
		return -EUCLEAN;
	for (uint64_t f = rw->fblk; rc == 0 && f <= rw->fblk + 1; f++) {
		rc = bfs_tree_search(fs, bfs_key_make(a->inode->ino,
						      BFS_T_EXTENT, f), &p);
		rc = rc == -ENOENT ? 0 : rc;
	}
	return rc ? rc : bfs_ref_paths(fs, rw->old, 1);
}

static int apply_paths(struct bfs *fs, struct bfs_io_args *a)
{
	struct bfs_rw *rw = a->rw;
	struct bfs_path p;
	int rc = 0;

	if (rw->fresh && rw->merge) {
		rc = bfs_tree_search(fs, rw->prev_key, &p);
		if (rc == -ENOENT)
			rw->merge = false;
		else if (rc)
			return rc;
	}
	if (rw->fresh && !rw->merge && !rw->cow) {
		rc = bfs_tree_search(
			fs, bfs_key_make(a->inode->ino, BFS_T_EXTENT, rw->fblk),
			&p);
		rc = rc == -ENOENT ? 0 : rc == 0 ? -EUCLEAN : rc;
	}
	if (rc == 0 && rw->convert)
		rc = bfs_inline_paths(fs, a->inode->ino, 4 * BFS_INLINE_CHUNK);
	if (rc == 0 && rw->cow)
		rc = cow_paths(fs, a);
	return rc;
}

static int apply_extent(struct bfs *fs, struct bfs_io_args *a,
			struct bfs_dinode *d)
{
	struct bfs_rw *rw = a->rw;
	struct bfs_dextent e = { .disk = rw->disk, .count = rw->nblk };
	int rc;

	if (rw->merge) {
		rw->prev.count += rw->nblk;
		rc = bfs_tree_update(fs, rw->prev_key, &rw->prev,
				     sizeof(rw->prev));
	} else {
		rc = bfs_tree_insert(
			fs, bfs_key_make(a->inode->ino, BFS_T_EXTENT, rw->fblk),
			&e, sizeof(e));
	}
	bfs_alloc_commit(fs, rw->disk, rw->nblk);
	d->blocks += rw->nblk;
	rw->fresh = false;
	return rc;
}

/* Split the extent around the copied block; drop the old block's ref. */
static int apply_cow(struct bfs *fs, struct bfs_io_args *a)
{
	struct bfs_rw *rw = a->rw;
	uint64_t ino = a->inode->ino, idx = rw->fblk - bfs_key_off(rw->ext_key);
	struct bfs_dextent e = rw->ext;
	struct bfs_dextent mid = { .disk = rw->disk, .count = 1 };
	struct bfs_dextent right = { .disk = e.disk + idx + 1,
				     .count = (uint32_t)(e.count - idx - 1),
				     .flags = e.flags };
	bool last = false;
	int rc;

	if (idx == 0) {
		rc = bfs_tree_update(fs, rw->ext_key, &mid, sizeof(mid));
	} else {
		e.count = (uint32_t)idx;
		rc = bfs_tree_update(fs, rw->ext_key, &e, sizeof(e));
		if (rc == 0)
			rc = bfs_tree_insert(fs, bfs_key_make(ino, BFS_T_EXTENT,
							      rw->fblk),
					     &mid, sizeof(mid));
	}
	if (rc == 0 && right.count)
		rc = bfs_tree_insert(fs, bfs_key_make(ino, BFS_T_EXTENT,
						      rw->fblk + 1),
				     &right, sizeof(right));
	if (rc == 0)
		rc = bfs_ref_dec(fs, rw->old, &last);
	if (rc == 0 && last) /* the other owners went meanwhile */
		bfs_alloc_free(fs, rw->old, 1);
	bfs_alloc_commit(fs, rw->disk, 1);
	rw->fresh = false;
	return rc;
}

static int write_apply_run(struct bfs_op *op)
{
	struct bfs_io_args *a = BFS_ARGS(op, struct bfs_io_args);
	struct bfs *fs = op->fs;
	struct bfs_rw *rw = a->rw;
	struct bfs_dinode d;
	int rc = bfs_dinode_read(fs, a->inode->ino, &d);

	if (rc == 0)
		rc = apply_paths(fs, a);
	if (rc == 0)
		rc = bfs_space_check(op, (rw->cow ? 3 : 2) *
					     bfs_tree_split_need(fs));
	if (rc == BFS_AGAIN || rc == BFS_ASYNC)
		return rc;
	if (rc) {
		write_fail(op, rc);
		return BFS_ASYNC;
	}
	if (rw->cow)
		rc = apply_cow(fs, a);
	else if (rw->fresh)
		rc = apply_extent(fs, a, &d);
	if (rw->convert) {
		if (rc == 0)
			rc = bfs_inline_store(fs, a->inode->ino, NULL, 0);
		d.flags &= ~BFS_INODE_INLINE;
	} else {
		uint64_t end = a->off + a->done + rw->bytes;

		if (!rw->zero_src && end > d.size)
			d.size = end;
		a->done += rw->bytes;
		bfs_touch(&d, !rw->zero_src, true);
		kill_suid(a, &d);
	}
	if (rc == 0)
		rc = bfs_dinode_write(fs, a->inode->ino, &d);
	rc = bfs_apply_check2(fs, rc);
	if (rc) {
		write_finish(op, rc);
		return BFS_ASYNC;
	}
	op->run = bfs_write_run;
	return bfs_write_run(op);
}
