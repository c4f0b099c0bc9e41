// SPDX-License-Identifier: MIT
/*
 * dispatch.c - the opcode table, request decoding and validation.
 *
 * Everything a handler may rely on is checked here, in one place, from one
 * table: the header framing, the opcode, the INIT state, the fixed argument
 * size, the trailing names (after they were copied out of guest memory), the
 * header nodeid and the room for a fixed-size reply.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "fuse_internal.h"
#include "vhostfs/log.h"

#define FS_OP(op) ((uint16_t)(offsetof(struct fs_ops, op) + 1))

#define E FUSE_NAME_ENTRY
#define T FUSE_NAME_TARGET
#define X FUSE_NAME_XATTR

#define OPDESC(code, fn, mn, mx, nnames, k0, k1, fl, fsop, rep)               \
	[FUSE_##code] = {                                                     \
		.name = #code, .handler = (fn), .min = (mn), .max = (mx),     \
		.names = (nnames), .name_kind = { (k0), (k1) },               \
		.flags = (fl), .fs_op = (fsop), .reply = (rep),               \
	}

/* Fixed arguments and fixed reply payloads */
#define SZ(t) ((uint16_t)sizeof(struct t))

enum {
	F_NOINIT = FUSE_OPF_NOINIT,
	F_NOREPLY = FUSE_OPF_NOREPLY,
	F_NODE = FUSE_OPF_NODE,
	F_TAIL = FUSE_OPF_TAIL,
	F_VALUE = FUSE_OPF_VALUE,
	F_XATTR = FUSE_OPF_XATTR,
	F_EXTRA = FUSE_OPF_EXTRA,
};

/*
 * One row per opcode.  Rows with a NULL handler are answered -ENOSYS; the
 * reasons are in docs/PROTOCOL.md.
 */
