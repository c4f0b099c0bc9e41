/* SPDX-License-Identifier: MIT */
/*
 * bdev.h - asynchronous block devices, the layer under the blobstore.
 *
 * A struct bdev is block_count blocks of block_size (512 or 4096) bytes
 * behind a table of operations (struct bdev_ops).  Its user never knows
 * whether it talks to a file, a block device, memory or a fault injector:
 * the device is injected as a struct bdev pointer.
 *
 * Units and validation.  Every offset and length is in BYTES and must be a
 * multiple of the block size; a length is never 0; [offset, offset + length)
 * lies inside the device.  Every iovec's base address and length must be
 * multiples of the block size too (what O_DIRECT needs; the memory devices
 * check the same so that code tested on them works on disks), and a request
 * has 1..BDEV_IOV_MAX iovecs.  A request that breaks a rule completes with
 * -EINVAL through its callback without reaching the driver.
 *
 * Threads.  I/O is submitted through a channel (struct bdev_channel), one per
 * reactor thread that uses the device.  A channel is used only on its
 * reactor's thread, and its completions run there, never inside the
 * submitting call.  Channels of one device may run on different threads at
 * once: the uring device shares only read-only state between them (no lock
 * on the data path); the memory and fault devices, test models, serialize on
 * one mutex / use atomic counters.
 *
 * Memory.  The caller embeds a struct bdev_io in its own request context;
 * the layer allocates nothing per I/O.  The bdev_io, the iovec array and the
 * buffers stay the caller's and must remain valid until the callback ran.
 *
 * Durability.  A completed write is only in the device's volatile cache.  It
 * becomes durable (survives power loss) when a flush submitted after its
 * completion completes, or at its own completion when it carried
 * BDEV_WRITE_FUA.  write_zeroes and unmap behave like writes without FUA.
 * Requests in flight together may complete, and reach the media, in any
 * order.  After an unmap the range reads as zeros or as its old contents
 * (device-dependent; files and memory read zeros): use write_zeroes when
 * zeros matter.
 *
 * Errors.  Callbacks get 0 or -errno: -EINVAL (bad request), -EIO (device
 * error or lost power), -ENOSPC (sparse file could not be filled), ...
 */
#ifndef VHOSTFS_BDEV_H
#define VHOSTFS_BDEV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vhostfs/reactor.h"

struct bdev;
struct bdev_channel;

typedef void (*bdev_cb)(void *arg, int err);

/* Most iovecs in one request (the kernel's UIO_MAXIOV). */
#define BDEV_IOV_MAX 1024u

enum bdev_io_type {
	BDEV_IO_READ = 0,
	BDEV_IO_WRITE,
	BDEV_IO_FLUSH,
	BDEV_IO_WRITE_ZEROES,
	BDEV_IO_UNMAP,
};

/* Write flag: durable when the write completes (Force Unit Access). */
#define BDEV_WRITE_FUA (1u << 0)

/* Bytes of per-I/O scratch a driver may use (its reactor_op, worker_job...). */
#define BDEV_IO_SCRATCH 128

/* One request in flight; embedded and owned by the caller. */
struct bdev_io {
	/* The request, filled by the submit functions; drivers only read it. */
	enum bdev_io_type type;
	uint32_t flags;          /* BDEV_WRITE_* */
	uint64_t offset;         /* bytes */
	uint64_t length;         /* bytes; the iovecs' total for read/write */
	const struct iovec *iov; /* read/write only */
	unsigned int iovcnt;
	bdev_cb cb;
	void *cb_arg;
	/* Private to the bdev layer. */
	struct bdev_channel *ch;
	int status;
	struct reactor_msg msg;
	/* Owned by the driver while the request is in flight. */
	_Alignas(16) unsigned char scratch[BDEV_IO_SCRATCH];
};

/* --- geometry and life cycle ------------------------------------------- */

/* Bytes per block: 512 or 4096. */
uint32_t bdev_block_size(const struct bdev *b);
/* Current size in blocks (may grow, see bdev_set_resize_cb()). */
uint64_t bdev_block_count(const struct bdev *b);
/* The path for files and devices, "ram" or "fault" otherwise; for logs. */
const char *bdev_name(const struct bdev *b);

/*
 * Called after the device changed size (bdev_ram_resize(),
 * bdev_uring_rescan()), on the thread that made the change, once the new
 * count applies to new requests.  One callback per device; set it before I/O
 * starts.  A fault device takes its base device's callback for itself.
 */
typedef void (*bdev_resize_cb)(void *arg, uint64_t old_blocks,
			       uint64_t new_blocks);
void bdev_set_resize_cb(struct bdev *b, bdev_resize_cb cb, void *arg);

/* Destroy a device; -EBUSY (nothing done) while it still has channels. */
int bdev_destroy(struct bdev *b);

