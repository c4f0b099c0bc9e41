// SPDX-License-Identifier: MIT
/*
 * handle_table.c - peer-visible ids for host objects.
 *
 * Id encoding (64 bits):
 *
 *   63            32 31             0
 *   +---------------+---------------+
 *   |  generation   | slot index + 2|
 *   +---------------+---------------+
 *
 * The +2 keeps ids away from 0 (invalid) and 1 (the FUSE root).
 *
 * Slot state word (one _Atomic uint64_t per slot):
 *
 *   63            32  31  30            0
 *   +---------------+----+---------------+
 *   |  generation   |LIVE|   refcount    |
 *   +---------------+----+---------------+
 *
 * Generation and reference count share one word so that a lookup checks
 * "still this object?" and takes its reference in a single CAS: a slot can
 * never be freed and reused between the check and the increment.
 *
 * Life of a slot: insert sets LIVE under the current generation; get/put move
 * the count with CAS while LIVE and the generation match; remove clears LIVE,
 * so no new lookup succeeds.  Whoever brings the count to 0 on a non-LIVE
 * slot (remove itself, or the last put) frees the slot: the word becomes
 * (generation + 1) << 32 and the index goes to the back of a FIFO free list.
 * The bump makes every id of the old object stale; FIFO reuse spreads the
 * bumps over all free slots, so a generation wraps (after 2^32 reuses of one
 * slot) as late as possible.
 *
 * Slots live in fixed-size chunks reached through an array of chunk pointers
 * sized for max_handles at creation.  Chunks are never moved or freed before
 * destroy and their pointers are published with release stores, so a lookup
 * racing with growth sees either no chunk (a miss) or a zeroed one.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "vhostfs/handle_table.h"
#include "vhostfs/log.h"

#define HT_CHUNK_SHIFT 12
#define HT_CHUNK_SLOTS (1u << HT_CHUNK_SHIFT)
#define HT_DEFAULT_MAX (1u << 24)
#define HT_LIMIT_MAX   (1u << 31)
#define HT_ID_BIAS     2u

#define HT_LIVE        (1ull << 31)
#define HT_REF_MASK    (HT_LIVE - 1)
#define HT_NO_SLOT     UINT32_MAX

struct ht_slot {
	_Atomic uint64_t state;
	void *obj;            /* valid while LIVE or referenced */
	uint32_t free_next;   /* free-list link, under the mutex */
};

struct handle_table {
	_Atomic(struct ht_slot *) *chunks;
	uint32_t max;
	uint32_t used;         /* slots ever handed out (high-water mark) */
	uint32_t free_head, free_tail;
	_Atomic uint32_t count;
	pthread_mutex_t lock;
	handle_release_fn release;
	void *ctx;
};

static uint32_t ht_word_gen(uint64_t w)
{
	return (uint32_t)(w >> 32);
}

static uint64_t ht_word_refs(uint64_t w)
{
	return w & HT_REF_MASK;
}

static uint64_t ht_id_make(uint32_t gen, uint32_t idx)
{
	return (uint64_t)gen << 32 | (idx + HT_ID_BIAS);
}

/* The slot @id names, or NULL when its index was never handed out. */
static struct ht_slot *ht_slot_of(struct handle_table *t, uint64_t id)
{
	uint32_t low = (uint32_t)id;
	uint32_t idx = low - HT_ID_BIAS;
	struct ht_slot *chunk;

	if (low < HT_ID_BIAS || idx >= t->max)
		return NULL;
	chunk = atomic_load_explicit(&t->chunks[idx >> HT_CHUNK_SHIFT],
				     memory_order_acquire);
	return chunk ? &chunk[idx & (HT_CHUNK_SLOTS - 1)] : NULL;
}

static struct ht_slot *ht_slot_at(struct handle_table *t, uint32_t idx)
{
	struct ht_slot *chunk = atomic_load_explicit(
		&t->chunks[idx >> HT_CHUNK_SHIFT], memory_order_relaxed);

	return &chunk[idx & (HT_CHUNK_SLOTS - 1)];
}

