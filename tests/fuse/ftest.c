// SPDX-License-Identifier: MIT
/* ftest.c - request builders and session fixtures for the engine's tests. */
#include <stdlib.h>
#include <string.h>

#include "ftest.h"
#include "vhostfs/log.h"

struct ft_req *ft_req_new(void)
{
	struct ft_req *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	r->in = calloc(1, FT_IN_MAX);
	r->out = calloc(1, FT_OUT_MAX);
	assert_non_null(r->in);
	assert_non_null(r->out);
	r->out_cap = FT_OUT_MAX;
	return r;
}

void ft_req_free(struct ft_req *r)
{
	if (!r)
		return;
	free(r->in);
	free(r->out);
	free(r);
}

void ft_start_cfg(struct ft *t, const struct fuse_session_config *cfg)
{
	memset(t, 0, sizeof(*t));
	log_set_level(LOG_LEVEL_WARN);
	t->m = mock_fs_new();
	t->cfg = *cfg;
	t->cfg.fs = &t->m->base;
	assert_int_equal(fuse_session_create(&t->s, &t->cfg), 0);
	t->r = ft_req_new();
}

void ft_start(struct ft *t)
{
	struct fuse_session_config cfg = { .xattr = true };

	ft_start_cfg(t, &cfg);
}

void ft_start_init(struct ft *t)
{
	ft_start(t);
	assert_int_equal(ft_init(t, 7, 38, 0xffffffffu, 0), 0);
}

void ft_stop(struct ft *t)
{
	fuse_session_destroy(t->s);
	assert_int_equal(mock_fs_refs(t->m), 0);
	assert_int_equal(t->m->inodes[0].refs, 0);
	assert_int_equal(mock_fs_open_files(t->m), 0);
	ft_req_free(t->r);
	mock_fs_free(t->m);
}

size_t ft_build(struct ft_req *r, uint32_t opcode, uint64_t nodeid,
		const void *arg, size_t arglen, const char *name1,
		const char *name2, const void *tail, size_t taillen)
{
	struct fuse_in_header h = {
		.opcode = opcode, .unique = 0x1234 + opcode, .nodeid = nodeid,
		.uid = 1001, .gid = 1002, .pid = 77,
	};
	size_t off = sizeof(h);

	if (arglen)
		memcpy(r->in + off, arg, arglen);
	off += arglen;
	if (name1) {
		memcpy(r->in + off, name1, strlen(name1) + 1);
		off += strlen(name1) + 1;
	}
	if (name2) {
		memcpy(r->in + off, name2, strlen(name2) + 1);
		off += strlen(name2) + 1;
	}
	if (taillen)
		memcpy(r->in + off, tail, taillen);
	off += taillen;
	h.len = (uint32_t)off;
	memcpy(r->in, &h, sizeof(h));
	r->in_len = off;
	return off;
}

static void ft_done(struct fuse_request *req, size_t reply_len)
{
	struct ft_req *r = (struct ft_req *)req;

	r->done++;
	r->reply_len = reply_len;
}

/* Cut [0, len) at @cuts into @iov; returns the number of entries. */
static unsigned int ft_cut(unsigned char *buf, size_t len, const size_t *cuts,
			   int ncuts, struct iovec *iov)
{
	unsigned int n = 0;
	size_t start = 0;

	for (int i = 0; i < ncuts && n < FT_IOV_MAX - 1; i++) {
		if (cuts[i] < start || cuts[i] > len)
			continue;
		iov[n++] = (struct iovec){ buf + start, cuts[i] - start };
		start = cuts[i];
	}
	iov[n++] = (struct iovec){ buf + start, len - start };
	return n;
}

static void ft_prepare(struct ft_req *r, const size_t *in_cuts, int nin,
		       const size_t *out_cuts, int nout)
{
	memset(r->out, 0xee, r->out_cap < 4096 ? r->out_cap : 4096);
	r->req.in = r->iov_in;
	r->req.in_cnt = ft_cut(r->in, r->in_len, in_cuts, nin, r->iov_in);
	r->req.out = r->iov_out;
	r->req.out_cnt = ft_cut(r->out, r->out_cap, out_cuts, nout,
				r->iov_out);
	r->req.done = ft_done;
	r->done = 0;
	r->reply_len = 0;
}

