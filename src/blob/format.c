// SPDX-License-Identifier: MIT
/*
 * format.c - encoding, decoding and checking of the on-disk structures
 * (docs/FORMAT.md).  Decoders validate everything that can be checked on a
 * structure alone; relations between structures are checked by their users.
 */
#include <errno.h>
#include <isa-l/crc.h>

#include "blob_format.h"

#define CRC_INIT BLOB_CRC_INIT

static uint32_t crc_update(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	/* crc32_iscsi() takes an int length */
	while (len > 0) {
		int n = len > (1u << 30) ? (1 << 30) : (int)len;

		crc = crc32_iscsi((unsigned char *)p, n, crc);
		p += n;
		len -= (size_t)n;
	}
	return crc;
}

uint32_t blob_crc32c_update(uint32_t crc, const void *buf, size_t len)
{
	return crc_update(crc, buf, len);
}

uint32_t blob_crc32c(const void *buf, size_t len)
{
	return crc_update(CRC_INIT, buf, len) ^ CRC_INIT;
}

uint32_t blob_crc32c_skip(const void *buf, size_t len, size_t crc_off)
{
	static const unsigned char zero[4];
	const unsigned char *p = buf;
	uint32_t crc = crc_update(CRC_INIT, p, crc_off);

	crc = crc_update(crc, zero, sizeof(zero));
	crc = crc_update(crc, p + crc_off + 4, len - crc_off - 4);
	return crc ^ CRC_INIT;
}

static bool all_zero(const void *buf, size_t len)
{
	const unsigned char *p = buf;

	for (size_t i = 0; i < len; i++) {
		if (p[i])
			return false;
	}
	return true;
}

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

static bool is_pow2(uint32_t v)
{
	return v && (v & (v - 1)) == 0;
}

/* --- layout --------------------------------------------------------------- */

uint32_t blob_layout_cluster_bitmap_pages(const struct blob_super *s)
{
	return (uint32_t)div_up(s->cluster_capacity, BLOB_BITS_PER_PAGE);
}

uint32_t blob_layout_md_bitmap_pages(const struct blob_super *s)
{
	return (uint32_t)div_up(s->md_pages, BLOB_BITS_PER_PAGE);
}

int blob_layout_compute(struct blob_super *s)
{
	uint64_t ckpt, md_end;

	if (s->cluster_capacity > BLOB_CAPACITY_MAX ||
	    s->md_pages > BLOB_MD_PAGES_MAX ||
	    s->journal_pages > BLOB_JOURNAL_MAX || s->cluster_size == 0)
		return -EINVAL;
	ckpt = 1 + (uint64_t)blob_layout_cluster_bitmap_pages(s) +
	       2 * (uint64_t)blob_layout_md_bitmap_pages(s);
	s->ckpt_pages = (uint32_t)ckpt;
	s->journal_start = 2;
	s->ckpt_start[0] = s->journal_start + s->journal_pages;
	s->ckpt_start[1] = s->ckpt_start[0] + ckpt;
	s->md_start = s->ckpt_start[1] + ckpt;
	md_end = s->md_start + s->md_pages;
	s->data_start = div_up(md_end * BLOB_PAGE_SIZE, s->cluster_size);
	return 0;
}

/* --- super block ---------------------------------------------------------- */

void blob_super_encode(const struct blob_super *s, void *page)
{
	struct blob_disk_super d;

	memset(&d, 0, sizeof(d));
	memcpy(d.magic, BLOB_SUPER_MAGIC, 8);
	d.version = htole32(BLOB_VERSION);
	d.seq = htole64(s->seq);
	d.flags = htole32(s->flags);
	memcpy(d.uuid, s->uuid, 16);
	d.block_size = htole32(s->block_size);
	d.cluster_size = htole32(s->cluster_size);
	d.page_size = htole32(BLOB_PAGE_SIZE);
	d.md_pages = htole32(s->md_pages);
	d.journal_start = htole64(s->journal_start);
	d.journal_pages = htole32(s->journal_pages);
	d.ckpt_pages = htole32(s->ckpt_pages);
	d.ckpt_start[0] = htole64(s->ckpt_start[0]);
	d.ckpt_start[1] = htole64(s->ckpt_start[1]);
	d.md_start = htole64(s->md_start);
	d.data_start = htole64(s->data_start);
	d.cluster_capacity = htole64(s->cluster_capacity);
	d.ckpt_area = htole32(s->ckpt_area);
	d.ckpt_seq = htole64(s->ckpt_seq);
	d.journal_seq = htole64(s->journal_seq);
	memcpy(page, &d, sizeof(d));
	blob_le32_put((unsigned char *)page + offsetof(struct blob_disk_super,
						      crc),
		      blob_crc32c_skip(page, BLOB_PAGE_SIZE,
				       offsetof(struct blob_disk_super, crc)));
}

