// SPDX-License-Identifier: MIT
/*
 * data.c - the passthrough data path.
 *
 * read, write and fsync move bytes straight between the guest's iovecs and
 * the host file: no bounce buffer, no lock, no allocation.  Which syscall
 * does it was measured (docs/DESIGN.md, "The data path, measured"):
 *  - A read of cached pages is a preadv2(RWF_NOWAIT) on the reactor: one
 *    syscall, completed before the op returns, cheaper per byte and per
 *    request than an io_uring read even when io_uring batches 32 of them.
 *    Pages not in the cache (-EAGAIN, or the cached part of a range done)
 *    go to io_uring, which reads them without blocking the reactor.  tmpfs
 *    has no RWF_NOWAIT and its reads never wait for a disk: a plain preadv.
 *  - io_uring cannot complete a buffered write inline on most file systems
 *    (ext4, tmpfs: only XFS and btrfs can) and hands each one to a kernel
 *    worker thread, two context switches that cost more than the write.
 *    There a buffered write is a pwritev on the reactor, as virtiofsd does
 *    it - unless one such write stalled (dirty-page throttling), which
 *    sends writes to io_uring for a while.  O_DIRECT/O_DSYNC writes, which
 *    wait for the disk, always go to io_uring.
 *  - Both only for regular files on the share's own, local, file system
 *    (pt_inode_local): elsewhere (NFS below the share, a pipe) the ring.
 *  - fsync is an io_uring operation; fallocate, lseek, copy_file_range and
 *    syncfs have no useful io_uring form here and run on the worker pool
 *    through pt_offload().
 *
 * A tool without a reactor (c->reactor NULL) gets the same operations as
 * plain synchronous syscalls completed inline.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/magic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "vhostfs/iov.h"
#include "vhostfs/log.h"
#include "passthrough_internal.h"

/* One copy_file_range call copies at most this much: bounds a worker's time. */
#define PT_COPY_MAX (8u << 20)
/*
 * An inline write slower than this was throttled (balance_dirty_pages
 * pauses for 10-200 ms) or waited for I/O; well above what a preemption
 * costs on a busy machine, which a wall clock cannot tell apart ...
 */
#define PT_WRITE_STALL_NS 10000000ull
/* ... so writes go through io_uring (off the reactor) for this long. */
#define PT_WRITE_RING_NS 200000000ull

/*
 * One read, write or fsync, in the call's argument scratch (not at the
 * start of c->scratch: the KILL_SUIDGID detour of a write goes through
 * pt_offload, whose bookkeeping lives there).
 */
struct pt_rw {
	union {
		struct reactor_op op;  /* while the syscall is on the ring */
		struct {               /* while the KILL_SUIDGID detour runs */
			fs_cb cb;      /* the caller's completion, parked */
			void *arg;
			mode_t mode;   /* mode without the killed bits */
		} kill;
	} u;
	struct fs_call *c;
	struct pt_fs *fs;          /* set when the syscall may run inline */
	const struct iovec *iov;   /* caller's entries not yet done whole */
	unsigned int cnt;
	int fd;
	int flags;                 /* the file's open flags */
	struct iovec part;         /* rest of an entry (short transfer) */
	uint64_t off;              /* file offset of the next byte */
	size_t left;               /* bytes still to transfer */
	size_t done;               /* bytes transferred so far */
	size_t *out;
};

static_assert(sizeof(struct pt_rw) <= PT_ARGS_MAX,
	      "read/write state must fit the call's argument scratch");

/* Offsets and vector counts come from the guest. */
static int pt_rw_check(uint64_t off, unsigned int iovcnt)
{
	/* io_uring reads offset -1 as "the file position": never pass one */
	if (off > INT64_MAX || iovcnt > IOV_MAX)
		return -EINVAL;
	return 0;
}

/* Completes @c with -EROFS and returns true on a read-only share. */
static bool pt_data_readonly(struct pt_fs *fs, struct fs_call *c)
{
	if (!fs->cfg.readonly)
		return false;
	fs_call_complete(c, -EROFS);
	return true;
}

