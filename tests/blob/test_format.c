// SPDX-License-Identifier: MIT
/*
 * test_format.c - the on-disk encoding (src/blob/format.c, txn.c, the
 * bitmap serialization): round trips, the CRC, the layout rules and the
 * cluster change encoding of FORMAT.md.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blob/blob_internal.h"

static void test_crc(void **s)
{
	static const char check[] = "123456789";
	unsigned char page[64] = { 1, 2, 3 };
	uint32_t skipped;

	assert_int_equal(blob_crc32c(check, 9), 0xE3069283u);
	/* with the CRC field skipped the field's content does not matter */
	blob_le32_put(page + 8, 0x12345678);
	skipped = blob_crc32c_skip(page, sizeof(page), 8);
	memset(page + 8, 0, 4);
	assert_int_equal(skipped, blob_crc32c(page, sizeof(page)));
}

static struct blob_super sample_super(void)
{
	struct blob_super s = {
		.seq = 6, .flags = BLOB_SUPER_CLEAN, .block_size = 512,
		.cluster_size = 65536, .md_pages = 100000,
		.journal_pages = 64, .cluster_capacity = 70000,
		.ckpt_area = 1, .ckpt_seq = 6, .journal_seq = 41,
	};

	for (int i = 0; i < 16; i++)
		s.uuid[i] = (uint8_t)(i * 17);
	assert_int_equal(blob_layout_compute(&s), 0);
	return s;
}

static void test_layout(void **s)
{
	struct blob_super sb = sample_super();

	/* 70000 clusters: 3 bitmap pages; 100000 md pages: 4 each */
	assert_int_equal(blob_layout_cluster_bitmap_pages(&sb), 3);
	assert_int_equal(blob_layout_md_bitmap_pages(&sb), 4);
	assert_int_equal(sb.ckpt_pages, 1 + 3 + 8);
	assert_int_equal(sb.journal_start, 2);
	assert_int_equal(sb.ckpt_start[0], 66);
	assert_int_equal(sb.ckpt_start[1], 78);
	assert_int_equal(sb.md_start, 90);
	/* (90 + 100000) pages of 4 KiB in 64 KiB clusters, rounded up */
	assert_int_equal(sb.data_start, (100090 * 4096 + 65535) / 65536);
}

static void test_super_codec(void **s)
{
	struct blob_super in = sample_super(), out;
	unsigned char *page = calloc(1, BLOB_PAGE_SIZE);

	blob_super_encode(&in, page);
	assert_memory_equal(page, "VHFSBLOB", 8);
	assert_int_equal(blob_le32_get(page + 8), 1);
	assert_int_equal(blob_super_decode(page, 0, &out), 0);
	assert_int_equal(out.seq, in.seq);
	assert_int_equal(out.flags, in.flags);
	assert_memory_equal(out.uuid, in.uuid, 16);
	assert_int_equal(out.block_size, in.block_size);
	assert_int_equal(out.cluster_size, in.cluster_size);
	assert_int_equal(out.md_pages, in.md_pages);
	assert_int_equal(out.journal_pages, in.journal_pages);
	assert_int_equal(out.cluster_capacity, in.cluster_capacity);
	assert_int_equal(out.data_start, in.data_start);
	assert_int_equal(out.ckpt_area, in.ckpt_area);
	assert_int_equal(out.ckpt_seq, in.ckpt_seq);
	assert_int_equal(out.journal_seq, in.journal_seq);
	/* a copy sits in page seq % 2 only */
	assert_int_equal(blob_super_decode(page, 1, &out), -EUCLEAN);
	page[0x200] ^= 1;
	assert_int_equal(blob_super_decode(page, 0, &out), -EUCLEAN);
	page[0x200] ^= 1;
	page[0] = 'X';
	assert_int_equal(blob_super_decode(page, 0, &out), -EILSEQ);
	/* geometry that disagrees with the layout rules */
	in.md_start++;
	blob_super_encode(&in, page);
	assert_int_equal(blob_super_decode(page, 0, &out), -EUCLEAN);
	in = sample_super();
	in.journal_pages = 10; /* < 2 * 3 + 8 */
	assert_int_equal(blob_layout_compute(&in), 0);
	blob_super_encode(&in, page);
	assert_int_equal(blob_super_decode(page, 0, &out), -EUCLEAN);
	free(page);
}

static void test_md_codec(void **s)
{
	struct blob_md_hdr h = {
		.blob_id = 0x500000007ull, .type = BLOB_MD_EXTENT, .index = 3,
		.next = BLOB_PAGE_NONE, .used = BLOB_MD_PAYLOAD,
	}, out;
	unsigned char *page = calloc(1, BLOB_PAGE_SIZE);

	blob_md_hdr_encode(&h, page);
	blob_ep_slot_put(page, 1015, 0xABCDEF);
	blob_md_seal(page);
	assert_int_equal(blob_md_hdr_decode(page, &out), 0);
	assert_int_equal(out.blob_id, h.blob_id);
	assert_int_equal(out.index, 3);
	assert_int_equal(blob_ep_slot_get(page, 1015), 0xABCDEF);
	/* slot 1015 is the page's last word */
	assert_int_equal(blob_le32_get(page + 4092), 0xABCDEF);
	page[4000] ^= 1;
	assert_int_equal(blob_md_hdr_decode(page, &out), -EUCLEAN);
	/* an extent page must be full and unchained */
	h.next = 5;
	blob_md_hdr_encode(&h, page);
	blob_md_seal(page);
	assert_int_equal(blob_md_hdr_decode(page, &out), -EUCLEAN);
	free(page);
}

