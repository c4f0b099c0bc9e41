// SPDX-License-Identifier: MIT
/*
 * cache.c - the tree and bitmap blocks in memory.
 *
 * A hash table of buffers.  Clean, unpinned buffers sit on an LRU list
 * and are evicted when the cache is over its size; dirty ones sit on the
 * dirty list until a commit copies them into a transaction.  A miss is
 * served from the overlay (images committed but not yet home) before the
 * home block, because home may be older.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bfs_internal.h"
#include "vhostfs/log.h"

void bfs_list_init(struct bfs_list *l)
{
	l->head.prev = &l->head;
	l->head.next = &l->head;
	l->n = 0;
}

void bfs_list_add(struct bfs_list *l, struct bfs_buf *b)
{
	b->prev = l->head.prev;
	b->next = &l->head;
	l->head.prev->next = b;
	l->head.prev = b;
	l->n++;
}

void bfs_list_del(struct bfs_list *l, struct bfs_buf *b)
{
	b->prev->next = b->next;
	b->next->prev = b->prev;
	b->prev = b->next = NULL;
	l->n--;
}

static size_t hash_blk(const struct bfs_cache *c, uint64_t blk)
{
	return (size_t)((blk * 0x9E3779B97F4A7C15ull) >> 20) & (c->tab_size - 1);
}

int bfs_cache_init(struct bfs *fs, size_t cap)
{
	struct bfs_cache *c = &fs->cache;

	c->tab_size = 1024;
	while (c->tab_size < cap)
		c->tab_size <<= 1;
	c->tab = calloc(c->tab_size, sizeof(*c->tab));
	if (!c->tab)
		return -ENOMEM;
	c->cap = cap;
	bfs_list_init(&c->lru);
	bfs_list_init(&c->dirty);
	return 0;
}

static void buf_free(struct bfs_buf *b)
{
	free(b->data);
	free(b);
}

void bfs_cache_fini(struct bfs *fs)
{
	struct bfs_cache *c = &fs->cache;

	for (size_t i = 0; c->tab && i < c->tab_size; i++) {
		while (c->tab[i]) {
			struct bfs_buf *b = c->tab[i];

			c->tab[i] = b->hnext;
			buf_free(b);
		}
	}
	free(c->tab);
	c->tab = NULL;
}

struct bfs_buf *bfs_cache_find(struct bfs *fs, uint64_t blk)
{
	struct bfs_buf *b = fs->cache.tab[hash_blk(&fs->cache, blk)];

	while (b && b->blk != blk)
		b = b->hnext;
	return b;
}

static void cache_unhash(struct bfs *fs, struct bfs_buf *b)
{
	struct bfs_buf **pp = &fs->cache.tab[hash_blk(&fs->cache, b->blk)];

	while (*pp != b)
		pp = &(*pp)->hnext;
	*pp = b->hnext;
	fs->cache.n--;
}

/* Evict clean buffers beyond the cap, oldest first. */
static void cache_shrink(struct bfs *fs)
{
	struct bfs_cache *c = &fs->cache;

	while (c->n > c->cap && c->lru.n) {
		struct bfs_buf *b = c->lru.head.next;

		bfs_list_del(&c->lru, b);
		cache_unhash(fs, b);
		buf_free(b);
	}
}

static struct bfs_buf *buf_alloc(struct bfs *fs, uint64_t blk, uint32_t flags)
{
	struct bfs_buf *b = calloc(1, sizeof(*b));
	size_t h;

	if (!b || posix_memalign((void **)&b->data, BFS_BLOCK, BFS_BLOCK)) {
		free(b);
		return NULL;
	}
	b->blk = blk;
	b->flags = flags;
	h = hash_blk(&fs->cache, blk);
	b->hnext = fs->cache.tab[h];
	fs->cache.tab[h] = b;
	fs->cache.n++;
	return b;
}

/* A clean buffer was used: it becomes the newest. */
static void buf_touch(struct bfs *fs, struct bfs_buf *b)
{
	if (b->flags & (BFS_BUF_DIRTY | BFS_BUF_PINNED | BFS_BUF_LOADING))
		return;
	bfs_list_del(&fs->cache.lru, b);
	bfs_list_add(&fs->cache.lru, b);
}

int bfs_buf_get(struct bfs *fs, uint64_t blk, struct bfs_buf **out)
{
	struct bfs_buf *b = bfs_cache_find(fs, blk);

	if (!b || (b->flags & BFS_BUF_LOADING)) {
		fs->miss = blk;
		return BFS_AGAIN;
	}
	/* a corrupt child pointer may name a cached bitmap block */
	if (!(b->flags & BFS_BUF_NODE))
		return -EUCLEAN;
	buf_touch(fs, b);
	*out = b;
	return 0;
}

