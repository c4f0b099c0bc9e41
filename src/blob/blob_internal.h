/* SPDX-License-Identifier: MIT */
/*
 * blob_internal.h - state shared by the blobstore's source files.
 *
 * Threads: everything below is owned by the metadata (md) thread, the
 * reactor given at init/load, except what is marked "data path": blob maps
 * (read lock-free by every thread, replaced only by the md thread and freed
 * after a grace period, see epoch.c), the epoch counters and the published
 * blob attributes.
 */
#ifndef VHOSTFS_BLOB_INTERNAL_H
#define VHOSTFS_BLOB_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blob_format.h"
#include "vhostfs/bdev.h"
#include "vhostfs/blob.h"
#include "vhostfs/reactor.h"

#define blob_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

struct blob_store;
struct blob;

/* --- small helpers (util.c) ----------------------------------------------- */

/* A zeroed, page-aligned buffer of @len bytes (free() it), or NULL. */
void *blob_page_alloc(size_t len);
/* Grow array *@p of *@cap elements of @size to hold @need; -ENOMEM. */
int blob_array_reserve(void *p, uint32_t *cap, uint32_t need, size_t size);

/* --- bitmaps (alloc.c) ---------------------------------------------------- */

struct blob_bitmap {
	uint64_t *w;
	uint64_t nbits;
};

int blob_bitmap_init(struct blob_bitmap *m, uint64_t nbits);
void blob_bitmap_destroy(struct blob_bitmap *m);

static inline bool blob_bitmap_test(const struct blob_bitmap *m, uint64_t i)
{
	return i < m->nbits && (m->w[i / 64] >> (i % 64) & 1);
}

static inline void blob_bitmap_set(struct blob_bitmap *m, uint64_t i)
{
	m->w[i / 64] |= 1ull << (i % 64);
}

static inline void blob_bitmap_clear(struct blob_bitmap *m, uint64_t i)
{
	m->w[i / 64] &= ~(1ull << (i % 64));
}

/* First clear bit in [from, end), or @end. */
uint64_t blob_bitmap_find_clear(const struct blob_bitmap *m, uint64_t from,
				uint64_t end);
/* First set bit in [from, end), or @end. */
uint64_t blob_bitmap_find_set(const struct blob_bitmap *m, uint64_t from,
			      uint64_t end);
uint64_t blob_bitmap_count(const struct blob_bitmap *m);
/* Serialize to / load from FORMAT.md's byte order (@bytes >= nbits / 8). */
void blob_bitmap_store(const struct blob_bitmap *m, unsigned char *out,
		       size_t bytes);
void blob_bitmap_load(struct blob_bitmap *m, const unsigned char *in);
/* Whether bits >= @from are all clear in the serialized @in of @bytes. */
bool blob_bits_clear_from(const unsigned char *in, size_t bytes,
			  uint64_t from);

/*
 * Allocation state.  "committed" is what the durable metadata says (what a
 * checkpoint writes); "used" is what may not be handed out: committed, plus
 * taken by changes not yet durable, plus freed by changes not yet durable or
 * still in a grace period.
 */
struct blob_alloc {
	struct blob_bitmap cl_used;
	struct blob_bitmap cl_committed;
	struct blob_bitmap md_used;
	struct blob_bitmap md_committed;
	struct blob_bitmap roots;
	uint64_t cluster_count;  /* committed */
	uint64_t cl_hint;        /* next-fit cursors */
	uint64_t md_hint;
	uint32_t gen_next;       /* next generation handed out */
	uint32_t gen_committed;  /* next_gen for the checkpoint */
	uint64_t cl_used_n;      /* population counts, kept up to date */
	uint64_t md_used_n;
	uint64_t cl_releasing;   /* freed, coming back after commit/grace */
	struct blob_alloc_waiter *waiters;
};

int blob_alloc_init(struct blob_store *bs, uint64_t cluster_count);
void blob_alloc_destroy(struct blob_alloc *a);
/* Take a free data cluster / md page; -ENOSPC when none is left. */
int blob_cluster_take(struct blob_store *bs, uint32_t *out);
/* Take up to @want clusters contiguous with @first+...; returns how many. */
uint32_t blob_cluster_take_run(struct blob_store *bs, uint32_t first,
			       uint32_t want);
