// SPDX-License-Identifier: MIT
/*
 * fsck.c - checking every invariant of FORMAT.md and repairing.
 *
 * Pass 1 reads every blob named by the root bitmap (walk.c) and claims its
 * md pages and clusters in bitmaps of its own: a page or cluster claimed
 * twice, a cluster out of range or past the blob's end, a thick blob with a
 * hole are problems.  Pass 2 checks the snapshot tree: parents exist, are
 * read-only, never loop; children counts match.  Pass 3 compares the claims
 * with the committed bitmaps.  Repair removes blobs whose structure is
 * broken, zeroes bad slots (a doubly owned cluster stays with its first
 * owner), cuts bad parent links, fixes counts, then rebuilds the bitmaps
 * from the claims and writes all of it with a checkpoint.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blob_internal.h"

struct fsck_blob {
	uint64_t id;
	uint64_t parent;
	uint32_t root;
	uint32_t children;
	uint32_t flags;
	uint32_t counted;
	bool fix_flags, fix_parent, fix_children;
};

struct fsck_fix {
	uint32_t page;
	void *img;
};

struct fsck {
	struct blob_req req;
	uint32_t flags;
	struct blob_check_report *rep;
	FILE *log;
	uint64_t errors;
	struct blob_bitmap cl_claim, md_claim, roots_ok;
	uint64_t page;                /* next root page to look at */
	struct blob_walk w;
	struct fsck_blob *v;
	uint32_t n, cap;
	struct fsck_fix *fix;
	uint32_t nfix, fix_cap, fi;
	uint32_t ri;                  /* record fixes: next blob */
	unsigned char *buf;
	struct blob_mdio mdio;
	struct blob_ckpt_req ck;
};

