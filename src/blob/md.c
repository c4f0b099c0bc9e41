// SPDX-License-Identifier: MIT
/*
 * md.c - a blob's metadata in memory and its on-disk encoding: the record
 * (FORMAT.md "Root chain and the blob record") and extent pages, plus the
 * bookkeeping of which extents changed since the last commit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blob_internal.h"

uint32_t blob_extents_for(uint64_t clusters)
{
	return (uint32_t)((clusters + BLOB_EP_SLOTS - 1) / BLOB_EP_SLOTS);
}

/* --- the record ----------------------------------------------------------- */

size_t blob_record_size(const struct blob *b)
{
	return BLOB_REC_HDR_SIZE + 4 * (size_t)b->n_ep + b->xattr_bytes;
}

void blob_record_build(const struct blob *b, unsigned char *out)
{
	struct blob_disk_rec_hdr h = {
		.size = htole64(b->size),
		.flags = htole32(b->flags),
		.children = htole32(b->children),
		.parent = htole64(b->parent_id),
		.extent_count = htole32(b->n_ep),
		.xattr_count = htole32(b->nxattrs),
	};
	unsigned char *p = out + BLOB_REC_HDR_SIZE;

	memcpy(out, &h, sizeof(h));
	for (uint32_t k = 0; k < b->n_ep; k++, p += 4)
		blob_le32_put(p, b->ep[k].page);
	for (const struct blob_xattr *x = b->xattrs; x; x = x->next) {
		struct blob_disk_xattr d = {
			.flags = x->flags,
			.name_len = x->name_len,
			.value_len = htole32(x->value_len),
		};

		memcpy(p, &d, sizeof(d));
		p += sizeof(d);
		memcpy(p, x->data, (size_t)x->name_len + x->value_len);
		p += (size_t)x->name_len + x->value_len;
	}
}