static struct pt_rw *pt_rw_start(struct pt_fs *fs, struct fs_call *c,
				 struct fs_file *file, uint64_t off,
				 const struct iovec *iov, unsigned int cnt,
				 size_t *out)
{
	struct pt_rw *rw = pt_call_args(c);
	struct pt_file *pf = pt_file_of(file);

	rw->c = c;
	/* only regular files: a pipe or a device could block the reactor */
	rw->fs = c->reactor && pt_inode_local(fs, pf->inode) &&
			 S_ISREG(pf->inode->type) ? fs : NULL;
	rw->fd = pf->fd;
	rw->flags = pf->flags;
	rw->iov = iov;
	rw->cnt = cnt;
	rw->part.iov_base = NULL;
	rw->part.iov_len = 0;
	rw->off = off;
	rw->left = 0;
	rw->done = 0;
	rw->out = out;
	return rw;
}

/*
 * Account @n transferred bytes.  The caller's iovec array is never copied
 * or changed: we keep a pointer to the first entry not yet done whole, and
 * if a transfer stopped inside an entry, that entry's tail goes out alone
 * (rw->part) before the rest of the array resumes at an entry boundary.
 */
static void pt_rw_advance(struct pt_rw *rw, size_t n)
{
	rw->done += n;
	rw->left -= n;
	rw->off += n;
	if (rw->part.iov_len) {
		rw->part.iov_base = (char *)rw->part.iov_base + n;
		rw->part.iov_len -= n;
		return;
	}
	while (rw->cnt && n >= rw->iov->iov_len) {
		n -= rw->iov->iov_len;
		rw->iov++;
		rw->cnt--;
	}
	if (n) {
		rw->part.iov_base = (char *)rw->iov->iov_base + n;
		rw->part.iov_len = rw->iov->iov_len - n;
		rw->iov++;
		rw->cnt--;
	}
}

/* Next piece: a partial entry's tail alone, else the rest of the array. */
static void pt_rw_next(struct pt_rw *rw, const struct iovec **iov,
		       unsigned int *cnt)
{
	if (rw->part.iov_len) {
		*iov = &rw->part;
		*cnt = 1;
	} else {
		*iov = rw->iov;
		*cnt = rw->cnt;
	}
}

/* --- read ----------------------------------------------------------------- */

static void pt_read_cpl(void *arg, int res)
{
	struct pt_rw *rw = arg;

	/*
	 * A short count is the end of file: io_uring already retries short
	 * buffered reads of regular files itself, so asking again would only
	 * cost a second syscall to learn that.  Bytes an inline read got
	 * before count, also when the rest failed (as read(2) reports them).
	 */
	if (res >= 0 || rw->done) {
		*rw->out = rw->done + (res > 0 ? (size_t)res : 0);
		res = 0;
	}
	fs_call_complete(rw->c, res);
}

static void pt_read_sync(struct pt_rw *rw)
{
	ssize_t n = preadv(rw->fd, rw->iov, (int)rw->cnt, (off_t)rw->off);

	pt_read_cpl(rw, n < 0 ? -errno : (int)n);
}

static void pt_read_ring(struct pt_rw *rw);

/* The tail of a split entry came in whole: the rest of the array next. */
static void pt_read_ring_cpl(void *arg, int res)
{
	struct pt_rw *rw = arg;

	if (res > 0 && rw->part.iov_len && (size_t)res == rw->part.iov_len &&
	    rw->cnt) {
		pt_rw_advance(rw, (size_t)res);
		pt_read_ring(rw);
		return;
	}
	pt_read_cpl(rw, res);
}

static void pt_read_ring(struct pt_rw *rw)
{
	const struct iovec *iov;
	unsigned int cnt;

	pt_rw_next(rw, &iov, &cnt);
	reactor_op_init(&rw->u.op, pt_read_ring_cpl, rw);
	reactor_readv(rw->c->reactor, &rw->u.op, rw->fd, iov, cnt, rw->off);
}

/*
 * The cached part right here; true if that finished the read.  A short
 * RWF_NOWAIT read may only mean the rest is not cached: it continues on
 * the ring (which finds the end of file, if that is what it was).
 */
