// SPDX-License-Identifier: MIT
/*
 * sync.c - turning a blob's pending changes into a journal change.
 *
 * What a blob has changed since its last commit: extents marked dirty
 * (their committed slots saved in ep[k].old), extents cut off by a shrink
 * (b->dropped), and its record (size, flags, extent table, xattrs).  A
 * commit writes each dirty extent page whole, frees the dropped ones, and
 * rewrites the root chain pages whose bytes changed.  The clusters that
 * change hands are the slot differences (FORMAT.md "Journal"), reported
 * to the allocator with the change.  Building marks the blob committed in
 * memory at once: the next change of this blob is built against this one,
 * and if this one fails the store fails with it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blob_internal.h"

static uint32_t chain_pages_for(size_t rec)
{
	uint32_t n = (uint32_t)((rec + BLOB_MD_PAYLOAD - 1) / BLOB_MD_PAYLOAD);

	return n ? n : 1;
}

/* Upper bounds of a commit's records, images and new md pages. */
static void commit_estimate(const struct blob *b, uint32_t *nrec,
			    uint32_t *nimg, uint32_t *md_new)
{
	uint32_t chain = chain_pages_for(blob_record_size(b));
	uint32_t new_ep = 0;

	for (uint32_t k = 0; k < b->n_ep; k++) {
		if (b->ep[k].old && b->ep[k].page == BLOB_PAGE_NONE)
			new_ep++;
	}
	*nimg = b->n_dirty_ep + chain;
	*md_new = new_ep + (chain > b->chain_len ? chain - b->chain_len : 0);
	*nrec = *nimg + *md_new + b->n_dropped + b->chain_len + 2;
}

uint32_t blob_commit_pages(const struct blob *b)
{
	uint64_t changed = 2ull * (b->n_dirty_ep + b->n_dropped) *
			   BLOB_EP_SLOTS;
	uint32_t nrec, nimg, md_new;

	commit_estimate(b, &nrec, &nimg, &md_new);
	return blob_txn_pages(nrec, nimg) + blob_delta_pages(changed, b->bs);
}

/* -EFBIG or -ENOSPC if a commit of @b cannot be built now. */
static int commit_check(const struct blob *b)
{
	const struct blob_store *bs = b->bs;
	uint32_t nrec, nimg, md_new;

	commit_estimate(b, &nrec, &nimg, &md_new);
	if (blob_commit_pages(b) > bs->j.max_pages)
		return -EFBIG;
	if (bs->super.md_pages - bs->alloc.md_used_n < md_new)
		return -ENOSPC;
	return 0;
}

/* --- pieces --------------------------------------------------------------- */

static int commit_diff(struct blob_change *c, const uint32_t *old,
		       const struct blob *b, uint32_t k)
{
	int rc = 0;

	for (uint32_t s = 0; s < BLOB_EP_SLOTS && rc == 0; s++) {
		uint32_t o = old[s], n = blob_ep_cur(b, k, s);

		if (o == n)
			continue;
		if (n)
			rc = blob_change_cl_alloc(c, n);
		if (o && rc == 0)
			rc = blob_change_cl_free(c, o);
	}
	return rc;
}

static bool ep_empty(const struct blob *b, uint32_t k)
{
	for (uint32_t s = 0; s < BLOB_EP_SLOTS; s++) {
		if (blob_ep_cur(b, k, s))
			return false;
	}
	return true;
}

static int commit_ep(struct blob *b, struct blob_change *c, uint32_t k)
{
	struct blob_ep *e = &b->ep[k];
	void *img;
	int rc = 0;

	if (e->page == BLOB_PAGE_NONE && !ep_empty(b, k)) {
		rc = blob_md_take(b->bs, &e->page);
		if (rc == 0)
			rc = blob_change_rec(c, BLOB_REC_MD_ALLOC, e->page, 0);
		b->rec_dirty = true;
	}
	if (rc == 0 && e->page != BLOB_PAGE_NONE) {
		img = blob_page_alloc(BLOB_PAGE_SIZE);
		if (!img)
			return -ENOMEM;
		blob_ep_image(b, k, img);
		rc = blob_change_img(c, e->page, img);
		if (rc == 0)
			rc = commit_diff(c, e->old, b, k);
	}
	free(e->old);
	e->old = NULL;
	b->n_dirty_ep--;
	return rc;
}

static int commit_dropped(struct blob *b, struct blob_change *c)
{
	int rc = 0;

	for (uint32_t i = 0; i < b->n_dropped; i++) {
		struct blob_ep *d = &b->dropped[i];

		if (rc == 0)
			rc = blob_change_rec(c, BLOB_REC_MD_FREE, d->page, 0);
		for (uint32_t s = 0; s < BLOB_EP_SLOTS && rc == 0; s++) {
			if (d->old[s])
				rc = blob_change_cl_free(c, d->old[s]);
		}
		free(d->old);
	}
	b->n_dropped = 0;
	return rc;
}