int handle_table_create(struct handle_table **out, uint32_t max_handles,
			handle_release_fn release, void *ctx)
{
	struct handle_table *t;
	uint32_t nchunks;

	if (max_handles == 0)
		max_handles = HT_DEFAULT_MAX;
	if (max_handles > HT_LIMIT_MAX)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	nchunks = (max_handles + HT_CHUNK_SLOTS - 1) >> HT_CHUNK_SHIFT;
	t->chunks = calloc(nchunks, sizeof(*t->chunks));
	if (!t->chunks) {
		free(t);
		return -ENOMEM;
	}
	t->max = max_handles;
	t->free_head = t->free_tail = HT_NO_SLOT;
	atomic_init(&t->count, 0);
	pthread_mutex_init(&t->lock, NULL);
	t->release = release;
	t->ctx = ctx;
	*out = t;
	return 0;
}

/* Release what is left: live objects and removed ones still referenced. */
void handle_table_destroy(struct handle_table *t)
{
	if (!t)
		return;
	for (uint32_t idx = 0; idx < t->used; idx++) {
		struct ht_slot *s = ht_slot_at(t, idx);
		uint64_t w = atomic_load_explicit(&s->state,
						  memory_order_acquire);

		if (((w & HT_LIVE) || ht_word_refs(w)) && t->release)
			t->release(t->ctx, s->obj);
	}
	for (uint32_t c = 0; c < (t->used + HT_CHUNK_SLOTS - 1) >> HT_CHUNK_SHIFT;
	     c++)
		free(atomic_load_explicit(&t->chunks[c], memory_order_relaxed));
	pthread_mutex_destroy(&t->lock);
	free(t->chunks);
	free(t);
}

/* Under the lock: retire a slot with no references and no LIVE bit. */
static void ht_slot_free_locked(struct handle_table *t, uint32_t idx,
				uint32_t gen)
{
	struct ht_slot *s = ht_slot_at(t, idx);

	s->obj = NULL;
	atomic_store_explicit(&s->state, (uint64_t)(gen + 1) << 32,
			      memory_order_release);
	s->free_next = HT_NO_SLOT;
	if (t->free_tail == HT_NO_SLOT)
		t->free_head = idx;
	else
		ht_slot_at(t, t->free_tail)->free_next = idx;
	t->free_tail = idx;
}

/* Under the lock: a fresh index, growing into a new chunk if needed. */
static int ht_slot_new_locked(struct handle_table *t, uint32_t *idx)
{
	uint32_t c = t->used >> HT_CHUNK_SHIFT;
	struct ht_slot *chunk;

	if (t->used >= t->max)
		return -ENFILE;
	if ((t->used & (HT_CHUNK_SLOTS - 1)) == 0) {
		chunk = calloc(HT_CHUNK_SLOTS, sizeof(*chunk));
		if (!chunk)
			return -ENOMEM;
		/* zeroed slots (not LIVE) become visible before any id does */
		atomic_store_explicit(&t->chunks[c], chunk,
				      memory_order_release);
	}
	*idx = t->used++;
	return 0;
}

static int ht_slot_alloc_locked(struct handle_table *t, uint32_t *idx)
{
	if (t->free_head == HT_NO_SLOT)
		return ht_slot_new_locked(t, idx);
	*idx = t->free_head;
	t->free_head = ht_slot_at(t, *idx)->free_next;
	if (t->free_head == HT_NO_SLOT)
		t->free_tail = HT_NO_SLOT;
	return 0;
}

int handle_table_insert(struct handle_table *t, void *obj, uint64_t *id)
{
	struct ht_slot *s;
	uint32_t idx;
	uint64_t w;
	int ret;

	pthread_mutex_lock(&t->lock);
	ret = ht_slot_alloc_locked(t, &idx);
	if (ret == 0) {
		s = ht_slot_at(t, idx);
		s->obj = obj;
		w = atomic_load_explicit(&s->state, memory_order_relaxed);
		/* release: a lookup that sees LIVE also sees obj */
		atomic_store_explicit(&s->state, w | HT_LIVE,
				      memory_order_release);
		atomic_fetch_add_explicit(&t->count, 1, memory_order_relaxed);
		*id = ht_id_make(ht_word_gen(w), idx);
	}
	pthread_mutex_unlock(&t->lock);
	return ret;
}

