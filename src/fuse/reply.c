// SPDX-License-Identifier: MIT
/*
 * reply.c - reply encoding and the exactly-one-done() rule.
 *
 * Every request ends in fuse_reply_finish(): it drops what the request holds
 * (node and fh references, a bounce buffer), marks the request done and calls
 * the transport.  A second finish is a bug in the engine or the back-end (a
 * double completion), never peer input: it is logged and, in debug builds,
 * aborts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "fuse_internal.h"
#include "vhostfs/log.h"
#include "vhostfs/reactor.h"

#define OUT_HDR sizeof(struct fuse_out_header)

void fuse_req_release(struct fuse_request *req)
{
	struct fuse_request_engine *e = &req->engine;
	struct fuse_session *s = e->session;

	if (e->node)
		fuse_node_put(s, e->nodeid);
	if (e->node2)
		fuse_node_put(s, e->nodeid2);
	if (e->fhp)
		fuse_fh_put(s, e->fh);
	if (e->fhp2)
		fuse_fh_put(s, e->fh2);
	free(e->bounce);
	e->node = e->node2 = NULL;
	e->fhp = e->fhp2 = NULL;
	e->bounce = NULL;
}

static void fuse_reply_finish(struct fuse_request *req, size_t len)
{
	struct fuse_request_engine *e = &req->engine;

	if (e->state != FUSE_REQ_ACTIVE) {
		log_error("fuse: request %llu (opcode %u) completed twice",
			  (unsigned long long)e->unique, e->opcode);
#ifndef NDEBUG
		abort();
#endif
		return;
	}
	fuse_req_release(req);
	e->state = FUSE_REQ_DONE;
	req->done(req, len);
}

size_t fuse_reply_space(const struct fuse_request *req)
{
	size_t n = req->engine.out_len;

	return n < OUT_HDR ? 0 : n - OUT_HDR;
}

static bool fuse_reply_has_header(const struct fuse_request *req)
{
	return req->engine.out_len >= OUT_HDR;
}

/*
 * Write the out header (and @payload) at the start of the reply; @inplace
 * bytes already written after them count in the length.  Returns the reply
 * length.
 */
static size_t fuse_reply_write(struct fuse_request *req, int err,
			       const void *payload, size_t size, size_t inplace)
{
	struct fuse_out_header oh = {
		.len = (uint32_t)(OUT_HDR + size + inplace),
		.error = err,
		.unique = req->engine.unique,
	};
	struct iov_cursor c;

	iov_cursor_init(&c, req->out, req->out_cnt);
	if (iov_cursor_write(&c, &oh, sizeof(oh)) < 0)
		return 0;
	if (payload && size && iov_cursor_write(&c, payload, size) < 0)
		return 0;
	return OUT_HDR + size + inplace;
}

void fuse_reply_drop(struct fuse_request *req)
{
	atomic_fetch_add_explicit(&req->engine.session->dropped, 1,
				  memory_order_relaxed);
	fuse_reply_finish(req, 0);
}

void fuse_reply_none(struct fuse_request *req)
{
	fuse_reply_finish(req, 0);
}

void fuse_reply_err(struct fuse_request *req, int err)
{
	struct fuse_session *s = req->engine.session;

	if (err >= 0 || err < -4095) /* a back-end bug; keep the wire sane */
		err = -EIO;
	if (!req->engine.noreply && !fuse_reply_has_header(req)) {
		fuse_reply_drop(req);
		return;
	}
	/* a rejected no-reply request (bad FORGET) is counted, not answered */
	atomic_fetch_add_explicit(&s->errors, 1, memory_order_relaxed);
	if (req->engine.noreply) {
		fuse_reply_finish(req, 0);
		return;
	}
	fuse_reply_finish(req, fuse_reply_write(req, err, NULL, 0, 0));
}

void fuse_reply_ok(struct fuse_request *req, const void *payload, size_t size)
{
	if (!fuse_reply_has_header(req)) {
		fuse_reply_drop(req);
		return;
	}
	if (fuse_reply_space(req) < size) {
		fuse_reply_err(req, -EIO);
		return;
	}
	fuse_reply_finish(req, fuse_reply_write(req, 0, payload, size, 0));
}

