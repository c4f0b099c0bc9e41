// SPDX-License-Identifier: MIT
/*
 * reactor_msg.c - running functions on another reactor's thread.
 *
 * Senders push onto a lock-free stack (one CAS, no allocation); the owning
 * reactor takes the whole stack with one exchange, reverses it into send
 * order and runs it.  Only the push that finds the stack empty may write
 * the eventfd: later pushes ride on that wake-up, because the reactor
 * cannot take the stack without seeing them.  And it writes only if the
 * reactor sleeps: an awake loop runs the messages before it next sleeps
 * (reactor_sleep() looks at the stack after saying it sleeps), so a busy
 * reactor - and a callback sending to its own reactor, a deferred flush -
 * gets messages without a syscall.
 * The ABA problem of lock-free stacks does not arise: nobody pops single
 * entries, the consumer takes everything.
 */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "reactor_internal.h"
#include "vhostfs/log.h"

void reactor_wake(struct reactor *r)
{
	uint64_t one = 1;
	ssize_t n;

	do {
		n = write(r->efd, &one, sizeof(one));
	} while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(one))
		log_error("reactor %s: eventfd write failed", r->name);
}

void reactor_msg_send(struct reactor *target, struct reactor_msg *msg)
{
	struct reactor_msg *head =
		atomic_load_explicit(&target->msgs, memory_order_relaxed);

	do {
		msg->next = head;
	} while (!atomic_compare_exchange_weak_explicit(
		&target->msgs, &head, msg, memory_order_release,
		memory_order_relaxed));
	if (head || target == reactor_current())
		return;
	/* pairs with reactor_sleep(): push, full fence, then look */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&target->sleeping, memory_order_relaxed))
		reactor_wake(target);
}

/* Reverse the newest-first stack so messages run in the order sent. */
static struct reactor_msg *reactor_msgs_reverse(struct reactor_msg *m)
{
	struct reactor_msg *out = NULL;

	while (m) {
		struct reactor_msg *next = m->next;

		m->next = out;
		out = m;
		m = next;
	}
	return out;
}

int reactor_msgs_run(struct reactor *r)
{
	struct reactor_msg *m;
	int n = 0;

	/* a plain load first keeps the common empty case free of RMW traffic */
	if (!atomic_load_explicit(&r->msgs, memory_order_relaxed))
		return 0;
	m = atomic_exchange_explicit(&r->msgs, NULL, memory_order_acquire);
	m = reactor_msgs_reverse(m);
	while (m) {
		/* fn may reuse or free the message: read next first */
		struct reactor_msg *next = m->next;

		m->fn(m->arg);
		m = next;
		n++;
	}
	return n;
}
