// SPDX-License-Identifier: MIT
/* test_reactor_poller.c - busy polling and when the reactor may sleep. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vhostfs/reactor.h"

struct counter {
	unsigned long calls;
	int ret;
};

static int count_fn(void *arg)
{
	struct counter *c = arg;

	c->calls++;
	return c->ret;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * Sleeping in the kernel is a voluntary context switch; being preempted on a
 * busy machine is not.  Counting them tells "slept" from "was slow".
 */
static long sleeps(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_nvcsw;
}

/*
 * One iteration; true if it slept in the kernel.  A sleep here lasts the
 * whole timeout (>= 5 ms), which a page fault or preemption on a loaded
 * host does not combine with a voluntary switch.
 */
static bool run_slept(struct reactor *r, int timeout_ms)
{
	uint64_t t0 = now_us();
	long before = sleeps();

	assert_int_equal(reactor_run_once(r, timeout_ms), 0);
	return sleeps() != before && now_us() - t0 >= 4000;
}

/* idle_us = 0: the loop never sleeps although nothing ever happens. */
static void test_never_sleeps(void **state)
{
	struct reactor *r;
	struct reactor_poller *p;
	struct counter c = { 0, 0 };

	assert_int_equal(reactor_create(&r, NULL), 0);
	assert_int_equal(reactor_poller_add(r, count_fn, &c, 0, &p), 0);
	for (int i = 0; i < 1000; i++)
		assert_false(run_slept(r, 1000));
	assert_int_equal(c.calls, 1000);
	reactor_poller_remove(p);
	reactor_destroy(r);
}

/* A poller that keeps working keeps the loop awake whatever its idle_us. */
static void test_busy_poller(void **state)
{
	struct reactor *r;
	struct reactor_poller *p;
	struct counter c = { 0, 1 };

	assert_int_equal(reactor_create(&r, NULL), 0);
	assert_int_equal(reactor_poller_add(r, count_fn, &c, 1, &p), 0);
	for (int i = 0; i < 200; i++)
		assert_false(run_slept(r, 1000));
	reactor_poller_remove(p);
	reactor_destroy(r);
}

/* An idle poller busy-polls for idle_us, then the loop may sleep. */
static void test_idle_then_sleep(void **state)
{
	struct reactor *r;
	struct reactor_poller *p;
	struct counter c = { 0, 0 };
	uint64_t start, slept_at = 0;

	assert_int_equal(reactor_create(&r, NULL), 0);
	assert_int_equal(reactor_poller_add(r, count_fn, &c, 20000, &p), 0);
	start = now_us();
	while (!slept_at && now_us() - start < 2000000) {
		if (run_slept(r, 5))
			slept_at = now_us();
	}
	assert_true(slept_at != 0);
	/*
	 * No sleep before the poller had been idle for 20 ms: the first one
	 * starts at 20 ms or later and lasts about 5 ms.  (Its call may have
	 * begun earlier if the thread was preempted, so look at its end.)
	 */
	assert_true(slept_at - start >= 20000 + 4000);
	assert_true(c.calls > 1);

	/* work resets the idle clock: the next calls busy-poll again */
	c.ret = 1;
	assert_false(run_slept(r, 5));
	c.ret = 0;
	for (int i = 0; i < 20; i++)
		assert_false(run_slept(r, 50));
	reactor_poller_remove(p);
	reactor_destroy(r);
}

static void done_cb(void *arg, int res)
{
	*(int *)arg = res;
}

static void *late_writer(void *arg)
{
	usleep(10000);
	if (write(*(int *)arg, "x", 1) != 1)
		abort();
	return NULL;
}

/*
 * A reactor that never sleeps still sees completions that the kernel
 * delivers as task work (poll on a pipe written by another thread).
 */
static void test_busy_sees_completions(void **state)
{
	struct reactor *r;
	struct reactor_poller *p;
	struct reactor_op op;
	struct counter c = { 0, 0 };
	int fds[2], res = -1;
	pthread_t th;
	uint64_t start;

	assert_int_equal(pipe(fds), 0);
	assert_int_equal(reactor_create(&r, NULL), 0);
	assert_int_equal(reactor_poller_add(r, count_fn, &c, 0, &p), 0);
	reactor_op_init(&op, done_cb, &res);
	reactor_poll_fd(r, &op, fds[0], POLLIN);
	assert_int_equal(pthread_create(&th, NULL, late_writer, &fds[1]), 0);
	start = now_us();
	while (res < 0 && now_us() - start < 2000000)
		assert_true(reactor_run_once(r, 0) >= 0);
	pthread_join(th, NULL);
	assert_true(res & POLLIN);
	reactor_destroy(r); /* also frees the remaining poller */
	close(fds[0]);
	close(fds[1]);
}

struct self_remover {
	struct reactor_poller *me, *other;
	int calls;
};

static int remove_fn(void *arg)
{
	struct self_remover *s = arg;

	s->calls++;
	if (s->other) {
		reactor_poller_remove(s->other);
		s->other = NULL;
	}
	reactor_poller_remove(s->me);
	return 1;
}

/* Pollers may remove themselves and others from inside the loop. */
static void test_remove_in_loop(void **state)
{
	struct reactor *r;
	struct self_remover a = { 0 }, b = { 0 };
	struct reactor_poller *pa, *pb;

	assert_int_equal(reactor_create(&r, NULL), 0);
	/* added b then a: a runs first and removes b before b runs */
	assert_int_equal(reactor_poller_add(r, remove_fn, &b, 0, &pb), 0);
	assert_int_equal(reactor_poller_add(r, remove_fn, &a, 0, &pa), 0);
	a.me = pa;
	a.other = pb;
	b.me = pb;
	assert_int_equal(reactor_run_once(r, 0), 0);
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 0);
	assert_int_equal(reactor_run_once(r, 0), 0);
	assert_int_equal(a.calls, 1);
	reactor_destroy(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_never_sleeps),
		cmocka_unit_test(test_busy_poller),
		cmocka_unit_test(test_idle_then_sleep),
		cmocka_unit_test(test_remove_in_loop),
		cmocka_unit_test(test_busy_sees_completions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