/*
 * Open a channel for submitting I/O from reactor @r's thread.  Call it on
 * that thread; the channel is used only there.
 */
int bdev_channel_create(struct bdev *b, struct reactor *r,
			struct bdev_channel **out);
/* Close a channel; -EBUSY (nothing done) while requests are outstanding. */
int bdev_channel_destroy(struct bdev_channel *ch);

/* --- I/O: see the rules at the top of this file ------------------------ */

/* Read the iovecs' total length from @offset. */
void bdev_readv(struct bdev_channel *ch, struct bdev_io *io,
		const struct iovec *iov, unsigned int iovcnt, uint64_t offset,
		bdev_cb cb, void *cb_arg);
/* Write the iovecs at @offset; @flags: 0 or BDEV_WRITE_FUA (others -EINVAL). */
void bdev_writev(struct bdev_channel *ch, struct bdev_io *io,
		 const struct iovec *iov, unsigned int iovcnt, uint64_t offset,
		 uint32_t flags, bdev_cb cb, void *cb_arg);
/* Make every write completed before this call durable. */
void bdev_flush(struct bdev_channel *ch, struct bdev_io *io, bdev_cb cb,
		void *cb_arg);
/* The range reads as zeros afterwards. */
void bdev_write_zeroes(struct bdev_channel *ch, struct bdev_io *io,
		       uint64_t offset, uint64_t length, bdev_cb cb,
		       void *cb_arg);
/* The range's contents are no longer needed (see "Durability" above). */
void bdev_unmap(struct bdev_channel *ch, struct bdev_io *io, uint64_t offset,
		uint64_t length, bdev_cb cb, void *cb_arg);

/* --- devices ------------------------------------------------------------ */

/* How bdev_uring_open() uses O_DIRECT. */
enum bdev_uring_direct {
	BDEV_URING_DIRECT_AUTO = 0, /* O_DIRECT; buffered + warning if refused */
	BDEV_URING_DIRECT_ON,       /* O_DIRECT or fail with -EINVAL */
	BDEV_URING_DIRECT_OFF,      /* page cache */
};

struct bdev_uring_config {
	const char *path;            /* existing regular file or block device */
	uint32_t block_size;         /* 512/4096; 0 = device's logical block
					size, 4096 for files */
	enum bdev_uring_direct direct;
	struct worker_pool *workers; /* runs fallocate/ioctls; NULL = own pool */
};

/*
 * A file or block device driven through each channel's reactor ring.  A
 * file's size is rounded down to whole blocks.  flush = fdatasync, FUA =
 * RWF_DSYNC, write_zeroes = fallocate(ZERO_RANGE) falling back to writes of
 * zeros, unmap = fallocate(PUNCH_HOLE) or BLKDISCARD (a no-op where
 * unsupported).
 */
int bdev_uring_open(const struct bdev_uring_config *cfg, struct bdev **out);
/* Whether @b (a uring device) bypasses the page cache. */
bool bdev_uring_is_direct(const struct bdev *b);
/* Re-read the size of the file or device; calls the resize callback. */
int bdev_uring_rescan(struct bdev *b);

struct bdev_ram_config {
	uint32_t block_size;      /* 512 or 4096; 0 = 4096 */
	uint64_t block_count;     /* > 0 */
	bool volatile_cache;      /* writes pending until flush/FUA */
	uint64_t cache_max_bytes; /* with a cache: beyond this many pending
				     bytes the oldest writes become durable by
				     themselves (write-back); 0 = unbounded */
};

/* A memory device; with volatile_cache it models a disk's write cache. */
int bdev_ram_create(const struct bdev_ram_config *cfg, struct bdev **out);
/* Grow to @block_count blocks (new blocks are zero); shrinking is -EINVAL. */
int bdev_ram_resize(struct bdev *ram, uint64_t block_count);
/* Completed writes (write, write_zeroes, unmap) not yet durable. */
uint64_t bdev_ram_pending_writes(struct bdev *ram);

/*
 * What survives a power loss of a device with a volatile cache.  Durable
 * data always survives (flushed writes, FUA writes).  Of the pending writes,
 * numbered 0.. in completion order, a subset survives; surviving writes are
 * applied in order, so a block ends as its newest surviving version.  Any
 * subset is a possible outcome for a cache that writes back in any order.
 */
enum bdev_loss_mode {
	BDEV_LOSS_DROP_ALL = 0,   /* no pending write survives */
	BDEV_LOSS_KEEP_ALL,       /* every pending write survives */
	BDEV_LOSS_KEEP_PREFIX,    /* pending writes 0..keep-1 survive */
	BDEV_LOSS_KEEP_RANDOM,    /* each survives or not, drawn from @seed */
	BDEV_LOSS_KEEP_RANDOM_BLOCKS, /* each BLOCK of each pending write, from
					 @seed: writes are torn */
};

