// SPDX-License-Identifier: MIT
/*
 * bdev.c - what every block device shares: request validation, dispatch
 * through the ops table, channels, completion and resize notification.
 */
#include <errno.h>
#include <stdlib.h>

#include "vhostfs/bdev.h"

void bdev_init(struct bdev *b, const struct bdev_ops *ops, const char *name,
	       uint32_t block_size, uint64_t block_count)
{
	b->ops = ops;
	b->name = name;
	b->block_size = block_size;
	atomic_init(&b->block_count, block_count);
	atomic_init(&b->channels, 0);
	b->resize_cb = NULL;
	b->resize_arg = NULL;
}

uint32_t bdev_block_size(const struct bdev *b)
{
	return b->block_size;
}

uint64_t bdev_block_count(const struct bdev *b)
{
	return atomic_load_explicit(&b->block_count, memory_order_acquire);
}

const char *bdev_name(const struct bdev *b)
{
	return b->name;
}

void bdev_set_resize_cb(struct bdev *b, bdev_resize_cb cb, void *arg)
{
	b->resize_cb = cb;
	b->resize_arg = arg;
}

void bdev_set_block_count(struct bdev *b, uint64_t block_count)
{
	uint64_t old = atomic_exchange_explicit(&b->block_count, block_count,
						memory_order_acq_rel);

	if (old != block_count && b->resize_cb)
		b->resize_cb(b->resize_arg, old, block_count);
}

int bdev_destroy(struct bdev *b)
{
	if (atomic_load(&b->channels) != 0)
		return -EBUSY;
	b->ops->destroy(b);
	return 0;
}

int bdev_channel_create(struct bdev *b, struct reactor *r,
			struct bdev_channel **out)
{
	struct bdev_channel *ch = calloc(1, sizeof(*ch));
	int rc;

	if (!ch)
		return -ENOMEM;
	ch->bdev = b;
	ch->reactor = r;
	rc = b->ops->channel_create ? b->ops->channel_create(ch) : 0;
	if (rc < 0) {
		free(ch);
		return rc;
	}
	atomic_fetch_add(&b->channels, 1);
	*out = ch;
	return 0;
}

int bdev_channel_destroy(struct bdev_channel *ch)
{
	struct bdev *b = ch->bdev;
	int rc;

	if (ch->outstanding != 0)
		return -EBUSY;
	rc = b->ops->channel_destroy ? b->ops->channel_destroy(ch) : 0;
	if (rc < 0)
		return rc;
	atomic_fetch_sub(&b->channels, 1);
	free(ch);
	return 0;
}

/* --- completion ---------------------------------------------------------- */

void bdev_io_complete(struct bdev_io *io, int err)
{
	io->ch->outstanding--;
	io->cb(io->cb_arg, err);
}

static void bdev_io_deferred_cpl(void *arg)
{
	struct bdev_io *io = arg;

	bdev_io_complete(io, io->status);
}

/*
 * A message to our own reactor rather than a local queue: the handler then
 * touches only the request, so a callback may destroy the channel.
 */
void bdev_io_complete_deferred(struct bdev_io *io, int err)
{
	io->status = err;
	io->msg.fn = bdev_io_deferred_cpl;
	io->msg.arg = io;
	reactor_msg_send(io->ch->reactor, &io->msg);
}

/* --- validation ---------------------------------------------------------- */

static bool bdev_range_valid(const struct bdev *b, uint64_t off, uint64_t len)
{
	uint64_t bs = b->block_size;
	uint64_t blocks = bdev_block_count(b);

	if (len == 0 || off % bs != 0 || len % bs != 0)
		return false;
	/* compare in blocks: byte sizes of huge devices could overflow */
	return off / bs <= blocks && len / bs <= blocks - off / bs;
}

/* Sum the iovecs into io->length; each must be block aligned. */
static bool bdev_iov_valid(const struct bdev *b, struct bdev_io *io)
{
	uint64_t bs = b->block_size;
	uint64_t total = 0;

	if (!io->iov || io->iovcnt == 0 || io->iovcnt > BDEV_IOV_MAX)
		return false;
	for (unsigned int i = 0; i < io->iovcnt; i++) {
		const struct iovec *v = &io->iov[i];

		if ((uintptr_t)v->iov_base % bs != 0 || v->iov_len % bs != 0)
			return false;
		if (v->iov_len > UINT64_MAX - total)
			return false;
		total += v->iov_len;
	}
	io->length = total;
	return true;
}

