// SPDX-License-Identifier: MIT
/*
 * replay.c - bringing the allocation state and the overlay up to date from
 * the journal after a dirty shutdown (FORMAT.md "Replay").
 *
 * Each transaction is read once, checked, and applied with the same code
 * that applied it when it was committed (txn.c).  Nothing but the journal
 * is read, so the time is bounded by the journal's size, whatever the
 * number of blobs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blob_internal.h"

struct replay {
	struct blob_store *bs;
	blob_cb cb;
	void *arg;
	uint64_t seq;
	uint32_t pos;
	unsigned char *buf;   /* the transaction being replayed */
	uint32_t cap;         /* pages of buf */
	struct blob_txn_hdr h;
	struct blob_rec *recs;
	void **pay;
	struct blob_mdio mdio;
};

static void replay_header(struct replay *r);

static void replay_finish(struct replay *r, int err)
{
	struct blob_store *bs = r->bs;

	if (err == 0) {
		bs->j.seq = r->seq;
		bs->j.pos = r->pos;
	}
	free(r->recs);
	free(r->pay);
	free(r->buf);
	r->cb(r->arg, err);
	free(r);
}

/* Records valid, padding zero, payloads where the records say. */
static int replay_decode(struct replay *r)
{
	uint32_t head_pages = r->h.pages - r->h.npay;
	const unsigned char *p = r->buf + BLOB_TXN_HDR_SIZE;
	size_t used = BLOB_TXN_HDR_SIZE + (size_t)r->h.nrec * BLOB_TXN_REC_SIZE;
	size_t head = (size_t)head_pages * BLOB_PAGE_SIZE;
	uint32_t npay = 0;

	for (size_t i = used; i < head; i++) {
		if (r->buf[i])
			return -EUCLEAN;
	}
	free(r->recs);
	free(r->pay);
	r->recs = calloc((size_t)r->h.nrec + 1, sizeof(*r->recs));
	r->pay = calloc((size_t)r->h.nrec + 1, sizeof(*r->pay));
	if (!r->recs || !r->pay)
		return -ENOMEM;
	for (uint32_t i = 0; i < r->h.nrec; i++, p += BLOB_TXN_REC_SIZE) {
		blob_rec_decode(p, &r->recs[i]);
		if (!blob_rec_valid(r->bs, &r->recs[i]))
			return -EUCLEAN;
		if (!blob_rec_has_payload(r->recs[i].type))
			continue;
		if (npay == r->h.npay)
			return -EUCLEAN;
		r->pay[i] = r->buf + (size_t)(head_pages + npay++) *
					     BLOB_PAGE_SIZE;
	}
	return npay == r->h.npay ? 0 : -EUCLEAN;
}

static void replay_body_cpl(void *arg, int err)
{
	struct replay *r = arg;
	size_t len = (size_t)r->h.pages * BLOB_PAGE_SIZE;
	size_t off = offsetof(struct blob_disk_txn, crc);

	if (err < 0) {
		replay_finish(r, err);
		return;
	}
	/* a torn or never written transaction ends the journal */
	if (blob_crc32c_skip(r->buf, len, off) != blob_le32_get(r->buf + off)) {
		replay_finish(r, 0);
		return;
	}
	err = replay_decode(r);
	if (err == 0)
		err = blob_txn_apply(r->bs, r->recs, r->h.nrec, r->pay, true);
	if (err < 0) {
		replay_finish(r, err);
		return;
	}
	r->pos += r->h.pages;
	r->seq++;
	replay_header(r);
}

static bool header_plausible(const struct replay *r)
{
	const struct blob_super *s = &r->bs->super;
	const struct blob_txn_hdr *h = &r->h;

	return h->seq == r->seq && memcmp(h->uuid, s->uuid, 16) == 0 &&
	       h->pages >= 1 && h->pages <= s->journal_pages - r->pos &&
	       h->npay < h->pages &&
	       h->nrec <= (uint64_t)h->pages * (BLOB_PAGE_SIZE /
						 BLOB_TXN_REC_SIZE) &&
	       blob_txn_pages(h->nrec, h->npay) == h->pages;
}

/* Room for @pages pages in r->buf. */
static int replay_reserve(struct replay *r, uint32_t pages)
{
	unsigned char *nb;

	if (pages <= r->cap)
		return 0;
	nb = blob_page_alloc((size_t)pages * BLOB_PAGE_SIZE);
	if (!nb)
		return -ENOMEM;
	memcpy(nb, r->buf, BLOB_PAGE_SIZE);
	free(r->buf);
	r->buf = nb;
	r->cap = pages;
	return 0;
}

static void replay_header_cpl(void *arg, int err)
{
	struct replay *r = arg;
	uint64_t off = (r->bs->super.journal_start + r->pos) * BLOB_PAGE_SIZE;

	if (err < 0) {
		replay_finish(r, err);
		return;
	}
	if (blob_txn_hdr_decode(r->buf, &r->h) < 0 || !header_plausible(r)) {
		replay_finish(r, 0);
		return;
	}
	err = replay_reserve(r, r->h.pages);
	if (err < 0) {
		replay_finish(r, err);
		return;
	}
	blob_mdio_read(r->bs, &r->mdio, off, r->buf,
		       (size_t)r->h.pages * BLOB_PAGE_SIZE, replay_body_cpl, r);
}

static void replay_header(struct replay *r)
{
	uint64_t off = (r->bs->super.journal_start + r->pos) * BLOB_PAGE_SIZE;

	if (r->pos >= r->bs->super.journal_pages) {
		replay_finish(r, 0);
		return;
	}
	blob_mdio_read(r->bs, &r->mdio, off, r->buf, BLOB_PAGE_SIZE,
		       replay_header_cpl, r);
}

void blob_replay(struct blob_store *bs, blob_cb cb, void *arg)
{
	struct replay *r = calloc(1, sizeof(*r));

	if (r)
		r->buf = blob_page_alloc(BLOB_PAGE_SIZE);
	if (!r || !r->buf) {
		free(r);
		blob_defer(bs, cb, arg, -ENOMEM);
		return;
	}
	r->cap = 1;
	r->bs = bs;
	r->cb = cb;
	r->arg = arg;
	r->seq = bs->super.journal_seq;
	r->pos = 0;
	replay_header(r);
}