static void problem(struct fsck *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void problem(struct fsck *f, const char *fmt, ...)
{
	va_list ap;

	f->errors++;
	if (!f->log)
		return;
	va_start(ap, fmt);
	vfprintf(f->log, fmt, ap);
	va_end(ap);
	fputc('\n', f->log);
}

static void fsck_free(struct fsck *f)
{
	blob_walk_release(&f->w);
	blob_bitmap_destroy(&f->cl_claim);
	blob_bitmap_destroy(&f->md_claim);
	blob_bitmap_destroy(&f->roots_ok);
	for (uint32_t i = 0; i < f->nfix; i++)
		free(f->fix[i].img);
	free(f->fix);
	free(f->v);
	free(f->buf);
}

static void fsck_done(struct fsck *f, int err)
{
	struct blob_check_report *rep = f->rep;

	rep->errors = f->errors;
	rep->blobs = f->n;
	rep->md_pages_used = blob_bitmap_count(&f->md_claim);
	rep->clusters_used = blob_bitmap_count(&f->cl_claim);
	if (rep->clusters_used >= f->req.bs->super.data_start)
		rep->clusters_used -= f->req.bs->super.data_start;
	fsck_free(f);
	blob_req_done(&f->req, err);
}

static int add_fix(struct fsck *f, uint32_t page, void *img)
{
	int rc = blob_array_reserve(&f->fix, &f->fix_cap, f->nfix + 1,
				    sizeof(*f->fix));

	if (rc < 0) {
		free(img);
		return rc;
	}
	f->fix[f->nfix++] = (struct fsck_fix){ .page = page, .img = img };
	return 0;
}

/* --- pass 1: one blob ----------------------------------------------------- */

/* Claim the md pages of the blob walked; false if one is claimed already. */
static bool claim_pages(struct fsck *f)
{
	const struct blob_walk *w = &f->w;
	uint32_t *got = calloc(w->chain_len + w->b->n_ep + 1, sizeof(*got));
	uint32_t n = 0;
	bool ok = got != NULL;

	for (uint32_t i = 0; ok && i < w->chain_len + w->b->n_ep; i++) {
		uint32_t p = i < w->chain_len ? w->chain[i]
					      : w->b->ep[i - w->chain_len].page;

		if (p == BLOB_PAGE_NONE)
			continue;
		if (blob_bitmap_test(&f->md_claim, p)) {
			problem(f, "blob %#llx: md page %u is named twice; "
				   "the blob is dropped (--repair removes it)",
				(unsigned long long)w->id, p);
			ok = false;
			break;
		}
		blob_bitmap_set(&f->md_claim, p);
		got[n++] = p;
	}
	while (!ok && n)
		blob_bitmap_clear(&f->md_claim, got[--n]);
	free(got);
	return ok;
}

/* What is wrong with slot value @c at cluster index @i, or NULL. */
static const char *slot_problem(struct fsck *f, uint64_t i, uint32_t c)
{
	const struct blob_store *bs = f->req.bs;

	if (i >= f->w.b->size)
		return "past the end";
	if (c < bs->super.data_start || c >= bs->alloc.cluster_count)
		return "out of range";
	if (blob_bitmap_test(&f->cl_claim, c))
		return "owned twice";
	return NULL;
}

/* Check and claim the slots of extent @k; a fixed image if any was bad. */
static int check_extent(struct fsck *f, uint32_t k, struct fsck_blob *e)
{
	const unsigned char *img = f->w.ep_img[k];
	unsigned char *fixed = NULL;

	for (uint32_t s = 0; s < BLOB_EP_SLOTS; s++) {
		uint64_t i = (uint64_t)k * BLOB_EP_SLOTS + s;
		uint32_t c = blob_ep_slot_get(img, s);
		const char *why = c ? slot_problem(f, i, c) : NULL;

		if (!c && i < f->w.b->size && !(e->flags & BLOB_REC_THIN) &&
		    !e->fix_flags) {
			problem(f, "blob %#llx: thick blob has no cluster %llu",
				(unsigned long long)e->id,
				(unsigned long long)i);
			e->fix_flags = true;
		}
		if (!c)
			continue;
		if (!why) {
			blob_bitmap_set(&f->cl_claim, c);
			continue;
		}
		problem(f, "blob %#llx: cluster %u at %llu %s",
			(unsigned long long)e->id, c, (unsigned long long)i,
			why);
		if (!fixed) {
			fixed = blob_page_alloc(BLOB_PAGE_SIZE);
			if (!fixed)
				return -ENOMEM;
			memcpy(fixed, img, BLOB_PAGE_SIZE);
		}
		blob_ep_slot_put(fixed, s, 0);
		e->fix_flags |= i < f->w.b->size && !(e->flags & BLOB_REC_THIN);
	}
	if (!fixed)
		return 0;
	blob_md_seal(fixed);
	return add_fix(f, f->w.b->ep[k].page, fixed);
}

static int check_blob(struct fsck *f)
{
	const struct blob *b = f->w.b;
	struct fsck_blob e = {
		.id = f->w.id, .parent = b->parent_id, .root = f->w.root,
		.children = b->children, .flags = b->flags,
	};
	int rc = 0;

	if (!claim_pages(f))
		return 0;
	for (uint32_t k = 0; k < b->n_ep && rc == 0; k++) {
		if (f->w.ep_img[k])
			rc = check_extent(f, k, &e);
	}
	if (rc == 0)
		rc = blob_array_reserve(&f->v, &f->cap, f->n + 1,
					sizeof(*f->v));
	if (rc == 0) {
		f->v[f->n++] = e;
		blob_bitmap_set(&f->roots_ok, f->w.root);
	}
	return rc;
}

static void pass1_next(struct fsck *f);

static void pass1_walked(void *arg, int err)
{
	struct fsck *f = arg;

	if (err == 0 && f->w.err)
		problem(f, "blob at root page %llu: %s; the blob is dropped (--repair removes it)",
			(unsigned long long)f->page, f->w.why);
	else if (err == 0)
		err = check_blob(f);
	blob_walk_release(&f->w);
	if (err < 0) {
		fsck_done(f, err);
		return;
	}
	f->page++;
	pass1_next(f);
}

/* --- pass 2: the snapshot tree -------------------------------------------- */

static int fb_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct fsck_blob *)a)->id;
	uint64_t y = ((const struct fsck_blob *)b)->id;

	return x < y ? -1 : x > y;
}

static struct fsck_blob *find(struct fsck *f, uint64_t id)
{
	struct fsck_blob key = { .id = id };

	return f->n ? bsearch(&key, f->v, f->n, sizeof(*f->v), fb_cmp) : NULL;
}

static void check_parents(struct fsck *f)
{
	for (uint32_t i = 0; i < f->n; i++) {
		struct fsck_blob *e = &f->v[i], *p;

		if (!e->parent)
			continue;
		p = find(f, e->parent);
		if (!p || !(p->flags & BLOB_REC_READ_ONLY)) {
			problem(f, "blob %#llx: parent %#llx %s",
				(unsigned long long)e->id,
				(unsigned long long)e->parent,
				p ? "is not a snapshot" : "does not exist");
			e->fix_parent = true;
		}
	}
}

