// SPDX-License-Identifier: MIT
/*
 * lock.c - POSIX record locks and flock for the passthrough back-end.
 *
 * POSIX locks belong to a process on the host, so every guest lock would
 * be ours and never conflict with another.  Instead each (inode, lock
 * owner) pair gets its own host fd, reopened from the inode, and the
 * guest's locks become open-file-description (OFD) locks on it: they
 * conflict between owners exactly like POSIX locks between processes, and
 * with the POSIX locks of host processes.  The fd is opened O_RDWR (O_RDONLY
 * where that fails, e.g. directories) so one owner can hold both kinds; the
 * map of these fds is shared by all files, as POSIX locks are per inode, not
 * per open.  FLUSH drops an owner's locks by closing its fd.  OFD locks have
 * no deadlock detection: two guest processes can deadlock each other until
 * one is interrupted.
 *
 * flock locks belong to an open file description already: flock(2) on the
 * fd of the guest's open file is the right thing as is.
 *
 * SETLKW blocks, so it runs on its own waiter thread: never on a reactor,
 * and not on the worker pool, which a few waits could starve.  Waiters are
 * spawned on demand, at most PT_LOCK_WAITERS_MAX, and kept until fini.
 * FUSE_INTERRUPT cancels a wait by sending the waiter PT_LOCK_SIGNAL, whose
 * handler is installed without SA_RESTART: the blocked fcntl returns EINTR.
 * A signal landing just before the thread enters fcntl would be lost, so
 * while a cancel is pending the handler re-arms a per-thread timer that
 * sends the signal again 1 ms later, until the thread is out.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "vhostfs/log.h"
#include "passthrough_internal.h"

#define PT_LOCK_WAITERS_MAX 64   /* SETLKW in progress at once */
#define PT_LOCK_OWNERS_MAX 4096  /* (inode, owner) fds held at once */
#define PT_LOCK_BUCKETS 1024     /* power of two */
#define PT_LOCK_RESEND_NS 1000000

/* The waiter threads' wake-up signal (a real-time one nobody else sends). */
static int pt_lock_signo(void)
{
	return SIGRTMAX - 1;
}

struct pt_link {
	struct pt_link *next;
	struct pt_link *prev;
};

static void pt_link_init(struct pt_link *l)
{
	l->next = l;
	l->prev = l;
}

static bool pt_link_empty(const struct pt_link *l)
{
	return l->next == l;
}

static void pt_link_add_tail(struct pt_link *head, struct pt_link *l)
{
	l->prev = head->prev;
	l->next = head;
	head->prev->next = l;
	head->prev = l;
}

static void pt_link_del(struct pt_link *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
	pt_link_init(l);
}

/* The host fd holding the OFD locks of one lock owner on one inode. */
struct pt_lock_owner {
	struct pt_lock_owner *next; /* hash chain */
	struct pt_inode *inode;     /* one reference: keeps the key valid */
	uint64_t owner;
	int fd;
	unsigned int users;         /* threads using fd outside the mutex */
};

struct pt_lock_thread;

/* One SETLKW, in c->scratch while it waits (it never uses pt_offload). */
struct pt_lock_wait {
	struct reactor_msg msg;        /* the completion, to c->reactor */
	struct pt_link link;           /* in pending or active */
	struct pt_fs *fs;
	struct fs_call *c;
	struct pt_inode *inode;        /* one reference while waiting */
	struct pt_lock_thread *thread; /* running it; NULL while pending */
	struct flock fl;               /* POSIX: the lock to take */
	uint64_t owner;
	int flock_fd;                  /* flock: a dup of the file's fd; or -1 */
	int flock_op;                  /* flock: LOCK_SH or LOCK_EX */
	int result;
	atomic_bool cancel;
};

static_assert(sizeof(struct pt_lock_wait) <= FS_CALL_SCRATCH,
	      "a lock wait must fit in the call's scratch");

struct pt_lock_thread {
	struct pt_lock_thread *next;
	struct pt_lock_state *st;
	pthread_t thread;
	timer_t timer;                 /* re-sends the signal, see above */
	bool has_timer;
	_Atomic(struct pt_lock_wait *) cur;
	atomic_bool blocking;          /* inside (or about to enter) the wait */
};

