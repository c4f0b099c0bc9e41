// SPDX-License-Identifier: MIT
/* bench.c - `vhostfs bench`: connect, start the device, run, report. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/wl_internal.h"
#include "vhostfs/bench.h"
#include "vhostfs/log.h"

#define FILL_CHUNK (128u * 1024u) /* bytes per WRITE while filling */
#define SMOKE_DATA (16u * 1024u)

static bool bench_uses_file(enum fe_workload w)
{
	return w != FE_WL_META && w != FE_WL_SMOKE && w != FE_WL_SMALLFILE;
}

/* Data bytes per slot: the workload's --bs, and a bigger fill chunk when
 * the ring can hold that many chains (always, with indirect tables). */
static uint32_t bench_data_bytes(const struct fe_opts *o, const struct fe_dev *d)
{
	uint32_t want = o->bs, pages;

	if (o->workload == FE_WL_META)
		return 0;
	if (o->workload == FE_WL_SMOKE)
		return SMOKE_DATA;
	if (o->workload == FE_WL_SMALLFILE)
		return want;
	if (want >= FILL_CHUNK)
		return want;
	pages = fe_fuse_pages(o->buf_offset, FILL_CHUNK);
	if (d->indirect || (uint64_t)o->qd * fe_queue_chain_len(pages) <=
				   o->queue_size)
		want = FILL_CHUNK;
	return want;
}

static int bench_check_limits(struct fe_run *run)
{
	const struct fe_opts *o = run->opts;
	uint32_t max = fe_dev_max_write(run->dev);
	uint32_t max_read = fe_dev_max_read(run->dev);

	if (!bench_uses_file(o->workload))
		return 0;
	if (o->bs > (max < max_read ? max : max_read)) {
		log_error("bench: --bs %u exceeds what the session allows (max_write"
			  " %u, max read %u)", o->bs, max, max_read);
		return -EINVAL;
	}
	run->bs = o->bs;
	run->nblocks = o->size / o->bs;
	run->chunk = bench_data_bytes(o, run->dev);
	if (run->chunk > max)
		run->chunk = max;
	run->chunk -= run->chunk % 16; /* whole pattern records */
	if (run->chunk < 16)
		run->chunk = 16;
	return 0;
}

static int bench_workload(struct fe_run *run, struct fe_result *res,
			  struct fe_hist *hist)
{
	switch (run->opts->workload) {
	case FE_WL_SMOKE:
		return fe_wl_smoke(run, res, hist);
	case FE_WL_META:
		return fe_wl_meta(run, res, hist);
	case FE_WL_VERIFY:
		return fe_wl_verify(run, res, hist);
	case FE_WL_SMALLFILE:
		return fe_wl_smallfile(run, res, hist);
	default:
		return fe_wl_io(run, res, hist);
	}
}

static void bench_dev_config(const struct fe_opts *o, struct fe_dev_config *c)
{
	*c = (struct fe_dev_config){
		.socket = o->socket,
		.queues = o->queues,
		.queue_size = (uint16_t)o->queue_size,
		.qd = o->qd,
		.mem_size = o->mem,
		.no_indirect = o->no_indirect,
		.no_event_idx = o->no_event_idx,
		.poll = o->poll,
		.layout = o->layout,
		.timeout_ms = o->timeout_s * 1000,
	};
}

/* Everything between connecting and disconnecting. */
static int bench_session(struct fe_dev *d, const struct fe_opts *o,
			 struct fe_result *res, struct fe_hist *hist)
{
	struct fe_run run = { .dev = d, .opts = o };
	int err, e2;

	err = fe_dev_start(d, bench_data_bytes(o, d), o->buf_offset);
	if (!err)
		err = fe_dev_fuse_init(d);
	if (!err)
		err = bench_check_limits(&run);
	if (!err)
		err = bench_workload(&run, res, hist);
	if (fe_err_fatal(err))
		return err;
	e2 = fe_dev_forget_drain(d);
	if (!e2)
		e2 = fe_dev_fuse_destroy(d);
	return err ? err : e2;
}

static int bench_run(const struct fe_opts *o, struct fe_result *res,
		     struct fe_hist *hist)
{
	struct fe_dev *d = calloc(1, sizeof(*d));
	struct fe_dev_config cfg;
	int err, e2;

	if (!d)
		return -ENOMEM;
	bench_dev_config(o, &cfg);
	err = fe_dev_connect(d, &cfg);
	if (err) {
		free(d);
		return err;
	}
	log_info("bench: features 0x%llx (indirect %d, event_idx %d), protocol "
		 "features 0x%llx", (unsigned long long)d->features, d->indirect,
		 d->event_idx, (unsigned long long)d->protocol_features);
	err = bench_session(d, o, res, hist);
	e2 = fe_dev_stop(d);
	free(d);
	return err ? err : e2;
}

static int bench_parse(struct fe_opts *o, int argc, char **argv)
{
	char msg[256] = "";
	int rc;

	fe_opts_default(o);
	rc = fe_opts_parse(o, argc, argv, msg, sizeof(msg));
	if (rc == 1) {
		fe_opts_usage(stdout);
		return 0;
	}
	if (rc) {
		fprintf(stderr, "vhostfs bench: %s\n", msg);
		fe_opts_usage(stderr);
		return 2;
	}
	return -1;
}

int bench_main(int argc, char **argv)
{
	struct fe_result res = { 0 };
	struct fe_hist *hist;
	struct fe_opts o;
	int rc = bench_parse(&o, argc, argv);

	if (rc >= 0)
		return rc;
	log_set_level(o.log_level);
	fe_fuse_cred_set(&(struct fe_fuse_cred){ .uid = (uint32_t)geteuid(),
						 .gid = (uint32_t)getegid(),
						 .pid = (uint32_t)getpid() });
	hist = calloc(1, sizeof(*hist));
	if (!hist)
		return 1;
	res = (struct fe_result){ .workload = fe_workload_name(o.workload),
				  .bs = o.bs, .qd = o.qd, .queues = o.queues,
				  .daemon_cpu_s = -1, .lat = hist };
	rc = bench_run(&o, &res, hist);
	fe_result_print(stdout, &res, o.json);
	if (rc)
		fprintf(stderr, "vhostfs bench: %s failed: %s\n", res.workload,
			strerror(-rc));
	else if (res.errors || res.mismatches)
		fprintf(stderr, "vhostfs bench: %s: %llu errors, %llu mismatches\n",
			res.workload, (unsigned long long)res.errors,
			(unsigned long long)res.mismatches);
	free(hist);
	return rc || res.errors || res.mismatches ? 1 : 0;
}
