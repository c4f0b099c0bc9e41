// SPDX-License-Identifier: MIT
/*
 * alloc.c - bitmaps and the allocation of clusters and md pages.
 *
 * Two views of each resource (blob_internal.h, struct blob_alloc): what the
 * durable metadata says ("committed", written by checkpoints) and what may
 * not be handed out ("used").  Taking sets "used" only; the journal sets
 * "committed" when the transaction naming the resource is durable, and
 * clears it when the one freeing it is, and only then (after a grace period
 * for clusters) does "used" clear: FORMAT.md rule O2.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blob_internal.h"

int blob_bitmap_init(struct blob_bitmap *m, uint64_t nbits)
{
	size_t words = (size_t)((nbits + 63) / 64);

	m->w = calloc(words ? words : 1, sizeof(uint64_t));
	m->nbits = nbits;
	return m->w ? 0 : -ENOMEM;
}

void blob_bitmap_destroy(struct blob_bitmap *m)
{
	free(m->w);
	m->w = NULL;
	m->nbits = 0;
}

/* Word @k of @m inverted or not, with bits below @from masked off. */
static uint64_t bm_word(const struct blob_bitmap *m, uint64_t k, bool inv,
			uint64_t from)
{
	uint64_t w = inv ? ~m->w[k] : m->w[k];

	if (k == from / 64)
		w &= ~0ull << (from % 64);
	return w;
}

static uint64_t bm_find(const struct blob_bitmap *m, uint64_t from,
			uint64_t end, bool inv)
{
	if (end > m->nbits)
		end = m->nbits;
	for (uint64_t k = from / 64; from < end && k * 64 < end; k++) {
		uint64_t w = bm_word(m, k, inv, from);

		if (w) {
			uint64_t i = k * 64 + (uint64_t)__builtin_ctzll(w);

			return i < end ? i : end;
		}
	}
	return end;
}

uint64_t blob_bitmap_find_clear(const struct blob_bitmap *m, uint64_t from,
				uint64_t end)
{
	return bm_find(m, from, end, true);
}

uint64_t blob_bitmap_find_set(const struct blob_bitmap *m, uint64_t from,
			      uint64_t end)
{
	return bm_find(m, from, end, false);
}

uint64_t blob_bitmap_count(const struct blob_bitmap *m)
{
	uint64_t n = 0;

	for (uint64_t k = 0; k < (m->nbits + 63) / 64; k++)
		n += (uint64_t)__builtin_popcountll(m->w[k]);
	return n;
}

void blob_bitmap_store(const struct blob_bitmap *m, unsigned char *out,
		       size_t bytes)
{
	size_t words = (size_t)((m->nbits + 63) / 64);

	memset(out, 0, bytes);
	for (size_t k = 0; k < words && k * 8 < bytes; k++) {
		unsigned char tmp[8];

		blob_le64_put(tmp, m->w[k]);
		memcpy(out + k * 8, tmp,
		       bytes - k * 8 < 8 ? bytes - k * 8 : 8);
	}
}

void blob_bitmap_load(struct blob_bitmap *m, const unsigned char *in)
{
	size_t bytes = (size_t)((m->nbits + 7) / 8);

	for (size_t k = 0; k * 8 < bytes; k++) {
		unsigned char tmp[8] = { 0 };

		memcpy(tmp, in + k * 8, bytes - k * 8 < 8 ? bytes - k * 8 : 8);
		m->w[k] = blob_le64_get(tmp);
	}
	/* bits past nbits inside the last word are not ours */
	if (m->nbits % 64)
		m->w[m->nbits / 64] &= (1ull << (m->nbits % 64)) - 1;
}

bool blob_bits_clear_from(const unsigned char *in, size_t bytes,
			  uint64_t from)
{
	for (uint64_t i = from; i < (uint64_t)bytes * 8; i++) {
		if (i % 8 == 0 && in[i / 8] == 0) {
			i += 7;
			continue;
		}
		if (in[i / 8] >> (i % 8) & 1)
			return false;
	}
	return true;
}

/* --- the allocator -------------------------------------------------------- */

int blob_alloc_init(struct blob_store *bs, uint64_t cluster_count)
{
	struct blob_alloc *a = &bs->alloc;
	uint64_t cap = bs->super.cluster_capacity;
	uint64_t mdp = bs->super.md_pages;
	int rc;

	memset(a, 0, sizeof(*a));
	rc = blob_bitmap_init(&a->cl_used, cap);
	if (rc == 0)
		rc = blob_bitmap_init(&a->cl_committed, cap);
	if (rc == 0)
		rc = blob_bitmap_init(&a->md_used, mdp);
	if (rc == 0)
		rc = blob_bitmap_init(&a->md_committed, mdp);
	if (rc == 0)
		rc = blob_bitmap_init(&a->roots, mdp);
	if (rc < 0) {
		blob_alloc_destroy(a);
		return rc;
	}
	a->cluster_count = cluster_count;
	a->gen_next = a->gen_committed = 1;
	a->cl_hint = bs->super.data_start;
	return 0;
}

