// SPDX-License-Identifier: MIT
/*
 * reactor.c - the per-thread io_uring event loop.
 *
 * One loop iteration: submit everything queued since the last one (a single
 * io_uring_submit), run the pollers, reap CQEs in batches, run messages; if
 * that found no work, sleep in the kernel - submitting and waiting in one
 * io_uring_enter - unless pollers forbid it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "reactor_internal.h"
#include "vhostfs/log.h"

#define REACTOR_DEFAULT_ENTRIES 256
#define REACTOR_REAP_BATCH 64

static _Thread_local struct reactor *reactor_tls;

struct reactor *reactor_current(void)
{
	return reactor_tls;
}

/*
 * Ask for cooperative task running (no IPIs: the loop enters the kernel
 * often anyway) and for submission to go on past a bad SQE; older kernels
 * reject the flags, so fall back to a plain ring.
 */
static int reactor_ring_init(struct reactor *r, unsigned int entries)
{
	struct io_uring_params p;
	int ret;

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN |
		  IORING_SETUP_TASKRUN_FLAG;
	ret = io_uring_queue_init_params(entries, &r->ring, &p);
	if (ret == -EINVAL) {
		memset(&p, 0, sizeof(p));
		ret = io_uring_queue_init_params(entries, &r->ring, &p);
	}
	return ret;
}

static int reactor_init(struct reactor *r, const struct reactor_config *cfg)
{
	unsigned int entries = REACTOR_DEFAULT_ENTRIES;
	int ret;

	if (cfg && cfg->ring_entries)
		entries = cfg->ring_entries;
	snprintf(r->name, sizeof(r->name), "%s",
		 cfg && cfg->name ? cfg->name : "reactor");
	atomic_init(&r->msgs, NULL);
	atomic_init(&r->sleeping, false);
	atomic_init(&r->stop, false);
	r->efd = eventfd(0, EFD_CLOEXEC);
	if (r->efd < 0)
		return -errno;
	ret = reactor_ring_init(r, entries);
	if (ret < 0) {
		close(r->efd);
		return ret;
	}
	r->sqe_ts = calloc(r->ring.sq.ring_entries, sizeof(*r->sqe_ts));
	if (!r->sqe_ts) {
		io_uring_queue_exit(&r->ring);
		close(r->efd);
		return -ENOMEM;
	}
	reactor_efd_arm(r);
	return 0;
}

int reactor_create(struct reactor **out, const struct reactor_config *cfg)
{
	struct reactor *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return -ENOMEM;
	ret = reactor_init(r, cfg);
	if (ret < 0) {
		log_error("reactor: cannot set up io_uring: %s", strerror(-ret));
		free(r);
		return ret;
	}
	*out = r;
	return 0;
}

/* Copy out a batch of CQEs, hand the slots back, then run the callbacks. */
static int reactor_reap_batch(struct reactor *r, unsigned int *got)
{
	struct io_uring_cqe *cqes[REACTOR_REAP_BATCH];
	struct {
		uint64_t udata;
		int res;
	} done[REACTOR_REAP_BATCH];
	unsigned int n;
	int user = 0;

	n = io_uring_peek_batch_cqe(&r->ring, cqes, REACTOR_REAP_BATCH);
	for (unsigned int i = 0; i < n; i++) {
		done[i].udata = cqes[i]->user_data;
		done[i].res = cqes[i]->res;
	}
	/* advance before the callbacks: they may re-enter the loop */
	io_uring_cq_advance(&r->ring, n);
	for (unsigned int i = 0; i < n; i++) {
		if (done[i].udata == REACTOR_UDATA_IGNORE)
			continue;
		user += reactor_op_complete(
			r, (struct reactor_op *)(uintptr_t)done[i].udata,
			done[i].res);
	}
	*got = n;
	return user;
}

/* Reap until the CQ is empty; returns the number of user callbacks run. */
static int reactor_reap(struct reactor *r)
{
	unsigned int got;
	int n = reactor_failed_run(r);

	do {
		n += reactor_reap_batch(r, &got);
	} while (got == REACTOR_REAP_BATCH);
	return n;
}

/* How long this iteration may sleep: -1 forever, 0 not at all. */
static int reactor_wait_ms(struct reactor *r, int timeout_ms)
{
	if (timeout_ms == 0 || r->failed_head ||
	    atomic_load_explicit(&r->stop, memory_order_relaxed))
		return 0;
	if (!r->npollers)
		return timeout_ms;
	if (!reactor_pollers_may_sleep(r))
		return 0;
	/* pollers whose source has no fd to wake us still run now and then */
	if (timeout_ms < 0 || timeout_ms > REACTOR_POLLER_MAX_SLEEP_MS)
		return REACTOR_POLLER_MAX_SLEEP_MS;
	return timeout_ms;
}

