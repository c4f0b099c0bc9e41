/* SPDX-License-Identifier: MIT */
/*
 * blob.h - the blobstore: a block device divided into clusters, handed out
 * to blobs (resizable arrays of clusters named by a 64-bit id) with
 * checksummed, journaled metadata, xattrs, thin provisioning, snapshots and
 * clones.  The on-disk format is docs/FORMAT.md; the design is the
 * "Blobstore" section of docs/DESIGN.md.
 *
 * Threads.  One reactor, given at init/load, is the metadata (md) thread:
 * every metadata change runs there, one at a time per blob.  The functions
 * marked "md call" may be called from any reactor thread; they message the
 * md thread and their callback runs back on the calling thread (on the md
 * thread when called from a thread without a reactor).  Data I/O
 * (blob_readv/blob_writev) runs on any reactor thread through that
 * thread's struct blob_channel and takes no lock: cluster maps are read
 * lock-free and replaced by the md thread, which frees an old map, and
 * reuses a freed cluster, only after every I/O that could still see it has
 * completed.
 *
 * Units.  Blob sizes are in clusters (blob_store_cluster_size() bytes).
 * Data offsets and lengths are in bytes, multiples of the io unit
 * (blob_store_io_unit(), the device's block size); iovecs follow the bdev
 * rules (base and length multiples of the io unit, 1..BDEV_IOV_MAX).
 *
 * Durability.  Create, delete, snapshot, clone, inflate, decouple and grow
 * are durable when they complete.  Resize, unmap, xattr changes and the
 * clusters that first writes allocate change the blob in memory;
 * blob_sync() (and blob_close()) commits them.  blob_sync() also makes
 * every data write to the blob that completed before the call durable.
 * After a power cut the store loads with every completed sync, and each
 * blob as of its last commit; nothing of one blob is ever readable
 * through another.
 *
 * Errors.  0 or -errno: -EINVAL bad arguments, -ENOENT no such blob,
 * -EBUSY (deleting an open blob or a snapshot with clones, unloading with
 * blobs open), -ENOSPC (no cluster or md page left, not even once the
 * clusters freed a moment ago are back), -EFBIG (over a limit of
 * docs/FORMAT.md), -EROFS (store loaded read-only), -EPERM (changing a
 * snapshot: writes, resize, xattrs, inflate, decouple), -ENODATA (no such
 * xattr), -ERANGE (buffer too small), -EUCLEAN (corrupt metadata), -EILSEQ
 * (not a blobstore, or an unsupported version or feature), -EIO (device
 * error; after a failed metadata write the store refuses all further
 * metadata changes until it is unloaded and loaded again).
 */
#ifndef VHOSTFS_BLOB_H
#define VHOSTFS_BLOB_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/uio.h>

#include "vhostfs/bdev.h"
#include "vhostfs/iov.h"
#include "vhostfs/reactor.h"

struct blob_store;
struct blob;
struct blob_channel;

typedef void (*blob_cb)(void *arg, int err);

/* The id no blob has. */
#define BLOB_ID_NONE 0ull

/* --- the store ------------------------------------------------------------ */

/* Format options; zeroed = defaults. */
struct blob_store_opts {
	uint32_t cluster_size;  /* power of two, 4 KiB..1 GiB; 0 = 1 MiB */
	uint32_t md_pages;      /* metadata pages (>= one per blob); 0 = one per
				   cluster, at most one per 64 KiB of device */
	uint32_t journal_pages; /* 8..65536; 0 = md_pages / 16 in 64..1024 */
	uint64_t max_size;      /* bytes the device may grow to (see
				   blob_store_grow()); 0 = its size now */
};

struct blob_load_opts {
	bool read_only; /* write nothing: the journal is replayed in memory,
			   metadata changes and writes fail with -EROFS */
};

/*
 * Format @dev (its contents are lost) and load the new store: md call,
 * with @md as the md thread.  *@out is set before @cb runs with 0.
 */
void blob_store_init(struct bdev *dev, struct reactor *md,
		     const struct blob_store_opts *opts,
		     struct blob_store **out, blob_cb cb, void *arg);

/*
 * Load the store on @dev; after a dirty shutdown the journal is replayed
 * (time bounded by the journal size, not by the number of blobs).
 */
void blob_store_load(struct bdev *dev, struct reactor *md,
		     const struct blob_load_opts *opts,
		     struct blob_store **out, blob_cb cb, void *arg);

/*
 * Write a final checkpoint, mark the store clean and free it.  -EBUSY
 * (nothing done) while blobs are open or channels exist.  Otherwise the
 * store is freed even when the final writes fail (their error is
 * returned): a store that failed is unloaded with -EIO, and loading it
 * again recovers it.
 */
void blob_store_unload(struct blob_store *bs, blob_cb cb, void *arg);

/* Take in the space of a device that grew (up to opts.max_size): md call. */
void blob_store_grow(struct blob_store *bs, blob_cb cb, void *arg);

