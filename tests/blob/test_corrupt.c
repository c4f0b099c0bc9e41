// SPDX-License-Identifier: MIT
/*
 * test_corrupt.c - the "evil" suite: images with bad CRCs, foreign
 * versions, nonsense geometry, truncated devices, bad checkpoints and
 * journals, looping chains and parent links, out-of-range and doubly owned
 * clusters.  Load, open and check must report -EUCLEAN/-EILSEQ (or a
 * problem count), never crash or hang; repair must leave a clean store.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blob/blob_format.h"
#include "blob_test.h"
#include "vhostfs/log.h"

static const struct bst_geo geo = {
	.block_size = 512, .cluster_size = 4096, .dev_bytes = 2 << 20,
	.md_pages = 64, .journal_pages = 16,
};

/* A clean image with blobs a (thick 2, data), b (thin 4, one cluster). */
struct img {
	struct bdev *dev;
	struct blob_super s;
	uint64_t a, b;
};

/* --- raw page access ------------------------------------------------------ */

struct raw {
	struct bdev_io io;
	int done;
	int err;
};

static void raw_cb(void *arg, int err)
{
	struct raw *r = arg;

	r->done = 1;
	r->err = err;
}

static void raw_io(struct bdev *dev, uint64_t page, void *buf, bool write)
{
	struct iovec v = { .iov_base = buf, .iov_len = BLOB_PAGE_SIZE };
	struct bdev_channel *ch;
	struct raw r = { 0 };

	assert_int_equal(bdev_channel_create(dev, bst_reactor(), &ch), 0);
	if (write)
		bdev_writev(ch, &r.io, &v, 1, page * BLOB_PAGE_SIZE,
			    BDEV_WRITE_FUA, raw_cb, &r);
	else
		bdev_readv(ch, &r.io, &v, 1, page * BLOB_PAGE_SIZE, raw_cb, &r);
	while (!r.done)
		assert_true(reactor_run_once(bst_reactor(), 10) >= 0);
	assert_int_equal(r.err, 0);
	assert_int_equal(bdev_channel_destroy(ch), 0);
}

static void *page_get(struct img *im, uint64_t page)
{
	void *buf = bst_alloc(BLOB_PAGE_SIZE);

	raw_io(im->dev, page, buf, false);
	return buf;
}

static void page_put(struct img *im, uint64_t page, void *buf)
{
	raw_io(im->dev, page, buf, true);
	free(buf);
}

static uint64_t md_page(const struct img *im, uint32_t p)
{
	return im->s.md_start + p;
}

/* Extent page @k of blob @id. */
static uint32_t extent_page(struct img *im, uint64_t id, uint32_t k)
{
	unsigned char *root = page_get(im, md_page(im, blob_id_page(id)));
	uint32_t p = blob_le32_get(root + BLOB_MD_HDR_SIZE + BLOB_REC_HDR_SIZE +
				   4 * k);

	free(root);
	return p;
}

/* Change md page @p with @fn, then fix its CRC. */
static void md_patch(struct img *im, uint32_t p, void (*fn)(void *, void *),
		     void *arg)
{
	void *buf = page_get(im, md_page(im, p));

	fn(buf, arg);
	blob_md_seal(buf);
	page_put(im, md_page(im, p), buf);
}

/* --- building and loading ------------------------------------------------- */

static void img_make(struct img *im)
{
	struct blob_store_opts o = bst_opts(&geo);
	struct blob_store *bs;
	struct blob_channel *ch;
	struct blob *b;
	void *buf = bst_alloc(2 * geo.cluster_size);
	void *sb;

	memset(im, 0, sizeof(*im));
	im->dev = bst_ram(&geo, false);
	assert_int_equal(bst_init(im->dev, &o, &bs), 0);
	ch = bst_channel(bs);
	assert_int_equal(bst_create(bs, 2, false, &im->a), 0);
	assert_int_equal(bst_create(bs, 4, true, &im->b), 0);
	assert_int_equal(bst_open(bs, im->a, &b), 0);
	bst_pattern(buf, 2 * geo.cluster_size, geo.block_size, im->a, 0, 1);
	assert_int_equal(bst_write(ch, b, 0, buf, 2 * geo.cluster_size), 0);
	assert_int_equal(bst_close(b), 0);
	assert_int_equal(bst_open(bs, im->b, &b), 0);
	bst_pattern(buf, geo.cluster_size, geo.block_size, im->b,
		    2 * geo.cluster_size, 1);
	assert_int_equal(bst_write(ch, b, 2 * geo.cluster_size, buf,
				   geo.cluster_size), 0);
	assert_int_equal(bst_close(b), 0);
	assert_int_equal(blob_channel_destroy(ch), 0);
	assert_int_equal(bst_unload(bs), 0);
	free(buf);
	/* the current super block */
	for (uint32_t slot = 0; slot < 2; slot++) {
		struct blob_super s;

		sb = page_get(im, slot);
		if (blob_super_decode(sb, slot, &s) == 0 && s.seq > im->s.seq)
			im->s = s;
		free(sb);
	}
}

