// SPDX-License-Identifier: MIT
/*
 * ops_xattr.c - SETXATTR, GETXATTR, LISTXATTR, REMOVEXATTR.
 *
 * Values are at most 64 KiB.  A SETXATTR value is copied (it must not change
 * while the back-end looks at it): into the argument buffer when it fits,
 * else into a bounce buffer, the one allocation the engine makes for a
 * request.  GETXATTR/LISTXATTR results go straight into the reply when the
 * reply space is contiguous, else through the argument buffer or a bounce.
 * When xattrs are off, dispatch.c answers all four with -ENOSYS so that the
 * kernel stops asking.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "fuse_internal.h"

#define OUT_HDR sizeof(struct fuse_out_header)

/* The value of a SETXATTR: in args when it was copied whole, else bounced. */
static int setxattr_value(struct fuse_request *req, size_t off, size_t size,
			  const void **value)
{
	struct fuse_request_engine *e = &req->engine;
	size_t have = e->len - off;

	if (e->total == e->len) {
		*value = e->args + off;
		return 0;
	}
	e->bounce = malloc(size);
	if (!e->bounce)
		return -ENOMEM;
	memcpy(e->bounce, e->args + off, have);
	if (iov_cursor_read(&e->in, (char *)e->bounce + have, size - have) < 0)
		return -EIO;
	*value = e->bounce;
	return 0;
}

void fuse_do_setxattr(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_request_engine *e = &req->engine;
	struct fuse_setxattr_in in;
	size_t fixed = fuse_op_fixed_size(s, fuse_op_lookup(FUSE_SETXATTR));
	const char *name = fuse_arg_name(req, 0);
	size_t off = fixed + strlen(name) + 1;
	const void *value = NULL;
	int err = 0;

	memset(&in, 0, sizeof(in));
	fuse_args_get(req, &in, fixed);
	/* setxattr_flags (ACL_KILL_SGID) only come when ACLs are off: unused */
	if (in.flags & ~(uint32_t)(XATTR_CREATE | XATTR_REPLACE))
		err = -EINVAL;
	else if (in.size > FUSE_ENGINE_XATTR_SIZE_MAX)
		err = -E2BIG;
	else if (e->total - off != in.size)
		err = -EINVAL; /* size must describe the bytes that came */
	if (!err)
		err = setxattr_value(req, off, in.size, &value);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	fuse_call_prepare(req, fuse_cpl_status);
	s->ops->setxattr(s->fs, &e->call, e->node->inode, name, value, in.size,
			 (int)in.flags);
}

/* ---- GETXATTR / LISTXATTR ---------------------------------------------- */

static void xattr_size_cpl(void *arg, int err)
{
	struct fuse_request *req = arg;
	struct fuse_getxattr_out out = { .size = 0 };

	if (!err && req->engine.count > FUSE_ENGINE_XATTR_SIZE_MAX)
		err = -E2BIG;
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	out.size = (uint32_t)req->engine.count;
	fuse_reply_ok(req, &out, sizeof(out));
}

static void xattr_value_cpl(void *arg, int err)
{
	struct fuse_request *req = arg;
	struct fuse_request_engine *e = &req->engine;

	if (!err && e->count > e->op.xattr.size)
		err = -EIO;
	if (!err && !e->op.xattr.in_reply &&
	    iov_cursor_write(&e->out, e->op.xattr.buf, e->count) < 0)
		err = -EIO;
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_inplace(req, e->count);
}

/*
 * Where the back-end writes the value: the reply itself when contiguous,
 * else the rest of the argument buffer, else a bounce buffer.
 */
static int xattr_buf(struct fuse_request *req, size_t size)
{
	struct fuse_request_engine *e = &req->engine;
	void *p;

	iov_cursor_init(&e->out, req->out, req->out_cnt);
	if (iov_cursor_skip(&e->out, OUT_HDR) < 0)
		return -EIO;
	e->op.xattr.size = size;
	p = iov_cursor_contiguous(&e->out, size);
	e->op.xattr.in_reply = p != NULL;
	if (!p && size <= FUSE_ENGINE_ARGS_MAX - e->len)
		p = e->args + e->len;
	if (!p)
		p = e->bounce = malloc(size);
	e->op.xattr.buf = p;
	return p ? 0 : -ENOMEM;
}

/*
 * @size 0 asks for the size; otherwise it is clamped to what a value can be
 * and to the reply space (the back-end answers -ERANGE if that is short).
 */
static int xattr_prepare(struct fuse_request *req, uint32_t size)
{
	size_t space = fuse_reply_space(req);
	size_t n = size < FUSE_ENGINE_XATTR_SIZE_MAX ? size
						     : FUSE_ENGINE_XATTR_SIZE_MAX;

	if (size == 0) {
		if (space < sizeof(struct fuse_getxattr_out))
			return -EIO;
		fuse_call_prepare(req, xattr_size_cpl);
		req->engine.op.xattr.buf = NULL;
		req->engine.op.xattr.size = 0;
		return 0;
	}
	if (space == 0)
		return -ERANGE; /* a value cannot fit (0 would mean "probe") */
	fuse_call_prepare(req, xattr_value_cpl);
	return xattr_buf(req, n < space ? n : space);
}

void fuse_do_getxattr(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_request_engine *e = &req->engine;
	struct fuse_getxattr_in in;
	int err;

	fuse_args_get(req, &in, sizeof(in));
	err = xattr_prepare(req, in.size);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	s->ops->getxattr(s->fs, &e->call, e->node->inode, fuse_arg_name(req, 0),
			 e->op.xattr.buf, e->op.xattr.size, &e->count);
}

void fuse_do_listxattr(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_request_engine *e = &req->engine;
	struct fuse_getxattr_in in;
	int err;

	fuse_args_get(req, &in, sizeof(in));
	err = xattr_prepare(req, in.size);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	s->ops->listxattr(s->fs, &e->call, e->node->inode,
			  (char *)e->op.xattr.buf, e->op.xattr.size, &e->count);
}

void fuse_do_removexattr(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);

	fuse_call_prepare(req, fuse_cpl_status);
	s->ops->removexattr(s->fs, &req->engine.call, req->engine.node->inode,
			    fuse_arg_name(req, 0));
}
