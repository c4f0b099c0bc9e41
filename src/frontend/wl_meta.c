// SPDX-License-Identifier: MIT
/*
 * wl_meta.c - files taken through create, close, lookup, stat, unlink.
 *
 * Each request slot carries one file through the cycle a guest produces
 * for `touch f; stat f; rm f`: CREATE, FLUSH + RELEASE (close), LOOKUP,
 * GETATTR, UNLINK, then a FORGET for both lookups on hiprio.  Every request
 * is one op; a file is counted when its cycle completes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/ops_internal.h"
#include "frontend/wl_internal.h"
#include "vhostfs/log.h"

enum meta_stage {
	META_CREATE,
	META_FLUSH,
	META_RELEASE,
	META_LOOKUP,
	META_GETATTR,
	META_UNLINK,
};

/* r->wl[0] = file index, [1] = nodeid, [2] = fh, [3] = lookups to forget */

static void meta_name(const struct fe_job *j, uint64_t idx, char *buf,
		      size_t len)
{
	snprintf(buf, len, "%.200s.m%u.%llu", j->run->opts->file, j->id,
		 (unsigned long long)idx);
}

static int meta_encode(struct fe_job *j, struct fe_req *r)
{
	char name[FE_NAME_MAX + 1];

	meta_name(j, r->wl[0], name, sizeof(name));
	switch (r->stage) {
	case META_CREATE:
		return fe_fuse_create(r, FUSE_ROOT_ID, name,
				      O_WRONLY | O_CREAT | O_EXCL, 0100644);
	case META_FLUSH:
		fe_fuse_flush(r, r->wl[1], r->wl[2]);
		return 0;
	case META_RELEASE:
		fe_fuse_release(r, r->wl[1], r->wl[2], O_WRONLY);
		return 0;
	case META_LOOKUP:
		return fe_fuse_lookup(r, FUSE_ROOT_ID, name);
	case META_GETATTR:
		fe_fuse_getattr(r, r->wl[1], 0, false);
		return 0;
	default:
		return fe_fuse_unlink(r, FUSE_ROOT_ID, name);
	}
}

static int meta_prep(struct fe_job *j, struct fe_req *r)
{
	int err;

	if (fe_job_budget_done(j) || j->cursor >= j->end)
		return 0;
	r->wl[0] = j->cursor++;
	r->wl[1] = r->wl[2] = r->wl[3] = 0;
	r->stage = META_CREATE;
	err = meta_encode(j, r);
	return err ? err : 1;
}

/* Check a stage's reply; 0 to go on. */
static int meta_check(struct fe_req *r)
{
	const struct fuse_entry_out *e = fe_fuse_reply(r);
	const struct fuse_attr_out *a = fe_fuse_reply(r);

	switch (r->stage) {
	case META_CREATE:
		if (fe_op_entry_check("CREATE", e))
			return -EPROTO;
		r->wl[1] = e->nodeid;
		r->wl[2] = ((const struct fuse_open_out *)(e + 1))->fh;
		r->wl[3] = 1;
		return 0;
	case META_LOOKUP:
		r->wl[3] += e->nodeid ? 1 : 0;
		return e->nodeid == r->wl[1] ? 0 : -ESTALE;
	case META_GETATTR:
		return (a->attr.mode & 0170000) == 0100000 ? 0 : -ESTALE;
	default:
		return 0;
	}
}

static void meta_fail(struct fe_job *j, struct fe_req *r, int err)
{
	if (j->errors++ < 5)
		log_error("bench: meta: file %llu: %s failed: %s",
			  (unsigned long long)r->wl[0], fe_fuse_opname(r->opcode),
			  strerror(-err));
}

static int meta_done(struct fe_job *j, struct fe_req *r, int err)
{
	if (!err)
		err = meta_check(r);
	if (err == -EPROTO)
		return err;
	if (err) {
		meta_fail(j, r, err);
		/* still try to remove what was created */
		if (r->stage >= META_UNLINK || r->stage == META_CREATE)
			goto forget;
		r->stage = META_UNLINK;
	} else if (r->stage == META_UNLINK) {
		j->files++;
		goto forget;
	} else {
		r->stage++;
	}
	err = meta_encode(j, r);
	return err ? err : FE_DONE_AGAIN;
forget:
	if (r->wl[3])
		fe_dev_forget(j->run->dev, r->wl[1], r->wl[3]);
	return FE_DONE_FREE;
}

static const struct fe_wl_ops meta_ops = { .prep = meta_prep,
					   .done = meta_done };

int fe_wl_meta(struct fe_run *run, struct fe_result *res, struct fe_hist *hist)
{
	uint32_t n = run->opts->queues;
	struct fe_job *jobs = calloc(n, sizeof(*jobs));
	int err;

	if (!jobs)
		return -ENOMEM;
	err = fe_jobs_prepare(run, jobs, &meta_ops);
	for (uint32_t i = 0; !err && i < n; i++) {
		jobs[i].first = jobs[i].cursor = (uint64_t)run->opts->files * i / n;
		jobs[i].end = (uint64_t)run->opts->files * (i + 1) / n;
	}
	if (!err)
		err = fe_jobs_measure(run, jobs, hist, res);
	fe_jobs_release(run, jobs);
	free(jobs);
	return err;
}
