// SPDX-License-Identifier: MIT
/* wl_common.c - the test file's life and the jobs every workload runs. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/ops_internal.h"
#include "frontend/pattern_internal.h"
#include "frontend/wl_internal.h"
#include "vhostfs/log.h"

/* --- filling the file: one job on queue 1, on the calling thread --------- */

static int fill_prep(struct fe_job *j, struct fe_req *r)
{
	uint64_t size = j->run->opts->size;
	uint32_t len;
	int err;

	if (j->cursor >= size)
		return 0;
	len = size - j->cursor < j->run->chunk ? (uint32_t)(size - j->cursor)
					       : j->run->chunk;
	fe_pattern_fill(r->data + r->data_off, j->cursor, len,
			j->run->opts->seed, 0);
	r->wl[0] = len;
	j->cursor += len;
	err = fe_fuse_write(r, j->run->nodeid, j->run->fh, j->cursor - len, len);
	return err ? err : 1;
}

static int fill_done(struct fe_job *j, struct fe_req *r, int err)
{
	const struct fuse_write_out *wo = fe_fuse_reply(r);

	if (!err && wo->size == r->wl[0])
		return FE_DONE_FREE;
	log_error("bench: filling the test file failed: %s",
		  err ? strerror(-err) : "short write");
	return err ? err : -EIO;
}

static const struct fe_wl_ops fill_ops = { .prep = fill_prep,
					   .done = fill_done };

static int file_fill(struct fe_run *run)
{
	struct fe_hist *h = calloc(1, sizeof(*h));
	struct fe_job j = { .run = run, .q = fe_dev_queue(run->dev, 1),
			    .wl = &fill_ops, .njobs = 1, .lat = h };
	uint64_t t0 = fe_now_ns();
	int err;

	if (!h)
		return -ENOMEM;
	err = fe_job_run(&j);
	free(h);
	log_info("bench: wrote %llu MiB in %.2f s",
		 (unsigned long long)(run->opts->size >> 20),
		 (double)(fe_now_ns() - t0) / 1e9);
	return err;
}

/* --- set-up and teardown ---------------------------------------------- */

uint32_t fe_file_oflags(const struct fe_run *run, uint32_t flags)
{
	return run->opts->direct ? flags | O_DIRECT : flags;
}

/* An existing file: reuse it if asked and it fits, else remove it. */
static int file_existing(struct fe_run *run, const struct fuse_entry_out *e,
			 bool *reused)
{
	struct fe_queue *q = fe_dev_queue(run->dev, 1);
	struct fuse_open_out o;
	int err;

	*reused = false;
	if (run->opts->reuse && e->attr.size == run->opts->size &&
	    !fe_op_entry_check("LOOKUP", e)) {
		err = fe_op_open(q, e->nodeid, fe_file_oflags(run, O_RDWR),
				 &o);
		if (err)
			return err;
		run->nodeid = e->nodeid;
		run->fh = o.fh;
		run->nlookup = 1;
		*reused = true;
		return 0;
	}
	err = fe_op_unlink(q, FUSE_ROOT_ID, run->opts->file);
	fe_dev_forget(run->dev, e->nodeid, 1);
	return err;
}

int fe_file_setup(struct fe_run *run, bool fill)
{
	struct fe_queue *q = fe_dev_queue(run->dev, 1);
	struct fuse_entry_out e;
	struct fuse_open_out o;
	bool reused = false;
	int err;

	err = fe_op_lookup(q, FUSE_ROOT_ID, run->opts->file, &e);
	if (!err)
		err = file_existing(run, &e, &reused);
	else if (err == -ENOENT)
		err = 0;
	if (err || reused)
		goto out;
	err = fe_op_create(q, FUSE_ROOT_ID, run->opts->file,
			   fe_file_oflags(run, O_RDWR | O_CREAT | O_EXCL),
			   0100644, &e, &o);
	if (err)
		goto out;
	run->nodeid = e.nodeid;
	run->fh = o.fh;
	run->nlookup = 1;
	if (fill)
		err = file_fill(run);
out:
	if (err)
		log_error("bench: setting up %s failed: %s", run->opts->file,
			  strerror(-err));
	return err;
}

int fe_file_teardown(struct fe_run *run)
{
	struct fe_queue *q = fe_dev_queue(run->dev, 1);
	int err, e2 = 0;

	if (!run->nodeid)
		return 0;
	err = fe_op_flush(q, run->nodeid, run->fh);
	if (!err)
		err = fe_op_release(q, run->nodeid, run->fh, O_RDWR);
	if (!err && !run->opts->keep)
		err = fe_op_unlink(q, FUSE_ROOT_ID, run->opts->file);
	if (!fe_err_fatal(err))
		e2 = fe_dev_forget(run->dev, run->nodeid, run->nlookup);
	run->nodeid = 0;
	if (err)
		log_error("bench: cleaning up %s failed: %s", run->opts->file,
			  strerror(-err));
	return err ? err : e2;
}

/* --- jobs ----------------------------------------------------------------- */

int fe_jobs_prepare(struct fe_run *run, struct fe_job *jobs,
		    const struct fe_wl_ops *ops)
{
	uint32_t n = run->opts->queues;

	for (uint32_t i = 0; i < n; i++) {
		struct fe_job *j = &jobs[i];

		*j = (struct fe_job){ .run = run, .q = fe_dev_queue(run->dev, i + 1),
				      .wl = ops, .id = i, .njobs = n };
		fe_job_seed(j, run->opts->seed);
		if (run->opts->ops)
			j->ops_limit = run->opts->ops / n +
				       (i < run->opts->ops % n ? 1 : 0);
		j->lat = calloc(1, sizeof(*j->lat));
		if (!j->lat)
			return -ENOMEM;
	}
	return 0;
}

void fe_jobs_release(struct fe_run *run, struct fe_job *jobs)
{
	for (uint32_t i = 0; i < run->opts->queues; i++) {
		free(jobs[i].lat);
		jobs[i].lat = NULL;
	}
}

static void jobs_sum(struct fe_run *run, struct fe_job *jobs,
		     struct fe_hist *hist, struct fe_result *res)
{
	for (uint32_t i = 0; i < run->opts->queues; i++) {
		struct fe_job *j = &jobs[i];

		fe_hist_merge(hist, j->lat);
		res->ops += j->ops;
		res->bytes += j->bytes;
		res->errors += j->errors;
		res->files += j->files;
		res->verified += j->verified;
		res->mismatches += j->mismatches;
		res->kicks += j->q->kicks;
		res->calls += j->q->calls;
	}
	res->lat = hist;
}

int fe_jobs_measure(struct fe_run *run, struct fe_job *jobs,
		    struct fe_hist *hist, struct fe_result *res)
{
	double runtime = run->opts->ops ? 0 : run->opts->runtime;
	pid_t pid = run->opts->daemon_pid;
	double d0 = pid ? fe_cpu_tree(pid) : -1;
	uint64_t kicks0 = 0, calls0 = 0;
	int err;

	for (uint32_t i = 0; i < run->opts->queues; i++) {
		kicks0 += jobs[i].q->kicks;
		calls0 += jobs[i].q->calls;
	}
	err = fe_jobs_run(jobs, run->opts->queues, runtime, &res->seconds,
			  &res->cpu_s);
	res->daemon_cpu_s = d0 >= 0 ? fe_cpu_tree(pid) - d0 : -1;
	jobs_sum(run, jobs, hist, res);
	res->kicks -= kicks0;
	res->calls -= calls0;
	return err;
}
