/* SPDX-License-Identifier: MIT */
/*
 * bfs_internal.h - the embedded file system's internals (docs/DESIGN.md,
 * "Embedded file system").  Everything here runs on the fs thread.
 */
#ifndef VHOSTFS_BFS_INTERNAL_H
#define VHOSTFS_BFS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "bfs_format.h"
#include "vhostfs/bfs.h"
#include "vhostfs/blob.h"
#include "vhostfs/fs.h"
#include "vhostfs/reactor.h"

struct bfs;
struct bfs_op;

/* Returned by steps that cannot finish now (never an errno). */
#define BFS_AGAIN 1 /* a block must be loaded first: fs->miss */
#define BFS_ASYNC 2 /* the operation continues by itself */

/* --- waiting for commits -------------------------------------------------- */

struct bfs_wait {
	void (*cb)(void *arg, int err);
	void *arg;
	struct bfs_wait *next;
};

/* --- block cache (cache.c) ------------------------------------------------ */

enum {
	BFS_BUF_DIRTY = 1u << 0,   /* changed since the last commit */
	BFS_BUF_PINNED = 1u << 1,  /* never evicted (bitmap blocks) */
	BFS_BUF_LOADING = 1u << 2, /* read in flight; ops wait in @waiters */
	BFS_BUF_NODE = 1u << 3,    /* a tree node: CRC set when committed */
};

struct bfs_buf {
	uint64_t blk;
	uint8_t *data;
	uint32_t flags;
	struct bfs_buf *hnext;
	struct bfs_buf *prev, *next; /* LRU (clean, unpinned) or dirty list */
	struct bfs_op *waiters;
};

struct bfs_list {
	struct bfs_buf head; /* sentinel */
	size_t n;
};

struct bfs_cache {
	struct bfs_buf **tab;
	size_t tab_size;
	size_t n;
	size_t cap;
	struct bfs_list lru;
	struct bfs_list dirty;
};

int bfs_cache_init(struct bfs *fs, size_t cap);
void bfs_cache_fini(struct bfs *fs);
struct bfs_buf *bfs_cache_find(struct bfs *fs, uint64_t blk);
/*
 * 0 with *@out cached and checked, BFS_AGAIN with fs->miss = @blk, or
 * -EUCLEAN: @blk is no tree node (failed to load or check, outside the
 * tree area, a bitmap block).
 */
int bfs_buf_get(struct bfs *fs, uint64_t blk, struct bfs_buf **out);
/* Read @blk (overlay first), then run every waiting op again. */
void bfs_cache_load(struct bfs *fs, uint64_t blk, struct bfs_op *op);
/* A buffer for a block whose contents the caller writes whole. */
struct bfs_buf *bfs_buf_new(struct bfs *fs, uint64_t blk, uint32_t flags);
void bfs_buf_dirty(struct bfs *fs, struct bfs_buf *b);
/* Forget a freed block's buffer (dirty or not). */
void bfs_buf_drop(struct bfs *fs, struct bfs_buf *b);
void bfs_list_init(struct bfs_list *l);
void bfs_list_add(struct bfs_list *l, struct bfs_buf *b);
void bfs_list_del(struct bfs_list *l, struct bfs_buf *b);

/* --- overlay: committed images not yet home (journal.c) ------------------- */

struct bfs_ov {
	uint64_t blk;
	const uint8_t *img;
	struct bfs_ov *next;
};

struct bfs_txbuf {
	struct bfs_txbuf *next;
	uint8_t *mem;
};

/* --- journal (journal.c, ckpt.c) ------------------------------------------ */

