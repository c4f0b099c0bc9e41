/* SPDX-License-Identifier: MIT */
/*
 * fuse_internal.h - state shared by the FUSE engine's files.
 *
 *   session.c        create/destroy, FUSE_INIT negotiation, DESTROY, stats
 *   dispatch.c       the opcode table, header decoding, argument copy and
 *                    validation, nodeid resolution
 *   reply.c          reply encoding, the one-done() rule, attr/entry encoding
 *   nodes.c          nodeid table (dedup of back-end inodes) and fh table
 *   ops_entry.c      namespace and attribute ops (LOOKUP ... SYNCFS)
 *   ops_file.c       OPEN, CREATE, TMPFILE, READ, WRITE, RELEASE, ...
 *   ops_dir.c        OPENDIR, READDIR(PLUS) encoding, RELEASEDIR, FSYNCDIR
 *   ops_xattr.c      SETXATTR, GETXATTR, LISTXATTR, REMOVEXATTR
 *   ops_lock.c       GETLK, SETLK, SETLKW, INTERRUPT and its registry
 *
 * Life of a request: dispatch.c validates everything it can from the table
 * and resolves the header nodeid; the handler parses its fixed arguments from
 * engine.args (a private copy: guest memory may change under us), looks up
 * fhs, fills engine.call and calls the back-end.  The handler must not touch
 * the request after that call: the completion (a *_cpl function) may already
 * have run and the transport may have reused the request.  Every path ends in
 * fuse_reply_finish(), which drops the references the request holds and
 * calls done() exactly once.
 */
#ifndef VHOSTFS_FUSE_INTERNAL_H
#define VHOSTFS_FUSE_INTERNAL_H

#include <linux/fuse.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhostfs/fs.h"
#include "vhostfs/fuse_engine.h"
#include "vhostfs/handle_table.h"

/* The protocol range we speak. */
#define FUSE_ENGINE_MAJOR 7
#define FUSE_ENGINE_MINOR 38
#define FUSE_ENGINE_MINOR_MIN 27

#define FUSE_ENGINE_PAGE 4096u
#define FUSE_ENGINE_XATTR_SIZE_MAX 65536u
#define FUSE_ENGINE_XATTR_NAME_MAX 255u
#define FUSE_ENGINE_NAME_MAX 255u
#define FUSE_ENGINE_PATH_MAX 4096u

/* fuse_request.engine.state */
enum {
	FUSE_REQ_IDLE = 0,
	FUSE_REQ_ACTIVE = 0x5a5a0001,
	FUSE_REQ_DONE = 0x5a5a0002,
};

/* fuse_session.state */
enum {
	FUSE_SESSION_NEW = 0,
	FUSE_SESSION_INITIALIZING,
	FUSE_SESSION_READY,
	FUSE_SESSION_DESTROYED,
};

/* ---- nodes and handles (nodes.c) --------------------------------------- */

struct fuse_node {
	struct fs_inode *inode;
	uint64_t nodeid;
	uint64_t nlookup;       /* the peer's count; under nodes.lock */
	uint64_t refs;          /* back-end references held; under nodes.lock */
	struct fuse_node *hnext;
	bool hashed;            /* findable by inode pointer */
};

struct fuse_node_table {
	pthread_mutex_t lock;   /* the hash and the counts */
	struct fuse_node **buckets;
	size_t nbuckets;        /* power of two */
	size_t count;           /* hashed nodes */
	struct handle_table *ids;
	struct fuse_node root;  /* nodeid 1, not in ids, never removed */
};

enum fuse_fh_kind {
	FUSE_FH_FILE = 1,       /* from OPEN, CREATE, TMPFILE */
	FUSE_FH_DIR = 2,        /* from OPENDIR */
};

struct fuse_fh {
	struct fs_file *file;
	uint32_t kind;
	struct fuse_session *session;
	struct fs_call call;    /* for the release at session destroy */
};

int fuse_nodes_init(struct fuse_session *s);
void fuse_nodes_fini(struct fuse_session *s);
/*
 * Give @inode (one back-end reference, consumed whatever the result) a
 * nodeid: the existing one if the inode is known, with nlookup + 1.
 */
int fuse_node_register(struct fuse_session *s, struct fs_inode *inode,
		       uint64_t *nodeid);
/* Undo one fuse_node_register() whose reply never reached the peer. */
void fuse_node_unregister(struct fuse_session *s, uint64_t nodeid);
/* FORGET: drop @nlookup of the peer's lookups. -ESTALE if unknown. */
int fuse_node_forget(struct fuse_session *s, uint64_t nodeid, uint64_t nlookup);
/* A held node (put with fuse_node_put), or NULL for a forged/stale id. */
struct fuse_node *fuse_node_get(struct fuse_session *s, uint64_t nodeid);
void fuse_node_put(struct fuse_session *s, uint64_t nodeid);

