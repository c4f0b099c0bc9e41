// SPDX-License-Identifier: MIT
/*
 * journal.c - committing metadata changes (FORMAT.md "Journal" and
 * "Commit points").
 *
 * Operations hand in changes (records + md page images); the journal
 * writes them as transactions, one at a time, several changes per
 * transaction when they queued up while the previous one was being written
 * (group commit).  A transaction is one FUA write, preceded by a flush when
 * it must order data before it (O1, O5).  When it is durable its changes
 * are applied to the committed allocation state, its images move into the
 * overlay, and each change's callback runs.  When the next transaction does
 * not fit in the rest of the journal a checkpoint runs first, after which
 * the journal starts over at page 0.  A failed write leaves the store failed:
 * nobody knows what reached the disk, so no later change may build on it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blob_internal.h"
#include "vhostfs/log.h"

struct blob_txn {
	struct blob_store *bs;
	struct blob_change *changes;
	unsigned char *head;   /* header + record pages */
	struct iovec *iov;
	uint32_t iovcnt;
	uint32_t iov_done;       /* iovecs written so far */
	uint32_t pages_done;
	uint32_t pages;
	bool flush;
	struct blob_mdio mdio;
};

/* --- changes -------------------------------------------------------------- */

struct blob_change *blob_change_new(void)
{
	return calloc(1, sizeof(struct blob_change));
}

void blob_change_free(struct blob_change *c)
{
	if (!c)
		return;
	for (uint32_t i = 0; i < c->nrec; i++)
		free(c->pay[i]);
	free(c->recs);
	free(c->pay);
	free(c->cl_alloc);
	free(c->cl_free);
	free(c);
}

int blob_change_payload(struct blob_change *c, uint32_t type, uint32_t a,
			uint64_t b, void *buf)
{
	int rc = blob_array_reserve(&c->recs, &c->rec_cap, c->nrec + 1,
				    sizeof(*c->recs));

	if (rc == 0)
		rc = blob_array_reserve(&c->pay, &c->pay_cap, c->nrec + 1,
					sizeof(*c->pay));
	if (rc < 0) {
		free(buf);
		return rc;
	}
	c->recs[c->nrec] = (struct blob_rec){ .type = type, .a = a, .b = b };
	c->pay[c->nrec] = buf;
	c->nrec++;
	c->npay += buf != NULL;
	return 0;
}

int blob_change_rec(struct blob_change *c, uint32_t type, uint32_t a,
		    uint64_t b)
{
	return blob_change_payload(c, type, a, b, NULL);
}

int blob_change_img(struct blob_change *c, uint32_t page, void *img)
{
	return blob_change_payload(c, BLOB_REC_PAGE, page, 0, img);
}

static int u32_push(uint32_t **arr, uint32_t *n, uint32_t *cap, uint32_t v)
{
	int rc = blob_array_reserve(arr, cap, *n + 1, sizeof(**arr));

	if (rc == 0)
		(*arr)[(*n)++] = v;
	return rc;
}

int blob_change_cl_alloc(struct blob_change *c, uint32_t cluster)
{
	return u32_push(&c->cl_alloc, &c->ncl_alloc, &c->cl_alloc_cap, cluster);
}

int blob_change_cl_free(struct blob_change *c, uint32_t cluster)
{
	return u32_push(&c->cl_free, &c->ncl_free, &c->cl_free_cap, cluster);
}

uint32_t blob_change_pages(const struct blob_change *c)
{
	return blob_txn_pages(c->nrec, c->npay);
}

/* --- applying a durable change -------------------------------------------- */

/* Clusters freed by a durable change, released after a grace period. */
struct cl_release {
	struct blob_retire retire;
	struct blob_store *bs;
	uint32_t *clusters;
	uint32_t n;
};