struct pt_lock_state {
	pthread_mutex_t mu;
	pthread_cond_t cv;             /* idle waiter threads sleep here */
	struct pt_link pending;        /* waits no thread has taken yet */
	struct pt_link active;         /* waits a thread is running */
	struct pt_lock_thread *threads;
	unsigned int nthreads;
	unsigned int nidle;
	unsigned int npending;
	unsigned int nwaits;           /* pending + active */
	unsigned int nowners;
	bool stopping;
	struct pt_lock_owner *owners[PT_LOCK_BUCKETS];
};

/* Arguments of GETLK and non-blocking SETLK, run by pt_offload. */
struct pt_lock_args {
	struct pt_file *file;
	struct fs_lock *out;           /* getlk */
	struct flock fl;
	uint64_t owner;
	int flock_op;                  /* flock: LOCK_SH/EX/UN; 0 = POSIX */
	bool wait;                     /* no reactor: block on this thread */
};

static_assert(sizeof(struct pt_lock_args) <= PT_ARGS_MAX,
	      "lock arguments must fit the call's argument scratch");

static struct pt_lock_wait *pt_wait_of(struct pt_link *l)
{
	return (struct pt_lock_wait *)(void *)((char *)l -
					       offsetof(struct pt_lock_wait, link));
}

/* --- the owner map ---------------------------------------------------------- */

static unsigned int pt_lock_hash(const struct pt_inode *inode, uint64_t owner)
{
	uint64_t h = (uint64_t)(uintptr_t)inode * 0x9e3779b97f4a7c15ull;

	h = (h ^ owner) * 0xbf58476d1ce4e5b9ull;
	return (unsigned int)(h >> 54) & (PT_LOCK_BUCKETS - 1);
}

/* Under st->mu: where (inode, owner) is or would be linked. */
static struct pt_lock_owner **pt_lock_owner_slot(struct pt_lock_state *st,
						 const struct pt_inode *inode,
						 uint64_t owner)
{
	struct pt_lock_owner **p = &st->owners[pt_lock_hash(inode, owner)];

	while (*p && ((*p)->inode != inode || (*p)->owner != owner))
		p = &(*p)->next;
	return p;
}

static struct pt_lock_owner *pt_lock_owner_find(struct pt_lock_state *st,
						struct pt_inode *inode,
						uint64_t owner)
{
	struct pt_lock_owner *o;

	pthread_mutex_lock(&st->mu);
	o = *pt_lock_owner_slot(st, inode, owner);
	if (o)
		o->users++;
	pthread_mutex_unlock(&st->mu);
	return o;
}

/* Link a new entry for @fd, unless another thread was faster. */
static int pt_lock_owner_insert(struct pt_lock_state *st,
				struct pt_inode *inode, uint64_t owner, int fd,
				struct pt_lock_owner **out)
{
	struct pt_lock_owner **slot, *o = NULL;
	int ret = 0;

	pthread_mutex_lock(&st->mu);
	slot = pt_lock_owner_slot(st, inode, owner);
	if (*slot) {
		o = *slot;
		o->users++;
	} else if (st->nowners >= PT_LOCK_OWNERS_MAX) {
		ret = -ENOLCK;
	} else if ((o = calloc(1, sizeof(*o))) == NULL) {
		ret = -ENOMEM;
	} else {
		o->inode = inode;
		o->owner = owner;
		o->fd = fd;
		o->users = 1;
		pt_inode_ref(inode);
		*slot = o;
		st->nowners++;
		fd = -1;
	}
	pthread_mutex_unlock(&st->mu);
	if (fd >= 0)
		close(fd);
	*out = o;
	return ret;
}

static int pt_lock_owner_open(struct pt_fs *fs, struct pt_inode *inode)
{
	int fd = pt_inode_open(fs, inode, O_RDWR | O_CLOEXEC, false);

	if (fd < 0)
		fd = pt_inode_open(fs, inode, O_RDONLY | O_CLOEXEC, false);
	return fd;
}

