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

	a->inuse = calloc((n + 7) / 8, 1);
	if (!a->inuse)
		return -ENOMEM;
	for (uint64_t b = 0; b < n; b++) {
		bool v = bfs_bitmap_test(fs, b);

		if (b < fs->sb.data_start && !v)
			return -EUCLEAN;
		bit_put(a->inuse, b, v);
		used += v;
	}
	for (uint64_t b = n; b < fs->sb.bitmap_blocks * BFS_BITS_PER_BLOCK;
	     b++) {
		if (bfs_bitmap_test(fs, b))
			return -EUCLEAN;
	}
	if (used != fs->st.used_blocks)
		return -EUCLEAN;
	a->free = n - used;
	a->hint = fs->sb.data_start;
	return 0;
}

void bfs_alloc_fini(struct bfs *fs)
{
	free(fs->alloc.inuse);
	free(fs->alloc.pend.a);
	free(fs->alloc.in_tx.a);
	free(fs->alloc.done.a);
	free(fs->alloc.held.a);
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

int bfs_alloc_reserve(struct bfs *fs, uint64_t near, uint32_t want,
		      uint64_t *start, uint32_t *got)
{
	struct bfs_alloc *a = &fs->alloc;
	uint64_t n = fs->sb.nblocks, from, b;
	uint32_t k = 0;

	if (!a->free || !want)
		return -ENOSPC;
	from = near >= fs->sb.data_start && near < n ? near : a->hint;
	b = find_clear(a->inuse, from, n);
	if (b == n)
		b = find_clear(a->inuse, fs->sb.data_start, n);
	if (b == n)
		return -ENOSPC;
	while (k < want && b + k < n && !bit_get(a->inuse, b + k)) {
		bit_put(a->inuse, b + k, true);
		k++;
	}
	a->free -= k;
	a->hint = b + k;
	*start = b;
	*got = k;
	return 0;
}

void bfs_alloc_unreserve(struct bfs *fs, uint64_t start, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		bit_put(fs->alloc.inuse, start + i, false);
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
	vec_move(&fs->alloc.in_tx, &fs->alloc.pend);
}

void bfs_alloc_tx_end(struct bfs *fs)
{
	vec_move(&fs->alloc.done, &fs->alloc.in_tx);
}

void bfs_alloc_ckpt_begin(struct bfs *fs)
{
	vec_move(&fs->alloc.held, &fs->alloc.done);
}

void bfs_alloc_ckpt_end(struct bfs *fs)
{
	struct bfs_vec *h = &fs->alloc.held;

	for (size_t i = 0; i < h->n; i += 2)
		bfs_alloc_unreserve(fs, h->a[i], (uint32_t)h->a[i + 1]);
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
	       vec_sum(&a->held);
}
