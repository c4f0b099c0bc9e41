/* SPDX-License-Identifier: MIT */
/*
 * blob_format.h - every on-disk structure of the blobstore, version 1.
 *
 * docs/FORMAT.md is the specification; this header is its transcription.
 * The disk structs hold little-endian values and are only ever copied to or
 * from page buffers; code works on the decoded host structs (struct
 * blob_super, ...) through the encode/decode functions in format.c.  The
 * static asserts pin every size and offset to the table in FORMAT.md.
 */
#ifndef VHOSTFS_BLOB_FORMAT_H
#define VHOSTFS_BLOB_FORMAT_H

#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define BLOB_PAGE_SIZE 4096u
#define BLOB_PAGE_NONE 0xFFFFFFFFu
#define BLOB_VERSION 1u

#define BLOB_SUPER_MAGIC "VHFSBLOB"
#define BLOB_CKPT_MAGIC "VHFSCKPT"
#define BLOB_TXN_MAGIC "VHFSJTXN"
#define BLOB_MD_MAGIC "VBMD"

/* geometry limits (FORMAT.md, super block and limits) */
#define BLOB_CLUSTER_MIN 4096u
#define BLOB_CLUSTER_MAX (1u << 30)
#define BLOB_CLUSTER_DEFAULT (1u << 20)
#define BLOB_MD_PAGES_MIN 16u
#define BLOB_MD_PAGES_MAX (1u << 31)
#define BLOB_JOURNAL_MIN 8u
#define BLOB_JOURNAL_MAX 16384u
#define BLOB_CAPACITY_MAX 0xFFFFFFFFull
#define BLOB_BITS_PER_PAGE (BLOB_PAGE_SIZE * 8u)

/* super block flags */
#define BLOB_SUPER_CLEAN (1u << 0)

/* md pages */
#define BLOB_MD_HDR_SIZE 32u
#define BLOB_MD_PAYLOAD (BLOB_PAGE_SIZE - BLOB_MD_HDR_SIZE) /* 4064 */
#define BLOB_EP_SLOTS (BLOB_MD_PAYLOAD / 4u)                /* 1016 */
#define BLOB_CHAIN_MAX 256u
#define BLOB_RECORD_MAX (BLOB_CHAIN_MAX * BLOB_MD_PAYLOAD)

enum blob_md_type {
	BLOB_MD_ROOT = 1,
	BLOB_MD_CONT = 2,
	BLOB_MD_EXTENT = 3,
};

/* blob record flags (FORMAT.md "The record") */
#define BLOB_REC_THIN (1u << 0)
#define BLOB_REC_READ_ONLY (1u << 1)
#define BLOB_REC_KNOWN (BLOB_REC_THIN | BLOB_REC_READ_ONLY)
#define BLOB_REC_HDR_SIZE 40u

/* xattr entries */
#define BLOB_XATTR_F_INTERNAL (1u << 0)
#define BLOB_XATTR_HDR_SIZE 8u
#define BLOB_XATTR_NAME_MAX 255u
#define BLOB_XATTR_VALUE_MAX 65536u

#define BLOB_PARENT_DEPTH_MAX 1024u

/* journal */
#define BLOB_TXN_HDR_SIZE 64u
#define BLOB_TXN_REC_SIZE 16u

enum blob_rec_type {
	BLOB_REC_PAGE = 1,
	BLOB_REC_MD_ALLOC = 2,
	BLOB_REC_MD_FREE = 3,
	BLOB_REC_ROOT_SET = 4,
	BLOB_REC_ROOT_CLEAR = 5,
	BLOB_REC_GROW = 6,
	BLOB_REC_CL_ALLOC_RUN = 7,
	BLOB_REC_CL_FREE_RUN = 8,
	BLOB_REC_CL_ALLOC_BITS = 9,
	BLOB_REC_CL_FREE_BITS = 10,
};

/* Bitmap-encoded cluster changes: runs up to this many, else a page. */
#define BLOB_CL_RUNS_MAX 256u

/* --- disk structs (little-endian fields) ---------------------------------- */