struct bfs_journal {
	uint64_t pos;      /* next free journal block */
	uint64_t seq;      /* seq of the next transaction */
	struct bfs_state cst; /* state as of the last committed transaction */
	bool busy;         /* a commit (and its checkpoint) is running */
	bool timer_armed;
	bool timer_lazy;   /* the armed timer runs for BFS_COMMIT_LAZY_MS */
	bool urgent;       /* dirty since the last tx with more than times */
	bool stopping;     /* unmount: no more timers */
	uint32_t ckpt_flags; /* super block flags the next checkpoint writes */
	struct bfs_wait *waiting;   /* complete when the running commit ends */
	struct bfs_wait *next;      /* need a commit that has not started */
	struct bfs_wait *ckpt_cur;  /* after the running commit's checkpoint */
	struct bfs_wait *ckpt_next; /* need a commit + checkpoint not started */
	struct bfs_txbuf *tx;       /* being written */
	uint32_t tx_blocks;
	struct blob_io io;
	struct iovec iov;
	struct bfs_ov **ov;
	size_t ov_size;
	size_t ov_n;
	struct bfs_txbuf *txbufs;   /* committed, backing the overlay */
	struct reactor_op timer;
	uint32_t commit_ms;
	void *ckpt;        /* the running checkpoint (ckpt.c) */
	struct bfs_super *sbuf; /* super block being written */
	void (*super_done)(struct bfs *fs, int err);
	uint64_t commits; /* statistics, for tests */
	uint64_t checkpoints;
};

void bfs_journal_fini(struct bfs *fs);
const uint8_t *bfs_ov_find(struct bfs *fs, uint64_t blk);
int bfs_ov_put(struct bfs *fs, uint64_t blk, const uint8_t *img);
void bfs_ov_clear(struct bfs *fs);
/* Something was applied: arm the commit timer, commit early if much. */
void bfs_commit_kick(struct bfs *fs);
/*
 * The same for changes a power cut may lose without harm: the times and
 * size of in-place overwrites (no allocation).  They wait for a commit
 * up to BFS_COMMIT_LAZY_MS (or commit_ms if longer), so a streaming
 * writer does not flush the device every commit_ms.
 */
#define BFS_COMMIT_LAZY_MS 1000u
void bfs_commit_kick_lazy(struct bfs *fs);
/* Call @w once a commit that started after now has completed. */
void bfs_commit_wait(struct bfs *fs, struct bfs_wait *w);
/* Commit, then checkpoint; @w after both. */
void bfs_checkpoint_wait(struct bfs *fs, struct bfs_wait *w);
/* Start the checkpoint the journal code decided on (ckpt.c). */
void bfs_ckpt_start(struct bfs *fs, void (*done)(struct bfs *fs, int err));
void bfs_super_write(struct bfs *fs, uint32_t flags,
		     void (*done)(struct bfs *fs, int err));
int bfs_replay(struct bfs *fs, const uint8_t *jbuf);
uint32_t bfs_crc(const void *buf, size_t len);
uint32_t bfs_crc_update(uint32_t crc, const void *buf, size_t len);
bool bfs_super_valid(const struct bfs_super *s);

/* --- allocator (alloc.c) --------------------------------------------------- */

/* Runs of blocks: (start, count) pairs. */
struct bfs_vec {
	uint64_t *a;
	size_t n, cap;
};

/*
 * Freed blocks travel pend (applied) -> in_tx (in the transaction being
 * written) -> done (committed) -> held (a checkpoint is writing home the
 * state without them) -> free again when that checkpoint completed.
 */
struct bfs_alloc {
	uint8_t *inuse;      /* bitmap bits | reserved | freed, not reusable */
	uint64_t free;       /* clear bits of @inuse */
	uint64_t hint;
	struct bfs_vec pend, in_tx, done, held;
	/* clusters of the volume blob (alloc.c "Store clusters") */
	uint64_t bpc;          /* blocks per cluster */
	uint64_t ncl;
	uint32_t *clcount;     /* set bits of @inuse per cluster */
	uint8_t *clflag;
	uint64_t busy_cap;     /* blocks of the clusters with a set bit */
	uint64_t claims;       /* clusters data writes may still allocate */
	uint64_t promised[4];  /* new clusters of tree blocks, by stage */
	uint64_t trimming;     /* blocks held while their unmap runs */
	unsigned int trims;    /* unmaps in flight */
	bool trim_all;         /* trim every free cluster at the next ckpt */
	uint64_t trimmed;      /* clusters given back (statistics) */
	uint64_t fills;        /* new data blocks written since tx_begin */
	bool presync;          /* the next tx references them: sync first */
};

int bfs_alloc_init(struct bfs *fs);
void bfs_alloc_fini(struct bfs *fs);
/* Reserve up to @want contiguous blocks near @near; count in *@got. */
int bfs_alloc_reserve(struct bfs *fs, uint64_t near, uint32_t want,
		      uint64_t *start, uint32_t *got);
