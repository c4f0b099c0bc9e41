// SPDX-License-Identifier: MIT
/*
 * data.c - READ and WRITE.  A request is done in pieces, each inside one
 * extent or one hole: aligned whole blocks go between the request's iovecs
 * and the volume blob directly; partial blocks at the edges go through a
 * bounce block (read, patch, write).  A write to a hole reserves blocks,
 * writes them, and only then inserts the extent (FORMAT.md F1).  Writes
 * that only overwrite written blocks run side by side; any other write,
 * truncate or fallocate has the inode to itself (the write queue below).
 * Small files are inline items changed without any data I/O.
 */
#include <errno.h>
#include <string.h>

#include "bfs_data.h"
#include "bfs_io.h"

/* --- the inode's write queue --------------------------------------------------- */

/*
 * Writes that change the mapping (allocate, copy on write, convert inline
 * bytes, read-modify-write a partial block), truncate and fallocate hold
 * the inode exclusively, one at a time.  Overwrites of whole blocks that
 * are written in place already change only the times and the size, each
 * in one atomic step, so any number of them run side by side (shared):
 * a QD32 random write or a QD4 stream on one file keeps the device busy.
 * Waiters are served in order; shared ones at the head go together.
 */

static void wq_push(struct bfs_op *op, struct bfs_inode *in)
{
	op->next = NULL;
	*in->wq_tail = op;
	in->wq_tail = &op->next;
}

static struct bfs_op *wq_pop(struct bfs_inode *in)
{
	struct bfs_op *op = in->wq;

	in->wq = op->next;
	if (!in->wq)
		in->wq_tail = &in->wq;
	op->next = NULL;
	return op;
}

/* 0 when @op owns the inode's writes now, BFS_ASYNC when it waits. */
int bfs_wq_enter(struct bfs_op *op, struct bfs_inode *in, bool *owner)
{
	if (*owner)
		return 0;
	if (in->writing || in->writers) {
		wq_push(op, in);
		return BFS_ASYNC;
	}
	op->flags &= ~(uint32_t)BFS_OP_WQ_TURN;
	in->writing = true;
	*owner = true;
	return 0;
}

/* The same, shared. */
static int wq_enter_shared(struct bfs_op *op, struct bfs_inode *in,
			   bool *shared)
{
	if (in->writing || in->wq) { /* behind the waiters */
		op->flags |= BFS_OP_WQ_SHARED; /* wq_next() lets it in */
		wq_push(op, in);
		return BFS_ASYNC;
	}
	in->writers++;
	*shared = true;
	return 0;
}

/* Let the next waiters in: an exclusive one alone, or every shared one
 * at the head together. */
static void wq_next(struct bfs *fs, struct bfs_inode *in)
{
	struct bfs_op *run = NULL, **tail = &run;

	if (!in->wq) {
		if (!in->writing && !in->writers)
			bfs_inode_check_free(fs, in);
		return;
	}
	if (in->writing)
		return;
	if (!(in->wq->flags & BFS_OP_WQ_SHARED)) {
		struct bfs_op *op;

		if (in->writers)
			return;
		op = wq_pop(in);
		op->flags |= BFS_OP_WQ_TURN; /* takes the inode on entry */
		bfs_op_run(op);
		return;
	}
	while (in->wq && (in->wq->flags & BFS_OP_WQ_SHARED)) {
		*tail = wq_pop(in);
		tail = &(*tail)->next;
		in->writers++;
	}
	while (run) { /* each may leave again before the next runs */
		struct bfs_op *op = run;

		run = op->next;
		op->next = NULL;
		bfs_op_run(op);
	}
}

void bfs_wq_leave(struct bfs *fs, struct bfs_inode *in)
{
	in->writing = false;
	wq_next(fs, in);
}

static void wq_leave_shared(struct bfs *fs, struct bfs_inode *in)
{
	in->writers--;
	if (!in->writers)
		wq_next(fs, in);
}

/*
 * May this write share the inode: whole blocks of the request's bytes,
 * every one of them already written in place (no hole, no unwritten or
 * shared extent, not inline)?  0 with the answer in *@yes, BFS_AGAIN, or
 * -errno.
 */
