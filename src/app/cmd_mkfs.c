// SPDX-License-Identifier: MIT
/*
 * cmd_mkfs.c - `vhostfs mkfs IMAGE`: format an image file or a block device
 * as a blobstore (docs/FORMAT.md, "Format") and make the file system
 * "main" in it (vimage_create), so that the image is ready to serve;
 * --no-fs leaves the bare store (the blob-level tests and bench-blob).
 *
 * A missing image file is created sparse, a smaller one grown (never
 * shrunk); a block device is used whole.  An image that already holds a
 * vhostfs super block is formatted only with --force.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd_blob_common.h"
#include "cmd_blob.h"
#include "cmd_fs_common.h"

#define MKFS_CMD "vhostfs mkfs"

struct mkfs_args {
	const char *path;
	uint64_t size;        /* 0: the image's current size */
	uint32_t block_size;  /* 0: the device's (4096 for files) */
	struct blob_store_opts opts;
	bool force;
	bool quiet;
	bool no_fs;
};

static void mkfs_usage(FILE *f)
{
	fputs("usage: vhostfs mkfs IMAGE [--size SIZE] [options]\n"
	      "Format IMAGE (a file, created sparse or grown to SIZE, or a "
	      "block device)\nas a vhostfs blobstore holding one empty file "
	      "system, main, ready to\nserve (vhostfsd --image IMAGE) or to "
	      "fill (vhostfs import).\n\n"
	      "  --size SIZE          size of the image file (16G, 512M, ...); "
	      "needed to\n"
	      "                       create one; a block device is used "
	      "whole\n"
	      "  --cluster-size N     allocation unit, a power of two from 4K "
	      "to 1G\n"
	      "                       (default 1M)\n"
	      "  --block-size N       io unit, 512 or 4096 (default: the "
	      "device's; 4096\n"
	      "                       for files)\n"
	      "  --md-pages N         metadata pages, at least one per blob "
	      "(default: one\n"
	      "                       per cluster, at most one per 64 KiB)\n"
	      "  --journal-pages N    journal size in 4 KiB pages (default: "
	      "from md pages)\n"
	      "  --max-size SIZE      size the image may grow to later "
	      "(default: SIZE)\n"
	      "  --force              format even if IMAGE holds a vhostfs "
	      "store\n"
	      "  --no-fs              only the blobstore, no file system\n"
	      "  -q, --quiet          print nothing on success\n"
	      "  -h, --help           show this help\n\n"
	      "Exit status: 0 formatted, 1 failed, 2 bad arguments.\n", f);
}

/* --- arguments ------------------------------------------------------------ */

enum { OPT_SIZE = 256, OPT_CLUSTER, OPT_BLOCK, OPT_MD, OPT_JOURNAL,
       OPT_MAX, OPT_FORCE, OPT_NO_FS };

static const struct option mkfs_longopts[] = {
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "cluster-size", required_argument, NULL, OPT_CLUSTER },
	{ "block-size", required_argument, NULL, OPT_BLOCK },
	{ "md-pages", required_argument, NULL, OPT_MD },
	{ "journal-pages", required_argument, NULL, OPT_JOURNAL },
	{ "max-size", required_argument, NULL, OPT_MAX },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "no-fs", no_argument, NULL, OPT_NO_FS },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int mkfs_opt_cluster(const char *v, struct mkfs_args *a)
{
	uint64_t cs;

	if (bt_parse_size(v, &cs) < 0 || cs < 4096 || cs > (1u << 30) ||
	    (cs & (cs - 1)))
		return bt_usage(MKFS_CMD, "--cluster-size '%s': a power of two "
			       "from 4K to 1G", v);
	a->opts.cluster_size = (uint32_t)cs;
	return 0;
}

