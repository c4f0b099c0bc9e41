// SPDX-License-Identifier: MIT
/*
 * alloc.c - blocks of the volume.
 *
 * Two views: the journaled bitmap blocks (pinned in the cache, changed by
 * the apply phase, what the disk says) and the in-memory map @inuse, which
 * also has the bits of blocks reserved by writes in flight and of blocks
 * freed but not yet reusable.  A freed block becomes reusable only when
 * the next checkpoint has completed (FORMAT.md F2): until then a journal
 * replay may still write an old image of it, or a crash may bring back
 * the owner that freed it.
 *
 * Store clusters.  The volume is a thin blob: a block costs the store a
 * cluster only once something is written to it.  @clcount counts the set
 * bits of @inuse per cluster; a cluster whose count drops to zero at the
 * end of a checkpoint (its frees durable, the journal started over, so no
 * replay can write an old image into it) is given back with blob_unmap().
 * Tree blocks in empty clusters are written home only by a checkpoint: a
 * store without room then would fail the fs, so they are promised
 * (@promised, by the stage of the transaction that took them) and data
 * writes leave STORE_RESERVE clusters besides promises and their claims.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bfs_internal.h"

static bool bit_get(const uint8_t *m, uint64_t b)
{
	return m[b / 8] >> (b % 8) & 1;
}

static void bit_put(uint8_t *m, uint64_t b, bool v)
{
	if (v)
		m[b / 8] |= (uint8_t)(1u << (b % 8));
	else
		m[b / 8] &= (uint8_t)~(1u << (b % 8));
}

/* Clusters kept for tree blocks when data writes fill the store. */
#define STORE_RESERVE 16u

enum {
	CL_CLAIM = 1u << 0, /* a data write will allocate it */
};

static uint64_t cl_cap(const struct bfs *fs, uint64_t c)
{
	uint64_t first = c * fs->alloc.bpc, n = fs->sb.nblocks - first;

	return n < fs->alloc.bpc ? n : fs->alloc.bpc;
}

static void cl_unclaim(struct bfs_alloc *a, uint64_t c)
{
	if (a->clflag[c] & CL_CLAIM) {
		a->clflag[c] &= (uint8_t)~CL_CLAIM;
		a->claims--;
	}
}

/* Set or clear bit @b of @inuse, keeping the cluster counts. */
static void inuse_put(struct bfs *fs, uint64_t b, bool v)
{
	struct bfs_alloc *a = &fs->alloc;
	uint64_t c = b / a->bpc;

	if (bit_get(a->inuse, b) == v)
		return;
	bit_put(a->inuse, b, v);
	if (v && a->clcount[c]++ == 0)
		a->busy_cap += cl_cap(fs, c);
	if (!v && --a->clcount[c] == 0) {
		a->busy_cap -= cl_cap(fs, c);
		cl_unclaim(a, c);
	}
}

static uint64_t promised(const struct bfs_alloc *a)
{
	return a->promised[0] + a->promised[1] + a->promised[2] +
	       a->promised[3];
}

/* Store clusters free for new promises and claims. */
static uint64_t store_avail(struct bfs *fs)
{
	struct blob_store_info info;
	uint64_t taken = fs->alloc.claims + promised(&fs->alloc);

	blob_store_info_get(fs->bs, &info);
	return info.free_clusters > taken ? info.free_clusters - taken : 0;
}

/* Clear bits inside clusters that have set ones: blocks the store backs. */
static uint64_t backed_free(const struct bfs *fs)
{
	uint64_t set = fs->sb.nblocks - fs->alloc.free;

	return fs->alloc.busy_cap > set ? fs->alloc.busy_cap - set : 0;
}

static struct bfs_buf *bitmap_block(struct bfs *fs, uint64_t blk)
{
	return bfs_cache_find(fs, fs->sb.bitmap_start + blk / BFS_BITS_PER_BLOCK);
}

bool bfs_bitmap_test(struct bfs *fs, uint64_t blk)
{
	struct bfs_buf *b = bitmap_block(fs, blk);

	return bit_get(b->data, blk % BFS_BITS_PER_BLOCK);
}

static void bitmap_set(struct bfs *fs, uint64_t blk, bool v)
{
	struct bfs_buf *b = bitmap_block(fs, blk);

	bfs_buf_dirty(fs, b);
	bit_put(b->data, blk % BFS_BITS_PER_BLOCK, v);
}