/*
 * The entry of (@inode, @owner), created if @create, with a use counted;
 * *@out NULL if there is none.  Blocking (it may open): workers only.
 */
static int pt_lock_owner_get(struct pt_fs *fs, struct pt_inode *inode,
			     uint64_t owner, bool create,
			     struct pt_lock_owner **out)
{
	int fd;

	*out = pt_lock_owner_find(fs->locks, inode, owner);
	if (*out || !create)
		return 0;
	fd = pt_lock_owner_open(fs, inode);
	if (fd < 0)
		return fd;
	return pt_lock_owner_insert(fs->locks, inode, owner, fd, out);
}

static void pt_lock_owner_put(struct pt_lock_state *st, struct pt_lock_owner *o)
{
	pthread_mutex_lock(&st->mu);
	o->users--;
	pthread_mutex_unlock(&st->mu);
}

static void pt_lock_owner_free(struct pt_fs *fs, struct pt_lock_owner *o)
{
	close(o->fd); /* releases every OFD lock taken through it */
	pt_inode_unref(fs, o->inode, 1);
	free(o);
}

/* --- checking and converting the guest's lock -------------------------------- */

static bool pt_lock_mode_ok(int flags, uint32_t type)
{
	int acc = flags & O_ACCMODE;

	if (type == F_RDLCK)
		return acc != O_WRONLY;
	if (type == F_WRLCK)
		return acc != O_RDONLY;
	return true;
}

static int pt_flock_op(uint32_t type)
{
	return type == F_RDLCK ? LOCK_SH : type == F_WRLCK ? LOCK_EX : LOCK_UN;
}

/*
 * Validate @lk (from the guest) and turn it into @fl.  Range ends at or
 * past INT64_MAX mean "to end of file" (the Linux guest sends OFFSET_MAX).
 * @setting: the file's access mode must allow the lock type, as fcntl(2)
 * demands of F_SETLK.
 */
static int pt_lock_check(struct pt_fs *fs, const struct pt_file *f,
			 const struct fs_lock *lk, bool setting,
			 struct flock *fl)
{
	if (!fs->locks)
		return -ENOSYS;
	if (lk->type != F_RDLCK && lk->type != F_WRLCK && lk->type != F_UNLCK)
		return -EINVAL;
	memset(fl, 0, sizeof(*fl));
	if (lk->flock)
		return 0;
	if (lk->start > INT64_MAX || lk->end < lk->start)
		return -EINVAL;
	if (setting && !pt_lock_mode_ok(f->flags, lk->type))
		return -EBADF;
	fl->l_type = (short)lk->type;
	fl->l_whence = SEEK_SET;
	fl->l_start = (off_t)lk->start;
	fl->l_len = lk->end >= INT64_MAX ? 0 : (off_t)(lk->end - lk->start + 1);
	return 0;
}

/*
 * The conflicting lock for the guest.  The pid is not reported: an OFD
 * lock has none, and a host process's pid means nothing in the guest.
 */
static void pt_lock_from_flock(const struct flock *fl, struct fs_lock *lk)
{
	lk->type = (uint32_t)fl->l_type;
	if (fl->l_type == F_UNLCK)
		return;
	lk->start = (uint64_t)fl->l_start;
	lk->end = fl->l_len == 0 ? UINT64_MAX
				 : (uint64_t)(fl->l_start + fl->l_len - 1);
	lk->pid = 0;
}

/* --- GETLK and SETLK on the worker pool --------------------------------------- */

static int pt_getlk_work(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	struct pt_lock_args *a = arg;
	struct pt_lock_owner *o;
	int ret;

	/* an owner without an fd holds nothing: the file's fd sees all conflicts */
	ret = pt_lock_owner_get(fs, a->file->inode, a->owner, false, &o);
	if (ret < 0)
		return ret;
	ret = fcntl(o ? o->fd : a->file->fd, F_OFD_GETLK, &a->fl) < 0 ? -errno : 0;
	if (o)
		pt_lock_owner_put(fs->locks, o);
	if (ret == 0)
		pt_lock_from_flock(&a->fl, a->out);
	return ret;
}

