// SPDX-License-Identifier: MIT
/*
 * epoch.c - grace periods: when may the md thread free what the data path
 * could still be using?
 *
 * Data I/O runs on any thread without a lock, reading a blob's cluster map
 * (and issuing device I/O to the clusters it names) while the md thread may
 * replace the map.  Each I/O pins the current epoch for its whole life: it
 * reads the global epoch E, increments its own channel's counter active[E &
 * 1], and re-reads E (if E moved meanwhile it undoes and retries).  To
 * retire something the md thread unpublishes it, advances E to E + 1 and
 * waits until every channel's active[E & 1] is zero: every I/O that could
 * have seen the old state has completed.  Grace periods run one at a time
 * and things retired during one wait for the next.  All counters and the
 * epoch use sequentially consistent atomics: the reader's increment and its
 * re-read of E, against the md thread's advance of E and its read of the
 * counters, is the store-load pattern that needs it.
 *
 * Counters are per channel, written only by their thread, so the data path
 * shares no cache line with other threads.  The md thread polls them with a
 * short timer while a grace period is open.
 */
#include <errno.h>

#include "blob_internal.h"

#define GRACE_POLL_NS 50000u

int blob_epoch_init(struct blob_epoch *e)
{
	atomic_init(&e->epoch, 0);
	e->channels = NULL;
	e->nchannels = 0;
	e->pending = NULL;
	e->pending_tail = &e->pending;
	e->waiting = NULL;
	e->busy = false;
	e->timer_armed = false;
	e->check_queued = false;
	return -pthread_mutex_init(&e->lock, NULL);
}

void blob_epoch_destroy(struct blob_epoch *e)
{
	pthread_mutex_destroy(&e->lock);
}

bool blob_epoch_idle(const struct blob_store *bs)
{
	const struct blob_epoch *e = &bs->epoch;

	return !e->busy && !e->timer_armed && !e->check_queued && !e->pending;
}

static bool grace_over(struct blob_epoch *e)
{
	unsigned int parity = (unsigned int)(e->waiting_epoch & 1);
	bool over = true;

	pthread_mutex_lock(&e->lock);
	for (struct blob_channel *ch = e->channels; ch && over; ch = ch->next)
		over = atomic_load(&ch->active[parity]) == 0;
	pthread_mutex_unlock(&e->lock);
	return over;
}

static void grace_run_waiting(struct blob_epoch *e)
{
	struct blob_retire *r = e->waiting;

	e->waiting = NULL;
	while (r) {
		struct blob_retire *next = r->next;

		r->fn(r);
		r = next;
	}
}

/* Open a grace period for everything pending. */
static void grace_advance(struct blob_epoch *e)
{
	e->waiting = e->pending;
	e->pending = NULL;
	e->pending_tail = &e->pending;
	e->busy = true;
	e->waiting_epoch = atomic_fetch_add(&e->epoch, 1);
}

static void grace_timer_cpl(void *arg, int res);

/* Close grace periods as long as they are over; poll when one is not. */
static void grace_check(struct blob_store *bs)
{
	struct blob_epoch *e = &bs->epoch;

	for (;;) {
		if (!grace_over(e)) {
			e->timer_armed = true;
			reactor_op_init(&e->timer, grace_timer_cpl, bs);
			reactor_timeout(bs->md, &e->timer, GRACE_POLL_NS);
			return;
		}
		/* callbacks may retire more: it waits for the next period */
		grace_run_waiting(e);
		if (!e->pending) {
			e->busy = false;
			return;
		}
		grace_advance(e);
	}
}

static void grace_timer_cpl(void *arg, int res)
{
	struct blob_store *bs = arg;

	bs->epoch.timer_armed = false;
	grace_check(bs);
}

static void grace_check_msg(void *arg)
{
	struct blob_store *bs = arg;

	bs->epoch.check_queued = false;
	grace_check(bs);
}

/* Never inline: the caller may still be using what it retires. */
void blob_retire(struct blob_store *bs, struct blob_retire *r)
{
	struct blob_epoch *e = &bs->epoch;

	r->next = NULL;
	*e->pending_tail = r;
	e->pending_tail = &r->next;
	if (e->busy)
		return;
	grace_advance(e);
	e->check_queued = true;
	e->check_msg.fn = grace_check_msg;
	e->check_msg.arg = bs;
	reactor_msg_send(bs->md, &e->check_msg);
}
