/* SPDX-License-Identifier: MIT */
/*
 * stats_internal.h - latency histograms, CPU accounting, the result line.
 *
 * The histogram is log-linear (16 buckets per power of two: <= 6.25 %
 * error), a fixed array per thread: recording is an index computation and
 * an increment, merging is a loop after the run.
 */
#ifndef VHOSTFS_FE_STATS_INTERNAL_H
#define VHOSTFS_FE_STATS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define FE_HIST_SUB_BITS 4u
#define FE_HIST_SUB (1u << FE_HIST_SUB_BITS)
#define FE_HIST_BUCKETS (64u * FE_HIST_SUB)

struct fe_hist {
	uint64_t count;
	uint64_t sum;
	uint64_t max;
	uint64_t b[FE_HIST_BUCKETS];
};

static inline unsigned int fe_hist_index(uint64_t v)
{
	unsigned int msb;

	if (v < FE_HIST_SUB)
		return (unsigned int)v;
	msb = 63u - (unsigned int)__builtin_clzll(v);
	return (msb - FE_HIST_SUB_BITS + 1) * FE_HIST_SUB +
	       (unsigned int)((v >> (msb - FE_HIST_SUB_BITS)) & (FE_HIST_SUB - 1));
}

static inline void fe_hist_add(struct fe_hist *h, uint64_t v)
{
	h->b[fe_hist_index(v)]++;
	h->count++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

/* Smallest value that falls into bucket @i, and the bucket's width. */
uint64_t fe_hist_bucket_low(unsigned int i);
uint64_t fe_hist_bucket_width(unsigned int i);
void fe_hist_merge(struct fe_hist *dst, const struct fe_hist *src);
/* Value at quantile @q (0..1): the middle of its bucket (the maximum for
 * q >= 1); 0 if empty. */
uint64_t fe_hist_quantile(const struct fe_hist *h, double q);

/* CPU seconds (user + system) of this process. */
double fe_cpu_self(void);
/*
 * CPU seconds of process @pid and all its descendants (a daemon that forks
 * into a sandbox, like the C virtiofsd, does its work in a child).  -1 when
 * @pid does not exist.
 */
double fe_cpu_tree(pid_t pid);
/* utime + stime in clock ticks from the text of /proc/PID/stat; -1 if
 * malformed.  (Exposed for tests: the command name may hold spaces and
 * parentheses.) */
long long fe_cpu_parse_stat(const char *text);

struct fe_result {
	const char *workload;
	uint32_t bs, qd, queues;
	double seconds;
	uint64_t ops;
	uint64_t bytes;
	uint64_t errors;
	const struct fe_hist *lat;
	double cpu_s;
	double daemon_cpu_s; /* < 0: not measured */
	uint64_t files;      /* meta: files taken through the cycle */
	uint64_t verified;   /* verify: blocks compared */
	uint64_t mismatches; /* verify */
	uint64_t kicks, calls;
};

void fe_result_print(FILE *f, const struct fe_result *r, bool json);

#endif /* VHOSTFS_FE_STATS_INTERNAL_H */