static bool pt_read_inline(struct pt_rw *rw)
{
	bool nowait = rw->fs->read_nowait;
	ssize_t n;

	rw->left = iov_length(rw->iov, rw->cnt);
	n = preadv2(rw->fd, rw->iov, (int)rw->cnt, (off_t)rw->off,
		    nowait ? RWF_NOWAIT : 0);
	if (n < 0 && (errno == EAGAIN || errno == EOPNOTSUPP))
		return false;
	if (n < 0 || !nowait || n == 0 || (size_t)n == rw->left) {
		pt_read_cpl(rw, n < 0 ? -errno : (int)n);
		return true;
	}
	pt_rw_advance(rw, (size_t)n);
	return false;
}

void pt_read(struct fs *fs, struct fs_call *c, struct fs_file *file,
	     uint64_t off, const struct iovec *iov, unsigned int iovcnt,
	     size_t *nread)
{
	struct pt_rw *rw;
	int err = pt_rw_check(off, iovcnt);

	if (err) {
		fs_call_complete(c, err);
		return;
	}
	rw = pt_rw_start(pt_fs_of(fs), c, file, off, iov, iovcnt, nread);
	if (!c->reactor) {
		pt_read_sync(rw);
		return;
	}
	if (rw->fs && !(rw->flags & O_DIRECT) && pt_read_inline(rw))
		return;
	pt_read_ring(rw);
}

/* --- write ---------------------------------------------------------------- */

/*
 * The write is over: @err, unless some bytes made it, in which case the
 * guest hears about them (as from write(2)) and meets the error on retry.
 */
static void pt_write_finish(struct pt_rw *rw, int err)
{
	if (rw->done || !err) {
		*rw->out = rw->done;
		err = 0;
	}
	fs_call_complete(rw->c, err);
}

static void pt_write_submit(struct pt_rw *rw);

static void pt_write_cpl(void *arg, int res)
{
	struct pt_rw *rw = arg;

	if (res < 0) {
		pt_write_finish(rw, res);
		return;
	}
	/* no progress, or more than asked: never loop on a confused kernel */
	if (res == 0 || (size_t)res > rw->left) {
		pt_write_finish(rw, -EIO);
		return;
	}
	pt_rw_advance(rw, (size_t)res);
	if (rw->left == 0 || (rw->cnt == 0 && rw->part.iov_len == 0)) {
		pt_write_finish(rw, 0);
		return;
	}
	pt_write_submit(rw);
}

static uint64_t pt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Write on the reactor itself?  Only buffered writes on a file system where
 * io_uring would punt them anyway; writes that wait for the disk
 * (O_DIRECT, O_DSYNC, O_SYNC) stay asynchronous.
 */
static bool pt_write_inline_ok(const struct pt_rw *rw)
{
	uint64_t until;

	if (!rw->fs || !rw->fs->write_inline ||
	    (rw->flags & (O_DIRECT | O_DSYNC)))
		return false;
	until = atomic_load_explicit(&rw->fs->write_ring_until,
				     memory_order_relaxed);
	return until == 0 || pt_now_ns() >= until;
}

/* pwritev on the reactor, timed: a stall moves writes back to the ring. */
static void pt_write_inline(struct pt_rw *rw, const struct iovec *iov,
			    unsigned int cnt)
{
	uint64_t t0 = pt_now_ns(), t1;
	ssize_t n = pwritev(rw->fd, iov, (int)cnt, (off_t)rw->off);
	int res = n < 0 ? -errno : (int)n;

	t1 = pt_now_ns();
	if (t1 - t0 > PT_WRITE_STALL_NS) {
		log_debug("passthrough: inline write took %llu us, writes go "
			  "through io_uring for a while",
			  (unsigned long long)(t1 - t0) / 1000);
		atomic_store_explicit(&rw->fs->write_ring_until,
				      t1 + PT_WRITE_RING_NS,
				      memory_order_relaxed);
	}
	pt_write_cpl(rw, res);
}