static void img_free(struct img *im)
{
	assert_int_equal(bdev_destroy(im->dev), 0);
}

static int img_load(struct img *im, struct blob_store **bs)
{
	return bst_load(im->dev, false, bs);
}

/* Load (must work), check: the number of problems found. */
static uint64_t img_check(struct img *im, uint32_t flags)
{
	struct blob_check_report rep;
	struct blob_store *bs;

	assert_int_equal(img_load(im, &bs), 0);
	assert_int_equal(bst_check(bs, flags, &rep), 0);
	if (flags & BLOB_CHECK_REPAIR)
		assert_int_equal(rep.fixed, rep.errors);
	assert_int_equal(bst_unload(bs), 0);
	return rep.errors;
}

static int img_open(struct img *im, uint64_t id)
{
	struct blob_store *bs;
	struct blob *b;
	int rc;

	assert_int_equal(img_load(im, &bs), 0);
	rc = bst_open(bs, id, &b);
	if (rc == 0)
		assert_int_equal(bst_close(b), 0);
	assert_int_equal(bst_unload(bs), 0);
	return rc;
}

/* Repair, then the store is clean and @keep still reads its data. */
static void repair_and_verify(struct img *im, uint64_t keep)
{
	struct blob_store *bs;
	struct blob_channel *ch;
	struct blob *b;
	unsigned char *buf = bst_alloc(geo.cluster_size);

	assert_true(img_check(im, BLOB_CHECK_REPAIR) > 0);
	assert_int_equal(img_check(im, 0), 0);
	assert_int_equal(img_load(im, &bs), 0);
	ch = bst_channel(bs);
	assert_int_equal(bst_open(bs, keep, &b), 0);
	assert_int_equal(bst_read(ch, b, 0, buf, geo.cluster_size), 0);
	assert_int_equal(bst_pattern_version(buf, geo.block_size, keep, 0), 1);
	assert_int_equal(bst_close(b), 0);
	assert_int_equal(blob_channel_destroy(ch), 0);
	assert_int_equal(bst_unload(bs), 0);
	free(buf);
}

/* --- super block ---------------------------------------------------------- */

static void super_rewrite(struct img *im, uint32_t slot,
			  void (*fn)(unsigned char *))
{
	unsigned char *sb = page_get(im, slot);

	fn(sb);
	blob_le32_put(sb + offsetof(struct blob_disk_super, crc),
		      blob_crc32c_skip(sb, BLOB_PAGE_SIZE,
				       offsetof(struct blob_disk_super, crc)));
	page_put(im, slot, sb);
}

static void set_version(unsigned char *sb)
{
	blob_le32_put(sb + offsetof(struct blob_disk_super, version), 2);
}

static void set_incompat(unsigned char *sb)
{
	blob_le32_put(sb + offsetof(struct blob_disk_super, incompat), 1);
}

static void set_bad_cluster(unsigned char *sb)
{
	blob_le32_put(sb + offsetof(struct blob_disk_super, cluster_size),
		      12345);
}

static void set_bad_md_start(unsigned char *sb)
{
	blob_le64_put(sb + offsetof(struct blob_disk_super, md_start), 3);
}

static void set_bad_crc(unsigned char *sb)
{
	sb[100] ^= 1;
}