static int write_in_place(struct bfs_op *op, struct bfs_io_args *a,
			  bool *yes)
{
	struct bfs *fs = op->fs;
	uint64_t ino = a->inode->ino, len, fblk, end;
	struct bfs_dinode d;
	struct bfs_map m;
	int rc;

	*yes = false;
	if (!a->iov || a->then)
		return 0;
	len = iov_length(a->iov, a->iovcnt);
	if (!len || (a->off | len) % BFS_BLOCK)
		return 0;
	rc = bfs_dinode_read(fs, ino, &d);
	if (rc || (d.flags & BFS_INODE_INLINE))
		return rc;
	end = (a->off + len) / BFS_BLOCK;
	for (fblk = a->off / BFS_BLOCK; fblk < end; fblk += m.len) {
		rc = bfs_map(fs, ino, fblk, &m);
		if (rc)
			return rc;
		if (!m.disk || m.unwritten || m.shared || !m.len)
			return 0;
	}
	*yes = true;
	return 0;
}

/*
 * 0 when @op may write now (a->owner or a->shared), BFS_ASYNC when it
 * waits for its turn, BFS_AGAIN, or -errno (holding nothing).  The check
 * runs before the inode is taken only for a new write, which holds
 * nothing and keeps nobody waiting while a block loads.  A shared writer
 * let in after a wait (BFS_OP_WQ_SHARED still set) checks again, as an
 * exclusive one before it may have changed the mapping; an exclusive
 * waiter taken off the queue takes the inode at once.
 */
int bfs_write_enter(struct bfs_op *op, struct bfs_io_args *a)
{
	bool recheck = op->flags & BFS_OP_WQ_SHARED;
	bool yes;
	int rc;

	if (a->owner || (a->shared && !recheck))
		return 0;
	/* taken off the queue to go alone: it does, before it could miss */
	if (op->flags & BFS_OP_WQ_TURN)
		return bfs_wq_enter(op, a->inode, &a->owner);
	if (recheck)
		a->shared = true; /* counted in writers since wq_next() */
	rc = write_in_place(op, a, &yes);
	if (rc == BFS_AGAIN)
		return rc;
	if (recheck) {
		op->flags &= ~(uint32_t)BFS_OP_WQ_SHARED;
		if (rc == 0 && yes)
			return 0;
		bfs_write_leave(op->fs, a);
	}
	if (rc)
		return rc;
	if (yes)
		return wq_enter_shared(op, a->inode, &a->shared);
	return bfs_wq_enter(op, a->inode, &a->owner);
}

void bfs_write_leave(struct bfs *fs, struct bfs_io_args *a)
{
	if (a->owner) {
		a->owner = false;
		bfs_wq_leave(fs, a->inode);
	} else if (a->shared) {
		a->shared = false;
		wq_leave_shared(fs, a->inode);
	}
}

/* --- iovecs ---------------------------------------------------------------- */

/* Describe the next @len bytes as aligned iovecs; false: use a bounce. */
bool bfs_slice_aligned(struct bfs *fs, struct bfs_rw *rw, size_t len)
{
	struct iov_cursor save = rw->cur;

	if (iov_cursor_slice(&rw->cur, len, rw->iov, BFS_RW_IOV, &rw->niov))
		return false;
	for (unsigned int i = 0; i < rw->niov; i++) {
		if (((uintptr_t)rw->iov[i].iov_base | rw->iov[i].iov_len) %
		    fs->io_unit) {
			rw->cur = save;
			return false;
		}
	}
	return true;
}

static void piece_io(struct bfs_op *op, struct bfs_rw *rw, bool write,
		     blob_cb cpl)
{
	struct bfs *fs = op->fs;

	if (rw->bounced) {
		rw->iov[0].iov_base = rw->bounce;
		rw->iov[0].iov_len = (size_t)rw->nblk * BFS_BLOCK;
		rw->niov = 1;
	}
	if (write)
		blob_writev(fs->ch, fs->vol, &rw->io, rw->iov, rw->niov,
			    rw->disk * BFS_BLOCK, cpl, op);
	else
		blob_readv(fs->ch, fs->vol, &rw->io, rw->iov, rw->niov,
			   rw->disk * BFS_BLOCK, cpl, op);
}

/* --- read ----------------------------------------------------------------------- */

static void read_finish(struct bfs_op *op, int err)
{
	struct bfs_io_args *a = BFS_ARGS(op, struct bfs_io_args);

	if (a->rw)
		bfs_rw_put(op->fs, a->rw);
	a->rw = NULL;
	if (!err)
		*a->out = a->done;
	bfs_op_done(op, err);
}