static int mkfs_opt(int c, const char *v, struct mkfs_args *a)
{
	uint64_t n;

	switch (c) {
	case OPT_SIZE:
		if (bt_parse_size(v, &a->size) < 0 || a->size == 0)
			return bt_usage(MKFS_CMD, "--size '%s': a size like "
				       "16G, 512M or 1048576", v);
		return 0;
	case OPT_CLUSTER:
		return mkfs_opt_cluster(v, a);
	case OPT_BLOCK:
		if (strcmp(v, "512") != 0 && strcmp(v, "4096") != 0)
			return bt_usage(MKFS_CMD, "--block-size '%s': 512 or "
				       "4096", v);
		a->block_size = (uint32_t)atoi(v);
		return 0;
	case OPT_MD:
		if (bt_parse_u64(v, 16, 1u << 31, &n) < 0)
			return bt_usage(MKFS_CMD, "--md-pages '%s': 16 .. "
				       "2147483648", v);
		a->opts.md_pages = (uint32_t)n;
		return 0;
	case OPT_JOURNAL:
		if (bt_parse_u64(v, 8, 16384, &n) < 0)
			return bt_usage(MKFS_CMD, "--journal-pages '%s': 8 .. "
				       "16384", v);
		a->opts.journal_pages = (uint32_t)n;
		return 0;
	case OPT_MAX:
		if (bt_parse_size(v, &a->opts.max_size) < 0)
			return bt_usage(MKFS_CMD, "--max-size '%s': a size "
				       "like 64G", v);
		return 0;
	case OPT_FORCE:
		a->force = true;
		return 0;
	case OPT_NO_FS:
		a->no_fs = true;
		return 0;
	case 'q':
		a->quiet = true;
		return 0;
	}
	return bt_opt_error(MKFS_CMD, c, v);
}

/* 0, 1 when the help was asked for, or an exit status (> 1). */
static int mkfs_parse(int argc, char *argv[], struct mkfs_args *a)
{
	int c, rc;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":qh", mkfs_longopts, NULL)) !=
	       -1) {
		if (c == 'h') {
			mkfs_usage(stdout);
			return 1;
		}
		rc = mkfs_opt(c, bt_optarg(c, argv), a);
		if (rc)
			return rc;
	}
	if (optind >= argc)
		return bt_usage(MKFS_CMD, "no IMAGE given");
	if (optind + 1 < argc)
		return bt_usage(MKFS_CMD, "one IMAGE only ('%s' is extra)",
				argv[optind + 1]);
	a->path = argv[optind];
	return 0;
}

/* --- the image ------------------------------------------------------------ */

/* An image that holds a store is formatted again only with --force. */
static int mkfs_check_existing(const struct mkfs_args *a, const char *path)
{
	struct bt_probe p;
	int rc = bt_probe_image(path, &p);

	if (rc < 0) {
		fprintf(stderr, MKFS_CMD ": cannot read %s: %s\n", path,
			strerror(-rc));
		return rc;
	}
	if (p.magic && !a->force) {
		fprintf(stderr, MKFS_CMD ": %s already holds a vhostfs "
			"blobstore; use --force to format it anyway\n", path);
		return -EEXIST;
	}
	return 0;
}

static int mkfs_create_file(const struct mkfs_args *a, bool *created)
{
	int fd;

	if (!a->size) {
		fprintf(stderr, MKFS_CMD ": %s does not exist: give --size to "
			"create it\n", a->path);
		return -ENOENT;
	}
	fd = open(a->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)a->size) < 0) {
		int err = errno;

		fprintf(stderr, MKFS_CMD ": cannot create %s: %s\n", a->path,
			strerror(err));
		if (fd >= 0) {
			close(fd);
			unlink(a->path);
		}
		return -err;
	}
	close(fd);
	*created = true;
	return 0;
}

/* Grow a regular file to --size (sparse); never shrink it. */
static int mkfs_size_file(const struct mkfs_args *a, const struct stat *st)
{
	char have[32], want[32];

	if (!a->size || (uint64_t)st->st_size == a->size)
		return 0;
	if ((uint64_t)st->st_size > a->size) {
		fprintf(stderr, MKFS_CMD ": %s is %s, larger than --size %s "
			"(mkfs does not shrink files)\n", a->path,
			bt_size_str((uint64_t)st->st_size, have, sizeof(have)),
			bt_size_str(a->size, want, sizeof(want)));
		return -EFBIG;
	}
	if (truncate(a->path, (off_t)a->size) < 0) {
		fprintf(stderr, MKFS_CMD ": cannot grow %s to %s: %s\n",
			a->path, bt_size_str(a->size, want, sizeof(want)),
			strerror(errno));
		return -errno;
	}
	return 0;
}