struct blob_store_info {
	uint32_t io_unit;
	uint32_t cluster_size;
	uint64_t cluster_count;  /* clusters on the device */
	uint64_t data_clusters;  /* of which blobs may use */
	uint64_t free_clusters;
	uint32_t md_pages;
	uint64_t free_md_pages;
	uint64_t blobs;
	bool read_only;
	bool was_clean;          /* the store was unloaded cleanly last time */
};

/* Counters as of now; safe from any thread. */
void blob_store_info_get(struct blob_store *bs, struct blob_store_info *out);
uint32_t blob_store_io_unit(const struct blob_store *bs);
uint32_t blob_store_cluster_size(const struct blob_store *bs);

/*
 * List up to @max blob ids, in on-disk order, after @after (BLOB_ID_NONE
 * to start); *@count = how many; 0 means the end.  md call.
 */
void blob_list(struct blob_store *bs, uint64_t after, uint64_t *ids,
	       size_t max, size_t *count, blob_cb cb, void *arg);

/* --- blobs ---------------------------------------------------------------- */

struct blob_create_opts {
	uint64_t clusters; /* initial size */
	bool thin;         /* allocate clusters on first write */
};

/* Create a blob (durable at completion); its id goes to *@id.  md call. */
void blob_create(struct blob_store *bs, const struct blob_create_opts *opts,
		 uint64_t *id, blob_cb cb, void *arg);

/*
 * Open blob @id.  Opening an open blob returns the same handle with one more
 * reference; each open needs a close.  md call.
 */
void blob_open(struct blob_store *bs, uint64_t id, struct blob **out,
	       blob_cb cb, void *arg);

/*
 * Drop a reference: the last one commits pending changes (as blob_sync()
 * without the flush) and releases the handle, even if that commit fails.
 * Call it after every I/O on the handle completed.  md call.
 */
void blob_close(struct blob *b, blob_cb cb, void *arg);

/*
 * Delete closed blob @id and free its space (durable at completion).
 * -EBUSY if it is open or has clones.  md call.
 */
void blob_delete(struct blob_store *bs, uint64_t id, blob_cb cb, void *arg);

/*
 * Set the size to @clusters.  New clusters of a thin blob read as zeros (or
 * the parent's data); a thick blob gets zeroed clusters.  Shrinking frees the
 * clusters cut off once committed.  In memory until blob_sync().  md call.
 */
void blob_resize(struct blob *b, uint64_t clusters, blob_cb cb, void *arg);

/*
 * Give clusters [@first_cluster, @first_cluster + @count) of thin blob @b
 * back to the store: they read as zeros (or the parent's data) at once,
 * and a later write allocates them again.  I/O already in flight on them
 * completes against the old clusters, which return to the store only after
 * it did (and, for clusters a commit recorded, after the commit of the
 * unmap).  In memory until blob_sync(): after a power cut the range is as
 * of the last commit.  -EINVAL (thick blob, range past the end), -EPERM
 * (a snapshot).  md call.
 */
void blob_unmap(struct blob *b, uint64_t first_cluster, uint64_t count,
		blob_cb cb, void *arg);

/*
 * Make the blob's metadata changes and the data writes to it that
 * completed before this call durable.  md call.
 */
void blob_sync(struct blob *b, blob_cb cb, void *arg);

uint64_t blob_get_id(const struct blob *b);
/* Current size in clusters; any thread. */
uint64_t blob_get_clusters(const struct blob *b);
/* Parent snapshot id, or BLOB_ID_NONE; any thread. */
/* Clusters allocated to @b itself (not read from a parent).  md call. */
uint64_t blob_get_allocated(const struct blob *b);
uint64_t blob_get_parent(const struct blob *b);
bool blob_is_thin(const struct blob *b);
bool blob_is_read_only(const struct blob *b);

/* --- xattrs: in memory until committed; names 1..255 bytes, values up to
 * 64 KiB.  Two namespaces: user (flags 0) and BLOB_XATTR_INTERNAL.  A
 * read-only blob (a snapshot) refuses user xattr changes with -EPERM; its
 * internal ones may change (the owner's bookkeeping, e.g. a name). ------ */

#define BLOB_XATTR_INTERNAL (1u << 0)

/* Set (create or replace).  md call. */
void blob_xattr_set(struct blob *b, uint32_t flags, const char *name,
		    const void *value, size_t len, blob_cb cb, void *arg);
/*
 * Copy the value into @buf (@size bytes) and its length to *@len; with
 * @size 0 only the length.  -ENODATA if absent, -ERANGE if @size is too
 * small (*@len still set).  @buf stays valid until @cb.  md call.
 */
void blob_xattr_get(struct blob *b, uint32_t flags, const char *name,
		    void *buf, size_t size, size_t *len, blob_cb cb,
		    void *arg);
/* -ENODATA if absent.  md call. */
void blob_xattr_remove(struct blob *b, uint32_t flags, const char *name,
		       blob_cb cb, void *arg);
/*
 * The names of one namespace, each followed by a NUL, into @buf; *@len is
 * the total length (with @size 0 only that).  -ERANGE if it does not fit.
 */