static void read_cpl(void *arg, int err)
{
	struct bfs_op *op = arg;
	struct bfs_io_args *a = BFS_ARGS(op, struct bfs_io_args);
	struct bfs_rw *rw = a->rw;

	if (!err && rw->bounced)
		err = iov_cursor_write(&rw->cur, rw->bounce + rw->boff,
				       rw->bytes);
	if (err) {
		read_finish(op, err);
		return;
	}
	a->done += rw->bytes;
	bfs_op_run(op);
}

/* Zeros for holes; returns 1 when a device read was started. */
static int read_piece(struct bfs_op *op, struct bfs_io_args *a,
		      const struct bfs_map *m, uint64_t pos)
{
	struct bfs_rw *rw = a->rw;
	uint64_t want = a->total - a->done, boff = pos % BFS_BLOCK;
	uint64_t span = m->len * BFS_BLOCK - boff;

	rw->bytes = (uint32_t)(want < span ? want : span < (1u << 30) ? span
								  : (1u << 30));
	if (!m->disk || m->unwritten) {
		int rc = iov_cursor_zero(&rw->cur, rw->bytes);

		a->done += rw->bytes;
		return rc;
	}
	rw->disk = m->disk;
	rw->boff = (uint32_t)boff;
	if (boff || want < BFS_BLOCK) {
		rw->bytes = (uint32_t)(want < BFS_BLOCK - boff ? want
							      : BFS_BLOCK - boff);
		rw->nblk = 1;
		rw->bounced = true;
	} else {
		uint64_t n = want / BFS_BLOCK;

		n = n < m->len ? n : m->len;
		n = n < BFS_PIECE_MAX ? n : BFS_PIECE_MAX;
		rw->bounced = !bfs_slice_aligned(op->fs, rw, n * BFS_BLOCK);
		if (rw->bounced && n > BFS_BOUNCE_BLOCKS)
			n = BFS_BOUNCE_BLOCKS;
		rw->nblk = (uint32_t)n;
		rw->bytes = (uint32_t)(n * BFS_BLOCK);
	}
	piece_io(op, rw, false, read_cpl);
	return 1;
}

/* An error ends the read here: its rw goes back (a miss keeps it). */
static int read_stop(struct bfs_op *op, int rc)
{
	struct bfs_io_args *a = BFS_ARGS(op, struct bfs_io_args);

	if (rc < 0 && a->rw) {
		bfs_rw_put(op->fs, a->rw);
		a->rw = NULL;
	}
	return rc;
}

int bfs_read_run(struct bfs_op *op)
{
	struct bfs_io_args *a = BFS_ARGS(op, struct bfs_io_args);
	struct bfs *fs = op->fs;
	uint64_t ino = a->file->inode->ino;
	struct bfs_dinode d;
	int rc = bfs_dinode_read(fs, ino, &d);

	if (rc)
		return read_stop(op, rc);
	if (!a->rw) {
		uint64_t len = iov_length(a->iov, a->iovcnt);

		a->total = a->off >= d.size ? 0 : d.size - a->off < len ?
						     d.size - a->off : len;
		a->rw = bfs_rw_get(fs);
		if (!a->rw)
			return -ENOMEM;
		iov_cursor_init(&a->rw->cur, a->iov, a->iovcnt);
	}
	while (a->done < a->total) {
		uint64_t pos = a->off + a->done;
		struct bfs_map m;

		if (d.flags & BFS_INODE_INLINE) {
			uint8_t buf[BFS_INLINE_LINK_MAX + 1];
			size_t n = a->total - a->done;

			n = n < sizeof(buf) ? n : sizeof(buf);
			rc = bfs_inline_read(fs, ino, pos, buf, n);
			if (rc == 0)
				rc = iov_cursor_write(&a->rw->cur, buf, n);
			if (rc)
				return read_stop(op, rc);
			a->done += n;
			continue;
		}
		/* a miss (BFS_AGAIN) runs this again once loaded */
		rc = bfs_map(fs, ino, pos / BFS_BLOCK, &m);
		if (rc)
			return read_stop(op, rc);
		rc = read_piece(op, a, &m, pos);
		if (rc)
			return rc > 0 ? BFS_ASYNC : read_stop(op, rc);
	}
	read_finish(op, 0);
	return BFS_ASYNC;
}
