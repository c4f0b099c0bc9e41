// SPDX-License-Identifier: MIT
/*
 * ckpt.c - checkpoints (FORMAT.md "Checkpoint area" and rule O4): write
 * the md pages of the overlay home, the committed allocation state into the
 * checkpoint area the current super block does not name, flush, then the
 * next super block with FUA.  Until that last write completes the old super
 * block, its area and the journal describe the store; after it the new
 * ones do, and the journal starts over.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blob_internal.h"

#define HOME_RUN_MAX 256u

struct ckpt_ctx {
	struct blob_store *bs;
	bool clean;
	blob_cb cb;
	void *arg;
	uint32_t *pages;
	size_t npages, next;
	struct iovec iov[HOME_RUN_MAX];
	unsigned char *area;
	unsigned char *super_buf;
	struct blob_super ns;
	struct blob_mdio mdio;
};

/* --- the area image ------------------------------------------------------- */

size_t blob_ckpt_bytes(const struct blob_store *bs)
{
	return (size_t)bs->super.ckpt_pages * BLOB_PAGE_SIZE;
}

void blob_ckpt_serialize(const struct blob_store *bs, uint64_t seq,
			 unsigned char *buf)
{
	const struct blob_alloc *a = &bs->alloc;
	size_t cb = (size_t)blob_layout_cluster_bitmap_pages(&bs->super) *
		    BLOB_PAGE_SIZE;
	size_t mb = (size_t)blob_layout_md_bitmap_pages(&bs->super) *
		    BLOB_PAGE_SIZE;
	unsigned char *bits = buf + BLOB_PAGE_SIZE;
	struct blob_ckpt_hdr h = {
		.seq = seq,
		.cluster_count = a->cluster_count,
		.clusters_used = blob_bitmap_count(&a->cl_committed),
		.md_pages_used = blob_bitmap_count(&a->md_committed),
		.blob_count = blob_bitmap_count(&a->roots),
		.next_gen = a->gen_committed,
	};

	blob_bitmap_store(&a->cl_committed, bits, cb);
	blob_bitmap_store(&a->md_committed, bits + cb, mb);
	blob_bitmap_store(&a->roots, bits + cb + mb, mb);
	h.bitmap_crc = blob_crc32c(bits, cb + 2 * mb);
	memcpy(h.uuid, bs->super.uuid, 16);
	blob_ckpt_hdr_encode(&h, buf);
}

static bool ckpt_hdr_ok(const struct blob_store *bs,
			const struct blob_ckpt_hdr *h,
			const unsigned char *bits, size_t len)
{
	const struct blob_super *s = &bs->super;

	return h->seq == s->ckpt_seq && memcmp(h->uuid, s->uuid, 16) == 0 &&
	       h->cluster_count > s->data_start &&
	       h->cluster_count <= s->cluster_capacity && h->next_gen >= 1 &&
	       h->bitmap_crc == blob_crc32c(bits, len);
}

/* Every reserved cluster set, roots only on md pages in use. */
static bool ckpt_bits_ok(const struct blob_store *bs)
{
	const struct blob_alloc *a = &bs->alloc;

	if (blob_bitmap_find_clear(&a->cl_committed, 0, bs->super.data_start) <
	    bs->super.data_start)
		return false;
	for (uint64_t k = 0; k < (a->roots.nbits + 63) / 64; k++) {
		if (a->roots.w[k] & ~a->md_committed.w[k])
			return false;
	}
	return true;
}

int blob_ckpt_parse(struct blob_store *bs, const unsigned char *buf)
{
	struct blob_alloc *a = &bs->alloc;
	size_t cb = (size_t)blob_layout_cluster_bitmap_pages(&bs->super) *
		    BLOB_PAGE_SIZE;
	size_t mb = (size_t)blob_layout_md_bitmap_pages(&bs->super) *
		    BLOB_PAGE_SIZE;
	const unsigned char *bits = buf + BLOB_PAGE_SIZE;
	struct blob_ckpt_hdr h;

	if (blob_ckpt_hdr_decode(buf, &h) < 0 ||
	    !ckpt_hdr_ok(bs, &h, bits, cb + 2 * mb) ||
	    !blob_bits_clear_from(bits, cb, h.cluster_count) ||
	    !blob_bits_clear_from(bits + cb, mb, bs->super.md_pages) ||
	    !blob_bits_clear_from(bits + cb + mb, mb, bs->super.md_pages))
		return -EUCLEAN;
	blob_bitmap_load(&a->cl_committed, bits);
	blob_bitmap_load(&a->md_committed, bits + cb);
	blob_bitmap_load(&a->roots, bits + cb + mb);
	a->cluster_count = h.cluster_count;
	a->gen_next = a->gen_committed = h.next_gen;
	if (!ckpt_bits_ok(bs) ||
	    blob_bitmap_count(&a->cl_committed) != h.clusters_used ||
	    blob_bitmap_count(&a->md_committed) != h.md_pages_used ||
	    blob_bitmap_count(&a->roots) != h.blob_count)
		return -EUCLEAN;
	return 0;
}

