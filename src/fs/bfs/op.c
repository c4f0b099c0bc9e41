// SPDX-License-Identifier: MIT
/*
 * op.c - running operations: the hop to the fs thread and back, running a
 * step again after a block was loaded, completion, internal operations,
 * and waiting for space that a checkpoint gives back.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bfs_internal.h"
#include "vhostfs/log.h"

struct bfs_op *bfs_op_init(struct bfs *fs, struct fs_call *c, bfs_run_fn run,
			   uint32_t flags)
{
	struct bfs_op *op = (struct bfs_op *)(void *)c->scratch;

	memset(op, 0, sizeof(*op));
	op->fs = fs;
	op->call = c;
	op->run = run;
	op->flags = flags;
	return op;
}

static void op_run_msg(void *arg)
{
	bfs_op_run(arg);
}

void bfs_op_submit(struct bfs_op *op)
{
	struct reactor *cur = reactor_current();

	/* from another reactor or a thread without one (a tool's main) */
	if (cur != op->fs->r) {
		op->msg.fn = op_run_msg;
		op->msg.arg = op;
		reactor_msg_send(op->fs->r, &op->msg);
		return;
	}
	bfs_op_run(op);
}

static void commit_room_cpl(void *arg, int err)
{
	struct bfs_op *op = arg;

	if (err) {
		bfs_op_done(op, err);
		return;
	}
	bfs_op_run(op);
}

/*
 * The next transaction must fit in the journal: an operation that could
 * push the dirty set past half of it (one step dirties at most
 * BFS_STEP_BLOCKS blocks) waits for the running commit.
 */
static bool commit_room(struct bfs_op *op)
{
	struct bfs *fs = op->fs;
	size_t dirty = fs->cache.dirty.n;

	if (dirty == 0 || dirty + BFS_STEP_BLOCKS <= fs->sb.journal_blocks / 2)
		return true;
	op->wait.cb = commit_room_cpl;
	op->wait.arg = op;
	bfs_commit_wait(fs, &op->wait);
	return false;
}

void bfs_op_run(struct bfs_op *op)
{
	struct bfs *fs = op->fs;
	int rc;

	if (op->flags & BFS_OP_MUTATES) {
		if (fs->read_only) {
			bfs_op_done(op, -EROFS);
			return;
		}
		if (fs->failed) {
			bfs_op_done(op, -EIO);
			return;
		}
		if (!commit_room(op))
			return;
	}
	rc = op->run(op);
	if (rc == BFS_AGAIN) {
		bfs_cache_load(fs, fs->miss, op);
		return;
	}
	if (rc == BFS_ASYNC)
		return;
	if (op->flags & BFS_OP_MUTATES)
		bfs_commit_kick(fs);
	bfs_op_done(op, rc);
}

struct internal {
	struct fs_call call;
	void (*done)(struct bfs *fs, int err);
	struct bfs *fs;
};

static void call_done_msg(void *arg)
{
	struct bfs_op *op = arg;

	fs_call_complete(op->call, op->err);
}

void bfs_op_done(struct bfs_op *op, int err)
{
	struct fs_call *c = op->call;
	struct reactor *cur = reactor_current();

	op->err = err > 0 ? -EIO : err;
	if (c->reactor && cur != c->reactor) {
		op->msg.fn = call_done_msg;
		op->msg.arg = op;
		reactor_msg_send(c->reactor, &op->msg);
		return;
	}
	fs_call_complete(c, op->err);
}

static void internal_cb(void *arg, int err)
{
	struct internal *in = arg;
	struct bfs *fs = in->fs;

	fs->internal_ops--;
	if (in->done)
		in->done(fs, err);
	free(in);
}

struct bfs_op *bfs_op_internal(struct bfs *fs, bfs_run_fn run,
			       void (*done)(struct bfs *fs, int err))
{
	struct internal *in = calloc(1, sizeof(*in));

	if (!in)
		return NULL;
	in->call.cb = internal_cb;
	in->call.cb_arg = in;
	in->done = done;
	in->fs = fs;
	fs->internal_ops++;
	return bfs_op_init(fs, &in->call, run, BFS_OP_MUTATES);
}

void bfs_fail(struct bfs *fs, const char *why)
{
	if (fs->failed)
		return;
	log_error("bfs: %s: the file system refuses changes until mounted "
		  "again", why);
	fs->failed = -EIO;
}

/* --- space ------------------------------------------------------------------- */

static void ckpt_space_cpl(void *arg, int err)
{
	struct bfs_op *op = arg;

	if (err) {
		bfs_op_done(op, err);
		return;
	}
	bfs_op_run(op);
}

int bfs_op_wait_ckpt(struct bfs_op *op)
{
	op->wait.cb = ckpt_space_cpl;
	op->wait.arg = op;
	bfs_checkpoint_wait(op->fs, &op->wait);
	return BFS_ASYNC;
}

int bfs_space_check(struct bfs_op *op, uint64_t blocks)
{
	struct bfs *fs = op->fs;

	if (bfs_alloc_free_now(fs) >= blocks && bfs_alloc_store_ok(fs, blocks))
		return 0;
	/* blocks freed earlier come back with the next checkpoint */
	if (bfs_alloc_pending(fs) && op->wait.cb != ckpt_space_cpl)
		return bfs_op_wait_ckpt(op);
	return -ENOSPC;
}

int bfs_apply_check2(struct bfs *fs, int rc)
{
	if (rc)
		bfs_fail(fs, "a change could not be applied");
	return rc ? -EIO : 0;
}