static void cl_release_run(struct blob_retire *r)
{
	struct cl_release *cr = blob_container_of(r, struct cl_release, retire);

	for (uint32_t i = 0; i < cr->n; i++)
		blob_cluster_give(cr->bs, cr->clusters[i]);
	blob_stats_update(cr->bs);
	blob_cluster_released(cr->bs, cr->n);
	free(cr->clusters);
	free(cr);
}

/* Freed clusters become usable again after a grace period (O2). */
static void apply_cl_free(struct blob_store *bs, struct blob_change *c)
{
	struct cl_release *cr;

	if (!c->ncl_free)
		return;
	cr = malloc(sizeof(*cr));
	if (!cr) {
		/* without a grace period they may not be reused: leak them
		 * until the next load rebuilds "used" from the bitmaps */
		log_warn("blob: out of memory, %u clusters unusable until "
			 "reload", c->ncl_free);
		blob_cluster_released(bs, c->ncl_free);
		return;
	}
	cr->bs = bs;
	cr->clusters = c->cl_free;
	cr->n = c->ncl_free;
	c->cl_free = NULL;
	c->ncl_free = 0;
	cr->retire.fn = cl_release_run;
	blob_retire(bs, &cr->retire);
}

/* The runtime side effects of a durable change beyond the bitmaps. */
static int apply_change(struct blob_store *bs, struct blob_change *c)
{
	int rc = blob_txn_apply(bs, c->recs, c->nrec, c->pay, false);

	if (rc < 0)
		return rc;
	for (uint32_t i = 0; i < c->nrec; i++) {
		if (c->recs[i].type == BLOB_REC_MD_FREE)
			blob_md_give(bs, c->recs[i].a);
	}
	apply_cl_free(bs, c);
	return 0;
}

/* --- transactions --------------------------------------------------------- */

static void journal_kick(struct blob_store *bs);

static void kick_msg(void *arg)
{
	struct blob_store *bs = arg;

	bs->j.kick_pending = false;
	journal_kick(bs);
}

static void kick_later(struct blob_store *bs)
{
	if (bs->j.kick_pending)
		return;
	bs->j.kick_pending = true;
	bs->j.kick_msg.fn = kick_msg;
	bs->j.kick_msg.arg = bs;
	reactor_msg_send(bs->md, &bs->j.kick_msg);
}

/* Run the callbacks of a list of changes and free them. */
static void changes_finish(struct blob_store *bs, struct blob_change *c,
			   int err)
{
	while (c) {
		struct blob_change *next = c->next;

		/* failed: what it freed never comes back in this session */
		if (err < 0 && c->ncl_free)
			blob_cluster_released(bs, c->ncl_free);
		c->cb(c->arg, err);
		blob_change_free(c);
		c = next;
	}
}

static void txn_free(struct blob_txn *t)
{
	free(t->head);
	free(t->iov);
	free(t);
}

static void txn_done(struct blob_txn *t, int err)
{
	struct blob_store *bs = t->bs;
	struct blob_change *c;

	if (err == 0) {
		bs->j.pos += t->pages;
		bs->j.seq++;
		for (c = t->changes; c && err == 0; c = c->next)
			err = apply_change(bs, c);
		blob_stats_update(bs);
	}
	if (err < 0)
		blob_store_fail(bs, err);
	bs->j.txn = NULL;
	c = t->changes;
	txn_free(t);
	changes_finish(bs, c, err);
	journal_kick(bs);
}

static void txn_write(struct blob_txn *t);

static void txn_write_cpl(void *arg, int err)
{
	struct blob_txn *t = arg;

	if (err < 0 || t->iov_done == t->iovcnt) {
		txn_done(t, err);
		return;
	}
	txn_write(t);
}

/* The next up to BDEV_IOV_MAX iovecs, each piece with FUA: the CRC makes
 * the transaction count only once every piece is there. */
