// SPDX-License-Identifier: MIT
/*
 * blob.c - blob objects on the md thread: the table of loaded blobs,
 * loading one from its md pages, references, and the per-blob queue that
 * runs one metadata operation at a time.
 *
 * A blob is loaded when first opened (or needed as a parent, or deleted)
 * and stays while anything holds it: open handles, loaded children, running
 * operations.  The last put unhashes it and frees it after a grace period,
 * since data I/O may still be reading its map.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blob_internal.h"

/* --- table ---------------------------------------------------------------- */

static size_t tab_hash(const struct blob_table *t, uint64_t id)
{
	return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 32) & (t->nbuckets - 1);
}

struct blob *blob_lookup(struct blob_store *bs, uint64_t id)
{
	struct blob *b = bs->table.buckets[tab_hash(&bs->table, id)];

	while (b && b->id != id)
		b = b->hnext;
	return b;
}

static void tab_grow(struct blob_table *t)
{
	size_t n = t->nbuckets * 2;
	struct blob **nb = calloc(n, sizeof(*nb));
	struct blob_table nt = { .buckets = nb, .nbuckets = n, .n = t->n };

	if (!nb)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < t->nbuckets; i++) {
		while (t->buckets[i]) {
			struct blob *b = t->buckets[i];
			size_t h = tab_hash(&nt, b->id);

			t->buckets[i] = b->hnext;
			b->hnext = nb[h];
			nb[h] = b;
		}
	}
	free(t->buckets);
	*t = nt;
}

void blob_table_insert(struct blob_store *bs, struct blob *b)
{
	struct blob_table *t = &bs->table;
	size_t h;

	if (t->n >= t->nbuckets * 2)
		tab_grow(t);
	h = tab_hash(t, b->id);
	b->hnext = t->buckets[h];
	t->buckets[h] = b;
	t->n++;
}

void blob_table_remove(struct blob_store *bs, struct blob *b)
{
	struct blob **pp = &bs->table.buckets[tab_hash(&bs->table, b->id)];

	while (*pp && *pp != b)
		pp = &(*pp)->hnext;
	if (*pp) {
		*pp = b->hnext;
		bs->table.n--;
	}
	b->hnext = NULL;
}

/* --- objects -------------------------------------------------------------- */

void blob_pub_update(struct blob *b)
{
	const struct blob_map *m = atomic_load(&b->map);

	atomic_store(&b->pub_clusters, m ? m->clusters : 0);
	atomic_store(&b->pub_flags, b->flags);
	atomic_store(&b->pub_parent, b->parent_id);
}

static void obj_retire_run(struct blob_retire *r)
{
	blob_obj_free(blob_container_of(r, struct blob, retire));
}

struct blob *blob_obj_new(struct blob_store *bs, uint64_t id)
{
	struct blob *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->bs = bs;
	b->id = id;
	b->state = BLOB_LOADING;
	b->retire.fn = obj_retire_run;
	return b;
}

void blob_obj_free(struct blob *b)
{
	while (b->xattrs) {
		struct blob_xattr *next = b->xattrs->next;

		free(b->xattrs);
		b->xattrs = next;
	}
	for (uint32_t k = 0; k < b->n_ep; k++)
		free(b->ep[k].old);
	for (uint32_t k = 0; k < b->n_dropped; k++)
		free(b->dropped[k].old);
	for (uint32_t i = 0; i < b->chain_len; i++)
		free(b->chain_img[i]);
	free(b->ep);
	free(b->dropped);
	free(b->chain);
	free(b->chain_img);
	free(atomic_load(&b->map));
	free(b);
}

void blob_hold(struct blob *b)
{
	b->holds++;
}

void blob_put(struct blob *b)
{
	struct blob *parent = b->parent;

	if (--b->holds > 0)
		return;
	if (b->state != BLOB_GONE || blob_lookup(b->bs, b->id) == b)
		blob_table_remove(b->bs, b);
	b->state = BLOB_GONE;
	b->parent = NULL;
	blob_retire(b->bs, &b->retire);
	if (parent)
		blob_put(parent);
}