static int pt_flock_set(int fd, int op, bool wait)
{
	if (!wait && op != LOCK_UN)
		op |= LOCK_NB;
	return flock(fd, op) < 0 ? -errno : 0;
}

static int pt_posix_set(struct pt_fs *fs, struct pt_lock_args *a)
{
	struct pt_lock_owner *o;
	bool unlock = a->fl.l_type == F_UNLCK;
	int ret = pt_lock_owner_get(fs, a->file->inode, a->owner, !unlock, &o);

	if (ret < 0 || !o)
		return ret;
	if (fcntl(o->fd, a->wait ? F_OFD_SETLKW : F_OFD_SETLK, &a->fl) < 0)
		ret = errno == EACCES ? -EAGAIN : -errno;
	pt_lock_owner_put(fs->locks, o);
	return ret;
}

static int pt_setlk_work(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	struct pt_lock_args *a = arg;

	if (a->flock_op)
		return pt_flock_set(a->file->fd, a->flock_op, a->wait);
	return pt_posix_set(fs, a);
}

static struct pt_lock_args *pt_lock_args_init(struct fs_call *c,
					      struct pt_file *f,
					      const struct fs_lock *lk,
					      const struct flock *fl)
{
	struct pt_lock_args *a = pt_call_args(c);

	memset(a, 0, sizeof(*a));
	a->file = f;
	a->fl = *fl;
	a->owner = lk->owner;
	a->flock_op = lk->flock ? pt_flock_op(lk->type) : 0;
	return a;
}

void pt_getlk(struct fs *fs, struct fs_call *c, struct fs_file *file,
	      struct fs_lock *lk)
{
	struct pt_fs *pfs = pt_fs_of(fs);
	struct pt_file *f = pt_file_of(file);
	struct pt_lock_args *a;
	struct flock fl;
	int err = pt_lock_check(pfs, f, lk, false, &fl);

	if (!err && lk->flock)
		err = -EINVAL; /* flock has no GETLK */
	if (err) {
		fs_call_complete(c, err);
		return;
	}
	a = pt_lock_args_init(c, f, lk, &fl);
	a->out = lk;
	pt_offload(pfs, c, pt_getlk_work, a);
}

/* --- SETLKW on the waiter threads -------------------------------------------------- */

static _Thread_local struct pt_lock_thread *pt_lock_self
	__attribute__((tls_model("initial-exec")));

static void pt_lock_timer_set(struct pt_lock_thread *t, long ns)
{
	struct itimerspec its = { .it_value = { .tv_sec = 0, .tv_nsec = ns } };

	timer_settime(t->timer, 0, &its, NULL);
}

/* Async-signal-safe: atomics and timer_settime only. */
static void pt_lock_on_signal(int sig)
{
	struct pt_lock_thread *t = pt_lock_self;
	struct pt_lock_wait *w;
	int saved_errno = errno;

	(void)sig;
	if (t && t->has_timer && atomic_load(&t->blocking)) {
		w = atomic_load(&t->cur);
		/* maybe not in fcntl yet: make sure another signal follows */
		if (w && atomic_load(&w->cancel))
			pt_lock_timer_set(t, PT_LOCK_RESEND_NS);
	}
	errno = saved_errno;
}

static int pt_lock_signal_err;

static void pt_lock_signal_install(void)
{
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = pt_lock_on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: the waiting fcntl must fail EINTR */
	if (sigaction(pt_lock_signo(), &sa, &old) < 0) {
		pt_lock_signal_err = -errno;
		return;
	}
	if (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN)
		log_warn("passthrough: lock signal %d had a handler, replaced",
			 pt_lock_signo());
}

/*
 * Take the lock, blocking, until granted or @w is cancelled.  @fl set:
 * F_OFD_SETLKW; else flock(@op).  Order matters: blocking goes up before
 * cancel is read, and the interrupter sets cancel before signalling, so a
 * signal either finds cancel already visible here or finds blocking set
 * and keeps coming until fcntl has returned.
 */
