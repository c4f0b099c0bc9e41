// SPDX-License-Identifier: MIT
/*
 * wl_small.c - small files written durably: create, write, fsync, close.
 *
 * Each request slot takes one new file through what `cp small dst; sync
 * dst` (or a mail or package store) sends: CREATE, one WRITE of --bs
 * bytes, FSYNC, FLUSH + RELEASE, then a FORGET on hiprio.  A file is
 * counted when its cycle completes.  The files stay during the run (a
 * store fills up, it does not churn) and are unlinked afterwards, outside
 * the measurement, unless --keep.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/ops_internal.h"
#include "frontend/wl_internal.h"
#include "vhostfs/log.h"

enum small_stage {
	SMALL_CREATE,
	SMALL_WRITE,
	SMALL_FSYNC,
	SMALL_FLUSH,
	SMALL_RELEASE,
};

/* r->wl[0] = file index, [1] = nodeid, [2] = fh */

static void small_name(const struct fe_run *run, uint32_t job, uint64_t idx,
		       char *buf, size_t len)
{
	snprintf(buf, len, "%.200s.s%u.%llu", run->opts->file, job,
		 (unsigned long long)idx);
}

static uint32_t small_oflags(const struct fe_run *run)
{
	return fe_file_oflags(run, O_WRONLY | O_CREAT | O_EXCL);
}

static int small_encode(struct fe_job *j, struct fe_req *r)
{
	const struct fe_run *run = j->run;
	char name[FE_NAME_MAX + 1];

	switch (r->stage) {
	case SMALL_CREATE:
		small_name(run, j->id, r->wl[0], name, sizeof(name));
		return fe_fuse_create(r, FUSE_ROOT_ID, name, small_oflags(run),
				      0100644);
	case SMALL_WRITE:
		/* any bytes do; not all zeros, so nothing can skip them */
		memset(r->data + r->data_off, (int)(r->wl[0] | 1) & 0xff,
		       run->opts->bs);
		return fe_fuse_write(r, r->wl[1], r->wl[2], 0, run->opts->bs);
	case SMALL_FSYNC:
		fe_fuse_fsync(r, r->wl[1], r->wl[2]);
		return 0;
	case SMALL_FLUSH:
		fe_fuse_flush(r, r->wl[1], r->wl[2]);
		return 0;
	default:
		fe_fuse_release(r, r->wl[1], r->wl[2], small_oflags(run));
		return 0;
	}
}

static int small_prep(struct fe_job *j, struct fe_req *r)
{
	int err;

	if (fe_job_budget_done(j) || j->cursor >= j->end)
		return 0;
	r->wl[0] = j->cursor++;
	r->wl[1] = r->wl[2] = 0;
	r->stage = SMALL_CREATE;
	err = small_encode(j, r);
	return err ? err : 1;
}

/* Check a stage's reply; 0 to go on. */
static int small_check(struct fe_job *j, struct fe_req *r)
{
	const struct fuse_entry_out *e = fe_fuse_reply(r);

	switch (r->stage) {
	case SMALL_CREATE:
		if (fe_op_entry_check("CREATE", e))
			return -EPROTO;
		r->wl[1] = e->nodeid;
		r->wl[2] = ((const struct fuse_open_out *)(e + 1))->fh;
		return 0;
	case SMALL_WRITE:
		if (((const struct fuse_write_out *)fe_fuse_reply(r))->size !=
		    j->run->opts->bs)
			return -EIO;
		j->bytes += j->run->opts->bs;
		return 0;
	default:
		return 0;
	}
}

static int small_done(struct fe_job *j, struct fe_req *r, int err)
{
	if (!err)
		err = small_check(j, r);
	if (err == -EPROTO)
		return err;
	if (err) {
		if (j->errors++ < 5)
			log_error("bench: smallfile: file %llu: %s failed: %s",
				  (unsigned long long)r->wl[0],
				  fe_fuse_opname(r->opcode), strerror(-err));
		if (r->stage == SMALL_CREATE)
			return FE_DONE_FREE;
		/* still close what was opened */
		r->stage = r->stage < SMALL_FLUSH ? SMALL_FLUSH : r->stage + 1;
	} else {
		r->stage++;
		if (r->stage > SMALL_RELEASE)
			j->files++;
	}
	if (r->stage > SMALL_RELEASE) {
		fe_dev_forget(j->run->dev, r->wl[1], 1);
		return FE_DONE_FREE;
	}
	err = small_encode(j, r);
	return err ? err : FE_DONE_AGAIN;
}

static const struct fe_wl_ops small_ops = { .prep = small_prep,
					    .done = small_done };

/*
 * LOOKUP, UNLINK, FORGET: as a guest kernel does (it always has the
 * dentry), and as the C virtiofsd needs (EIO for a name it has no inode
 * for).
 */
static int small_unlink(struct fe_run *run, struct fe_queue *q,
			const char *name)
{
	struct fuse_entry_out e;
	int err = fe_op_lookup(q, FUSE_ROOT_ID, name, &e);
	int e2;

	if (err)
		return err;
	err = fe_op_unlink(q, FUSE_ROOT_ID, name);
	if (fe_err_fatal(err))
		return err;
	e2 = fe_dev_forget(run->dev, e.nodeid, 1);
	return err ? err : e2;
}

/* Remove every file the jobs started, one request at a time. */
static int small_cleanup(struct fe_run *run, const struct fe_job *jobs)
{
	struct fe_queue *q = fe_dev_queue(run->dev, 1);
	char name[FE_NAME_MAX + 1];
	int first_err = 0;

	for (uint32_t i = 0; !run->opts->keep && i < run->opts->queues; i++) {
		for (uint64_t f = jobs[i].first; f < jobs[i].cursor; f++) {
			int err;

			small_name(run, i, f, name, sizeof(name));
			err = small_unlink(run, q, name);
			if (fe_err_fatal(err))
				return err;
			if (err && err != -ENOENT && !first_err) {
				log_error("bench: smallfile: unlink %s: %s",
					  name, strerror(-err));
				first_err = err;
			}
		}
	}
	return first_err;
}

int fe_wl_smallfile(struct fe_run *run, struct fe_result *res,
		    struct fe_hist *hist)
{
	uint32_t n = run->opts->queues;
	struct fe_job *jobs = calloc(n, sizeof(*jobs));
	int err, e2;

	if (!jobs)
		return -ENOMEM;
	err = fe_jobs_prepare(run, jobs, &small_ops);
	for (uint32_t i = 0; !err && i < n; i++) {
		jobs[i].first = jobs[i].cursor = (uint64_t)run->opts->files * i / n;
		jobs[i].end = (uint64_t)run->opts->files * (i + 1) / n;
	}
	if (!err)
		err = fe_jobs_measure(run, jobs, hist, res);
	if (!fe_err_fatal(err)) {
		e2 = small_cleanup(run, jobs);
		err = err ? err : e2;
	}
	fe_jobs_release(run, jobs);
	free(jobs);
	return err;
}
