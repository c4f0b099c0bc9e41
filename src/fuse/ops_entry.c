// SPDX-License-Identifier: MIT
/*
 * ops_entry.c - namespace and attribute operations: LOOKUP, FORGET,
 * BATCH_FORGET, GETATTR, SETATTR, READLINK, SYMLINK, MKNOD, MKDIR, UNLINK,
 * RMDIR, RENAME, RENAME2, LINK, STATFS, ACCESS, SYNCFS.
 *
 * dispatch.c has checked the fixed argument size, the names and the header
 * nodeid (engine.node); what is left here is the meaning of the fields.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fuse_internal.h"

#define NSEC_PER_SEC 1000000000u

static struct fs_inode *req_inode(const struct fuse_request *req)
{
	return req->engine.node->inode;
}

static void entry_cpl(void *arg, int err)
{
	struct fuse_request *req = arg;

	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_entry(req);
}

static void attr_cpl(void *arg, int err)
{
	struct fuse_request *req = arg;
	struct fuse_attr_out out;

	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	fuse_attr_out_encode(req->engine.session, &req->engine.res.attr, &out);
	fuse_reply_ok(req, &out, sizeof(out));
}

void fuse_do_lookup(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);

	fuse_call_prepare(req, entry_cpl);
	s->ops->lookup(s->fs, &req->engine.call, req_inode(req),
		       fuse_arg_name(req, 0), &req->engine.res.entry);
}

void fuse_do_forget(struct fuse_request *req)
{
	struct fuse_forget_in in;

	fuse_args_get(req, &in, sizeof(in));
	/* an unknown nodeid is the peer's problem; FORGET has no reply */
	fuse_node_forget(fuse_req_session(req), req->engine.nodeid, in.nlookup);
	fuse_reply_none(req);
}

void fuse_do_batch_forget(struct fuse_request *req)
{
	struct fuse_request_engine *e = &req->engine;
	struct fuse_batch_forget_in in;
	uint64_t room = e->total - sizeof(in);

	fuse_args_get(req, &in, sizeof(in));
	if ((uint64_t)in.count * sizeof(struct fuse_forget_one) > room) {
		fuse_reply_err(req, -EINVAL); /* no reply; counted */
		return;
	}
	/* stream the list: it is never copied as a whole */
	for (uint32_t i = 0; i < in.count; i++) {
		struct fuse_forget_one one;

		if (iov_cursor_read(&e->in, &one, sizeof(one)) < 0)
			break;
		fuse_node_forget(e->session, one.nodeid, one.nlookup);
	}
	fuse_reply_none(req);
}

void fuse_do_getattr(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_getattr_in in;
	struct fs_file *file = NULL;

	fuse_args_get(req, &in, sizeof(in));
	if (in.getattr_flags & FUSE_GETATTR_FH) {
		if (fuse_req_hold_fh(req, in.fh, 0)) {
			fuse_reply_err(req, -EBADF);
			return;
		}
		file = req->engine.fhp->file;
	}
	fuse_call_prepare(req, attr_cpl);
	s->ops->getattr(s->fs, &req->engine.call, req_inode(req), file,
			&req->engine.res.attr);
}

static int time_decode(uint64_t sec, uint32_t nsec, struct timespec *ts)
{
	if (nsec >= NSEC_PER_SEC || sec > INT64_MAX)
		return -EINVAL;
	ts->tv_sec = (time_t)sec;
	ts->tv_nsec = (long)nsec;
	return 0;
}

static int setattr_times(const struct fuse_setattr_in *in,
			 struct fs_setattr *sa)
{
	int err = 0;