static int pt_lock_block(struct pt_lock_thread *t, struct pt_lock_wait *w,
			 int fd, struct flock *fl, int op)
{
	int r, err;

	for (;;) {
		atomic_store(&t->blocking, true);
		if (atomic_load(&w->cancel)) {
			atomic_store(&t->blocking, false);
			return -EINTR;
		}
		r = fl ? fcntl(fd, F_OFD_SETLKW, fl) : flock(fd, op);
		err = r < 0 ? errno : 0;
		atomic_store(&t->blocking, false);
		if (t->has_timer)
			pt_lock_timer_set(t, 0);
		/* EINTR without a cancel: a stray or late signal, wait on */
		if (err != EINTR)
			return -err;
	}
}

static int pt_lock_wait_run(struct pt_lock_thread *t, struct pt_lock_wait *w)
{
	struct pt_lock_owner *o;
	int ret;

	if (w->flock_fd >= 0)
		return pt_lock_block(t, w, w->flock_fd, NULL, w->flock_op);
	ret = pt_lock_owner_get(w->fs, w->inode, w->owner, true, &o);
	if (ret < 0)
		return ret;
	ret = pt_lock_block(t, w, o->fd, &w->fl, 0);
	pt_lock_owner_put(w->fs->locks, o);
	return ret;
}

/* Release what the wait holds; it may then complete. */
static void pt_lock_wait_cleanup(struct pt_lock_wait *w)
{
	if (w->flock_fd >= 0)
		close(w->flock_fd);
	w->flock_fd = -1;
	pt_inode_unref(w->fs, w->inode, 1);
}

static void pt_lock_wait_msg(void *arg)
{
	struct pt_lock_wait *w = arg;

	fs_call_complete(w->c, w->result);
}

/* Complete @w (already off every list) on its reactor. */
static void pt_lock_wait_finish(struct pt_lock_wait *w, int result)
{
	w->result = result;
	pt_lock_wait_cleanup(w);
	reactor_msg_send(w->c->reactor, &w->msg);
}

/* Under st->mu: the next wait for thread @t, or NULL when stopping. */
static struct pt_lock_wait *pt_lock_next(struct pt_lock_state *st,
					 struct pt_lock_thread *t)
{
	struct pt_lock_wait *w;

	while (!st->stopping && pt_link_empty(&st->pending)) {
		st->nidle++;
		pthread_cond_wait(&st->cv, &st->mu);
		st->nidle--;
	}
	if (st->stopping)
		return NULL;
	w = pt_wait_of(st->pending.next);
	pt_link_del(&w->link);
	st->npending--;
	pt_link_add_tail(&st->active, &w->link);
	w->thread = t;
	atomic_store(&t->cur, w);
	return w;
}

static void pt_lock_thread_setup(struct pt_lock_thread *t)
{
	struct sigevent sev;
	sigset_t set;

	pt_lock_self = t;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = pt_lock_signo();
	sev._sigev_un._tid = gettid();
	t->has_timer = timer_create(CLOCK_MONOTONIC, &sev, &t->timer) == 0;
	if (!t->has_timer)
		log_warn("passthrough: lock waiter timer: errno %d; an interrupt "
			 "racing the start of a wait may be missed", errno);
	sigemptyset(&set);
	sigaddset(&set, pt_lock_signo());
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

static void *pt_lock_thread_main(void *arg)
{
	struct pt_lock_thread *t = arg;
	struct pt_lock_state *st = t->st;
	struct pt_lock_wait *w;
	int ret;

	pt_lock_thread_setup(t);
	pthread_mutex_lock(&st->mu);
	while ((w = pt_lock_next(st, t)) != NULL) {
		pthread_mutex_unlock(&st->mu);
		ret = pt_lock_wait_run(t, w);
		pthread_mutex_lock(&st->mu);
		pt_link_del(&w->link);
		atomic_store(&t->cur, NULL);
		st->nwaits--;
		pthread_mutex_unlock(&st->mu);
		pt_lock_wait_finish(w, ret);
		pthread_mutex_lock(&st->mu);
	}
	pthread_mutex_unlock(&st->mu);
	if (t->has_timer)
		timer_delete(t->timer);
	return NULL;
}

/* Under st->mu.  The thread starts with every signal blocked but ours. */
static int pt_lock_thread_spawn(struct pt_lock_state *st)
{
	struct pt_lock_thread *t = calloc(1, sizeof(*t));
	sigset_t all, old;
	int err;

	if (!t)
		return -ENOMEM;
	t->st = st;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&t->thread, NULL, pt_lock_thread_main, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		free(t);
		return -err;
	}
	t->next = st->threads;
	st->threads = t;
	st->nthreads++;
	return 0;
}