static void test_bitmap(void **s)
{
	struct blob_bitmap m;
	unsigned char out[16];

	assert_int_equal(blob_bitmap_init(&m, 100), 0);
	blob_bitmap_set(&m, 0);
	blob_bitmap_set(&m, 9);
	blob_bitmap_set(&m, 99);
	blob_bitmap_store(&m, out, sizeof(out));
	/* bit i is bit i % 8 of byte i / 8 */
	assert_int_equal(out[0], 0x01);
	assert_int_equal(out[1], 0x02);
	assert_int_equal(out[12], 0x08);
	assert_int_equal(blob_bitmap_find_clear(&m, 0, 100), 1);
	assert_int_equal(blob_bitmap_find_set(&m, 10, 100), 99);
	assert_int_equal(blob_bitmap_find_set(&m, 10, 99), 99);
	assert_int_equal(blob_bitmap_count(&m), 3);
	assert_true(blob_bits_clear_from(out, sizeof(out), 100));
	assert_false(blob_bits_clear_from(out, sizeof(out), 99));
	memset(m.w, 0, 16);
	blob_bitmap_load(&m, out);
	assert_true(blob_bitmap_test(&m, 99) && blob_bitmap_test(&m, 9));
	blob_bitmap_destroy(&m);
}

/* Cluster changes: runs up to 256 per bitmap page, else one page. */
static void test_delta_encoding(void **s)
{
	struct blob_change *c = blob_change_new();
	uint32_t runs = 0, bits = 0, pages = 0;

	/* 3 contiguous clusters: one run */
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(blob_change_cl_alloc(c, 100 + i), 0);
	/* 300 scattered in the next bitmap page: a bitmap */
	for (uint32_t i = 0; i < 300; i++)
		assert_int_equal(blob_change_cl_free(c, 32768 + 2 * i), 0);
	assert_int_equal(blob_change_seal(c), 0);
	for (uint32_t i = 0; i < c->nrec; i++) {
		const struct blob_rec *r = &c->recs[i];

		if (r->type == BLOB_REC_CL_ALLOC_RUN) {
			runs++;
			assert_int_equal(r->b, 100 | 3ull << 32);
		} else if (r->type == BLOB_REC_CL_FREE_BITS) {
			const unsigned char *p = c->pay[i];

			bits++;
			assert_int_equal(r->a, 1);
			assert_int_equal(p[0], 0x55);
			assert_int_equal(p[74], 0x55);
			assert_int_equal(p[75], 0);
		}
		pages += c->pay[i] != NULL;
	}
	assert_int_equal(runs, 1);
	assert_int_equal(bits, 1);
	assert_int_equal(pages, c->npay);
	assert_int_equal(blob_change_pages(c), 2);
	blob_change_free(c);
}

static void test_txn_codec(void **s)
{
	struct blob_txn_hdr h = { .pages = 3, .seq = 9, .nrec = 300,
				  .npay = 1 }, out;
	struct blob_rec r = { .type = BLOB_REC_ROOT_SET, .a = 7,
			      .b = 0x100000007ull }, r2;
	unsigned char page[BLOB_PAGE_SIZE] = { 0 };

	blob_txn_hdr_encode(&h, page);
	assert_int_equal(blob_txn_hdr_decode(page, &out), 0);
	assert_int_equal(out.seq, 9);
	assert_int_equal(out.nrec, 300);
	/* 64 + 300 * 16 bytes of records: 2 pages, plus one payload */
	assert_int_equal(blob_txn_pages(300, 1), 3);
	assert_int_equal(blob_txn_pages(0, 0), 1);
	assert_int_equal(blob_txn_pages(252, 0), 1);
	assert_int_equal(blob_txn_pages(253, 0), 2);
	blob_rec_encode(&r, page + 64);
	blob_rec_decode(page + 64, &r2);
	assert_int_equal(r2.type, r.type);
	assert_int_equal(r2.a, r.a);
	assert_int_equal(r2.b, r.b);
	assert_true(blob_rec_has_payload(BLOB_REC_PAGE));
	assert_true(blob_rec_has_payload(BLOB_REC_CL_ALLOC_BITS));
	assert_false(blob_rec_has_payload(BLOB_REC_MD_FREE));
	page[0] = 0;
	assert_int_equal(blob_txn_hdr_decode(page, &out), -EUCLEAN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_super_codec),
		cmocka_unit_test(test_md_codec),
		cmocka_unit_test(test_bitmap),
		cmocka_unit_test(test_delta_encoding),
		cmocka_unit_test(test_txn_codec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