int fuse_fhs_init(struct fuse_session *s);
void fuse_fhs_fini(struct fuse_session *s);
/* Give @file an fh; on failure the caller still owns @file. */
int fuse_fh_insert(struct fuse_session *s, struct fs_file *file, uint32_t kind,
		   uint64_t *fh);
/* A held fh of @kind (0: any kind), or NULL (forged, stale, other kind). */
struct fuse_fh *fuse_fh_get(struct fuse_session *s, uint64_t fh, uint32_t kind);
void fuse_fh_put(struct fuse_session *s, uint64_t fh);
/* RELEASE(DIR): remove @fh if idle. -EBADF unknown/other kind, -EBUSY. */
int fuse_fh_take(struct fuse_session *s, uint64_t fh, uint32_t kind,
		 struct fuse_fh **out);

/*
 * Hold the node or fh an argument names until the request ends: -ESTALE /
 * -EBADF (forged, stale, or an fh of another kind; @kind 0 = any).
 */
int fuse_req_hold_node2(struct fuse_request *req, uint64_t nodeid);
int fuse_req_hold_fh(struct fuse_request *req, uint64_t fh, uint32_t kind);
int fuse_req_hold_fh2(struct fuse_request *req, uint64_t fh, uint32_t kind);

/* ---- the session (session.c) ------------------------------------------ */

struct fuse_session {
	struct fs *fs;
	const struct fs_ops *ops;
	struct fuse_session_config cfg;  /* defaults filled in */
	_Atomic uint32_t state;          /* FUSE_SESSION_* */

	/* negotiated by INIT; read only once state is READY */
	uint32_t minor;
	uint64_t flags;                  /* FUSE_* init flags in force */
	uint32_t max_write;
	uint32_t max_read;               /* largest READ accepted */
	bool setxattr_ext;
	bool killpriv_v2;

	/* from the cache mode */
	uint64_t entry_timeout;
	uint64_t attr_timeout;

	struct fuse_node_table nodes;
	struct handle_table *fhs;
	_Atomic uint32_t releases_pending; /* fh releases at destroy */

	/* SETLKW calls that an INTERRUPT may cancel (ops_lock.c) */
	pthread_mutex_t lkw_lock;
	pthread_cond_t lkw_cond;
	struct fuse_request *lkw_head;

	_Atomic uint64_t requests;
	_Atomic uint64_t errors;
	_Atomic uint64_t dropped;
};

bool fuse_session_ready(const struct fuse_session *s);

/* ---- dispatch (dispatch.c) ---------------------------------------------- */

typedef void (*fuse_handler_fn)(struct fuse_request *req);

/* Kinds of trailing NUL-terminated strings */
enum {
	FUSE_NAME_ENTRY = 1,    /* a directory entry name */
	FUSE_NAME_TARGET,       /* a symlink target */
	FUSE_NAME_XATTR,        /* an xattr name */
};

/* fuse_op_desc.flags */
enum {
	FUSE_OPF_NOINIT = 1u << 0,  /* allowed before INIT */
	FUSE_OPF_NOREPLY = 1u << 1, /* never answered */
	FUSE_OPF_NODE = 1u << 2,    /* resolve the header nodeid */
	FUSE_OPF_TAIL = 1u << 3,    /* bytes after the fixed args are the
				       handler's (data, forget list) */
	FUSE_OPF_VALUE = 1u << 4,   /* bytes after the names: a value */
	FUSE_OPF_XATTR = 1u << 5,   /* -ENOSYS unless xattrs are on */
	FUSE_OPF_EXTRA = 1u << 6,   /* bytes beyond max are ignored (INIT) */
};

struct fuse_op_desc {
	const char *name;
	fuse_handler_fn handler;   /* NULL: -ENOSYS (see docs/PROTOCOL.md) */
	uint16_t min;              /* fixed argument bytes */
	uint16_t max;
	uint8_t names;             /* trailing strings */
	uint8_t name_kind[2];
	uint8_t flags;
	uint16_t fs_op;            /* offsetof(struct fs_ops, op) + 1, 0: none */
	uint16_t reply;            /* fixed success payload, checked up front */
};

const struct fuse_op_desc *fuse_op_lookup(uint32_t opcode);
/* Names (and value) after the fixed args in engine.args, in order. */
const char *fuse_arg_name(const struct fuse_request *req, unsigned int i);
/* Fixed argument bytes for this request (SETXATTR depends on INIT). */
size_t fuse_op_fixed_size(const struct fuse_session *s,
			  const struct fuse_op_desc *d);

/* ---- replies (reply.c) --------------------------------------------------- */

