// SPDX-License-Identifier: MIT
/* test_worker_pool.c - blocking work off-thread, done() back on origin. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vhostfs/reactor.h"

#define NJOBS 16

struct job_ctx {
	struct worker_job job;
	pthread_t work_thread;
	bool work_ran;
	bool done_ran;
	bool done_on_origin;
	struct reactor *expect;
};

static pthread_t main_thread;
static atomic_int dones;

static void job_work(void *arg)
{
	struct job_ctx *j = arg;

	usleep(1000); /* a "blocking syscall" */
	j->work_thread = pthread_self();
	j->work_ran = true;
}

static void job_done(void *arg)
{
	struct job_ctx *j = arg;

	j->done_ran = j->work_ran;
	j->done_on_origin = pthread_equal(pthread_self(), main_thread) &&
			    reactor_current() == j->expect;
	atomic_fetch_add(&dones, 1);
}

static void jobs_init(struct job_ctx *jobs, struct reactor *origin,
		      struct reactor *expect)
{
	for (int i = 0; i < NJOBS; i++) {
		jobs[i] = (struct job_ctx){ .expect = expect };
		jobs[i].job.work = job_work;
		jobs[i].job.done = job_done;
		jobs[i].job.arg = &jobs[i];
		jobs[i].job.origin = origin;
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void run_until_done(struct reactor *r, int n)
{
	uint64_t end = now_ms() + 10000;

	while (atomic_load(&dones) < n && now_ms() < end)
		assert_true(reactor_run_once(r, 1000) >= 0);
	assert_int_equal(atomic_load(&dones), n);
}

static void check_jobs(const struct job_ctx *jobs)
{
	for (int i = 0; i < NJOBS; i++) {
		assert_true(jobs[i].work_ran);
		assert_false(pthread_equal(jobs[i].work_thread, main_thread));
		assert_true(jobs[i].done_ran);
		assert_true(jobs[i].done_on_origin);
	}
}

static void test_done_on_origin(void **state)
{
	static struct job_ctx jobs[NJOBS];
	struct worker_pool *pool;
	struct reactor *r;

	main_thread = pthread_self();
	atomic_store(&dones, 0);
	assert_int_equal(reactor_create(&r, NULL), 0);
	assert_int_equal(worker_pool_create(&pool, 2), 0);
	/* origin NULL: the pool takes the submitting thread's reactor */
	assert_true(reactor_run_once(r, 0) >= 0);
	jobs_init(jobs, NULL, r);
	for (int i = 0; i < NJOBS; i++)
		worker_pool_submit(pool, &jobs[i].job);
	run_until_done(r, NJOBS);
	check_jobs(jobs);
	worker_pool_destroy(pool);
	reactor_destroy(r);
}

/* destroy() lets queued jobs finish; their done() waits for the reactor. */
static void test_destroy_drains(void **state)
{
	static struct job_ctx jobs[NJOBS];
	struct worker_pool *pool;
	struct reactor *r;

	main_thread = pthread_self();
	atomic_store(&dones, 0);
	assert_int_equal(reactor_create(&r, NULL), 0);
	assert_int_equal(worker_pool_create(&pool, 0), 0);
	jobs_init(jobs, r, r);
	for (int i = 0; i < NJOBS; i++)
		worker_pool_submit(pool, &jobs[i].job);
	worker_pool_destroy(pool);
	for (int i = 0; i < NJOBS; i++)
		assert_true(jobs[i].work_ran);
	assert_int_equal(atomic_load(&dones), 0);
	run_until_done(r, NJOBS);
	check_jobs(jobs);
	reactor_destroy(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_done_on_origin),
		cmocka_unit_test(test_destroy_drains),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
