// SPDX-License-Identifier: MIT
/*
 * falloc.c - fallocate: mode 0 and FALLOC_FL_KEEP_SIZE (allocate),
 * FALLOC_FL_PUNCH_HOLE (free whole blocks, zero the partial edges) and
 * FALLOC_FL_ZERO_RANGE (zeros over the range, allocated).
 *
 * Allocated blocks are written with zeros before their EXTENT item is
 * inserted (FORMAT.md F1), so they read as zeros and a crash never shows
 * stale data; UNWRITTEN extents are not used, because the write path does
 * not convert them.  With KEEP_SIZE, blocks may stay past the end of the
 * file.  Blocks another extent shares (copy.c) are never written in place:
 * zeroing one copies it to a new block that replaces it in this file's
 * extent (its reference dropped), and punching drops references.  The
 * operation holds the inode's write queue, works in pieces of at most
 * FA_PIECE blocks (each piece's metadata one atomic step), and checks the
 * space it needs before it changes anything: -ENOSPC leaves the file as it
 * was.  A crash in the middle leaves a consistent file with
 * part of the range done, as on a local fs.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>

#include "bfs_io.h"
#include "bfs_ops_ext.h"
#include "bfs_refcount.h"
#include "bfs_xattr.h"

#define FA_PIECE 64u /* blocks per zero write (iovecs of fs->zero) */
#define FA_BATCH 8u  /* extents changed by one punch step */
#define B ((uint64_t)BFS_BLOCK)

enum { FA_START, FA_CONVERT, FA_HEAD, FA_TAIL, FA_BODY, FA_EXTENT, FA_PUNCH,
       FA_REPLACE, FA_FINISH };

struct fa_io {
	struct blob_io io;
	struct iovec iov[FA_PIECE];
	uint8_t *bounce;
	uint64_t disk;       /* first device block of the piece */
	uint64_t src;        /* read-modify-write: the block read */
	uint32_t n;          /* its blocks */
	uint32_t adv;        /* blocks the cursor moves when the I/O is done */
	uint32_t then;       /* stage after the I/O */
	uint32_t zoff, zlen; /* read-modify-write: bytes to zero */
	bool fresh;          /* reserved blocks: an extent to insert */
	bool merge;          /* grow @prev instead */
	/* replace: file blocks [fblk, fblk + n) of extent @ext_key get @disk */
	uint64_t fblk;
	uint32_t after;      /* the stage after the replace */
	uint32_t radv;       /* blocks the cursor moves after it */
	struct bfs_key ext_key;
	struct bfs_dextent ext;
	struct bfs_key prev_key;
	struct bfs_dextent prev;
};

struct fa_args {
	struct bfs_file *file;
	struct bfs_inode *inode;
	uint64_t off, end; /* bytes */
	uint64_t pos;      /* block cursor */
	uint64_t last;     /* block limit of the body */
	struct fa_io *io;
	int mode;
	uint32_t stage;
	bool owner;        /* holds the inode's write queue */
};
BFS_ARGS_FIT(struct fa_args);

static struct fa_args *fargs(struct bfs_op *op)
{
	return BFS_ARGS(op, struct fa_args);
}

static bool punch(const struct fa_args *a)
{
	return a->mode & FALLOC_FL_PUNCH_HOLE;
}

static bool zero(const struct fa_args *a)
{
	return a->mode & FALLOC_FL_ZERO_RANGE;
}

static void fa_finish(struct bfs_op *op, int err)
{
	struct fa_args *a = fargs(op);
	struct bfs *fs = op->fs;

	if (a->io) {
		if (a->io->fresh)
			bfs_alloc_unreserve(fs, a->io->disk, a->io->n);
		free(a->io->bounce);
		free(a->io);
		a->io = NULL;
	}
	if (a->owner) {
		a->owner = false;
		bfs_wq_leave(fs, a->inode);
	}
	bfs_commit_kick(fs);
	bfs_op_done(op, err);
}

static int fa_run(struct bfs_op *op);

static void io_cpl(void *arg, int err)
{
	struct bfs_op *op = arg;
	struct fa_args *a = fargs(op);

	if (!err && a->io->fresh) /* the store allocated their clusters */
		bfs_alloc_data_done(op->fs, a->io->disk, a->io->n);
	if (err) {
		fa_finish(op, err);
		return;
	}
	a->pos += a->io->adv;
	a->stage = a->io->then;
	bfs_op_run(op);
}