void fuse_reply_inplace(struct fuse_request *req, size_t size)
{
	if (!fuse_reply_has_header(req)) {
		fuse_reply_drop(req);
		return;
	}
	if (fuse_reply_space(req) < size) {
		fuse_reply_err(req, -EIO);
		return;
	}
	/* the payload is already in place: only the header is written */
	fuse_reply_finish(req, fuse_reply_write(req, 0, NULL, 0, size));
}

/* Linux's 32-bit device number encoding (new_encode_dev). */
static uint32_t fuse_dev_encode(dev_t dev)
{
	uint32_t ma = major(dev), mi = minor(dev);

	return (mi & 0xff) | ((ma & 0xfff) << 8) | ((mi & ~0xffu) << 12);
}

void fuse_attr_encode(const struct fuse_session *s, const struct stat *st,
		      struct fuse_attr *out)
{
	(void)s;
	memset(out, 0, sizeof(*out));
	out->ino = st->st_ino;
	out->size = (uint64_t)st->st_size;
	out->blocks = (uint64_t)st->st_blocks;
	out->atime = (uint64_t)st->st_atim.tv_sec;
	out->mtime = (uint64_t)st->st_mtim.tv_sec;
	out->ctime = (uint64_t)st->st_ctim.tv_sec;
	out->atimensec = (uint32_t)st->st_atim.tv_nsec;
	out->mtimensec = (uint32_t)st->st_mtim.tv_nsec;
	out->ctimensec = (uint32_t)st->st_ctim.tv_nsec;
	out->mode = st->st_mode;
	out->nlink = (uint32_t)st->st_nlink;
	out->uid = st->st_uid;
	out->gid = st->st_gid;
	out->rdev = fuse_dev_encode(st->st_rdev);
	out->blksize = (uint32_t)st->st_blksize;
}

void fuse_entry_encode(const struct fuse_session *s, uint64_t nodeid,
		       const struct stat *st, struct fuse_entry_out *out)
{
	memset(out, 0, sizeof(*out));
	out->nodeid = nodeid;
	out->entry_valid = s->entry_timeout;
	out->attr_valid = s->attr_timeout;
	fuse_attr_encode(s, st, &out->attr);
}

void fuse_attr_out_encode(const struct fuse_session *s, const struct stat *st,
			  struct fuse_attr_out *out)
{
	memset(out, 0, sizeof(*out));
	out->attr_valid = s->attr_timeout;
	fuse_attr_encode(s, st, &out->attr);
}

void fuse_reply_entry(struct fuse_request *req)
{
	struct fuse_request_engine *e = &req->engine;
	struct fuse_session *s = e->session;
	struct fuse_entry_out out;
	uint64_t nodeid;
	int err;

	if (!e->res.entry.inode) {
		fuse_reply_err(req, -EIO); /* back-end broke its contract */
		return;
	}
	if (fuse_reply_space(req) < sizeof(out)) {
		s->ops->forget(s->fs, e->res.entry.inode, 1);
		fuse_reply_err(req, -EIO);
		return;
	}
	err = fuse_node_register(s, e->res.entry.inode, &nodeid);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	fuse_entry_encode(s, nodeid, &e->res.entry.attr, &out);
	fuse_reply_ok(req, &out, sizeof(out));
}

uint32_t fuse_open_flags(const struct fuse_session *s,
			 const struct fs_open_out *o, bool dir)
{
	enum fuse_cache_mode mode = s->cfg.cache;
	uint32_t f = 0;

	if (o->nonseekable)
		f |= FOPEN_NONSEEKABLE;
	if (dir) {
		if (mode == FUSE_CACHE_ALWAYS ||
		    (o->cache_dir && mode != FUSE_CACHE_NEVER))
			f |= FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE;
		return f;
	}
	if (mode == FUSE_CACHE_NEVER || mode == FUSE_CACHE_METADATA ||
	    o->direct_io)
		return f | FOPEN_DIRECT_IO;
	if (mode == FUSE_CACHE_ALWAYS || mode == FUSE_CACHE_AUTO ||
	    o->keep_cache)
		f |= FOPEN_KEEP_CACHE;
	return f;
}

void fuse_call_prepare(struct fuse_request *req, fs_cb cb)
{
	struct fs_call *c = &req->engine.call;

	c->cb = cb;
	c->cb_arg = req;
	c->reactor = reactor_current();
}

void fuse_cpl_status(void *arg, int err)
{
	struct fuse_request *req = arg;

	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_ok(req, NULL, 0);
}
