// SPDX-License-Identifier: MIT
/*
 * wl_verify.c - random writes of self-describing blocks, then every block
 * read back and compared.
 *
 * Job i owns the blocks b with b % njobs == i, so no two requests in flight
 * ever touch the same block and the expected content of each block is
 * known exactly: the generation of its last acknowledged write (0: the
 * fill).  A block whose write failed is skipped by the read-back.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/pattern_internal.h"
#include "frontend/wl_internal.h"
#include "vhostfs/log.h"

#define GEN_UNKNOWN UINT32_MAX
#define PROBES 16
#define REPORTS_MAX 5

struct verify_state {
	uint32_t *gen;  /* per owned block: generation it must hold */
	uint8_t *busy;  /* per owned block: a request is in flight */
	uint64_t nown;
	uint32_t next_gen;
};

static uint64_t verify_block(const struct fe_job *j, uint64_t k)
{
	return j->id + k * j->njobs;
}

/* An owned block with nothing in flight, or -1. */
static int64_t verify_pick(struct fe_job *j, struct verify_state *st)
{
	uint64_t k = fe_job_rand(j) % st->nown;

	for (unsigned int i = 0; i < PROBES; i++, k = (k + 1) % st->nown)
		if (!st->busy[k])
			return (int64_t)k;
	return -1;
}

static int verify_prep_write(struct fe_job *j, struct fe_req *r,
			     struct verify_state *st)
{
	uint32_t bs = j->run->bs;
	uint64_t off;
	int64_t k;
	int err;

	if (fe_job_budget_done(j) || st->nown == 0)
		return 0;
	k = verify_pick(j, st);
	if (k < 0)
		return FE_PREP_LATER;
	off = verify_block(j, (uint64_t)k) * bs;
	st->gen[k] = ++st->next_gen;
	st->busy[k] = 1;
	fe_pattern_fill(r->data + r->data_off, off, bs, j->run->opts->seed,
			st->gen[k]);
	r->wl[0] = (uint64_t)k;
	err = fe_fuse_write(r, j->run->nodeid, j->run->fh, off, bs);
	return err ? err : 1;
}

static int verify_prep_read(struct fe_job *j, struct fe_req *r,
			    struct verify_state *st)
{
	int err;

	while (j->cursor < st->nown && st->gen[j->cursor] == GEN_UNKNOWN)
		j->cursor++;
	if (j->cursor >= st->nown)
		return 0;
	r->wl[0] = j->cursor++;
	err = fe_fuse_read(r, j->run->nodeid, j->run->fh,
			   verify_block(j, r->wl[0]) * j->run->bs, j->run->bs);
	return err ? err : 1;
}

static int verify_prep(struct fe_job *j, struct fe_req *r)
{
	struct verify_state *st = j->state;

	return j->phase == 0 ? verify_prep_write(j, r, st)
			     : verify_prep_read(j, r, st);
}

static void verify_write_done(struct fe_job *j, struct fe_req *r, int err)
{
	struct verify_state *st = j->state;
	uint64_t k = r->wl[0];

	st->busy[k] = 0;
	if (!err && ((const struct fuse_write_out *)fe_fuse_reply(r))->size ==
			    j->run->bs) {
		j->bytes += j->run->bs;
		return;
	}
	st->gen[k] = GEN_UNKNOWN;
	if (j->errors++ < REPORTS_MAX)
		log_error("bench: verify: WRITE of block %llu failed: %s",
			  (unsigned long long)verify_block(j, k),
			  err ? strerror(-err) : "short write");
}

static void verify_report(struct fe_job *j, uint64_t k,
			  const struct fe_pattern_bad *bad, uint32_t want_gen)
{
	if (j->mismatches > REPORTS_MAX)
		return;
	log_error("bench: verify: block %llu (generation %u): at offset %llu "
		  "found record {offset %llu, tag 0x%llx}, want {offset %llu, "
		  "tag 0x%llx}",
		  (unsigned long long)verify_block(j, k), want_gen,
		  (unsigned long long)bad->off, (unsigned long long)bad->got_off,
		  (unsigned long long)bad->got_tag, (unsigned long long)bad->off,
		  (unsigned long long)bad->want_tag);
}

static void verify_read_done(struct fe_job *j, struct fe_req *r, int err)
{
	struct verify_state *st = j->state;
	struct fe_pattern_bad bad;
	uint64_t k = r->wl[0];

	if (err) {
		if (j->errors++ < REPORTS_MAX)
			log_error("bench: verify: READ failed: %s", strerror(-err));
		return;
	}
	j->bytes += r->reply_len;
	j->verified++;
	if (r->reply_len != j->run->bs) {
		j->mismatches++;
		log_error("bench: verify: block %llu: short read of %u bytes",
			  (unsigned long long)verify_block(j, k), r->reply_len);
		return;
	}
	if (fe_pattern_check(r->data + r->data_off, verify_block(j, k) * j->run->bs,
			     j->run->bs, j->run->opts->seed, st->gen[k], &bad)) {
		j->mismatches++;
		verify_report(j, k, &bad, st->gen[k]);
	}
}

static int verify_done(struct fe_job *j, struct fe_req *r, int err)
{
	if (j->phase == 0)
		verify_write_done(j, r, err);
	else
		verify_read_done(j, r, err);
	return FE_DONE_FREE;
}

static int verify_phase_end(struct fe_job *j)
{
	j->cursor = 0;
	return j->phase == 0;
}

static const struct fe_wl_ops verify_ops = { .prep = verify_prep,
					     .done = verify_done,
					     .phase_end = verify_phase_end };

static int verify_states(struct fe_run *run, struct fe_job *jobs,
			 struct verify_state *st)
{
	for (uint32_t i = 0; i < run->opts->queues; i++) {
		uint64_t n = run->nblocks > i
			? (run->nblocks - i + run->opts->queues - 1) / run->opts->queues
			: 0;

		st[i].nown = n;
		st[i].gen = calloc(n ? n : 1, sizeof(*st[i].gen));
		st[i].busy = calloc(n ? n : 1, sizeof(*st[i].busy));
		if (!st[i].gen || !st[i].busy)
			return -ENOMEM;
		jobs[i].state = &st[i];
	}
	return 0;
}

int fe_wl_verify(struct fe_run *run, struct fe_result *res,
		 struct fe_hist *hist)
{
	uint32_t n = run->opts->queues;
	struct fe_job *jobs = calloc(n, sizeof(*jobs));
	struct verify_state *st = calloc(n, sizeof(*st));
	int err = jobs && st ? 0 : -ENOMEM;

	if (!err)
		err = fe_file_setup(run, true);
	if (!err)
		err = fe_jobs_prepare(run, jobs, &verify_ops);
	if (!err)
		err = verify_states(run, jobs, st);
	if (!err)
		err = fe_jobs_measure(run, jobs, hist, res);
	for (uint32_t i = 0; st && i < n; i++) {
		free(st[i].gen);
		free(st[i].busy);
	}
	if (jobs)
		fe_jobs_release(run, jobs);
	free(jobs);
	free(st);
	if (!fe_err_fatal(err)) {
		int e2 = fe_file_teardown(run);

		err = err ? err : e2;
	}
	return err;
}