static void pt_write_submit(struct pt_rw *rw)
{
	const struct iovec *iov;
	unsigned int cnt;
	ssize_t n;

	pt_rw_next(rw, &iov, &cnt);
	if (!rw->c->reactor) {
		n = pwritev(rw->fd, iov, (int)cnt, (off_t)rw->off);
		pt_write_cpl(rw, n < 0 ? -errno : (int)n);
		return;
	}
	if (pt_write_inline_ok(rw)) {
		pt_write_inline(rw, iov, cnt);
		return;
	}
	reactor_op_init(&rw->u.op, pt_write_cpl, rw);
	reactor_writev(rw->c->reactor, &rw->u.op, rw->fd, iov, cnt, rw->off);
}

/*
 * The mode a write by an unprivileged caller leaves, as the kernel's
 * setattr_should_drop_suidgid() decides it: set-user-ID always goes;
 * set-group-ID goes when group-exec is set (without it, S_ISGID marks
 * mandatory locking) or when the caller is not in the file's group (we
 * know the primary group only, so we err towards clearing).
 */
static mode_t pt_write_killed_mode(const struct stat *st, gid_t caller_gid)
{
	mode_t m = st->st_mode & 07777;

	if (!S_ISREG(st->st_mode))
		return m;
	m &= ~(mode_t)S_ISUID;
	if ((m & S_ISGID) && ((m & S_IXGRP) || st->st_gid != caller_gid))
		m &= ~(mode_t)S_ISGID;
	return m;
}

/*
 * Worker: drop the privileges before the data lands.  We are root (with
 * CAP_FSETID), so the host kernel keeps S_ISUID/S_ISGID on our writes:
 * clear them ourselves.  security.capability goes too: the host kernel
 * removes it on any write whoever writes (file_remove_privs), but we do
 * not depend on every host file system doing that.
 */
static int pt_write_kill_work(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	struct pt_rw *rw = arg;

	if (fchmod(rw->fd, rw->u.kill.mode) < 0)
		return -errno;
	if (fremovexattr(rw->fd, "security.capability") < 0 &&
	    errno != ENODATA && errno != EOPNOTSUPP) {
		log_warn("passthrough: cannot drop security.capability: errno %d",
			 errno);
		return -errno;
	}
	return 0;
}

/* Back on the reactor after the detour: restore the caller's completion. */
static void pt_write_kill_cpl(void *arg, int err)
{
	struct pt_rw *rw = arg;
	struct fs_call *c = rw->c;

	c->cb = rw->u.kill.cb;
	c->cb_arg = rw->u.kill.arg;
	if (err) {
		fs_call_complete(c, err);
		return;
	}
	pt_write_submit(rw);
}

/*
 * FS_WRITE_KILL_SUIDGID: one fstat (no I/O for an open file) tells whether
 * there is anything to drop; only then is the write delayed by a trip to a
 * worker.  Returns 0 to go on writing, 1 if the detour took over, or -errno.
 */
static int pt_write_kill_privs(struct pt_fs *fs, struct pt_rw *rw)
{
	struct fs_call *c = rw->c;
	struct stat st;
	mode_t mode;

	if (fstat(rw->fd, &st) < 0)
		return -errno;
	mode = pt_write_killed_mode(&st, c->cred.gid);
	if (mode == (st.st_mode & 07777))
		return 0;
	rw->u.kill.cb = c->cb;
	rw->u.kill.arg = c->cb_arg;
	rw->u.kill.mode = mode;
	/* pt_offload completes through c->cb: borrow it for the detour */
	c->cb = pt_write_kill_cpl;
	c->cb_arg = rw;
	pt_offload(fs, c, pt_write_kill_work, rw);
	return 1;
}

void pt_write(struct fs *fs, struct fs_call *c, struct fs_file *file,
	      uint64_t off, const struct iovec *iov, unsigned int iovcnt,
	      uint32_t write_flags, size_t *nwritten)
{
	struct pt_fs *pfs = pt_fs_of(fs);
	struct pt_rw *rw;
	int err = pt_rw_check(off, iovcnt);

	if (err) {
		fs_call_complete(c, err);
		return;
	}
	if (pt_data_readonly(pfs, c))
		return;
	rw = pt_rw_start(pfs, c, file, off, iov, iovcnt, nwritten);
	rw->left = iov_length(iov, iovcnt);
	if (rw->left == 0) {
		pt_write_finish(rw, 0);
		return;
	}
	if (write_flags & FS_WRITE_KILL_SUIDGID) {
		err = pt_write_kill_privs(pfs, rw);
		if (err) {
			if (err < 0)
				fs_call_complete(c, err);
			return;
		}
	}
	pt_write_submit(rw);
}

