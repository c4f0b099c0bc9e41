// SPDX-License-Identifier: MIT
/*
 * ops_dir.c - directories: OPENDIR, READDIR, READDIRPLUS, RELEASEDIR,
 * FSYNCDIR.
 *
 * Directory entries are encoded straight into the reply iovecs after the out
 * header: fuse_dirent (or fuse_direntplus) + name + zero padding to 8 bytes,
 * until the requested size (or the reply space) is used up.  For READDIRPLUS
 * every entry with an inode gets a nodeid (a lookup the peer will FORGET);
 * an entry that does not fit is refused and its inode reference returned.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuse_internal.h"

#define OUT_HDR sizeof(struct fuse_out_header)

static void opendir_cpl(void *arg, int err)
{
	struct fuse_request *req = arg;

	if (err)
		fuse_reply_err(req, err);
	else
		fuse_open_reply(req, FUSE_FH_DIR, false);
}

void fuse_do_opendir(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_request_engine *e = &req->engine;
	struct fuse_open_in in;

	fuse_args_get(req, &in, sizeof(in));
	memset(&e->open, 0, sizeof(e->open));
	fuse_call_prepare(req, opendir_cpl);
	s->ops->opendir(s->fs, &e->call, e->node->inode, (int)in.flags,
			&e->open);
}

/* "." and ".." never get a nodeid: the kernel does not count them. */
static bool dir_name_is_dot(const char *name, size_t len)
{
	return name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.'));
}

static int dir_write_name(struct iov_cursor *c, const char *name, size_t len,
			  size_t reclen, size_t hdr)
{
	if (iov_cursor_write(c, name, len) < 0)
		return -EIO;
	return iov_cursor_zero(c, reclen - hdr - len);
}

static int dir_emit_plain(struct fuse_request_engine *e, const char *name,
			  size_t len, uint64_t ino, uint32_t type, uint64_t off,
			  size_t reclen)
{
	struct fuse_dirent d = {
		.ino = ino, .off = off, .namelen = (uint32_t)len, .type = type,
	};

	if (iov_cursor_write(&e->out, &d, FUSE_NAME_OFFSET) < 0)
		return -EIO;
	return dir_write_name(&e->out, name, len, reclen, FUSE_NAME_OFFSET);
}

static int dir_emit_plus(struct fuse_request_engine *e, const char *name,
			 size_t len, uint64_t ino, uint32_t type, uint64_t off,
			 const struct fs_entry *ent, size_t reclen)
{
	struct fuse_session *s = e->session;
	struct fuse_direntplus d;
	uint64_t nodeid = 0;
	int err;

	if (ent && ent->inode && dir_name_is_dot(name, len)) {
		s->ops->forget(s->fs, ent->inode, 1);
	} else if (ent && ent->inode) {
		err = fuse_node_register(s, ent->inode, &nodeid);
		if (err)
			return err; /* reference returned by register */
	}
	memset(&d, 0, sizeof(d));
	if (nodeid)
		fuse_entry_encode(s, nodeid, &ent->attr, &d.entry_out);
	d.dirent = (struct fuse_dirent){ .ino = ino, .off = off,
					 .namelen = (uint32_t)len,
					 .type = type };
	if (iov_cursor_write(&e->out, &d, FUSE_NAME_OFFSET_DIRENTPLUS) < 0)
		return -EIO;
	return dir_write_name(&e->out, name, len, reclen,
			      FUSE_NAME_OFFSET_DIRENTPLUS);
}

/* Refuse an entry: its inode reference goes back to the back-end. */
static int dir_refuse(struct fuse_request_engine *e, const struct fs_entry *ent)
{
	if (ent && ent->inode)
		e->session->ops->forget(e->session->fs, ent->inode, 1);
	return 1;
}

