// SPDX-License-Identifier: MIT
/* test_reactor_msg.c - messages and stop from other threads. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vhostfs/reactor.h"

#define SENDERS 2
#define PER_SENDER 5000

struct sender {
	struct reactor *r;
	int id;
	struct reactor_msg msgs[PER_SENDER];
	int seq[PER_SENDER];
};

struct tally {
	int received;
	int last[SENDERS];
	int out_of_order;
	int wrong_thread;
	struct reactor *r;
};

static struct tally tally;

static void msg_fn(void *arg)
{
	const int *seq = arg;
	/* recover the sender from the message's slot in its array */
	int id = seq[0] / PER_SENDER;
	int n = seq[0] % PER_SENDER;

	if (reactor_current() != tally.r)
		tally.wrong_thread++;
	if (n != tally.last[id] + 1)
		tally.out_of_order++;
	tally.last[id] = n;
	tally.received++;
}

static void *sender_main(void *arg)
{
	struct sender *s = arg;

	for (int i = 0; i < PER_SENDER; i++) {
		s->seq[i] = s->id * PER_SENDER + i;
		s->msgs[i].fn = msg_fn;
		s->msgs[i].arg = &s->seq[i];
		reactor_msg_send(s->r, &s->msgs[i]);
		if (i % 512 == 0)
			usleep(100); /* let the reactor fall asleep sometimes */
	}
	return NULL;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void test_msgs_from_threads(void **state)
{
	static struct sender senders[SENDERS];
	pthread_t th[SENDERS];
	struct reactor *r;
	uint64_t end;

	assert_int_equal(reactor_create(&r, NULL), 0);
	tally = (struct tally){ .r = r };
	for (int i = 0; i < SENDERS; i++)
		tally.last[i] = -1;
	assert_true(reactor_run_once(r, 0) >= 0); /* bind to this thread */
	for (int i = 0; i < SENDERS; i++) {
		senders[i].r = r;
		senders[i].id = i;
		assert_int_equal(pthread_create(&th[i], NULL, sender_main,
						&senders[i]), 0);
	}
	end = now_ms() + 10000;
	/* blocking waits: only the eventfd wake-up can end them */
	while (tally.received < SENDERS * PER_SENDER && now_ms() < end)
		assert_true(reactor_run_once(r, 2000) >= 0);
	for (int i = 0; i < SENDERS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(tally.received, SENDERS * PER_SENDER);
	assert_int_equal(tally.out_of_order, 0);
	assert_int_equal(tally.wrong_thread, 0);
	reactor_destroy(r);
}

static void *stopper_main(void *arg)
{
	usleep(30000);
	reactor_stop(arg);
	return NULL;
}

static void test_stop_from_thread(void **state)
{
	struct reactor *r;
	pthread_t th;
	uint64_t start = now_ms();

	assert_int_equal(reactor_create(&r, NULL), 0);
	assert_int_equal(pthread_create(&th, NULL, stopper_main, r), 0);
	assert_int_equal(reactor_run(r), 0);
	assert_true(now_ms() - start >= 25);
	pthread_join(th, NULL);
	/* a stop requested before run ends that run at once */
	reactor_stop(r);
	assert_int_equal(reactor_run(r), 0);
	reactor_destroy(r);
}

static void self_msg_fn(void *arg)
{
	struct reactor *r = reactor_current();

	++*(int *)arg;
	reactor_stop(r);
}

/* A message sent to oneself also runs from the loop, not inline. */
static void test_msg_to_self(void **state)
{
	struct reactor *r;
	struct reactor_msg m;
	int count = 0;

	assert_int_equal(reactor_create(&r, NULL), 0);
	m.fn = self_msg_fn;
	m.arg = &count;
	reactor_msg_send(r, &m);
	assert_int_equal(count, 0);
	assert_int_equal(reactor_run(r), 0);
	assert_int_equal(count, 1);
	reactor_destroy(r);
}

/*
 * Ping-pong: the sender posts message i+1 only once message i ran, at
 * varying moments, so some land while the reactor sleeps and some while it
 * is awake (then no eventfd write is made).  A lost wake-up shows as a
 * wait that ran out its timeout with a message pending.
 */
struct pingpong {
	struct reactor *r;
	struct reactor_msg msg;
	atomic_int ran;
	int rounds;
};

static void pingpong_fn(void *arg)
{
	struct pingpong *p = arg;

	atomic_fetch_add(&p->ran, 1);
}

static void *pingpong_main(void *arg)
{
	struct pingpong *p = arg;

	for (int i = 0; i < p->rounds; i++) {
		while (atomic_load(&p->ran) < i)
			;
		if (i % 3)
			usleep((useconds_t)(i % 7) * 20);
		p->msg.fn = pingpong_fn;
		p->msg.arg = p;
		reactor_msg_send(p->r, &p->msg);
	}
	return NULL;
}

static void test_msg_no_lost_wakeup(void **state)
{
	static struct pingpong p;
	pthread_t th;
	int stalls = 0;

	assert_int_equal(reactor_create(&p.r, NULL), 0);
	atomic_init(&p.ran, 0);
	p.rounds = 3000;
	assert_true(reactor_run_once(p.r, 0) >= 0); /* bind to this thread */
	assert_int_equal(pthread_create(&th, NULL, pingpong_main, &p), 0);
	while (atomic_load(&p.ran) < p.rounds && stalls < 3) {
		uint64_t t0 = now_ms();

		assert_true(reactor_run_once(p.r, 1000) >= 0);
		if (now_ms() - t0 >= 900)
			stalls++;
	}
	pthread_join(th, NULL);
	assert_int_equal(stalls, 0);
	assert_int_equal(atomic_load(&p.ran), p.rounds);
	reactor_destroy(p.r);
}

static void self_send_cpl(void *arg, int res)
{
	struct reactor_msg *m = arg;

	reactor_msg_send(reactor_current(), m);
}

static void count_fn(void *arg)
{
	++*(int *)arg;
}

/* A callback's message to its own reactor runs before the loop sleeps. */
static void test_msg_to_self_from_callback(void **state)
{
	struct reactor *r;
	struct reactor_op op;
	struct reactor_msg m;
	int count = 0;
	uint64_t t0;

	assert_int_equal(reactor_create(&r, NULL), 0);
	m.fn = count_fn;
	m.arg = &count;
	reactor_op_init(&op, self_send_cpl, &m);
	assert_true(reactor_run_once(r, 0) >= 0);
	reactor_timeout(r, &op, 1000000);
	t0 = now_ms();
	while (count == 0 && now_ms() - t0 < 5000)
		assert_true(reactor_run_once(r, 3000) >= 0);
	assert_int_equal(count, 1);
	assert_true(now_ms() - t0 < 1000);
	reactor_destroy(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msgs_from_threads),
		cmocka_unit_test(test_stop_from_thread),
		cmocka_unit_test(test_msg_to_self),
		cmocka_unit_test(test_msg_no_lost_wakeup),
		cmocka_unit_test(test_msg_to_self_from_callback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