static const struct fuse_op_desc fuse_ops_table[] = {
	OPDESC(LOOKUP, fuse_do_lookup, 0, 0, 1, E, 0, F_NODE, FS_OP(lookup),
	       SZ(fuse_entry_out)),
	OPDESC(FORGET, fuse_do_forget, SZ(fuse_forget_in), SZ(fuse_forget_in),
	       0, 0, 0, F_NOINIT | F_NOREPLY, 0, 0),
	OPDESC(GETATTR, fuse_do_getattr, SZ(fuse_getattr_in),
	       SZ(fuse_getattr_in), 0, 0, 0, F_NODE, FS_OP(getattr),
	       SZ(fuse_attr_out)),
	OPDESC(SETATTR, fuse_do_setattr, SZ(fuse_setattr_in),
	       SZ(fuse_setattr_in), 0, 0, 0, F_NODE, FS_OP(setattr),
	       SZ(fuse_attr_out)),
	OPDESC(READLINK, fuse_do_readlink, 0, 0, 0, 0, 0, F_NODE,
	       FS_OP(readlink), 0),
	OPDESC(SYMLINK, fuse_do_symlink, 0, 0, 2, E, T, F_NODE, FS_OP(symlink),
	       SZ(fuse_entry_out)),
	OPDESC(MKNOD, fuse_do_mknod, SZ(fuse_mknod_in), SZ(fuse_mknod_in), 1,
	       E, 0, F_NODE, FS_OP(mknod), SZ(fuse_entry_out)),
	OPDESC(MKDIR, fuse_do_mkdir, SZ(fuse_mkdir_in), SZ(fuse_mkdir_in), 1,
	       E, 0, F_NODE, FS_OP(mkdir), SZ(fuse_entry_out)),
	OPDESC(UNLINK, fuse_do_unlink, 0, 0, 1, E, 0, F_NODE, FS_OP(unlink), 0),
	OPDESC(RMDIR, fuse_do_rmdir, 0, 0, 1, E, 0, F_NODE, FS_OP(rmdir), 0),
	OPDESC(RENAME, fuse_do_rename, SZ(fuse_rename_in), SZ(fuse_rename_in),
	       2, E, E, F_NODE, FS_OP(rename), 0),
	OPDESC(LINK, fuse_do_link, SZ(fuse_link_in), SZ(fuse_link_in), 1, E, 0,
	       F_NODE, FS_OP(link), SZ(fuse_entry_out)),
	OPDESC(OPEN, fuse_do_open, SZ(fuse_open_in), SZ(fuse_open_in), 0, 0, 0,
	       F_NODE, FS_OP(open), SZ(fuse_open_out)),
	OPDESC(READ, fuse_do_read, SZ(fuse_read_in), SZ(fuse_read_in), 0, 0, 0,
	       0, FS_OP(read), 0),
	OPDESC(WRITE, fuse_do_write, SZ(fuse_write_in), SZ(fuse_write_in), 0,
	       0, 0, F_TAIL, FS_OP(write), SZ(fuse_write_out)),
	OPDESC(STATFS, fuse_do_statfs, 0, 0, 0, 0, 0, F_NODE, FS_OP(statfs),
	       SZ(fuse_statfs_out)),
	OPDESC(RELEASE, fuse_do_release, SZ(fuse_release_in),
	       SZ(fuse_release_in), 0, 0, 0, 0, FS_OP(release), 0),
	OPDESC(FSYNC, fuse_do_fsync, SZ(fuse_fsync_in), SZ(fuse_fsync_in), 0,
	       0, 0, 0, FS_OP(fsync), 0),
	OPDESC(SETXATTR, fuse_do_setxattr, FUSE_COMPAT_SETXATTR_IN_SIZE,
	       SZ(fuse_setxattr_in), 1, X, 0, F_NODE | F_VALUE | F_XATTR,
	       FS_OP(setxattr), 0),
	OPDESC(GETXATTR, fuse_do_getxattr, SZ(fuse_getxattr_in),
	       SZ(fuse_getxattr_in), 1, X, 0, F_NODE | F_XATTR,
	       FS_OP(getxattr), 0),
	OPDESC(LISTXATTR, fuse_do_listxattr, SZ(fuse_getxattr_in),
	       SZ(fuse_getxattr_in), 0, 0, 0, F_NODE | F_XATTR,
	       FS_OP(listxattr), 0),
	OPDESC(REMOVEXATTR, fuse_do_removexattr, 0, 0, 1, X, 0,
	       F_NODE | F_XATTR, FS_OP(removexattr), 0),
	OPDESC(FLUSH, fuse_do_flush, SZ(fuse_flush_in), SZ(fuse_flush_in), 0,
	       0, 0, 0, FS_OP(flush), 0),
	OPDESC(INIT, fuse_do_init, 16, SZ(fuse_init_in), 0, 0, 0,
	       F_NOINIT | F_EXTRA, 0, SZ(fuse_init_out)),
	OPDESC(OPENDIR, fuse_do_opendir, SZ(fuse_open_in), SZ(fuse_open_in), 0,
	       0, 0, F_NODE, FS_OP(opendir), SZ(fuse_open_out)),
	OPDESC(READDIR, fuse_do_readdir, SZ(fuse_read_in), SZ(fuse_read_in), 0,
	       0, 0, 0, FS_OP(readdir), 0),
	OPDESC(RELEASEDIR, fuse_do_releasedir, SZ(fuse_release_in),
	       SZ(fuse_release_in), 0, 0, 0, 0, FS_OP(releasedir), 0),
	OPDESC(FSYNCDIR, fuse_do_fsyncdir, SZ(fuse_fsync_in), SZ(fuse_fsync_in),
	       0, 0, 0, 0, FS_OP(fsyncdir), 0),
	OPDESC(GETLK, fuse_do_getlk, SZ(fuse_lk_in), SZ(fuse_lk_in), 0, 0, 0, 0,
	       FS_OP(getlk), SZ(fuse_lk_out)),
	OPDESC(SETLK, fuse_do_setlk, SZ(fuse_lk_in), SZ(fuse_lk_in), 0, 0, 0, 0,
	       FS_OP(setlk), 0),
	OPDESC(SETLKW, fuse_do_setlkw, SZ(fuse_lk_in), SZ(fuse_lk_in), 0, 0, 0,
	       0, FS_OP(setlk), 0),
	OPDESC(ACCESS, fuse_do_access, SZ(fuse_access_in), SZ(fuse_access_in),
	       0, 0, 0, F_NODE, FS_OP(access), 0),
	OPDESC(CREATE, fuse_do_create, SZ(fuse_create_in), SZ(fuse_create_in),
	       1, E, 0, F_NODE, FS_OP(create),
	       SZ(fuse_entry_out) + SZ(fuse_open_out)),
	OPDESC(INTERRUPT, fuse_do_interrupt, SZ(fuse_interrupt_in),
	       SZ(fuse_interrupt_in), 0, 0, 0, F_NOREPLY, 0, 0),
	OPDESC(BMAP, NULL, 0, 0, 0, 0, 0, 0, 0, 0),
	OPDESC(DESTROY, fuse_do_destroy, 0, 0, 0, 0, 0, 0, 0, 0),
	OPDESC(IOCTL, NULL, 0, 0, 0, 0, 0, 0, 0, 0),
	OPDESC(POLL, NULL, 0, 0, 0, 0, 0, 0, 0, 0),
	OPDESC(NOTIFY_REPLY, NULL, 0, 0, 0, 0, 0, 0, 0, 0),
	OPDESC(BATCH_FORGET, fuse_do_batch_forget, SZ(fuse_batch_forget_in),
	       SZ(fuse_batch_forget_in), 0, 0, 0,
	       F_NOINIT | F_NOREPLY | F_TAIL, 0, 0),
	OPDESC(FALLOCATE, fuse_do_fallocate, SZ(fuse_fallocate_in),
	       SZ(fuse_fallocate_in), 0, 0, 0, 0, FS_OP(fallocate), 0),
	OPDESC(READDIRPLUS, fuse_do_readdirplus, SZ(fuse_read_in),
	       SZ(fuse_read_in), 0, 0, 0, 0, FS_OP(readdir), 0),
	OPDESC(RENAME2, fuse_do_rename2, SZ(fuse_rename2_in),
	       SZ(fuse_rename2_in), 2, E, E, F_NODE, FS_OP(rename), 0),
	OPDESC(LSEEK, fuse_do_lseek, SZ(fuse_lseek_in), SZ(fuse_lseek_in), 0,
	       0, 0, 0, FS_OP(lseek), SZ(fuse_lseek_out)),
	OPDESC(COPY_FILE_RANGE, fuse_do_copy_file_range,
	       SZ(fuse_copy_file_range_in), SZ(fuse_copy_file_range_in), 0, 0,
	       0, 0, FS_OP(copy_file_range), SZ(fuse_write_out)),
	OPDESC(SETUPMAPPING, NULL, 0, 0, 0, 0, 0, 0, 0, 0),
	OPDESC(REMOVEMAPPING, NULL, 0, 0, 0, 0, 0, 0, 0, 0),
	OPDESC(SYNCFS, fuse_do_syncfs, SZ(fuse_syncfs_in), SZ(fuse_syncfs_in),
	       0, 0, 0, F_NODE, FS_OP(syncfs), 0),
	OPDESC(TMPFILE, fuse_do_tmpfile, SZ(fuse_create_in),
	       SZ(fuse_create_in), 0, 0, 0, F_NODE, FS_OP(tmpfile),
	       SZ(fuse_entry_out) + SZ(fuse_open_out)),
};

