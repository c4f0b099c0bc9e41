// SPDX-License-Identifier: MIT
/* fuse_req.c - encoding FUSE requests into slots and checking replies. */
#include <errno.h>
#include <string.h>

#include "frontend/fuse_req_internal.h"
#include "vhostfs/log.h"

static struct fe_fuse_cred fuse_cred;

void fe_fuse_cred_set(const struct fe_fuse_cred *c)
{
	fuse_cred = *c;
}

static const char *const op_names[] = {
	[FUSE_LOOKUP] = "LOOKUP",   [FUSE_FORGET] = "FORGET",
	[FUSE_GETATTR] = "GETATTR", [FUSE_UNLINK] = "UNLINK",
	[FUSE_OPEN] = "OPEN",       [FUSE_READ] = "READ",
	[FUSE_WRITE] = "WRITE",     [FUSE_RELEASE] = "RELEASE",
	[FUSE_FLUSH] = "FLUSH",     [FUSE_INIT] = "INIT",
	[FUSE_CREATE] = "CREATE",   [FUSE_DESTROY] = "DESTROY",
	[FUSE_FSYNC] = "FSYNC",
};

const char *fe_fuse_opname(uint32_t opcode)
{
	if (opcode >= sizeof(op_names) / sizeof(op_names[0]) ||
	    !op_names[opcode])
		return "?";
	return op_names[opcode];
}

/* Start a request: header fields, no args yet, a header-only reply. */
static void *fuse_begin(struct fe_req *r, uint32_t opcode, uint64_t nodeid,
			uint32_t in_args, uint32_t out_len)
{
	r->opcode = opcode;
	r->nodeid = nodeid;
	r->in_args = in_args;
	r->out_min = out_len;
	r->out_max = out_len;
	r->data_len = 0;
	r->data_out = false;
	r->no_reply = false;
	r->reply_len = 0;
	return r->in + sizeof(struct fuse_in_header);
}

static void fuse_header_write(struct fe_req *r)
{
	struct fuse_in_header h = {
		.len = (uint32_t)sizeof(h) + r->in_args +
		       (r->data_out ? 0 : r->data_len),
		.opcode = r->opcode,
		.unique = r->unique,
		.nodeid = r->nodeid,
		.uid = fuse_cred.uid,
		.gid = fuse_cred.gid,
		.pid = fuse_cred.pid,
	};

	memcpy(r->in, &h, sizeof(h));
}

/* Append a NUL-terminated name after @fixed bytes of args. */
static int fuse_name_put(struct fe_req *r, uint32_t fixed, const char *name)
{
	size_t n = strnlen(name, FE_NAME_MAX + 1);

	if (n == 0 || n > FE_NAME_MAX)
		return n ? -ENAMETOOLONG : -EINVAL;
	memcpy(r->in + sizeof(struct fuse_in_header) + fixed, name, n + 1);
	r->in_args = fixed + (uint32_t)n + 1;
	return 0;
}

void fe_fuse_init(struct fe_req *r, uint32_t flags, uint32_t flags2,
		  uint32_t max_readahead)
{
	struct fuse_init_in in = {
		.major = FUSE_KERNEL_VERSION,
		.minor = FUSE_KERNEL_MINOR_VERSION,
		.max_readahead = max_readahead,
		.flags = flags,
		.flags2 = flags2,
	};

	memcpy(fuse_begin(r, FUSE_INIT, 0, sizeof(in), 0), &in, sizeof(in));
	/* A 7.23+ daemon answers with the full struct, older ones with the
	 * 24-byte compat form. */
	r->out_min = FUSE_COMPAT_22_INIT_OUT_SIZE;
	r->out_max = sizeof(struct fuse_init_out);
}

void fe_fuse_destroy(struct fe_req *r)
{
	fuse_begin(r, FUSE_DESTROY, 0, 0, 0);
}

int fe_fuse_lookup(struct fe_req *r, uint64_t parent, const char *name)
{
	fuse_begin(r, FUSE_LOOKUP, parent, 0, sizeof(struct fuse_entry_out));
	return fuse_name_put(r, 0, name);
}

int fe_fuse_create(struct fe_req *r, uint64_t parent, const char *name,
		   uint32_t flags, uint32_t mode)
{
	struct fuse_create_in in = { .flags = flags, .mode = mode,
				     .umask = 022 };

	memcpy(fuse_begin(r, FUSE_CREATE, parent, 0,
			  sizeof(struct fuse_entry_out) +
				  sizeof(struct fuse_open_out)),
	       &in, sizeof(in));
	return fuse_name_put(r, sizeof(in), name);
}

int fe_fuse_unlink(struct fe_req *r, uint64_t parent, const char *name)
{
	fuse_begin(r, FUSE_UNLINK, parent, 0, 0);
	return fuse_name_put(r, 0, name);
}

void fe_fuse_open(struct fe_req *r, uint64_t nodeid, uint32_t flags)
{
	struct fuse_open_in in = { .flags = flags };

	memcpy(fuse_begin(r, FUSE_OPEN, nodeid, sizeof(in),
			  sizeof(struct fuse_open_out)),
	       &in, sizeof(in));
}