static int mkfs_prepare(const struct mkfs_args *a, bool *created)
{
	struct bt_probe p;
	struct stat st;
	char sz[32];
	int rc;

	if (stat(a->path, &st) < 0) {
		if (errno == ENOENT)
			return mkfs_create_file(a, created);
		fprintf(stderr, MKFS_CMD ": %s: %s\n", a->path,
			strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		fprintf(stderr, MKFS_CMD ": %s is not a regular file or a "
			"block device\n", a->path);
		return -EINVAL;
	}
	rc = mkfs_check_existing(a, a->path);
	if (rc < 0 || S_ISREG(st.st_mode))
		return rc < 0 ? rc : mkfs_size_file(a, &st);
	rc = bt_probe_image(a->path, &p);
	if (rc == 0 && a->size && a->size != p.file_bytes) {
		fprintf(stderr, MKFS_CMD ": %s is a block device of %s: it is "
			"used whole, drop --size\n", a->path,
			bt_size_str(p.file_bytes, sz, sizeof(sz)));
		return -EINVAL;
	}
	return rc;
}

/* --- format --------------------------------------------------------------- */

static void mkfs_report(struct bt *t, const struct mkfs_args *a)
{
	struct blob_store_info i;
	char dev[32], cl[32];

	blob_store_info_get(t->bs, &i);
	if (a->quiet)
		return;
	fprintf(t->out, "%s: formatted %s: %" PRIu64 " data clusters of %s, "
		"%u metadata pages, io unit %u bytes\n", a->path,
		bt_size_str(i.cluster_count * i.cluster_size, dev, sizeof(dev)),
		i.data_clusters, bt_size_str(i.cluster_size, cl, sizeof(cl)),
		i.md_pages, i.io_unit);
}

static void mkfs_format_err(struct bt *t, int err)
{
	char sz[32];
	uint64_t bytes = bdev_block_count(t->dev) * bdev_block_size(t->dev);

	if (err == -ENOSPC)
		bt_err(t, "%s (%s) is too small for the metadata of a store "
		       "with these options", t->path,
		       bt_size_str(bytes, sz, sizeof(sz)));
	else if (err == -EINVAL)
		bt_err(t, "%s (%s): these options do not fit docs/FORMAT.md's "
		       "limits (cluster size, md pages, journal pages, "
		       "size)", t->path, bt_size_str(bytes, sz, sizeof(sz)));
	else
		bt_err(t, "formatting %s failed: %s", t->path,
		       bt_strerror(err));
}

static int mkfs_format(const struct mkfs_args *a)
{
	struct bt_wait w = { 0 };
	struct bt t;
	int rc = bt_open(&t, MKFS_CMD, a->path, a->block_size,
			 BDEV_URING_DIRECT_AUTO, BT_LOCK_EXCLUSIVE);

	if (rc < 0)
		return rc;
	bt_progress_begin(&t, "formatting", 0);
	blob_store_init(t.dev, t.r, &a->opts, &t.bs, bt_wait_cb, &w);
	rc = bt_wait(&t, &w);
	if (rc < 0) {
		t.bs = NULL;
		mkfs_format_err(&t, rc);
	} else {
		mkfs_report(&t, a);
		rc = bt_unload(&t);
		if (rc < 0)
			bt_err(&t, "writing %s failed: %s", a->path,
			       bt_strerror(rc));
	}
	bt_close(&t);
	return rc;
}

/* The file system main, through the image layer (its own open and lock). */
static int mkfs_make_fs(const struct mkfs_args *a)
{
	struct bfs_mkfs_opts opts = { 0 };
	struct ft t;
	int rc = ft_open(&t, MKFS_CMD, a->path, NULL, VIMAGE_STORE_RW);

	if (rc < 0)
		return rc;
	rc = vimage_create(t.im, VIMAGE_DEFAULT_EXPORT, &opts); /* says why */
	if (ft_close(&t) < 0 && rc == 0)
		rc = -EIO;
	if (rc == 0 && !a->quiet)
		printf("%s: file system '%s' made\n", a->path,
		       VIMAGE_DEFAULT_EXPORT);
	return rc;
}

int cmd_mkfs(int argc, char *argv[])
{
	struct mkfs_args a = { 0 };
	bool created = false;
	int rc = mkfs_parse(argc, argv, &a);

	if (rc)
		return rc == 1 ? 0 : rc;
	rc = mkfs_prepare(&a, &created);
	if (rc == 0)
		rc = mkfs_format(&a);
	if (rc == 0 && !a.no_fs)
		rc = mkfs_make_fs(&a);
	if (rc < 0 && created)
		unlink(a.path);
	return rc < 0 ? 1 : 0;
}