void blob_cluster_give(struct blob_store *bs, uint32_t c);
/*
 * After -ENOSPC: @cb(@arg, 0) once freed clusters came back (try again),
 * or -ENOSPC (from the loop) when none are on their way.
 */
void blob_cluster_wait(struct blob_store *bs, blob_cb cb, void *arg);
/* @n clusters start / finish their way back (commit, grace period). */
void blob_cluster_releasing(struct blob_store *bs, uint64_t n);
void blob_cluster_released(struct blob_store *bs, uint64_t n);
int blob_md_take(struct blob_store *bs, uint32_t *out);
void blob_md_give(struct blob_store *bs, uint32_t p);

/* --- page overlay: md pages newer than their home copy (overlay.c) -------- */

struct blob_overlay {
	uint32_t *keys;
	void **imgs;
	size_t cap; /* power of two */
	size_t n;
};

int blob_overlay_init(struct blob_overlay *o, size_t max_pages);
void blob_overlay_destroy(struct blob_overlay *o);
void *blob_overlay_get(const struct blob_overlay *o, uint32_t page);
/* Store @img (taking ownership, freeing an older image); -ENOMEM. */
int blob_overlay_put(struct blob_overlay *o, uint32_t page, void *img);
void blob_overlay_clear(struct blob_overlay *o);
/* The pages held, sorted ascending, into @out (o->n entries). */
void blob_overlay_pages(const struct blob_overlay *o, uint32_t *out);

/* --- md-thread I/O helpers (mdio.c) --------------------------------------- */

struct blob_mdio {
	struct bdev_io io;
	struct iovec iov;
	struct reactor_msg msg; /* deferred completions */
	blob_cb cb;
	void *arg;
	int err;
};

void blob_mdio_read(struct blob_store *bs, struct blob_mdio *m, uint64_t off,
		    void *buf, size_t len, blob_cb cb, void *arg);
void blob_mdio_write(struct blob_store *bs, struct blob_mdio *m, uint64_t off,
		     const void *buf, size_t len, uint32_t flags, blob_cb cb,
		     void *arg);
void blob_mdio_writev(struct blob_store *bs, struct blob_mdio *m,
		      uint64_t off, const struct iovec *iov,
		      unsigned int iovcnt, uint32_t flags, blob_cb cb,
		      void *arg);
void blob_mdio_flush(struct blob_store *bs, struct blob_mdio *m, blob_cb cb,
		     void *arg);
void blob_mdio_zeroes(struct blob_store *bs, struct blob_mdio *m,
		      uint64_t off, uint64_t len, blob_cb cb, void *arg);
/* Complete @m with @err from the md reactor loop (never inline). */
void blob_mdio_defer(struct blob_store *bs, struct blob_mdio *m, int err,
		     blob_cb cb, void *arg);
/* Read md page @page (the overlay's version if it has one). */
void blob_md_page_read(struct blob_store *bs, struct blob_mdio *m,
		       uint32_t page, void *buf, blob_cb cb, void *arg);

/* --- requests: the md API's common context (req.c) ------------------------ */

struct blob_req {
	struct blob_store *bs;
	struct reactor *origin;
	blob_cb cb;
	void *cb_arg;
	int err;
	struct reactor_msg msg;
	void (*start)(struct blob_req *r);
	struct blob_op op;
	struct blob *blob;
};

/*
 * Allocate a request of @size bytes (>= sizeof(struct blob_req), which it
 * starts with) for a call from the current thread; NULL when out of memory,
 * after completing @cb with -ENOMEM.
 */
void *blob_req_new(struct blob_store *bs, size_t size, blob_cb cb, void *arg);
/* Run @fn(req) on the md thread. */
void blob_req_start(struct blob_req *r, void (*fn)(struct blob_req *r));
/* Finish: @cb(@arg, err) runs on the caller's thread, then @r is freed. */
void blob_req_done(struct blob_req *r, int err);
/* Complete a request that failed before it reached the md thread. */
void blob_req_fail(struct blob_req *r, int err);
/* Run @cb(@arg, @err) from the md thread's loop, not inside this call. */
void blob_defer(struct blob_store *bs, blob_cb cb, void *arg, int err);

