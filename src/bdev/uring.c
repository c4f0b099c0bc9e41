// SPDX-License-Identifier: MIT
/*
 * uring.c - a block device on a file or a block device node.
 *
 * Reads, writes and flushes go to the submitting channel's reactor ring, so
 * every thread submits on its own ring and the device shares only read-only
 * state between threads.  fallocate and the discard ioctl have no reactor
 * operation yet, so write_zeroes and unmap run on a worker thread (slow path).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bdev_internal.h"
#include "vhostfs/iov.h"
#include "vhostfs/log.h"

/* Largest write of the zero buffer when the fs cannot zero a range itself. */
#define URING_ZERO_BYTES (256u * 1024u)

struct uring_bdev {
	struct bdev bdev;
	int fd;
	bool blkdev;
	bool direct;
	atomic_bool no_zero_range; /* fallocate(ZERO_RANGE) said EOPNOTSUPP */
	struct worker_pool *workers;
	bool own_workers;
	void *zeros; /* URING_ZERO_BYTES of zeros, block aligned */
	char *path;
};

/* Per-request state in bdev_io.scratch. */
struct uring_io {
	union {
		struct reactor_op op;
		struct worker_job job;
	};
	struct iovec part; /* a partly transferred iovec's rest, or zeros */
	uint64_t done;     /* bytes transferred so far */
	int ret;           /* a worker's result */
};

_Static_assert(sizeof(struct uring_io) <= BDEV_IO_SCRATCH,
	       "uring_io must fit in bdev_io.scratch");

static struct uring_bdev *uring_from(struct bdev *b)
{
	return (struct uring_bdev *)b;
}

static struct uring_io *uring_io(struct bdev_io *io)
{
	return (struct uring_io *)(void *)io->scratch;
}

/* --- read and write ---------------------------------------------------- */

static void uring_rw_submit(struct bdev_io *io);

/*
 * After a short transfer, point at what is left without copying the caller's
 * array: the rest of a split iovec goes alone, whole ones straight after.
 */
static void uring_rw_rest(struct bdev_io *io, const struct iovec **iov,
			  unsigned int *cnt)
{
	struct uring_io *x = uring_io(io);
	struct iov_cursor c;

	iov_cursor_init(&c, io->iov, io->iovcnt);
	(void)iov_cursor_skip(&c, x->done); /* done < length: cannot fail */
	if (c.off == 0) {
		*iov = c.iov;
		*cnt = c.cnt;
		return;
	}
	x->part.iov_base = (char *)c.iov->iov_base + c.off;
	x->part.iov_len = c.iov->iov_len - c.off;
	*iov = &x->part;
	*cnt = 1;
}

/*
 * Account @res bytes of a read or write that may come back short; true when
 * the rest must be submitted, false when @io was completed.
 */
static bool uring_io_advance(struct bdev_io *io, int res)
{
	struct uring_io *x = uring_io(io);

	if (res <= 0) {
		/* 0: end of file, the file shrank below the device size */
		bdev_io_complete(io, res < 0 ? res : -EIO);
		return false;
	}
	x->done += (uint64_t)res;
	if (x->done < io->length)
		return true;
	bdev_io_complete(io, 0);
	return false;
}

static void uring_rw_cpl(void *arg, int res)
{
	if (uring_io_advance(arg, res))
		uring_rw_submit(arg);
}

static void uring_rw_submit(struct bdev_io *io)
{
	struct uring_bdev *u = uring_from(io->ch->bdev);
	struct uring_io *x = uring_io(io);
	struct reactor *r = io->ch->reactor;
	const struct iovec *iov = io->iov;
	unsigned int cnt = io->iovcnt;
	uint64_t off = io->offset + x->done;

	if (x->done > 0)
		uring_rw_rest(io, &iov, &cnt);
	reactor_op_init(&x->op, uring_rw_cpl, io);
	if (io->type == BDEV_IO_READ)
		reactor_readv(r, &x->op, u->fd, iov, cnt, off);
	else
		reactor_writev2(r, &x->op, u->fd, iov, cnt, off,
				io->flags & BDEV_WRITE_FUA ? RWF_DSYNC : 0);
}

static void uring_rw(struct bdev_channel *ch, struct bdev_io *io)
{
	uring_io(io)->done = 0;
	uring_rw_submit(io);
}

/* --- flush --------------------------------------------------------------- */

static void uring_flush_cpl(void *arg, int res)
{
	bdev_io_complete(arg, res < 0 ? res : 0);
}

static void uring_flush(struct bdev_channel *ch, struct bdev_io *io)
{
	struct uring_io *x = uring_io(io);

	reactor_op_init(&x->op, uring_flush_cpl, io);
	reactor_fsync(ch->reactor, &x->op, uring_from(ch->bdev)->fd, true);
}

/* --- write_zeroes and unmap ---------------------------------------------- */

static void uring_job_submit(struct bdev_io *io, void (*work)(void *),
			     void (*done)(void *))
{
	struct uring_io *x = uring_io(io);

	x->job.work = work;
	x->job.done = done;
	x->job.arg = io;
	x->job.origin = io->ch->reactor;
	worker_pool_submit(uring_from(io->ch->bdev)->workers, &x->job);
}