/* Write @n zero blocks at @disk (fs->zero as every iovec). */
static int zero_write(struct bfs_op *op, uint64_t disk, uint32_t n,
		      uint32_t adv, uint32_t then)
{
	struct bfs *fs = op->fs;
	struct fa_io *io = fargs(op)->io;

	for (uint32_t i = 0; i < n; i++) {
		io->iov[i].iov_base = fs->zero;
		io->iov[i].iov_len = BFS_BLOCK;
	}
	io->adv = adv;
	io->then = then;
	blob_writev(fs->ch, fs->vol, &io->io, io->iov, n, disk * B, io_cpl, op);
	return BFS_ASYNC;
}

static void rmw_read_cpl(void *arg, int err)
{
	struct bfs_op *op = arg;
	struct fa_io *io = fargs(op)->io;
	struct bfs *fs = op->fs;

	if (err) {
		fa_finish(op, err);
		return;
	}
	memset(io->bounce + io->zoff, 0, io->zlen);
	blob_writev(fs->ch, fs->vol, &io->io, io->iov, 1, io->disk * B, io_cpl,
		    op);
}

/* Zero bytes [@from, @to) of file block @fblk: read @src, write @disk. */
static int rmw(struct bfs_op *op, uint64_t disk, uint64_t src, uint64_t fblk,
	       uint64_t from, uint64_t to, uint32_t adv, uint32_t then)
{
	struct bfs *fs = op->fs;
	struct fa_io *io = fargs(op)->io;

	io->disk = disk;
	io->src = src;
	io->zoff = (uint32_t)(from - fblk * B);
	io->zlen = (uint32_t)(to - from);
	io->adv = adv;
	io->then = then;
	io->iov[0].iov_base = io->bounce;
	io->iov[0].iov_len = BFS_BLOCK;
	blob_readv(fs->ch, fs->vol, &io->io, io->iov, 1, io->src * B,
		   rmw_read_cpl, op);
	return BFS_ASYNC;
}

/* New data blocks; without room, once wait for frees of a checkpoint. */
static int reserve(struct bfs_op *op, uint64_t near, uint64_t want,
		   uint32_t *got)
{
	struct fa_io *io = fargs(op)->io;
	int rc = bfs_alloc_reserve_data(op->fs, near, (uint32_t)want, &io->disk,
					got);

	if (rc == -ENOSPC)
		return bfs_space_check(op, UINT64_MAX);
	if (rc)
		return rc;
	io->n = *got;
	io->fresh = true;
	return 0;
}

/* Apply: blocks [start, start + n) of extent @e leave the file. */
static int drop(struct bfs *fs, const struct bfs_dextent *e, uint64_t start,
		uint64_t n)
{
	if (e->flags & BFS_EXT_SHARED)
		return bfs_ref_drop_run(fs, start, n);
	bfs_alloc_free(fs, start, (uint32_t)n);
	return 0;
}

/* Is the mapped block @m starts at referenced by another extent too? */
static int shared_block(struct bfs *fs, const struct bfs_map *m, bool *cow)
{
	uint32_t refs = 1;
	int rc = m->shared ? bfs_ref_get(fs, m->disk, &refs) : 0;

	*cow = refs > 1;
	return rc;
}

/*
 * Copy on write of one shared block @m (file block @fblk): a new block
 * gets zeros, or (for [from, to) inside it) the old contents with that
 * part zeroed; then the replace step maps it instead and moves the
 * cursor by @adv.
 */
static int cow_start(struct bfs_op *op, const struct bfs_map *m,
		     uint64_t fblk, uint64_t from, uint64_t to, uint32_t adv,
		     uint32_t after)
{
	struct fa_io *io = fargs(op)->io;
	uint32_t got;
	int rc = reserve(op, 0, 1, &got);

	if (rc)
		return rc;
	io->merge = false;
	io->fblk = fblk;
	io->radv = adv;
	io->after = after;
	io->ext_key = m->key;
	io->ext = m->ext;
	if (from == fblk * B && to == from + B)
		return zero_write(op, io->disk, 1, 0, FA_REPLACE);
	return rmw(op, io->disk, m->disk, fblk, from, to, 0, FA_REPLACE);
}

