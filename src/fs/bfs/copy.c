// SPDX-License-Identifier: MIT
/*
 * copy.c - COPY_FILE_RANGE.  Whole blocks at block-aligned offsets are
 * cloned: the destination's extent references the source's blocks, each
 * block's REFCOUNT item counts its extents (refcount.c), and both extents
 * are flagged shared so that a write copies a shared block first
 * (write.c) and a free only drops a reference (free.c).  Cloning needs a
 * hole at the destination (a new or truncated file); where the
 * destination has blocks, and for unaligned edges, bytes are copied
 * through the ordinary READ and WRITE.
 *
 * The copy runs as a chain of steps, each one operation of its own: a
 * clone step holds the write queues of both inodes (lower inode number
 * first) so that no write or truncate of either sees half of it, and
 * shares at most BFS_REF_BATCH blocks in one atomic change.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bfs_data.h"
#include "bfs_io.h"
#include "bfs_refcount.h"

#define COPY_BUF (1u << 20)

struct copy {
	struct bfs *fs;
	struct bfs_op *op;      /* the client's operation */
	struct fs_call sub;     /* the running step, read or write */
	struct reactor_msg msg;
	struct bfs_file *in, *out;
	uint64_t off_in, off_out, len, done;
	uint64_t clone_end;     /* bytes [0, clone_end) may be cloned */
	uint64_t bytes_left;    /* bytes to copy before cloning again */
	size_t *copied;
	size_t got;
	uint8_t *buf;
	struct iovec iov;
};

struct clone_args {
	struct copy *ck;
	bool own_lo, own_hi;
};
BFS_ARGS_FIT(struct clone_args);

struct copy_args {
	struct copy *ck;
};
BFS_ARGS_FIT(struct copy_args);

static void copy_next(struct copy *ck);

static void copy_finish(struct copy *ck, int err)
{
	struct bfs_op *op = ck->op;
	uint64_t done = ck->done;

	*ck->copied = (size_t)done;
	free(ck->buf);
	free(ck);
	bfs_op_done(op, done ? 0 : err); /* a short copy is no error */
}

static void copy_next_msg(void *arg)
{
	copy_next(arg);
}

/* Continue from the loop, never inside a step's completion. */
static void copy_defer(struct copy *ck)
{
	ck->msg.fn = copy_next_msg;
	ck->msg.arg = ck;
	reactor_msg_send(ck->fs->r, &ck->msg);
}

/* --- byte copy ---------------------------------------------------------------- */

static void bytes_written(void *arg, int err)
{
	struct copy *ck = arg;

	if (err) {
		copy_finish(ck, err);
		return;
	}
	ck->done += ck->got;
	ck->bytes_left -= ck->got < ck->bytes_left ? ck->got : ck->bytes_left;
	copy_defer(ck);
}

static void bytes_read(void *arg, int err)
{
	struct copy *ck = arg;

	if (err || ck->got == 0) { /* the source ended meanwhile */
		copy_finish(ck, err);
		return;
	}
	ck->iov.iov_len = ck->got;
	ck->sub.cb = bytes_written;
	bfs_fs_ops.write(&ck->fs->base, &ck->sub, (struct fs_file *)ck->out,
			 ck->off_out + ck->done, &ck->iov, 1, 0, &ck->got);
}

static void copy_bytes(struct copy *ck)
{
	uint64_t n = ck->len - ck->done;

	if (!ck->buf && posix_memalign((void **)&ck->buf, BFS_BLOCK, COPY_BUF)) {
		ck->buf = NULL;
		copy_finish(ck, -ENOMEM);
		return;
	}
	n = n < COPY_BUF ? n : COPY_BUF;
	if (ck->bytes_left && ck->bytes_left < n)
		n = ck->bytes_left;
	ck->iov.iov_base = ck->buf;
	ck->iov.iov_len = (size_t)n;
	ck->sub.cb = bytes_read;
	bfs_fs_ops.read(&ck->fs->base, &ck->sub, (struct fs_file *)ck->in,
			ck->off_in + ck->done, &ck->iov, 1, &ck->got);
}

/* --- clone steps -------------------------------------------------------------- */