/* --- journal (journal.c) -------------------------------------------------- */

/*
 * One operation's contribution to a transaction: records, the payload
 * page of each record that has one (md page images, cluster bitmaps), and
 * the clusters it gives to (cl_alloc) and takes from (cl_free) blobs, which
 * blob_change_seal() encodes as records.  Owned by the journal once
 * submitted; cb runs once the transaction is durable (0) or failed.
 */
struct blob_change {
	struct blob_rec *recs;
	void **pay;             /* per record: payload page or NULL */
	uint32_t nrec, rec_cap, pay_cap;
	uint32_t npay;
	uint32_t *cl_alloc;
	uint32_t ncl_alloc, cl_alloc_cap;
	uint32_t *cl_free;
	uint32_t ncl_free, cl_free_cap;
	bool needs_flush;       /* data before this commit must be durable */
	blob_cb cb;
	void *arg;
	struct blob_change *next;
};

struct blob_change *blob_change_new(void);
void blob_change_free(struct blob_change *c);
int blob_change_rec(struct blob_change *c, uint32_t type, uint32_t a,
		    uint64_t b);
/* A record with payload page @buf (ownership passes to @c, even on error). */
int blob_change_payload(struct blob_change *c, uint32_t type, uint32_t a,
			uint64_t b, void *buf);
/* Add the image of md page @page (ownership passes to @c). */
int blob_change_img(struct blob_change *c, uint32_t page, void *img);
int blob_change_cl_alloc(struct blob_change *c, uint32_t cluster);
int blob_change_cl_free(struct blob_change *c, uint32_t cluster);
/* Pages the change alone takes in a transaction (after sealing). */
uint32_t blob_change_pages(const struct blob_change *c);

/* txn.c */
/* Encode cl_alloc/cl_free as records (FORMAT.md); before submitting. */
int blob_change_seal(struct blob_change *c);
/* Upper bound of the pages encoding @clusters cluster changes takes. */
uint32_t blob_delta_pages(uint64_t clusters, const struct blob_store *bs);
/*
 * Apply @nrec records (payloads in @pay, by record) to the committed state
 * in FORMAT.md's order.  @replay: copy PAGE payloads into the overlay (else
 * take them, setting pay[i] NULL).  -EUCLEAN if a rule is broken.
 */
int blob_txn_apply(struct blob_store *bs, const struct blob_rec *recs,
		   uint32_t nrec, void **pay, bool replay);
/* Whether the fields of @r are valid for its type. */
bool blob_rec_valid(const struct blob_store *bs, const struct blob_rec *r);

struct blob_ckpt_req {
	bool clean;
	blob_cb cb;
	void *arg;
	struct blob_ckpt_req *next;
};

struct blob_txn;

struct blob_journal {
	uint64_t seq;                  /* seq of the next transaction */
	uint32_t pos;                  /* next free journal page */
	uint32_t max_pages;            /* largest transaction */
	struct blob_change *q_head, *q_tail;
	struct blob_ckpt_req *ckpt_head, *ckpt_tail;
	struct blob_txn *txn;          /* being written */
	bool ckpt_running;
	bool ckpt_for_req;             /* the running one is ckpt_head's */
	struct reactor_msg kick_msg;
	bool kick_pending;
};

/* Queue @c; c->cb runs once its transaction is durable or failed. */
void blob_journal_submit(struct blob_store *bs, struct blob_change *c);
/* Run a checkpoint once the journal is idle (@clean: mark the store clean). */
void blob_journal_checkpoint(struct blob_store *bs, struct blob_ckpt_req *r);
bool blob_journal_idle(const struct blob_store *bs);

/* --- checkpoint (ckpt.c) -------------------------------------------------- */

/* Write the checkpoint and the next super block (FORMAT.md O4). */
void blob_ckpt_write(struct blob_store *bs, bool clean, blob_cb cb,
		     void *arg);
/* Size of a checkpoint area image and its serialization from @bs->alloc. */
size_t blob_ckpt_bytes(const struct blob_store *bs);
void blob_ckpt_serialize(const struct blob_store *bs, uint64_t seq,
			 unsigned char *buf);