static bool bdev_io_valid(const struct bdev *b, struct bdev_io *io)
{
	switch (io->type) {
	case BDEV_IO_READ:
		return io->flags == 0 && bdev_iov_valid(b, io) &&
		       bdev_range_valid(b, io->offset, io->length);
	case BDEV_IO_WRITE:
		return (io->flags & ~BDEV_WRITE_FUA) == 0 &&
		       bdev_iov_valid(b, io) &&
		       bdev_range_valid(b, io->offset, io->length);
	case BDEV_IO_FLUSH:
		return true;
	case BDEV_IO_WRITE_ZEROES:
	case BDEV_IO_UNMAP:
		return bdev_range_valid(b, io->offset, io->length);
	}
	return false;
}

/* --- dispatch ------------------------------------------------------------ */

static void bdev_io_dispatch(struct bdev_channel *ch, struct bdev_io *io)
{
	const struct bdev_ops *ops = ch->bdev->ops;

	io->ch = ch;
	ch->outstanding++;
	if (!bdev_io_valid(ch->bdev, io)) {
		bdev_io_complete_deferred(io, -EINVAL);
		return;
	}
	switch (io->type) {
	case BDEV_IO_READ:
		ops->readv(ch, io);
		break;
	case BDEV_IO_WRITE:
		ops->writev(ch, io);
		break;
	case BDEV_IO_FLUSH:
		ops->flush(ch, io);
		break;
	case BDEV_IO_WRITE_ZEROES:
		ops->write_zeroes(ch, io);
		break;
	case BDEV_IO_UNMAP:
		ops->unmap(ch, io);
		break;
	}
}

void bdev_io_forward(struct bdev_channel *to, struct bdev_io *io)
{
	io->ch->outstanding--;
	bdev_io_dispatch(to, io);
}

static void bdev_io_prep(struct bdev_io *io, enum bdev_io_type type,
			 uint64_t offset, uint64_t length, bdev_cb cb,
			 void *cb_arg)
{
	io->type = type;
	io->flags = 0;
	io->offset = offset;
	io->length = length;
	io->iov = NULL;
	io->iovcnt = 0;
	io->cb = cb;
	io->cb_arg = cb_arg;
	io->status = 0;
}

void bdev_readv(struct bdev_channel *ch, struct bdev_io *io,
		const struct iovec *iov, unsigned int iovcnt, uint64_t offset,
		bdev_cb cb, void *cb_arg)
{
	bdev_io_prep(io, BDEV_IO_READ, offset, 0, cb, cb_arg);
	io->iov = iov;
	io->iovcnt = iovcnt;
	bdev_io_dispatch(ch, io);
}

void bdev_writev(struct bdev_channel *ch, struct bdev_io *io,
		 const struct iovec *iov, unsigned int iovcnt, uint64_t offset,
		 uint32_t flags, bdev_cb cb, void *cb_arg)
{
	bdev_io_prep(io, BDEV_IO_WRITE, offset, 0, cb, cb_arg);
	io->iov = iov;
	io->iovcnt = iovcnt;
	io->flags = flags;
	bdev_io_dispatch(ch, io);
}

void bdev_flush(struct bdev_channel *ch, struct bdev_io *io, bdev_cb cb,
		void *cb_arg)
{
	bdev_io_prep(io, BDEV_IO_FLUSH, 0, 0, cb, cb_arg);
	bdev_io_dispatch(ch, io);
}

void bdev_write_zeroes(struct bdev_channel *ch, struct bdev_io *io,
		       uint64_t offset, uint64_t length, bdev_cb cb,
		       void *cb_arg)
{
	bdev_io_prep(io, BDEV_IO_WRITE_ZEROES, offset, length, cb, cb_arg);
	bdev_io_dispatch(ch, io);
}

void bdev_unmap(struct bdev_channel *ch, struct bdev_io *io, uint64_t offset,
		uint64_t length, bdev_cb cb, void *cb_arg)
{
	bdev_io_prep(io, BDEV_IO_UNMAP, offset, length, cb, cb_arg);
	bdev_io_dispatch(ch, io);
}