static int uring_fallocate(struct bdev_io *io, int mode)
{
	struct uring_bdev *u = uring_from(io->ch->bdev);

	if (fallocate(u->fd, mode, (off_t)io->offset, (off_t)io->length) < 0)
		return -errno;
	return 0;
}

static void uring_zero_write_submit(struct bdev_io *io);

static void uring_zero_write_cpl(void *arg, int res)
{
	if (uring_io_advance(arg, res))
		uring_zero_write_submit(arg);
}

/* The fallback: write the zero buffer over the range, a piece at a time. */
static void uring_zero_write_submit(struct bdev_io *io)
{
	struct uring_bdev *u = uring_from(io->ch->bdev);
	struct uring_io *x = uring_io(io);
	uint64_t left = io->length - x->done;

	x->part.iov_base = u->zeros;
	x->part.iov_len = left < URING_ZERO_BYTES ? left : URING_ZERO_BYTES;
	reactor_op_init(&x->op, uring_zero_write_cpl, io);
	reactor_writev(io->ch->reactor, &x->op, u->fd, &x->part, 1,
		       io->offset + x->done);
}

static void uring_zero_range_work(void *arg)
{
	struct bdev_io *io = arg;

	uring_io(io)->ret = uring_fallocate(
		io, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE);
}

static void uring_zero_range_done(void *arg)
{
	struct bdev_io *io = arg;
	struct uring_bdev *u = uring_from(io->ch->bdev);
	int ret = uring_io(io)->ret;

	if (ret != -EOPNOTSUPP) {
		bdev_io_complete(io, ret);
		return;
	}
	if (!atomic_exchange(&u->no_zero_range, true))
		log_info("bdev %s: no fallocate(ZERO_RANGE), writing zeros",
			 u->path);
	uring_zero_write_submit(io);
}

static void uring_write_zeroes(struct bdev_channel *ch, struct bdev_io *io)
{
	struct uring_bdev *u = uring_from(ch->bdev);

	uring_io(io)->done = 0;
	if (atomic_load_explicit(&u->no_zero_range, memory_order_relaxed))
		uring_zero_write_submit(io);
	else
		uring_job_submit(io, uring_zero_range_work,
				 uring_zero_range_done);
}

static void uring_unmap_work(void *arg)
{
	struct bdev_io *io = arg;
	struct uring_bdev *u = uring_from(io->ch->bdev);
	uint64_t range[2] = { io->offset, io->length };
	int ret = 0;

	if (!u->blkdev)
		ret = uring_fallocate(io, FALLOC_FL_PUNCH_HOLE |
					  FALLOC_FL_KEEP_SIZE);
	else if (ioctl(u->fd, BLKDISCARD, range) < 0)
		ret = -errno;
	uring_io(io)->ret = ret;
}

/* Unmap is a hint: a device or file system without it has done its part. */
static void uring_unmap_done(void *arg)
{
	struct bdev_io *io = arg;
	int ret = uring_io(io)->ret;

	bdev_io_complete(io, ret == -EOPNOTSUPP ? 0 : ret);
}

static void uring_unmap(struct bdev_channel *ch, struct bdev_io *io)
{
	uring_job_submit(io, uring_unmap_work, uring_unmap_done);
}

static void uring_destroy(struct bdev *b)
{
	struct uring_bdev *u = uring_from(b);

	if (u->own_workers && u->workers)
		worker_pool_destroy(u->workers);
	if (u->fd >= 0)
		close(u->fd);
	free(u->zeros);
	free(u->path);
	free(u);
}

static const struct bdev_ops uring_ops = {
	.readv = uring_rw,
	.writev = uring_rw,
	.flush = uring_flush,
	.write_zeroes = uring_write_zeroes,
	.unmap = uring_unmap,
	.destroy = uring_destroy,
};

/* --- opening --------------------------------------------------------------- */

/* Size in bytes of the open file or device, and its logical block size. */
static int uring_size(const struct uring_bdev *u, uint64_t *bytes,
		      uint32_t *lbs, bool *blkdev)
{
	struct stat st;
	int ssz = 512;

	if (fstat(u->fd, &st) < 0)
		return -errno;
	*blkdev = S_ISBLK(st.st_mode);
	if (S_ISREG(st.st_mode)) {
		*bytes = (uint64_t)st.st_size;
	} else if (!*blkdev) {
		log_error("bdev %s: not a regular file or block device",
			  u->path);
		return -EINVAL;
	} else if (ioctl(u->fd, BLKGETSIZE64, bytes) < 0 ||
		   ioctl(u->fd, BLKSSZGET, &ssz) < 0) {
		return -errno;
	}
	*lbs = (uint32_t)ssz;
	return 0;
}

static int uring_block_size(struct uring_bdev *u, uint32_t want,
			    uint32_t lbs, uint32_t *bs)
{
	*bs = want ? want : (u->blkdev ? lbs : 4096);
	if (!bdev_block_size_valid(*bs) || *bs < lbs) {
		log_error("bdev %s: block size %u not possible (512 or 4096, "
			  "at least the device's %u)", u->path, *bs, lbs);
		return -EINVAL;
	}
	return 0;
}