/* --- the operation queue -------------------------------------------------- */

static void op_run_msg(void *arg)
{
	struct blob *b = arg;
	struct blob_op *op = b->op_head;

	b->op_msg_pending = false;
	if (b->op_running || !op)
		return;
	b->op_head = op->next;
	if (!b->op_head)
		b->op_tail = NULL;
	b->op_running = true;
	op->run(op);
}

static void op_schedule(struct blob *b)
{
	if (b->op_msg_pending)
		return;
	b->op_msg_pending = true;
	b->op_msg.fn = op_run_msg;
	b->op_msg.arg = b;
	reactor_msg_send(b->bs->md, &b->op_msg);
}

/* The queued operation holds @b until blob_op_finish(). */
void blob_op_enqueue(struct blob *b, struct blob_op *op)
{
	blob_hold(b);
	op->next = NULL;
	if (b->op_tail)
		b->op_tail->next = op;
	else
		b->op_head = op;
	b->op_tail = op;
	if (!b->op_running)
		op_schedule(b);
}

void blob_op_finish(struct blob *b)
{
	b->op_running = false;
	if (b->op_head)
		op_schedule(b);
	blob_put(b);
}

/* --- loading -------------------------------------------------------------- */

struct load_ctx {
	struct blob *b;
	struct blob_mdio mdio;
	unsigned char *page;
	unsigned char *rec;
	size_t rec_len;
	uint32_t next;   /* chain page to read */
	uint32_t k;      /* extent to read */
	struct blob_map *map;
};

static void load_done(struct load_ctx *l, int err);

static void waiter_run(void *arg)
{
	struct blob_waiter *w = arg;

	if (w->err == 0 && w->out)
		*w->out = w->b;
	/* a failed load drops the hold its waiter took */
	if (w->err < 0 && w->b)
		blob_put(w->b);
	w->cb(w->arg, w->err);
	free(w);
}

static void waiter_fire(struct blob_waiter *w, struct blob *b, int err)
{
	w->b = b;
	w->err = err;
	w->msg.fn = waiter_run;
	w->msg.arg = w;
	reactor_msg_send(b->bs->md, &w->msg);
}

static void load_parent_cpl(void *arg, int err)
{
	struct load_ctx *l = arg;
	struct blob *b = l->b;

	b->waiting_on = NULL;
	if (err == 0 && (!(b->parent->flags & BLOB_REC_READ_ONLY) ||
			 b->parent->depth >= BLOB_PARENT_DEPTH_MAX))
		err = -EUCLEAN;
	if (err == 0)
		b->depth = b->parent->depth + 1;
	if (err == 0)
		l->map->parent = atomic_load(&b->parent->map);
	load_done(l, err == -ENOENT ? -EUCLEAN : err);
}

/* Whether waiting for @p would close a cycle through @b. */
static bool parent_cycle(const struct blob *b, const struct blob *p)
{
	for (uint32_t d = 0; p && d <= BLOB_PARENT_DEPTH_MAX; d++) {
		if (p == b)
			return true;
		if (p->state != BLOB_LOADING)
			return false;
		p = p->waiting_on;
	}
	return p != NULL;
}

static void load_parent(struct load_ctx *l)
{
	struct blob *b = l->b;
	struct blob *p = blob_lookup(b->bs, b->parent_id);

	if (!b->parent_id) {
		load_done(l, 0);
		return;
	}
	if (parent_cycle(b, p)) {
		load_done(l, -EUCLEAN);
		return;
	}
	b->waiting_on = p;
	blob_get(b->bs, b->parent_id, &b->parent, load_parent_cpl, l);
	/* a new parent object is in the table now: let cycles see it */
	if (!p)
		b->waiting_on = blob_lookup(b->bs, b->parent_id);
}