/* Queue @w for a waiter thread, starting one if none is free. */
static int pt_lock_wait_queue(struct pt_lock_state *st, struct pt_lock_wait *w)
{
	int err = 0;

	pthread_mutex_lock(&st->mu);
	if (st->stopping || st->nwaits >= PT_LOCK_WAITERS_MAX) {
		pthread_mutex_unlock(&st->mu);
		return -ENOLCK;
	}
	pt_link_add_tail(&st->pending, &w->link);
	st->npending++;
	st->nwaits++;
	if (st->nidle < st->npending && st->nthreads < PT_LOCK_WAITERS_MAX)
		err = pt_lock_thread_spawn(st);
	if (err && st->nidle < st->npending) {
		/* nobody would ever take it */
		pt_link_del(&w->link);
		st->npending--;
		st->nwaits--;
	} else {
		err = 0;
		pthread_cond_signal(&st->cv);
	}
	pthread_mutex_unlock(&st->mu);
	if (err)
		log_warn("passthrough: cannot start a lock waiter: errno %d", -err);
	return err ? -ENOLCK : 0;
}

static void pt_lock_wait_start(struct pt_fs *fs, struct fs_call *c,
			       struct pt_file *f, const struct fs_lock *lk,
			       const struct flock *fl)
{
	struct pt_lock_wait *w = (struct pt_lock_wait *)(void *)c->scratch;
	int err;

	memset(w, 0, sizeof(*w));
	w->msg.fn = pt_lock_wait_msg;
	w->msg.arg = w;
	w->fs = fs;
	w->c = c;
	w->inode = f->inode;
	w->fl = *fl;
	w->owner = lk->owner;
	w->flock_fd = -1;
	atomic_init(&w->cancel, false);
	if (lk->flock) {
		/* our own reference to the open file description */
		w->flock_op = pt_flock_op(lk->type);
		w->flock_fd = fcntl(f->fd, F_DUPFD_CLOEXEC, 0);
		if (w->flock_fd < 0) {
			fs_call_complete(c, -errno);
			return;
		}
	}
	pt_inode_ref(w->inode);
	err = pt_lock_wait_queue(fs->locks, w);
	if (err) {
		pt_lock_wait_cleanup(w);
		fs_call_complete(c, err);
	}
}

void pt_setlk(struct fs *fs, struct fs_call *c, struct fs_file *file,
	      const struct fs_lock *lk, bool wait)
{
	struct pt_fs *pfs = pt_fs_of(fs);
	struct pt_file *f = pt_file_of(file);
	struct pt_lock_args *a;
	struct flock fl;
	int err = pt_lock_check(pfs, f, lk, true, &fl);

	if (err) {
		fs_call_complete(c, err);
		return;
	}
	wait = wait && lk->type != F_UNLCK;
	if (wait && c->reactor) {
		pt_lock_wait_start(pfs, c, f, lk, &fl);
		return;
	}
	/* without a reactor (a tool) the caller may block: wait inline */
	a = pt_lock_args_init(c, f, lk, &fl);
	a->wait = wait;
	pt_offload(pfs, c, pt_setlk_work, a);
}

/* Under st->mu: the wait of call @c in @list, or NULL. */
static struct pt_lock_wait *pt_lock_wait_find(struct pt_link *list,
					      const struct fs_call *c)
{
	for (struct pt_link *l = list->next; l != list; l = l->next) {
		if (pt_wait_of(l)->c == c)
			return pt_wait_of(l);
	}
	return NULL;
}

/*
 * FUSE_INTERRUPT, from any thread.  @c may be any call, lock wait or not:
 * its scratch is only looked at once it is found on our lists.
 */