/* Load and check the checkpoint area image @buf into bs->alloc. */
int blob_ckpt_parse(struct blob_store *bs, const unsigned char *buf);

/* --- replay (replay.c) ---------------------------------------------------- */

void blob_replay(struct blob_store *bs, blob_cb cb, void *arg);

/* --- grace periods (epoch.c) ---------------------------------------------- */

struct blob_retire {
	void (*fn)(struct blob_retire *r);
	struct blob_retire *next;
};

struct blob_epoch {
	_Atomic uint64_t epoch;
	pthread_mutex_t lock;              /* the channel list */
	struct blob_channel *channels;
	unsigned int nchannels;            /* user channels */
	struct blob_retire *pending, **pending_tail;
	struct blob_retire *waiting;       /* in the running grace period */
	uint64_t waiting_epoch;
	bool busy;                         /* a grace period runs */
	bool timer_armed;
	bool check_queued;
	struct reactor_op timer;
	struct reactor_msg check_msg;
};

int blob_epoch_init(struct blob_epoch *e);
void blob_epoch_destroy(struct blob_epoch *e);
/*
 * Run @r->fn on the md thread once no data I/O begun before this call can
 * still see what it retires; never inside this call.
 */
void blob_retire(struct blob_store *bs, struct blob_retire *r);
/* Whether no retired item is waiting. */
bool blob_epoch_idle(const struct blob_store *bs);

/* --- data path structures ------------------------------------------------- */

/* Map flags beyond BLOB_REC_*: writes must go to the md thread. */
#define BLOB_MAP_FROZEN (1u << 16)

/*
 * The cluster map the data path reads: immutable except that slots go from
 * 0 to a cluster (atomically) once that cluster's contents are written.
 * Replaced as a whole (resize, snapshot, parent change) by the md thread.
 */
struct blob_map {
	uint64_t clusters;
	uint32_t flags;
	const struct blob_map *parent; /* the parent's map, or NULL */
	/* retiring: clusters given back once no I/O can use this map */
	struct blob_retire retire;
	struct blob_store *bs;
	uint32_t *release;
	uint32_t nrelease;
	_Atomic uint32_t slot[];
};

struct blob_map *blob_map_new(uint64_t clusters, uint32_t flags,
			      const struct blob_map *parent);
/* A copy of @m resized to @clusters (new slots 0), same flags/parent. */
struct blob_map *blob_map_resized(const struct blob_map *m, uint64_t clusters);
/*
 * Make @m the map of @b.  The old map is freed after a grace period, and
 * then the @n clusters of @release (malloc'ed, taken over) are given back.
 */
void blob_map_publish(struct blob *b, struct blob_map *m, uint32_t *release,
		      uint32_t n);

static inline uint32_t blob_map_get(const struct blob_map *m, uint64_t i)
{
	return atomic_load_explicit(&((struct blob_map *)m)->slot[i],
				    memory_order_acquire);
}

static inline void blob_map_set(struct blob_map *m, uint64_t i, uint32_t v)
{
	atomic_store_explicit(&m->slot[i], v, memory_order_release);
}

struct blob_channel {
	struct blob_store *bs;
	struct reactor *reactor;
	struct bdev_channel *bch;
	_Atomic uint64_t active[2];  /* I/Os pinned per epoch parity */
	unsigned int outstanding;    /* blob_ios not yet completed */
	struct blob_channel *next;
};

/* --- blobs (blob.c, md.c) ------------------------------------------------- */

struct blob_xattr {
	struct blob_xattr *next;
	uint8_t flags;
	uint8_t name_len;
	uint32_t value_len;
	unsigned char data[]; /* name then value */
};

struct blob_ep {
	uint32_t page;   /* md page, or NONE while the range has none */
	uint32_t *old;   /* the committed slots while dirty, else NULL */
};

/* Someone waiting for a blob to load (blob_get()). */
struct blob_waiter {
	blob_cb cb;
	void *arg;
	struct blob **out;
	struct blob *b;
	int err;
	struct reactor_msg msg;
	struct blob_waiter *next;
};