struct bfs_buf *bfs_buf_new(struct bfs *fs, uint64_t blk, uint32_t flags)
{
	struct bfs_buf *b = bfs_cache_find(fs, blk);

	if (b && !(b->flags & BFS_BUF_LOADING)) {
		if (!(b->flags & (BFS_BUF_DIRTY | BFS_BUF_PINNED)))
			bfs_list_del(&fs->cache.lru, b);
		b->flags = (b->flags & BFS_BUF_DIRTY) | flags;
		if (!(b->flags & BFS_BUF_DIRTY))
			bfs_list_add(&fs->cache.lru, b);
		return b;
	}
	if (b)
		return NULL; /* freed blocks are never being loaded */
	b = buf_alloc(fs, blk, flags);
	if (b && !(flags & BFS_BUF_PINNED))
		bfs_list_add(&fs->cache.lru, b);
	return b;
}

void bfs_buf_dirty(struct bfs *fs, struct bfs_buf *b)
{
	if (b->flags & BFS_BUF_DIRTY)
		return;
	if (!(b->flags & BFS_BUF_PINNED))
		bfs_list_del(&fs->cache.lru, b);
	b->flags |= BFS_BUF_DIRTY;
	bfs_list_add(&fs->cache.dirty, b);
}

void bfs_buf_drop(struct bfs *fs, struct bfs_buf *b)
{
	if (b->flags & BFS_BUF_DIRTY)
		bfs_list_del(&fs->cache.dirty, b);
	else if (!(b->flags & BFS_BUF_PINNED))
		bfs_list_del(&fs->cache.lru, b);
	cache_unhash(fs, b);
	buf_free(b);
}

/* --- loading -------------------------------------------------------------- */

struct load {
	struct bfs *fs;
	struct bfs_buf *b;
	struct blob_io io;
	struct iovec iov;
};

static void load_finish(struct bfs *fs, struct bfs_buf *b, int err)
{
	struct bfs_op *w = b->waiters;

	b->waiters = NULL;
	b->flags &= ~BFS_BUF_LOADING;
	/*
	 * A block that failed stays cached as no tree node until evicted:
	 * bfs_buf_get() answers -EUCLEAN, so each waiter runs again and
	 * fails through its own error path, which releases what it holds
	 * (a write's turn on its inode, an I/O state).
	 */
	if (err)
		memset(b->data, 0, BFS_BLOCK);
	else
		fs->loads++;
	bfs_list_add(&fs->cache.lru, b);
	while (w) {
		struct bfs_op *next = w->next;

		w->next = NULL;
		bfs_op_run(w);
		w = next;
	}
	cache_shrink(fs);
}

static void load_cpl(void *arg, int err)
{
	struct load *l = arg;
	struct bfs *fs = l->fs;
	struct bfs_buf *b = l->b;

	free(l);
	if (!err && bfs_node_check(b->data, b->blk) != 0) {
		log_error("bfs: tree block %llu is corrupt",
			  (unsigned long long)b->blk);
		err = -EUCLEAN;
	}
	if (!err)
		b->flags |= BFS_BUF_NODE;
	load_finish(fs, b, err);
}

void bfs_cache_load(struct bfs *fs, uint64_t blk, struct bfs_op *op)
{
	struct bfs_buf *b = bfs_cache_find(fs, blk);
	const uint8_t *img;
	struct load *l;

	if (b && !(b->flags & BFS_BUF_LOADING)) {
		bfs_op_run(op); /* arrived meanwhile */
		return;
	}
	if (b) {
		op->next = b->waiters;
		b->waiters = op;
		return;
	}
	b = buf_alloc(fs, blk, BFS_BUF_LOADING);
	if (b && (blk < fs->sb.data_start || blk >= fs->sb.nblocks)) {
		log_error("bfs: tree block %llu is outside the tree area",
			  (unsigned long long)blk);
		op->next = NULL;
		b->waiters = op;
		load_finish(fs, b, -EUCLEAN);
		return;
	}
	l = b ? calloc(1, sizeof(*l)) : NULL;
	if (!l) {
		if (b) {
			cache_unhash(fs, b);
			buf_free(b);
		}
		bfs_op_done(op, -ENOMEM);
		return;
	}
	op->next = NULL;
	b->waiters = op;
	l->fs = fs;
	l->b = b;
	img = bfs_ov_find(fs, blk);
	if (img) {
		memcpy(b->data, img, BFS_BLOCK);
		load_cpl(l, 0);
		return;
	}
	l->iov.iov_base = b->data;
	l->iov.iov_len = BFS_BLOCK;
	blob_readv(fs->ch, fs->vol, &l->io, &l->iov, 1, blk * BFS_BLOCK,
		   load_cpl, l);
}