static void txn_write(struct blob_txn *t)
{
	struct blob_store *bs = t->bs;
	uint32_t first = t->iov_done;
	uint32_t n = t->iovcnt - first < BDEV_IOV_MAX ? t->iovcnt - first
						      : BDEV_IOV_MAX;
	uint64_t page = bs->super.journal_start + bs->j.pos + t->pages_done;

	for (uint32_t i = first; i < first + n; i++)
		t->pages_done += (uint32_t)(t->iov[i].iov_len / BLOB_PAGE_SIZE);
	t->iov_done += n;
	blob_mdio_writev(bs, &t->mdio, page * BLOB_PAGE_SIZE, t->iov + first,
			 n, BDEV_WRITE_FUA, txn_write_cpl, t);
}

static void txn_flush_cpl(void *arg, int err)
{
	struct blob_txn *t = arg;

	if (err < 0) {
		txn_done(t, err);
		return;
	}
	txn_write(t);
}

/* Encode header and records of @t's changes, point iovecs at payloads. */
static void txn_encode(struct blob_store *bs, struct blob_txn *t,
		       uint32_t nrec, uint32_t npay)
{
	struct blob_txn_hdr h = {
		.pages = t->pages, .seq = bs->j.seq, .nrec = nrec, .npay = npay,
	};
	size_t head_len = (size_t)(t->pages - npay) * BLOB_PAGE_SIZE;
	unsigned char *p = t->head + BLOB_TXN_HDR_SIZE;
	uint32_t crc;

	memcpy(h.uuid, bs->super.uuid, 16);
	blob_txn_hdr_encode(&h, t->head);
	t->iov[0] = (struct iovec){ .iov_base = t->head, .iov_len = head_len };
	t->iovcnt = 1;
	for (struct blob_change *c = t->changes; c; c = c->next) {
		for (uint32_t i = 0; i < c->nrec; i++, p += BLOB_TXN_REC_SIZE) {
			blob_rec_encode(&c->recs[i], p);
			if (c->pay[i])
				t->iov[t->iovcnt++] = (struct iovec){
					.iov_base = c->pay[i],
					.iov_len = BLOB_PAGE_SIZE,
				};
		}
	}
	crc = blob_crc32c_update(BLOB_CRC_INIT, t->head, head_len);
	for (uint32_t i = 1; i < t->iovcnt; i++)
		crc = blob_crc32c_update(crc, t->iov[i].iov_base,
					 BLOB_PAGE_SIZE);
	blob_le32_put(t->head + offsetof(struct blob_disk_txn, crc),
		      crc ^ BLOB_CRC_INIT);
}

/* Take queued changes while they fit in @room pages. */
static struct blob_change *txn_take(struct blob_store *bs, uint32_t room,
				    uint32_t *nrec, uint32_t *npay)
{
	struct blob_change *head = NULL, **tail = &head;

	*nrec = *npay = 0;
	while (bs->j.q_head) {
		struct blob_change *c = bs->j.q_head;

		if (head && blob_txn_pages(*nrec + c->nrec, *npay + c->npay) >
				    room)
			break;
		bs->j.q_head = c->next;
		c->next = NULL;
		*tail = c;
		tail = &c->next;
		*nrec += c->nrec;
		*npay += c->npay;
	}
	if (!bs->j.q_head)
		bs->j.q_tail = NULL;
	return head;
}

static int txn_start(struct blob_store *bs, uint32_t room)
{
	struct blob_txn *t = calloc(1, sizeof(*t));
	uint32_t nrec, npay;

	if (!t)
		return -ENOMEM;
	t->bs = bs;
	t->changes = txn_take(bs, room, &nrec, &npay);
	t->pages = blob_txn_pages(nrec, npay);
	t->head = blob_page_alloc((size_t)(t->pages - npay) * BLOB_PAGE_SIZE);
	t->iov = calloc((size_t)npay + 1, sizeof(*t->iov));
	for (struct blob_change *c = t->changes; c; c = c->next)
		t->flush |= c->needs_flush;
	bs->j.txn = t;
	if (!t->head || !t->iov) {
		txn_done(t, -ENOMEM);
		return 0;
	}
	txn_encode(bs, t, nrec, npay);
	if (t->flush || bs->fills_unflushed) {
		/* this flush covers every fill completed so far */
		bs->fills_unflushed = false;
		blob_mdio_flush(bs, &t->mdio, txn_flush_cpl, t);
	} else {
		txn_write(t);
	}
	return 0;
}