#undef E
#undef T
#undef X

const struct fuse_op_desc *fuse_op_lookup(uint32_t opcode)
{
	size_t n = sizeof(fuse_ops_table) / sizeof(fuse_ops_table[0]);

	if (opcode >= n || !fuse_ops_table[opcode].name)
		return NULL;
	return &fuse_ops_table[opcode];
}

size_t fuse_op_fixed_size(const struct fuse_session *s,
			  const struct fuse_op_desc *d)
{
	if (d == &fuse_ops_table[FUSE_SETXATTR])
		return s->setxattr_ext ? sizeof(struct fuse_setxattr_in)
				       : FUSE_COMPAT_SETXATTR_IN_SIZE;
	return d->min;
}

const char *fuse_arg_name(const struct fuse_request *req, unsigned int i)
{
	const struct fuse_request_engine *e = &req->engine;
	const struct fuse_op_desc *d = fuse_op_lookup(e->opcode);
	const char *p = (const char *)e->args + fuse_op_fixed_size(e->session, d);

	/* dispatch validated every name: each has its NUL inside args */
	while (i--)
		p += strlen(p) + 1;
	return p;
}

/* The back-end implements what this opcode needs (memcpy: no type pun). */
static bool fuse_fs_has_op(const struct fs_ops *ops, uint16_t fs_op)
{
	void (*fn)(void);

	if (!fs_op)
		return true;
	memcpy(&fn, (const char *)ops + fs_op - 1, sizeof(fn));
	return fn != NULL;
}