/* Does an I/O of @size bytes fit the slot's pages? */
static int fuse_data_fits(const struct fe_req *r, uint32_t size)
{
	return fe_fuse_pages(r->data_off, size) <= r->data_pages ? 0 : -E2BIG;
}

int fe_fuse_read(struct fe_req *r, uint64_t nodeid, uint64_t fh,
		 uint64_t off, uint32_t size)
{
	struct fuse_read_in in = { .fh = fh, .offset = off, .size = size };

	if (fuse_data_fits(r, size))
		return -E2BIG;
	memcpy(fuse_begin(r, FUSE_READ, nodeid, sizeof(in), 0), &in,
	       sizeof(in));
	/* Short reads are legal FUSE; the caller decides what it wanted. */
	r->out_max = size;
	r->data_len = size;
	r->data_out = true;
	return 0;
}

int fe_fuse_write(struct fe_req *r, uint64_t nodeid, uint64_t fh,
		  uint64_t off, uint32_t size)
{
	struct fuse_write_in in = { .fh = fh, .offset = off, .size = size };

	if (fuse_data_fits(r, size))
		return -E2BIG;
	memcpy(fuse_begin(r, FUSE_WRITE, nodeid, sizeof(in),
			  sizeof(struct fuse_write_out)),
	       &in, sizeof(in));
	r->data_len = size;
	return 0;
}

void fe_fuse_release(struct fe_req *r, uint64_t nodeid, uint64_t fh,
		     uint32_t flags)
{
	struct fuse_release_in in = { .fh = fh, .flags = flags };

	memcpy(fuse_begin(r, FUSE_RELEASE, nodeid, sizeof(in), 0), &in,
	       sizeof(in));
}

void fe_fuse_flush(struct fe_req *r, uint64_t nodeid, uint64_t fh)
{
	struct fuse_flush_in in = { .fh = fh };

	memcpy(fuse_begin(r, FUSE_FLUSH, nodeid, sizeof(in), 0), &in,
	       sizeof(in));
}

void fe_fuse_fsync(struct fe_req *r, uint64_t nodeid, uint64_t fh)
{
	struct fuse_fsync_in in = { .fh = fh };

	memcpy(fuse_begin(r, FUSE_FSYNC, nodeid, sizeof(in), 0), &in,
	       sizeof(in));
}

void fe_fuse_getattr(struct fe_req *r, uint64_t nodeid, uint64_t fh,
		     bool use_fh)
{
	struct fuse_getattr_in in = {
		.getattr_flags = use_fh ? FUSE_GETATTR_FH : 0,
		.fh = use_fh ? fh : 0,
	};

	memcpy(fuse_begin(r, FUSE_GETATTR, nodeid, sizeof(in),
			  sizeof(struct fuse_attr_out)),
	       &in, sizeof(in));
}

void fe_fuse_forget(struct fe_req *r, uint64_t nodeid, uint64_t nlookup)
{
	struct fuse_forget_in in = { .nlookup = nlookup };

	memcpy(fuse_begin(r, FUSE_FORGET, nodeid, sizeof(in), 0), &in,
	       sizeof(in));
	r->no_reply = true;
}

void fe_fuse_header_finish(struct fe_req *r, uint64_t unique)
{
	r->unique = unique;
	fuse_header_write(r);
}

static int reply_bad(const struct fe_req *r, const char *what, int64_t a,
		     int64_t b)
{
	log_error("bench: malformed %s reply (unique %llu): %s (%lld vs %lld)",
		  fe_fuse_opname(r->opcode), (unsigned long long)r->unique,
		  what, (long long)a, (long long)b);
	return -EPROTO;
}

int fe_fuse_reply_check(struct fe_req *r, uint32_t used_len)
{
	struct fuse_out_header oh;
	uint32_t payload;

	r->reply_len = 0;
	if (r->no_reply)
		return used_len == 0 ? 0 : reply_bad(r, "used len of a "
						     "no-reply request", used_len, 0);
	if (used_len < sizeof(oh))
		return reply_bad(r, "used len below header", used_len, sizeof(oh));
	if (used_len > r->writable)
		return reply_bad(r, "used len beyond writable", used_len,
				 r->writable);
	memcpy(&oh, r->out, sizeof(oh));
	if (oh.unique != r->unique)
		return reply_bad(r, "unique", (int64_t)oh.unique,
				 (int64_t)r->unique);
	if (oh.len != used_len)
		return reply_bad(r, "out.len vs used len", oh.len, used_len);
	if (oh.error > 0 || oh.error < -4095)
		return reply_bad(r, "error out of range", oh.error, -4095);
	payload = oh.len - (uint32_t)sizeof(oh);
	if (oh.error != 0)
		return payload ? reply_bad(r, "error reply with payload",
					   payload, 0)
			       : oh.error;
	if (payload < r->out_min || payload > r->out_max)
		return reply_bad(r, "payload size", payload,
				 payload < r->out_min ? r->out_min : r->out_max);
	r->reply_len = payload;
	return 0;
}
