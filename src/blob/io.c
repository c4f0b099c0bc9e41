// SPDX-License-Identifier: MIT
/*
 * io.c - the data path: blob reads and writes from any reactor thread.
 *
 * An I/O pins the current epoch (epoch.c), reads the blob's map, and walks
 * the request cluster by cluster: allocated clusters become device I/O on
 * the thread's own bdev channel (physically contiguous clusters in one
 * request), unallocated ones read as zeros or from the first ancestor that
 * has them.  Nothing here locks, allocates or talks to another thread,
 * except a write that finds its cluster unallocated (or the blob frozen for
 * a snapshot): that piece goes to the md thread, which allocates and fills
 * the cluster (cluster.c), and comes back to continue.  The pin is dropped
 * for that trip, so the md thread never waits for an I/O that waits for it.
 */
#include <errno.h>
#include <stdlib.h>

#include "blob_internal.h"

/* io->err values on the way back from the md thread */
#define IO_MD_RETRY 1

static void io_continue(struct blob_io *io);

/* --- channels ------------------------------------------------------------- */

int blob_channel_create(struct blob_store *bs, struct reactor *r,
			struct blob_channel **out)
{
	struct blob_channel *ch = calloc(1, sizeof(*ch));
	int rc;

	if (!ch)
		return -ENOMEM;
	rc = bdev_channel_create(bs->dev, r, &ch->bch);
	if (rc < 0) {
		free(ch);
		return rc;
	}
	ch->bs = bs;
	ch->reactor = r;
	atomic_init(&ch->active[0], 0);
	atomic_init(&ch->active[1], 0);
	pthread_mutex_lock(&bs->epoch.lock);
	ch->next = bs->epoch.channels;
	bs->epoch.channels = ch;
	bs->epoch.nchannels++;
	pthread_mutex_unlock(&bs->epoch.lock);
	*out = ch;
	return 0;
}

int blob_channel_destroy(struct blob_channel *ch)
{
	struct blob_epoch *e = &ch->bs->epoch;
	struct blob_channel **pp;
	int rc;

	if (ch->outstanding)
		return -EBUSY;
	rc = bdev_channel_destroy(ch->bch);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&e->lock);
	for (pp = &e->channels; *pp && *pp != ch; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = ch->next;
	e->nchannels--;
	pthread_mutex_unlock(&e->lock);
	free(ch);
	return 0;
}

/* --- epoch pins ----------------------------------------------------------- */

static void io_pin(struct blob_io *io)
{
	struct blob_channel *ch = io->ch;
	_Atomic uint64_t *epoch = &ch->bs->epoch.epoch;

	for (;;) {
		uint64_t e = atomic_load(epoch);

		atomic_fetch_add(&ch->active[e & 1], 1);
		if (atomic_load(epoch) == e) {
			io->epoch = e;
			io->pinned = true;
			return;
		}
		atomic_fetch_sub(&ch->active[e & 1], 1);
	}
}

static void io_unpin(struct blob_io *io)
{
	if (!io->pinned)
		return;
	atomic_fetch_sub(&io->ch->active[io->epoch & 1], 1);
	io->pinned = false;
}

/* --- completion ----------------------------------------------------------- */

static void io_complete(struct blob_io *io)
{
	io->ch->outstanding--;
	io->cb(io->cb_arg, io->err);
}

static void io_complete_msg(void *arg)
{
	io_complete(arg);
}

static void io_finish(struct blob_io *io, int err)
{
	io_unpin(io);
	io->err = err;
	if (io->async) {
		io_complete(io);
		return;
	}
	/* never inside the submitting call */
	io->msg.fn = io_complete_msg;
	io->msg.arg = io;
	reactor_msg_send(io->ch->reactor, &io->msg);
}

/* --- iovec slices --------------------------------------------------------- */