static void test_super(void **s)
{
	void (*eilseq[])(unsigned char *) = { set_version, set_incompat };
	void (*euclean[])(unsigned char *) = { set_bad_cluster,
					       set_bad_md_start };
	struct blob_store *bs;
	struct img im;

	/* no magic anywhere */
	img_make(&im);
	page_put(&im, 0, bst_alloc(BLOB_PAGE_SIZE));
	page_put(&im, 1, bst_alloc(BLOB_PAGE_SIZE));
	assert_int_equal(img_load(&im, &bs), -EILSEQ);
	img_free(&im);
	for (size_t i = 0; i < 2; i++) {
		img_make(&im);
		super_rewrite(&im, 0, eilseq[i]);
		super_rewrite(&im, 1, eilseq[i]);
		assert_int_equal(img_load(&im, &bs), -EILSEQ);
		img_free(&im);
		img_make(&im);
		super_rewrite(&im, 0, euclean[i]);
		super_rewrite(&im, 1, euclean[i]);
		assert_int_equal(img_load(&im, &bs), -EUCLEAN);
		img_free(&im);
	}
	/* bad CRCs in both copies; in the newest only: the other one loads */
	img_make(&im);
	{
		unsigned char *p0 = page_get(&im, 0), *p1 = page_get(&im, 1);

		p0[200] ^= 0x10;
		p1[200] ^= 0x10;
		page_put(&im, 0, p0);
		page_put(&im, 1, p1);
	}
	assert_int_equal(img_load(&im, &bs), -EUCLEAN);
	img_free(&im);
	img_make(&im);
	{
		uint32_t newest = (uint32_t)(im.s.seq % 2);
		unsigned char *p = page_get(&im, newest);

		set_bad_crc(p);
		page_put(&im, newest, p);
	}
	/* the older super block names an older checkpoint: no crash, and
	 * whatever check finds, repair makes it clean */
	img_check(&im, BLOB_CHECK_REPAIR);
	assert_int_equal(img_check(&im, 0), 0);
	img_free(&im);
}

/* --- device size ---------------------------------------------------------- */

static struct bdev *ram_copy(struct bdev *src, uint32_t bs, uint64_t bytes)
{
	struct bdev_ram_config rc = {
		.block_size = bs, .block_count = bytes / bs,
	};
	void *buf = bst_alloc(BLOB_PAGE_SIZE);
	struct bdev *dst;

	assert_int_equal(bdev_ram_create(&rc, &dst), 0);
	for (uint64_t p = 0; p < bytes / BLOB_PAGE_SIZE; p++) {
		raw_io(src, p, buf, false);
		raw_io(dst, p, buf, true);
	}
	free(buf);
	return dst;
}

static void test_device(void **s)
{
	struct blob_store *bs;
	struct bdev *small;
	struct img im;

	img_make(&im);
	small = ram_copy(im.dev, 512, geo.dev_bytes / 2);
	assert_int_equal(bst_load(small, false, &bs), -EUCLEAN);
	assert_int_equal(bdev_destroy(small), 0);
	small = ram_copy(im.dev, 512, 8192);
	assert_int_equal(bst_load(small, false, &bs), -EUCLEAN);
	assert_int_equal(bdev_destroy(small), 0);
	small = ram_copy(im.dev, 4096, geo.dev_bytes);
	assert_int_equal(bst_load(small, false, &bs), -EINVAL);
	assert_int_equal(bdev_destroy(small), 0);
	{
		struct bdev_ram_config rc = { .block_size = 512,
					      .block_count = 4 };

		assert_int_equal(bdev_ram_create(&rc, &small), 0);
		assert_int_equal(bst_load(small, false, &bs), -EILSEQ);
		assert_int_equal(bdev_destroy(small), 0);
	}
	img_free(&im);
}

/* --- checkpoint ----------------------------------------------------------- */

