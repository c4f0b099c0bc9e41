/* SPDX-License-Identifier: MIT */
/*
 * wl_internal.h - the workloads of `vhostfs bench` and what they share.
 *
 * Each workload runs after FUSE_INIT and before FUSE_DESTROY, fills a
 * struct fe_result and returns 0, or -errno when it could not run to the
 * end (the daemon broke the protocol, hung, or the set-up failed).  Failed
 * operations the daemon answered properly are counted in result.errors.
 */
#ifndef VHOSTFS_FE_WL_INTERNAL_H
#define VHOSTFS_FE_WL_INTERNAL_H

#include "frontend/engine_internal.h"
#include "frontend/stats_internal.h"

/* --- the test file (main thread, request queue 1) ----------------------- */

/* Look the file up and remove a stale one (unless --reuse finds one of the
 * right size), create it, and with @fill write it whole with the verify
 * pattern (generation 0). */
int fe_file_setup(struct fe_run *run, bool fill);
/* Open flags with O_DIRECT added under --direct. */
uint32_t fe_file_oflags(const struct fe_run *run, uint32_t flags);
/* FLUSH + RELEASE, UNLINK unless --keep, FORGET. */
int fe_file_teardown(struct fe_run *run);

/* --- jobs ----------------------------------------------------------------- */

/* One job per request queue with @ops, seeds, op budgets and histograms. */
int fe_jobs_prepare(struct fe_run *run, struct fe_job *jobs,
		    const struct fe_wl_ops *ops);
/* Run them for --runtime and sum their results into @res (which keeps
 * pointing at a histogram owned by @hist). */
int fe_jobs_measure(struct fe_run *run, struct fe_job *jobs,
		    struct fe_hist *hist, struct fe_result *res);
void fe_jobs_release(struct fe_run *run, struct fe_job *jobs);

/* --- workloads ------------------------------------------------------------ */

int fe_wl_io(struct fe_run *run, struct fe_result *res, struct fe_hist *hist);
int fe_wl_verify(struct fe_run *run, struct fe_result *res,
		 struct fe_hist *hist);
int fe_wl_meta(struct fe_run *run, struct fe_result *res, struct fe_hist *hist);
int fe_wl_smallfile(struct fe_run *run, struct fe_result *res,
		    struct fe_hist *hist);
int fe_wl_smoke(struct fe_run *run, struct fe_result *res,
		struct fe_hist *hist);

#endif /* VHOSTFS_FE_WL_INTERNAL_H */
