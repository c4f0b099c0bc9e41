// SPDX-License-Identifier: MIT
/*
 * cmd_bench_blob.c - `vhostfs bench-blob`: blob-level I/O throughput on an
 * image file, the blobstore half of bench/blob (fio is the other half).
 *
 * --prepare gives one thick blob all the data clusters of a freshly made
 * store and writes every byte of it, so that the blob covers exactly the
 * store's data region - the region fio is pointed at - with real data
 * (no unwritten extents in the file).  Each block is tagged with its blob
 * offset; reading a few tags back from the file with pread proves that
 * blob offset X is file offset data_start + X.
 *
 * A run keeps QD requests in flight on one reactor thread (one channel,
 * O_DIRECT io_uring device), random or sequential, bs-aligned, for a ramp
 * then a measured time, and prints one JSON line: IOPS, MiB/s, mean
 * latency, and the process's CPU time (user + system, all its threads,
 * io_uring workers included) per I/O.  Nothing is allocated per I/O.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cmd_blob_common.h"
#include "cmd_blob.h"

#define BB_CMD "vhostfs bench-blob"
#define BB_FILL_BS (1u << 20)
#define BB_FILL_QD 4u
#define BB_QD_MAX 1024u
#define BB_TAG_MAGIC 0x6262656e63684242ull /* "BBhcneb" */

enum bb_rw { BB_RANDREAD, BB_RANDWRITE, BB_READ, BB_WRITE };

static const char *const bb_rw_names[] = {
	[BB_RANDREAD] = "randread", [BB_RANDWRITE] = "randwrite",
	[BB_READ] = "read", [BB_WRITE] = "write",
};

struct bb_args {
	const char *path;
	bool prepare;
	enum bb_rw rw;
	bool rw_set;
	uint64_t bs;
	uint64_t qd;
	uint64_t runtime_s;
	uint64_t ramp_s;
	uint64_t blob_id;
};

struct bb;

struct bb_slot {
	struct blob_io io;      /* first: the blob request */
	struct iovec iov;
	uint64_t start_ns;
	struct bb *b;
};

struct bb {
	struct bt t;
	const struct bb_args *a;
	struct blob *blob;
	struct blob_channel *ch;
	uint64_t id;
	uint64_t length;        /* bytes of the blob */
	uint64_t region_off;    /* where the blob lies in the image */
	struct bb_slot *slots;
	unsigned char *bufs;
	unsigned int nslots;
	unsigned int inflight;
	uint64_t next_off;      /* sequential cursor */
	uint64_t rng;
	bool write;
	bool random;
	bool stopping;
	int err;
	/* measurement */
	bool measuring;
	uint64_t t_measure, t_end;
	uint64_t ios, bytes, lat_sum_ns;
	uint64_t cpu_start_us;  /* process CPU time when measuring began */
	uint64_t fill_left;     /* --prepare: bytes not yet submitted */
};

/* --- arguments ------------------------------------------------------------ */

static void bb_usage(FILE *f)
{
	fputs("usage: vhostfs bench-blob IMAGE --prepare\n"
	      "       vhostfs bench-blob IMAGE --rw MODE --bs SIZE --qd N "
	      "[--runtime S] [--ramp S]\n"
	      "Blob-level I/O benchmark on a store made by vhostfs mkfs "
	      "(bench/blob runs\nit against fio).  O_DIRECT, one reactor "
	      "thread.\n\n"
	      "  --prepare        create one thick blob over all data clusters "
	      "of an\n"
	      "                   empty store and write all of it\n"
	      "  --rw MODE        randread, randwrite, read or write "
	      "(sequential)\n"
	      "  --bs SIZE        request size, a multiple of the io unit\n"
	      "  --qd N           requests in flight (1..1024)\n"
	      "  --runtime S      measured seconds (default 10)\n"
	      "  --ramp S         seconds run before measuring (default 1)\n"
	      "  --blob ID        the blob (default: the store's first)\n\n"
	      "Prints one JSON line.  Exit status: 0, 1 failed, 2 bad "
	      "arguments.\n", f);
}