int bfs_alloc_init(struct bfs *fs)
{
	struct bfs_alloc *a = &fs->alloc;
	uint64_t n = fs->sb.nblocks, used = 0;

	a->bpc = blob_store_cluster_size(fs->bs) / BFS_BLOCK;
	a->bpc = a->bpc ? a->bpc : 1;
	a->ncl = (n + a->bpc - 1) / a->bpc;
	a->inuse = calloc((n + 7) / 8, 1);
	a->clcount = calloc(a->ncl, sizeof(*a->clcount));
	a->clflag = calloc(a->ncl, 1);
	if (!a->inuse || !a->clcount || !a->clflag)
		return -ENOMEM;
	for (uint64_t b = 0; b < n; b++) {
		bool v = bfs_bitmap_test(fs, b);

		if (b < fs->sb.data_start && !v)
			return -EUCLEAN;
		inuse_put(fs, b, v);
		used += v;
	}
	/* no bit past the end: whole bytes after the last partial one */
	for (uint64_t b = n; b < fs->sb.bitmap_blocks * BFS_BITS_PER_BLOCK;) {
		const uint8_t *d = bitmap_block(fs, b)->data;
		size_t i = b % BFS_BITS_PER_BLOCK;

		for (; i % 8 && bit_get(d, i) == 0; i++)
			;
		if (i % 8)
			return -EUCLEAN;
		for (i /= 8; i < BFS_BLOCK; i++) {
			if (d[i])
				return -EUCLEAN;
		}
		b = (b / BFS_BITS_PER_BLOCK + 1) * BFS_BITS_PER_BLOCK;
	}
	if (used != fs->st.used_blocks)
		return -EUCLEAN;
	a->free = n - used;
	a->hint = fs->sb.data_start;
	a->trim_all = true;
	return 0;
}

void bfs_alloc_fini(struct bfs *fs)
{
	free(fs->alloc.inuse);
	free(fs->alloc.pend.a);
	free(fs->alloc.in_tx.a);
	free(fs->alloc.done.a);
	free(fs->alloc.held.a);
	free(fs->alloc.clcount);
	free(fs->alloc.clflag);
	memset(&fs->alloc, 0, sizeof(fs->alloc));
}

/* First clear bit of @inuse at or after @from, or @n. */
static uint64_t find_clear(const uint8_t *m, uint64_t from, uint64_t n)
{
	uint64_t b = from;

	while (b < n && (b % 64))
		if (!bit_get(m, b++))
			return b - 1;
	while (b + 64 <= n) {
		uint64_t w;

		memcpy(&w, m + b / 8, 8);
		if (w != ~0ull)
			return b + (uint64_t)__builtin_ctzll(~w);
		b += 64;
	}
	for (; b < n; b++)
		if (!bit_get(m, b))
			return b;
	return n;
}

/* First clear bit in a cluster that has set ones (store-backed), or @n. */
static uint64_t find_backed(struct bfs *fs)
{
	struct bfs_alloc *a = &fs->alloc;

	for (uint64_t c = fs->sb.data_start / a->bpc; c < a->ncl; c++) {
		uint64_t b, end = c * a->bpc + cl_cap(fs, c);

		if (!a->clcount[c] || a->clcount[c] == cl_cap(fs, c))
			continue;
		b = find_clear(a->inuse, c * a->bpc, end);
		if (b < end && b >= fs->sb.data_start)
			return b;
	}
	return fs->sb.nblocks;
}

/* The first free block at or after @near (wrapping), or nblocks. */
static uint64_t find_from(struct bfs *fs, uint64_t near)
{
	uint64_t n = fs->sb.nblocks;
	uint64_t from = near >= fs->sb.data_start && near < n ? near
							     : fs->alloc.hint;
	uint64_t b = find_clear(fs->alloc.inuse, from, n);

	if (b == n)
		b = find_clear(fs->alloc.inuse, fs->sb.data_start, n);
	return b;
}

/* Clusters of [b, b + k) without a set bit: the store must give them. */
static uint64_t new_clusters(const struct bfs *fs, uint64_t b, uint64_t k)
{
	const struct bfs_alloc *a = &fs->alloc;
	uint64_t n = 0;

	for (uint64_t c = b / a->bpc; k && c <= (b + k - 1) / a->bpc; c++)
		n += a->clcount[c] == 0;
	return n;
}

/* Mark the @k clear blocks from @b reserved. */
static void take_run(struct bfs *fs, uint64_t b, uint64_t k)
{
	struct bfs_alloc *a = &fs->alloc;

	for (uint64_t i = 0; i < k; i++)
		inuse_put(fs, b + i, true);
	a->free -= k;
	a->hint = b + k;
}

/* Tree blocks (one at a time): a block in an empty cluster is promised. */
int bfs_alloc_reserve(struct bfs *fs, uint64_t near, uint32_t want,
		      uint64_t *start, uint32_t *got)
{
	struct bfs_alloc *a = &fs->alloc;
	uint64_t n = fs->sb.nblocks, b;

	if (!a->free || !want)
		return -ENOSPC;
	b = find_from(fs, near);
	if (b < n && a->clcount[b / a->bpc] == 0 && store_avail(fs) == 0) {
		uint64_t alt = find_backed(fs);

		b = alt < n ? alt : b;
	}
	if (b == n)
		return -ENOSPC;
	if (a->clcount[b / a->bpc] == 0)
		a->promised[0]++;
	take_run(fs, b, 1);
	*start = b;
	*got = 1;
	return 0;
}

