/* SPDX-License-Identifier: MIT */
/*
 * fuse_req_internal.h - FUSE requests laid out the way Linux's virtio_fs.c
 * puts them on a virtqueue, and the checks every reply must pass.
 *
 * A struct fe_req is a request slot: its buffers live in guest memory for
 * the whole run (in-header + in-args, out-header + out-args, data pages)
 * and so does its descriptor chain (reserved ring descriptors, or a private
 * indirect table).  Encoding a request writes the header and the args;
 * the chain is rewritten only when the request's shape changes, so a
 * benchmark loop re-submits a pre-built chain.
 *
 * Layouts (what the device must parse as one byte stream):
 *   LINUX   [in hdr][in args][data pages...] | [out hdr][out args][pages...]
 *           - one descriptor each, as virtio_fs.c does;
 *   JOINED  [in hdr + in args][pages...]     | [out hdr + out args][pages...]
 *   SCATTER headers and args cut at odd offsets into several descriptors,
 *           to exercise a device's byte-stream parsing.
 * Data pages are 4 KiB descriptors; the first may start at an offset.
 */
#ifndef VHOSTFS_FE_FUSE_REQ_INTERNAL_H
#define VHOSTFS_FE_FUSE_REQ_INTERNAL_H

#include <linux/fuse.h>
#include <stdbool.h>
#include <stdint.h>

#include "frontend/vring_internal.h"

#define FE_PAGE_SIZE 4096u
#define FE_REQ_IN_MAX 512u  /* in header + args: CREATE with a 255-byte name */
#define FE_REQ_OUT_MAX 256u /* out header + args: CREATE's entry + open */
#define FE_REQ_DESC_FIXED 8u /* descriptors besides data pages (SCATTER) */
#define FE_NAME_MAX 255u

enum fe_layout {
	FE_LAYOUT_LINUX = 0,
	FE_LAYOUT_JOINED,
	FE_LAYOUT_SCATTER,
};

struct fe_req;
typedef void (*fe_req_done_fn)(struct fe_req *r, int err);

struct fe_req {
	/* guest memory, fixed at set-up */
	uint8_t *in;   /* FE_REQ_IN_MAX bytes */
	uint8_t *out;  /* FE_REQ_OUT_MAX bytes */
	uint8_t *data; /* data_pages pages, page aligned */
	uint64_t in_gpa, out_gpa, data_gpa;
	uint32_t data_pages;
	uint32_t data_off; /* where data starts in the first page */

	/* descriptor chain, fixed at set-up */
	struct fe_vring_desc *table; /* ring table (direct) or own table */
	uint64_t table_gpa;          /* indirect table's address, else 0 */
	struct fe_vring_desc *indirect_head; /* ring descriptor naming it */
	uint16_t *ids;               /* direct: reserved ring descriptors */
	uint16_t ndesc_max;
	uint16_t head;               /* what goes on the avail ring */

	/* the request being sent */
	uint32_t opcode;
	uint64_t unique;
	uint64_t nodeid;
	uint32_t in_args;  /* bytes after fuse_in_header */
	uint32_t out_min;  /* success payload bounds after fuse_out_header */
	uint32_t out_max;  /* (READ: bounds of the data) */
	uint32_t data_len; /* WRITE: readable data bytes; READ: writable */
	bool data_out;     /* data is device-writable (READ) */
	bool no_reply;     /* FORGET: readable only, nothing comes back */

	/* chain state */
	uint64_t shape;    /* key of the chain last built, 0 = none */
	uint16_t ndesc;    /* descriptors in the chain */
	uint32_t writable; /* device-writable bytes of the chain */

	/* reply */
	uint32_t reply_len; /* payload bytes after fuse_out_header */

	/* completion and per-request state of whoever submitted it */
	fe_req_done_fn done;
	void *owner;
	uint64_t t_submit;
	uint64_t wl[4];
	uint32_t stage;
	bool inflight;
	bool completed;
	int result;
	struct fe_req *next_free;
};

/* Identity the requests are sent with (fuse_in_header uid/gid/pid). */
struct fe_fuse_cred {
	uint32_t uid, gid, pid;
};
void fe_fuse_cred_set(const struct fe_fuse_cred *c);

/* --- encoders: fill r->in and the request's shape ------------------------
 * Names longer than FE_NAME_MAX give -ENAMETOOLONG; a data length beyond
 * the slot's pages gives -E2BIG.  The unique id is set at submission. */
void fe_fuse_init(struct fe_req *r, uint32_t flags, uint32_t flags2,
		  uint32_t max_readahead);
void fe_fuse_destroy(struct fe_req *r);
int fe_fuse_lookup(struct fe_req *r, uint64_t parent, const char *name);
int fe_fuse_create(struct fe_req *r, uint64_t parent, const char *name,
		   uint32_t flags, uint32_t mode);
int fe_fuse_unlink(struct fe_req *r, uint64_t parent, const char *name);
void fe_fuse_open(struct fe_req *r, uint64_t nodeid, uint32_t flags);
int fe_fuse_read(struct fe_req *r, uint64_t nodeid, uint64_t fh,
		 uint64_t off, uint32_t size);
int fe_fuse_write(struct fe_req *r, uint64_t nodeid, uint64_t fh,
		  uint64_t off, uint32_t size);
void fe_fuse_release(struct fe_req *r, uint64_t nodeid, uint64_t fh,
		     uint32_t flags);
void fe_fuse_flush(struct fe_req *r, uint64_t nodeid, uint64_t fh);
void fe_fuse_fsync(struct fe_req *r, uint64_t nodeid, uint64_t fh);
void fe_fuse_getattr(struct fe_req *r, uint64_t nodeid, uint64_t fh,
		     bool use_fh);
void fe_fuse_forget(struct fe_req *r, uint64_t nodeid, uint64_t nlookup);

/* Payload of a successful reply (after fuse_out_header). */
static inline const void *fe_fuse_reply(const struct fe_req *r)
{
	return r->out + sizeof(struct fuse_out_header);
}

/* Write fuse_in_header last: its length depends on everything above. */
void fe_fuse_header_finish(struct fe_req *r, uint64_t unique);

/*
 * Write the header's unique id and (re)build the chain for the current
 * shape in @layout.  Returns 0 or -E2BIG when the chain does not fit the
 * slot's descriptors.
 */
int fe_fuse_prepare(struct fe_req *r, uint64_t unique, enum fe_layout layout);

/*
 * Check a completion whose used-ring length is @used_len.  Returns the
 * daemon's error (0 or -errno) for a well-formed reply, with r->reply_len
 * set, or -EPROTO for a malformed one (logged).  A FORGET (no_reply) must
 * come back with length 0.
 */
int fe_fuse_reply_check(struct fe_req *r, uint32_t used_len);

/* Data pages an I/O of @len bytes starting @off into the first page spans. */
static inline uint32_t fe_fuse_pages(uint32_t off, uint32_t len)
{
	return (uint32_t)(((uint64_t)off + len + FE_PAGE_SIZE - 1) / FE_PAGE_SIZE);
}

/* Opcode name for messages ("READ"), or "?" */
const char *fe_fuse_opname(uint32_t opcode);

#endif /* VHOSTFS_FE_FUSE_REQ_INTERNAL_H */