static int xattr_cmp(const void *a, const void *b)
{
	const struct blob_xattr *x = *(const struct blob_xattr *const *)a;
	const struct blob_xattr *y = *(const struct blob_xattr *const *)b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c;

	if (x->flags != y->flags)
		return x->flags < y->flags ? -1 : 1;
	c = memcmp(x->data, y->data, n);
	if (c)
		return c;
	return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

/* Names must be unique per namespace: sort a copy and compare neighbours. */
static int xattrs_unique(const struct blob *b)
{
	struct blob_xattr **v;
	uint32_t n = 0;
	int rc = 0;

	if (b->nxattrs < 2)
		return 0;
	v = malloc(b->nxattrs * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (struct blob_xattr *x = b->xattrs; x; x = x->next)
		v[n++] = x;
	qsort(v, n, sizeof(*v), xattr_cmp);
	for (uint32_t i = 1; i < n && rc == 0; i++) {
		if (xattr_cmp(&v[i - 1], &v[i]) == 0)
			rc = -EUCLEAN;
	}
	free(v);
	return rc;
}

static void xattrs_free(struct blob *b)
{
	while (b->xattrs) {
		struct blob_xattr *next = b->xattrs->next;

		free(b->xattrs);
		b->xattrs = next;
	}
	b->nxattrs = 0;
	b->xattr_bytes = 0;
}

/* Parse @count xattr entries from [p, end); appended in order. */
static int xattrs_parse(struct blob *b, const unsigned char *p,
			const unsigned char *end, uint32_t count)
{
	struct blob_xattr **tail = &b->xattrs;

	for (uint32_t i = 0; i < count; i++) {
		struct blob_disk_xattr d;
		struct blob_xattr *x;
		size_t len;

		if ((size_t)(end - p) < sizeof(d))
			return -EUCLEAN;
		memcpy(&d, p, sizeof(d));
		len = (size_t)d.name_len + le32toh(d.value_len);
		if ((d.flags & ~BLOB_XATTR_F_INTERNAL) || d.name_len == 0 ||
		    d.reserved || le32toh(d.value_len) > BLOB_XATTR_VALUE_MAX ||
		    (size_t)(end - p) - sizeof(d) < len ||
		    memchr(p + sizeof(d), 0, d.name_len))
			return -EUCLEAN;
		x = malloc(sizeof(*x) + len);
		if (!x)
			return -ENOMEM;
		x->next = NULL;
		x->flags = d.flags;
		x->name_len = d.name_len;
		x->value_len = le32toh(d.value_len);
		memcpy(x->data, p + sizeof(d), len);
		*tail = x;
		tail = &x->next;
		b->nxattrs++;
		b->xattr_bytes += sizeof(d) + len;
		p += sizeof(d) + len;
	}
	return p == end ? 0 : -EUCLEAN;
}

int blob_record_parse(struct blob *b, const unsigned char *rec, size_t len)
{
	const struct blob_store *bs = b->bs;
	struct blob_disk_rec_hdr h;
	const unsigned char *p = rec + BLOB_REC_HDR_SIZE;
	uint32_t n_ep;
	int rc;

	if (len < BLOB_REC_HDR_SIZE)
		return -EUCLEAN;
	memcpy(&h, rec, sizeof(h));
	if (le32toh(h.flags) & ~BLOB_REC_KNOWN)
		return -EILSEQ;
	n_ep = le32toh(h.extent_count);
	if (h.reserved || n_ep != blob_extents_for(le64toh(h.size)) ||
	    (len - BLOB_REC_HDR_SIZE) / 4 < n_ep ||
	    le64toh(h.parent) == b->id)
		return -EUCLEAN;
	b->size = le64toh(h.size);
	b->flags = le32toh(h.flags);
	b->children = le32toh(h.children);
	b->parent_id = le64toh(h.parent);
	rc = blob_ep_reserve(b, n_ep);
	if (rc < 0)
		return rc;
	for (uint32_t k = 0; k < n_ep; k++, p += 4) {
		uint32_t page = blob_le32_get(p);

		if (page != BLOB_PAGE_NONE &&
		    (page >= bs->super.md_pages ||
		     !blob_bitmap_test(&bs->alloc.md_committed, page)))
			return -EUCLEAN;
		b->ep[k] = (struct blob_ep){ .page = page };
	}
	b->n_ep = n_ep;
	rc = xattrs_parse(b, p, rec + len, le32toh(h.xattr_count));
	if (rc == 0)
		rc = xattrs_unique(b);
	if (rc < 0)
		xattrs_free(b);
	return rc;
}

/* --- extent pages --------------------------------------------------------- */

/* Current value of slot @s of extent @k (0 past the end of the map). */
uint32_t blob_ep_cur(const struct blob *b, uint32_t k, uint32_t s)
{
	const struct blob_map *m = atomic_load(&((struct blob *)b)->map);
	uint64_t i = (uint64_t)k * BLOB_EP_SLOTS + s;

	return i < m->clusters ? blob_map_get(m, i) : 0;
}

void blob_ep_image(const struct blob *b, uint32_t k, void *page)
{
	struct blob_md_hdr h = {
		.blob_id = b->id, .type = BLOB_MD_EXTENT, .index = k,
		.next = BLOB_PAGE_NONE, .used = BLOB_MD_PAYLOAD,
	};

	memset(page, 0, BLOB_PAGE_SIZE);
	blob_md_hdr_encode(&h, page);
	for (uint32_t s = 0; s < BLOB_EP_SLOTS; s++)
		blob_ep_slot_put(page, s, blob_ep_cur(b, k, s));
	blob_md_seal(page);
}

int blob_ep_check(const struct blob *b, uint32_t k, const void *img)
{
	const struct blob_store *bs = b->bs;
	struct blob_md_hdr h;

	/* blob_id is who wrote the page: snapshots take pages as they are */
	if (blob_md_hdr_decode(img, &h) < 0 || h.type != BLOB_MD_EXTENT ||
	    h.index != k)
		return -EUCLEAN;
	for (uint32_t s = 0; s < BLOB_EP_SLOTS; s++) {
		uint64_t i = (uint64_t)k * BLOB_EP_SLOTS + s;
		uint32_t c = blob_ep_slot_get(img, s);

		if (c == 0) {
			if (i < b->size && !(b->flags & BLOB_REC_THIN))
				return -EUCLEAN;
			continue;
		}
		if (i >= b->size || c < bs->super.data_start ||
		    c >= bs->alloc.cluster_count ||
		    !blob_bitmap_test(&bs->alloc.cl_committed, c))
			return -EUCLEAN;
	}
	return 0;
}

int blob_ep_reserve(struct blob *b, uint32_t n_ep)
{
	int rc = blob_array_reserve(&b->ep, &b->ep_cap, n_ep, sizeof(*b->ep));

	if (rc < 0)
		return rc;
	for (uint32_t k = b->n_ep; k < n_ep; k++)
		b->ep[k] = (struct blob_ep){ .page = BLOB_PAGE_NONE };
	return 0;
}

/* The committed slots of extent @k, copied out of the current state. */
static uint32_t *ep_snapshot(const struct blob *b, uint32_t k)
{
	uint32_t *old = malloc(BLOB_EP_SLOTS * sizeof(*old));

	if (!old)
		return NULL;
	if (b->ep[k].old) {
		memcpy(old, b->ep[k].old, BLOB_EP_SLOTS * sizeof(*old));
		return old;
	}
	for (uint32_t s = 0; s < BLOB_EP_SLOTS; s++)
		old[s] = b->ep[k].page == BLOB_PAGE_NONE ? 0
							 : blob_ep_cur(b, k, s);
	return old;
}

int blob_ep_dirty(struct blob *b, uint32_t k)
{
	if (b->ep[k].old)
		return 0;
	b->ep[k].old = ep_snapshot(b, k);
	if (!b->ep[k].old)
		return -ENOMEM;
	b->n_dirty_ep++;
	return 0;
}

int blob_ep_drop_from(struct blob *b, uint32_t n_ep)
{
	int rc = blob_array_reserve(&b->dropped, &b->dropped_cap,
				    b->n_dropped + (b->n_ep > n_ep
							    ? b->n_ep - n_ep
							    : 0),
				    sizeof(*b->dropped));

	if (rc < 0)
		return rc;
	for (uint32_t k = n_ep; k < b->n_ep; k++) {
		struct blob_ep *e = &b->ep[k];

		if (e->page != BLOB_PAGE_NONE) {
			uint32_t *old = ep_snapshot(b, k);

			if (!old)
				return -ENOMEM;
			b->dropped[b->n_dropped++] =
				(struct blob_ep){ .page = e->page, .old = old };
		}
		if (e->old) {
			free(e->old);
			b->n_dirty_ep--;
		}
		*e = (struct blob_ep){ .page = BLOB_PAGE_NONE };
	}
	if (b->n_ep > n_ep)
		b->n_ep = n_ep;
	return 0;
}
