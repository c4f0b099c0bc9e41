// SPDX-License-Identifier: MIT
/*
 * xattr.c - extended attributes of a blob, two namespaces (user and
 * internal), kept in memory in record order and committed with the record.
 * They change only memory, synchronously on the md thread, so they need no
 * place in the blob's operation queue.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blob_internal.h"

enum xattr_kind { XA_SET, XA_GET, XA_REMOVE, XA_LIST };

struct xattr_req {
	struct blob_req req;
	enum xattr_kind kind;
	uint8_t flags;
	uint8_t name_len;
	char name[BLOB_XATTR_NAME_MAX + 1];
	void *buf;        /* SET: our copy of the value; else the caller's */
	size_t size;
	size_t *len_out;
};

static struct blob_xattr **xattr_find(struct blob *b, uint8_t flags,
				      const char *name, uint8_t len)
{
	struct blob_xattr **pp = &b->xattrs;

	for (; *pp; pp = &(*pp)->next) {
		if ((*pp)->flags == flags && (*pp)->name_len == len &&
		    memcmp((*pp)->data, name, len) == 0)
			return pp;
	}
	return pp;
}

static size_t xattr_bytes(uint8_t name_len, size_t value_len)
{
	return BLOB_XATTR_HDR_SIZE + name_len + value_len;
}

/* The record with @delta more xattr bytes must stay committable. */
static int xattr_room(const struct blob *b, long long delta)
{
	size_t rec = blob_record_size(b) + (size_t)delta;
	size_t pages = (rec + BLOB_MD_PAYLOAD - 1) / BLOB_MD_PAYLOAD;

	return rec <= BLOB_RECORD_MAX && pages * 2 + 2 <= b->bs->j.max_pages
		       ? 0 : -EFBIG;
}

static int xattr_set(struct xattr_req *q)
{
	struct blob *b = q->req.blob;
	struct blob_xattr **pp = xattr_find(b, q->flags, q->name, q->name_len);
	size_t old = *pp ? xattr_bytes((*pp)->name_len, (*pp)->value_len) : 0;
	size_t nu = xattr_bytes(q->name_len, q->size);
	struct blob_xattr *x;
	int rc = xattr_room(b, (long long)nu - (long long)old);

	if (rc < 0)
		return rc;
	x = malloc(sizeof(*x) + q->name_len + q->size);
	if (!x)
		return -ENOMEM;
	x->flags = q->flags;
	x->name_len = q->name_len;
	x->value_len = (uint32_t)q->size;
	memcpy(x->data, q->name, q->name_len);
	if (q->size)
		memcpy(x->data + q->name_len, q->buf, q->size);
	/* replace in place: the record keeps its order */
	x->next = *pp ? (*pp)->next : NULL;
	if (*pp)
		free(*pp);
	else
		b->nxattrs++;
	*pp = x;
	b->xattr_bytes += nu - old;
	b->rec_dirty = true;
	return 0;
}

static int xattr_get(struct xattr_req *q)
{
	struct blob_xattr **pp = xattr_find(q->req.blob, q->flags, q->name,
					    q->name_len);

	if (!*pp)
		return -ENODATA;
	*q->len_out = (*pp)->value_len;
	if (q->size == 0)
		return 0;
	if (q->size < (*pp)->value_len)
		return -ERANGE;
	memcpy(q->buf, (*pp)->data + (*pp)->name_len, (*pp)->value_len);
	return 0;
}

static int xattr_remove(struct xattr_req *q)
{
	struct blob *b = q->req.blob;
	struct blob_xattr **pp = xattr_find(b, q->flags, q->name, q->name_len);
	struct blob_xattr *x = *pp;

	if (!x)
		return -ENODATA;
	*pp = x->next;
	b->nxattrs--;
	b->xattr_bytes -= xattr_bytes(x->name_len, x->value_len);
	b->rec_dirty = true;
	free(x);
	return 0;
}