/* The metadata of a copy on write: split the extent around the block. */
static int replace_step(struct bfs_op *op, struct bfs_dinode *d)
{
	struct fa_args *a = fargs(op);
	struct fa_io *io = a->io;
	struct bfs *fs = op->fs;
	uint64_t ino = a->inode->ino, es = bfs_key_off(io->ext_key);
	uint64_t head = io->fblk - es, end = io->fblk + io->n;
	uint64_t tail = es + io->ext.count - end;
	struct bfs_dextent e = io->ext;
	struct bfs_dextent nw = { .disk = io->disk, .count = io->n };
	struct bfs_path p;
	int rc = bfs_tree_search(fs, io->ext_key, &p);

	rc = rc == -ENOENT ? -EUCLEAN : rc;
	for (uint64_t f = io->fblk; rc == 0 && f <= end; f += io->n) {
		rc = bfs_tree_search(fs, bfs_key_make(ino, BFS_T_EXTENT, f),
				     &p);
		rc = rc == -ENOENT || f == es ? 0 : rc;
	}
	if (rc == 0 && (e.flags & BFS_EXT_SHARED))
		rc = bfs_ref_paths(fs, e.disk + head, io->n);
	if (rc == 0)
		rc = bfs_space_check(op, 3 * bfs_tree_split_need(fs));
	if (rc)
		return rc;
	/* inserts first, then the update in place (same length) */
	if (tail) {
		struct bfs_dextent t = { e.disk + head + io->n, (uint32_t)tail,
					 e.flags };

		rc = bfs_tree_insert(fs, bfs_key_make(ino, BFS_T_EXTENT, end),
				     &t, sizeof(t));
	}
	if (rc == 0 && head) {
		struct bfs_key k = bfs_key_make(ino, BFS_T_EXTENT, io->fblk);

		rc = bfs_tree_insert(fs, k, &nw, sizeof(nw));
		e.count = (uint32_t)head;
		if (rc == 0)
			rc = bfs_tree_update(fs, io->ext_key, &e, sizeof(e));
	} else if (rc == 0) {
		rc = bfs_tree_update(fs, io->ext_key, &nw, sizeof(nw));
	}
	if (rc == 0)
		rc = drop(fs, &io->ext, io->ext.disk + head, io->n);
	bfs_alloc_commit(fs, io->disk, io->n);
	io->fresh = false;
	if (rc == 0)
		rc = bfs_dinode_write(fs, ino, d);
	a->pos += io->radv;
	a->stage = io->after;
	return bfs_apply_check2(fs, rc);
}

/* --- allocation: zeros into a hole, then its extent ---------------------- */

static int hole_fill(struct bfs_op *op, const struct bfs_map *m, uint64_t n)
{
	struct fa_io *io = fargs(op)->io;
	uint64_t near = m->has_prev ? m->prev.disk + m->prev.count : 0;
	uint32_t got;
	int rc = reserve(op, near, n, &got);

	if (rc)
		return rc;
	io->merge = m->has_prev && near == io->disk &&
		    m->prev.count + got <= BFS_EXT_MAX;
	io->prev_key = m->prev_key;
	io->prev = m->prev;
	return zero_write(op, io->disk, got, 0, FA_EXTENT);
}

/* The metadata step of a filled hole (may run again after a miss). */
static int extent_step(struct bfs_op *op, struct bfs_dinode *d)
{
	struct fa_args *a = fargs(op);
	struct fa_io *io = a->io;
	struct bfs *fs = op->fs;
	struct bfs_key k = bfs_key_make(a->inode->ino, BFS_T_EXTENT, a->pos);
	struct bfs_dextent e = { .disk = io->disk, .count = io->n };
	struct bfs_path p;
	int rc = -ENOENT;

	if (io->merge) {
		rc = bfs_tree_search(fs, io->prev_key, &p);
		io->merge = rc != -ENOENT;
	}
	if (!io->merge) {
		rc = bfs_tree_search(fs, k, &p);
		rc = rc == -ENOENT ? 0 : rc == 0 ? -EUCLEAN : rc;
	}
	if (rc == 0)
		rc = bfs_space_check(op, 2 * bfs_tree_split_need(fs));
	if (rc)
		return rc;
	if (io->merge) {
		io->prev.count += io->n;
		rc = bfs_tree_update(fs, io->prev_key, &io->prev,
				     sizeof(io->prev));
	} else {
		rc = bfs_tree_insert(fs, k, &e, sizeof(e));
	}
	bfs_alloc_commit(fs, io->disk, io->n);
	io->fresh = false;
	d->blocks += io->n;
	if (rc == 0)
		rc = bfs_dinode_write(fs, a->inode->ino, d);
	rc = bfs_apply_check2(fs, rc);
	a->pos += io->n;
	a->stage = FA_BODY;
	return rc;
}

