// SPDX-License-Identifier: MIT
/*
 * dump.c - a human-readable listing of a store: super block, allocation
 * state, and every blob with its size, links and xattrs.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blob_internal.h"

#define VALUE_SHOWN 64u

struct dump {
	struct blob_req req;
	FILE *out;
	uint64_t page;
	struct blob_walk w;
};

static void dump_super(struct blob_store *bs, FILE *o)
{
	const struct blob_super *s = &bs->super;
	const struct blob_alloc *a = &bs->alloc;

	fprintf(o, "super: seq %llu, %s, uuid ",
		(unsigned long long)s->seq,
		bs->was_clean ? "clean" : "dirty (journal replayed)");
	for (int i = 0; i < 16; i++)
		fprintf(o, "%02x%s", s->uuid[i],
			i == 3 || i == 5 || i == 7 || i == 9 ? "-" : "");
	fprintf(o, "\ngeometry: io unit %u, cluster %u, md page %u\n",
		s->block_size, s->cluster_size, BLOB_PAGE_SIZE);
	fprintf(o, "regions (pages): journal %llu+%u, checkpoint %llu/%llu+%u "
		   "(current %u), md %llu+%u; data from cluster %llu\n",
		(unsigned long long)s->journal_start, s->journal_pages,
		(unsigned long long)s->ckpt_start[0],
		(unsigned long long)s->ckpt_start[1], s->ckpt_pages,
		s->ckpt_area, (unsigned long long)s->md_start, s->md_pages,
		(unsigned long long)s->data_start);
	fprintf(o, "clusters: %llu of %llu in use (capacity %llu); md pages: "
		   "%llu of %u; blobs: %llu; next generation %u\n",
		(unsigned long long)blob_bitmap_count(&a->cl_committed),
		(unsigned long long)a->cluster_count,
		(unsigned long long)s->cluster_capacity,
		(unsigned long long)blob_bitmap_count(&a->md_committed),
		s->md_pages, (unsigned long long)blob_bitmap_count(&a->roots),
		a->gen_committed);
}

static void dump_value(FILE *o, const unsigned char *v, uint32_t len)
{
	uint32_t n = len < VALUE_SHOWN ? len : VALUE_SHOWN;
	bool text = true;

	for (uint32_t i = 0; i < n; i++)
		text &= isprint(v[i]) != 0;
	if (text) {
		fprintf(o, "\"%.*s\"", (int)n, (const char *)v);
	} else {
		for (uint32_t i = 0; i < n; i++)
			fprintf(o, "%02x", v[i]);
	}
	if (n < len)
		fprintf(o, "...");
}

static void dump_blob(struct dump *d)
{
	const struct blob_walk *w = &d->w;
	const struct blob *b = w->b;
	uint64_t allocated = 0;
	FILE *o = d->out;

	if (w->err || !b) {
		fprintf(o, "blob at root page %llu: corrupt: %s\n",
			(unsigned long long)d->page, w->why);
		return;
	}
	for (uint32_t k = 0; k < b->n_ep; k++) {
		for (uint32_t s = 0; w->ep_img[k] && s < BLOB_EP_SLOTS; s++)
			allocated += blob_ep_slot_get(w->ep_img[k], s) != 0;
	}
	fprintf(o, "blob %#llx: %llu clusters, %llu allocated%s%s",
		(unsigned long long)w->id, (unsigned long long)b->size,
		(unsigned long long)allocated,
		b->flags & BLOB_REC_THIN ? ", thin" : "",
		b->flags & BLOB_REC_READ_ONLY ? ", snapshot" : "");
	if (b->parent_id)
		fprintf(o, ", parent %#llx", (unsigned long long)b->parent_id);
	if (b->children)
		fprintf(o, ", %u children", b->children);
	fprintf(o, ", %u md pages\n", w->chain_len);
	for (const struct blob_xattr *x = b->xattrs; x; x = x->next) {
		fprintf(o, "  xattr %s \"%.*s\" (%u bytes) = ",
			x->flags & BLOB_XATTR_F_INTERNAL ? "internal" : "user",
			x->name_len, (const char *)x->data, x->value_len);
		dump_value(o, x->data + x->name_len, x->value_len);
		fputc('\n', o);
	}
}

static void dump_next(struct dump *d);

static void dump_walked(void *arg, int err)
{
	struct dump *d = arg;

	if (err == 0)
		dump_blob(d);
	blob_walk_release(&d->w);
	if (err < 0) {
		blob_req_done(&d->req, err);
		return;
	}
	d->page++;
	dump_next(d);
}

static void dump_next(struct dump *d)
{
	struct blob_store *bs = d->req.bs;

	d->page = blob_bitmap_find_set(&bs->alloc.roots, d->page,
				       bs->super.md_pages);
	if (d->page >= bs->super.md_pages) {
		fflush(d->out);
		blob_req_done(&d->req, 0);
		return;
	}
	blob_walk(bs, (uint32_t)d->page, &d->w, dump_walked, d);
}

static void dump_start(struct blob_req *r)
{
	struct dump *d = (struct dump *)r;

	dump_super(r->bs, d->out);
	d->page = 0;
	dump_next(d);
}

void blob_store_dump(struct blob_store *bs, FILE *out, blob_cb cb, void *arg)
{
	struct dump *d = blob_req_new(bs, sizeof(*d), cb, arg);

	if (!d)
		return;
	d->out = out;
	blob_req_start(&d->req, dump_start);
}