static int fuse_name_check(uint8_t kind, const char *p, size_t n)
{
	switch (kind) {
	case FUSE_NAME_ENTRY:
		if (n == 0 || memchr(p, '/', n))
			return -EINVAL;
		if (n > FUSE_ENGINE_NAME_MAX)
			return -ENAMETOOLONG;
		if (p[0] == '.' && (n == 1 || (n == 2 && p[1] == '.')))
			return -EINVAL;
		return 0;
	case FUSE_NAME_TARGET:
		if (n == 0)
			return -EINVAL;
		return n < FUSE_ENGINE_PATH_MAX ? 0 : -ENAMETOOLONG;
	case FUSE_NAME_XATTR:
		return n == 0 || n > FUSE_ENGINE_XATTR_NAME_MAX ? -ERANGE : 0;
	default:
		return -EINVAL;
	}
}

/* Validate the names in the private copy (the guest cannot change it). */
static int fuse_names_check(const struct fuse_request *req,
			    const struct fuse_op_desc *d, size_t fixed)
{
	const struct fuse_request_engine *e = &req->engine;
	size_t off = fixed;

	for (unsigned int i = 0; i < d->names; i++) {
		const char *p = (const char *)e->args + off;
		const char *nul = memchr(p, 0, e->len - off);
		int err;

		if (!nul)
			return -EINVAL;
		err = fuse_name_check(d->name_kind[i], p, (size_t)(nul - p));
		if (err)
			return err;
		off += (size_t)(nul - p) + 1;
	}
	if (!(d->flags & F_VALUE) && off != e->total)
		return -EINVAL;
	return 0;
}

/* How many argument bytes to copy into engine.args, or -errno. */
static long fuse_args_copy_len(const struct fuse_op_desc *d, size_t fixed,
			       size_t total)
{
	if (d->names == 0 && !(d->flags & (F_TAIL | F_EXTRA)) &&
	    (total < d->min || total > d->max))
		return -EINVAL;
	if (total < fixed)
		return -EINVAL;
	if (d->flags & F_TAIL)
		return (long)fixed;
	if (d->flags & F_EXTRA)
		return (long)(total < d->max ? total : d->max);
	if (d->flags & F_VALUE)
		return (long)(total < FUSE_ENGINE_ARGS_MAX ? total
							   : FUSE_ENGINE_ARGS_MAX);
	return total <= FUSE_ENGINE_ARGS_MAX ? (long)total : -E2BIG;
}

static int fuse_args_copy(struct fuse_request *req,
			  const struct fuse_op_desc *d, size_t fixed)
{
	struct fuse_request_engine *e = &req->engine;
	long n = fuse_args_copy_len(d, fixed, e->total);

	if (n < 0)
		return (int)n;
	if (iov_cursor_read(&e->in, e->args, (size_t)n) < 0)
		return -EIO;
	e->len = (size_t)n;
	if (d->names)
		return fuse_names_check(req, d, fixed);
	return 0;
}

static int fuse_node_resolve(struct fuse_request *req)
{
	struct fuse_request_engine *e = &req->engine;

	e->node = fuse_node_get(e->session, e->nodeid);
	return e->node ? 0 : -ESTALE;
}

