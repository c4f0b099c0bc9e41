// SPDX-License-Identifier: MIT
/*
 * ram.c - a memory block device that can model a volatile write cache.
 *
 * Without a cache every write is durable at once.  With one, the device
 * keeps two images: @cur, what reads see, and @durable, what the media holds.
 * Each completed write is also logged (with a copy of its data) until a
 * flush applies the log to @durable; a power loss (bdev_ram_crash_image())
 * applies only a chosen subset of the log.  FUA writes stay in the log in
 * their place, always kept, so that an older pending write to the same block
 * can never land on top of them.
 *
 * Requests are served synchronously under one mutex (this is a test model,
 * not a data path) and completed from the reactor loop.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bdev_internal.h"
#include "ram_internal.h"
#include "vhostfs/iov.h"

static const struct bdev_ops ram_ops;

static struct ram_bdev *ram_from(struct bdev *b)
{
	return (struct ram_bdev *)b;
}

/* Copy a request's data (validated: io->length bytes) out of its iovecs. */
static void ram_iov_to_buf(const struct bdev_io *io, void *dst)
{
	struct iov_cursor c;

	iov_cursor_init(&c, io->iov, io->iovcnt);
	(void)iov_cursor_read(&c, dst, io->length);
}

static void ram_buf_to_iov(const struct bdev_io *io, const void *src)
{
	struct iov_cursor c;

	iov_cursor_init(&c, io->iov, io->iovcnt);
	(void)iov_cursor_write(&c, src, io->length);
}

/* Bytes of @blocks blocks, or 0 when that does not fit in memory. */
static size_t ram_bytes(uint32_t bs, uint64_t blocks)
{
	if (blocks == 0 || blocks > SIZE_MAX / bs)
		return 0;
	return (size_t)(blocks * bs);
}

static void ram_log_free(struct ram_bdev *rb)
{
	struct ram_rec *r = rb->head;

	while (r) {
		struct ram_rec *next = r->next;

		free(r);
		r = next;
	}
	rb->head = rb->tail = NULL;
	rb->pending = 0;
	rb->pending_bytes = 0;
}

void ram_rec_apply(const struct ram_rec *r, unsigned char *img, uint64_t off,
		   uint64_t len)
{
	if (r->zero)
		memset(img + off, 0, len);
	else
		memcpy(img + off, r->data + (off - r->off), len);
}

static void ram_log_pop(struct ram_bdev *rb)
{
	struct ram_rec *r = rb->head;

	ram_rec_apply(r, rb->durable, r->off, r->len);
	rb->head = r->next;
	if (!rb->head)
		rb->tail = NULL;
	if (!r->fua)
		rb->pending--;
	if (!r->zero)
		rb->pending_bytes -= r->len;
	free(r);
}

/* A write-back cache that is full writes its oldest entries to the media. */
static void ram_log_destage(struct ram_bdev *rb)
{
	uint64_t max = rb->cfg.cache_max_bytes;

	while (max && rb->pending_bytes > max && rb->head)
		ram_log_pop(rb);
}

/* A log record of @io, its data copied in; NULL when out of memory. */
static struct ram_rec *ram_rec_new(const struct bdev_io *io, bool zero)
{
	struct ram_rec *r = malloc(sizeof(*r) + (zero ? 0 : io->length));

	if (!r)
		return NULL;
	r->next = NULL;
	r->off = io->offset;
	r->len = io->length;
	r->zero = zero;
	r->fua = (io->flags & BDEV_WRITE_FUA) != 0;
	if (!zero)
		ram_iov_to_buf(io, r->data);
	return r;
}

static void ram_log_append(struct ram_bdev *rb, struct ram_rec *r)
{
	if (rb->tail)
		rb->tail->next = r;
	else
		rb->head = r;
	rb->tail = r;
	if (!r->fua)
		rb->pending++;
	if (!r->zero)
		rb->pending_bytes += r->len;
	ram_log_destage(rb);
}

/* --- operations ----------------------------------------------------------- */

static void ram_readv(struct bdev_channel *ch, struct bdev_io *io)
{
	struct ram_bdev *rb = ram_from(ch->bdev);

	pthread_mutex_lock(&rb->lock);
	ram_buf_to_iov(io, rb->cur + io->offset);
	pthread_mutex_unlock(&rb->lock);
	bdev_io_complete_deferred(io, 0);
}

/*
 * With a cache the record (and its copy of the data) is made before taking
 * the lock, so that running out of memory changes nothing.
 */