static void test_checkpoint(void **s)
{
	struct blob_store *bs;
	struct img im;
	unsigned char *p;
	uint64_t area;

	/* header CRC */
	img_make(&im);
	area = im.s.ckpt_start[im.s.ckpt_area];
	p = page_get(&im, area);
	p[60] ^= 4;
	page_put(&im, area, p);
	assert_int_equal(img_load(&im, &bs), -EUCLEAN);
	img_free(&im);
	/* a bitmap byte */
	img_make(&im);
	area = im.s.ckpt_start[im.s.ckpt_area];
	p = page_get(&im, area + 1);
	p[100] ^= 1;
	page_put(&im, area + 1, p);
	assert_int_equal(img_load(&im, &bs), -EUCLEAN);
	img_free(&im);
	/* counts that disagree with the bitmaps, correctly checksummed */
	img_make(&im);
	area = im.s.ckpt_start[im.s.ckpt_area];
	p = page_get(&im, area);
	blob_le64_put(p + offsetof(struct blob_disk_ckpt, blob_count), 7);
	blob_le32_put(p + offsetof(struct blob_disk_ckpt, crc),
		      blob_crc32c_skip(p, BLOB_PAGE_SIZE,
				       offsetof(struct blob_disk_ckpt, crc)));
	page_put(&im, area, p);
	assert_int_equal(img_load(&im, &bs), -EUCLEAN);
	img_free(&im);
}

/* --- journal -------------------------------------------------------------- */

/* Mark the super block dirty and put one transaction at journal page 0. */
static void journal_put(struct img *im, const struct blob_rec *recs,
			uint32_t nrec, bool good_crc)
{
	struct blob_txn_hdr h = { .pages = 1, .seq = im->s.journal_seq,
				  .nrec = nrec };
	uint32_t slot = (uint32_t)(im->s.seq % 2);
	unsigned char *t = bst_alloc(BLOB_PAGE_SIZE);
	unsigned char *sb = bst_alloc(BLOB_PAGE_SIZE);

	memcpy(h.uuid, im->s.uuid, 16);
	blob_txn_hdr_encode(&h, t);
	for (uint32_t i = 0; i < nrec; i++)
		blob_rec_encode(&recs[i], t + BLOB_TXN_HDR_SIZE + 16 * i);
	blob_le32_put(t + offsetof(struct blob_disk_txn, crc),
		      blob_crc32c_skip(t, BLOB_PAGE_SIZE,
				       offsetof(struct blob_disk_txn, crc)) ^
			      (good_crc ? 0 : 1));
	page_put(im, im->s.journal_start, t);
	im->s.flags = 0;
	blob_super_encode(&im->s, sb);
	page_put(im, slot, sb);
}

static void test_journal(void **s)
{
	struct blob_rec free_unused = { .type = BLOB_REC_MD_FREE, .a = 60 };
	struct blob_rec bad_type = { .type = 99 };
	struct blob_rec cl_twice = { .type = BLOB_REC_CL_ALLOC_RUN,
				     .b = 1ull << 32 };
	struct blob_rec grow_back = { .type = BLOB_REC_GROW, .b = 3 };
	struct blob_store *bs;
	struct img im;

	/* a dirty image with nothing in the journal loads */
	img_make(&im);
	journal_put(&im, &free_unused, 1, false);
	assert_int_equal(img_check(&im, 0), 0);
	img_free(&im);
	/* checksummed transactions that break the rules */
	img_make(&im);
	journal_put(&im, &free_unused, 1, true);
	assert_int_equal(img_load(&im, &bs), -EUCLEAN);
	img_free(&im);
	img_make(&im);
	journal_put(&im, &bad_type, 1, true);
	assert_int_equal(img_load(&im, &bs), -EUCLEAN);
	img_free(&im);
	img_make(&im);
	cl_twice.b |= im.s.data_start - 1; /* a reserved cluster */
	journal_put(&im, &cl_twice, 1, true);
	assert_int_equal(img_load(&im, &bs), -EUCLEAN);
	img_free(&im);
	img_make(&im);
	journal_put(&im, &grow_back, 1, true);
	assert_int_equal(img_load(&im, &bs), -EUCLEAN);
	img_free(&im);
}

/* --- blob metadata -------------------------------------------------------- */

static void test_md_crc(void **s)
{
	struct img im;
	unsigned char *p;

	img_make(&im);
	p = page_get(&im, md_page(&im, blob_id_page(im.b)));
	p[300] ^= 0x40; /* CRC now wrong */
	page_put(&im, md_page(&im, blob_id_page(im.b)), p);
	assert_int_equal(img_open(&im, im.b), -EUCLEAN);
	assert_int_equal(img_open(&im, im.a), 0);
	assert_true(img_check(&im, 0) > 0);
	repair_and_verify(&im, im.a);
	assert_int_equal(img_open(&im, im.b), -ENOENT);
	img_free(&im);
	/* an extent page */
	img_make(&im);
	p = page_get(&im, md_page(&im, extent_page(&im, im.a, 0)));
	p[400] ^= 1;
	page_put(&im, md_page(&im, extent_page(&im, im.a, 0)), p);
	assert_int_equal(img_open(&im, im.a), -EUCLEAN);
	assert_true(img_check(&im, 0) > 0);
	img_free(&im);
}

