// SPDX-License-Identifier: MIT
/*
 * mdio.c - device I/O issued by the md thread through its own channel,
 * each request in a caller-embedded struct blob_mdio.
 */
#include <errno.h>
#include <string.h>

#include "blob_internal.h"

static void mdio_cpl(void *arg, int err)
{
	struct blob_mdio *m = arg;

	m->cb(m->arg, err);
}

static void mdio_prep(struct blob_mdio *m, blob_cb cb, void *arg)
{
	m->cb = cb;
	m->arg = arg;
	m->err = 0;
}

void blob_mdio_read(struct blob_store *bs, struct blob_mdio *m, uint64_t off,
		    void *buf, size_t len, blob_cb cb, void *arg)
{
	mdio_prep(m, cb, arg);
	m->iov.iov_base = buf;
	m->iov.iov_len = len;
	bdev_readv(bs->md_ch, &m->io, &m->iov, 1, off, mdio_cpl, m);
}

void blob_mdio_write(struct blob_store *bs, struct blob_mdio *m, uint64_t off,
		     const void *buf, size_t len, uint32_t flags, blob_cb cb,
		     void *arg)
{
	mdio_prep(m, cb, arg);
	m->iov.iov_base = (void *)buf;
	m->iov.iov_len = len;
	bdev_writev(bs->md_ch, &m->io, &m->iov, 1, off, flags, mdio_cpl, m);
}

void blob_mdio_writev(struct blob_store *bs, struct blob_mdio *m,
		      uint64_t off, const struct iovec *iov,
		      unsigned int iovcnt, uint32_t flags, blob_cb cb,
		      void *arg)
{
	mdio_prep(m, cb, arg);
	bdev_writev(bs->md_ch, &m->io, iov, iovcnt, off, flags, mdio_cpl, m);
}

void blob_mdio_flush(struct blob_store *bs, struct blob_mdio *m, blob_cb cb,
		     void *arg)
{
	mdio_prep(m, cb, arg);
	bdev_flush(bs->md_ch, &m->io, mdio_cpl, m);
}

void blob_mdio_zeroes(struct blob_store *bs, struct blob_mdio *m,
		      uint64_t off, uint64_t len, blob_cb cb, void *arg)
{
	mdio_prep(m, cb, arg);
	bdev_write_zeroes(bs->md_ch, &m->io, off, len, mdio_cpl, m);
}

static void mdio_deferred(void *arg)
{
	struct blob_mdio *m = arg;

	m->cb(m->arg, m->err);
}

void blob_mdio_defer(struct blob_store *bs, struct blob_mdio *m, int err,
		     blob_cb cb, void *arg)
{
	mdio_prep(m, cb, arg);
	m->err = err;
	m->msg.fn = mdio_deferred;
	m->msg.arg = m;
	reactor_msg_send(bs->md, &m->msg);
}

void blob_md_page_read(struct blob_store *bs, struct blob_mdio *m,
		       uint32_t page, void *buf, blob_cb cb, void *arg)
{
	const void *img;

	if (page >= bs->super.md_pages) {
		blob_mdio_defer(bs, m, -EUCLEAN, cb, arg);
		return;
	}
	img = blob_overlay_get(&bs->ov, page);
	if (img) {
		memcpy(buf, img, BLOB_PAGE_SIZE);
		blob_mdio_defer(bs, m, 0, cb, arg);
		return;
	}
	blob_mdio_read(bs, m, blob_md_off(bs, page), buf, BLOB_PAGE_SIZE, cb,
		       arg);
}
