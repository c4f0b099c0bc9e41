// SPDX-License-Identifier: MIT
/*
 * ops_file.c - open files: OPEN, CREATE, TMPFILE, READ, WRITE, RELEASE,
 * FSYNC, FLUSH, FALLOCATE, LSEEK, COPY_FILE_RANGE.
 *
 * READ and WRITE take no lock: one lock-free fh lookup, the data described
 * as slices of the request (WRITE) or reply (READ) iovecs, no copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuse_internal.h"

#define OUT_HDR sizeof(struct fuse_out_header)
/* A u32 count reports the result (fuse_write_out): stay below 4 GiB. */
#define COPY_LEN_MAX (UINT32_MAX & ~(uint64_t)(FUSE_ENGINE_PAGE - 1))

/* ---- open replies (shared with OPENDIR) ------------------------------------ */

static void open_undo_cpl(void *arg, int err)
{
	struct fuse_request *req = arg;

	(void)err; /* the file is gone whatever release said */
	fuse_reply_err(req, req->engine.op.open.err);
}

/* The open succeeded but cannot be handed to the peer: release and fail. */
static void open_undo(struct fuse_request *req, uint32_t kind, int err)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_request_engine *e = &req->engine;

	e->op.open.err = err;
	fuse_call_prepare(req, open_undo_cpl);
	if (kind == FUSE_FH_DIR && s->ops->releasedir)
		s->ops->releasedir(s->fs, &e->call, e->open.file);
	else if (kind == FUSE_FH_FILE && s->ops->release)
		s->ops->release(s->fs, &e->call, e->open.file, false, 0);
	else
		open_undo_cpl(req, 0);
}

static void open_out_fill(const struct fuse_session *s,
			  const struct fs_open_out *o, uint64_t fh, bool dir,
			  struct fuse_open_out *out)
{
	memset(out, 0, sizeof(*out));
	out->fh = fh;
	out->open_flags = fuse_open_flags(s, o, dir);
}

void fuse_open_reply(struct fuse_request *req, uint32_t kind, bool with_entry)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_request_engine *e = &req->engine;
	struct {
		struct fuse_entry_out entry;
		struct fuse_open_out open;
	} out;
	uint64_t nodeid = 0, fh;
	int err;

	if (!e->open.file) { /* a back-end bug: nothing to release */
		if (with_entry && e->res.entry.inode)
			s->ops->forget(s->fs, e->res.entry.inode, 1);
		fuse_reply_err(req, -EIO);
		return;
	}
	if (with_entry) {
		err = e->res.entry.inode ? fuse_node_register(
				s, e->res.entry.inode, &nodeid) : -EIO;
		if (err) {
			open_undo(req, kind, err);
			return;
		}
	}
	err = fuse_fh_insert(s, e->open.file, kind, &fh);
	if (err) {
		if (with_entry)
			fuse_node_unregister(s, nodeid);
		open_undo(req, kind, err);
		return;
	}
	open_out_fill(s, &e->open, fh, kind == FUSE_FH_DIR, &out.open);
	if (!with_entry) {
		fuse_reply_ok(req, &out.open, sizeof(out.open));
		return;
	}
	fuse_entry_encode(s, nodeid, &e->res.entry.attr, &out.entry);
	fuse_reply_ok(req, &out, sizeof(out));
}

/* ---- OPEN, CREATE, TMPFILE --------------------------------------------------- */

static void open_cpl(void *arg, int err)
{
	struct fuse_request *req = arg;

	if (err)
		fuse_reply_err(req, err);
	else
		fuse_open_reply(req, FUSE_FH_FILE, false);
}

static void open_start(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_request_engine *e = &req->engine;

	memset(&e->open, 0, sizeof(e->open));
	fuse_call_prepare(req, open_cpl);
	s->ops->open(s->fs, &e->call, e->node->inode, e->op.open.flags,
		     &e->open);
}

static void open_kill_cpl(void *arg, int err)
{
	struct fuse_request *req = arg;

	if (err)
		fuse_reply_err(req, err);
	else
		open_start(req);
}

void fuse_do_open(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_request_engine *e = &req->engine;
	struct fuse_open_in in;

	fuse_args_get(req, &in, sizeof(in));
	e->op.open.flags = (int)(in.flags & ~(uint32_t)(O_CREAT | O_EXCL |
							 O_NOCTTY));
	if (!s->killpriv_v2 || !(in.open_flags & FUSE_OPEN_KILL_SUIDGID) ||
	    !(e->op.open.flags & O_TRUNC)) {
		open_start(req);
		return;
	}
	/*
	 * An unprivileged truncating open (HANDLE_KILLPRIV_V2): fs_ops.open
	 * has no kill flag, so drop S[UG]ID first, as a write would.
	 */
	memset(&e->setattr, 0, sizeof(e->setattr));
	e->setattr.valid = FS_SET_KILL_SUIDGID;
	fuse_call_prepare(req, open_kill_cpl);
	s->ops->setattr(s->fs, &e->call, e->node->inode, NULL, &e->setattr,
			&e->res.attr);
}