/* Make b's record need a second chain page, then make that page loop. */
static void set_next(void *page, void *arg)
{
	blob_le32_put((unsigned char *)page + 0x18, *(uint32_t *)arg);
	blob_le32_put((unsigned char *)page + 0x1C, BLOB_MD_PAYLOAD);
}

static void test_chain_loop(void **s)
{
	struct img im;
	uint32_t root;

	img_make(&im);
	root = blob_id_page(im.b);
	/* the root page links to itself */
	md_patch(&im, root, set_next, &root);
	assert_int_equal(img_open(&im, im.b), -EUCLEAN);
	assert_true(img_check(&im, 0) > 0);
	repair_and_verify(&im, im.a);
	img_free(&im);
}

struct slot_arg {
	uint32_t slot;
	uint32_t value;
};

static void set_slot(void *page, void *arg)
{
	struct slot_arg *a = arg;

	blob_ep_slot_put(page, a->slot, a->value);
}

static void test_clusters(void **s)
{
	struct slot_arg out = { .slot = 1, .value = 0x7FFFFFF0 };
	struct slot_arg past = { .slot = 7, .value = 0 };
	struct slot_arg twice = { .slot = 2 };
	struct img im;
	unsigned char *p;

	/* out of range: open refuses, repair zeroes it (a becomes thin) */
	img_make(&im);
	md_patch(&im, extent_page(&im, im.a, 0), set_slot, &out);
	assert_int_equal(img_open(&im, im.a), -EUCLEAN);
	assert_true(img_check(&im, 0) > 0);
	repair_and_verify(&im, im.a);
	img_free(&im);
	/* a slot past the end of the blob */
	img_make(&im);
	p = page_get(&im, md_page(&im, extent_page(&im, im.a, 0)));
	past.value = blob_ep_slot_get(p, 0);
	free(p);
	md_patch(&im, extent_page(&im, im.b, 0), set_slot, &past);
	assert_int_equal(img_open(&im, im.b), -EUCLEAN);
	img_free(&im);
	/* overlapping extents: b names a's first cluster */
	img_make(&im);
	p = page_get(&im, md_page(&im, extent_page(&im, im.a, 0)));
	twice.value = blob_ep_slot_get(p, 0);
	free(p);
	md_patch(&im, extent_page(&im, im.b, 0), set_slot, &twice);
	assert_true(img_check(&im, 0) > 0);
	repair_and_verify(&im, im.a);
	img_free(&im);
}

/* Record fields at the start of the root page's payload. */
struct rec_arg {
	size_t off;
	uint64_t v;
	int width;
};

static void set_rec(void *page, void *arg)
{
	struct rec_arg *a = arg;
	unsigned char *r = (unsigned char *)page + BLOB_MD_HDR_SIZE + a->off;

	if (a->width == 8)
		blob_le64_put(r, a->v);
	else
		blob_le32_put(r, (uint32_t)a->v);
}

static void test_records(void **s)
{
	struct rec_arg unknown = { .off = 8, .v = 1u << 7, .width = 4 };
	struct rec_arg children = { .off = 12, .v = 3, .width = 4 };
	struct rec_arg extents = { .off = 0x18, .v = 1000, .width = 4 };
	struct img im;

	img_make(&im);
	md_patch(&im, blob_id_page(im.b), set_rec, &unknown);
	assert_int_equal(img_open(&im, im.b), -EILSEQ);
	img_free(&im);
	img_make(&im);
	md_patch(&im, blob_id_page(im.b), set_rec, &extents);
	assert_int_equal(img_open(&im, im.b), -EUCLEAN);
	img_free(&im);
	img_make(&im);
	md_patch(&im, blob_id_page(im.b), set_rec, &children);
	assert_int_equal(img_open(&im, im.b), 0);
	assert_true(img_check(&im, 0) > 0);
	repair_and_verify(&im, im.a);
	img_free(&im);
}

