/* SPDX-License-Identifier: MIT */
/* options_internal.h - the command line of `vhostfs bench`. */
#ifndef VHOSTFS_FE_OPTIONS_INTERNAL_H
#define VHOSTFS_FE_OPTIONS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "frontend/fuse_req_internal.h"
#include "vhostfs/log.h"

enum fe_workload {
	FE_WL_NONE = 0,
	FE_WL_SMOKE,
	FE_WL_RANDREAD,
	FE_WL_RANDWRITE,
	FE_WL_SEQREAD,
	FE_WL_SEQWRITE,
	FE_WL_META,
	FE_WL_VERIFY,
	FE_WL_SMALLFILE,
};

struct fe_opts {
	enum fe_workload workload;
	const char *socket;
	const char *file;      /* test file name in the shared root */
	uint32_t bs;           /* bytes per READ/WRITE */
	uint32_t qd;           /* requests in flight per request queue */
	uint32_t queues;       /* request queues (threads) */
	uint32_t files;        /* meta, smallfile: files per run at most */
	uint32_t queue_size;   /* ring entries */
	uint32_t buf_offset;   /* data starts this far into its first page */
	double runtime;        /* seconds of measurement */
	uint64_t size;         /* test file size */
	uint64_t mem;          /* guest RAM size (grown to fit buffers) */
	uint64_t ops;          /* stop after this many ops (0: runtime) */
	uint64_t seed;
	int daemon_pid;        /* 0: not measured */
	int timeout_s;         /* per request and per vhost-user reply */
	bool json;
	bool poll;             /* busy-poll used rings instead of calls */
	bool no_indirect;
	bool no_event_idx;
	bool keep;             /* leave the test file behind */
	bool reuse;            /* reuse a test file of the right size */
	bool direct;           /* open files with O_DIRECT */
	enum fe_layout layout;
	enum log_level log_level;
};

void fe_opts_default(struct fe_opts *o);

/*
 * Parse argv[1..argc) (argv[0] is the program or subcommand name).
 * Returns 0, 1 when help was asked for, or -EINVAL with a message in @err.
 * Checks ranges and combinations that do not need the daemon.
 */
int fe_opts_parse(struct fe_opts *o, int argc, char **argv, char *err,
		  size_t errlen);

/* "4096", "4k", "128K", "1m", "2G" (binary units). */
int fe_parse_size(const char *s, uint64_t *out);

const char *fe_workload_name(enum fe_workload w);
void fe_opts_usage(FILE *f);

#endif /* VHOSTFS_FE_OPTIONS_INTERNAL_H */
