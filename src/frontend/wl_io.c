// SPDX-License-Identifier: MIT
/* wl_io.c - randread, randwrite, seqread, seqwrite on one test file. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/wl_internal.h"
#include "vhostfs/log.h"

static bool io_is_write(const struct fe_job *j)
{
	enum fe_workload w = j->run->opts->workload;

	return w == FE_WL_RANDWRITE || w == FE_WL_SEQWRITE;
}

static bool io_is_random(const struct fe_job *j)
{
	enum fe_workload w = j->run->opts->workload;

	return w == FE_WL_RANDREAD || w == FE_WL_RANDWRITE;
}

/* Sequential jobs each stream through their own slice of the file. */
static void io_slice(struct fe_job *j)
{
	uint64_t nb = j->run->nblocks;

	j->first = nb * j->id / j->njobs;
	j->end = nb * (j->id + 1) / j->njobs;
	if (j->end == j->first) /* more jobs than blocks: share the file */
		j->first = 0, j->end = nb;
	j->cursor = j->first;
}

static uint64_t io_next_block(struct fe_job *j)
{
	uint64_t b;

	if (io_is_random(j))
		return fe_job_rand(j) % j->run->nblocks;
	b = j->cursor++;
	if (j->cursor >= j->end)
		j->cursor = j->first;
	return b;
}

static int io_prep(struct fe_job *j, struct fe_req *r)
{
	struct fe_run *run = j->run;
	uint64_t off;
	int err;

	if (fe_job_budget_done(j))
		return 0;
	off = io_next_block(j) * run->bs;
	if (io_is_write(j))
		err = fe_fuse_write(r, run->nodeid, run->fh, off, run->bs);
	else
		err = fe_fuse_read(r, run->nodeid, run->fh, off, run->bs);
	return err ? err : 1;
}

static int io_done(struct fe_job *j, struct fe_req *r, int err)
{
	uint32_t done_len = r->reply_len;

	if (!err && r->opcode == FUSE_WRITE)
		done_len = ((const struct fuse_write_out *)fe_fuse_reply(r))->size;
	if (!err && done_len == j->run->bs) {
		j->bytes += done_len;
		return FE_DONE_FREE;
	}
	if (j->errors++ < 3)
		log_error("bench: %s failed: %s", fe_fuse_opname(r->opcode),
			  err ? strerror(-err) : "short transfer");
	return FE_DONE_FREE;
}

static const struct fe_wl_ops io_ops = { .prep = io_prep, .done = io_done };

int fe_wl_io(struct fe_run *run, struct fe_result *res, struct fe_hist *hist)
{
	struct fe_job *jobs = calloc(run->opts->queues, sizeof(*jobs));
	int err;

	if (!jobs)
		return -ENOMEM;
	err = fe_file_setup(run, true);
	if (!err)
		err = fe_jobs_prepare(run, jobs, &io_ops);
	if (!err) {
		for (uint32_t i = 0; i < run->opts->queues; i++)
			io_slice(&jobs[i]);
		err = fe_jobs_measure(run, jobs, hist, res);
	}
	fe_jobs_release(run, jobs);
	free(jobs);
	if (!fe_err_fatal(err)) {
		int e2 = fe_file_teardown(run);

		err = err ? err : e2;
	}
	return err;
}