/* --- checkpoints ---------------------------------------------------------- */

static void ckpt_cpl(void *arg, int err)
{
	struct blob_store *bs = arg;
	struct blob_ckpt_req *r = bs->j.ckpt_head;

	bs->j.ckpt_running = false;
	if (err < 0)
		blob_store_fail(bs, err);
	/* an automatic checkpoint has no request */
	if (bs->j.ckpt_for_req) {
		bs->j.ckpt_head = r->next;
		if (!bs->j.ckpt_head)
			bs->j.ckpt_tail = NULL;
		r->cb(r->arg, err);
	}
	journal_kick(bs);
}

static void ckpt_start(struct blob_store *bs, bool clean, bool for_req)
{
	bs->j.ckpt_running = true;
	bs->j.ckpt_for_req = for_req;
	blob_ckpt_write(bs, clean, ckpt_cpl, bs);
}

void blob_journal_checkpoint(struct blob_store *bs, struct blob_ckpt_req *r)
{
	r->next = NULL;
	if (bs->j.ckpt_tail)
		bs->j.ckpt_tail->next = r;
	else
		bs->j.ckpt_head = r;
	bs->j.ckpt_tail = r;
	kick_later(bs);
}

bool blob_journal_idle(const struct blob_store *bs)
{
	return !bs->j.txn && !bs->j.ckpt_running && !bs->j.q_head &&
	       !bs->j.ckpt_head && !bs->j.kick_pending;
}

/* --- the engine ----------------------------------------------------------- */

static void fail_queued(struct blob_store *bs, int err)
{
	struct blob_change *c = bs->j.q_head;
	struct blob_ckpt_req *r = bs->j.ckpt_head;

	bs->j.q_head = bs->j.q_tail = NULL;
	bs->j.ckpt_head = bs->j.ckpt_tail = NULL;
	changes_finish(bs, c, err);
	while (r) {
		struct blob_ckpt_req *next = r->next;

		r->cb(r->arg, err);
		r = next;
	}
}

static void journal_kick(struct blob_store *bs)
{
	struct blob_journal *j = &bs->j;
	uint32_t first;

	if (j->txn || j->ckpt_running)
		return;
	if (bs->failed) {
		fail_queued(bs, bs->failed);
		return;
	}
	if (j->ckpt_head) {
		ckpt_start(bs, j->ckpt_head->clean, true);
		return;
	}
	if (!j->q_head)
		return;
	first = blob_change_pages(j->q_head);
	if (first > j->max_pages) {
		/* callers check sizes before building: this is a bug */
		log_error("blob: change of %u pages over the limit", first);
		blob_store_fail(bs, -EFBIG);
		fail_queued(bs, -EFBIG);
		return;
	}
	if (j->pos + first > bs->super.journal_pages) {
		ckpt_start(bs, false, false);
		return;
	}
	if (txn_start(bs, bs->super.journal_pages - j->pos) < 0) {
		blob_store_fail(bs, -ENOMEM);
		fail_queued(bs, -ENOMEM);
	}
}

void blob_journal_submit(struct blob_store *bs, struct blob_change *c)
{
	/* an unencodable change cannot be committed: nothing is sure now */
	if (blob_change_seal(c) < 0)
		blob_store_fail(bs, -ENOMEM);
	blob_cluster_releasing(bs, c->ncl_free);
	c->next = NULL;
	if (bs->j.q_tail)
		bs->j.q_tail->next = c;
	else
		bs->j.q_head = c;
	bs->j.q_tail = c;
	kick_later(bs);
}