/* Shorten [b, b + k) so that it needs at most @room new clusters. */
static uint64_t fit_store(const struct bfs *fs, uint64_t b, uint64_t k,
			  uint64_t room)
{
	const struct bfs_alloc *a = &fs->alloc;

	if (new_clusters(fs, b, k) <= room)
		return k;
	for (uint64_t c = b / a->bpc;; c++) {
		if (a->clcount[c] == 0) {
			if (room == 0)
				return c * a->bpc > b ? c * a->bpc - b : 0;
			room--;
		}
		if ((c + 1) * a->bpc >= b + k)
			return k;
	}
}

int bfs_alloc_reserve_data(struct bfs *fs, uint64_t near, uint32_t want,
			   uint64_t *start, uint32_t *got)
{
	struct bfs_alloc *a = &fs->alloc;
	uint64_t n = fs->sb.nblocks, b, k = 0, avail = store_avail(fs);
	uint64_t room = avail > STORE_RESERVE ? avail - STORE_RESERVE : 0;

	if (!a->free || !want)
		return -ENOSPC;
	b = find_from(fs, near);
	while (b + k < n && k < want && !bit_get(a->inuse, b + k))
		k++;
	k = k ? fit_store(fs, b, k, room) : 0;
	if (k == 0) {
		/* no room for a new cluster: a free block of a backed one */
		b = find_backed(fs);
		if (b == n)
			return -ENOSPC;
		k = 1;
	}
	for (uint64_t c = b / a->bpc; c <= (b + k - 1) / a->bpc; c++) {
		if (a->clcount[c] == 0) {
			a->clflag[c] |= CL_CLAIM;
			a->claims++;
		}
	}
	take_run(fs, b, k);
	*start = b;
	*got = (uint32_t)k;
	return 0;
}

void bfs_alloc_data_done(struct bfs *fs, uint64_t start, uint32_t n)
{
	struct bfs_alloc *a = &fs->alloc;

	a->fills++;
	for (uint64_t c = start / a->bpc; n && c <= (start + n - 1) / a->bpc;
	     c++)
		cl_unclaim(a, c);
}

bool bfs_alloc_store_ok(struct bfs *fs, uint64_t blocks)
{
	/* free blocks the store backs, then whole clusters it still has */
	return backed_free(fs) + store_avail(fs) * fs->alloc.bpc >= blocks;
}

void bfs_alloc_space(struct bfs *fs, uint64_t *blocks, uint64_t *bfree)
{
	struct blob_store_info info;
	uint64_t vol_free = fs->sb.nblocks - fs->st.used_blocks;
	uint64_t backed = backed_free(fs), unbacked, store;

	blob_store_info_get(fs->bs, &info);
	/* frees waiting for a checkpoint are free (the bitmap says so), and
	   their clusters stay allocated until then */
	backed += bfs_alloc_pending(fs) - fs->alloc.trimming;
	backed = backed < vol_free ? backed : vol_free;
	unbacked = vol_free - backed;
	store = info.free_clusters * fs->alloc.bpc;
	*bfree = backed + (unbacked < store ? unbacked : store);
	*blocks = fs->st.used_blocks - fs->sb.data_start + *bfree;
}

void bfs_alloc_unreserve(struct bfs *fs, uint64_t start, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		inuse_put(fs, start + i, false);
	fs->alloc.free += n;
}

void bfs_alloc_commit(struct bfs *fs, uint64_t start, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		bitmap_set(fs, start + i, true);
	fs->st.used_blocks += n;
}