static void create_cpl(void *arg, int err)
{
	struct fuse_request *req = arg;

	if (err)
		fuse_reply_err(req, err);
	else
		fuse_open_reply(req, FUSE_FH_FILE, true);
}

void fuse_do_create(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_request_engine *e = &req->engine;
	struct fuse_create_in in;

	fuse_args_get(req, &in, sizeof(in));
	e->call.cred.umask = in.umask & 0777;
	memset(&e->open, 0, sizeof(e->open));
	e->res.entry.inode = NULL;
	fuse_call_prepare(req, create_cpl);
	s->ops->create(s->fs, &e->call, e->node->inode, fuse_arg_name(req, 0),
		       in.mode & 07777, (int)(in.flags & ~(uint32_t)O_NOCTTY),
		       &e->res.entry, &e->open);
}

void fuse_do_tmpfile(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_request_engine *e = &req->engine;
	struct fuse_create_in in;

	fuse_args_get(req, &in, sizeof(in));
	e->call.cred.umask = in.umask & 0777;
	memset(&e->open, 0, sizeof(e->open));
	e->res.entry.inode = NULL;
	fuse_call_prepare(req, create_cpl);
	s->ops->tmpfile(s->fs, &e->call, e->node->inode, in.mode & 07777,
			(int)(in.flags & ~(uint32_t)(O_NOCTTY | O_CREAT | O_EXCL)),
			&e->res.entry, &e->open);
}

/* ---- READ, WRITE -------------------------------------------------------------- */

static void read_cpl(void *arg, int err)
{
	struct fuse_request *req = arg;

	if (!err && req->engine.count > req->engine.res.u64)
		err = -EIO; /* the back-end claims more than it was given */
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_inplace(req, req->engine.count);
}

/* Describe the reply space after the out header, up to @size bytes. */
static int read_slices(struct fuse_request *req, size_t size)
{
	struct fuse_request_engine *e = &req->engine;
	size_t space = fuse_reply_space(req);
	size_t n = size < space ? size : space;

	e->res.u64 = n;
	e->data_cnt = 0;
	iov_cursor_init(&e->out, req->out, req->out_cnt);
	if (iov_cursor_skip(&e->out, OUT_HDR) < 0)
		return -EIO;
	if (n == 0)
		return 0;
	return iov_cursor_slice(&e->out, n, e->data, FUSE_ENGINE_DATA_IOV_MAX,
				&e->data_cnt) ? -EIO : 0;
}

void fuse_do_read(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_request_engine *e = &req->engine;
	struct fuse_read_in in;
	int err = 0;

	fuse_args_get(req, &in, sizeof(in));
	if (in.size > s->max_read || in.offset > INT64_MAX)
		err = -EINVAL;
	if (!err)
		err = fuse_req_hold_fh(req, in.fh, FUSE_FH_FILE);
	if (!err)
		err = read_slices(req, in.size);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	fuse_call_prepare(req, read_cpl);
	s->ops->read(s->fs, &e->call, e->fhp->file, in.offset, e->data,
		     e->data_cnt, &e->count);
}

static void write_cpl(void *arg, int err)
{
	struct fuse_request *req = arg;
	struct fuse_write_out out = { .size = (uint32_t)req->engine.count };

	if (!err && req->engine.count > req->engine.res.u64)
		err = -EIO;
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_ok(req, &out, sizeof(out));
}

static int write_check(const struct fuse_session *s,
		       const struct fuse_request_engine *e,
		       const struct fuse_write_in *in)
{
	/* the size field must describe exactly the data that came */
	if (in->size != e->total - sizeof(*in))
		return -EINVAL;
	if (in->size > s->max_write)
		return -EINVAL;
	if (in->offset > (uint64_t)INT64_MAX - in->size)
		return -EFBIG;
	return 0;
}

void fuse_do_write(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_request_engine *e = &req->engine;
	struct fuse_write_in in;
	uint32_t flags = 0;
	int err;

	fuse_args_get(req, &in, sizeof(in));
	err = write_check(s, e, &in);
	if (!err)
		err = fuse_req_hold_fh(req, in.fh, FUSE_FH_FILE);
	if (!err && iov_cursor_slice(&e->in, in.size, e->data,
				     FUSE_ENGINE_DATA_IOV_MAX, &e->data_cnt))
		err = -EIO; /* more fragments than any real peer sends */
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	if (in.write_flags & FUSE_WRITE_KILL_SUIDGID)
		flags |= FS_WRITE_KILL_SUIDGID;
	e->res.u64 = in.size;
	fuse_call_prepare(req, write_cpl);
	s->ops->write(s->fs, &e->call, e->fhp->file, in.offset, e->data,
		      e->data_cnt, flags, &e->count);
}

