// SPDX-License-Identifier: MIT
/* options.c - table-driven parsing of the bench command line. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/options_internal.h"

enum opt_type {
	OPT_STR,
	OPT_U32,
	OPT_SIZE32,
	OPT_SIZE64,
	OPT_U64,
	OPT_INT,
	OPT_DOUBLE,
	OPT_FLAG,
	OPT_LAYOUT,
	OPT_LOGLEVEL,
};

struct opt_def {
	const char *name;
	enum opt_type type;
	size_t off;
	const char *help;
};

#define OPT(n, t, field, h) { n, t, offsetof(struct fe_opts, field), h }

static const struct opt_def opt_table[] = {
	OPT("socket", OPT_STR, socket, "PATH  vhost-user socket of the daemon"),
	OPT("bs", OPT_SIZE32, bs, "SIZE  bytes per READ/WRITE (4k)"),
	OPT("qd", OPT_U32, qd, "N     requests in flight per queue (1)"),
	OPT("queues", OPT_U32, queues, "N     request queues, one thread each (1)"),
	OPT("runtime", OPT_DOUBLE, runtime, "SEC   measured time (10)"),
	OPT("size", OPT_SIZE64, size, "SIZE  test file size (64M)"),
	OPT("file", OPT_STR, file, "NAME  test file in the share's root"),
	OPT("files", OPT_U32, files, "N     meta, smallfile: files at most (1000)"),
	OPT("ops", OPT_U64, ops, "N     stop after N ops instead of runtime"),
	OPT("seed", OPT_U64, seed, "N     random seed, also in verify data (1)"),
	OPT("json", OPT_FLAG, json, "      one JSON line instead of text"),
	OPT("daemon-pid", OPT_INT, daemon_pid, "PID   also report its CPU time"),
	OPT("queue-size", OPT_U32, queue_size, "N     ring entries (1024)"),
	OPT("mem", OPT_SIZE64, mem, "SIZE  guest RAM (256M, grown to fit)"),
	OPT("buf-offset", OPT_U32, buf_offset, "N     data starts N bytes into a page"),
	OPT("layout", OPT_LAYOUT, layout, "L     linux|joined|scatter descriptors"),
	OPT("poll", OPT_FLAG, poll, "      busy-poll completions (no calls)"),
	OPT("no-indirect", OPT_FLAG, no_indirect, "      refuse INDIRECT_DESC"),
	OPT("no-event-idx", OPT_FLAG, no_event_idx, "      refuse EVENT_IDX"),
	OPT("timeout", OPT_INT, timeout_s, "SEC   a reply later than this fails (30)"),
	OPT("keep", OPT_FLAG, keep, "      keep the test file"),
	OPT("reuse", OPT_FLAG, reuse, "      reuse a test file of the right size"),
	OPT("direct", OPT_FLAG, direct, "      open files O_DIRECT (no page cache)"),
	OPT("log-level", OPT_LOGLEVEL, log_level, "L     error|warn|info|debug"),
};

static const char *const workload_names[] = {
	[FE_WL_SMOKE] = "smoke",         [FE_WL_RANDREAD] = "randread",
	[FE_WL_RANDWRITE] = "randwrite", [FE_WL_SEQREAD] = "seqread",
	[FE_WL_SEQWRITE] = "seqwrite",   [FE_WL_META] = "meta",
	[FE_WL_VERIFY] = "verify",       [FE_WL_SMALLFILE] = "smallfile",
};

const char *fe_workload_name(enum fe_workload w)
{
	if ((unsigned int)w >= sizeof(workload_names) / sizeof(workload_names[0]) ||
	    !workload_names[w])
		return "none";
	return workload_names[w];
}

void fe_opts_default(struct fe_opts *o)
{
	*o = (struct fe_opts){
		.file = "vhostfs-bench.dat",
		.bs = 4096,
		.qd = 1,
		.queues = 1,
		.files = 1000,
		.queue_size = 1024,
		.runtime = 10,
		.size = 64ull << 20,
		.mem = 256ull << 20,
		.seed = 1,
		.timeout_s = 30,
		.log_level = LOG_LEVEL_WARN,
	};
}

void fe_opts_usage(FILE *f)
{
	fprintf(f, "usage: vhostfs bench WORKLOAD --socket PATH [options]\n"
		   "  plays QEMU and the Linux virtio-fs driver against a "
		   "vhost-user-fs daemon\n"
		   "workloads: smoke verify randread randwrite seqread seqwrite "
		   "meta smallfile\n");
	for (size_t i = 0; i < sizeof(opt_table) / sizeof(opt_table[0]); i++)
		fprintf(f, "  --%-13s %s\n", opt_table[i].name, opt_table[i].help);
}

int fe_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned int shift = 0;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if ((*end == 'i' || *end == 'I') && shift)
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end || (shift && v > (ULLONG_MAX >> shift)))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || *end ? -EINVAL : 0;
}

static int parse_layout(const char *s, enum fe_layout *l)
{
	if (!strcmp(s, "linux"))
		*l = FE_LAYOUT_LINUX;
	else if (!strcmp(s, "joined"))
		*l = FE_LAYOUT_JOINED;
	else if (!strcmp(s, "scatter"))
		*l = FE_LAYOUT_SCATTER;
	else
		return -EINVAL;
	return 0;
}

static int opt_store(const struct opt_def *d, struct fe_opts *o, const char *v)
{
	void *p = (char *)o + d->off;
	uint64_t u;
	double dv;
	char *end;

	switch (d->type) {
	case OPT_STR:
		*(const char **)p = v;
		return 0;
	case OPT_U32:
	case OPT_INT:
		if (parse_u64(v, &u) || u > INT_MAX)
			return -EINVAL;
		if (d->type == OPT_U32)
			*(uint32_t *)p = (uint32_t)u;
		else
			*(int *)p = (int)u;
		return 0;
	case OPT_SIZE32:
		if (fe_parse_size(v, &u) || u > UINT32_MAX)
			return -EINVAL;
		*(uint32_t *)p = (uint32_t)u;
		return 0;
	case OPT_SIZE64:
		return fe_parse_size(v, (uint64_t *)p);
	case OPT_U64:
		return parse_u64(v, (uint64_t *)p);
	case OPT_DOUBLE:
		dv = strtod(v, &end);
		if (end == v || *end || !(dv > 0) || dv > 1e7)
			return -EINVAL;
		*(double *)p = dv;
		return 0;
	case OPT_LAYOUT:
		return parse_layout(v, p);
	case OPT_LOGLEVEL:
		return log_level_parse(v, p);
	case OPT_FLAG:
		break;
	}
	return -EINVAL;
}

static const struct opt_def *opt_find(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(opt_table) / sizeof(opt_table[0]); i++)
		if (strlen(opt_table[i].name) == len &&
		    !strncmp(opt_table[i].name, name, len))
			return &opt_table[i];
	return NULL;
}

static int opts_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int opts_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int opts_workload(struct fe_opts *o, const char *name)
{
	for (size_t i = 1; i < sizeof(workload_names) / sizeof(workload_names[0]); i++)
		if (!strcmp(workload_names[i], name)) {
			o->workload = (enum fe_workload)i;
			return 0;
		}
	return -EINVAL;
}

/* Ranges and combinations that can be judged before connecting. */
static int opts_check(const struct fe_opts *o, char *err, size_t errlen)
{
	if (o->workload == FE_WL_NONE)
		return opts_fail(err, errlen, "no workload given");
	if (!o->socket)
		return opts_fail(err, errlen, "--socket is required");
	if (o->bs == 0 || o->bs > (16u << 20))
		return opts_fail(err, errlen, "--bs must be 1..16M");
	if (o->qd == 0 || o->qd > 1024)
		return opts_fail(err, errlen, "--qd must be 1..1024");
	if (o->queues == 0 || o->queues > 64)
		return opts_fail(err, errlen, "--queues must be 1..64");
	if (o->queue_size < 2 || o->queue_size > 32768 ||
	    (o->queue_size & (o->queue_size - 1)))
		return opts_fail(err, errlen,
				 "--queue-size must be a power of two 2..32768");
	if (o->buf_offset >= FE_PAGE_SIZE)
		return opts_fail(err, errlen, "--buf-offset must be below 4096");
	if (o->size < o->bs)
		return opts_fail(err, errlen, "--size must be at least --bs");
	if (o->workload == FE_WL_VERIFY && (o->bs % 16 || o->reuse))
		return opts_fail(err, errlen, "verify needs --bs a multiple of "
					      "16 and no --reuse");
	if ((o->workload == FE_WL_META || o->workload == FE_WL_SMALLFILE) &&
	    o->files == 0)
		return opts_fail(err, errlen, "--files must be at least 1");
	if (o->timeout_s <= 0)
		return opts_fail(err, errlen, "--timeout must be positive");
	return 0;
}

