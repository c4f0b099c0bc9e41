// SPDX-License-Identifier: MIT
/*
 * lock.c - POSIX record locks and flock, kept in memory per inode on the
 * fs thread (locks do not survive a remount, as on any local fs).
 *
 * POSIX locks belong to a lock owner (FUSE's lock_owner: one per process
 * and inode), conflict between owners, and are split and merged like
 * fcntl(2) does; FLUSH drops an owner's locks (the client sends it on
 * every close), release drops the ones taken through that file.  flock
 * locks belong to the open file and cover the whole file; the two kinds
 * never conflict with each other, as on Linux.
 *
 * A SETLKW that conflicts waits in its inode's queue, inside its call's
 * scratch; every change to an inode's locks runs the queue again.
 * FUSE_INTERRUPT cancels a wait with -EINTR.  A POSIX wait that would
 * close a cycle of owners waiting for each other fails with -EDEADLK, as
 * fcntl(2) on Linux does.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include "bfs_ops_ext.h"

struct bfs_lk {
	struct bfs_lk *next;
	uint64_t start, end; /* inclusive */
	uint64_t owner;
	struct bfs_file *file; /* taken through it */
	uint32_t type, pid;
	bool flock;
};

struct bfs_lockset {
	struct bfs_lk *held;
	struct bfs_op *waiters; /* SETLKWs, oldest first */
	struct bfs_op **wtail;
};

struct lock_args {
	struct bfs_file *file;
	struct fs_lock lk;
	struct fs_lock *out; /* getlk */
	bool wait;
	bool waiting;
	struct bfs_op *wnext;
};
BFS_ARGS_FIT(struct lock_args);

static struct lock_args *largs(struct bfs_op *op)
{
	return BFS_ARGS(op, struct lock_args);
}

static struct bfs_lockset *set_get(struct bfs_inode *in)
{
	if (!in->locks) {
		in->locks = calloc(1, sizeof(*in->locks));
		if (in->locks)
			in->locks->wtail = &in->locks->waiters;
	}
	return in->locks;
}

/* Free the inode's lock state once it holds nothing. */
static void set_put(struct bfs_inode *in)
{
	struct bfs_lockset *s = in->locks;

	if (s && !s->held && !s->waiters) {
		free(s);
		in->locks = NULL;
	}
}

static bool overlap(const struct bfs_lk *h, const struct fs_lock *lk)
{
	return h->start <= lk->end && lk->start <= h->end;
}

static bool conflicts(const struct bfs_lk *h, const struct fs_lock *lk,
		      const struct bfs_file *f)
{
	bool excl = h->type == F_WRLCK || lk->type == F_WRLCK;

	if (h->flock != lk->flock)
		return false;
	if (h->flock)
		return h->file != f && excl;
	return h->owner != lk->owner && overlap(h, lk) && excl;
}

static struct bfs_lk *conflict_find(struct bfs_lockset *s,
				    const struct fs_lock *lk,
				    const struct bfs_file *f)
{
	for (struct bfs_lk *h = s ? s->held : NULL; h; h = h->next) {
		if (conflicts(h, lk, f))
			return h;
	}
	return NULL;
}

static struct bfs_lk *lk_new(const struct fs_lock *lk, struct bfs_file *f)
{
	struct bfs_lk *h = malloc(sizeof(*h));

	if (h)
		*h = (struct bfs_lk){ .start = lk->start, .end = lk->end,
				      .owner = lk->owner, .file = f,
				      .type = lk->type, .pid = lk->pid,
				      .flock = lk->flock };
	return h;
}

/*
 * Take [start, end] away from @owner's POSIX locks; a lock covering both
 * sides of it splits, using *@spare.
 */
static void posix_cut(struct bfs_lockset *s, const struct fs_lock *lk,
		      struct bfs_lk **spare)
{
	for (struct bfs_lk **pp = &s->held; *pp;) {
		struct bfs_lk *h = *pp;

		if (h->flock || h->owner != lk->owner || !overlap(h, lk)) {
			pp = &h->next;
			continue;
		}
		if (h->start < lk->start && h->end > lk->end) {
			struct bfs_lk *t = *spare;

			*spare = NULL;
			*t = *h;
			t->start = lk->end + 1;
			h->end = lk->start - 1;
			t->next = h->next;
			h->next = t;
			return;
		}
		if (h->start < lk->start) {
			h->end = lk->start - 1;
		} else if (h->end > lk->end) {
			h->start = lk->end + 1;
		} else {
			*pp = h->next;
			free(h);
			continue;
		}
		pp = &h->next;
	}
}

