/* SPDX-License-Identifier: MIT */
/*
 * reactor_internal.h - the reactor's state, shared by the files of the
 * reactor module (loop, operations, messages, pollers).  Nothing outside
 * src/reactor includes this.
 */
#ifndef VHOSTFS_REACTOR_INTERNAL_H
#define VHOSTFS_REACTOR_INTERNAL_H

#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vhostfs/reactor.h"

/* reactor_op.flags: low byte = state and kind, bits 16.. = deferred errno. */
#define REACTOR_OP_INFLIGHT 0x1u  /* submitted, callback not run yet */
#define REACTOR_OP_TIMEOUT  0x2u  /* -ETIME means success; cancel by remove */
#define REACTOR_OP_INTERNAL 0x4u  /* the reactor's own; not in inflight count */
#define REACTOR_OP_ERR_SHIFT 16

/* user_data of CQEs nobody waits for (cancel requests). */
#define REACTOR_UDATA_IGNORE 0ull

/* Longest sleep while pollers are registered (see reactor_wait_ms()). */
#define REACTOR_POLLER_MAX_SLEEP_MS 10

struct reactor_poller {
	int (*fn)(void *arg);
	void *arg;
	uint32_t idle_us;
	uint64_t idle_since_ns; /* 0 while the poller is doing work */
	struct reactor *r;
	struct reactor_poller *prev, *next;
};

struct reactor {
	struct io_uring ring;
	/*
	 * IORING_OP_TIMEOUT copies its timespec when the SQE is submitted,
	 * and submission is batched, so each SQE slot gets a timespec that
	 * lives as long as the slot.
	 */
	struct __kernel_timespec *sqe_ts;
	char name[32];

	unsigned int inflight;       /* user ops whose callback has not run */
	bool owned;                  /* bound to a thread by its first run */
	pthread_t owner;
	bool closing;                /* destroy in progress: do not re-arm */

	/* Ops that could not get an SQE: completed (with an error) on reap. */
	struct reactor_op *failed_head, *failed_tail;

	/* Cross-thread wake-up: an eventfd with a read always armed. */
	int efd;
	uint64_t efd_buf;
	struct reactor_op efd_op;
	bool efd_armed;
	_Atomic(struct reactor_msg *) msgs; /* MPSC stack, newest first */
	atomic_bool sleeping;        /* in (or about to enter) the kernel wait */
	atomic_bool stop;

	struct reactor_poller *pollers;
	/* the loop's place in the list; remove() keeps both valid */
	struct reactor_poller *poll_cur, *poll_next;
	unsigned int npollers;
};

/* reactor_ops.c */
void reactor_efd_arm(struct reactor *r);
int reactor_failed_run(struct reactor *r);
/* Run @op's callback; returns 1 for a user op, 0 for an internal one. */
int reactor_op_complete(struct reactor *r, struct reactor_op *op, int res);

/* reactor_msg.c */
int reactor_msgs_run(struct reactor *r);
void reactor_wake(struct reactor *r);

/* reactor_poller.c */
int reactor_pollers_run(struct reactor *r);
bool reactor_pollers_may_sleep(struct reactor *r);

#endif /* VHOSTFS_REACTOR_INTERNAL_H */