static void check_loops(struct fsck *f)
{
	for (uint32_t i = 0; i < f->n; i++) {
		struct fsck_blob *e = &f->v[i], *cur = e;
		uint32_t steps = 0;

		while (cur && cur->parent && !cur->fix_parent) {
			cur = find(f, cur->parent);
			if (++steps > BLOB_PARENT_DEPTH_MAX || cur == e) {
				problem(f, "blob %#llx: parent chain loops or "
					   "is too deep",
					(unsigned long long)e->id);
				e->fix_parent = true;
				break;
			}
		}
	}
}

static void check_children(struct fsck *f)
{
	for (uint32_t i = 0; i < f->n; i++) {
		struct fsck_blob *p;

		if (f->v[i].parent && !f->v[i].fix_parent) {
			p = find(f, f->v[i].parent);
			if (p)
				p->counted++;
		}
	}
	for (uint32_t i = 0; i < f->n; i++) {
		if (f->v[i].counted != f->v[i].children) {
			problem(f, "blob %#llx: %u children recorded, %u found",
				(unsigned long long)f->v[i].id,
				f->v[i].children, f->v[i].counted);
			f->v[i].fix_children = true;
		}
	}
}

/* --- pass 3: bitmaps against claims --------------------------------------- */

static void compare(struct fsck *f, const struct blob_bitmap *have,
		    const struct blob_bitmap *want, uint64_t end,
		    const char *what)
{
	uint64_t leaked = 0, unmarked = 0;

	for (uint64_t i = 0; i < end; i++) {
		bool h = blob_bitmap_test(have, i);
		bool w = blob_bitmap_test(want, i);

		leaked += h && !w;
		unmarked += w && !h;
	}
	if (leaked)
		problem(f, "%llu %s marked in use but owned by nobody",
			(unsigned long long)leaked, what);
	if (unmarked)
		problem(f, "%llu %s owned but marked free",
			(unsigned long long)unmarked, what);
}

static void pass3(struct fsck *f)
{
	struct blob_store *bs = f->req.bs;
	const struct blob_alloc *a = &bs->alloc;

	for (uint64_t c = 0; c < bs->super.data_start; c++)
		blob_bitmap_set(&f->cl_claim, c);
	compare(f, &a->cl_committed, &f->cl_claim, a->cluster_count,
		"clusters");
	compare(f, &a->md_committed, &f->md_claim, bs->super.md_pages,
		"md pages");
	compare(f, &a->roots, &f->roots_ok, bs->super.md_pages, "root pages");
}

/* --- repair --------------------------------------------------------------- */

static void repair_ckpt_cpl(void *arg, int err)
{
	struct fsck *f = arg;

	if (err == 0)
		f->rep->fixed = f->errors;
	fsck_done(f, err);
}

static void repair_checkpoint(struct fsck *f, blob_cb cb)
{
	f->ck.clean = false;
	f->ck.cb = cb;
	f->ck.arg = f;
	blob_journal_checkpoint(f->req.bs, &f->ck);
}

static void repair_pages(void *arg, int err);

/* Fixed pages go through the overlay; a full one is written home first. */
static void repair_pages(void *arg, int err)
{
	struct fsck *f = arg;
	struct blob_store *bs = f->req.bs;

	if (err < 0) {
		fsck_done(f, err);
		return;
	}
	while (f->fi < f->nfix) {
		struct fsck_fix *x = &f->fix[f->fi];

		if (blob_overlay_put(&bs->ov, x->page, x->img) < 0) {
			repair_checkpoint(f, repair_pages);
			return;
		}
		x->img = NULL;
		f->fi++;
	}
	repair_checkpoint(f, repair_ckpt_cpl);
}

/* The allocation state becomes what the blobs own. */
static void repair_bitmaps(struct fsck *f)
{
	struct blob_store *bs = f->req.bs;
	struct blob_alloc *a = &bs->alloc;
	size_t cw = (size_t)((a->cl_used.nbits + 63) / 64) * 8;
	size_t mw = (size_t)((a->md_used.nbits + 63) / 64) * 8;

	memcpy(a->cl_committed.w, f->cl_claim.w, cw);
	memcpy(a->cl_used.w, f->cl_claim.w, cw);
	memcpy(a->md_committed.w, f->md_claim.w, mw);
	memcpy(a->md_used.w, f->md_claim.w, mw);
	memcpy(a->roots.w, f->roots_ok.w, mw);
	a->cl_used_n = blob_bitmap_count(&a->cl_used);
	a->md_used_n = blob_bitmap_count(&a->md_used);
	blob_stats_update(bs);
}