void pt_interrupt(struct fs *fs, struct fs_call *c)
{
	struct pt_lock_state *st = pt_fs_of(fs)->locks;
	struct pt_lock_wait *w;

	if (!st)
		return;
	pthread_mutex_lock(&st->mu);
	w = pt_lock_wait_find(&st->active, c);
	if (w) {
		atomic_store(&w->cancel, true);
		pthread_kill(w->thread->thread, pt_lock_signo());
		pthread_mutex_unlock(&st->mu);
		return;
	}
	w = pt_lock_wait_find(&st->pending, c);
	if (w) {
		pt_link_del(&w->link);
		st->npending--;
		st->nwaits--;
	}
	pthread_mutex_unlock(&st->mu);
	if (w)
		pt_lock_wait_finish(w, -EINTR);
}

/* --- release, init, fini -------------------------------------------------------- */

/*
 * @flock: the file is being released with FUSE_RELEASE_FLOCK_UNLOCK: drop
 * the flock held through it.  Else (FLUSH, a close by @owner): drop every
 * POSIX lock @owner holds on the file's inode, by closing its fd.  If a
 * SETLKW of the same owner still waits on that fd, only the locks held go
 * (the wait may still succeed, as on a local file system).
 */
void pt_locks_release_owner(struct pt_fs *fs, struct pt_file *file,
			    uint64_t owner, bool flock)
{
	struct pt_lock_state *st = fs->locks;
	struct pt_lock_owner **slot, *o;
	struct flock all = { .l_type = F_UNLCK, .l_whence = SEEK_SET };

	if (flock) {
		pt_flock_set(file->fd, LOCK_UN, false);
		return;
	}
	if (!st)
		return;
	pthread_mutex_lock(&st->mu);
	slot = pt_lock_owner_slot(st, file->inode, owner);
	o = *slot;
	if (o && o->users == 0) {
		*slot = o->next;
		st->nowners--;
	} else if (o) {
		fcntl(o->fd, F_OFD_SETLK, &all);
		o = NULL;
	}
	pthread_mutex_unlock(&st->mu);
	if (o)
		pt_lock_owner_free(fs, o);
}

int pt_locks_init(struct pt_fs *fs)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct pt_lock_state *st;

	pthread_once(&once, pt_lock_signal_install);
	if (pt_lock_signal_err)
		return pt_lock_signal_err;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	pthread_mutex_init(&st->mu, NULL);
	pthread_cond_init(&st->cv, NULL);
	pt_link_init(&st->pending);
	pt_link_init(&st->active);
	fs->locks = st;
	return 0;
}

/* Cancel what still waits (nothing should), then join every waiter. */
static void pt_lock_threads_stop(struct pt_lock_state *st)
{
	struct pt_lock_thread *t;

	pthread_mutex_lock(&st->mu);
	st->stopping = true;
	for (struct pt_link *l = st->active.next; l != &st->active; l = l->next) {
		atomic_store(&pt_wait_of(l)->cancel, true);
		pthread_kill(pt_wait_of(l)->thread->thread, pt_lock_signo());
	}
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
	while ((t = st->threads) != NULL) {
		st->threads = t->next;
		pthread_join(t->thread, NULL);
		free(t);
	}
	while (!pt_link_empty(&st->pending)) {
		struct pt_lock_wait *w = pt_wait_of(st->pending.next);

		pt_link_del(&w->link);
		pt_lock_wait_finish(w, -EINTR);
	}
}

void pt_locks_fini(struct pt_fs *fs)
{
	struct pt_lock_state *st = fs->locks;

	if (!st)
		return;
	pt_lock_threads_stop(st);
	for (unsigned int i = 0; i < PT_LOCK_BUCKETS; i++) {
		struct pt_lock_owner *o;

		while ((o = st->owners[i]) != NULL) {
			st->owners[i] = o->next;
			pt_lock_owner_free(fs, o);
		}
	}
	pthread_cond_destroy(&st->cv);
	pthread_mutex_destroy(&st->mu);
	free(st);
	fs->locks = NULL;
}