static void super_fields(const struct blob_disk_super *d, struct blob_super *s)
{
	s->seq = le64toh(d->seq);
	s->flags = le32toh(d->flags);
	memcpy(s->uuid, d->uuid, 16);
	s->block_size = le32toh(d->block_size);
	s->cluster_size = le32toh(d->cluster_size);
	s->md_pages = le32toh(d->md_pages);
	s->journal_start = le64toh(d->journal_start);
	s->journal_pages = le32toh(d->journal_pages);
	s->ckpt_pages = le32toh(d->ckpt_pages);
	s->ckpt_start[0] = le64toh(d->ckpt_start[0]);
	s->ckpt_start[1] = le64toh(d->ckpt_start[1]);
	s->md_start = le64toh(d->md_start);
	s->data_start = le64toh(d->data_start);
	s->cluster_capacity = le64toh(d->cluster_capacity);
	s->ckpt_area = le32toh(d->ckpt_area);
	s->ckpt_seq = le64toh(d->ckpt_seq);
	s->journal_seq = le64toh(d->journal_seq);
}

static bool super_geometry_ok(const struct blob_super *s)
{
	struct blob_super want = *s;

	if ((s->block_size != 512 && s->block_size != 4096) ||
	    !is_pow2(s->cluster_size) || s->cluster_size < BLOB_CLUSTER_MIN ||
	    s->cluster_size > BLOB_CLUSTER_MAX ||
	    s->md_pages < BLOB_MD_PAGES_MIN ||
	    s->md_pages > BLOB_MD_PAGES_MAX ||
	    s->journal_pages < BLOB_JOURNAL_MIN ||
	    s->journal_pages > BLOB_JOURNAL_MAX ||
	    s->cluster_capacity > BLOB_CAPACITY_MAX || s->ckpt_area > 1)
		return false;
	if (blob_layout_compute(&want) != 0 ||
	    s->journal_pages < 2 * blob_layout_cluster_bitmap_pages(s) + 8)
		return false;
	return want.ckpt_pages == s->ckpt_pages &&
	       want.journal_start == s->journal_start &&
	       want.ckpt_start[0] == s->ckpt_start[0] &&
	       want.ckpt_start[1] == s->ckpt_start[1] &&
	       want.md_start == s->md_start &&
	       want.data_start == s->data_start &&
	       s->data_start < s->cluster_capacity;
}

int blob_super_decode(const void *page, uint32_t slot, struct blob_super *s)
{
	const size_t crc_off = offsetof(struct blob_disk_super, crc);
	struct blob_disk_super d;

	memcpy(&d, page, sizeof(d));
	if (memcmp(d.magic, BLOB_SUPER_MAGIC, 8) != 0)
		return -EILSEQ;
	if (blob_crc32c_skip(page, BLOB_PAGE_SIZE, crc_off) != le32toh(d.crc))
		return -EUCLEAN;
	/* a checksummed super block of another version is not ours to read */
	if (le32toh(d.version) != BLOB_VERSION || d.incompat != 0)
		return -EILSEQ;
	super_fields(&d, s);
	if (le32toh(d.page_size) != BLOB_PAGE_SIZE || d.reserved0 != 0 ||
	    !all_zero(d.reserved, sizeof(d.reserved)) ||
	    (s->flags & ~BLOB_SUPER_CLEAN) != 0 || s->seq == 0 ||
	    s->seq % 2 != slot || !super_geometry_ok(s))
		return -EUCLEAN;
	return 0;
}

/* --- checkpoint header ---------------------------------------------------- */

void blob_ckpt_hdr_encode(const struct blob_ckpt_hdr *h, void *page)
{
	struct blob_disk_ckpt d;

	memset(&d, 0, sizeof(d));
	memcpy(d.magic, BLOB_CKPT_MAGIC, 8);
	d.bitmap_crc = htole32(h->bitmap_crc);
	d.seq = htole64(h->seq);
	memcpy(d.uuid, h->uuid, 16);
	d.cluster_count = htole64(h->cluster_count);
	d.clusters_used = htole64(h->clusters_used);
	d.md_pages_used = htole64(h->md_pages_used);
	d.blob_count = htole64(h->blob_count);
	d.next_gen = htole32(h->next_gen);
	memcpy(page, &d, sizeof(d));
	blob_le32_put((unsigned char *)page + offsetof(struct blob_disk_ckpt,
						      crc),
		      blob_crc32c_skip(page, BLOB_PAGE_SIZE,
				       offsetof(struct blob_disk_ckpt, crc)));
}

int blob_ckpt_hdr_decode(const void *page, struct blob_ckpt_hdr *h)
{
	const size_t crc_off = offsetof(struct blob_disk_ckpt, crc);
	struct blob_disk_ckpt d;

	memcpy(&d, page, sizeof(d));
	if (memcmp(d.magic, BLOB_CKPT_MAGIC, 8) != 0 ||
	    blob_crc32c_skip(page, BLOB_PAGE_SIZE, crc_off) != le32toh(d.crc) ||
	    !all_zero(d.reserved, sizeof(d.reserved)))
		return -EUCLEAN;
	h->bitmap_crc = le32toh(d.bitmap_crc);
	h->seq = le64toh(d.seq);
	memcpy(h->uuid, d.uuid, 16);
	h->cluster_count = le64toh(d.cluster_count);
	h->clusters_used = le64toh(d.clusters_used);
	h->md_pages_used = le64toh(d.md_pages_used);
	h->blob_count = le64toh(d.blob_count);
	h->next_gen = le32toh(d.next_gen);
	return 0;
}