static int dir_fill(void *ctx, const char *name, size_t len, uint64_t ino,
		    uint32_t type, uint64_t next_off, const struct fs_entry *plus)
{
	struct fuse_request_engine *e = ctx;
	size_t hdr = e->op.dir.plus ? FUSE_NAME_OFFSET_DIRENTPLUS
				    : FUSE_NAME_OFFSET;
	size_t reclen;
	int err;

	if (e->op.dir.full || e->op.dir.err)
		return dir_refuse(e, e->op.dir.plus ? plus : NULL);
	if (len == 0 || len > FUSE_ENGINE_NAME_MAX || !name) {
		e->op.dir.err = -EIO; /* the back-end produced a bad name */
		return dir_refuse(e, e->op.dir.plus ? plus : NULL);
	}
	reclen = FUSE_REC_ALIGN(hdr + len);
	if (reclen > e->op.dir.budget - e->op.dir.used) {
		e->op.dir.full = true;
		return dir_refuse(e, e->op.dir.plus ? plus : NULL);
	}
	if (e->op.dir.plus)
		err = dir_emit_plus(e, name, len, ino, type & 0xf, next_off,
				    plus, reclen);
	else
		err = dir_emit_plain(e, name, len, ino, type & 0xf, next_off,
				     reclen);
	if (err) {
		e->op.dir.err = err;
		return 1;
	}
	e->op.dir.used += reclen;
	e->op.dir.entries++;
	return 0;
}

static void readdir_cpl(void *arg, int err)
{
	struct fuse_request *req = arg;
	struct fuse_request_engine *e = &req->engine;

	/* entries already sent (with nodeids) must reach the peer */
	if (e->op.dir.entries) {
		fuse_reply_inplace(req, e->op.dir.used);
		return;
	}
	if (!err && e->op.dir.err)
		err = e->op.dir.err;
	if (!err && e->op.dir.full)
		err = -EINVAL; /* not even one entry fits, as getdents(2) */
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_inplace(req, 0);
}

static void readdir_start(struct fuse_request *req, bool plus)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_request_engine *e = &req->engine;
	struct fuse_read_in in;
	size_t space = fuse_reply_space(req);

	fuse_args_get(req, &in, sizeof(in));
	if (fuse_req_hold_fh(req, in.fh, FUSE_FH_DIR)) {
		fuse_reply_err(req, -EBADF);
		return;
	}
	memset(&e->op.dir, 0, sizeof(e->op.dir));
	e->op.dir.plus = plus;
	e->op.dir.budget = in.size < space ? in.size : space;
	iov_cursor_init(&e->out, req->out, req->out_cnt);
	iov_cursor_skip(&e->out, OUT_HDR); /* cannot fail: space was checked */
	fuse_call_prepare(req, readdir_cpl);
	s->ops->readdir(s->fs, &e->call, e->fhp->file, in.offset, plus,
			dir_fill, e);
}

void fuse_do_readdir(struct fuse_request *req)
{
	readdir_start(req, false);
}

void fuse_do_readdirplus(struct fuse_request *req)
{
	readdir_start(req, true);
}

static void releasedir_cpl(void *arg, int err)
{
	struct fuse_request *req = arg;

	free(req->engine.op.open.taken);
	req->engine.op.open.taken = NULL;
	fuse_cpl_status(req, err);
}

void fuse_do_releasedir(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_request_engine *e = &req->engine;
	struct fuse_release_in in;
	int err;

	fuse_args_get(req, &in, sizeof(in));
	err = fuse_fh_take(s, in.fh, FUSE_FH_DIR, &e->op.open.taken);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	fuse_call_prepare(req, releasedir_cpl);
	s->ops->releasedir(s->fs, &e->call, e->op.open.taken->file);
}

void fuse_do_fsyncdir(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_fsync_in in;

	fuse_args_get(req, &in, sizeof(in));
	if (fuse_req_hold_fh(req, in.fh, FUSE_FH_DIR)) {
		fuse_reply_err(req, -EBADF);
		return;
	}
	fuse_call_prepare(req, fuse_cpl_status);
	s->ops->fsyncdir(s->fs, &req->engine.call, req->engine.fhp->file,
			 (in.fsync_flags & FUSE_FSYNC_FDATASYNC) != 0);
}