enum blob_state {
	BLOB_LOADING = 0,
	BLOB_READY,
	BLOB_GONE,
};

struct blob {
	struct blob_store *bs;
	uint64_t id;
	/* data path */
	_Atomic(struct blob_map *) map;
	_Atomic uint64_t pub_clusters;
	_Atomic uint32_t pub_flags;
	_Atomic uint64_t pub_parent;
	/* md thread */
	struct blob *hnext;
	enum blob_state state;
	struct blob_waiter *waiters;
	struct blob *waiting_on;       /* parent we wait for (cycle check) */
	uint32_t open_refs;            /* blob_open() handles */
	uint32_t holds;                /* opens, children, operations */
	struct blob *parent;           /* held while we are loaded */
	uint32_t depth;                /* ancestors */
	/* the record (FORMAT.md), current in memory */
	uint64_t size;
	uint32_t flags;
	uint32_t children;
	uint64_t parent_id;
	struct blob_xattr *xattrs;
	uint32_t nxattrs;
	size_t xattr_bytes;
	struct blob_ep *ep;
	uint32_t n_ep, ep_cap;
	struct blob_ep *dropped;       /* extents cut off since last commit */
	uint32_t n_dropped, dropped_cap;
	uint32_t n_dirty_ep;
	bool rec_dirty;
	/* the root chain as last committed */
	uint32_t *chain;
	void **chain_img;
	uint32_t chain_len, chain_cap, chain_img_cap;
	bool is_new;                   /* created, never committed */
	bool deleting;
	/* serialized operations */
	struct blob_op *op_head, *op_tail;
	bool op_running;
	bool op_msg_pending;
	struct reactor_msg op_msg;
	struct blob_retire retire;
};

static inline bool blob_is_dirty(const struct blob *b)
{
	return b->rec_dirty || b->n_dirty_ep || b->n_dropped;
}

/* md.c: the blob record */
/* Parse record @rec of @len bytes into @b's record fields. */
int blob_record_parse(struct blob *b, const unsigned char *rec, size_t len);
/* Bytes of @b's record now. */
size_t blob_record_size(const struct blob *b);
void blob_record_build(const struct blob *b, unsigned char *out);
/* Slot @s of extent @k in the current map (0 past its end). */
uint32_t blob_ep_cur(const struct blob *b, uint32_t k, uint32_t s);
/* An extent page image for extent @k from the current map. */
void blob_ep_image(const struct blob *b, uint32_t k, void *page);
/* Check extent page image @img as extent @k of @b; -EUCLEAN. */
int blob_ep_check(const struct blob *b, uint32_t k, const void *img);
int blob_ep_reserve(struct blob *b, uint32_t n_ep);
/* Mark extent @k dirty, saving its committed slots first; -ENOMEM. */
int blob_ep_dirty(struct blob *b, uint32_t k);
/* Drop the extents >= @n_ep (shrink), keeping what a commit must free. */
int blob_ep_drop_from(struct blob *b, uint32_t n_ep);
uint32_t blob_extents_for(uint64_t clusters);

/* blob.c: objects, loading, the per-blob operation queue */
struct blob *blob_lookup(struct blob_store *bs, uint64_t id);
void blob_table_insert(struct blob_store *bs, struct blob *b);
void blob_table_remove(struct blob_store *bs, struct blob *b);
struct blob *blob_obj_new(struct blob_store *bs, uint64_t id);
void blob_obj_free(struct blob *b);
/* Load blob @id (or find it loaded) and hold it; @cb once it is ready. */
void blob_get(struct blob_store *bs, uint64_t id, struct blob **out,
	      blob_cb cb, void *arg);
void blob_hold(struct blob *b);
/* Drop a hold; the object goes (after a grace period) when none remain. */
void blob_put(struct blob *b);
void blob_op_enqueue(struct blob *b, struct blob_op *op);
/* The running operation of @b is finished: start the next. */
void blob_op_finish(struct blob *b);
void blob_pub_update(struct blob *b);

/* sync.c: committing a blob's changes */
/*
 * Add @b's pending changes (record, extents, dropped extents; for a new
 * blob its whole root chain and ROOT_SET) to @c and mark them committed in
 * memory.  -EFBIG/-ENOSPC before anything changed; any later error leaves
 * @b half committed, and the caller fails the store.
 */
