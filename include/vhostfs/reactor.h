/* SPDX-License-Identifier: MIT */
/*
 * reactor.h - one event loop per thread, on io_uring.
 *
 * Every thread that serves requests runs one reactor.  All I/O of that thread
 * (file reads and writes, fd readiness, timers) is submitted to the reactor's
 * ring and completes on that same thread, so request state owned by a thread
 * never needs a lock.  Other threads talk to a reactor only through
 * reactor_msg_send().
 *
 * Operations are caller-allocated: embed a struct reactor_op (or reactor_msg)
 * in your request context; the reactor allocates nothing per operation.
 * A reactor_op must stay valid until its callback has run.
 *
 * Completion callbacks always run on the reactor's thread, never inline from
 * the submitting call, and receive the io_uring result (bytes or -errno).
 */
#ifndef VHOSTFS_REACTOR_H
#define VHOSTFS_REACTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct reactor;

/* Completion callback: @res is >= 0 on success or -errno. */
typedef void (*reactor_cb)(void *arg, int res);

struct reactor_op {
	reactor_cb cb;
	void *arg;
	/* private to the reactor */
	struct reactor_op *next;
	uint32_t flags;
};

static inline void reactor_op_init(struct reactor_op *op, reactor_cb cb, void *arg)
{
	op->cb = cb;
	op->arg = arg;
	op->next = 0;
	op->flags = 0;
}

struct reactor_config {
	unsigned int ring_entries; /* submission queue size, 0 = 256 */
	const char *name;          /* thread name for logs, may be NULL */
};

/* Create a reactor; it is bound to the thread that first runs it. */
int reactor_create(struct reactor **out, const struct reactor_config *cfg);

/* Destroy a stopped reactor.  Ops still in flight are cancelled first. */
void reactor_destroy(struct reactor *r);

/* The reactor running on this thread, or NULL. */
struct reactor *reactor_current(void);

/* Run until reactor_stop(); returns 0 or -errno on a fatal ring error. */
int reactor_run(struct reactor *r);

/*
 * Run one iteration: run pollers, reap completions, and if nothing was done
 * wait up to @timeout_ms (-1 forever, 0 not at all) for one.  Returns the
 * number of completions and messages handled, or -errno.  For tools and tests
 * that drive a reactor by hand.
 */
int reactor_run_once(struct reactor *r, int timeout_ms);

/* Ask the reactor to return from reactor_run(); safe from any thread. */
void reactor_stop(struct reactor *r);

/* --- asynchronous operations (call on the reactor's own thread) -------- */

void reactor_readv(struct reactor *r, struct reactor_op *op, int fd,
		   const struct iovec *iov, unsigned int cnt, uint64_t off);
void reactor_writev(struct reactor *r, struct reactor_op *op, int fd,
		    const struct iovec *iov, unsigned int cnt, uint64_t off);
/* Like readv/writev with RWF_* flags (RWF_DSYNC, RWF_NOWAIT, ...). */
void reactor_readv2(struct reactor *r, struct reactor_op *op, int fd,
		    const struct iovec *iov, unsigned int cnt, uint64_t off,
		    int rw_flags);
void reactor_writev2(struct reactor *r, struct reactor_op *op, int fd,
		     const struct iovec *iov, unsigned int cnt, uint64_t off,
		     int rw_flags);
/* fsync; @datasync selects fdatasync. */
void reactor_fsync(struct reactor *r, struct reactor_op *op, int fd,
		   bool datasync);
/* One-shot readiness: completes with the ready poll mask (POLLIN, ...). */
void reactor_poll_fd(struct reactor *r, struct reactor_op *op, int fd,
		     uint32_t poll_mask);
/* read(2) on a non-seekable fd (a /dev/fuse channel, an eventfd). */
void reactor_read(struct reactor *r, struct reactor_op *op, int fd,
		  void *buf, size_t len);
/* Completes with 0 after @ns nanoseconds (or -ECANCELED). */
void reactor_timeout(struct reactor *r, struct reactor_op *op, uint64_t ns);
/* Ask for @op to be cancelled; its callback still runs (often -ECANCELED). */
void reactor_cancel(struct reactor *r, struct reactor_op *op);

/* Number of submitted operations whose callbacks have not run yet. */
unsigned int reactor_inflight(const struct reactor *r);

/* --- messages between threads ----------------------------------------- */

struct reactor_msg {
	void (*fn)(void *arg);
	void *arg;
	struct reactor_msg *next; /* private */
};

/*
 * Run @msg->fn(@msg->arg) on @target's thread.  Safe from any thread,
 * lock-free, allocation-free; @msg must stay valid until fn has run.
 */
void reactor_msg_send(struct reactor *target, struct reactor_msg *msg);

/* --- pollers: functions run on every loop iteration (busy polling) ---- */

struct reactor_poller;

/*
 * @fn returns > 0 when it did work.  While any poller is registered the
 * reactor does not sleep in the kernel unless every poller reported idle for
 * @idle_us microseconds (0 = never sleep: pure busy polling).
 */
int reactor_poller_add(struct reactor *r, int (*fn)(void *arg), void *arg,
		       uint32_t idle_us, struct reactor_poller **out);
void reactor_poller_remove(struct reactor_poller *p);

/* --- worker pool: blocking syscalls off the reactor threads ----------- */

struct worker_pool;

struct worker_job {
	void (*work)(void *arg);  /* runs on a worker thread, may block */
	void (*done)(void *arg);  /* runs afterwards on @origin's thread */
	void *arg;
	struct reactor *origin;
	struct reactor_msg msg;   /* private */
	struct worker_job *next;  /* private */
};

/* @nthreads 0 = default (number of CPUs, at least 2). */
int worker_pool_create(struct worker_pool **out, unsigned int nthreads);
/* Waits for queued jobs to finish, then joins the threads. */
void worker_pool_destroy(struct worker_pool *p);
/* Queue @job; thread-safe. */
void worker_pool_submit(struct worker_pool *p, struct worker_job *job);

#endif /* VHOSTFS_REACTOR_H */
