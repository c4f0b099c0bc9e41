// SPDX-License-Identifier: MIT
/*
 * data.c - READ and WRITE.  A request is done in pieces, each inside one
 * extent or one hole: aligned whole blocks go between the request's iovecs
 * and the volume blob directly; partial blocks at the edges go through a
 * bounce block (read, patch, write).  A write to a hole reserves blocks,
 * writes them, and only then inserts the extent (FORMAT.md F1).  Writes
 * to one inode run one at a time (truncate joins the same queue); small
 * files are inline items changed without any data I/O.
 */
#include <errno.h>
#include <string.h>

#include "bfs_data.h"
#include "bfs_io.h"

/* --- the inode's write queue --------------------------------------------------- */

/* 0 when @op owns the inode's writes now, BFS_ASYNC when it waits. */
int bfs_wq_enter(struct bfs_op *op, struct bfs_inode *in, bool *owner)
{
	if (*owner)
		return 0;
	if (in->writing) {
		op->next = NULL;
		*in->wq_tail = op;
		in->wq_tail = &op->next;
		return BFS_ASYNC;
	}
	in->writing = true;
	*owner = true;
	return 0;
}

void bfs_wq_leave(struct bfs *fs, struct bfs_inode *in)
{
	struct bfs_op *next = in->wq;

	in->writing = false;
	if (!next) {
		bfs_inode_check_free(fs, in);
		return;
	}
	in->wq = next->next;
	if (!in->wq)
		in->wq_tail = &in->wq;
	next->next = NULL;
	bfs_op_run(next);
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

int bfs_read_run(struct bfs_op *op)
{
	struct bfs_io_args *a = BFS_ARGS(op, struct bfs_io_args);
	struct bfs *fs = op->fs;
	uint64_t ino = a->file->inode->ino;
	struct bfs_dinode d;
	int rc = bfs_dinode_read(fs, ino, &d);

	if (rc)
		return rc;
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
				return rc;
			a->done += n;
			continue;
		}
		rc = bfs_map(fs, ino, pos / BFS_BLOCK, &m);
		if (rc == 0)
			rc = read_piece(op, a, &m, pos);
		if (rc)
			return rc > 0 ? BFS_ASYNC : rc;
	}
	read_finish(op, 0);
	return BFS_ASYNC;
}