	if (in->valid & FATTR_ATIME_NOW)
		sa->valid |= FS_SET_ATIME_NOW;
	else if (in->valid & FATTR_ATIME) {
		sa->valid |= FS_SET_ATIME;
		err = time_decode(in->atime, in->atimensec, &sa->atime);
	}
	if (!err && (in->valid & FATTR_MTIME_NOW))
		sa->valid |= FS_SET_MTIME_NOW;
	else if (!err && (in->valid & FATTR_MTIME)) {
		sa->valid |= FS_SET_MTIME;
		err = time_decode(in->mtime, in->mtimensec, &sa->mtime);
	}
	if (!err && (in->valid & FATTR_CTIME)) {
		sa->valid |= FS_SET_CTIME;
		err = time_decode(in->ctime, in->ctimensec, &sa->ctime);
	}
	return err;
}

static int setattr_decode(const struct fuse_setattr_in *in,
			  struct fs_setattr *sa)
{
	memset(sa, 0, sizeof(*sa));
	if (in->valid & FATTR_MODE) {
		sa->valid |= FS_SET_MODE;
		sa->mode = in->mode & 07777;
	}
	if (in->valid & FATTR_UID) {
		sa->valid |= FS_SET_UID;
		sa->uid = in->uid;
	}
	if (in->valid & FATTR_GID) {
		sa->valid |= FS_SET_GID;
		sa->gid = in->gid;
	}
	if (in->valid & FATTR_SIZE) {
		if (in->size > INT64_MAX)
			return -EFBIG;
		sa->valid |= FS_SET_SIZE;
		sa->size = in->size;
	}
	if (in->valid & FATTR_KILL_SUIDGID)
		sa->valid |= FS_SET_KILL_SUIDGID;
	/* FATTR_LOCKOWNER only matters to mandatory locking: ignored */
	return setattr_times(in, sa);
}

void fuse_do_setattr(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_request_engine *e = &req->engine;
	struct fuse_setattr_in in;
	struct fs_file *file = NULL;
	int err;

	fuse_args_get(req, &in, sizeof(in));
	err = setattr_decode(&in, &e->setattr);
	if (!err && (in.valid & FATTR_FH)) {
		err = fuse_req_hold_fh(req, in.fh, 0);
		if (!err)
			file = e->fhp->file;
	}
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	fuse_call_prepare(req, attr_cpl);
	s->ops->setattr(s->fs, &e->call, req_inode(req), file, &e->setattr,
			&e->res.attr);
}

static void readlink_cpl(void *arg, int err)
{
	struct fuse_request *req = arg;
	size_t n = req->engine.count;

	if (!err && (n == 0 || n >= FUSE_ENGINE_PATH_MAX))
		err = -EIO;
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_ok(req, req->engine.args, n);
}

void fuse_do_readlink(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_request_engine *e = &req->engine;

	/* the argument buffer is free (READLINK has none): the target goes there */
	fuse_call_prepare(req, readlink_cpl);
	s->ops->readlink(s->fs, &e->call, req_inode(req), (char *)e->args,
			 FUSE_ENGINE_PATH_MAX - 1, &e->count);
}

void fuse_do_symlink(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);

	fuse_call_prepare(req, entry_cpl);
	s->ops->symlink(s->fs, &req->engine.call, req_inode(req),
			fuse_arg_name(req, 0), fuse_arg_name(req, 1),
			&req->engine.res.entry);
}

static bool mknod_type_ok(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		return true;
	default:
		return false;
	}
}

void fuse_do_mknod(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_request_engine *e = &req->engine;
	struct fuse_mknod_in in;

	fuse_args_get(req, &in, sizeof(in));
	if (!mknod_type_ok(in.mode)) {
		fuse_reply_err(req, -EINVAL);
		return;
	}
	e->call.cred.umask = in.umask & 0777;
	fuse_call_prepare(req, entry_cpl);
	s->ops->mknod(s->fs, &e->call, req_inode(req), fuse_arg_name(req, 0),
		      in.mode & (S_IFMT | 07777), (dev_t)in.rdev,
		      &e->res.entry);
}

void fuse_do_mkdir(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_request_engine *e = &req->engine;
	struct fuse_mkdir_in in;

	fuse_args_get(req, &in, sizeof(in));
	e->call.cred.umask = in.umask & 0777;
	fuse_call_prepare(req, entry_cpl);
	s->ops->mkdir(s->fs, &e->call, req_inode(req), fuse_arg_name(req, 0),
		      in.mode & 07777, &e->res.entry);
}