/*
 * File systems on which io_uring completes a buffered write inline
 * (FMODE_BUF_WASYNC, Linux >= 6.0/6.1).  Elsewhere each one goes to an
 * io-wq thread: 22 us per 4 KiB write on ext4 here, 8 us for a pwritev.
 */
static bool pt_fs_type_async_writes(long type)
{
	return type == XFS_SUPER_MAGIC || type == BTRFS_SUPER_MAGIC;
}

void pt_data_setup(struct pt_fs *fs)
{
	/* tmpfs refuses RWF_NOWAIT (and then also punts io_uring reads) */
	fs->read_nowait = fs->fs_type != TMPFS_MAGIC;
	fs->write_inline = !pt_fs_type_async_writes(fs->fs_type);
	atomic_init(&fs->write_ring_until, 0);
}

/* --- fsync ----------------------------------------------------------------- */

static void pt_fsync_cpl(void *arg, int res)
{
	struct pt_rw *rw = arg;

	fs_call_complete(rw->c, res < 0 ? res : 0);
}

void pt_fsync(struct fs *fs, struct fs_call *c, struct fs_file *file,
	      bool datasync)
{
	struct pt_rw *rw = pt_rw_start(pt_fs_of(fs), c, file, 0, NULL, 0,
				       NULL);
	int ret;

	if (c->reactor) {
		reactor_op_init(&rw->u.op, pt_fsync_cpl, rw);
		reactor_fsync(c->reactor, &rw->u.op, rw->fd, datasync);
		return;
	}
	ret = datasync ? fdatasync(rw->fd) : fsync(rw->fd);
	pt_fsync_cpl(rw, ret < 0 ? -errno : 0);
}

/* --- on the worker pool ------------------------------------------------------ */

struct pt_falloc_args {
	int fd;
	int mode;
	off_t off;
	off_t len;
};

struct pt_lseek_args {
	int fd;
	int whence;
	off_t off;
	uint64_t *out;
};

struct pt_copy_args {
	int fd_in;
	int fd_out;
	loff_t off_in;
	loff_t off_out;
	size_t len;
	size_t *copied;
};

struct pt_syncfs_args {
	struct pt_inode *inode;
};

static_assert(sizeof(struct pt_falloc_args) <= PT_ARGS_MAX, "args too big");
static_assert(sizeof(struct pt_lseek_args) <= PT_ARGS_MAX, "args too big");
static_assert(sizeof(struct pt_copy_args) <= PT_ARGS_MAX, "args too big");
static_assert(sizeof(struct pt_syncfs_args) <= PT_ARGS_MAX, "args too big");

/* The fallocate modes we pass through; anything else is -EOPNOTSUPP. */
static bool pt_falloc_mode_ok(int mode)
{
	switch (mode) {
	case 0:
	case FALLOC_FL_KEEP_SIZE:
	case FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE:
	case FALLOC_FL_ZERO_RANGE:
	case FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE:
	case FALLOC_FL_COLLAPSE_RANGE:
	case FALLOC_FL_INSERT_RANGE:
		return true;
	default:
		return false;
	}
}

/* A byte range from the guest: both ends must be valid off_t values. */
static int pt_range_check(uint64_t off, uint64_t len)
{
	if (off > INT64_MAX || len > INT64_MAX)
		return -EINVAL;
	if (len > INT64_MAX - off)
		return -EFBIG;
	return 0;
}

static int pt_fallocate_work(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	struct pt_falloc_args *a = arg;

	if (fallocate(a->fd, a->mode, a->off, a->len) < 0)
		return -errno;
	return 0;
}