static int vec_add(struct bfs_vec *v, uint64_t start, uint64_t n)
{
	if (v->n + 2 > v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 64;
		uint64_t *p = realloc(v->a, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		v->a = p;
		v->cap = cap;
	}
	v->a[v->n++] = start;
	v->a[v->n++] = n;
	return 0;
}

/* Append @from's runs to @to and empty @from. */
static void vec_move(struct bfs_vec *to, struct bfs_vec *from)
{
	for (size_t i = 0; i < from->n; i += 2)
		(void)vec_add(to, from->a[i], from->a[i + 1]);
	from->n = 0;
}

static uint64_t vec_sum(const struct bfs_vec *v)
{
	uint64_t n = 0;

	for (size_t i = 1; i < v->n; i += 2)
		n += v->a[i];
	return n;
}

void bfs_alloc_free(struct bfs *fs, uint64_t start, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		bitmap_set(fs, start + i, false);
	fs->st.used_blocks -= n;
	/* without memory to remember them, the blocks stay unusable until
	   the next mount: leaked in memory, never on disk */
	(void)vec_add(&fs->alloc.pend, start, n);
}

void bfs_alloc_tx_begin(struct bfs *fs)
{
	/* extents of new data blocks: their data (and the clusters a thin
	   volume gave them) must be durable before the transaction is */
	fs->alloc.presync = fs->alloc.fills != 0;
	fs->alloc.fills = 0;
	vec_move(&fs->alloc.in_tx, &fs->alloc.pend);
	fs->alloc.promised[1] += fs->alloc.promised[0];
	fs->alloc.promised[0] = 0;
}

void bfs_alloc_tx_end(struct bfs *fs)
{
	vec_move(&fs->alloc.done, &fs->alloc.in_tx);
	fs->alloc.promised[2] += fs->alloc.promised[1];
	fs->alloc.promised[1] = 0;
}

void bfs_alloc_ckpt_begin(struct bfs *fs)
{
	vec_move(&fs->alloc.held, &fs->alloc.done);
	fs->alloc.promised[3] += fs->alloc.promised[2];
	fs->alloc.promised[2] = 0;
}

/* --- giving clusters back to the store ---------------------------------------- */

struct trim {
	struct bfs *fs;
	uint64_t blk;
	uint64_t n;
};

static void trim_synced(void *arg, int err)
{
	struct bfs *fs = arg;

	/* a failed commit keeps the clusters allocated: nothing is lost */
	(void)err;
	fs->internal_ops--;
}

static void trim_cpl(void *arg, int err)
{
	struct trim *t = arg;
	struct bfs *fs = t->fs;
	struct bfs_alloc *a = &fs->alloc;

	for (uint64_t i = 0; i < t->n; i++)
		inuse_put(fs, t->blk + i, false);
	a->free += t->n;
	a->trimming -= t->n;
	if (!err)
		a->trimmed += (t->n + a->bpc - 1) / a->bpc;
	a->trims--;
	free(t);
	if (a->trims == 0 && !fs->failed) {
		/* commit the unmaps: the store counts the clusters after it */
		blob_sync(fs->vol, trim_synced, fs);
		return;
	}
	fs->internal_ops--;
}

/* Unmap clusters [c0, c1), all without a set bit; held while it runs. */
static void trim_run(struct bfs *fs, uint64_t c0, uint64_t c1)
{
	struct bfs_alloc *a = &fs->alloc;
	uint64_t first = c0 * a->bpc, end = c1 * a->bpc;
	struct trim *t = malloc(sizeof(*t));

	if (!t)
		return; /* stays allocated until the next mount trims it */
	end = end < fs->sb.nblocks ? end : fs->sb.nblocks;
	*t = (struct trim){ .fs = fs, .blk = first, .n = end - first };
	for (uint64_t b = first; b < end; b++)
		inuse_put(fs, b, true);
	a->free -= t->n;
	a->trimming += t->n;
	a->trims++;
	fs->internal_ops++;
	blob_unmap(fs->vol, c0, c1 - c0, trim_cpl, t);
}

/* Trim the empty clusters that blocks [b0, b1) fall in. */
static void trim_scan(struct bfs *fs, uint64_t b0, uint64_t b1)
{
	struct bfs_alloc *a = &fs->alloc;
	uint64_t c = b0 / a->bpc, last = (b1 - 1) / a->bpc, run = UINT64_MAX;

	for (; b1 > b0 && c <= last + 1; c++) {
		bool empty = c <= last && c * a->bpc >= fs->sb.data_start &&
			     a->clcount[c] == 0;

		if (empty && run == UINT64_MAX)
			run = c;
		if (!empty && run != UINT64_MAX) {
			trim_run(fs, run, c);
			run = UINT64_MAX;
		}
	}
}

void bfs_alloc_ckpt_end(struct bfs *fs)
{
	struct bfs_alloc *a = &fs->alloc;
	struct bfs_vec *h = &a->held;

	for (size_t i = 0; i < h->n; i += 2)
		bfs_alloc_unreserve(fs, h->a[i], (uint32_t)h->a[i + 1]);
	a->promised[3] = 0;
	if (!fs->read_only && !fs->failed) {
		if (a->trim_all)
			trim_scan(fs, fs->sb.data_start, fs->sb.nblocks);
		for (size_t i = 0; !a->trim_all && i < h->n; i += 2)
			trim_scan(fs, h->a[i], h->a[i] + h->a[i + 1]);
		a->trim_all = false;
	}
	h->n = 0;
}

uint64_t bfs_alloc_free_now(const struct bfs *fs)
{
	return fs->alloc.free;
}

uint64_t bfs_alloc_pending(const struct bfs *fs)
{
	const struct bfs_alloc *a = &fs->alloc;

	return vec_sum(&a->pend) + vec_sum(&a->in_tx) + vec_sum(&a->done) +
	       vec_sum(&a->held) + a->trimming;
}