static int opts_one(struct fe_opts *o, int argc, char **argv, int *i,
		    char *err, size_t errlen)
{
	const char *arg = argv[*i] + 2;
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	const struct opt_def *d = opt_find(arg, len);
	const char *val;

	if (!d)
		return opts_fail(err, errlen, "unknown option %s", argv[*i]);
	if (d->type == OPT_FLAG) {
		if (eq)
			return opts_fail(err, errlen, "--%s takes no value",
					 d->name);
		*(bool *)((char *)o + d->off) = true;
		return 0;
	}
	if (eq)
		val = eq + 1;
	else if (*i + 1 < argc)
		val = argv[++*i];
	else
		return opts_fail(err, errlen, "--%s needs a value", d->name);
	if (opt_store(d, o, val))
		return opts_fail(err, errlen, "bad value for --%s: '%s'",
				 d->name, val);
	return 0;
}

int fe_opts_parse(struct fe_opts *o, int argc, char **argv, char *err,
		  size_t errlen)
{
	for (int i = 1; i < argc; i++) {
		int rc;

		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
		if (!strncmp(argv[i], "--", 2)) {
			rc = opts_one(o, argc, argv, &i, err, errlen);
			if (rc)
				return rc;
			continue;
		}
		if (o->workload != FE_WL_NONE)
			return opts_fail(err, errlen, "more than one workload: %s",
					 argv[i]);
		if (opts_workload(o, argv[i]))
			return opts_fail(err, errlen, "unknown workload '%s'",
					 argv[i]);
	}
	return opts_check(o, err, errlen);
}