static void load_ep_next(struct load_ctx *l);

static void load_ep_cpl(void *arg, int err)
{
	struct load_ctx *l = arg;
	struct blob *b = l->b;

	if (err == 0)
		err = blob_ep_check(b, l->k, l->page);
	if (err < 0) {
		load_done(l, err);
		return;
	}
	for (uint32_t s = 0; s < BLOB_EP_SLOTS; s++) {
		uint64_t i = (uint64_t)l->k * BLOB_EP_SLOTS + s;

		if (i < b->size)
			blob_map_set(l->map, i, blob_ep_slot_get(l->page, s));
	}
	l->k++;
	load_ep_next(l);
}

static void load_ep_next(struct load_ctx *l)
{
	struct blob *b = l->b;

	while (l->k < b->n_ep && b->ep[l->k].page == BLOB_PAGE_NONE) {
		/* a thick blob has every extent page */
		if (!(b->flags & BLOB_REC_THIN)) {
			load_done(l, -EUCLEAN);
			return;
		}
		l->k++;
	}
	if (l->k >= b->n_ep) {
		load_parent(l);
		return;
	}
	blob_md_page_read(b->bs, &l->mdio, b->ep[l->k].page, l->page,
			  load_ep_cpl, l);
}

static void load_record(struct load_ctx *l)
{
	struct blob *b = l->b;
	int rc = blob_record_parse(b, l->rec, l->rec_len);

	if (rc == 0) {
		l->map = blob_map_new(b->size, b->flags & BLOB_REC_KNOWN, NULL);
		rc = l->map ? 0 : -ENOMEM;
	}
	if (rc < 0) {
		load_done(l, rc);
		return;
	}
	l->k = 0;
	load_ep_next(l);
}

/* Append chain page @l->page (number @idx of the chain) to the record. */
static int load_chain_take(struct load_ctx *l, const struct blob_md_hdr *h)
{
	struct blob *b = l->b;
	uint32_t idx = b->chain_len;
	void *copy = blob_page_alloc(BLOB_PAGE_SIZE);
	unsigned char *rec = realloc(l->rec,
				     (idx + 1) * (size_t)BLOB_MD_PAYLOAD);
	int rc;

	if (rec)
		l->rec = rec;
	rc = blob_array_reserve(&b->chain, &b->chain_cap, idx + 1,
				sizeof(*b->chain));
	if (rc == 0)
		rc = blob_array_reserve(&b->chain_img, &b->chain_img_cap,
					idx + 1, sizeof(*b->chain_img));
	if (!copy || !rec || rc < 0) {
		free(copy);
		return -ENOMEM;
	}
	memcpy(copy, l->page, BLOB_PAGE_SIZE);
	memcpy(l->rec + l->rec_len, l->page + BLOB_MD_HDR_SIZE, h->used);
	l->rec_len += h->used;
	b->chain[idx] = l->next;
	b->chain_img[idx] = copy;
	b->chain_len++;
	return 0;
}

static void load_chain_cpl(void *arg, int err)
{
	struct load_ctx *l = arg;
	struct blob *b = l->b;
	uint32_t idx = b->chain_len;
	struct blob_md_hdr h;

	if (err == 0 && blob_md_hdr_decode(l->page, &h) < 0)
		err = -EUCLEAN;
	if (err == 0 && idx == 0 && h.type != BLOB_MD_ROOT)
		err = -EUCLEAN;
	/* the root page may have been reused by a newer blob: stale id */
	if (err == 0 && idx == 0 && h.blob_id != b->id)
		err = -ENOENT;
	if (err == 0 && idx > 0 &&
	    (h.type != BLOB_MD_CONT || h.blob_id != b->id || h.index != idx))
		err = -EUCLEAN;
	if (err == 0 && h.next != BLOB_PAGE_NONE &&
	    (h.used != BLOB_MD_PAYLOAD || idx + 1 >= BLOB_CHAIN_MAX ||
	     h.next >= b->bs->super.md_pages ||
	     !blob_bitmap_test(&b->bs->alloc.md_committed, h.next)))
		err = -EUCLEAN;
	if (err == 0)
		err = load_chain_take(l, &h);
	if (err < 0) {
		load_done(l, err);
		return;
	}
	if (h.next == BLOB_PAGE_NONE) {
		load_record(l);
		return;
	}
	l->next = h.next;
	blob_md_page_read(b->bs, &l->mdio, l->next, l->page, load_chain_cpl, l);
}