struct blob_disk_super {
	char magic[8];
	uint32_t version;
	uint32_t crc;
	uint64_t seq;
	uint32_t flags;
	uint32_t incompat;
	uint8_t uuid[16];
	uint32_t block_size;
	uint32_t cluster_size;
	uint32_t page_size;
	uint32_t md_pages;
	uint64_t journal_start;
	uint32_t journal_pages;
	uint32_t ckpt_pages;
	uint64_t ckpt_start[2];
	uint64_t md_start;
	uint64_t data_start;
	uint64_t cluster_capacity;
	uint32_t ckpt_area;
	uint32_t reserved0;
	uint64_t ckpt_seq;
	uint64_t journal_seq;
	uint8_t reserved[3952];
};
_Static_assert(sizeof(struct blob_disk_super) == BLOB_PAGE_SIZE, "super");
_Static_assert(offsetof(struct blob_disk_super, crc) == 0x0C, "super crc");
_Static_assert(offsetof(struct blob_disk_super, uuid) == 0x20, "uuid");
_Static_assert(offsetof(struct blob_disk_super, md_pages) == 0x3C, "mdp");
_Static_assert(offsetof(struct blob_disk_super, ckpt_start) == 0x50, "cks");
_Static_assert(offsetof(struct blob_disk_super, ckpt_area) == 0x78, "cka");
_Static_assert(offsetof(struct blob_disk_super, journal_seq) == 0x88, "jsq");
_Static_assert(offsetof(struct blob_disk_super, reserved) == 0x90, "rsv");

struct blob_disk_ckpt {
	char magic[8];
	uint32_t crc;
	uint32_t bitmap_crc;
	uint64_t seq;
	uint8_t uuid[16];
	uint64_t cluster_count;
	uint64_t clusters_used;
	uint64_t md_pages_used;
	uint64_t blob_count;
	uint32_t next_gen;
	uint8_t reserved[4020];
};
_Static_assert(sizeof(struct blob_disk_ckpt) == BLOB_PAGE_SIZE, "ckpt");
_Static_assert(offsetof(struct blob_disk_ckpt, cluster_count) == 0x28, "cc");
_Static_assert(offsetof(struct blob_disk_ckpt, next_gen) == 0x48, "gen");
_Static_assert(offsetof(struct blob_disk_ckpt, reserved) == 0x4C, "rsv");

struct blob_disk_md_hdr {
	char magic[4];
	uint32_t crc;
	uint64_t blob_id;
	uint16_t type;
	uint16_t reserved;
	uint32_t index;
	uint32_t next;
	uint32_t used;
};
_Static_assert(sizeof(struct blob_disk_md_hdr) == BLOB_MD_HDR_SIZE, "md");
_Static_assert(offsetof(struct blob_disk_md_hdr, type) == 0x10, "type");
_Static_assert(offsetof(struct blob_disk_md_hdr, used) == 0x1C, "used");

struct blob_disk_rec_hdr {
	uint64_t size;
	uint32_t flags;
	uint32_t children;
	uint64_t parent;
	uint32_t extent_count;
	uint32_t xattr_count;
	uint64_t reserved;
};
_Static_assert(sizeof(struct blob_disk_rec_hdr) == BLOB_REC_HDR_SIZE, "rec");
_Static_assert(offsetof(struct blob_disk_rec_hdr, extent_count) == 0x18, "e");

struct blob_disk_xattr {
	uint8_t flags;
	uint8_t name_len;
	uint16_t reserved;
	uint32_t value_len;
};
_Static_assert(sizeof(struct blob_disk_xattr) == BLOB_XATTR_HDR_SIZE, "xa");

struct blob_disk_txn {
	char magic[8];
	uint32_t crc;
	uint32_t pages;
	uint64_t seq;
	uint8_t uuid[16];
	uint32_t nrec;
	uint32_t npay;
	uint8_t reserved[16];
};
_Static_assert(sizeof(struct blob_disk_txn) == BLOB_TXN_HDR_SIZE, "txn");
_Static_assert(offsetof(struct blob_disk_txn, nrec) == 0x28, "nrec");

struct blob_disk_rec {
	uint32_t type;
	uint32_t a;
	uint64_t b;
};
_Static_assert(sizeof(struct blob_disk_rec) == BLOB_TXN_REC_SIZE, "rec");

/* --- little-endian helpers for byte buffers ------------------------------- */

static inline uint16_t blob_le16_get(const void *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return le16toh(v);
}