/* --- writing one ---------------------------------------------------------- */

static void ckpt_finish(struct ckpt_ctx *c, int err)
{
	struct blob_store *bs = c->bs;

	if (err == 0) {
		bs->super = c->ns;
		blob_overlay_clear(&bs->ov);
		bs->j.pos = 0;
	}
	c->cb(c->arg, err);
	free(c->pages);
	free(c->area);
	free(c->super_buf);
	free(c);
}

static void ckpt_super_cpl(void *arg, int err)
{
	ckpt_finish(arg, err);
}

static void ckpt_flush_cpl(void *arg, int err)
{
	struct ckpt_ctx *c = arg;
	uint64_t off = (c->ns.seq % 2) * BLOB_PAGE_SIZE;

	if (err < 0) {
		ckpt_finish(c, err);
		return;
	}
	blob_super_encode(&c->ns, c->super_buf);
	blob_mdio_write(c->bs, &c->mdio, off, c->super_buf, BLOB_PAGE_SIZE,
			BDEV_WRITE_FUA, ckpt_super_cpl, c);
}

static void ckpt_area_cpl(void *arg, int err)
{
	struct ckpt_ctx *c = arg;

	if (err < 0) {
		ckpt_finish(c, err);
		return;
	}
	blob_mdio_flush(c->bs, &c->mdio, ckpt_flush_cpl, c);
}

static void ckpt_area_write(struct ckpt_ctx *c)
{
	struct blob_store *bs = c->bs;
	uint64_t off = bs->super.ckpt_start[c->ns.ckpt_area] * BLOB_PAGE_SIZE;

	blob_ckpt_serialize(bs, c->ns.ckpt_seq, c->area);
	blob_mdio_write(bs, &c->mdio, off, c->area, blob_ckpt_bytes(bs), 0,
			ckpt_area_cpl, c);
}

static void ckpt_home_next(struct ckpt_ctx *c);

static void ckpt_home_cpl(void *arg, int err)
{
	struct ckpt_ctx *c = arg;

	if (err < 0) {
		ckpt_finish(c, err);
		return;
	}
	ckpt_home_next(c);
}

/* Write the next run of consecutive overlay pages home. */
static void ckpt_home_next(struct ckpt_ctx *c)
{
	struct blob_store *bs = c->bs;
	uint32_t first;
	unsigned int n = 0;

	if (c->next >= c->npages) {
		ckpt_area_write(c);
		return;
	}
	first = c->pages[c->next];
	while (c->next < c->npages && n < HOME_RUN_MAX &&
	       c->pages[c->next] == first + n) {
		c->iov[n].iov_base = blob_overlay_get(&bs->ov, first + n);
		c->iov[n].iov_len = BLOB_PAGE_SIZE;
		n++;
		c->next++;
	}
	blob_mdio_writev(bs, &c->mdio, blob_md_off(bs, first), c->iov, n, 0,
			 ckpt_home_cpl, c);
}

void blob_ckpt_write(struct blob_store *bs, bool clean, blob_cb cb, void *arg)
{
	struct ckpt_ctx *c = calloc(1, sizeof(*c));

	if (!c) {
		cb(arg, -ENOMEM);
		return;
	}
	c->bs = bs;
	c->clean = clean;
	c->cb = cb;
	c->arg = arg;
	c->ns = bs->super;
	c->ns.seq++;
	c->ns.ckpt_area ^= 1;
	c->ns.ckpt_seq = c->ns.seq;
	c->ns.journal_seq = bs->j.seq;
	c->ns.flags = clean ? BLOB_SUPER_CLEAN : 0;
	c->npages = bs->ov.n;
	c->pages = malloc((c->npages ? c->npages : 1) * sizeof(*c->pages));
	c->area = blob_page_alloc(blob_ckpt_bytes(bs));
	c->super_buf = blob_page_alloc(BLOB_PAGE_SIZE);
	if (!c->pages || !c->area || !c->super_buf) {
		ckpt_finish(c, -ENOMEM);
		return;
	}
	blob_overlay_pages(&bs->ov, c->pages);
	ckpt_home_next(c);
}
