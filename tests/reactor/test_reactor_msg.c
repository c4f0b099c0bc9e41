// SPDX-License-Identifier: MIT
/* test_reactor_msg.c - messages and stop from other threads. */
#include <errno.h>
#include <pthread.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msgs_from_threads),
		cmocka_unit_test(test_stop_from_thread),
		cmocka_unit_test(test_msg_to_self),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
