/* SPDX-License-Identifier: MIT */
/*
 * ftest.h - building FUSE requests, running them through a session over the
 * mock back-end, and reading the replies, for the engine's unit tests.
 */
#ifndef VHOSTFS_TESTS_FTEST_H
#define VHOSTFS_TESTS_FTEST_H

#include <linux/fuse.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mock_fs.h"
#include "vhostfs/fuse_engine.h"

#define FT_IN_MAX ((2u << 20) + 4096)
#define FT_OUT_MAX ((1u << 20) + 8192)
#define FT_IOV_MAX 300
#define FT_NOREPLY 1 /* ft_send(): done() came with reply_len 0 */

struct ft_req {
	struct fuse_request req;
	unsigned char *in;
	size_t in_len;
	unsigned char *out;
	size_t out_cap;           /* reply space offered (default FT_OUT_MAX) */
	struct iovec iov_in[FT_IOV_MAX];
	struct iovec iov_out[FT_IOV_MAX];
	int done;
	size_t reply_len;
};

struct ft {
	struct mock_fs *m;
	struct fuse_session *s;
	struct fuse_session_config cfg;
	struct ft_req *r;
};

struct ft_req *ft_req_new(void);
void ft_req_free(struct ft_req *r);

/* Mock + session with the default config (xattr on), no INIT yet. */
void ft_start(struct ft *t);
/* Same with @cfg's knobs (fs is filled in). */
void ft_start_cfg(struct ft *t, const struct fuse_session_config *cfg);
/* ft_start + a successful INIT offering everything (7.38). */
void ft_start_init(struct ft *t);
/* Destroy the session, check the back-end got every reference back. */
void ft_stop(struct ft *t);

/* Lay out a request in @r->in; returns its length (header len set to it). */
size_t ft_build(struct ft_req *r, uint32_t opcode, uint64_t nodeid,
		const void *arg, size_t arglen, const char *name1,
		const char *name2, const void *tail, size_t taillen);

/*
 * Run @r with one in iovec and one out iovec of @r->out_cap bytes; checks
 * that done() ran exactly once.  Returns the reply error, 0, or FT_NOREPLY.
 */
int ft_send(struct ft *t, struct ft_req *r);
/* Same with the in/out bytes cut at the given offsets (increasing). */
int ft_send_cut(struct ft *t, struct ft_req *r, const size_t *in_cuts,
		int nin, const size_t *out_cuts, int nout);
/* Submit without checking completion (deferred back-end). */
void ft_submit(struct ft *t, struct ft_req *r);
/* The reply error of a completed request (FT_NOREPLY if none). */
int ft_result(const struct ft_req *r);

const void *ft_payload(const struct ft_req *r);
size_t ft_payload_len(const struct ft_req *r);

/* build + send on t->r */
int ft_do(struct ft *t, uint32_t opcode, uint64_t nodeid, const void *arg,
	  size_t arglen, const char *name1, const char *name2);
int ft_init(struct ft *t, uint32_t major, uint32_t minor, uint32_t flags,
	    uint32_t flags2);

/* Shortcuts that assert success */
uint64_t ft_lookup(struct ft *t, uint64_t parent, const char *name);
uint64_t ft_open(struct ft *t, uint64_t nodeid, uint32_t flags);
uint64_t ft_opendir(struct ft *t, uint64_t nodeid);
void ft_forget(struct ft *t, uint64_t nodeid, uint64_t n);
int ft_release(struct ft *t, uint64_t fh);
int ft_releasedir(struct ft *t, uint64_t fh);

#endif /* VHOSTFS_TESTS_FTEST_H */