void bfs_alloc_unreserve(struct bfs *fs, uint64_t start, uint32_t n);
/* Mark reserved blocks used in the journaled bitmap (apply phase). */
void bfs_alloc_commit(struct bfs *fs, uint64_t start, uint32_t n);
/* Clear in the bitmap now; reusable after the next checkpoint. */
void bfs_alloc_free(struct bfs *fs, uint64_t start, uint32_t n);
/* Journal hooks moving the freed runs along (see struct bfs_alloc). */
void bfs_alloc_tx_begin(struct bfs *fs);
void bfs_alloc_tx_end(struct bfs *fs);
void bfs_alloc_ckpt_begin(struct bfs *fs);
void bfs_alloc_ckpt_end(struct bfs *fs);
bool bfs_bitmap_test(struct bfs *fs, uint64_t blk);
/* Free blocks, not counting frees waiting for a checkpoint. */
uint64_t bfs_alloc_free_now(const struct bfs *fs);
uint64_t bfs_alloc_pending(const struct bfs *fs);
/* Data blocks: reserve as above, leaving the store clusters tree blocks
 * need; -ENOSPC when the store cannot back them. */
int bfs_alloc_reserve_data(struct bfs *fs, uint64_t near, uint32_t want,
			   uint64_t *start, uint32_t *got);
/* The data write to reserved blocks ended: their clusters are allocated. */
void bfs_alloc_data_done(struct bfs *fs, uint64_t start, uint32_t n);
/* Whether @blocks new tree blocks find clusters (backed or free). */
bool bfs_alloc_store_ok(struct bfs *fs, uint64_t blocks);
/* statfs: data blocks, and free ones the store can back. */
void bfs_alloc_space(struct bfs *fs, uint64_t *blocks, uint64_t *bfree);

/* --- tree (tree.c, node.c) ------------------------------------------------- */

struct bfs_path {
	unsigned int levels;
	struct bfs_buf *buf[BFS_MAX_LEVEL];
	uint16_t slot[BFS_MAX_LEVEL]; /* [0] is the leaf */
};

static inline struct bfs_node_hdr *bfs_hdr(const struct bfs_buf *b)
{
	return (struct bfs_node_hdr *)b->data;
}

static inline struct bfs_item *bfs_items(const struct bfs_buf *b)
{
	return (struct bfs_item *)(b->data + sizeof(struct bfs_node_hdr));
}

static inline struct bfs_child *bfs_children(const struct bfs_buf *b)
{
	return (struct bfs_child *)(b->data + sizeof(struct bfs_node_hdr));
}

int bfs_node_check(const uint8_t *data, uint64_t blk);
void bfs_node_init(uint8_t *data, uint64_t blk, uint16_t level);
size_t bfs_leaf_free(const struct bfs_buf *b);
void bfs_leaf_insert_at(struct bfs_buf *b, uint16_t slot, struct bfs_key k,
			const void *val, uint16_t len);
void bfs_leaf_remove_at(struct bfs_buf *b, uint16_t slot);
void bfs_node_seal(uint8_t *data);

/* 0 found, -ENOENT (p at the insertion slot), BFS_AGAIN, -EUCLEAN. */
int bfs_tree_search(struct bfs *fs, struct bfs_key k, struct bfs_path *p);
/* Position at the first item >= @k: 0, -ENOENT (none), BFS_AGAIN. */
int bfs_tree_seek(struct bfs *fs, struct bfs_key k, struct bfs_path *p);
/* Advance to the next item: 0, -ENOENT at the end, BFS_AGAIN. */
int bfs_tree_next(struct bfs *fs, struct bfs_path *p);
struct bfs_key bfs_path_key(const struct bfs_path *p);
void *bfs_path_val(const struct bfs_path *p, uint16_t *len);
/* Copy an item's value: 0, -ENOENT, -EUCLEAN (size differs), BFS_AGAIN. */
int bfs_item_read(struct bfs *fs, struct bfs_key k, void *val, size_t size);