void blob_xattr_list(struct blob *b, uint32_t flags, char *buf, size_t size,
		     size_t *len, blob_cb cb, void *arg);

/* --- snapshots and clones ------------------------------------------------- */

/*
 * Make a read-only snapshot of open blob @b: the snapshot takes @b's
 * clusters and @b becomes a thin clone of it (writes copy a cluster on
 * first write).  Writes to @b wait while this runs.  Durable at
 * completion; the snapshot's id goes to *@snap.  -EINVAL if @b is a
 * snapshot itself.  md call.
 */
void blob_snapshot(struct blob *b, uint64_t *snap, blob_cb cb, void *arg);
/* A new thin blob whose parent is snapshot @snap_id (-EINVAL if it is not
 * a snapshot); durable at completion.  md call. */
void blob_clone(struct blob_store *bs, uint64_t snap_id, uint64_t *clone,
		blob_cb cb, void *arg);
/* Copy every cluster @b reads from its parents: @b becomes thick and
 * parentless.  Durable at completion.  md call. */
void blob_inflate(struct blob *b, blob_cb cb, void *arg);
/* Copy the clusters @b reads from its parent itself; the parent's parent
 * becomes @b's parent.  Durable at completion.  md call. */
void blob_decouple(struct blob *b, blob_cb cb, void *arg);

/* --- data I/O ------------------------------------------------------------- */

#define BLOB_IO_SUB_IOV 32

/* Private to the blobstore: a unit of work queued on a blob. */
struct blob_op {
	void (*run)(struct blob_op *op);
	struct blob_op *next;
};

/* One data request in flight; embedded and owned by the caller. */
struct blob_io {
	/* private to the blobstore */
	struct bdev_io bio;
	struct reactor_msg msg;
	struct blob_op op;
	struct blob_channel *ch;
	struct blob *blob;
	blob_cb cb;
	void *cb_arg;
	uint64_t offset;
	uint64_t length;
	uint64_t done;
	uint64_t piece;
	uint64_t epoch;
	struct iov_cursor cur;
	int err;
	bool write;
	bool async;
	bool pinned;
	unsigned int nsub;
	struct iovec sub[BLOB_IO_SUB_IOV];
};

/*
 * Open a channel for data I/O from reactor @r's thread (call it there; use
 * it only there).
 */
int blob_channel_create(struct blob_store *bs, struct reactor *r,
			struct blob_channel **out);
/* -EBUSY (nothing done) while I/O is outstanding. */
int blob_channel_destroy(struct blob_channel *ch);

/*
 * Read the iovecs' total length from byte @offset of @b.  Unallocated
 * clusters read as zeros or as the parent's data.  The callback runs on
 * @ch's thread, never inside this call.
 */
void blob_readv(struct blob_channel *ch, struct blob *b, struct blob_io *io,
		const struct iovec *iov, unsigned int iovcnt, uint64_t offset,
		blob_cb cb, void *arg);
/*
 * Write at byte @offset.  A first write to an unallocated cluster of a thin
 * blob allocates and fills it on the md thread; other writes go straight
 * to the device.  Durable after a later blob_sync().
 */
void blob_writev(struct blob_channel *ch, struct blob *b, struct blob_io *io,
		 const struct iovec *iov, unsigned int iovcnt,
		 uint64_t offset, blob_cb cb, void *arg);

/* --- tools: check, repair, dump ------------------------------------------- */

#define BLOB_CHECK_REPAIR (1u << 0)

struct blob_check_report {
	uint64_t errors;        /* problems found */
	uint64_t fixed;         /* of which repaired */
	uint64_t blobs;
	uint64_t clusters_used; /* by blobs */
	uint64_t md_pages_used;
};

/*
 * Check every invariant of docs/FORMAT.md: CRCs, chains, extent pages,
 * cluster and md page ownership against the bitmaps, no cluster owned
 * twice, parents and children counts.  Problems are described on @log
 * (NULL: silent).  With BLOB_CHECK_REPAIR (store loaded read-write) broken
 * blobs are removed, doubly owned clusters kept by one owner, bad parent
 * links cut, children counts fixed and the bitmaps rebuilt from what the
 * blobs own, all written with a checkpoint (rep->fixed = rep->errors).
 * @cb gets 0 when the check ran (see @rep), -EBUSY while any blob is open
 * or another call is under way, -EROFS for a repair of a store loaded
 * read-only, or an I/O error.  A store whose super block or checkpoint is
 * damaged does not load (-EUCLEAN/-EILSEQ): nothing to check.  md call.
 */
void blob_store_check(struct blob_store *bs, uint32_t flags,
		      struct blob_check_report *rep, FILE *log, blob_cb cb,
		      void *arg);

/* Print the super block, allocation state, blobs and xattrs.  md call. */
void blob_store_dump(struct blob_store *bs, FILE *out, blob_cb cb, void *arg);

#endif /* VHOSTFS_BLOB_H */