int blob_commit_build(struct blob *b, struct blob_change *c);
/* Build and submit a change of @b alone; @cb when durable. */
void blob_commit(struct blob *b, bool flush, blob_cb cb, void *arg);
/* Pages a commit of @b would take now. */
uint32_t blob_commit_pages(const struct blob *b);

/* resize.c */
/* Resize @b in memory (thick: allocate and zero clusters); async. */
void blob_resize_internal(struct blob *b, uint64_t clusters, blob_cb cb,
			  void *arg);

/* cluster.c: filling a cluster for a first write or a copy */
/*
 * Give cluster index @idx of @b a cluster holding the parent's data (or
 * zeros) overlaid with @len bytes at @off of @iov (len 0: no data), and
 * expose it in the map.  Runs on the md thread inside an operation of @b.
 */
void blob_cluster_fill(struct blob *b, uint64_t idx, uint64_t off,
		       uint64_t len, const struct iovec *iov,
		       unsigned int iovcnt, blob_cb cb, void *arg);

/* Where cluster @idx of map @m reads from: a cluster, or 0 (zeros). */
uint32_t blob_map_lookup_chain(const struct blob_map *m, uint64_t idx);

/* walk.c: one blob's metadata read raw, for check and dump */
struct blob_walk {
	struct blob_store *bs;
	uint32_t root;
	uint64_t id;
	int err;                /* -EUCLEAN: structure broken, see why */
	char why[112];
	struct blob *b;         /* the parsed record (not a loaded blob) */
	uint32_t *chain;        /* chain pages */
	uint32_t chain_len;
	void **ep_img;          /* per extent: its page image, or NULL */
	/* private */
	blob_cb cb;
	void *arg;
	struct blob_mdio mdio;
	unsigned char *page;
	unsigned char *rec;
	size_t rec_len;
	uint32_t next;
	uint32_t k;
};

/*
 * Read the blob whose root page is @root into @w; @cb gets I/O errors, a
 * broken structure is described by w->err/w->why (w->b may then be NULL
 * or w->ep_img incomplete).  Release @w afterwards in any case.
 */
void blob_walk(struct blob_store *bs, uint32_t root, struct blob_walk *w,
	       blob_cb cb, void *arg);
void blob_walk_release(struct blob_walk *w);

/* --- the store ------------------------------------------------------------ */

struct blob_table {
	struct blob **buckets;
	size_t nbuckets; /* power of two */
	size_t n;
};

struct blob_stats {
	_Atomic uint64_t clusters_free;
	_Atomic uint64_t md_free;
	_Atomic uint64_t blobs;
	_Atomic uint64_t cluster_count;
};

struct blob_store {
	struct bdev *dev;
	struct reactor *md;
	struct bdev_channel *md_ch;
	struct blob_super super;
	uint32_t block_size;
	uint32_t cluster_size;
	bool read_only;
	bool was_clean;
	int failed;             /* sticky error after a failed md write */
	bool fills_unflushed;   /* cluster fills completed since last flush */
	uint32_t max_ep;        /* extent pages per blob */
	unsigned int reqs;      /* md requests in flight */
	struct blob_alloc alloc;
	struct blob_overlay ov;
	struct blob_journal j;
	struct blob_epoch epoch;
	struct blob_table table;
	struct blob_stats stats;
};

static inline uint64_t blob_md_off(const struct blob_store *bs, uint32_t page)
{
	return (bs->super.md_start + page) * (uint64_t)BLOB_PAGE_SIZE;
}

static inline uint64_t blob_cluster_off(const struct blob_store *bs,
					uint32_t cluster)
{
	return (uint64_t)cluster * bs->cluster_size;
}

/* store.c */
void blob_stats_update(struct blob_store *bs);
/* Mark the store failed after a metadata write error. */
void blob_store_fail(struct blob_store *bs, int err);
/* Check a md change may start: 0, -EROFS or the sticky failure. */
int blob_store_writable(const struct blob_store *bs);

#endif /* VHOSTFS_BLOB_INTERNAL_H */