static void repair_records(struct fsck *f);

/* Patch the record header in root page f->buf for blob v[ri]. */
static void repair_record_cpl(void *arg, int err)
{
	struct fsck *f = arg;
	struct fsck_blob *e = &f->v[f->ri];
	unsigned char *rec = f->buf + BLOB_MD_HDR_SIZE;
	unsigned char *img;

	if (err < 0) {
		fsck_done(f, err);
		return;
	}
	if (e->fix_flags)
		blob_le32_put(rec + 8, blob_le32_get(rec + 8) | BLOB_REC_THIN);
	if (e->fix_children)
		blob_le32_put(rec + 12, e->counted);
	if (e->fix_parent)
		blob_le64_put(rec + 16, 0);
	blob_md_seal(f->buf);
	img = blob_page_alloc(BLOB_PAGE_SIZE);
	err = img ? 0 : -ENOMEM;
	if (img) {
		memcpy(img, f->buf, BLOB_PAGE_SIZE);
		err = add_fix(f, e->root, img);
	}
	if (err < 0) {
		fsck_done(f, err);
		return;
	}
	f->ri++;
	repair_records(f);
}

static void repair_records(struct fsck *f)
{
	while (f->ri < f->n && !f->v[f->ri].fix_flags &&
	       !f->v[f->ri].fix_parent && !f->v[f->ri].fix_children)
		f->ri++;
	if (f->ri < f->n) {
		blob_md_page_read(f->req.bs, &f->mdio, f->v[f->ri].root,
				  f->buf, repair_record_cpl, f);
		return;
	}
	repair_bitmaps(f);
	repair_pages(f, 0);
}

static void pass1_next(struct fsck *f)
{
	struct blob_store *bs = f->req.bs;
	int rc;

	f->page = blob_bitmap_find_set(&bs->alloc.roots, f->page,
				       bs->super.md_pages);
	if (f->page < bs->super.md_pages) {
		blob_walk(bs, (uint32_t)f->page, &f->w, pass1_walked, f);
		return;
	}
	if (f->n > 1)
		qsort(f->v, f->n, sizeof(*f->v), fb_cmp);
	check_parents(f);
	check_loops(f);
	check_children(f);
	pass3(f);
	rc = f->flags & BLOB_CHECK_REPAIR ? blob_store_writable(bs) : 0;
	if (rc < 0 || !(f->flags & BLOB_CHECK_REPAIR) || !f->errors) {
		fsck_done(f, rc);
		return;
	}
	repair_records(f);
}

/* --- entry ---------------------------------------------------------------- */

static void fsck_start(struct blob_req *r)
{
	struct fsck *f = (struct fsck *)r;
	struct blob_store *bs = r->bs;
	int rc = 0;

	/* loaded blobs may hold uncommitted state; the journal must rest */
	if (bs->table.n || bs->reqs > 1 || !blob_journal_idle(bs))
		rc = -EBUSY;
	if (rc == 0)
		rc = blob_bitmap_init(&f->cl_claim, bs->super.cluster_capacity);
	if (rc == 0)
		rc = blob_bitmap_init(&f->md_claim, bs->super.md_pages);
	if (rc == 0)
		rc = blob_bitmap_init(&f->roots_ok, bs->super.md_pages);
	if (rc == 0) {
		f->buf = blob_page_alloc(BLOB_PAGE_SIZE);
		rc = f->buf ? 0 : -ENOMEM;
	}
	if (rc < 0) {
		fsck_free(f);
		blob_req_done(r, rc);
		return;
	}
	pass1_next(f);
}

void blob_store_check(struct blob_store *bs, uint32_t flags,
		      struct blob_check_report *rep, FILE *log, blob_cb cb,
		      void *arg)
{
	struct fsck *f = blob_req_new(bs, sizeof(*f), cb, arg);

	if (!f)
		return;
	memset(rep, 0, sizeof(*rep));
	f->flags = flags;
	f->rep = rep;
	f->log = log;
	blob_req_start(&f->req, fsck_start);
}