/* Framing: len covers the header, fits in what was given, extensions fit. */
static int fuse_header_check(struct fuse_request *req,
			     const struct fuse_in_header *h)
{
	struct fuse_request_engine *e = &req->engine;
	size_t readable = sizeof(*h) + iov_cursor_remaining(&e->in);
	size_t ext = (size_t)h->total_extlen * 8;

	if (h->len < sizeof(*h) || h->len > readable)
		return -EIO;
	if (ext > h->len - sizeof(*h))
		return -EIO;
	/* extensions are only sent when negotiated (we never do): skip them */
	e->total = h->len - sizeof(*h) - ext;
	return 0;
}

/* Gates that depend on the session: INIT state, xattrs, the back-end. */
static int fuse_op_allowed(struct fuse_session *s, const struct fuse_op_desc *d)
{
	if (!(d->flags & F_NOINIT) && !fuse_session_ready(s))
		return -EIO;
	if ((d->flags & F_XATTR) && !s->cfg.xattr)
		return -ENOSYS;
	if (!fuse_fs_has_op(s->ops, d->fs_op))
		return -ENOSYS;
	return 0;
}

static int fuse_decode(struct fuse_request *req, const struct fuse_in_header *h,
		       const struct fuse_op_desc **out)
{
	struct fuse_session *s = req->engine.session;
	const struct fuse_op_desc *d = fuse_op_lookup(h->opcode);
	int err;

	if (!d || !d->handler)
		return -ENOSYS;
	req->engine.noreply = (d->flags & F_NOREPLY) != 0;
	err = fuse_header_check(req, h);
	if (!err)
		err = fuse_op_allowed(s, d);
	if (!err && d->reply && fuse_reply_space(req) < d->reply)
		err = -EIO;
	if (!err)
		err = fuse_args_copy(req, d, fuse_op_fixed_size(s, d));
	if (!err && (d->flags & F_NODE))
		err = fuse_node_resolve(req);
	*out = d;
	return err;
}

static void fuse_req_reset(struct fuse_request *req, struct fuse_session *s)
{
	struct fuse_request_engine *e = &req->engine;

	e->session = s;
	e->state = FUSE_REQ_ACTIVE;
	e->unique = 0;
	e->opcode = 0;
	e->nodeid = e->nodeid2 = e->fh = e->fh2 = 0;
	e->noreply = false;
	e->node = e->node2 = NULL;
	e->fhp = e->fhp2 = NULL;
	e->bounce = NULL;
	e->len = e->total = e->count = 0;
	e->data_cnt = 0;
}

void fuse_session_process(struct fuse_session *s, struct fuse_request *req)
{
	struct fuse_request_engine *e = &req->engine;
	const struct fuse_op_desc *d = NULL;
	struct fuse_in_header h;
	int err;

	fuse_req_reset(req, s);
	e->out_len = iov_length(req->out, req->out_cnt);
	atomic_fetch_add_explicit(&s->requests, 1, memory_order_relaxed);
	iov_cursor_init(&e->in, req->in, req->in_cnt);
	if (iov_cursor_read(&e->in, &h, sizeof(h)) < 0) {
		/* no unique to answer to: nothing sensible can be sent */
		fuse_reply_drop(req);
		return;
	}
	e->unique = h.unique;
	e->opcode = h.opcode;
	e->nodeid = h.nodeid;
	e->call.cred = (struct fs_cred){ .uid = h.uid, .gid = h.gid,
					 .pid = h.pid, .umask = 0 };
	e->call.id = h.unique;
	err = fuse_decode(req, &h, &d);
	if (err) {
		log_debug("fuse: %s (%u) unique %llu: %d",
			  d ? d->name : "unknown", h.opcode,
			  (unsigned long long)h.unique, err);
		fuse_reply_err(req, err);
		return;
	}
	if (!e->noreply && e->out_len < sizeof(struct fuse_out_header)) {
		fuse_reply_drop(req); /* do nothing we could not report */
		return;
	}
	d->handler(req);
}