/* Publish the loaded blob (or drop it on @err) and wake its waiters. */
static void load_finish(struct blob *b, int err, struct blob_map *map)
{
	struct blob_waiter *w = b->waiters;

	b->waiters = NULL;
	if (err == 0) {
		blob_map_publish(b, map, NULL, 0);
		b->state = BLOB_READY;
	} else {
		free(map);
		b->state = BLOB_GONE;
		blob_table_remove(b->bs, b);
	}
	while (w) {
		struct blob_waiter *next = w->next;

		waiter_fire(w, b, err);
		w = next;
	}
}

static void load_done(struct load_ctx *l, int err)
{
	struct blob *b = l->b;
	struct blob_map *map = l->map;

	free(l->page);
	free(l->rec);
	free(l);
	load_finish(b, err, map);
}

static void load_start(struct blob *b)
{
	struct load_ctx *l = calloc(1, sizeof(*l));

	if (l)
		l->page = blob_page_alloc(BLOB_PAGE_SIZE);
	if (!l || !l->page) {
		free(l);
		load_finish(b, -ENOMEM, NULL);
		return;
	}
	l->b = b;
	l->next = blob_id_page(b->id);
	blob_md_page_read(b->bs, &l->mdio, l->next, l->page, load_chain_cpl, l);
}

/* --- getting a loaded blob ------------------------------------------------ */

static bool id_plausible(const struct blob_store *bs, uint64_t id)
{
	return blob_id_gen(id) != 0 && blob_id_page(id) < bs->super.md_pages;
}

/* A new object for @id, loading, with @w waiting: false when out of memory. */
static bool get_load(struct blob_store *bs, uint64_t id,
		     struct blob_waiter *w)
{
	struct blob *b = blob_obj_new(bs, id);

	if (!b)
		return false;
	blob_table_insert(bs, b);
	blob_hold(b);
	w->next = b->waiters;
	b->waiters = w;
	load_start(b);
	return true;
}

void blob_get(struct blob_store *bs, uint64_t id, struct blob **out,
	      blob_cb cb, void *arg)
{
	struct blob_waiter *w = calloc(1, sizeof(*w));
	struct blob *b = id_plausible(bs, id) ? blob_lookup(bs, id) : NULL;

	if (!w) {
		blob_defer(bs, cb, arg, -ENOMEM);
		return;
	}
	*w = (struct blob_waiter){ .cb = cb, .arg = arg, .out = out };
	if (b && !b->deleting && b->state == BLOB_READY) {
		blob_hold(b);
		waiter_fire(w, b, 0);
	} else if (b && !b->deleting && b->state == BLOB_LOADING) {
		blob_hold(b);
		w->next = b->waiters;
		b->waiters = w;
	} else if (!b && id_plausible(bs, id) &&
		   blob_bitmap_test(&bs->alloc.roots, blob_id_page(id))) {
		if (!get_load(bs, id, w)) {
			free(w);
			blob_defer(bs, cb, arg, -ENOMEM);
		}
	} else {
		/* no such blob, or one being deleted */
		w->msg.fn = waiter_run;
		w->msg.arg = w;
		w->err = -ENOENT;
		reactor_msg_send(bs->md, &w->msg);
	}
}