/* Share the blocks of the source extent at @m with the hole at @dblk. */
static int clone_apply(struct bfs *fs, struct copy *ck, const struct bfs_map *m,
		       uint64_t dblk, uint64_t n, struct bfs_dinode *d)
{
	uint64_t out = ck->out->inode->ino;
	struct bfs_dextent e = { .disk = m->disk, .count = (uint32_t)n,
				 .flags = BFS_EXT_SHARED };
	int rc = 0;

	for (uint64_t i = 0; i < n && rc == 0; i++)
		rc = bfs_ref_inc(fs, m->disk + i);
	if (rc == 0 && !(m->ext.flags & BFS_EXT_SHARED)) {
		struct bfs_dextent se = m->ext;

		se.flags |= BFS_EXT_SHARED;
		rc = bfs_tree_update(fs, m->key, &se, sizeof(se));
	}
	if (rc == 0)
		rc = bfs_tree_insert(fs, bfs_key_make(out, BFS_T_EXTENT, dblk),
				     &e, sizeof(e));
	d->blocks += n;
	return rc;
}

/* Prepare: every path the apply changes is cached, and space is there. */
static int clone_prepare(struct bfs_op *op, struct copy *ck,
			 const struct bfs_map *m, uint64_t dblk, uint64_t n)
{
	struct bfs *fs = op->fs;
	struct bfs_path p;
	int rc = bfs_ref_paths(fs, m->disk, n);

	if (rc == 0)
		rc = bfs_tree_search(fs, m->key, &p);
	if (rc == 0) {
		rc = bfs_tree_search(fs, bfs_key_make(ck->out->inode->ino,
						      BFS_T_EXTENT, dblk), &p);
		rc = rc == -ENOENT ? 0 : rc == 0 ? -EUCLEAN : rc;
	}
	if (rc == 0)
		rc = bfs_space_check(op, (n / 32 + 3) * bfs_tree_split_need(fs));
	return rc;
}

/* One step: clone, or pass a hole, or hand a stretch to the byte copy. */
static int clone_piece(struct bfs_op *op, struct copy *ck)
{
	struct bfs *fs = op->fs;
	uint64_t sblk = (ck->off_in + ck->done) / BFS_BLOCK;
	uint64_t dblk = (ck->off_out + ck->done) / BFS_BLOCK;
	uint64_t n = (ck->clone_end - ck->done) / BFS_BLOCK, end;
	struct bfs_map m, dm;
	struct bfs_dinode d;
	int rc = bfs_dinode_read(fs, ck->out->inode->ino, &d);

	if (rc == 0)
		rc = bfs_map(fs, ck->in->inode->ino, sblk, &m);
	if (rc == 0)
		rc = bfs_map(fs, ck->out->inode->ino, dblk, &dm);
	if (rc)
		return rc;
	if ((d.flags & BFS_INODE_INLINE) && d.size) {
		ck->clone_end = ck->done; /* inline bytes: copy them all */
		return 0;
	}
	n = n < m.len ? n : m.len;
	n = n < dm.len ? n : dm.len;
	if (dm.disk) {
		ck->bytes_left = n * BFS_BLOCK;
		return 0;
	}
	if (m.disk && !m.unwritten) {
		n = n < BFS_REF_BATCH ? n : BFS_REF_BATCH;
		rc = clone_prepare(op, ck, &m, dblk, n);
	} else {
		rc = bfs_space_check(op, 1);
	}
	if (rc)
		return rc;
	if (m.disk && !m.unwritten)
		rc = clone_apply(fs, ck, &m, dblk, n, &d);
	end = ck->off_out + ck->done + n * BFS_BLOCK;
	d.size = end > d.size ? end : d.size;
	d.flags &= ~BFS_INODE_INLINE;
	bfs_touch(&d, true, true);
	if (rc == 0)
		rc = bfs_dinode_write(fs, ck->out->inode->ino, &d);
	rc = bfs_apply_check2(fs, rc);
	if (rc == 0)
		ck->done += n * BFS_BLOCK;
	return rc;
}