void ft_submit(struct ft *t, struct ft_req *r)
{
	ft_prepare(r, NULL, 0, NULL, 0);
	fuse_session_process(t->s, &r->req);
}

int ft_result(const struct ft_req *r)
{
	struct fuse_out_header oh;

	assert_int_equal(r->done, 1);
	if (r->reply_len == 0)
		return FT_NOREPLY;
	assert_true(r->reply_len >= sizeof(oh));
	assert_true(r->reply_len <= r->out_cap);
	memcpy(&oh, r->out, sizeof(oh));
	assert_int_equal(oh.len, r->reply_len);
	assert_int_equal(oh.unique, ((const struct fuse_in_header *)r->in)->unique);
	if (oh.error)
		assert_int_equal(oh.len, sizeof(oh));
	return oh.error;
}

int ft_send_cut(struct ft *t, struct ft_req *r, const size_t *in_cuts,
		int nin, const size_t *out_cuts, int nout)
{
	ft_prepare(r, in_cuts, nin, out_cuts, nout);
	fuse_session_process(t->s, &r->req);
	return ft_result(r);
}

int ft_send(struct ft *t, struct ft_req *r)
{
	return ft_send_cut(t, r, NULL, 0, NULL, 0);
}

const void *ft_payload(const struct ft_req *r)
{
	return r->out + sizeof(struct fuse_out_header);
}

size_t ft_payload_len(const struct ft_req *r)
{
	return r->reply_len - sizeof(struct fuse_out_header);
}

int ft_do(struct ft *t, uint32_t opcode, uint64_t nodeid, const void *arg,
	  size_t arglen, const char *name1, const char *name2)
{
	ft_build(t->r, opcode, nodeid, arg, arglen, name1, name2, NULL, 0);
	return ft_send(t, t->r);
}

int ft_init(struct ft *t, uint32_t major, uint32_t minor, uint32_t flags,
	    uint32_t flags2)
{
	struct fuse_init_in in = {
		.major = major, .minor = minor, .max_readahead = 131072,
		.flags = flags, .flags2 = flags2,
	};

	return ft_do(t, FUSE_INIT, 0, &in, sizeof(in), NULL, NULL);
}

uint64_t ft_lookup(struct ft *t, uint64_t parent, const char *name)
{
	struct fuse_entry_out e;

	assert_int_equal(ft_do(t, FUSE_LOOKUP, parent, NULL, 0, name, NULL), 0);
	assert_int_equal(ft_payload_len(t->r), sizeof(e));
	memcpy(&e, ft_payload(t->r), sizeof(e));
	assert_true(e.nodeid > 1);
	return e.nodeid;
}

static uint64_t ft_open_op(struct ft *t, uint32_t op, uint64_t nodeid,
			   uint32_t flags)
{
	struct fuse_open_in in = { .flags = flags };
	struct fuse_open_out o;

	assert_int_equal(ft_do(t, op, nodeid, &in, sizeof(in), NULL, NULL), 0);
	assert_int_equal(ft_payload_len(t->r), sizeof(o));
	memcpy(&o, ft_payload(t->r), sizeof(o));
	return o.fh;
}

uint64_t ft_open(struct ft *t, uint64_t nodeid, uint32_t flags)
{
	return ft_open_op(t, FUSE_OPEN, nodeid, flags);
}

uint64_t ft_opendir(struct ft *t, uint64_t nodeid)
{
	return ft_open_op(t, FUSE_OPENDIR, nodeid, 0);
}

void ft_forget(struct ft *t, uint64_t nodeid, uint64_t n)
{
	struct fuse_forget_in in = { .nlookup = n };

	assert_int_equal(ft_do(t, FUSE_FORGET, nodeid, &in, sizeof(in), NULL,
			       NULL), FT_NOREPLY);
}

static int ft_release_op(struct ft *t, uint32_t op, uint64_t fh)
{
	struct fuse_release_in in = { .fh = fh };

	return ft_do(t, op, 1, &in, sizeof(in), NULL, NULL);
}

int ft_release(struct ft *t, uint64_t fh)
{
	return ft_release_op(t, FUSE_RELEASE, fh);
}

int ft_releasedir(struct ft *t, uint64_t fh)
{
	return ft_release_op(t, FUSE_RELEASEDIR, fh);
}