/* Describe up to @len bytes at the cursor in io->sub; returns the bytes. */
static uint64_t io_slice(struct blob_io *io, uint64_t len)
{
	struct iov_cursor c = io->cur;
	uint64_t taken = 0;

	io->nsub = 0;
	while (taken < len && io->nsub < BLOB_IO_SUB_IOV && c.cnt) {
		size_t avail = c.iov->iov_len - c.off;
		size_t n = avail < len - taken ? avail : (size_t)(len - taken);

		if (n) {
			io->sub[io->nsub].iov_base =
				(char *)c.iov->iov_base + c.off;
			io->sub[io->nsub].iov_len = n;
			io->nsub++;
			taken += n;
		}
		if (n == avail) {
			c.iov++;
			c.cnt--;
			c.off = 0;
		} else {
			c.off += n;
		}
	}
	return taken;
}

/* --- the walk ------------------------------------------------------------- */

static void io_bdev_cpl(void *arg, int err)
{
	struct blob_io *io = arg;

	io->async = true;
	if (err < 0) {
		io_finish(io, err);
		return;
	}
	(void)iov_cursor_skip(&io->cur, io->piece);
	io->done += io->piece;
	io_continue(io);
}

static void io_submit(struct blob_io *io, uint32_t cluster, uint64_t within,
		      uint64_t len)
{
	struct blob_store *bs = io->ch->bs;
	uint64_t off = blob_cluster_off(bs, cluster) + within;

	io->piece = io_slice(io, len);
	if (io->write)
		bdev_writev(io->ch->bch, &io->bio, io->sub, io->nsub, off, 0,
			    io_bdev_cpl, io);
	else
		bdev_readv(io->ch->bch, &io->bio, io->sub, io->nsub, off,
			   io_bdev_cpl, io);
}

/* Extend a piece at cluster @idx (physical @c) over contiguous clusters. */
static uint64_t io_extend(const struct blob_map *m, uint64_t idx, uint32_t c,
			  uint64_t piece, uint64_t left, uint32_t cs)
{
	for (uint64_t k = 1; piece < left && idx + k < m->clusters; k++) {
		if (blob_map_get(m, idx + k) != c + k)
			break;
		piece += left - piece < cs ? left - piece : cs;
	}
	return piece;
}

static void io_to_md(struct blob_io *io, uint64_t len);

/* One piece of the request; false when it went asynchronous. */
static bool io_step(struct blob_io *io, const struct blob_map *m)
{
	uint32_t cs = io->ch->bs->cluster_size;
	uint64_t pos = io->offset + io->done, left = io->length - io->done;
	uint64_t idx = pos / cs, within = pos % cs;
	uint64_t piece = cs - within < left ? cs - within : left;
	uint32_t c = blob_map_get(m, idx);

	if (io->write && (m->flags & BLOB_MAP_FROZEN)) {
		io_to_md(io, piece);
		return false;
	}
	if (c) {
		io_submit(io, c, within, io_extend(m, idx, c, piece, left, cs));
		return false;
	}
	if (io->write) {
		io_to_md(io, piece);
		return false;
	}
	c = blob_map_lookup_chain(m->parent, idx);
	if (c) {
		io_submit(io, c, within, piece);
		return false;
	}
	(void)iov_cursor_zero(&io->cur, piece);
	io->done += piece;
	return true;
}

static void io_continue(struct blob_io *io)
{
	const struct blob_map *m = atomic_load(&io->blob->map);
	uint64_t cs = io->ch->bs->cluster_size;

	if (io->offset + io->length > m->clusters * cs) {
		io_finish(io, -EINVAL);
		return;
	}
	if (io->write && (m->flags & BLOB_REC_READ_ONLY)) {
		io_finish(io, -EPERM);
		return;
	}
	while (io->done < io->length) {
		if (!io_step(io, m))
			return;
	}
	io_finish(io, 0);
}

/* --- the trip to the md thread -------------------------------------------- */

static void io_md_back(void *arg)
{
	struct blob_io *io = arg;
	int err = io->err;

	io->async = true;
	io->err = 0;
	if (err < 0) {
		io_finish(io, err);
		return;
	}
	if (err != IO_MD_RETRY) {
		(void)iov_cursor_skip(&io->cur, io->piece);
		io->done += io->piece;
	}
	io_pin(io);
	io_continue(io);
}