static int clone_run(struct bfs_op *op)
{
	struct clone_args *a = BFS_ARGS(op, struct clone_args);
	struct copy *ck = a->ck;
	struct bfs_inode *x = ck->in->inode, *y = ck->out->inode;
	struct bfs_inode *lo = x->ino < y->ino ? x : y, *hi = lo == x ? y : x;
	int rc = bfs_wq_enter(op, lo, &a->own_lo);

	if (rc == 0 && hi != lo)
		rc = bfs_wq_enter(op, hi, &a->own_hi);
	if (rc)
		return rc;
	rc = clone_piece(op, ck);
	if (rc == BFS_AGAIN || rc == BFS_ASYNC)
		return rc;
	if (a->own_hi) {
		a->own_hi = false;
		bfs_wq_leave(op->fs, hi);
	}
	a->own_lo = false;
	bfs_wq_leave(op->fs, lo);
	return rc;
}

static void clone_cpl(void *arg, int err)
{
	struct copy *ck = arg;

	if (err) {
		copy_finish(ck, err);
		return;
	}
	copy_defer(ck);
}

static void copy_next(struct copy *ck)
{
	struct bfs_op *op;

	if (ck->done >= ck->len) {
		copy_finish(ck, 0);
		return;
	}
	if (ck->done >= ck->clone_end || ck->bytes_left) {
		copy_bytes(ck);
		return;
	}
	ck->sub.cb = clone_cpl;
	op = bfs_op_init(ck->fs, &ck->sub, clone_run, BFS_OP_MUTATES);
	BFS_ARGS(op, struct clone_args)->ck = ck;
	bfs_op_run(op);
}

/* --- the call ------------------------------------------------------------------- */

static bool overlap(uint64_t a, uint64_t b, uint64_t len)
{
	return a < b + len && b < a + len;
}

/* Check the files and the ranges, and decide what may be cloned. */
static int copy_check(struct bfs_op *op, struct copy *ck)
{
	struct bfs *fs = op->fs;
	struct bfs_dinode s, d;
	int rc = bfs_dinode_read(fs, ck->in->inode->ino, &s);

	if (rc == 0)
		rc = bfs_dinode_read(fs, ck->out->inode->ino, &d);
	if (rc)
		return rc;
	if (S_ISDIR(s.mode) || S_ISDIR(d.mode))
		return -EISDIR;
	if (!S_ISREG(s.mode) || !S_ISREG(d.mode))
		return -EINVAL;
	ck->len = ck->off_in >= s.size ? 0 : s.size - ck->off_in < ck->len
						  ? s.size - ck->off_in
						  : ck->len;
	if (ck->in->inode == ck->out->inode &&
	    overlap(ck->off_in, ck->off_out, ck->len))
		return -EINVAL;
	if (ck->len > (uint64_t)INT64_MAX - ck->off_out)
		return -EFBIG;
	if (ck->off_in % BFS_BLOCK == 0 && ck->off_out % BFS_BLOCK == 0 &&
	    !(s.flags & BFS_INODE_INLINE))
		ck->clone_end = ck->len / BFS_BLOCK * BFS_BLOCK;
	return 0;
}

static int copy_start_run(struct bfs_op *op)
{
	struct copy *ck = BFS_ARGS(op, struct copy_args)->ck;
	struct bfs *fs = op->fs;
	int rc = copy_check(op, ck);

	if (rc == BFS_AGAIN)
		return rc;
	if (rc) {
		free(ck);
		return rc;
	}
	ck->sub = (struct fs_call){ .cred = op->call->cred, .reactor = fs->r,
				    .cb_arg = ck };
	copy_next(ck);
	return BFS_ASYNC;
}

void bfs_copy_file_range(struct fs *f, struct fs_call *c, struct fs_file *in,
			 uint64_t off_in, struct fs_file *out, uint64_t off_out,
			 uint64_t len, uint32_t flags, size_t *copied)
{
	struct bfs *fs = bfs_of(f);
	struct bfs_op *op;
	struct copy *ck;

	*copied = 0;
	if (flags) {
		fs_call_complete(c, -EINVAL);
		return;
	}
	ck = calloc(1, sizeof(*ck));
	if (!ck) {
		fs_call_complete(c, -ENOMEM);
		return;
	}
	/* the steps are the changes: they refuse on a read-only fs */
	op = bfs_op_init(fs, c, copy_start_run, 0);
	*ck = (struct copy){ .fs = fs, .op = op, .in = (struct bfs_file *)in,
			     .out = (struct bfs_file *)out, .off_in = off_in,
			     .off_out = off_out, .len = len, .copied = copied };
	BFS_ARGS(op, struct copy_args)->ck = ck;
	bfs_op_submit(op);
}