/* a and b are made each other's parent (and read-only): a loop */
static void test_parent_loop(void **s)
{
	struct rec_arg ro = { .off = 8, .v = BLOB_REC_READ_ONLY | BLOB_REC_THIN,
			      .width = 4 };
	struct rec_arg pa, pb, one = { .off = 12, .v = 1, .width = 4 };
	struct img im;

	img_make(&im);
	pa = (struct rec_arg){ .off = 16, .v = im.b, .width = 8 };
	pb = (struct rec_arg){ .off = 16, .v = im.a, .width = 8 };
	md_patch(&im, blob_id_page(im.a), set_rec, &ro);
	md_patch(&im, blob_id_page(im.b), set_rec, &ro);
	md_patch(&im, blob_id_page(im.a), set_rec, &pa);
	md_patch(&im, blob_id_page(im.b), set_rec, &pb);
	md_patch(&im, blob_id_page(im.a), set_rec, &one);
	md_patch(&im, blob_id_page(im.b), set_rec, &one);
	assert_int_equal(img_open(&im, im.a), -EUCLEAN);
	assert_int_equal(img_open(&im, im.b), -EUCLEAN);
	assert_true(img_check(&im, 0) > 0);
	assert_true(img_check(&im, BLOB_CHECK_REPAIR) > 0);
	assert_int_equal(img_check(&im, 0), 0);
	assert_int_equal(img_open(&im, im.a), 0);
	img_free(&im);
}

/* Recompute the checkpoint's bitmap CRC and header CRC after an edit. */
static void ckpt_reseal(struct img *im, uint64_t area, unsigned char *h)
{
	size_t len = (size_t)(im->s.ckpt_pages - 1) * BLOB_PAGE_SIZE;
	unsigned char *all = bst_alloc(len);

	for (uint32_t i = 0; i < im->s.ckpt_pages - 1; i++) {
		unsigned char *pg = page_get(im, area + 1 + i);

		memcpy(all + (size_t)i * BLOB_PAGE_SIZE, pg, BLOB_PAGE_SIZE);
		free(pg);
	}
	blob_le32_put(h + offsetof(struct blob_disk_ckpt, bitmap_crc),
		      blob_crc32c(all, len));
	free(all);
	blob_le32_put(h + offsetof(struct blob_disk_ckpt, crc),
		      blob_crc32c_skip(h, BLOB_PAGE_SIZE,
				       offsetof(struct blob_disk_ckpt, crc)));
	page_put(im, area, h);
}

/* A cluster marked in use that nobody owns: a leak, found and freed. */
static void test_bitmaps(void **s)
{
	uint64_t last = geo.dev_bytes / geo.cluster_size - 1, area;
	size_t used = offsetof(struct blob_disk_ckpt, clusters_used);
	struct blob_store *bs;
	unsigned char *h, *bits;
	struct img im;

	img_make(&im);
	area = im.s.ckpt_start[im.s.ckpt_area];
	bits = page_get(&im, area + 1);
	bits[last / 8] |= (unsigned char)(1u << (last % 8));
	page_put(&im, area + 1, bits);
	h = page_get(&im, area);
	blob_le64_put(h + used, blob_le64_get(h + used) + 1);
	ckpt_reseal(&im, area, h);
	assert_int_equal(img_load(&im, &bs), 0);
	assert_int_equal(bst_unload(bs), 0);
	assert_int_equal(img_check(&im, 0), 1);
	repair_and_verify(&im, im.a);
	img_free(&im);
}

static int teardown(void **s)
{
	bst_reactor_destroy();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_super),
		cmocka_unit_test(test_device),
		cmocka_unit_test(test_checkpoint),
		cmocka_unit_test(test_journal),
		cmocka_unit_test(test_md_crc),
		cmocka_unit_test(test_chain_loop),
		cmocka_unit_test(test_clusters),
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_parent_loop),
		cmocka_unit_test(test_bitmaps),
	};

	log_set_level(LOG_LEVEL_ERROR);
	bst_reactor();
	return cmocka_run_group_tests(tests, NULL, teardown);
}
