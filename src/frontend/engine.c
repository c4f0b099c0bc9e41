// SPDX-License-Identifier: MIT
/* engine.c - the per-queue job loop and the threads that run it. */
#include <errno.h>
#include <string.h>

#include "frontend/engine_internal.h"
#include "vhostfs/log.h"

void fe_job_seed(struct fe_job *j, uint64_t seed)
{
	/* splitmix64 step: distinct, nonzero states for neighbouring seeds */
	uint64_t z = seed + 0x9e3779b97f4a7c15ull * (j->id + 1);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	j->rng = z ? z : 1;
}

static void job_fail(struct fe_job *j, int err)
{
	if (!j->failed)
		j->failed = err;
	j->stop = true;
}

static void job_done_cb(struct fe_req *r, int err)
{
	struct fe_job *j = r->owner;
	int rc;

	fe_hist_add(j->lat, fe_now_ns() - r->t_submit);
	j->ops++;
	if (err == -EPROTO) {
		/* the daemon broke the protocol: nothing after it is trusted */
		j->errors++;
		job_fail(j, err);
		fe_queue_put(j->q, r);
		return;
	}
	rc = j->wl->done(j, r, err);
	if (rc == FE_DONE_AGAIN) {
		rc = fe_queue_submit(j->q, r);
		if (!rc)
			return;
	}
	if (rc < 0)
		job_fail(j, rc);
	fe_queue_put(j->q, r);
}

/* Encode and submit requests into every free slot. */
static void job_fill(struct fe_job *j)
{
	struct fe_req *r;

	while (!j->stop && (r = fe_queue_get(j->q))) {
		int rc = j->wl->prep(j, r);

		if (rc != 1) {
			fe_queue_put(j->q, r);
			if (rc == FE_PREP_LATER)
				return;
			if (rc < 0)
				job_fail(j, rc);
			j->stop = true;
			return;
		}
		r->owner = j;
		r->done = job_done_cb;
		rc = fe_queue_submit(j->q, r);
		if (rc) {
			fe_queue_put(j->q, r);
			job_fail(j, rc);
			return;
		}
		j->issued++;
	}
}

/* Everything of the phase came back: next phase, or done. */
static bool job_phase_over(struct fe_job *j)
{
	if (j->failed || !j->wl->phase_end || j->wl->phase_end(j) <= 0)
		return true;
	j->phase++;
	j->issued = 0;
	j->stop = false;
	return false;
}

static int job_wait(struct fe_job *j)
{
	int err = fe_queue_wait(j->q, j->q->cfg.timeout_ms);

	if (err == -ETIMEDOUT)
		log_error("bench: queue %u: %u requests without reply for %d ms",
			  j->q->cfg.index, j->q->busy, j->q->cfg.timeout_ms);
	return err;
}

int fe_job_run(struct fe_job *j)
{
	for (;;) {
		int n;

		j->now = fe_now_ns();
		job_fill(j);
		fe_queue_kick(j->q);
		if (j->q->busy == 0) {
			/* nothing in flight and nothing issued: prep() has
			 * nothing left for this phase, whatever it said */
			j->stop = true;
			if (job_phase_over(j))
				break;
			continue;
		}
		/* a broken ring or a dead daemon: in-flight requests are lost */
		if (j->failed == -EPROTO)
			break;
		n = fe_queue_reap(j->q);
		if (n == 0)
			n = job_wait(j);
		if (n < 0) {
			job_fail(j, n);
			break;
		}
	}
	return j->failed;
}

/* Threads start together, or not at all if one cannot be created. */
struct jobs_start {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int go; /* 0 wait, 1 run, -1 cancelled */
	uint64_t runtime_ns;
};

struct job_thread_arg {
	struct fe_job *job;
	struct jobs_start *start;
};

static void *job_thread(void *arg)
{
	struct fe_job *j = ((struct job_thread_arg *)arg)->job;
	struct jobs_start *s = ((struct job_thread_arg *)arg)->start;
	int go;

	pthread_mutex_lock(&s->lock);
	while (!s->go)
		pthread_cond_wait(&s->cond, &s->lock);
	go = s->go;
	pthread_mutex_unlock(&s->lock);
	if (go < 0)
		return NULL;
	j->deadline = s->runtime_ns ? fe_now_ns() + s->runtime_ns : 0;
	fe_job_run(j);
	return NULL;
}

static void jobs_release(struct jobs_start *s, int go)
{
	pthread_mutex_lock(&s->lock);
	s->go = go;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

int fe_jobs_run(struct fe_job *jobs, uint32_t n, double runtime_s,
		double *seconds, double *cpu)
{
	struct job_thread_arg args[FE_QUEUES_MAX];
	struct jobs_start s = { .lock = PTHREAD_MUTEX_INITIALIZER,
				.cond = PTHREAD_COND_INITIALIZER,
				.runtime_ns = (uint64_t)(runtime_s * 1e9) };
	uint32_t started = 0;
	uint64_t t0;
	double c0;
	int err = 0;

	if (n == 0 || n > FE_QUEUES_MAX)
		return -EINVAL;
	for (; started < n; started++) {
		args[started] = (struct job_thread_arg){ &jobs[started], &s };
		err = -pthread_create(&jobs[started].thread, NULL, job_thread,
				      &args[started]);
		if (err)
			break;
	}
	c0 = fe_cpu_self();
	t0 = fe_now_ns();
	jobs_release(&s, err ? -1 : 1);
	for (uint32_t i = 0; i < started; i++) {
		pthread_join(jobs[i].thread, NULL);
		if (!err)
			err = jobs[i].failed;
	}
	*seconds = (double)(fe_now_ns() - t0) / 1e9;
	*cpu = fe_cpu_self() - c0;
	return err;
}