enum { OPT_PREPARE = 256, OPT_RW, OPT_BS, OPT_QD, OPT_RUNTIME, OPT_RAMP,
       OPT_BLOB };

static const struct option bb_longopts[] = {
	{ "prepare", no_argument, NULL, OPT_PREPARE },
	{ "rw", required_argument, NULL, OPT_RW },
	{ "bs", required_argument, NULL, OPT_BS },
	{ "qd", required_argument, NULL, OPT_QD },
	{ "runtime", required_argument, NULL, OPT_RUNTIME },
	{ "ramp", required_argument, NULL, OPT_RAMP },
	{ "blob", required_argument, NULL, OPT_BLOB },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int bb_opt_rw(const char *v, struct bb_args *a)
{
	for (size_t i = 0; i < sizeof(bb_rw_names) / sizeof(bb_rw_names[0]);
	     i++) {
		if (strcmp(v, bb_rw_names[i]) == 0) {
			a->rw = (enum bb_rw)i;
			a->rw_set = true;
			return 0;
		}
	}
	return bt_usage(BB_CMD, "--rw '%s': randread, randwrite, read or "
			"write", v);
}

static int bb_opt(int c, const char *v, struct bb_args *a)
{
	switch (c) {
	case OPT_PREPARE:
		a->prepare = true;
		return 0;
	case OPT_RW:
		return bb_opt_rw(v, a);
	case OPT_BS:
		if (bt_parse_size(v, &a->bs) < 0 || a->bs == 0 ||
		    a->bs % 512 || a->bs > (64u << 20))
			return bt_usage(BB_CMD, "--bs '%s': multiples of 512 "
					"up to 64M", v);
		return 0;
	case OPT_QD:
		if (bt_parse_u64(v, 1, BB_QD_MAX, &a->qd) < 0)
			return bt_usage(BB_CMD, "--qd '%s': 1 .. %u", v,
					BB_QD_MAX);
		return 0;
	case OPT_RUNTIME:
	case OPT_RAMP:
		if (bt_parse_u64(v, c == OPT_RAMP ? 0 : 1, 3600,
				 c == OPT_RAMP ? &a->ramp_s : &a->runtime_s) <
		    0)
			return bt_usage(BB_CMD, "%s '%s': seconds, up to 3600",
					c == OPT_RAMP ? "--ramp" : "--runtime",
					v);
		return 0;
	case OPT_BLOB:
		if (bt_parse_u64(v, 1, UINT64_MAX, &a->blob_id) < 0)
			return bt_usage(BB_CMD, "--blob '%s': a blob id", v);
		return 0;
	}
	return bt_opt_error(BB_CMD, c, v);
}

static int bb_parse_args(int argc, char *argv[], struct bb_args *a)
{
	int c, rc;

	a->runtime_s = 10;
	a->ramp_s = 1;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", bb_longopts, NULL)) != -1) {
		if (c == 'h') {
			bb_usage(stdout);
			return 1;
		}
		rc = bb_opt(c, bt_optarg(c, argv), a);
		if (rc)
			return rc;
	}
	if (optind + 1 != argc)
		return bt_usage(BB_CMD, "give exactly one IMAGE");
	a->path = argv[optind];
	if (!a->prepare && (!a->rw_set || !a->bs || !a->qd))
		return bt_usage(BB_CMD, "give --prepare, or --rw, --bs and "
				"--qd");
	return 0;
}

/* --- store helpers -------------------------------------------------------- */

static int bb_md(struct bb *b, struct bt_wait *w, const char *what)
{
	int rc = bt_wait(&b->t, w);

	if (rc < 0)
		bt_err(&b->t, "%s: %s", what, bt_strerror(rc));
	return rc;
}

static int bb_find_blob(struct bb *b)
{
	struct bt_wait w = { 0 };
	size_t n = 0;

	if (b->a->blob_id) {
		b->id = b->a->blob_id;
		return 0;
	}
	blob_list(b->t.bs, BLOB_ID_NONE, &b->id, 1, &n, bt_wait_cb, &w);
	if (bb_md(b, &w, "listing blobs") < 0)
		return -EIO;
	if (n == 0) {
		bt_err(&b->t, "%s holds no blob: run --prepare first",
		       b->t.path);
		return -ENOENT;
	}
	return 0;
}

