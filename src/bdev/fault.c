// SPDX-License-Identifier: MIT
/*
 * fault.c - a wrapper that counts requests and injects failures: a failed
 * write or flush, a power cut after write N (optionally tearing that write),
 * and the image that survives the cut, for power-loss tests.
 *
 * Requests pass through to the base device unchanged (bdev_io_forward); the
 * decisions are atomic counters, so channels on several threads need no lock.
 */
#include <errno.h>
#include <stdlib.h>

#include "bdev_internal.h"
#include "ram_internal.h"
#include "vhostfs/iov.h"

struct fault_counters {
	_Atomic uint64_t reads;
	_Atomic uint64_t writes;
	_Atomic uint64_t write_zeroes;
	_Atomic uint64_t unmaps;
	_Atomic uint64_t flushes;
	_Atomic uint64_t bytes_read;
	_Atomic uint64_t bytes_written;
	_Atomic uint64_t failed;
};

struct fault_bdev {
	struct bdev bdev;
	struct bdev_fault_config cfg;
	atomic_bool power_lost;
	struct fault_counters n;
	/* the torn write: there is at most one, write cfg.power_cut_write */
	struct bdev_io tear_io;
	struct bdev_io *tear_user;
	struct iovec tear_iov[BDEV_IOV_MAX];
};

static const struct bdev_ops fault_ops;

static struct fault_bdev *fault_from(struct bdev *b)
{
	return (struct fault_bdev *)b;
}

static struct fault_bdev *fault_get(const struct bdev *b)
{
	return b && b->ops == &fault_ops ? (struct fault_bdev *)b : NULL;
}

static void fault_fail(struct fault_bdev *f, struct bdev_io *io)
{
	atomic_fetch_add(&f->n.failed, 1);
	bdev_io_complete_deferred(io, -EIO);
}

static void fault_pass(struct bdev_channel *ch, struct bdev_io *io)
{
	bdev_io_forward(ch->ctx, io);
}

/* --- the torn write -------------------------------------------------------- */

static void fault_tear_cpl(void *arg, int err)
{
	struct fault_bdev *f = arg;

	/* power died while the write was in flight: it failed, whatever landed */
	atomic_fetch_add(&f->n.failed, 1);
	bdev_io_complete(f->tear_user, -EIO);
}

/* Describe the first @keep bytes of @io's data in f->tear_iov. */
static unsigned int fault_tear_iov(struct fault_bdev *f,
				   const struct bdev_io *io, uint64_t keep)
{
	struct iov_cursor c;
	unsigned int n = 0;

	/* keep < io->length and tear_iov has room for every iovec: no error */
	iov_cursor_init(&c, io->iov, io->iovcnt);
	(void)iov_cursor_slice(&c, keep, f->tear_iov, BDEV_IOV_MAX, &n);
	return n;
}

/* Send only the first cfg.tear_blocks blocks of @io to the base. */
static void fault_tear(struct fault_bdev *f, struct bdev_channel *ch,
		       struct bdev_io *io)
{
	uint64_t keep = (uint64_t)f->cfg.tear_blocks * f->bdev.block_size;
	struct bdev_io *t = &f->tear_io;

	f->tear_user = io;
	switch (io->type) {
	case BDEV_IO_WRITE:
		bdev_writev(ch->ctx, t, f->tear_iov, fault_tear_iov(f, io, keep),
			    io->offset, io->flags, fault_tear_cpl, f);
		break;
	case BDEV_IO_WRITE_ZEROES:
		bdev_write_zeroes(ch->ctx, t, io->offset, keep, fault_tear_cpl, f);
		break;
	default:
		bdev_unmap(ch->ctx, t, io->offset, keep, fault_tear_cpl, f);
		break;
	}
}

/* --- operations ------------------------------------------------------------ */

/* Every modifying request: count it, then fail, tear or pass it. */
static void fault_write_common(struct bdev_channel *ch, struct bdev_io *io)
{
	struct fault_bdev *f = fault_from(ch->bdev);
	uint64_t nr = atomic_fetch_add(&f->n.writes, 1) + 1;
	uint64_t tear = (uint64_t)f->cfg.tear_blocks * f->bdev.block_size;

	if (atomic_load(&f->power_lost) || nr == f->cfg.fail_write) {
		fault_fail(f, io);
		return;
	}
	if (nr == f->cfg.power_cut_write) {
		atomic_store(&f->power_lost, true);
		if (tear > 0 && tear < io->length) {
			fault_tear(f, ch, io);
			return;
		}
	}
	fault_pass(ch, io);
}