void pt_fallocate(struct fs *fs, struct fs_call *c, struct fs_file *file,
		  int mode, uint64_t off, uint64_t len)
{
	struct pt_fs *pfs = pt_fs_of(fs);
	struct pt_falloc_args *a = pt_call_args(c);
	int err = pt_range_check(off, len);

	if (!err && !pt_falloc_mode_ok(mode))
		err = -EOPNOTSUPP;
	if (!err && len == 0)
		err = -EINVAL;
	if (err) {
		fs_call_complete(c, err);
		return;
	}
	if (pt_data_readonly(pfs, c))
		return;
	a->fd = pt_file_of(file)->fd;
	a->mode = mode;
	a->off = (off_t)off;
	a->len = (off_t)len;
	pt_offload(pfs, c, pt_fallocate_work, a);
}

static int pt_lseek_work(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	struct pt_lseek_args *a = arg;
	/*
	 * This moves the fd's file position, which nothing else uses: reads
	 * and writes always pass an offset.
	 */
	off_t r = lseek(a->fd, a->off, a->whence);

	if (r < 0)
		return -errno;
	*a->out = (uint64_t)r;
	return 0;
}

void pt_lseek(struct fs *fs, struct fs_call *c, struct fs_file *file,
	      uint64_t off, int whence, uint64_t *out)
{
	struct pt_lseek_args *a = pt_call_args(c);

	if ((whence != SEEK_DATA && whence != SEEK_HOLE) || off > INT64_MAX) {
		fs_call_complete(c, -EINVAL);
		return;
	}
	a->fd = pt_file_of(file)->fd;
	a->whence = whence;
	a->off = (off_t)off;
	a->out = out;
	pt_offload(pt_fs_of(fs), c, pt_lseek_work, a);
}

static int pt_copy_work(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	struct pt_copy_args *a = arg;
	ssize_t n = copy_file_range(a->fd_in, &a->off_in, a->fd_out,
				    &a->off_out, a->len, 0);

	if (n < 0)
		return -errno;
	*a->copied = (size_t)n;
	return 0;
}

void pt_copy_file_range(struct fs *fs, struct fs_call *c, struct fs_file *in,
			uint64_t off_in, struct fs_file *out, uint64_t off_out,
			uint64_t len, uint32_t flags, size_t *copied)
{
	struct pt_fs *pfs = pt_fs_of(fs);
	struct pt_copy_args *a = pt_call_args(c);
	int err = 0;

	/* a short copy is normal: callers loop, and a worker stays ours briefly */
	if (len > PT_COPY_MAX)
		len = PT_COPY_MAX;
	if (flags != 0 || off_in > INT64_MAX || off_out > INT64_MAX)
		err = -EINVAL;
	if (err) {
		fs_call_complete(c, err);
		return;
	}
	if (pt_data_readonly(pfs, c))
		return;
	a->fd_in = pt_file_of(in)->fd;
	a->fd_out = pt_file_of(out)->fd;
	a->off_in = (loff_t)off_in;
	a->off_out = (loff_t)off_out;
	a->len = (size_t)len;
	a->copied = copied;
	pt_offload(pfs, c, pt_copy_work, a);
}

/*
 * syncfs needs a real fd (an O_PATH one is refused).  Regular files and
 * directories are reopened; anything else (never opened, see
 * CVE-2020-35517) syncs the file system of the shared directory.
 */
static int pt_syncfs_open(struct pt_fs *fs, struct pt_inode *inode)
{
	int fd = -1;

	if (S_ISREG(inode->type) || S_ISDIR(inode->type))
		fd = pt_inode_open(fs, inode, O_RDONLY | O_CLOEXEC, false);
	if (fd < 0)
		fd = openat(fs->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int pt_syncfs_work(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	struct pt_syncfs_args *a = arg;
	int fd = pt_syncfs_open(fs, a->inode);
	int ret = 0;

	if (fd < 0)
		return fd;
	if (syncfs(fd) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

void pt_syncfs(struct fs *fs, struct fs_call *c, struct fs_inode *inode)
{
	struct pt_syncfs_args *a = pt_call_args(c);

	a->inode = pt_inode_of(inode);
	pt_offload(pt_fs_of(fs), c, pt_syncfs_work, a);
}