static int bb_open_blob(struct bb *b)
{
	struct blob_store_info i;
	struct bt_wait w = { 0 };
	int rc;

	blob_open(b->t.bs, b->id, &b->blob, bt_wait_cb, &w);
	if (bb_md(b, &w, "opening the blob") < 0) {
		b->blob = NULL;
		return -EIO;
	}
	blob_store_info_get(b->t.bs, &i);
	b->length = blob_get_clusters(b->blob) * i.cluster_size;
	b->region_off = (i.cluster_count - i.data_clusters) * i.cluster_size;
	rc = blob_channel_create(b->t.bs, b->t.r, &b->ch);
	if (rc < 0) {
		b->ch = NULL;
		bt_err(&b->t, "blob channel: %s", strerror(-rc));
	}
	return rc;
}

static int bb_close_blob(struct bb *b)
{
	struct bt_wait w = { 0 };
	int rc = 0;

	if (b->ch && blob_channel_destroy(b->ch) < 0)
		rc = -EBUSY;
	b->ch = NULL;
	if (b->blob) {
		blob_close(b->blob, bt_wait_cb, &w);
		if (bb_md(b, &w, "closing the blob") < 0)
			rc = -EIO;
	}
	b->blob = NULL;
	return rc;
}

/* --- slots and offsets ---------------------------------------------------- */

static int bb_slots_alloc(struct bb *b, unsigned int n, uint64_t bs)
{
	void *mem;

	if (posix_memalign(&mem, 4096, (size_t)n * bs) != 0)
		return -ENOMEM;
	b->bufs = mem;
	b->slots = calloc(n, sizeof(*b->slots));
	if (!b->slots)
		return -ENOMEM;
	b->nslots = n;
	for (unsigned int i = 0; i < n; i++) {
		b->slots[i].b = b;
		b->slots[i].iov.iov_base = b->bufs + (size_t)i * bs;
		b->slots[i].iov.iov_len = bs;
	}
	/* written data: not zeros, not compressible to nothing */
	for (size_t k = 0; k < (size_t)n * bs / 8; k++)
		((uint64_t *)mem)[k] = k * 0x9e3779b97f4a7c15ull;
	return 0;
}

static void bb_slots_free(struct bb *b)
{
	free(b->slots);
	free(b->bufs);
	b->slots = NULL;
	b->bufs = NULL;
}

/* xorshift64*: cheap, good enough to spread requests. */
static uint64_t bb_rand(struct bb *b)
{
	b->rng ^= b->rng >> 12;
	b->rng ^= b->rng << 25;
	b->rng ^= b->rng >> 27;
	return b->rng * 0x2545f4914f6cdd1dull;
}

static uint64_t bb_next_off(struct bb *b, uint64_t bs)
{
	uint64_t off;

	if (b->random)
		return bb_rand(b) % (b->length / bs) * bs;
	off = b->next_off;
	b->next_off = off + 2 * bs > b->length ? 0 : off + bs;
	return off;
}

/* --- the run -------------------------------------------------------------- */