/*
 * Apply phase (the paths were found before, so nothing misses): insert,
 * replace, delete.  A miss here is a bug and fails the fs with -EIO.
 */
int bfs_tree_insert(struct bfs *fs, struct bfs_key k, const void *val,
		    uint16_t len);
int bfs_tree_update(struct bfs *fs, struct bfs_key k, const void *val,
		    uint16_t len);
int bfs_tree_delete(struct bfs *fs, struct bfs_key k);
/* Blocks a single insert may allocate (splits up to a new root). */
uint64_t bfs_tree_split_need(const struct bfs *fs);
int bfs_tree_create_root(struct bfs *fs);

/* --- operations (op.c) ----------------------------------------------------- */

typedef int (*bfs_run_fn)(struct bfs_op *op);

#define BFS_OP_ARGS 144
/* Most blocks one atomic step may dirty (splits, a batch of frees). */
#define BFS_STEP_BLOCKS 48u

enum {
	BFS_OP_MUTATES = 1u << 0, /* refused on a read-only or failed fs */
	BFS_OP_WQ_SHARED = 1u << 1, /* waits in a write queue as shared */
	BFS_OP_WQ_TURN = 1u << 2,   /* taken off a write queue: goes first */
};

struct bfs_op {
	struct bfs *fs;
	struct fs_call *call; /* NULL for internal operations */
	bfs_run_fn run;
	uint32_t flags;
	int err;
	struct bfs_op *next; /* waiting for a block */
	struct reactor_msg msg;
	struct bfs_wait wait;
	_Alignas(16) unsigned char args[BFS_OP_ARGS];
};
_Static_assert(sizeof(struct bfs_op) <= FS_CALL_SCRATCH, "op in scratch");

