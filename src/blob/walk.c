// SPDX-License-Identifier: MIT
/*
 * walk.c - reading one blob's metadata raw, for the tools (check, dump):
 * its root chain, its record and its extent pages, describing the first
 * structural problem instead of failing on it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blob_internal.h"

static void walk_bad(struct blob_walk *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void walk_bad(struct blob_walk *w, const char *fmt, ...)
{
	va_list ap;

	if (w->err)
		return;
	w->err = -EUCLEAN;
	va_start(ap, fmt);
	vsnprintf(w->why, sizeof(w->why), fmt, ap);
	va_end(ap);
}

static void walk_done(struct blob_walk *w, int err)
{
	free(w->page);
	free(w->rec);
	w->page = NULL;
	w->rec = NULL;
	w->cb(w->arg, err);
}

static void walk_ep_next(struct blob_walk *w);

static void walk_ep_cpl(void *arg, int err)
{
	struct blob_walk *w = arg;
	struct blob_md_hdr h;

	if (err < 0) {
		walk_done(w, err);
		return;
	}
	if (blob_md_hdr_decode(w->page, &h) < 0 || h.type != BLOB_MD_EXTENT ||
	    h.index != w->k) {
		walk_bad(w, "extent page %u (extent %u) is not valid",
			 w->b->ep[w->k].page, w->k);
		walk_done(w, 0);
		return;
	}
	w->ep_img[w->k] = w->page;
	w->page = blob_page_alloc(BLOB_PAGE_SIZE);
	if (!w->page) {
		walk_done(w, -ENOMEM);
		return;
	}
	w->k++;
	walk_ep_next(w);
}

static void walk_ep_next(struct blob_walk *w)
{
	while (w->k < w->b->n_ep && w->b->ep[w->k].page == BLOB_PAGE_NONE)
		w->k++;
	if (w->k >= w->b->n_ep) {
		walk_done(w, 0);
		return;
	}
	blob_md_page_read(w->bs, &w->mdio, w->b->ep[w->k].page, w->page,
			  walk_ep_cpl, w);
}

static void walk_record(struct blob_walk *w)
{
	int rc;

	w->b = blob_obj_new(w->bs, w->id);
	if (!w->b) {
		walk_done(w, -ENOMEM);
		return;
	}
	rc = blob_record_parse(w->b, w->rec, w->rec_len);
	if (rc == -ENOMEM) {
		walk_done(w, rc);
		return;
	}
	if (rc < 0) {
		walk_bad(w, "record is not valid (%d)", rc);
		walk_done(w, 0);
		return;
	}
	w->ep_img = calloc(w->b->n_ep + 1, sizeof(*w->ep_img));
	if (!w->ep_img) {
		walk_done(w, -ENOMEM);
		return;
	}
	w->k = 0;
	walk_ep_next(w);
}

/* Check chain page number w->chain_len just read; 0 or a walk_bad. */
static int walk_chain_check(struct blob_walk *w, const struct blob_md_hdr *h)
{
	uint32_t idx = w->chain_len;

	if (idx == 0 && (h->type != BLOB_MD_ROOT ||
			 blob_id_page(h->blob_id) != w->root ||
			 blob_id_gen(h->blob_id) == 0)) {
		walk_bad(w, "root page %u is not a root page", w->root);
		return -EUCLEAN;
	}
	if (idx == 0)
		w->id = h->blob_id;
	if (idx > 0 && (h->type != BLOB_MD_CONT || h->blob_id != w->id ||
			h->index != idx)) {
		walk_bad(w, "chain page %u (#%u) does not belong", w->next,
			 idx);
		return -EUCLEAN;
	}
	if (h->next != BLOB_PAGE_NONE &&
	    (h->used != BLOB_MD_PAYLOAD || idx + 1 >= BLOB_CHAIN_MAX ||
	     h->next >= w->bs->super.md_pages)) {
		walk_bad(w, "chain page %u links to %u badly", w->next,
			 h->next);
		return -EUCLEAN;
	}
	return 0;
}

static void walk_chain_cpl(void *arg, int err)
{
	struct blob_walk *w = arg;
	struct blob_md_hdr h;

	if (err < 0) {
		walk_done(w, err);
		return;
	}
	if (blob_md_hdr_decode(w->page, &h) < 0) {
		walk_bad(w, "md page %u: bad header or CRC", w->next);
		walk_done(w, 0);
		return;
	}
	if (walk_chain_check(w, &h) < 0) {
		walk_done(w, 0);
		return;
	}
	memcpy(w->rec + w->rec_len, w->page + BLOB_MD_HDR_SIZE, h.used);
	w->rec_len += h.used;
	w->chain[w->chain_len++] = w->next;
	if (h.next == BLOB_PAGE_NONE) {
		walk_record(w);
		return;
	}
	w->next = h.next;
	blob_md_page_read(w->bs, &w->mdio, w->next, w->page, walk_chain_cpl, w);
}

void blob_walk(struct blob_store *bs, uint32_t root, struct blob_walk *w,
	       blob_cb cb, void *arg)
{
	memset(w, 0, sizeof(*w));
	w->bs = bs;
	w->root = root;
	w->cb = cb;
	w->arg = arg;
	w->next = root;
	w->page = blob_page_alloc(BLOB_PAGE_SIZE);
	w->rec = malloc(BLOB_RECORD_MAX);
	w->chain = calloc(BLOB_CHAIN_MAX, sizeof(*w->chain));
	if (!w->page || !w->rec || !w->chain) {
		blob_defer(bs, cb, arg, -ENOMEM);
		return;
	}
	blob_md_page_read(bs, &w->mdio, root, w->page, walk_chain_cpl, w);
}

void blob_walk_release(struct blob_walk *w)
{
	for (uint32_t k = 0; w->ep_img && w->b && k < w->b->n_ep; k++)
		free(w->ep_img[k]);
	free(w->ep_img);
	free(w->chain);
	free(w->page);
	free(w->rec);
	if (w->b)
		blob_obj_free(w->b);
	memset(w, 0, sizeof(*w));
}