static void ram_write_common(struct bdev_channel *ch, struct bdev_io *io,
			     bool zero)
{
	struct ram_bdev *rb = ram_from(ch->bdev);
	struct ram_rec *r = NULL;

	if (rb->cfg.volatile_cache) {
		r = ram_rec_new(io, zero);
		if (!r) {
			bdev_io_complete_deferred(io, -ENOMEM);
			return;
		}
	}
	pthread_mutex_lock(&rb->lock);
	if (r) {
		ram_rec_apply(r, rb->cur, r->off, r->len);
		ram_log_append(rb, r);
	} else if (zero) {
		memset(rb->cur + io->offset, 0, io->length);
	} else {
		ram_iov_to_buf(io, rb->cur + io->offset);
	}
	pthread_mutex_unlock(&rb->lock);
	bdev_io_complete_deferred(io, 0);
}

static void ram_writev(struct bdev_channel *ch, struct bdev_io *io)
{
	ram_write_common(ch, io, false);
}

static void ram_write_zeroes(struct bdev_channel *ch, struct bdev_io *io)
{
	ram_write_common(ch, io, true);
}

static void ram_flush(struct bdev_channel *ch, struct bdev_io *io)
{
	struct ram_bdev *rb = ram_from(ch->bdev);

	pthread_mutex_lock(&rb->lock);
	while (rb->head)
		ram_log_pop(rb);
	pthread_mutex_unlock(&rb->lock);
	bdev_io_complete_deferred(io, 0);
}

static void ram_destroy(struct bdev *b)
{
	struct ram_bdev *rb = ram_from(b);

	ram_log_free(rb);
	pthread_mutex_destroy(&rb->lock);
	free(rb->cur);
	free(rb->durable);
	free(rb);
}

/* Unmapped blocks read as zeros: unmap is write_zeroes here. */
static const struct bdev_ops ram_ops = {
	.readv = ram_readv,
	.writev = ram_writev,
	.flush = ram_flush,
	.write_zeroes = ram_write_zeroes,
	.unmap = ram_write_zeroes,
	.destroy = ram_destroy,
};

/* --- public -------------------------------------------------------------- */

struct ram_bdev *ram_bdev_get(struct bdev *b)
{
	return b && b->ops == &ram_ops ? ram_from(b) : NULL;
}

int bdev_ram_create(const struct bdev_ram_config *cfg, struct bdev **out)
{
	uint32_t bs = cfg->block_size ? cfg->block_size : 4096;
	size_t bytes = ram_bytes(bs, cfg->block_count);
	struct ram_bdev *rb;

	if (!bdev_block_size_valid(bs) || bytes == 0)
		return -EINVAL;
	rb = calloc(1, sizeof(*rb));
	if (!rb)
		return -ENOMEM;
	rb->cfg = *cfg;
	rb->cfg.block_size = bs;
	rb->cur = calloc(1, bytes);
	rb->durable = cfg->volatile_cache ? calloc(1, bytes) : NULL;
	if (!rb->cur || (cfg->volatile_cache && !rb->durable)) {
		free(rb->cur);
		free(rb);
		return -ENOMEM;
	}
	pthread_mutex_init(&rb->lock, NULL);
	bdev_init(&rb->bdev, &ram_ops, "ram", bs, cfg->block_count);
	*out = &rb->bdev;
	return 0;
}

/* realloc() that zeroes the grown part; NULL @p stays NULL. */
static int ram_grow_buf(unsigned char **p, size_t old, size_t bytes)
{
	unsigned char *n;

	if (!*p)
		return 0;
	n = realloc(*p, bytes);
	if (!n)
		return -ENOMEM;
	memset(n + old, 0, bytes - old);
	*p = n;
	return 0;
}

int bdev_ram_resize(struct bdev *b, uint64_t block_count)
{
	struct ram_bdev *rb = ram_bdev_get(b);
	uint64_t cur_count;
	size_t old, bytes;
	int rc;

	if (!rb)
		return -EINVAL;
	pthread_mutex_lock(&rb->lock);
	cur_count = bdev_block_count(b);
	old = ram_bytes(rb->cfg.block_size, cur_count);
	bytes = ram_bytes(rb->cfg.block_size, block_count);
	if (block_count < cur_count || bytes == 0)
		rc = -EINVAL;
	else
		rc = ram_grow_buf(&rb->cur, old, bytes);
	if (rc == 0)
		rc = ram_grow_buf(&rb->durable, old, bytes);
	/* a failed second realloc leaves @cur larger: harmless, size unchanged */
	pthread_mutex_unlock(&rb->lock);
	if (rc == 0)
		bdev_set_block_count(b, block_count);
	return rc;
}

uint64_t bdev_ram_pending_writes(struct bdev *b)
{
	struct ram_bdev *rb = ram_bdev_get(b);
	uint64_t n;

	if (!rb)
		return 0;
	pthread_mutex_lock(&rb->lock);
	n = rb->pending;
	pthread_mutex_unlock(&rb->lock);
	return n;
}