static void fault_readv(struct bdev_channel *ch, struct bdev_io *io)
{
	struct fault_bdev *f = fault_from(ch->bdev);

	atomic_fetch_add(&f->n.reads, 1);
	atomic_fetch_add(&f->n.bytes_read, io->length);
	if (atomic_load(&f->power_lost))
		fault_fail(f, io);
	else
		fault_pass(ch, io);
}

static void fault_writev(struct bdev_channel *ch, struct bdev_io *io)
{
	struct fault_bdev *f = fault_from(ch->bdev);

	atomic_fetch_add(&f->n.bytes_written, io->length);
	fault_write_common(ch, io);
}

static void fault_write_zeroes(struct bdev_channel *ch, struct bdev_io *io)
{
	atomic_fetch_add(&fault_from(ch->bdev)->n.write_zeroes, 1);
	fault_write_common(ch, io);
}

static void fault_unmap(struct bdev_channel *ch, struct bdev_io *io)
{
	atomic_fetch_add(&fault_from(ch->bdev)->n.unmaps, 1);
	fault_write_common(ch, io);
}

static void fault_flush(struct bdev_channel *ch, struct bdev_io *io)
{
	struct fault_bdev *f = fault_from(ch->bdev);
	uint64_t nr = atomic_fetch_add(&f->n.flushes, 1) + 1;

	if (atomic_load(&f->power_lost) || nr == f->cfg.fail_flush)
		fault_fail(f, io);
	else
		fault_pass(ch, io);
}

/* Each channel submits on a channel of the base on the same reactor. */
static int fault_channel_create(struct bdev_channel *ch)
{
	struct bdev_channel *base_ch;
	int rc;

	rc = bdev_channel_create(fault_from(ch->bdev)->cfg.base, ch->reactor,
				 &base_ch);
	if (rc == 0)
		ch->ctx = base_ch;
	return rc;
}

static int fault_channel_destroy(struct bdev_channel *ch)
{
	return bdev_channel_destroy(ch->ctx);
}

static void fault_destroy(struct bdev *b)
{
	struct fault_bdev *f = fault_from(b);

	bdev_set_resize_cb(f->cfg.base, NULL, NULL);
	free(f);
}

static const struct bdev_ops fault_ops = {
	.readv = fault_readv,
	.writev = fault_writev,
	.flush = fault_flush,
	.write_zeroes = fault_write_zeroes,
	.unmap = fault_unmap,
	.channel_create = fault_channel_create,
	.channel_destroy = fault_channel_destroy,
	.destroy = fault_destroy,
};

/* --- public ---------------------------------------------------------------- */

static void fault_base_resized(void *arg, uint64_t old_blocks,
			       uint64_t new_blocks)
{
	bdev_set_block_count(arg, new_blocks);
}

int bdev_fault_create(const struct bdev_fault_config *cfg, struct bdev **out)
{
	struct fault_bdev *f;

	if (!cfg->base)
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->cfg = *cfg;
	atomic_init(&f->power_lost, false);
	bdev_init(&f->bdev, &fault_ops, "fault", bdev_block_size(cfg->base),
		  bdev_block_count(cfg->base));
	bdev_set_resize_cb(cfg->base, fault_base_resized, &f->bdev);
	*out = &f->bdev;
	return 0;
}

void bdev_fault_power_cut(struct bdev *b)
{
	struct fault_bdev *f = fault_get(b);

	if (f)
		atomic_store(&f->power_lost, true);
}

bool bdev_fault_power_lost(const struct bdev *b)
{
	const struct fault_bdev *f = fault_get(b);

	return f && atomic_load(&f->power_lost);
}

void bdev_fault_stats_get(const struct bdev *b, struct bdev_fault_stats *out)
{
	const struct fault_bdev *f = fault_get(b);

	*out = (struct bdev_fault_stats){ 0 };
	if (!f)
		return;
	out->reads = atomic_load(&f->n.reads);
	out->writes = atomic_load(&f->n.writes);
	out->write_zeroes = atomic_load(&f->n.write_zeroes);
	out->unmaps = atomic_load(&f->n.unmaps);
	out->flushes = atomic_load(&f->n.flushes);
	out->bytes_read = atomic_load(&f->n.bytes_read);
	out->bytes_written = atomic_load(&f->n.bytes_written);
	out->failed = atomic_load(&f->n.failed);
}

int bdev_fault_crash_image(struct bdev *b, struct bdev **out)
{
	struct fault_bdev *f = fault_get(b);

	if (!f)
		return -EINVAL;
	if (!ram_bdev_get(f->cfg.base))
		return -EOPNOTSUPP;
	return bdev_ram_crash_image(f->cfg.base, &f->cfg.loss, out);
}
