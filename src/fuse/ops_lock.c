// SPDX-License-Identifier: MIT
/*
 * ops_lock.c - GETLK, SETLK, SETLKW and INTERRUPT.
 *
 * A SETLKW may wait for a long time; it is the one call a FUSE_INTERRUPT
 * cancels.  Waiting SETLKWs sit in a per-session list (intrusive, so no
 * allocation) keyed by their unique.  INTERRUPT marks the entry
 * "interrupting", drops the lock and calls fs_ops.interrupt(); the SETLKW's
 * completion may run meanwhile on another thread (it then waits for the
 * mark to clear, briefly) or inline inside fs_ops.interrupt() on this
 * thread (it then hands its result over and INTERRUPT finishes the SETLKW).
 * Either way the entry is unlinked before its request can be reused, and
 * the call passed to fs_ops.interrupt() stays valid while it runs.  So
 * fs_ops.interrupt() must only ask for the cancel, never wait for the
 * call's completion to have run.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "fuse_internal.h"

/* Identifies the running thread without pthread_t in the public header. */
static _Thread_local char lkw_thread_token;

static int lock_decode(const struct fuse_lk_in *in, struct fs_lock *lk)
{
	const struct fuse_file_lock *f = &in->lk;

	if (f->type != F_RDLCK && f->type != F_WRLCK && f->type != F_UNLCK)
		return -EINVAL;
	/* FUSE sends OFFSET_MAX (INT64_MAX) for "to the end of the file" */
	if (f->start > INT64_MAX || f->end > INT64_MAX || f->end < f->start)
		return -EINVAL;
	memset(lk, 0, sizeof(*lk));
	lk->start = f->start;
	lk->end = f->end == INT64_MAX ? UINT64_MAX : f->end;
	lk->type = f->type;
	lk->pid = f->pid;
	lk->owner = in->owner;
	lk->flock = (in->lk_flags & FUSE_LK_FLOCK) != 0;
	return 0;
}

/* Common start: decode the lock, hold the fh (flock works on directories). */
static int lock_prepare(struct fuse_request *req)
{
	struct fuse_lk_in in;
	int err;

	fuse_args_get(req, &in, sizeof(in));
	err = lock_decode(&in, &req->engine.res.lock);
	if (!err)
		err = fuse_req_hold_fh(req, in.fh, 0);
	return err;
}

static void getlk_cpl(void *arg, int err)
{
	struct fuse_request *req = arg;
	const struct fs_lock *lk = &req->engine.res.lock;
	struct fuse_lk_out out;

	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	memset(&out, 0, sizeof(out));
	out.lk.start = lk->start;
	out.lk.end = lk->end >= INT64_MAX ? INT64_MAX : lk->end;
	out.lk.type = lk->type;
	out.lk.pid = lk->pid;
	fuse_reply_ok(req, &out, sizeof(out));
}

void fuse_do_getlk(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_request_engine *e = &req->engine;
	int err = lock_prepare(req);

	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	fuse_call_prepare(req, getlk_cpl);
	s->ops->getlk(s->fs, &e->call, e->fhp->file, &e->res.lock);
}

void fuse_do_setlk(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_request_engine *e = &req->engine;
	int err = lock_prepare(req);

	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	fuse_call_prepare(req, fuse_cpl_status);
	s->ops->setlk(s->fs, &e->call, e->fhp->file, &e->res.lock, false);
}

/* ---- the SETLKW registry ---------------------------------------------------- */

static void lkw_link(struct fuse_session *s, struct fuse_request *req)
{
	struct fuse_request_engine *e = &req->engine;

	memset(&e->op.lkw, 0, sizeof(e->op.lkw));
	pthread_mutex_lock(&s->lkw_lock);
	e->op.lkw.next = s->lkw_head;
	if (s->lkw_head)
		s->lkw_head->engine.op.lkw.prev = req;
	s->lkw_head = req;
	pthread_mutex_unlock(&s->lkw_lock);
}

/* Called with lkw_lock held. */
static void lkw_unlink(struct fuse_session *s, struct fuse_request *req)
{
	struct fuse_request *next = req->engine.op.lkw.next;
	struct fuse_request *prev = req->engine.op.lkw.prev;

	if (prev)
		prev->engine.op.lkw.next = next;
	else
		s->lkw_head = next;
	if (next)
		next->engine.op.lkw.prev = prev;
}

static void lkw_cpl(void *arg, int err)
{
	struct fuse_request *req = arg;
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_request_engine *e = &req->engine;

	pthread_mutex_lock(&s->lkw_lock);
	while (e->op.lkw.interrupting &&
	       e->op.lkw.interrupter != &lkw_thread_token)
		pthread_cond_wait(&s->lkw_cond, &s->lkw_lock);
	if (e->op.lkw.interrupting) {
		/* inline inside fs_ops.interrupt(): INTERRUPT finishes us */
		e->op.lkw.completed = true;
		e->op.lkw.err = err;
		pthread_mutex_unlock(&s->lkw_lock);
		return;
	}
	lkw_unlink(s, req);
	pthread_mutex_unlock(&s->lkw_lock);
	fuse_cpl_status(req, err);
}

void fuse_do_setlkw(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_request_engine *e = &req->engine;
	int err = lock_prepare(req);

	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	lkw_link(s, req);
	fuse_call_prepare(req, lkw_cpl);
	s->ops->setlk(s->fs, &e->call, e->fhp->file, &e->res.lock, true);
}

/* The waiting SETLKW with @unique, marked as being interrupted, or NULL. */
static struct fuse_request *lkw_claim(struct fuse_session *s, uint64_t unique)
{
	struct fuse_request *r;

	pthread_mutex_lock(&s->lkw_lock);
	for (r = s->lkw_head; r; r = r->engine.op.lkw.next) {
		if (r->engine.unique == unique && !r->engine.op.lkw.interrupting)
			break;
	}
	if (r) {
		r->engine.op.lkw.interrupting = true;
		r->engine.op.lkw.interrupter = &lkw_thread_token;
	}
	pthread_mutex_unlock(&s->lkw_lock);
	return r;
}

/* Clear the mark; true if the SETLKW completed meanwhile on this thread. */
static bool lkw_release_claim(struct fuse_session *s, struct fuse_request *r)
{
	bool completed;

	pthread_mutex_lock(&s->lkw_lock);
	r->engine.op.lkw.interrupting = false;
	r->engine.op.lkw.interrupter = NULL;
	completed = r->engine.op.lkw.completed;
	if (completed)
		lkw_unlink(s, r);
	pthread_cond_broadcast(&s->lkw_cond);
	pthread_mutex_unlock(&s->lkw_lock);
	return completed;
}

void fuse_do_interrupt(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_interrupt_in in;
	struct fuse_request *r;

	fuse_args_get(req, &in, sizeof(in));
	if (!s->ops->interrupt) {
		/* an -ENOSYS answer makes the kernel stop sending INTERRUPTs */
		req->engine.noreply = false;
		fuse_reply_err(req, -ENOSYS);
		return;
	}
	r = lkw_claim(s, in.unique);
	if (r) {
		s->ops->interrupt(s->fs, &r->engine.call);
		if (lkw_release_claim(s, r))
			fuse_cpl_status(r, r->engine.op.lkw.err);
	}
	fuse_reply_none(req);
}