/* Merge @n with the owner's locks of its type that touch it. */
static void posix_merge(struct bfs_lockset *s, struct bfs_lk *n)
{
	for (struct bfs_lk **pp = &s->held; *pp;) {
		struct bfs_lk *h = *pp;
		bool touch = h != n && !h->flock && h->owner == n->owner &&
			     h->type == n->type &&
			     ((h->end != UINT64_MAX &&
			       h->end + 1 == n->start) ||
			      (n->end != UINT64_MAX &&
			       n->end + 1 == h->start));

		if (!touch) {
			pp = &h->next;
			continue;
		}
		n->start = h->start < n->start ? h->start : n->start;
		n->end = h->end > n->end ? h->end : n->end;
		*pp = h->next;
		free(h);
	}
}

static void lk_drop_if(struct bfs_lockset *s,
		       bool (*match)(const struct bfs_lk *, const void *),
		       const void *arg)
{
	for (struct bfs_lk **pp = &s->held; *pp;) {
		struct bfs_lk *h = *pp;

		if (match(h, arg)) {
			*pp = h->next;
			free(h);
		} else {
			pp = &h->next;
		}
	}
}

static bool flock_of(const struct bfs_lk *h, const void *f)
{
	return h->flock && h->file == f;
}

/* Apply @lk (no conflict left): 0 or -ENOLCK, nothing changed then. */
static int lock_apply(struct bfs_lockset *s, const struct fs_lock *lk,
		      struct bfs_file *f)
{
	struct bfs_lk *n = NULL, *spare = NULL;

	if (lk->type != F_UNLCK) {
		n = lk_new(lk, f);
		if (!n)
			return -ENOLCK;
	}
	if (!lk->flock) {
		spare = lk_new(lk, f);
		if (!spare) {
			free(n);
			return -ENOLCK;
		}
		posix_cut(s, lk, &spare);
		free(spare);
	} else {
		lk_drop_if(s, flock_of, f);
	}
	if (n) {
		n->next = s->held;
		s->held = n;
		if (!lk->flock)
			posix_merge(s, n);
	}
	return 0;
}

/* The locks changed: every waiter tries again, in order. */
static void waiters_run(struct bfs_inode *in)
{
	struct bfs_lockset *s = in->locks;
	struct bfs_op *w;

	if (!s || !s->waiters)
		return;
	w = s->waiters;
	s->waiters = NULL;
	s->wtail = &s->waiters;
	while (w) {
		struct bfs_op *next = largs(w)->wnext;

		largs(w)->wnext = NULL;
		largs(w)->waiting = false;
		bfs_op_run(w);
		w = next;
	}
}

/* The waiting POSIX SETLKW of @owner (an owner waits for one lock). */
static struct bfs_op *waiter_of(struct bfs *fs, uint64_t owner)
{
	for (size_t i = 0; i < fs->itab_size; i++) {
		for (struct bfs_inode *in = fs->itab[i]; in; in = in->hnext) {
			struct bfs_op *w = in->locks ? in->locks->waiters
						     : NULL;

			for (; w; w = largs(w)->wnext) {
				if (!largs(w)->lk.flock &&
				    largs(w)->lk.owner == owner)
					return w;
			}
		}
	}
	return NULL;
}

/* Would @owner waiting for holder @h close a cycle of waiters? */
static bool deadlock(struct bfs *fs, uint64_t owner, const struct bfs_lk *h)
{
	for (unsigned int depth = 0; h && !h->flock && depth < 64; depth++) {
		struct bfs_op *w;

		if (h->owner == owner)
			return true;
		w = waiter_of(fs, h->owner);
		if (!w)
			return false;
		h = conflict_find(largs(w)->file->inode->locks, &largs(w)->lk,
				  largs(w)->file);
	}
	return false;
}

/* --- operations ---------------------------------------------------------------- */

static int getlk_run(struct bfs_op *op)
{
	struct lock_args *a = largs(op);
	struct bfs_lk *h = conflict_find(a->file->inode->locks, &a->lk,
					 a->file);

	if (!h) {
		a->out->type = F_UNLCK;
		return 0;
	}
	a->out->start = h->start;
	a->out->end = h->end;
	a->out->type = h->type;
	a->out->pid = h->pid;
	a->out->owner = h->owner;
	return 0;
}

static int setlk_run(struct bfs_op *op)
{
	struct lock_args *a = largs(op);
	struct bfs_inode *in = a->file->inode;
	struct bfs_lockset *s = set_get(in);
	struct bfs_lk *h;
	int rc;

	if (!s)
		return -ENOLCK;
	h = a->lk.type != F_UNLCK ? conflict_find(s, &a->lk, a->file) : NULL;
	if (h) {
		if (!a->wait || deadlock(op->fs, a->lk.owner, h)) {
			set_put(in);
			return a->wait ? -EDEADLK : -EAGAIN;
		}
		a->waiting = true;
		a->wnext = NULL;
		*s->wtail = op;
		s->wtail = &a->wnext;
		return BFS_ASYNC;
	}
	rc = lock_apply(s, &a->lk, a->file);
	bfs_op_done(op, rc);
	if (rc == 0)
		waiters_run(in);
	set_put(in);
	return BFS_ASYNC;
}

