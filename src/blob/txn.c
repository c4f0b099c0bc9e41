// SPDX-License-Identifier: MIT
/*
 * txn.c - the contents of journal transactions: encoding a change's
 * cluster ownership changes as records (runs or bitmap pages, FORMAT.md
 * "Journal"), and applying records to the committed allocation state.
 * Applying is the same code at commit time and at replay, so what a load
 * reconstructs is by construction what the running store had.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blob_internal.h"

/* --- encoding ------------------------------------------------------------- */

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Runs in the sorted @v[0..n) (all in one bitmap page). */
static uint32_t runs_in(const uint32_t *v, uint32_t n)
{
	uint32_t runs = n ? 1 : 0;

	for (uint32_t i = 1; i < n; i++)
		runs += v[i] != v[i - 1] + 1;
	return runs;
}

static int encode_runs(struct blob_change *c, uint32_t type,
		       const uint32_t *v, uint32_t n)
{
	int rc = 0;

	for (uint32_t i = 0; i < n && rc == 0;) {
		uint32_t j = i + 1;

		while (j < n && v[j] == v[j - 1] + 1)
			j++;
		rc = blob_change_rec(c, type, 0,
				     (uint64_t)v[i] | (uint64_t)(j - i) << 32);
		i = j;
	}
	return rc;
}

static int encode_bits(struct blob_change *c, uint32_t type, uint32_t chunk,
		       const uint32_t *v, uint32_t n)
{
	unsigned char *page = blob_page_alloc(BLOB_PAGE_SIZE);

	if (!page)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t bit = v[i] % BLOB_BITS_PER_PAGE;

		page[bit / 8] |= (unsigned char)(1u << (bit % 8));
	}
	return blob_change_payload(c, type, chunk, 0, page);
}

/* Encode the sorted clusters @v as @run_type/@bits_type records. */
static int encode_set(struct blob_change *c, uint32_t *v, uint32_t n,
		      uint32_t run_type, uint32_t bits_type)
{
	int rc = 0;

	if (n > 1)
		qsort(v, n, sizeof(*v), u32_cmp);
	for (uint32_t i = 0; i < n && rc == 0;) {
		uint32_t chunk = v[i] / BLOB_BITS_PER_PAGE, j = i;

		while (j < n && v[j] / BLOB_BITS_PER_PAGE == chunk)
			j++;
		if (runs_in(v + i, j - i) <= BLOB_CL_RUNS_MAX)
			rc = encode_runs(c, run_type, v + i, j - i);
		else
			rc = encode_bits(c, bits_type, chunk, v + i, j - i);
		i = j;
	}
	return rc;
}

int blob_change_seal(struct blob_change *c)
{
	int rc = encode_set(c, c->cl_free, c->ncl_free, BLOB_REC_CL_FREE_RUN,
			    BLOB_REC_CL_FREE_BITS);

	if (rc == 0)
		rc = encode_set(c, c->cl_alloc, c->ncl_alloc,
				BLOB_REC_CL_ALLOC_RUN, BLOB_REC_CL_ALLOC_BITS);
	return rc;
}

uint32_t blob_delta_pages(uint64_t clusters, const struct blob_store *bs)
{
	uint64_t runs = clusters * BLOB_TXN_REC_SIZE / BLOB_PAGE_SIZE + 1;
	uint64_t bits = 2ull * blob_layout_cluster_bitmap_pages(&bs->super) + 1;

	return (uint32_t)(runs < bits ? runs : bits);
}

/* --- applying ------------------------------------------------------------- */

struct apply {
	struct blob_store *bs;
	const struct blob_rec *recs;
	uint32_t nrec;
	void **pay;          /* payload of record i, or NULL */
	bool replay;         /* copy PAGE payloads (else take them) */
};

static int cl_change(struct blob_store *bs, uint64_t c, bool alloc)
{
	struct blob_alloc *a = &bs->alloc;

	if (c < bs->super.data_start || c >= a->cluster_count ||
	    blob_bitmap_test(&a->cl_committed, c) == alloc)
		return -EUCLEAN;
	if (alloc)
		blob_bitmap_set(&a->cl_committed, c);
	else
		blob_bitmap_clear(&a->cl_committed, c);
	return 0;
}

static int cl_run(struct blob_store *bs, uint64_t b, bool alloc)
{
	uint64_t first = b & 0xFFFFFFFFu, n = b >> 32;
	int rc = n ? 0 : -EUCLEAN;

	for (uint64_t i = 0; i < n && rc == 0; i++)
		rc = cl_change(bs, first + i, alloc);
	return rc;
}

static int cl_bits(struct blob_store *bs, uint32_t chunk,
		   const unsigned char *page, bool alloc)
{
	uint64_t base = (uint64_t)chunk * BLOB_BITS_PER_PAGE;
	int rc = 0;

	for (uint32_t i = 0; i < BLOB_BITS_PER_PAGE && rc == 0; i++) {
		if (page[i / 8] >> (i % 8) & 1)
			rc = cl_change(bs, base + i, alloc);
	}
	return rc;
}

static int md_bit(struct blob_store *bs, struct blob_bitmap *m, uint32_t p,
		  bool set)
{
	if (p >= bs->super.md_pages || blob_bitmap_test(m, p) == set)
		return -EUCLEAN;
	if (set)
		blob_bitmap_set(m, p);
	else
		blob_bitmap_clear(m, p);
	return 0;
}