/* Allocate (and with ZERO_RANGE zero) the blocks [pos, last). */
static int body_step(struct bfs_op *op)
{
	struct fa_args *a = fargs(op);
	struct bfs *fs = op->fs;

	while (a->pos < a->last) {
		uint64_t bstart = a->pos * B, n;
		/* the part of this block inside the range */
		uint64_t from = bstart < a->off ? a->off : bstart;
		uint64_t to = bstart + B > a->end ? a->end : bstart + B;
		struct bfs_map m;
		bool cow;
		int rc = bfs_map(fs, a->inode->ino, a->pos, &m);

		if (rc)
			return rc;
		n = m.len < a->last - a->pos ? m.len : a->last - a->pos;
		n = n < FA_PIECE ? n : FA_PIECE;
		if (!m.disk)
			return hole_fill(op, &m, n);
		if (!zero(a)) {
			a->pos += n;
			continue;
		}
		rc = shared_block(fs, &m, &cow);
		if (rc)
			return rc;
		if (cow)
			return cow_start(op, &m, a->pos, from, to, 1, FA_BODY);
		if (m.shared)
			n = 1; /* the next block may be shared */
		if (bstart < a->off || bstart + B > a->end)
			return rmw(op, m.disk, m.disk, a->pos, from, to, 1,
				   FA_BODY);
		if (a->end / B - a->pos < n)
			n = a->end / B - a->pos;
		return zero_write(op, m.disk, (uint32_t)n, (uint32_t)n,
				  FA_BODY);
	}
	a->stage = FA_FINISH;
	return 0;
}

/* --- punch: partial edges, then whole blocks freed in batches ------------- */

static int edge(struct bfs_op *op, uint64_t fblk, uint64_t from, uint64_t to,
		uint32_t then)
{
	struct fa_args *a = fargs(op);
	struct bfs_map m;
	bool cow;
	int rc = bfs_map(op->fs, a->inode->ino, fblk, &m);

	if (rc)
		return rc;
	a->stage = then;
	if (!m.disk || m.unwritten || from >= to)
		return 0;
	rc = shared_block(op->fs, &m, &cow);
	if (rc == 0 && cow)
		return cow_start(op, &m, fblk, from, to, 0, then);
	return rc ? rc : rmw(op, m.disk, m.disk, fblk, from, to, 0, then);
}

static int head_step(struct bfs_op *op)
{
	struct fa_args *a = fargs(op);
	uint64_t hb = a->off / B, to = (hb + 1) * B;

	if (a->off % B == 0) {
		a->stage = FA_TAIL;
		return 0;
	}
	return edge(op, hb, a->off, to < a->end ? to : a->end, FA_TAIL);
}

static int tail_step(struct bfs_op *op)
{
	struct fa_args *a = fargs(op);
	uint64_t tb = a->end / B;

	a->pos = (a->off + B - 1) / B;
	a->last = a->end / B;
	if (a->end % B == 0 || (a->off % B && tb == a->off / B)) {
		a->stage = FA_PUNCH; /* no tail, or the head had it */
		return 0;
	}
	return edge(op, tb, tb * B, a->end, FA_PUNCH);
}

struct cut {
	struct bfs_key k;
	struct bfs_dextent e;
};