static int uring_open_fd(const char *path, bool direct)
{
	int fd = open(path, O_RDWR | O_CLOEXEC | (direct ? O_DIRECT : 0));

	return fd < 0 ? -errno : fd;
}

/*
 * Some file systems accept O_DIRECT at open and refuse it at the first I/O:
 * read block 0 (if there is one) to find out now rather than on a request.
 */
static int uring_probe_direct(struct uring_bdev *u, uint32_t bs)
{
	void *buf = NULL;
	int rc = 0;

	if (posix_memalign(&buf, 4096, bs) != 0)
		return -ENOMEM;
	if (pread(u->fd, buf, bs, 0) < 0)
		rc = -errno;
	free(buf);
	return rc;
}

static int uring_setup_fd(struct uring_bdev *u,
			  const struct bdev_uring_config *cfg)
{
	bool direct = cfg->direct != BDEV_URING_DIRECT_OFF;
	bool auto_mode = cfg->direct == BDEV_URING_DIRECT_AUTO;

	u->fd = uring_open_fd(cfg->path, direct);
	if (u->fd == -EINVAL && auto_mode) {
		log_warn("bdev %s: O_DIRECT refused, using the page cache",
			 cfg->path);
		direct = false;
		u->fd = uring_open_fd(cfg->path, false);
	}
	if (u->fd < 0) {
		log_error("bdev %s: open: %s", cfg->path, strerror(-u->fd));
		return u->fd;
	}
	u->direct = direct;
	return 0;
}

static int uring_check_direct(struct uring_bdev *u,
			      const struct bdev_uring_config *cfg, uint32_t bs)
{
	int rc;

	if (!u->direct)
		return 0;
	rc = uring_probe_direct(u, bs);
	if (rc != -EINVAL || cfg->direct != BDEV_URING_DIRECT_AUTO)
		return rc;
	log_warn("bdev %s: O_DIRECT I/O refused, using the page cache",
		 u->path);
	u->direct = false;
	if (fcntl(u->fd, F_SETFL, fcntl(u->fd, F_GETFL) & ~O_DIRECT) < 0)
		return -errno;
	return 0;
}

/* Open the path and learn the device's block size and size in blocks. */
static int uring_setup_geometry(struct uring_bdev *u,
				const struct bdev_uring_config *cfg,
				uint32_t *bs, uint64_t *blocks)
{
	uint64_t bytes = 0;
	uint32_t lbs = 0;
	int rc;

	rc = uring_setup_fd(u, cfg);
	if (rc == 0)
		rc = uring_size(u, &bytes, &lbs, &u->blkdev);
	if (rc == 0)
		rc = uring_block_size(u, cfg->block_size, lbs, bs);
	if (rc == 0)
		rc = uring_check_direct(u, cfg, *bs);
	if (rc < 0)
		return rc;
	if (bytes % *bs)
		log_warn("bdev %s: ignoring %llu bytes after the last block",
			 u->path, (unsigned long long)(bytes % *bs));
	*blocks = bytes / *bs;
	return 0;
}

static int uring_setup(struct uring_bdev *u,
		       const struct bdev_uring_config *cfg)
{
	uint64_t blocks = 0;
	uint32_t bs = 0;
	int rc;

	rc = uring_setup_geometry(u, cfg, &bs, &blocks);
	if (rc < 0)
		return rc;
	u->workers = cfg->workers;
	if (!u->workers) {
		rc = worker_pool_create(&u->workers, 1);
		if (rc < 0)
			return rc;
		u->own_workers = true;
	}
	if (posix_memalign(&u->zeros, 4096, URING_ZERO_BYTES) != 0)
		return -ENOMEM;
	memset(u->zeros, 0, URING_ZERO_BYTES);
	bdev_init(&u->bdev, &uring_ops, u->path, bs, blocks);
	return 0;
}

int bdev_uring_open(const struct bdev_uring_config *cfg, struct bdev **out)
{
	struct uring_bdev *u;
	int rc;

	if (!cfg->path)
		return -EINVAL;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->fd = -1;
	atomic_init(&u->no_zero_range, false);
	u->path = strdup(cfg->path);
	rc = u->path ? uring_setup(u, cfg) : -ENOMEM;
	if (rc < 0) {
		uring_destroy(&u->bdev);
		return rc;
	}
	*out = &u->bdev;
	return 0;
}

bool bdev_uring_is_direct(const struct bdev *b)
{
	return b->ops == &uring_ops && ((const struct uring_bdev *)b)->direct;
}

int bdev_uring_rescan(struct bdev *b)
{
	struct uring_bdev *u = uring_from(b);
	uint64_t bytes;
	uint32_t lbs;
	bool blkdev;
	int rc;

	if (b->ops != &uring_ops)
		return -EINVAL;
	rc = uring_size(u, &bytes, &lbs, &blkdev);
	if (rc == 0)
		bdev_set_block_count(b, bytes / b->block_size);
	return rc;
}