static int apply_page(struct apply *x, uint32_t i)
{
	struct blob_store *bs = x->bs;
	const struct blob_rec *r = &x->recs[i];
	struct blob_md_hdr h;
	void *img = x->pay[i];
	int rc;

	if (!blob_bitmap_test(&bs->alloc.md_committed, r->a) ||
	    blob_md_hdr_decode(img, &h) < 0)
		return -EUCLEAN;
	if (x->replay) {
		img = blob_page_alloc(BLOB_PAGE_SIZE);
		if (!img)
			return -ENOMEM;
		memcpy(img, x->pay[i], BLOB_PAGE_SIZE);
	}
	rc = blob_overlay_put(&bs->ov, r->a, img);
	if (rc < 0 && x->replay)
		free(img);
	if (rc == 0 && !x->replay)
		x->pay[i] = NULL;
	return rc;
}

static int apply_root_set(struct apply *x, const struct blob_rec *r)
{
	struct blob_alloc *a = &x->bs->alloc;
	const void *img = blob_overlay_get(&x->bs->ov, r->a);
	struct blob_md_hdr h;

	if (!img || r->a >= x->bs->super.md_pages ||
	    blob_bitmap_test(&a->roots, r->a) ||
	    !blob_bitmap_test(&a->md_committed, r->a) ||
	    blob_md_hdr_decode(img, &h) < 0 || h.type != BLOB_MD_ROOT ||
	    h.blob_id != r->b || blob_id_page(r->b) != r->a ||
	    blob_id_gen(r->b) == 0)
		return -EUCLEAN;
	blob_bitmap_set(&a->roots, r->a);
	if (blob_id_gen(r->b) >= a->gen_committed)
		a->gen_committed = blob_id_gen(r->b) + 1;
	return 0;
}

static int apply_one(struct apply *x, uint32_t i)
{
	struct blob_store *bs = x->bs;
	struct blob_alloc *a = &bs->alloc;
	const struct blob_rec *r = &x->recs[i];

	switch (r->type) {
	case BLOB_REC_GROW:
		if (r->b < a->cluster_count ||
		    r->b > bs->super.cluster_capacity)
			return -EUCLEAN;
		a->cluster_count = r->b;
		return 0;
	case BLOB_REC_CL_FREE_RUN:
	case BLOB_REC_CL_ALLOC_RUN:
		return cl_run(bs, r->b, r->type == BLOB_REC_CL_ALLOC_RUN);
	case BLOB_REC_CL_FREE_BITS:
	case BLOB_REC_CL_ALLOC_BITS:
		return cl_bits(bs, r->a, x->pay[i],
			       r->type == BLOB_REC_CL_ALLOC_BITS);
	case BLOB_REC_ROOT_CLEAR:
		return md_bit(bs, &a->roots, r->a, false);
	case BLOB_REC_MD_FREE:
		if (blob_bitmap_test(&a->roots, r->a))
			return -EUCLEAN;
		return md_bit(bs, &a->md_committed, r->a, false);
	case BLOB_REC_MD_ALLOC:
		return md_bit(bs, &a->md_committed, r->a, true);
	case BLOB_REC_PAGE:
		return apply_page(x, i);
	case BLOB_REC_ROOT_SET:
		return apply_root_set(x, r);
	}
	return -EUCLEAN;
}

/* FORMAT.md "Replay" step 3: record types in this order. */
static const uint32_t apply_order[] = {
	BLOB_REC_GROW, BLOB_REC_CL_FREE_RUN, BLOB_REC_CL_FREE_BITS,
	BLOB_REC_ROOT_CLEAR, BLOB_REC_MD_FREE, BLOB_REC_MD_ALLOC,
	BLOB_REC_PAGE, BLOB_REC_ROOT_SET, BLOB_REC_CL_ALLOC_RUN,
	BLOB_REC_CL_ALLOC_BITS,
};

int blob_txn_apply(struct blob_store *bs, const struct blob_rec *recs,
		   uint32_t nrec, void **pay, bool replay)
{
	struct apply x = {
		.bs = bs, .recs = recs, .nrec = nrec, .pay = pay,
		.replay = replay,
	};
	int rc = 0;

	for (size_t o = 0; o < sizeof(apply_order) / sizeof(apply_order[0]);
	     o++) {
		for (uint32_t i = 0; i < nrec && rc == 0; i++) {
			if (recs[i].type == apply_order[o])
				rc = apply_one(&x, i);
		}
	}
	return rc;
}

bool blob_rec_valid(const struct blob_store *bs, const struct blob_rec *r)
{
	switch (r->type) {
	case BLOB_REC_PAGE:
	case BLOB_REC_MD_ALLOC:
	case BLOB_REC_MD_FREE:
	case BLOB_REC_ROOT_SET:
	case BLOB_REC_ROOT_CLEAR:
		return r->a < bs->super.md_pages &&
		       (r->type == BLOB_REC_ROOT_SET || r->b == 0);
	case BLOB_REC_GROW:
		return r->a == 0;
	case BLOB_REC_CL_ALLOC_RUN:
	case BLOB_REC_CL_FREE_RUN:
		return r->a == 0 && (r->b >> 32) != 0;
	case BLOB_REC_CL_ALLOC_BITS:
	case BLOB_REC_CL_FREE_BITS:
		return r->b == 0 &&
		       r->a < blob_layout_cluster_bitmap_pages(&bs->super);
	}
	return false;
}
