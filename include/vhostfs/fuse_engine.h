/* SPDX-License-Identifier: MIT */
/*
 * fuse_engine.h - the FUSE request engine shared by every transport.
 *
 * A transport (the /dev/fuse channel, a virtqueue) hands the engine one
 * request at a time as two iovec arrays: the bytes the peer wrote
 * (fuse_in_header, arguments, WRITE data) and the space for the reply
 * (fuse_out_header, results, READ data).  Iovec boundaries carry no meaning.
 *
 * The engine validates everything against one per-opcode table, looks guest
 * nodeids and fhs up in generation-checked tables, calls the back-end's
 * struct fs_ops, encodes the reply into the reply iovecs (READ data goes
 * straight from the back-end into them, WRITE data straight from the request
 * iovecs to the back-end: no copies) and calls req->done exactly once.
 *
 * One session is one FUSE connection (one FUSE_INIT), shared by every queue
 * and thread of a device.  fuse_session_process() may be called concurrently
 * from several reactor threads; each request completes on the thread that
 * submitted it.
 */
#ifndef VHOSTFS_FUSE_ENGINE_H
#define VHOSTFS_FUSE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vhostfs/fs.h"
#include "vhostfs/iov.h"

struct fuse_session;
struct fuse_request;
struct fuse_node; /* engine-private */
struct fuse_fh;   /* engine-private */

/* Largest non-data argument block the engine copies out of a request. */
#define FUSE_ENGINE_ARGS_MAX (4096 + 2 * 256 + 128)
/* Most data iovecs a READ/WRITE may carry (max_pages plus an unaligned head). */
#define FUSE_ENGINE_DATA_IOV_MAX 260

enum fuse_cache_mode {
	FUSE_CACHE_AUTO = 0,  /* default: short timeouts, keep cache on open */
	FUSE_CACHE_ALWAYS,    /* long timeouts, keep page cache */
	FUSE_CACHE_METADATA,  /* cache attributes, not data */
	FUSE_CACHE_NEVER,     /* no timeouts, direct I/O */
};

struct fuse_session_config {
	struct fs *fs;                  /* the back-end served */
	enum fuse_cache_mode cache;
	bool xattr;                     /* serve xattrs (off: -ENOSYS as virtiofsd) */
	bool posix_acl;                 /* offer FUSE_POSIX_ACL (needs xattr; the
					   back-end serves system.posix_acl_*) */
	bool writeback;                 /* offer FUSE_WRITEBACK_CACHE */
	uint32_t max_write;             /* 0 = 1 MiB */
	uint16_t max_pages;             /* 0 = 256 */
	uint16_t max_background;        /* 0 = 65535 */
	uint32_t max_nodes;             /* 0 = default */
	uint32_t max_handles;           /* 0 = default */
};

int fuse_session_create(struct fuse_session **out,
			const struct fuse_session_config *cfg);

/*
 * Tear the session down: forget every node and release every open handle the
 * peer left behind (a guest that went away).  No request may be in flight.
 * The back-end itself is not destroyed.
 */
void fuse_session_destroy(struct fuse_session *s);

/* True once FUSE_INIT was answered successfully (and until DESTROY). */
bool fuse_session_initialized(const struct fuse_session *s);

/*
 * Called exactly once per request.  @reply_len is the number of bytes of the
 * reply iovecs to send back (0: no reply, as for FORGET, or a request that
 * was dropped because not even an error reply could be written).
 */
typedef void (*fuse_request_done_fn)(struct fuse_request *req,
				     size_t reply_len);

/*
 * One request.  The transport owns the memory (pre-allocate a pool; the
 * engine allocates nothing per request except bounce buffers for rare
 * oversized xattr values), fills the public fields and calls
 * fuse_session_process().  The request must stay valid until done() runs.
 */
struct fuse_request {
	/* set by the transport */
	const struct iovec *in;
	unsigned int in_cnt;
	const struct iovec *out;
	unsigned int out_cnt;
	fuse_request_done_fn done;
	void *transport_ctx;

	/* private to the engine (layout may change at any time) */
	struct fuse_request_engine {
		struct fuse_session *session;
		struct fs_call call;
		uint64_t unique;
		uint64_t nodeid;        /* header nodeid, resolved into node */
		uint64_t nodeid2;       /* second nodeid held (newdir, oldnodeid) */
		uint64_t fh;            /* fh ids held, dropped at completion */
		uint64_t fh2;
		uint32_t opcode;
		uint32_t state;         /* FUSE_REQ_*: exactly one done() */
		bool noreply;           /* FORGET, BATCH_FORGET, INTERRUPT */
		struct fuse_node *node; /* held references (NULL: none) */
		struct fuse_node *node2;
		struct fuse_fh *fhp;
		struct fuse_fh *fhp2;
		void *bounce;           /* rare oversized xattr value, freed at the end */
		size_t len;             /* argument bytes copied into args[] */
		size_t total;           /* argument bytes in the request */
		size_t count;           /* bytes read/written/listed by the back-end */
		size_t out_len;         /* reply space, header included */
		struct iov_cursor in;   /* request bytes after the copied arguments */
		struct iov_cursor out;  /* reply bytes after fuse_out_header */
		struct iovec data[FUSE_ENGINE_DATA_IOV_MAX];
		unsigned int data_cnt;
		union {
			struct fs_entry entry;
			struct stat attr;
			struct statvfs st;
			struct fs_lock lock;
			uint64_t u64;
		} res;
		struct fs_open_out open;
		struct fs_setattr setattr;
		union {
			struct {                  /* READDIR(PLUS) */
				size_t budget;
				size_t used;
				uint32_t entries;
				int err;
				bool plus;
				bool full;
			} dir;
			struct {                  /* GETXATTR/LISTXATTR */
				void *buf;
				size_t size;
				bool in_reply;    /* buf points into the reply */
			} xattr;
			struct {                  /* SETLKW interrupt registry */
				struct fuse_request *next;
				struct fuse_request *prev;
				const void *interrupter;
				int err;
				bool interrupting;
				bool completed;
			} lkw;
			struct {                  /* OPEN/CREATE/RELEASE */
				int flags;        /* OPEN after killing S[UG]ID */
				int err;          /* error to reply after undoing */
				struct fuse_fh *taken; /* RELEASE(DIR) */
			} open;
		} op;
		_Alignas(8) unsigned char args[FUSE_ENGINE_ARGS_MAX];
	} engine;
};

/*
 * Decode, validate and execute @req.  Never fails: every problem becomes an
 * error reply (or a dropped request when no reply can be written).
 */
void fuse_session_process(struct fuse_session *s, struct fuse_request *req);

/* Counters for tests and logs. */
struct fuse_session_stats {
	uint64_t requests;
	uint64_t errors;   /* error replies sent, plus rejected FORGETs */
	uint64_t dropped;  /* requests that could not be answered at all
			      (truncated header, no room for a reply) */
	uint32_t nodes;    /* live nodeids */
	uint32_t handles;  /* live fhs */
};
void fuse_session_get_stats(struct fuse_session *s,
			    struct fuse_session_stats *out);

#endif /* VHOSTFS_FUSE_ENGINE_H */