static struct bfs_op *lock_op(struct fs *fs, struct fs_call *c,
			      struct fs_file *file, bfs_run_fn run)
{
	struct bfs_op *op = bfs_op_init(bfs_of(fs), c, run, 0);

	largs(op)->file = (struct bfs_file *)file;
	return op;
}

void bfs_getlk(struct fs *fs, struct fs_call *c, struct fs_file *file,
	       struct fs_lock *lk)
{
	struct bfs_op *op = lock_op(fs, c, file, getlk_run);

	largs(op)->lk = *lk;
	largs(op)->out = lk;
	bfs_op_submit(op);
}

void bfs_setlk(struct fs *fs, struct fs_call *c, struct fs_file *file,
	       const struct fs_lock *lk, bool wait)
{
	struct bfs_op *op;

	if ((lk->type != F_RDLCK && lk->type != F_WRLCK &&
	     lk->type != F_UNLCK) || lk->end < lk->start) {
		fs_call_complete(c, -EINVAL);
		return;
	}
	op = lock_op(fs, c, file, setlk_run);
	largs(op)->lk = *lk;
	largs(op)->wait = wait;
	bfs_op_submit(op);
}

/* --- dropping locks ------------------------------------------------------------- */

static bool posix_of(const struct bfs_lk *h, const void *owner)
{
	return !h->flock && h->owner == *(const uint64_t *)owner;
}

static bool taken_through(const struct bfs_lk *h, const void *f)
{
	return h->file == f;
}

static int flush_run(struct bfs_op *op)
{
	struct lock_args *a = largs(op);
	struct bfs_inode *in = a->file->inode;

	if (!in->locks)
		return 0;
	lk_drop_if(in->locks, posix_of, &a->lk.owner);
	waiters_run(in);
	set_put(in);
	return 0;
}

void bfs_flush(struct fs *fs, struct fs_call *c, struct fs_file *file,
	       uint64_t owner)
{
	struct bfs_op *op = lock_op(fs, c, file, flush_run);

	largs(op)->lk.owner = owner;
	bfs_op_submit(op);
}

void bfs_locks_release(struct bfs *fs, struct bfs_file *f,
		       bool flock_release, uint64_t owner)
{
	struct bfs_inode *in = f->inode;

	(void)fs;
	(void)flock_release; /* the file's flocks go in any case */
	(void)owner;
	if (!in->locks)
		return;
	lk_drop_if(in->locks, taken_through, f);
	waiters_run(in);
	set_put(in);
}

void bfs_locks_free(struct bfs_inode *in)
{
	struct bfs_lockset *s = in->locks;

	if (!s)
		return;
	while (s->held) {
		struct bfs_lk *h = s->held;

		s->held = h->next;
		free(h);
	}
	free(s);
	in->locks = NULL;
}

/* --- interrupt ------------------------------------------------------------------- */

struct intr_msg {
	struct reactor_msg msg;
	struct bfs *fs;
	struct fs_call *call;
	uint64_t id;
};

/* Unlink the waiting SETLKW of @c (id @id) and fail it with -EINTR. */
static void intr_now(struct bfs *fs, struct fs_call *c, uint64_t id)
{
	for (size_t i = 0; i < fs->itab_size; i++) {
		for (struct bfs_inode *in = fs->itab[i]; in; in = in->hnext) {
			struct bfs_op **pp;

			if (!in->locks)
				continue;
			for (pp = &in->locks->waiters; *pp;
			     pp = &largs(*pp)->wnext) {
				struct bfs_op *op = *pp;

				if (op->call != c || c->id != id)
					continue;
				*pp = largs(op)->wnext;
				if (!*pp)
					in->locks->wtail = pp;
				largs(op)->waiting = false;
				set_put(in);
				bfs_op_done(op, -EINTR);
				return;
			}
		}
	}
}

static void intr_msg_fn(void *arg)
{
	struct intr_msg *m = arg;

	intr_now(m->fs, m->call, m->id);
	free(m);
}

void bfs_interrupt(struct fs *f, struct fs_call *c)
{
	struct bfs *fs = bfs_of(f);
	struct intr_msg *m;

	if (reactor_current() == fs->r) {
		intr_now(fs, c, c->id);
		return;
	}
	/* the call stays valid only while we run: carry its id along */
	m = malloc(sizeof(*m));
	if (!m)
		return; /* the wait goes on until the lock is granted */
	*m = (struct intr_msg){ .fs = fs, .call = c, .id = c->id };
	m->msg.fn = intr_msg_fn;
	m->msg.arg = m;
	reactor_msg_send(fs->r, &m->msg);
}