static inline uint32_t blob_le32_get(const void *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static inline uint64_t blob_le64_get(const void *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static inline void blob_le16_put(void *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, sizeof(v));
}

static inline void blob_le32_put(void *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

static inline void blob_le64_put(void *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

/* --- decoded (host) forms ------------------------------------------------- */

struct blob_super {
	uint64_t seq;
	uint32_t flags;
	uint8_t uuid[16];
	uint32_t block_size;
	uint32_t cluster_size;
	uint32_t md_pages;
	uint32_t journal_pages;
	uint32_t ckpt_pages;
	uint64_t journal_start;
	uint64_t ckpt_start[2];
	uint64_t md_start;
	uint64_t data_start;
	uint64_t cluster_capacity;
	uint32_t ckpt_area;
	uint64_t ckpt_seq;
	uint64_t journal_seq;
};

struct blob_ckpt_hdr {
	uint32_t bitmap_crc;
	uint64_t seq;
	uint8_t uuid[16];
	uint64_t cluster_count;
	uint64_t clusters_used;
	uint64_t md_pages_used;
	uint64_t blob_count;
	uint32_t next_gen;
};

struct blob_md_hdr {
	uint64_t blob_id;
	uint16_t type;
	uint32_t index;
	uint32_t next;
	uint32_t used;
};

struct blob_txn_hdr {
	uint32_t pages;
	uint64_t seq;
	uint8_t uuid[16];
	uint32_t nrec;
	uint32_t npay;
};

struct blob_rec {
	uint32_t type;
	uint32_t a;
	uint64_t b;
};

/* --- format.c ------------------------------------------------------------- */

/* CRC-32C of @len bytes (FORMAT.md "Conventions"). */
#define BLOB_CRC_INIT 0xFFFFFFFFu
/* Piecewise: start at BLOB_CRC_INIT, finish with ^ BLOB_CRC_INIT. */
uint32_t blob_crc32c_update(uint32_t crc, const void *buf, size_t len);
uint32_t blob_crc32c(const void *buf, size_t len);
/* CRC of a structure of @len bytes whose crc field is at @crc_off. */
uint32_t blob_crc32c_skip(const void *buf, size_t len, size_t crc_off);

/*
 * Fill the derived region fields of @s (ckpt_pages, journal_start,
 * ckpt_start, md_start, data_start) from journal_pages, md_pages,
 * cluster_size and cluster_capacity.  -EINVAL if they overflow.
 */
int blob_layout_compute(struct blob_super *s);
/* Pages of the cluster bitmap / of each md bitmap in a checkpoint area. */
uint32_t blob_layout_cluster_bitmap_pages(const struct blob_super *s);
uint32_t blob_layout_md_bitmap_pages(const struct blob_super *s);

void blob_super_encode(const struct blob_super *s, void *page);
/*
 * Decode and check page @slot (0/1).  Returns 0, -EILSEQ (no magic, other
 * version or incompat features) or -EUCLEAN (anything else wrong).
 */
int blob_super_decode(const void *page, uint32_t slot, struct blob_super *s);

void blob_ckpt_hdr_encode(const struct blob_ckpt_hdr *h, void *page);
/* -EUCLEAN unless magic, CRC and reserved bytes check. */
int blob_ckpt_hdr_decode(const void *page, struct blob_ckpt_hdr *h);

/* Header of md page @page: encode leaves the CRC for blob_md_seal(). */
void blob_md_hdr_encode(const struct blob_md_hdr *h, void *page);
/* Compute and store the CRC of a complete md page. */
void blob_md_seal(void *page);
/* -EUCLEAN unless magic, CRC, type and reserved fields check. */
int blob_md_hdr_decode(const void *page, struct blob_md_hdr *h);

void blob_txn_hdr_encode(const struct blob_txn_hdr *h, void *page);
/* Header fields only (no CRC check); -EUCLEAN if the magic is wrong. */
int blob_txn_hdr_decode(const void *page, struct blob_txn_hdr *h);
/* Pages of a transaction with @nrec records and @npay payload pages. */
uint32_t blob_txn_pages(uint32_t nrec, uint32_t npay);
/* Whether records of @type carry a payload page. */
bool blob_rec_has_payload(uint32_t type);

void blob_rec_encode(const struct blob_rec *r, void *p);
void blob_rec_decode(const void *p, struct blob_rec *r);

static inline uint32_t blob_ep_slot_get(const void *page, uint32_t i)
{
	return blob_le32_get((const unsigned char *)page + BLOB_MD_HDR_SIZE +
			     4u * i);
}

static inline void blob_ep_slot_put(void *page, uint32_t i, uint32_t v)
{
	blob_le32_put((unsigned char *)page + BLOB_MD_HDR_SIZE + 4u * i, v);
}

static inline uint64_t blob_id_make(uint32_t gen, uint32_t page)
{
	return (uint64_t)gen << 32 | page;
}

static inline uint32_t blob_id_page(uint64_t id)
{
	return (uint32_t)id;
}

static inline uint32_t blob_id_gen(uint64_t id)
{
	return (uint32_t)(id >> 32);
}

#endif /* VHOSTFS_BLOB_FORMAT_H */