/* Error reply (or nothing for a no-reply op); ends the request. */
void fuse_reply_err(struct fuse_request *req, int err);
/* Success with @size payload bytes, -EIO if the reply space is too small. */
void fuse_reply_ok(struct fuse_request *req, const void *payload, size_t size);
/*
 * Success whose @size payload bytes are already in the reply after the out
 * header (READ data, dirents, xattr values): write the header only.
 */
void fuse_reply_inplace(struct fuse_request *req, size_t size);
/* Nothing can be answered (no room for a header, no unique): count it. */
void fuse_reply_drop(struct fuse_request *req);
/* No reply at all (FORGET); ends the request. */
void fuse_reply_none(struct fuse_request *req);
/* Bytes of reply space after the out header (0 if not even the header fits). */
size_t fuse_reply_space(const struct fuse_request *req);
/* Drop every reference the request holds (done by the reply helpers). */
void fuse_req_release(struct fuse_request *req);

void fuse_attr_encode(const struct fuse_session *s, const struct stat *st,
		      struct fuse_attr *out);
void fuse_entry_encode(const struct fuse_session *s, uint64_t nodeid,
		       const struct stat *st, struct fuse_entry_out *out);
void fuse_attr_out_encode(const struct fuse_session *s, const struct stat *st,
			  struct fuse_attr_out *out);
/*
 * Register res.entry's inode and reply fuse_entry_out; on a failed
 * registration reply the error (the reference went back to the back-end).
 */
void fuse_reply_entry(struct fuse_request *req);
/* FOPEN_* flags for an open reply from the cache mode and back-end hints. */
uint32_t fuse_open_flags(const struct fuse_session *s,
			 const struct fs_open_out *o, bool dir);

/* Start a back-end call whose completion is @cb(req, err). */
void fuse_call_prepare(struct fuse_request *req, fs_cb cb);
/* Completion that replies an error or an empty success. */
void fuse_cpl_status(void *arg, int err);

/* Copy the fixed args (at offset 0 of engine.args) into @dst. */
static inline void fuse_args_get(const struct fuse_request *req, void *dst,
				 size_t size)
{
	__builtin_memcpy(dst, req->engine.args, size);
}

static inline struct fuse_session *fuse_req_session(struct fuse_request *req)
{
	return req->engine.session;
}

/* ---- handlers ------------------------------------------------------------ */

void fuse_do_init(struct fuse_request *req);
void fuse_do_destroy(struct fuse_request *req);

void fuse_do_lookup(struct fuse_request *req);
void fuse_do_forget(struct fuse_request *req);
void fuse_do_batch_forget(struct fuse_request *req);
void fuse_do_getattr(struct fuse_request *req);
void fuse_do_setattr(struct fuse_request *req);
void fuse_do_readlink(struct fuse_request *req);
void fuse_do_symlink(struct fuse_request *req);
void fuse_do_mknod(struct fuse_request *req);
void fuse_do_mkdir(struct fuse_request *req);
void fuse_do_unlink(struct fuse_request *req);
void fuse_do_rmdir(struct fuse_request *req);
void fuse_do_rename(struct fuse_request *req);
void fuse_do_rename2(struct fuse_request *req);
void fuse_do_link(struct fuse_request *req);
void fuse_do_statfs(struct fuse_request *req);
void fuse_do_access(struct fuse_request *req);
void fuse_do_syncfs(struct fuse_request *req);

void fuse_do_open(struct fuse_request *req);
void fuse_do_create(struct fuse_request *req);
void fuse_do_tmpfile(struct fuse_request *req);
void fuse_do_read(struct fuse_request *req);
void fuse_do_write(struct fuse_request *req);
void fuse_do_release(struct fuse_request *req);
void fuse_do_fsync(struct fuse_request *req);
void fuse_do_flush(struct fuse_request *req);
void fuse_do_fallocate(struct fuse_request *req);
void fuse_do_lseek(struct fuse_request *req);
void fuse_do_copy_file_range(struct fuse_request *req);

void fuse_do_opendir(struct fuse_request *req);
void fuse_do_readdir(struct fuse_request *req);
void fuse_do_readdirplus(struct fuse_request *req);
void fuse_do_releasedir(struct fuse_request *req);
void fuse_do_fsyncdir(struct fuse_request *req);

void fuse_do_setxattr(struct fuse_request *req);
void fuse_do_getxattr(struct fuse_request *req);
void fuse_do_listxattr(struct fuse_request *req);
void fuse_do_removexattr(struct fuse_request *req);

void fuse_do_getlk(struct fuse_request *req);
void fuse_do_setlk(struct fuse_request *req);
void fuse_do_setlkw(struct fuse_request *req);
void fuse_do_interrupt(struct fuse_request *req);

/* Shared by OPEN/CREATE/TMPFILE/OPENDIR: register the fh and reply. */
void fuse_open_reply(struct fuse_request *req, uint32_t kind, bool with_entry);

#endif /* VHOSTFS_FUSE_INTERNAL_H */
