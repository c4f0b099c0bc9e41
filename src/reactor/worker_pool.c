// SPDX-License-Identifier: MIT
/*
 * worker_pool.c - threads for syscalls that would block a reactor.
 *
 * This is the slow path (open, rename, a page-cache miss on a non-io_uring
 * fs op...), so a plain mutex + condvar FIFO is enough.  A finished job goes
 * back to the reactor that submitted it as a message, using the reactor_msg
 * embedded in the job: no allocation anywhere.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "vhostfs/log.h"
#include "vhostfs/reactor.h"

struct worker_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct worker_job *head, *tail;
	bool stopping;
	unsigned int nthreads;
	pthread_t *threads;
};

static void worker_job_done_msg(void *arg)
{
	struct worker_job *job = arg;

	job->done(job->arg);
}

/* Hand a finished job's done() to its origin reactor. */
static void worker_job_finish(struct worker_job *job)
{
	if (!job->done)
		return;
	if (!job->origin) {
		/* nobody to return to: documented to run right here */
		job->done(job->arg);
		return;
	}
	job->msg.fn = worker_job_done_msg;
	job->msg.arg = job;
	reactor_msg_send(job->origin, &job->msg);
}

/* Next job, or NULL once the pool is stopping and the queue is empty. */
static struct worker_job *worker_pool_pop(struct worker_pool *p)
{
	struct worker_job *job;

	pthread_mutex_lock(&p->lock);
	while (!p->head && !p->stopping)
		pthread_cond_wait(&p->cond, &p->lock);
	job = p->head;
	if (job) {
		p->head = job->next;
		if (!p->head)
			p->tail = NULL;
	}
	pthread_mutex_unlock(&p->lock);
	return job;
}

static void *worker_main(void *arg)
{
	struct worker_pool *p = arg;
	struct worker_job *job;

	while ((job = worker_pool_pop(p)) != NULL) {
		job->work(job->arg);
		worker_job_finish(job);
	}
	return NULL;
}

static unsigned int worker_pool_default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 2 ? 2 : (unsigned int)n;
}

static void worker_pool_join(struct worker_pool *p, unsigned int n)
{
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (unsigned int i = 0; i < n; i++)
		pthread_join(p->threads[i], NULL);
}

static void worker_pool_free(struct worker_pool *p)
{
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free(p);
}

static int worker_pool_start(struct worker_pool *p)
{
	char name[16];
	int ret;

	for (unsigned int i = 0; i < p->nthreads; i++) {
		ret = pthread_create(&p->threads[i], NULL, worker_main, p);
		if (ret) {
			worker_pool_join(p, i);
			return -ret;
		}
		snprintf(name, sizeof(name), "vhostfs-wk%u", i % 10000u);
		pthread_setname_np(p->threads[i], name);
	}
	return 0;
}

int worker_pool_create(struct worker_pool **out, unsigned int nthreads)
{
	struct worker_pool *p = calloc(1, sizeof(*p));
	int ret;

	if (!p)
		return -ENOMEM;
	p->nthreads = nthreads ? nthreads : worker_pool_default_threads();
	p->threads = calloc(p->nthreads, sizeof(*p->threads));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	ret = p->threads ? worker_pool_start(p) : -ENOMEM;
	if (ret < 0) {
		log_error("worker pool: cannot start threads: %d", ret);
		worker_pool_free(p);
		return ret;
	}
	*out = p;
	return 0;
}

void worker_pool_destroy(struct worker_pool *p)
{
	if (!p)
		return;
	/* workers empty the queue before they see the stop */
	worker_pool_join(p, p->nthreads);
	worker_pool_free(p);
}

void worker_pool_submit(struct worker_pool *p, struct worker_job *job)
{
	if (!job->origin)
		job->origin = reactor_current();
	job->next = NULL;
	pthread_mutex_lock(&p->lock);
	if (p->tail)
		p->tail->next = job;
	else
		p->head = job;
	p->tail = job;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}