/* Extents overlapping blocks [pos, last): up to FA_BATCH of them. */
static int punch_collect(struct bfs *fs, uint64_t ino, uint64_t pos,
			 uint64_t last, struct cut *v, unsigned int *n)
{
	uint64_t from = pos >= BFS_EXT_MAX ? pos - BFS_EXT_MAX + 1 : 0;
	struct bfs_path p;
	int rc = bfs_tree_seek(fs, bfs_key_make(ino, BFS_T_EXTENT, from), &p);

	*n = 0;
	for (; rc == 0 && *n < FA_BATCH; rc = bfs_tree_next(fs, &p)) {
		struct bfs_key k = bfs_path_key(&p);
		uint16_t len;
		const void *val = bfs_path_val(&p, &len);

		if (k.id != ino || bfs_key_type(k) != BFS_T_EXTENT ||
		    bfs_key_off(k) >= last)
			break;
		if (len != sizeof(v->e))
			return -EUCLEAN;
		memcpy(&v[*n].e, val, sizeof(v->e));
		v[*n].k = k;
		if (!v[*n].e.count || v[*n].e.count > BFS_EXT_MAX ||
		    v[*n].e.disk < fs->sb.data_start ||
		    v[*n].e.disk >= fs->sb.nblocks ||
		    v[*n].e.count > fs->sb.nblocks - v[*n].e.disk)
			return -EUCLEAN;
		if (bfs_key_off(k) + v[*n].e.count <= pos)
			continue;
		/* a shared extent is cut alone (its references are items) */
		if ((v[*n].e.flags & BFS_EXT_SHARED) && *n)
			break;
		if (v[(*n)++].e.flags & BFS_EXT_SHARED)
			break;
	}
	return rc == -ENOENT ? 0 : rc;
}

/* Apply: cut [pos, last) out of extent @c; blocks freed. */
static int punch_one(struct bfs *fs, uint64_t ino, const struct cut *c,
		     uint64_t pos, uint64_t last, uint64_t *freed)
{
	uint64_t es = bfs_key_off(c->k), ee = es + c->e.count;
	uint64_t head = es < pos ? pos - es : 0;
	uint64_t tail = ee > last ? ee - last : 0;
	struct bfs_dextent e = c->e;
	int rc = 0;

	/* the insert first: its path is the one prepared (a delete may free
	   the leaf it would have gone to) */
	if (tail) {
		e.disk = c->e.disk + (last - es);
		e.count = (uint32_t)tail;
		rc = bfs_tree_insert(fs, bfs_key_make(ino, BFS_T_EXTENT, last),
				     &e, sizeof(e));
		e = c->e;
	}
	if (rc == 0)
		rc = drop(fs, &e, e.disk + head, e.count - head - tail);
	*freed += e.count - head - tail;
	if (rc == 0 && head) {
		e.count = (uint32_t)head;
		rc = bfs_tree_update(fs, c->k, &e, sizeof(e));
	} else if (rc == 0) {
		rc = bfs_tree_delete(fs, c->k);
	}
	return rc;
}

static int punch_step(struct bfs_op *op, struct bfs_dinode *d)
{
	struct fa_args *a = fargs(op);
	struct bfs *fs = op->fs;
	uint64_t ino = a->inode->ino, freed = 0, last = a->last;
	struct cut v[FA_BATCH];
	struct bfs_path p;
	unsigned int n = 0;
	int rc = bfs_xattr_room(op, FA_BATCH * 4 + 8);

	if (rc == 0 && a->pos < a->last)
		rc = punch_collect(fs, ino, a->pos, a->last, v, &n);
	if (rc || n == 0) {
		if (rc == 0)
			a->stage = FA_FINISH;
		return rc;
	}
	if (v[0].e.flags & BFS_EXT_SHARED) {
		uint64_t es = bfs_key_off(v[0].k);
		uint64_t from = es > a->pos ? es : a->pos;
		uint64_t cap = from + BFS_REF_BATCH;

		last = es + v[0].e.count < last ? es + v[0].e.count : last;
		last = cap < last ? cap : last;
		rc = bfs_ref_paths(fs, v[0].e.disk + (from - es), last - from);
	}
	if (rc == 0)
		rc = bfs_tree_search(fs, bfs_key_make(ino, BFS_T_EXTENT, last),
				     &p);
	if (rc == 0 || rc == -ENOENT)
		rc = bfs_space_check(op, 2 * bfs_tree_split_need(fs));
	if (rc)
		return rc;
	/* backwards: the extent that reaches past the range is the last */
	for (unsigned int i = n; rc == 0 && i-- > 0;)
		rc = punch_one(fs, ino, &v[i], a->pos, last, &freed);
	if (last < a->last)
		a->pos = last; /* part of a shared extent: all before is done */
	d->blocks = d->blocks >= freed ? d->blocks - freed : 0;
	if (rc == 0)
		rc = bfs_dinode_write(fs, ino, d);
	return bfs_apply_check2(fs, rc);
}

/* --- inline files ----------------------------------------------------------- */