void blob_alloc_destroy(struct blob_alloc *a)
{
	blob_bitmap_destroy(&a->cl_used);
	blob_bitmap_destroy(&a->cl_committed);
	blob_bitmap_destroy(&a->md_used);
	blob_bitmap_destroy(&a->md_committed);
	blob_bitmap_destroy(&a->roots);
}

/* Next-fit over [lo, hi) of @m from *@hint, wrapping once. */
static int take_bit(struct blob_bitmap *m, uint64_t lo, uint64_t hi,
		    uint64_t *hint, uint64_t *out)
{
	uint64_t from = *hint >= lo && *hint < hi ? *hint : lo;
	uint64_t i = blob_bitmap_find_clear(m, from, hi);

	if (i >= hi) {
		i = blob_bitmap_find_clear(m, lo, from);
		if (i >= from)
			return -ENOSPC;
	}
	blob_bitmap_set(m, i);
	*hint = i + 1;
	*out = i;
	return 0;
}

int blob_cluster_take(struct blob_store *bs, uint32_t *out)
{
	struct blob_alloc *a = &bs->alloc;
	uint64_t c;
	int rc = take_bit(&a->cl_used, bs->super.data_start, a->cluster_count,
			  &a->cl_hint, &c);

	if (rc < 0)
		return rc;
	a->cl_used_n++;
	*out = (uint32_t)c;
	return 0;
}

uint32_t blob_cluster_take_run(struct blob_store *bs, uint32_t first,
			       uint32_t want)
{
	struct blob_alloc *a = &bs->alloc;
	uint32_t n = 0;

	while (n < want && (uint64_t)first + 1 + n < a->cluster_count &&
	       !blob_bitmap_test(&a->cl_used, (uint64_t)first + 1 + n)) {
		blob_bitmap_set(&a->cl_used, (uint64_t)first + 1 + n);
		n++;
	}
	a->cl_used_n += n;
	a->cl_hint = (uint64_t)first + 1 + n;
	return n;
}

void blob_cluster_give(struct blob_store *bs, uint32_t c)
{
	struct blob_alloc *a = &bs->alloc;

	if (blob_bitmap_test(&a->cl_used, c)) {
		blob_bitmap_clear(&a->cl_used, c);
		a->cl_used_n--;
	}
}

/* --- waiting for freed clusters ------------------------------------------- */

/*
 * Clusters freed by a change come back only once it is durable and a grace
 * period passed (O2); a full store that just deleted something would
 * report -ENOSPC in between.  Allocations wait for them instead.
 */
struct blob_alloc_waiter {
	blob_cb cb;
	void *arg;
	struct blob_alloc_waiter *next;
};

void blob_cluster_wait(struct blob_store *bs, blob_cb cb, void *arg)
{
	struct blob_alloc *a = &bs->alloc;
	struct blob_alloc_waiter *w;

	if (!a->cl_releasing || bs->failed) {
		blob_defer(bs, cb, arg, -ENOSPC);
		return;
	}
	w = malloc(sizeof(*w));
	if (!w) {
		blob_defer(bs, cb, arg, -ENOSPC);
		return;
	}
	w->cb = cb;
	w->arg = arg;
	w->next = a->waiters;
	a->waiters = w;
}

void blob_cluster_releasing(struct blob_store *bs, uint64_t n)
{
	bs->alloc.cl_releasing += n;
}

void blob_cluster_released(struct blob_store *bs, uint64_t n)
{
	struct blob_alloc *a = &bs->alloc;
	struct blob_alloc_waiter *w = a->waiters;

	a->cl_releasing = n < a->cl_releasing ? a->cl_releasing - n : 0;
	a->waiters = NULL;
	while (w) {
		struct blob_alloc_waiter *next = w->next;

		blob_defer(bs, w->cb, w->arg, 0);
		free(w);
		w = next;
	}
}

int blob_md_take(struct blob_store *bs, uint32_t *out)
{
	struct blob_alloc *a = &bs->alloc;
	uint64_t p;
	int rc = take_bit(&a->md_used, 0, bs->super.md_pages, &a->md_hint, &p);

	if (rc < 0)
		return rc;
	a->md_used_n++;
	*out = (uint32_t)p;
	return 0;
}

void blob_md_give(struct blob_store *bs, uint32_t p)
{
	struct blob_alloc *a = &bs->alloc;

	if (blob_bitmap_test(&a->md_used, p)) {
		blob_bitmap_clear(&a->md_used, p);
		a->md_used_n--;
	}
}