/* --- md pages ------------------------------------------------------------- */

void blob_md_hdr_encode(const struct blob_md_hdr *h, void *page)
{
	struct blob_disk_md_hdr d;

	memcpy(d.magic, BLOB_MD_MAGIC, 4);
	d.crc = 0;
	d.blob_id = htole64(h->blob_id);
	d.type = htole16(h->type);
	d.reserved = 0;
	d.index = htole32(h->index);
	d.next = htole32(h->next);
	d.used = htole32(h->used);
	memcpy(page, &d, sizeof(d));
}

void blob_md_seal(void *page)
{
	const size_t off = offsetof(struct blob_disk_md_hdr, crc);

	blob_le32_put((unsigned char *)page + off,
		      blob_crc32c_skip(page, BLOB_PAGE_SIZE, off));
}

int blob_md_hdr_decode(const void *page, struct blob_md_hdr *h)
{
	const size_t off = offsetof(struct blob_disk_md_hdr, crc);
	struct blob_disk_md_hdr d;

	memcpy(&d, page, sizeof(d));
	if (memcmp(d.magic, BLOB_MD_MAGIC, 4) != 0 ||
	    blob_crc32c_skip(page, BLOB_PAGE_SIZE, off) != le32toh(d.crc) ||
	    d.reserved != 0)
		return -EUCLEAN;
	h->blob_id = le64toh(d.blob_id);
	h->type = le16toh(d.type);
	h->index = le32toh(d.index);
	h->next = le32toh(d.next);
	h->used = le32toh(d.used);
	if (h->used > BLOB_MD_PAYLOAD || h->blob_id == 0)
		return -EUCLEAN;
	switch (h->type) {
	case BLOB_MD_ROOT:
		return h->index == 0 ? 0 : -EUCLEAN;
	case BLOB_MD_CONT:
		return h->index > 0 && h->index < BLOB_CHAIN_MAX ? 0 : -EUCLEAN;
	case BLOB_MD_EXTENT:
		return h->used == BLOB_MD_PAYLOAD && h->next == BLOB_PAGE_NONE
			       ? 0 : -EUCLEAN;
	}
	return -EUCLEAN;
}

/* --- journal -------------------------------------------------------------- */

void blob_txn_hdr_encode(const struct blob_txn_hdr *h, void *page)
{
	struct blob_disk_txn d;

	memset(&d, 0, sizeof(d));
	memcpy(d.magic, BLOB_TXN_MAGIC, 8);
	d.pages = htole32(h->pages);
	d.seq = htole64(h->seq);
	memcpy(d.uuid, h->uuid, 16);
	d.nrec = htole32(h->nrec);
	d.npay = htole32(h->npay);
	memcpy(page, &d, sizeof(d));
}

int blob_txn_hdr_decode(const void *page, struct blob_txn_hdr *h)
{
	struct blob_disk_txn d;

	memcpy(&d, page, sizeof(d));
	if (memcmp(d.magic, BLOB_TXN_MAGIC, 8) != 0 ||
	    !all_zero(d.reserved, sizeof(d.reserved)))
		return -EUCLEAN;
	h->pages = le32toh(d.pages);
	h->seq = le64toh(d.seq);
	memcpy(h->uuid, d.uuid, 16);
	h->nrec = le32toh(d.nrec);
	h->npay = le32toh(d.npay);
	return 0;
}

uint32_t blob_txn_pages(uint32_t nrec, uint32_t npay)
{
	uint64_t bytes = BLOB_TXN_HDR_SIZE + (uint64_t)nrec * BLOB_TXN_REC_SIZE;
	uint64_t pages = div_up(bytes, BLOB_PAGE_SIZE) + npay;

	return pages > UINT32_MAX ? UINT32_MAX : (uint32_t)pages;
}

bool blob_rec_has_payload(uint32_t type)
{
	return type == BLOB_REC_PAGE || type == BLOB_REC_CL_ALLOC_BITS ||
	       type == BLOB_REC_CL_FREE_BITS;
}

void blob_rec_encode(const struct blob_rec *r, void *p)
{
	struct blob_disk_rec d = {
		.type = htole32(r->type),
		.a = htole32(r->a),
		.b = htole64(r->b),
	};

	memcpy(p, &d, sizeof(d));
}

void blob_rec_decode(const void *p, struct blob_rec *r)
{
	struct blob_disk_rec d;

	memcpy(&d, p, sizeof(d));
	r->type = le32toh(d.type);
	r->a = le32toh(d.a);
	r->b = le64toh(d.b);
}