/* Zero [off, end) of the inline bytes (one step); size as the mode says. */
static int inline_zero(struct bfs_op *op, struct bfs_dinode *d)
{
	struct fa_args *a = fargs(op);
	struct bfs *fs = op->fs;
	uint8_t buf[BFS_INLINE_FILE_MAX];
	uint64_t len = d->size < sizeof(buf) ? d->size : sizeof(buf);
	int rc = bfs_inline_read(fs, a->inode->ino, 0, buf, len);

	if (rc == 0)
		rc = bfs_inline_paths(fs, a->inode->ino, 4 * BFS_INLINE_CHUNK);
	if (rc == 0)
		rc = bfs_space_check(op, 3 * bfs_tree_split_need(fs));
	if (rc)
		return rc;
	if (a->off < len)
		memset(buf + a->off, 0, (a->end < len ? a->end : len) - a->off);
	rc = bfs_inline_store(fs, a->inode->ino, buf, len);
	rc = bfs_apply_check2(fs, rc);
	a->stage = FA_FINISH;
	return rc;
}

/* Inline bytes move to block 0 before the range is allocated. */
static int convert_start(struct bfs_op *op, struct bfs_dinode *d)
{
	struct fa_args *a = fargs(op);
	struct fa_io *io = a->io;
	uint32_t got;
	int rc;

	a->stage = FA_CONVERT;
	if (d->size == 0)
		return 0;
	memset(io->bounce, 0, BFS_BLOCK);
	rc = bfs_inline_read(op->fs, a->inode->ino, 0, io->bounce,
			     d->size < BFS_BLOCK ? d->size : BFS_BLOCK);
	if (rc == 0)
		rc = reserve(op, 0, 1, &got);
	if (rc)
		return rc;
	io->adv = 0;
	io->then = FA_CONVERT;
	io->iov[0].iov_base = io->bounce;
	io->iov[0].iov_len = BFS_BLOCK;
	blob_writev(op->fs->ch, op->fs->vol, &io->io, io->iov, 1, io->disk * B,
		    io_cpl, op);
	return BFS_ASYNC;
}

/* The metadata step of the conversion: extent 0 in, inline items out. */
static int convert_step(struct bfs_op *op, struct bfs_dinode *d)
{
	struct fa_args *a = fargs(op);
	struct fa_io *io = a->io;
	struct bfs *fs = op->fs;
	struct bfs_key k = bfs_key_make(a->inode->ino, BFS_T_EXTENT, 0);
	struct bfs_dextent e = { .disk = io->disk, .count = 1 };
	struct bfs_path p;
	int rc = bfs_inline_paths(fs, a->inode->ino, 4 * BFS_INLINE_CHUNK);

	if (rc == 0 && io->fresh)
		rc = bfs_tree_search(fs, k, &p);
	if (rc == -ENOENT || rc == 0)
		rc = bfs_space_check(op, 2 * bfs_tree_split_need(fs));
	if (rc)
		return rc;
	if (io->fresh) {
		rc = bfs_tree_insert(fs, k, &e, sizeof(e));
		bfs_alloc_commit(fs, io->disk, 1);
		io->fresh = false;
		d->blocks += 1;
	}
	if (rc == 0)
		rc = bfs_inline_store(fs, a->inode->ino, NULL, 0);
	d->flags &= ~BFS_INODE_INLINE;
	if (rc == 0)
		rc = bfs_dinode_write(fs, a->inode->ino, d);
	a->pos = a->off / B;
	a->last = (a->end + B - 1) / B;
	a->stage = FA_BODY;
	return bfs_apply_check2(fs, rc);
}

/* --- start and finish ---------------------------------------------------------- */

/* Blocks the allocation needs (holes in the range, their extents). */
static int alloc_need(struct bfs *fs, uint64_t ino, const struct bfs_dinode *d,
		      uint64_t first, uint64_t last, uint64_t *need)
{
	uint64_t runs = 0;

	*need = 0;
	if (d->flags & BFS_INODE_INLINE) {
		*need = last - first + 2;
		runs = (last - first) / FA_PIECE + 2;
	}
	for (uint64_t b = first; !(d->flags & BFS_INODE_INLINE) && b < last;) {
		struct bfs_map m;
		uint64_t n;
		int rc = bfs_map(fs, ino, b, &m);

		if (rc)
			return rc;
		n = m.len < last - b ? m.len : last - b;
		if (!m.disk) {
			*need += n;
			runs += n / FA_PIECE + 1;
		}
		b += n;
	}
	*need += runs * bfs_tree_split_need(fs);
	return 0;
}