static uint64_t bb_cpu_us(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static void bb_io_cpl(void *arg, int err);

static void bb_submit(struct bb_slot *s)
{
	struct bb *b = s->b;
	uint64_t off = bb_next_off(b, s->iov.iov_len);

	b->inflight++;
	s->start_ns = bt_now_ns();
	if (b->write)
		blob_writev(b->ch, b->blob, &s->io, &s->iov, 1, off, bb_io_cpl,
			    s);
	else
		blob_readv(b->ch, b->blob, &s->io, &s->iov, 1, off, bb_io_cpl,
			   s);
}

static void bb_io_cpl(void *arg, int err)
{
	struct bb_slot *s = arg;
	struct bb *b = s->b;
	uint64_t now = bt_now_ns();

	b->inflight--;
	if (err < 0 && !b->err)
		b->err = err;
	if (b->err || now >= b->t_end) {
		b->stopping = true;
		return;
	}
	if (!b->measuring && now >= b->t_measure) {
		b->measuring = true;
		b->t_measure = now;
		b->cpu_start_us = bb_cpu_us();
	}
	if (b->measuring) {
		b->ios++;
		b->bytes += s->iov.iov_len;
		b->lat_sum_ns += now - s->start_ns;
	}
	bb_submit(s);
}

static int bb_loop(struct bb *b)
{
	while (b->inflight) {
		int rc = reactor_run_once(b->t.r, 100);

		if (rc < 0)
			return rc;
	}
	return b->err;
}

static void bb_print(const struct bb *b, uint64_t end, uint64_t cpu_us)
{
	double sec = (double)(end - b->t_measure) / 1e9;
	double ios = b->ios ? (double)b->ios : 1;

	printf("{\"rw\": \"%s\", \"bs\": %" PRIu64 ", \"qd\": %u, "
	       "\"seconds\": %.3f, \"ios\": %" PRIu64 ", \"iops\": %.0f, "
	       "\"mib_s\": %.1f, \"lat_us\": %.1f, \"cpu_us_per_io\": %.2f, "
	       "\"blob\": \"%#" PRIx64 "\", \"offset\": %" PRIu64
	       ", \"length\": %" PRIu64 "}\n",
	       bb_rw_names[b->a->rw], b->a->bs, b->nslots, sec, b->ios,
	       sec > 0 ? (double)b->ios / sec : 0,
	       sec > 0 ? (double)b->bytes / sec / 1048576 : 0,
	       (double)b->lat_sum_ns / ios / 1000,
	       (double)(cpu_us - b->cpu_start_us) / ios, b->id, b->region_off,
	       b->length);
}

static int bb_measure(struct bb *b)
{
	const struct bb_args *a = b->a;
	uint64_t start = bt_now_ns(), end;
	int rc;

	if (a->bs % blob_store_io_unit(b->t.bs) || a->bs > b->length) {
		bt_err(&b->t, "--bs %" PRIu64 ": a multiple of the io unit "
		       "(%u) up to the blob's size", a->bs,
		       blob_store_io_unit(b->t.bs));
		return -EINVAL;
	}
	if (bb_slots_alloc(b, (unsigned int)a->qd, a->bs) < 0)
		return -ENOMEM;
	b->write = a->rw == BB_RANDWRITE || a->rw == BB_WRITE;
	b->random = a->rw == BB_RANDREAD || a->rw == BB_RANDWRITE;
	b->rng = start | 1;
	b->t_measure = start + a->ramp_s * 1000000000ull;
	b->t_end = b->t_measure + a->runtime_s * 1000000000ull;
	for (unsigned int i = 0; i < b->nslots; i++)
		bb_submit(&b->slots[i]);
	rc = bb_loop(b);
	end = bt_now_ns();
	if (rc < 0)
		bt_err(&b->t, "I/O failed: %s", strerror(-rc));
	else
		bb_print(b, end < b->t_end ? end : b->t_end, bb_cpu_us());
	return rc;
}

/* --- prepare -------------------------------------------------------------- */

static void bb_fill_cpl(void *arg, int err);

/* Tag each 4 KiB block with its blob offset, then write the buffer. */
static void bb_fill_submit(struct bb_slot *s)
{
	struct bb *b = s->b;
	uint64_t off = b->length - b->fill_left;
	size_t len = s->iov.iov_len;

	for (size_t k = 0; k < len; k += 4096) {
		uint64_t *tag = (uint64_t *)((unsigned char *)s->iov.iov_base +
					     k);

		tag[0] = BB_TAG_MAGIC;
		tag[1] = off + k;
	}
	b->fill_left -= len;
	b->inflight++;
	blob_writev(b->ch, b->blob, &s->io, &s->iov, 1, off, bb_fill_cpl, s);
}

static void bb_fill_cpl(void *arg, int err)
{
	struct bb_slot *s = arg;
	struct bb *b = s->b;

	b->inflight--;
	if (err < 0 && !b->err)
		b->err = err;
	if (!b->err && b->fill_left)
		bb_fill_submit(s);
}

/* Blob offset X must be at file offset region_off + X. */
static int bb_verify_region(struct bb *b)
{
	uint64_t probe[3] = { 0, b->length / 2 / 4096 * 4096,
			      b->length - 4096 };
	uint64_t tag[2];
	int fd = open(b->t.path, O_RDONLY | O_CLOEXEC);
	int rc = fd < 0 ? -errno : 0;

	for (int i = 0; rc == 0 && i < 3; i++) {
		if (pread(fd, tag, sizeof(tag),
			  (off_t)(b->region_off + probe[i])) !=
			    (ssize_t)sizeof(tag) ||
		    tag[0] != BB_TAG_MAGIC || tag[1] != probe[i])
			rc = -EXDEV;
	}
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		bt_err(&b->t, "the blob is not laid out over the data region "
		       "in order (%s)", strerror(-rc));
	return rc;
}

static int bb_create(struct bb *b)
{
	struct blob_create_opts o = { 0 };
	struct blob_store_info i;
	struct bt_wait w = { 0 };

	blob_store_info_get(b->t.bs, &i);
	if (i.blobs || i.free_clusters != i.data_clusters) {
		bt_err(&b->t, "%s is not an empty store: run vhostfs mkfs "
		       "--force first", b->t.path);
		return -EEXIST;
	}
	o.clusters = i.free_clusters;
	bt_progress_begin(&b->t, "creating the blob", 0);
	blob_create(b->t.bs, &o, &b->id, bt_wait_cb, &w);
	return bb_md(b, &w, "creating the blob");
}

static int bb_fill(struct bb *b)
{
	struct bt_wait w = { 0 };
	int rc;

	if (bb_slots_alloc(b, BB_FILL_QD, BB_FILL_BS) < 0)
		return -ENOMEM;
	b->fill_left = b->length / BB_FILL_BS * BB_FILL_BS;
	bt_progress_begin(&b->t, "filling the blob", b->fill_left);
	for (unsigned int i = 0; i < b->nslots && b->fill_left; i++)
		bb_fill_submit(&b->slots[i]);
	rc = bb_loop(b);
	bt_progress_end(&b->t);
	if (rc < 0) {
		bt_err(&b->t, "writing the blob failed: %s", strerror(-rc));
		return rc;
	}
	blob_sync(b->blob, bt_wait_cb, &w);
	rc = bb_md(b, &w, "syncing the blob");
	return rc < 0 ? rc : bb_verify_region(b);
}

static int bb_prepare(struct bb *b)
{
	int rc = bb_create(b);

	if (rc == 0)
		rc = bb_open_blob(b);
	if (rc == 0)
		rc = bb_fill(b);
	if (rc == 0)
		printf("{\"blob\": \"%#" PRIx64 "\", \"offset\": %" PRIu64
		       ", \"length\": %" PRIu64 "}\n", b->id, b->region_off,
		       b->length);
	return rc;
}

/* --- entry ---------------------------------------------------------------- */

static int bb_run(const struct bb_args *a)
{
	struct bb b = { .a = a };
	int rc, rc2;

	if (bt_open(&b.t, BB_CMD, a->path, 0, BDEV_URING_DIRECT_ON,
		    BT_LOCK_EXCLUSIVE) < 0)
		return 1;
	rc = bt_load(&b.t, false);
	if (rc < 0) {
		bt_err(&b.t, "cannot load the store on %s: %s", a->path,
		       bt_strerror(rc));
		bt_close(&b.t);
		return 1;
	}
	if (a->prepare) {
		rc = bb_prepare(&b);
	} else {
		rc = bb_find_blob(&b);
		if (rc == 0)
			rc = bb_open_blob(&b);
		if (rc == 0)
			rc = bb_measure(&b);
	}
	rc2 = bb_close_blob(&b);
	bb_slots_free(&b);
	if (bt_unload(&b.t) < 0 || rc2 < 0)
		rc = rc < 0 ? rc : -EIO;
	bt_close(&b.t);
	return rc < 0 ? 1 : 0;
}

int cmd_bench_blob(int argc, char *argv[])
{
	struct bb_args a = { 0 };
	int rc = bb_parse_args(argc, argv, &a);

	if (rc)
		return rc == 1 ? 0 : rc;
	return bb_run(&a);
}