/* ---- RELEASE, FSYNC, FLUSH ----------------------------------------------- */

static void release_cpl(void *arg, int err)
{
	struct fuse_request *req = arg;

	free(req->engine.op.open.taken);
	req->engine.op.open.taken = NULL;
	fuse_cpl_status(req, err);
}

void fuse_do_release(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_request_engine *e = &req->engine;
	struct fuse_release_in in;
	int err;

	fuse_args_get(req, &in, sizeof(in));
	err = fuse_fh_take(s, in.fh, FUSE_FH_FILE, &e->op.open.taken);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	fuse_call_prepare(req, release_cpl);
	s->ops->release(s->fs, &e->call, e->op.open.taken->file,
			(in.release_flags & FUSE_RELEASE_FLOCK_UNLOCK) != 0,
			in.lock_owner);
}

void fuse_do_fsync(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_fsync_in in;

	fuse_args_get(req, &in, sizeof(in));
	if (fuse_req_hold_fh(req, in.fh, FUSE_FH_FILE)) {
		fuse_reply_err(req, -EBADF);
		return;
	}
	fuse_call_prepare(req, fuse_cpl_status);
	s->ops->fsync(s->fs, &req->engine.call, req->engine.fhp->file,
		      (in.fsync_flags & FUSE_FSYNC_FDATASYNC) != 0);
}

void fuse_do_flush(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_flush_in in;

	fuse_args_get(req, &in, sizeof(in));
	if (fuse_req_hold_fh(req, in.fh, FUSE_FH_FILE)) {
		fuse_reply_err(req, -EBADF);
		return;
	}
	fuse_call_prepare(req, fuse_cpl_status);
	s->ops->flush(s->fs, &req->engine.call, req->engine.fhp->file,
		      in.lock_owner);
}

/* ---- FALLOCATE, LSEEK, COPY_FILE_RANGE -------------------------------------- */

void fuse_do_fallocate(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_fallocate_in in;
	int err = 0;

	fuse_args_get(req, &in, sizeof(in));
	if (in.length == 0 || in.offset > INT64_MAX)
		err = -EINVAL;
	else if (in.length > (uint64_t)INT64_MAX - in.offset)
		err = -EFBIG;
	if (!err)
		err = fuse_req_hold_fh(req, in.fh, FUSE_FH_FILE);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	fuse_call_prepare(req, fuse_cpl_status);
	s->ops->fallocate(s->fs, &req->engine.call, req->engine.fhp->file,
			  (int)in.mode, in.offset, in.length);
}

static void lseek_cpl(void *arg, int err)
{
	struct fuse_request *req = arg;
	struct fuse_lseek_out out = { .offset = req->engine.res.u64 };

	if (!err && out.offset > INT64_MAX)
		err = -EIO;
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_ok(req, &out, sizeof(out));
}

void fuse_do_lseek(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_lseek_in in;
	int err = 0;

	fuse_args_get(req, &in, sizeof(in));
	/* SEEK_SET/CUR/END never reach us: the client answers them itself */
	if ((in.whence != SEEK_DATA && in.whence != SEEK_HOLE) ||
	    in.offset > INT64_MAX)
		err = -EINVAL;
	if (!err)
		err = fuse_req_hold_fh(req, in.fh, FUSE_FH_FILE);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	fuse_call_prepare(req, lseek_cpl);
	s->ops->lseek(s->fs, &req->engine.call, req->engine.fhp->file,
		      in.offset, (int)in.whence, &req->engine.res.u64);
}

static int copy_range_hold(struct fuse_request *req,
			   const struct fuse_copy_file_range_in *in)
{
	if (in->flags || in->off_in > INT64_MAX || in->off_out > INT64_MAX)
		return -EINVAL;
	if (fuse_req_hold_node2(req, in->nodeid_out))
		return -ESTALE;
	if (fuse_req_hold_fh(req, in->fh_in, FUSE_FH_FILE) ||
	    fuse_req_hold_fh2(req, in->fh_out, FUSE_FH_FILE))
		return -EBADF;
	return 0;
}

void fuse_do_copy_file_range(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_request_engine *e = &req->engine;
	struct fuse_copy_file_range_in in;
	int err;

	fuse_args_get(req, &in, sizeof(in));
	err = copy_range_hold(req, &in);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	e->res.u64 = in.len < COPY_LEN_MAX ? in.len : COPY_LEN_MAX;
	fuse_call_prepare(req, write_cpl); /* replies fuse_write_out too */
	s->ops->copy_file_range(s->fs, &e->call, e->fhp->file, in.off_in,
				e->fhp2->file, in.off_out, e->res.u64,
				(uint32_t)in.flags, &e->count);
}