static int start(struct bfs_op *op, struct bfs_dinode *d)
{
	struct fa_args *a = fargs(op);
	struct bfs *fs = op->fs;
	uint64_t need;
	int rc;

	if (!S_ISREG(d->mode))
		return -ENODEV;
	if (punch(a)) {
		a->stage = FA_HEAD;
		return d->flags & BFS_INODE_INLINE ? inline_zero(op, d) : 0;
	}
	if ((d->flags & BFS_INODE_INLINE) && a->end <= BFS_INLINE_FILE_MAX) {
		a->stage = FA_FINISH;
		return zero(a) ? inline_zero(op, d) : 0;
	}
	rc = alloc_need(fs, a->inode->ino, d, a->off / B,
			(a->end + B - 1) / B, &need);
	if (rc == 0)
		rc = bfs_space_check(op, need);
	if (rc)
		return rc;
	if (d->flags & BFS_INODE_INLINE)
		return convert_start(op, d);
	a->pos = a->off / B;
	a->last = (a->end + B - 1) / B;
	a->stage = FA_BODY;
	return 0;
}

/* The size (unless KEEP_SIZE) and the times, as one step. */
static int finish_step(struct bfs_op *op, struct bfs_dinode *d)
{
	struct fa_args *a = fargs(op);
	bool grow = !(a->mode & FALLOC_FL_KEEP_SIZE) && a->end > d->size;

	if (grow)
		d->size = a->end;
	bfs_touch(d, grow || punch(a) || zero(a), true);
	fa_finish(op, bfs_apply_check2(op->fs,
				       bfs_dinode_write(op->fs,
							a->inode->ino, d)));
	return BFS_ASYNC;
}

static int stage_run(struct bfs_op *op, struct bfs_dinode *d)
{
	switch (fargs(op)->stage) {
	case FA_START:
		return start(op, d);
	case FA_CONVERT:
		return convert_step(op, d);
	case FA_HEAD:
		return head_step(op);
	case FA_TAIL:
		return tail_step(op);
	case FA_BODY:
		return body_step(op);
	case FA_EXTENT:
		return extent_step(op, d);
	case FA_PUNCH:
		return punch_step(op, d);
	case FA_REPLACE:
		return replace_step(op, d);
	default:
		return finish_step(op, d);
	}
}

static int fa_run(struct bfs_op *op)
{
	struct fa_args *a = fargs(op);
	struct bfs_dinode d;
	int rc = bfs_wq_enter(op, a->inode, &a->owner);

	if (rc == 0 && !a->io) {
		a->io = calloc(1, sizeof(*a->io));
		if (!a->io || posix_memalign((void **)&a->io->bounce, BFS_BLOCK,
					     BFS_BLOCK))
			rc = -ENOMEM;
	}
	while (rc == 0) {
		rc = bfs_dinode_read(op->fs, a->inode->ino, &d);
		if (rc == 0)
			rc = stage_run(op, &d);
	}
	if (rc == BFS_AGAIN || rc == BFS_ASYNC)
		return rc;
	fa_finish(op, rc);
	return BFS_ASYNC;
}

void bfs_fallocate(struct fs *fs, struct fs_call *c, struct fs_file *file,
		   int mode, uint64_t off, uint64_t len)
{
	struct bfs_file *f = (struct bfs_file *)file;
	int keep = FALLOC_FL_KEEP_SIZE;
	struct bfs_op *op;
	struct fa_args *a;

	/* KEEP_SIZE with nothing, PUNCH_HOLE (which needs it) or ZERO_RANGE */
	if ((mode & ~keep) != 0 && (mode & ~keep) != FALLOC_FL_ZERO_RANGE &&
	    mode != (FALLOC_FL_PUNCH_HOLE | keep)) {
		fs_call_complete(c, -EOPNOTSUPP);
		return;
	}
	if (len == 0 || off > (uint64_t)INT64_MAX - len) {
		fs_call_complete(c, len ? -EFBIG : -EINVAL);
		return;
	}
	if ((f->flags & O_ACCMODE) == O_RDONLY || f->dir) {
		fs_call_complete(c, -EBADF);
		return;
	}
	op = bfs_op_init(bfs_of(fs), c, fa_run, BFS_OP_MUTATES);
	a = fargs(op);
	a->file = f;
	a->inode = f->inode;
	a->off = off;
	a->end = off + len;
	a->mode = mode;
	bfs_op_submit(op);
}