static int xattr_list(struct xattr_req *q)
{
	const struct blob_xattr *x;
	char *p = q->buf;
	size_t total = 0;

	for (x = q->req.blob->xattrs; x; x = x->next) {
		if (x->flags == q->flags)
			total += (size_t)x->name_len + 1;
	}
	*q->len_out = total;
	if (q->size == 0)
		return 0;
	if (q->size < total)
		return -ERANGE;
	for (x = q->req.blob->xattrs; x; x = x->next) {
		if (x->flags != q->flags)
			continue;
		memcpy(p, x->data, x->name_len);
		p[x->name_len] = '\0';
		p += x->name_len + 1;
	}
	return 0;
}

static void xattr_start(struct blob_req *r)
{
	struct xattr_req *q = (struct xattr_req *)r;
	bool changes = q->kind == XA_SET || q->kind == XA_REMOVE;
	int rc = changes ? blob_store_writable(r->bs) : 0;

	/*
	 * A read-only blob's data and user xattrs are frozen; the internal
	 * namespace describes the blob to its owner (a snapshot's name in
	 * the catalog) and may change.
	 */
	if (rc == 0 && changes && (r->blob->flags & BLOB_REC_READ_ONLY) &&
	    !(q->flags & BLOB_XATTR_INTERNAL))
		rc = -EPERM;
	if (rc == 0) {
		switch (q->kind) {
		case XA_SET:
			rc = xattr_set(q);
			break;
		case XA_GET:
			rc = xattr_get(q);
			break;
		case XA_REMOVE:
			rc = xattr_remove(q);
			break;
		case XA_LIST:
			rc = xattr_list(q);
			break;
		}
	}
	if (q->kind == XA_SET)
		free(q->buf);
	blob_req_done(r, rc);
}

static struct xattr_req *xattr_new(struct blob *b, enum xattr_kind kind,
				   uint32_t flags, const char *name,
				   blob_cb cb, void *arg)
{
	struct xattr_req *q = blob_req_new(b->bs, sizeof(*q), cb, arg);
	size_t len = name ? strnlen(name, BLOB_XATTR_NAME_MAX + 1) : 0;

	if (!q)
		return NULL;
	q->req.blob = b;
	q->kind = kind;
	q->flags = (uint8_t)flags;
	if ((flags & ~BLOB_XATTR_INTERNAL) ||
	    (kind != XA_LIST && (len == 0 || len > BLOB_XATTR_NAME_MAX))) {
		blob_req_fail(&q->req, -EINVAL);
		return NULL;
	}
	memcpy(q->name, name ? name : "", len);
	q->name_len = (uint8_t)len;
	return q;
}

void blob_xattr_set(struct blob *b, uint32_t flags, const char *name,
		    const void *value, size_t len, blob_cb cb, void *arg)
{
	struct xattr_req *q = xattr_new(b, XA_SET, flags, name, cb, arg);

	if (!q)
		return;
	if (len > BLOB_XATTR_VALUE_MAX || (len && !value)) {
		blob_req_fail(&q->req, -EINVAL);
		return;
	}
	q->buf = malloc(len ? len : 1);
	if (!q->buf) {
		blob_req_fail(&q->req, -ENOMEM);
		return;
	}
	if (len)
		memcpy(q->buf, value, len);
	q->size = len;
	blob_req_start(&q->req, xattr_start);
}

void blob_xattr_get(struct blob *b, uint32_t flags, const char *name,
		    void *buf, size_t size, size_t *len, blob_cb cb, void *arg)
{
	struct xattr_req *q = xattr_new(b, XA_GET, flags, name, cb, arg);

	if (!q)
		return;
	q->buf = buf;
	q->size = size;
	q->len_out = len;
	blob_req_start(&q->req, xattr_start);
}

void blob_xattr_remove(struct blob *b, uint32_t flags, const char *name,
		       blob_cb cb, void *arg)
{
	struct xattr_req *q = xattr_new(b, XA_REMOVE, flags, name, cb, arg);

	if (q)
		blob_req_start(&q->req, xattr_start);
}

void blob_xattr_list(struct blob *b, uint32_t flags, char *buf, size_t size,
		     size_t *len, blob_cb cb, void *arg)
{
	struct xattr_req *q = xattr_new(b, XA_LIST, flags, NULL, cb, arg);

	if (!q)
		return;
	q->buf = buf;
	q->size = size;
	q->len_out = len;
	blob_req_start(&q->req, xattr_start);
}