/* Submit what is queued and wait for one CQE, in one system call. */
static int reactor_wait(struct reactor *r, int ms)
{
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (long long)(ms % 1000) * 1000000,
	};
	int ret;

	if (ms < 0)
		ret = io_uring_submit_and_wait(&r->ring, 1);
	else
		ret = io_uring_submit_and_wait_timeout(&r->ring, &cqe, 1, &ts,
						       NULL);
	/* timer ran out, signal, or a full CQ that the reap will drain */
	if (ret == -ETIME || ret == -EINTR || ret == -EAGAIN || ret == -EBUSY)
		return 0;
	return ret < 0 ? ret : 0;
}

static int reactor_submit(struct reactor *r)
{
	int ret;

	if (!io_uring_sq_ready(&r->ring))
		return 0;
	ret = io_uring_submit(&r->ring);
	/* queued SQEs stay in the ring and go with the next submit */
	if (ret == -EAGAIN || ret == -EBUSY || ret == -EINTR)
		return 0;
	return ret < 0 ? ret : 0;
}

static int reactor_bind(struct reactor *r)
{
	if (!r->owned) {
		r->owner = pthread_self();
		r->owned = true;
	} else if (!pthread_equal(r->owner, pthread_self())) {
		log_error("reactor %s: run from a foreign thread", r->name);
		return -EPERM;
	}
	reactor_tls = r;
	return 0;
}

/*
 * Sleep, unless a message came in: senders write the eventfd only while
 * we say we sleep (reactor_msg_send), so say it, then look at the stack.
 * Store-then-load here and push-then-load there, both with full fences:
 * at least one side sees the other, so no message waits for a wake-up.
 */
static int reactor_sleep(struct reactor *r, int ms)
{
	int ret;

	atomic_store_explicit(&r->sleeping, true, memory_order_seq_cst);
	if (atomic_load_explicit(&r->msgs, memory_order_seq_cst)) {
		atomic_store_explicit(&r->sleeping, false, memory_order_relaxed);
		return 0;
	}
	ret = reactor_wait(r, ms);
	atomic_store_explicit(&r->sleeping, false, memory_order_relaxed);
	return ret;
}

int reactor_run_once(struct reactor *r, int timeout_ms)
{
	int ret, busy, n, ms;

	ret = reactor_bind(r);
	if (ret == 0)
		ret = reactor_submit(r);
	if (ret < 0)
		return ret;
	busy = reactor_pollers_run(r);
	/* messages after the reap: a wake-up reaped here must find its msg */
	n = reactor_reap(r);
	n += reactor_msgs_run(r);
	if (n || busy)
		return n;
	ms = reactor_wait_ms(r, timeout_ms);
	if (ms == 0)
		return 0;
	ret = reactor_sleep(r, ms);
	if (ret < 0)
		return ret;
	n = reactor_reap(r);
	return n + reactor_msgs_run(r);
}

int reactor_run(struct reactor *r)
{
	int ret = 0;

	while (!atomic_load_explicit(&r->stop, memory_order_acquire)) {
		ret = reactor_run_once(r, -1);
		if (ret < 0)
			break;
		ret = 0;
	}
	/* a stop is consumed by the run it ends, so the reactor can run again */
	atomic_store_explicit(&r->stop, false, memory_order_relaxed);
	return ret;
}

void reactor_stop(struct reactor *r)
{
	atomic_store_explicit(&r->stop, true, memory_order_release);
	reactor_wake(r);
}

/* Cancel everything in the ring and run callbacks until nothing is left. */
static void reactor_drain(struct reactor *r)
{
	struct io_uring_sqe *sqe;

	r->closing = true;
	while (r->inflight || r->efd_armed || r->failed_head ||
	       atomic_load_explicit(&r->msgs, memory_order_relaxed)) {
		sqe = io_uring_get_sqe(&r->ring);
		if (sqe) {
			io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
			io_uring_sqe_set_data64(sqe, REACTOR_UDATA_IGNORE);
		}
		if (reactor_wait(r, 100) < 0)
			break;
		reactor_reap(r);
		reactor_msgs_run(r);
	}
}

void reactor_destroy(struct reactor *r)
{
	struct reactor *prev = reactor_tls;

	if (!r)
		return;
	/* callbacks run by the drain may ask for reactor_current() */
	reactor_tls = r;
	reactor_drain(r);
	if (r->inflight || r->efd_armed)
		log_error("reactor %s: destroyed with %u ops in flight",
			  r->name, r->inflight);
	while (r->pollers)
		reactor_poller_remove(r->pollers);
	io_uring_queue_exit(&r->ring);
	close(r->efd);
	free(r->sqe_ts);
	free(r);
	reactor_tls = prev == r ? NULL : prev;
}