#define BFS_ARGS(op, type) ((type *)(void *)(op)->args)
#define BFS_ARGS_FIT(type) \
	_Static_assert(sizeof(type) <= BFS_OP_ARGS, #type " fits")

struct bfs_op *bfs_op_init(struct bfs *fs, struct fs_call *c, bfs_run_fn run,
			   uint32_t flags);
/* Start @op: hops to the fs thread if needed. */
void bfs_op_submit(struct bfs_op *op);
/* Run @op's step again (on the fs thread). */
void bfs_op_run(struct bfs_op *op);
/* Complete @op with @err (hops back to the caller's thread). */
void bfs_op_done(struct bfs_op *op, int err);
/* Internal operation with its own memory, freed when it ends. */
struct bfs_op *bfs_op_internal(struct bfs *fs, bfs_run_fn run,
			       void (*done)(struct bfs *fs, int err));
/* Park @op until a checkpoint freed blocks; then run it again. */
int bfs_op_wait_ckpt(struct bfs_op *op);
/* -ENOSPC, 0, or BFS_ASYNC when a checkpoint will free space first. */
int bfs_space_check(struct bfs_op *op, uint64_t blocks);
void bfs_fail(struct bfs *fs, const char *why);
/* Apply steps: an error now fails the fs (the change is half made). */
int bfs_apply_check2(struct bfs *fs, int rc);

/* --- inodes (inode.c) ------------------------------------------------------ */

struct bfs_inode {
	uint64_t ino;
	uint64_t refs;   /* lookup references of the client */
	uint32_t opens;  /* open files */
	uint32_t holds;  /* internal users (operations in flight) */
	bool unlinked;   /* no link left: freed when unused */
	bool linkable;   /* O_TMPFILE: link() may name it although unlinked */
	struct bfs_lockset *locks; /* POSIX locks and flocks (lock.c) */
	struct bfs_inode *hnext;
	struct bfs_op *wq;      /* writes waiting for their turn */
	struct bfs_op **wq_tail;
	bool writing;           /* one exclusive writer (data.c) */
	uint32_t writers;       /* shared writers: overwrites in place */
};

struct bfs_file {
	struct bfs_inode *inode;
	int flags;
	bool dir;
};

int bfs_itab_init(struct bfs *fs);
void bfs_itab_fini(struct bfs *fs);
struct bfs_inode *bfs_inode_get(struct bfs *fs, uint64_t ino);
/* Drop a reference of any kind; the last one of an unlinked inode frees it. */
void bfs_inode_put(struct bfs *fs, struct bfs_inode *in);
void bfs_inode_check_free(struct bfs *fs, struct bfs_inode *in);
struct bfs_inode *bfs_inode_find(struct bfs *fs, uint64_t ino);
void bfs_now(struct timespec *ts);
void bfs_dinode_to_stat(const struct bfs_dinode *d, uint64_t ino,
			struct stat *st);
void bfs_dinode_init(struct bfs_dinode *d, mode_t mode, uint32_t uid,
		     uint32_t gid, uint64_t rdev);
void bfs_touch(struct bfs_dinode *d, bool mtime, bool ctime);
/* Read an inode item: 0, -ENOENT, BFS_AGAIN. */
int bfs_dinode_read(struct bfs *fs, uint64_t ino, struct bfs_dinode *d);
int bfs_dinode_write(struct bfs *fs, uint64_t ino, const struct bfs_dinode *d);
int bfs_perm(const struct fs_cred *cr, const struct bfs_dinode *d, int mask);
/* bfs_perm() of inode @ino with its POSIX ACL (acl.c); may miss a block. */
int bfs_perm_acl(struct bfs *fs, uint64_t ino, const struct fs_cred *cr,
		 const struct bfs_dinode *d, int mask);
/*
 * Free unlinked inode @in (no link, no reference left) as an internal
 * operation of bounded atomic steps (free.c).
 */
void bfs_inode_free_start(struct bfs *fs, uint64_t ino);
/* One bounded step of removing extents (free.c); -EINPROGRESS: more. */
int bfs_cut_step(struct bfs *fs, uint64_t ino, bool all, uint64_t from);
/* Free every orphan at mount; @done when finished. 0 or -ENOMEM. */
int bfs_orphans_start(struct bfs *fs, void (*done)(struct bfs *fs, int err));

/* --- names (hash.c, names.c) ----------------------------------------------- */

uint64_t bfs_name_hash(const struct bfs *fs, const char *name, size_t len);
/*
 * Find @name in @dir: 0 (key in *@k, its inode number in *@ino when not
 * NULL), -ENOENT (*@k = the free key a new entry would take, or off
 * BFS_OFF_MASK when all 256 collision slots are taken), BFS_AGAIN.
 */
/* A dirent item's value: the largest, and one encoded into @buf. */
#define BFS_DIRENT_MAX (sizeof(struct bfs_ddirent) + 256)
uint16_t bfs_dirent_encode(uint8_t *buf, const char *name, uint64_t ino,
			   mode_t mode);
int bfs_dirent_find(struct bfs *fs, uint64_t dir, const char *name,
		    struct bfs_key *k, uint64_t *ino);
uint8_t bfs_mode_dtype(mode_t mode);

/* --- the file system ------------------------------------------------------- */

struct bfs {
	struct fs base;
	struct blob_store *bs;
	struct blob *vol;
	struct reactor *r;
	struct blob_channel *ch;
	uint64_t vol_id;
	struct bfs_super sb;     /* as last written */
	struct bfs_state st;     /* current (applied) */
	struct bfs_cache cache;
	struct bfs_alloc alloc;
	struct bfs_journal j;
	struct bfs_inode **itab;
	size_t itab_size;
	size_t ninodes;
	uint64_t miss;
	int failed;              /* 0, or the error that stopped changes */
	bool read_only;
	uint32_t io_unit;
	uint8_t *zero;           /* one zeroed block */
	struct bfs_op *ckpt_ops; /* ops waiting for space a checkpoint frees */
	uint64_t loads;          /* tree blocks read (lookup-cost tests) */
	unsigned int internal_ops; /* orphan frees etc. in flight */
	void *mount_ctx;
	struct bfs_rw *rw_free;
};

static inline struct bfs *bfs_of(struct fs *fs)
{
	return (struct bfs *)fs;
}

extern const struct fs_ops bfs_fs_ops;
void bfs_rw_fini(struct bfs *fs);

/* Synchronous block I/O helpers for mount/mkfs (mount.c). */
void bfs_vol_rw(struct bfs *fs, bool write, uint64_t blk, void *buf,
		uint32_t nblocks, blob_cb cb, void *arg);

#endif /* VHOSTFS_BFS_INTERNAL_H */