/* Chain page @i of record @rec (@len bytes) as an md page image. */
static void chain_image(const struct blob *b, const unsigned char *rec,
			size_t len, uint32_t i, uint32_t n, void *img)
{
	size_t off = (size_t)i * BLOB_MD_PAYLOAD;
	size_t used = len - off < BLOB_MD_PAYLOAD ? len - off : BLOB_MD_PAYLOAD;
	struct blob_md_hdr h = {
		.blob_id = b->id,
		.type = i == 0 ? BLOB_MD_ROOT : BLOB_MD_CONT,
		.index = i,
		.next = i + 1 < n ? b->chain[i + 1] : BLOB_PAGE_NONE,
		.used = (uint32_t)used,
	};

	memset(img, 0, BLOB_PAGE_SIZE);
	blob_md_hdr_encode(&h, img);
	memcpy((unsigned char *)img + BLOB_MD_HDR_SIZE, rec + off, used);
	blob_md_seal(img);
}

/* Give the chain @n pages: take new ones, free the surplus. */
static int chain_resize(struct blob *b, struct blob_change *c, uint32_t n)
{
	int rc = blob_array_reserve(&b->chain, &b->chain_cap, n,
				    sizeof(*b->chain));

	if (rc == 0)
		rc = blob_array_reserve(&b->chain_img, &b->chain_img_cap, n,
					sizeof(*b->chain_img));
	for (uint32_t i = b->chain_len; i < n && rc == 0; i++) {
		b->chain_img[i] = NULL;
		if (i == 0)
			b->chain[0] = blob_id_page(b->id); /* taken at create */
		else
			rc = blob_md_take(b->bs, &b->chain[i]);
		if (rc == 0)
			rc = blob_change_rec(c, BLOB_REC_MD_ALLOC,
					     b->chain[i], 0);
		if (rc == 0)
			b->chain_len = i + 1;
	}
	while (rc == 0 && b->chain_len > n) {
		b->chain_len--;
		free(b->chain_img[b->chain_len]);
		rc = blob_change_rec(c, BLOB_REC_MD_FREE,
				     b->chain[b->chain_len], 0);
	}
	return rc;
}

/* Log chain page @i if its bytes changed, remembering the new ones. */
static int chain_page_commit(struct blob *b, struct blob_change *c,
			     const unsigned char *rec, size_t len, uint32_t i)
{
	void *img = blob_page_alloc(BLOB_PAGE_SIZE);
	void *copy;

	if (!img)
		return -ENOMEM;
	chain_image(b, rec, len, i, b->chain_len, img);
	if (b->chain_img[i] &&
	    memcmp(b->chain_img[i], img, BLOB_PAGE_SIZE) == 0) {
		free(img);
		return 0;
	}
	copy = blob_page_alloc(BLOB_PAGE_SIZE);
	if (!copy) {
		free(img);
		return -ENOMEM;
	}
	memcpy(copy, img, BLOB_PAGE_SIZE);
	free(b->chain_img[i]);
	b->chain_img[i] = copy;
	return blob_change_img(c, b->chain[i], img);
}

static int commit_record(struct blob *b, struct blob_change *c)
{
	size_t len = blob_record_size(b);
	unsigned char *rec;
	int rc;

	if (!b->rec_dirty && !b->is_new)
		return 0;
	rec = malloc(len);
	if (!rec)
		return -ENOMEM;
	blob_record_build(b, rec);
	rc = chain_resize(b, c, chain_pages_for(len));
	for (uint32_t i = 0; i < b->chain_len && rc == 0; i++)
		rc = chain_page_commit(b, c, rec, len, i);
	free(rec);
	if (rc == 0 && b->is_new)
		rc = blob_change_rec(c, BLOB_REC_ROOT_SET, blob_id_page(b->id),
				     b->id);
	b->is_new = false;
	b->rec_dirty = false;
	return rc;
}

int blob_commit_build(struct blob *b, struct blob_change *c)
{
	int rc = commit_check(b);

	for (uint32_t k = 0; k < b->n_ep && rc == 0; k++) {
		if (b->ep[k].old)
			rc = commit_ep(b, c, k);
	}
	if (rc == 0)
		rc = commit_dropped(b, c);
	if (rc == 0)
		rc = commit_record(b, c);
	return rc;
}

/* --- one blob's commit ---------------------------------------------------- */

void blob_commit(struct blob *b, bool flush, blob_cb cb, void *arg)
{
	struct blob_store *bs = b->bs;
	struct blob_change *c;
	int rc = blob_store_writable(bs);

	if (rc == 0)
		rc = commit_check(b);
	if (rc < 0) {
		blob_defer(bs, cb, arg, rc);
		return;
	}
	c = blob_change_new();
	if (!c) {
		blob_defer(bs, cb, arg, -ENOMEM);
		return;
	}
	rc = blob_commit_build(b, c);
	if (rc < 0) {
		/* half of the blob is marked committed: nothing is sure now */
		blob_store_fail(bs, rc);
		blob_change_free(c);
		blob_defer(bs, cb, arg, rc);
		return;
	}
	c->needs_flush = flush;
	c->cb = cb;
	c->arg = arg;
	blob_journal_submit(bs, c);
}
