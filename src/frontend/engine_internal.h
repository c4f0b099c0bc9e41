/* SPDX-License-Identifier: MIT */
/*
 * engine_internal.h - running a workload on request queues, one job (and
 * one thread) per queue.
 *
 * A workload is three callbacks.  The job loop keeps the queue full by
 * asking prep() to encode the next request into each free slot, submits
 * them, kicks once per batch, reaps completions (recording latency) and
 * hands each to done(), sleeping on the call eventfd only when nothing
 * completed.  When prep() says the phase is over and everything in flight
 * has come back, phase_end() may start another phase (verify: write, then
 * read back).  The loop allocates nothing; its syscalls are the kick and
 * the wait, and only when the device asks for them.
 */
#ifndef VHOSTFS_FE_ENGINE_INTERNAL_H
#define VHOSTFS_FE_ENGINE_INTERNAL_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "frontend/device_internal.h"
#include "frontend/options_internal.h"
#include "frontend/stats_internal.h"

struct fe_job;

/* prep() results besides "submit it" (1) and "phase over" (0). */
#define FE_PREP_LATER 2 /* nothing to issue until something completes */
/* done() results. */
#define FE_DONE_FREE 0  /* give the slot back */
#define FE_DONE_AGAIN 1 /* the slot was re-encoded: submit it again */

struct fe_wl_ops {
	int (*prep)(struct fe_job *j, struct fe_req *r);
	int (*done)(struct fe_job *j, struct fe_req *r, int err);
	/* 1: another phase follows, 0: finished.  NULL: one phase. */
	int (*phase_end)(struct fe_job *j);
};

/* What every job of a run shares (read-only while jobs run). */
struct fe_run {
	struct fe_dev *dev;
	const struct fe_opts *opts;
	uint64_t nodeid;   /* the test file */
	uint64_t fh;
	uint64_t nlookup;  /* lookups the daemon counts for nodeid */
	uint64_t nblocks;  /* whole --bs blocks in the file */
	uint32_t bs;
	uint32_t chunk;    /* fill: bytes per WRITE */
};

struct fe_job {
	struct fe_run *run;
	struct fe_queue *q;
	const struct fe_wl_ops *wl;
	uint32_t id, njobs;
	uint64_t rng;
	uint64_t now;         /* clock at the top of this loop iteration */
	uint64_t deadline;    /* 0: none */
	uint64_t ops_limit;   /* requests per phase, 0: none */
	uint64_t issued;      /* requests issued in this phase */
	bool stop;            /* prep() ended the phase */
	int failed;           /* first fatal error */
	uint32_t phase;
	/* results */
	uint64_t ops, bytes, errors;
	uint64_t files, verified, mismatches;
	struct fe_hist *lat;
	/* workload state */
	uint64_t cursor, first, end;
	void *state;
	pthread_t thread;
};

/* Run @j's loop on this thread until its last phase ends or it fails. */
int fe_job_run(struct fe_job *j);

/*
 * Run @n jobs, one thread each, started together; measure the wall time
 * (*@seconds) and this process's CPU time (*@cpu).  Each job's deadline is
 * its start plus @runtime_s (0: none).  Returns the first job failure.
 */
int fe_jobs_run(struct fe_job *jobs, uint32_t n, double runtime_s,
		double *seconds, double *cpu);

/* Has this phase used up its time or op budget? */
static inline bool fe_job_budget_done(const struct fe_job *j)
{
	return (j->deadline && j->now >= j->deadline) ||
	       (j->ops_limit && j->issued >= j->ops_limit);
}

/* xorshift64*: per-job, deterministic from the seed. */
static inline uint64_t fe_job_rand(struct fe_job *j)
{
	uint64_t x = j->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	j->rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

void fe_job_seed(struct fe_job *j, uint64_t seed);

/* Errors after which the connection is not used for more requests: the
 * daemon broke the protocol, hung, hung up or flagged a queue broken. */
static inline bool fe_err_fatal(int err)
{
	return err == -EPROTO || err == -ETIMEDOUT || err == -ECONNRESET ||
	       err == -EIO || err == -EPIPE;
}

#endif /* VHOSTFS_FE_ENGINE_INTERNAL_H */