static void io_md_done(void *arg, int err)
{
	struct blob_io *io = arg;
	struct blob *b = io->blob;

	io->err = err;
	io->msg.fn = io_md_back;
	io->msg.arg = io;
	reactor_msg_send(io->ch->reactor, &io->msg);
	blob_op_finish(b);
}

/* On the md thread, in the blob's turn: allocate and fill, or retry. */
static void io_md_run(struct blob_op *op)
{
	struct blob_io *io = blob_container_of(op, struct blob_io, op);
	struct blob *b = io->blob;
	const struct blob_map *m = atomic_load(&b->map);
	uint32_t cs = b->bs->cluster_size;
	uint64_t pos = io->offset + io->done;
	int rc = blob_store_writable(b->bs);

	if (rc == 0 && pos / cs >= m->clusters)
		rc = -EINVAL;
	if (rc == 0 && (m->flags & BLOB_REC_READ_ONLY))
		rc = -EPERM;
	if (rc < 0 || (m->flags & BLOB_MAP_FROZEN) ||
	    blob_map_get(m, pos / cs)) {
		/* resized, frozen or filled meanwhile: the walk decides */
		blob_defer(b->bs, io_md_done, io, rc < 0 ? rc : IO_MD_RETRY);
		return;
	}
	blob_cluster_fill(b, pos / cs, pos % cs, io->piece, io->sub, io->nsub,
			  io_md_done, io);
}

static void io_md_entry(void *arg)
{
	struct blob_io *io = arg;

	io->op.run = io_md_run;
	blob_op_enqueue(io->blob, &io->op);
}

static void io_to_md(struct blob_io *io, uint64_t len)
{
	io->piece = io_slice(io, len);
	io_unpin(io);
	io->msg.fn = io_md_entry;
	io->msg.arg = io;
	reactor_msg_send(io->ch->bs->md, &io->msg);
}

/* --- entry points --------------------------------------------------------- */

static bool io_iov_ok(const struct iovec *iov, unsigned int cnt, uint32_t unit)
{
	if (!iov || cnt == 0 || cnt > BDEV_IOV_MAX)
		return false;
	for (unsigned int i = 0; i < cnt; i++) {
		if ((uintptr_t)iov[i].iov_base % unit || iov[i].iov_len % unit)
			return false;
	}
	return true;
}

static void io_start(struct blob_channel *ch, struct blob *b,
		     struct blob_io *io, const struct iovec *iov,
		     unsigned int iovcnt, uint64_t offset, bool write,
		     blob_cb cb, void *arg)
{
	uint32_t unit = ch->bs->block_size;

	io->ch = ch;
	io->blob = b;
	io->cb = cb;
	io->cb_arg = arg;
	io->offset = offset;
	io->write = write;
	io->done = 0;
	io->err = 0;
	io->async = false;
	io->pinned = false;
	ch->outstanding++;
	if (!b || !io_iov_ok(iov, iovcnt, unit) || offset % unit) {
		io_finish(io, -EINVAL);
		return;
	}
	io->length = iov_length(iov, iovcnt);
	if (io->length == 0 || io->length > UINT64_MAX - offset) {
		io_finish(io, -EINVAL);
		return;
	}
	if (write && ch->bs->read_only) {
		io_finish(io, -EROFS);
		return;
	}
	iov_cursor_init(&io->cur, iov, iovcnt);
	io_pin(io);
	io_continue(io);
}

void blob_readv(struct blob_channel *ch, struct blob *b, struct blob_io *io,
		const struct iovec *iov, unsigned int iovcnt, uint64_t offset,
		blob_cb cb, void *arg)
{
	io_start(ch, b, io, iov, iovcnt, offset, false, cb, arg);
}

void blob_writev(struct blob_channel *ch, struct blob *b, struct blob_io *io,
		 const struct iovec *iov, unsigned int iovcnt,
		 uint64_t offset, blob_cb cb, void *arg)
{
	io_start(ch, b, io, iov, iovcnt, offset, true, cb, arg);
}