void fuse_do_unlink(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);

	fuse_call_prepare(req, fuse_cpl_status);
	s->ops->unlink(s->fs, &req->engine.call, req_inode(req),
		       fuse_arg_name(req, 0));
}

void fuse_do_rmdir(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);

	fuse_call_prepare(req, fuse_cpl_status);
	s->ops->rmdir(s->fs, &req->engine.call, req_inode(req),
		      fuse_arg_name(req, 0));
}

static void rename_start(struct fuse_request *req, uint64_t newdir,
			 uint32_t flags)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_request_engine *e = &req->engine;

	if (fuse_req_hold_node2(req, newdir)) {
		fuse_reply_err(req, -ESTALE);
		return;
	}
	fuse_call_prepare(req, fuse_cpl_status);
	s->ops->rename(s->fs, &e->call, req_inode(req), fuse_arg_name(req, 0),
		       e->node2->inode, fuse_arg_name(req, 1), flags);
}

void fuse_do_rename(struct fuse_request *req)
{
	struct fuse_rename_in in;

	fuse_args_get(req, &in, sizeof(in));
	rename_start(req, in.newdir, 0);
}

void fuse_do_rename2(struct fuse_request *req)
{
	const uint32_t known = RENAME_NOREPLACE | RENAME_EXCHANGE |
			       RENAME_WHITEOUT;
	struct fuse_rename2_in in;

	fuse_args_get(req, &in, sizeof(in));
	if ((in.flags & ~known) ||
	    ((in.flags & RENAME_EXCHANGE) &&
	     (in.flags & (RENAME_NOREPLACE | RENAME_WHITEOUT)))) {
		fuse_reply_err(req, -EINVAL);
		return;
	}
	rename_start(req, in.newdir, in.flags);
}

void fuse_do_link(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_request_engine *e = &req->engine;
	struct fuse_link_in in;

	fuse_args_get(req, &in, sizeof(in));
	if (fuse_req_hold_node2(req, in.oldnodeid)) {
		fuse_reply_err(req, -ESTALE);
		return;
	}
	fuse_call_prepare(req, entry_cpl);
	s->ops->link(s->fs, &e->call, e->node2->inode, req_inode(req),
		     fuse_arg_name(req, 0), &e->res.entry);
}

static void statfs_cpl(void *arg, int err)
{
	struct fuse_request *req = arg;
	const struct statvfs *st = &req->engine.res.st;
	struct fuse_statfs_out out;

	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	memset(&out, 0, sizeof(out));
	out.st.blocks = st->f_blocks;
	out.st.bfree = st->f_bfree;
	out.st.bavail = st->f_bavail;
	out.st.files = st->f_files;
	out.st.ffree = st->f_ffree;
	out.st.bsize = (uint32_t)st->f_bsize;
	out.st.namelen = (uint32_t)st->f_namemax;
	out.st.frsize = (uint32_t)st->f_frsize;
	fuse_reply_ok(req, &out, sizeof(out));
}

void fuse_do_statfs(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);

	fuse_call_prepare(req, statfs_cpl);
	s->ops->statfs(s->fs, &req->engine.call, req_inode(req),
		       &req->engine.res.st);
}

void fuse_do_access(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_access_in in;

	fuse_args_get(req, &in, sizeof(in));
	if (in.mask & ~(uint32_t)(R_OK | W_OK | X_OK)) {
		fuse_reply_err(req, -EINVAL);
		return;
	}
	fuse_call_prepare(req, fuse_cpl_status);
	s->ops->access(s->fs, &req->engine.call, req_inode(req), (int)in.mask);
}

void fuse_do_syncfs(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);

	fuse_call_prepare(req, fuse_cpl_status);
	s->ops->syncfs(s->fs, &req->engine.call, req_inode(req));
}