struct bdev_loss_policy {
	enum bdev_loss_mode mode;
	uint64_t seed;
	uint64_t keep;
};

/*
 * The image @ram would hold after losing power now, under @p, as a new ram
 * device (same configuration, nothing pending) for remounting.  @ram is not
 * changed.  -EINVAL if @ram is not a ram device.
 */
int bdev_ram_crash_image(struct bdev *ram, const struct bdev_loss_policy *p,
			 struct bdev **out);

/*
 * Fault injection around a base device (usually ram).  "Writes" below are
 * writev, write_zeroes and unmap together, numbered from 1 in the order
 * they reach the fault device; N = 0 disables a fault.
 */
struct bdev_fault_config {
	struct bdev *base;        /* wrapped, not owned; outlives the wrapper */
	uint64_t fail_write;      /* write N fails with -EIO, nothing written */
	uint64_t fail_flush;      /* flush N fails with -EIO, nothing flushed */
	uint64_t power_cut_write; /* power is lost right after write N reached
				     the base: every later request fails -EIO */
	uint32_t tear_blocks;     /* with power_cut_write: write N lands only
				     its first tear_blocks blocks and fails
				     with -EIO; 0 = not torn */
	struct bdev_loss_policy loss; /* used by bdev_fault_crash_image() */
};

struct bdev_fault_stats {
	uint64_t reads;
	uint64_t writes;       /* writev + write_zeroes + unmap */
	uint64_t write_zeroes;
	uint64_t unmaps;
	uint64_t flushes;
	uint64_t bytes_read;
	uint64_t bytes_written; /* writev only */
	uint64_t failed;        /* requests failed by an injected fault */
};

/* Wrap cfg->base (which must stay until the wrapper is destroyed). */
int bdev_fault_create(const struct bdev_fault_config *cfg, struct bdev **out);
/* Lose power now (as power_cut_write does). */
void bdev_fault_power_cut(struct bdev *f);
bool bdev_fault_power_lost(const struct bdev *f);
/* Counts of requests that reached the fault device (valid ones only). */
void bdev_fault_stats_get(const struct bdev *f, struct bdev_fault_stats *out);
/*
 * bdev_ram_crash_image() of the base under cfg.loss: the image to remount
 * after the power cut.  -EOPNOTSUPP if the base is not a ram device.
 */
int bdev_fault_crash_image(struct bdev *f, struct bdev **out);

/* --- for device drivers -------------------------------------------------- */

/*
 * Each I/O operation is called with a validated request on the channel's
 * thread and completes it exactly once with bdev_io_complete() (from a
 * later callback) or bdev_io_complete_deferred() (from anywhere on that
 * thread, including inside the operation).
 */
struct bdev_ops {
	void (*readv)(struct bdev_channel *ch, struct bdev_io *io);
	void (*writev)(struct bdev_channel *ch, struct bdev_io *io);
	void (*flush)(struct bdev_channel *ch, struct bdev_io *io);
	void (*write_zeroes)(struct bdev_channel *ch, struct bdev_io *io);
	void (*unmap)(struct bdev_channel *ch, struct bdev_io *io);
	/* Optional: set up / tear down ch->ctx; destroy may refuse (-EBUSY). */
	int (*channel_create)(struct bdev_channel *ch);
	int (*channel_destroy)(struct bdev_channel *ch);
	/* Free the device (no channels are left). */
	void (*destroy)(struct bdev *b);
};

/* A driver's device starts with this header. */
struct bdev {
	const struct bdev_ops *ops;
	const char *name;
	uint32_t block_size;
	_Atomic uint64_t block_count;
	/* private to the bdev layer */
	atomic_uint channels;
	bdev_resize_cb resize_cb;
	void *resize_arg;
};

struct bdev_channel {
	struct bdev *bdev;
	struct reactor *reactor;
	void *ctx;                /* the driver's per-channel state */
	unsigned int outstanding; /* private: requests not yet completed */
};

/* Fill the header; @name must outlive the device. */
void bdev_init(struct bdev *b, const struct bdev_ops *ops, const char *name,
	       uint32_t block_size, uint64_t block_count);
/* Publish a new size and call the resize callback. */
void bdev_set_block_count(struct bdev *b, uint64_t block_count);
/* Complete now; never from inside the driver's operation call. */
void bdev_io_complete(struct bdev_io *io, int err);
/* Complete from the channel's reactor loop, whatever the caller. */
void bdev_io_complete_deferred(struct bdev_io *io, int err);
/*
 * Hand a request to another device's channel (a wrapper passing it down):
 * it is checked again against that device, belongs to @to from now on and
 * completes from there.
 */
void bdev_io_forward(struct bdev_channel *to, struct bdev_io *io);

#endif /* VHOSTFS_BDEV_H */