void *handle_table_get(struct handle_table *t, uint64_t id)
{
	struct ht_slot *s = ht_slot_of(t, id);
	uint32_t gen = (uint32_t)(id >> 32);
	uint64_t w;

	if (!s)
		return NULL;
	w = atomic_load_explicit(&s->state, memory_order_relaxed);
	do {
		if (!(w & HT_LIVE) || ht_word_gen(w) != gen ||
		    ht_word_refs(w) == HT_REF_MASK)
			return NULL;
	} while (!atomic_compare_exchange_weak_explicit(
		&s->state, &w, w + 1, memory_order_acquire,
		memory_order_relaxed));
	return s->obj;
}

/* The last reference to a removed object is gone: free slot, release. */
static void ht_slot_retire(struct handle_table *t, struct ht_slot *s,
			   uint64_t id)
{
	void *obj = s->obj;

	pthread_mutex_lock(&t->lock);
	ht_slot_free_locked(t, (uint32_t)id - HT_ID_BIAS, (uint32_t)(id >> 32));
	pthread_mutex_unlock(&t->lock);
	if (t->release)
		t->release(t->ctx, obj);
}

void handle_table_put(struct handle_table *t, uint64_t id)
{
	struct ht_slot *s = ht_slot_of(t, id);
	uint32_t gen = (uint32_t)(id >> 32);
	uint64_t w;

	if (!s)
		goto bad;
	w = atomic_load_explicit(&s->state, memory_order_relaxed);
	do {
		if (ht_word_gen(w) != gen || ht_word_refs(w) == 0)
			goto bad;
	} while (!atomic_compare_exchange_weak_explicit(
		&s->state, &w, w - 1, memory_order_acq_rel,
		memory_order_relaxed));
	/* LIVE never comes back for this generation: we are the last one */
	if (ht_word_refs(w) == 1 && !(w & HT_LIVE))
		ht_slot_retire(t, s, id);
	return;
bad:
	log_error("handle_table: put of unreferenced id %#llx",
		  (unsigned long long)id);
}

/*
 * Under the lock: clear LIVE on @id's slot, or fail with -EBUSY when it is
 * referenced and @fail_busy is set.  Its object goes to *@obj.  With no
 * references left the slot is freed at once; otherwise the last put frees
 * it.  *@was gets the old state word.
 */
static int ht_unlink_locked(struct handle_table *t, uint64_t id,
			    bool fail_busy, void **obj, uint64_t *was)
{
	struct ht_slot *s = ht_slot_of(t, id);
	uint32_t gen = (uint32_t)(id >> 32);
	uint64_t w, nw;

	if (!s)
		return -ENOENT;
	/* obj only changes under the lock, and we hold it */
	*obj = s->obj;
	w = atomic_load_explicit(&s->state, memory_order_acquire);
	do {
		if (!(w & HT_LIVE) || ht_word_gen(w) != gen)
			return -ENOENT;
		if (ht_word_refs(w) && fail_busy)
			return -EBUSY;
		nw = w & ~HT_LIVE;
	} while (!atomic_compare_exchange_weak_explicit(
		&s->state, &w, nw, memory_order_acq_rel,
		memory_order_acquire));
	atomic_fetch_sub_explicit(&t->count, 1, memory_order_relaxed);
	*was = w;
	if (ht_word_refs(w) == 0)
		ht_slot_free_locked(t, (uint32_t)id - HT_ID_BIAS, gen);
	return 0;
}

int handle_table_remove(struct handle_table *t, uint64_t id)
{
	void *obj = NULL;
	uint64_t was;
	int ret;

	pthread_mutex_lock(&t->lock);
	ret = ht_unlink_locked(t, id, false, &obj, &was);
	pthread_mutex_unlock(&t->lock);
	/* outside the lock: release may call back into the table */
	if (ret == 0 && ht_word_refs(was) == 0 && t->release)
		t->release(t->ctx, obj);
	return ret;
}

int handle_table_take(struct handle_table *t, uint64_t id, void **obj)
{
	void *taken = NULL;
	uint64_t was;
	int ret;

	pthread_mutex_lock(&t->lock);
	ret = ht_unlink_locked(t, id, true, &taken, &was);
	pthread_mutex_unlock(&t->lock);
	if (ret == 0)
		*obj = taken;
	return ret;
}

uint32_t handle_table_count(struct handle_table *t)
{
	return atomic_load_explicit(&t->count, memory_order_relaxed);
}
