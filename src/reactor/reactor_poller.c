// SPDX-License-Identifier: MIT
/*
 * reactor_poller.c - functions the loop calls on every iteration.
 *
 * A poller lets a thread busy-poll a source that has no fd worth waiting on
 * (a virtqueue the guest fills without kicking).  Each poller remembers
 * since when it has been idle; the loop may sleep only once every poller has
 * been idle for its idle_us.  The clock is read only while a poller is idle,
 * never while work is flowing.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "reactor_internal.h"

static uint64_t reactor_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int reactor_poller_add(struct reactor *r, int (*fn)(void *arg), void *arg,
		       uint32_t idle_us, struct reactor_poller **out)
{
	struct reactor_poller *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->fn = fn;
	p->arg = arg;
	p->idle_us = idle_us;
	p->r = r;
	p->next = r->pollers;
	if (r->pollers)
		r->pollers->prev = p;
	r->pollers = p;
	r->npollers++;
	if (out)
		*out = p;
	return 0;
}

void reactor_poller_remove(struct reactor_poller *p)
{
	struct reactor *r = p->r;

	/* a poller may remove itself or another one while the loop walks */
	if (r->poll_next == p)
		r->poll_next = p->next;
	if (r->poll_cur == p)
		r->poll_cur = NULL;
	if (p->prev)
		p->prev->next = p->next;
	else
		r->pollers = p->next;
	if (p->next)
		p->next->prev = p->prev;
	r->npollers--;
	free(p);
}

/* Account one call of @p; it is still registered. */
static int reactor_poller_note(struct reactor_poller *p, int ret)
{
	if (ret > 0) {
		p->idle_since_ns = 0;
		return 1;
	}
	/* idle: the clock starts only if the loop thinks of sleeping */
	if (p->idle_since_ns == 0)
		p->idle_since_ns = UINT64_MAX;
	return 0;
}

/* Run every poller once; returns how many did work. */
int reactor_pollers_run(struct reactor *r)
{
	struct reactor_poller *p = r->pollers;
	int busy = 0, ret;

	while (p) {
		r->poll_cur = p;
		r->poll_next = p->next;
		ret = p->fn(p->arg);
		if (r->poll_cur)
			busy += reactor_poller_note(p, ret);
		else
			busy += ret > 0; /* it removed itself */
		p = r->poll_next;
	}
	r->poll_cur = r->poll_next = NULL;
	return busy;
}

/* True when every poller has been idle for its idle_us (none = true). */
bool reactor_pollers_may_sleep(struct reactor *r)
{
	uint64_t now = 0;
	bool ok = true;

	for (struct reactor_poller *p = r->pollers; p; p = p->next) {
		if (p->idle_us == 0 || p->idle_since_ns == 0)
			return false;
		if (!now)
			now = reactor_now_ns();
		if (p->idle_since_ns == UINT64_MAX)
			p->idle_since_ns = now; /* first idle turn: start the clock */
		if (now - p->idle_since_ns < (uint64_t)p->idle_us * 1000u)
			ok = false;
	}
	return ok;
}
