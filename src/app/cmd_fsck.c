// SPDX-License-Identifier: MIT
/*
 * cmd_fsck.c - `vhostfs fsck IMAGE [--repair]`: check every invariant of
 * docs/FORMAT.md (blob_store_check) and optionally repair; then every file
 * system of the image's catalog (bfs_check through vimage_check: tree,
 * blocks, link counts, directory structure, orphans).
 *
 * Without --repair the store is loaded read-only: nothing is written, a
 * dirty journal is replayed in memory.  With --repair it is loaded
 * read-write (which replays the journal and checkpoints at once) and the
 * repair is written with a checkpoint.  A file system is mounted
 * read-only (its journal replayed in memory); with --repair a volume or
 * clone is mounted read-write, which replays its journal, checkpoints and
 * frees its orphans (bfs has no other repair).  The exit status follows
 * e2fsck, the classes of both layers or-ed:
 * 0 clean, 1 errors found and all repaired, 4 errors left (a store so
 * damaged it does not load is in that class), 8 operational error (cannot
 * open or read the image, not a blobstore); 2 for bad arguments, as every
 * `vhostfs` subcommand.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_blob_common.h"
#include "cmd_blob.h"
#include "cmd_fs_common.h"

#define FSCK_CMD "vhostfs fsck"

enum {
	FSCK_CLEAN = 0,
	FSCK_REPAIRED = 1,
	FSCK_ERRORS_LEFT = 4,
	FSCK_OPERATIONAL = 8,
};

struct fsck_args {
	const char *path;
	bool repair;
	bool quiet;
};

static void fsck_usage(FILE *f)
{
	fputs("usage: vhostfs fsck IMAGE [--repair]\n"
	      "Check the vhostfs blobstore on IMAGE: super block, journal, "
	      "checkpoint,\nevery blob's metadata pages and extents, cluster "
	      "and page ownership\nagainst the bitmaps, snapshot trees; then "
	      "every file system in it: tree\nand blocks, link counts, "
	      "directory structure, orphans.\n\n"
	      "  -r, --repair   fix what is broken: remove broken blobs, keep "
	      "a doubly\n"
	      "                 owned cluster with one owner, cut bad parent "
	      "links, fix\n"
	      "                 counts, rebuild the bitmaps; mount file "
	      "systems read-write\n"
	      "                 (replays their journals, frees orphans)\n"
	      "  -q, --quiet    print only problems and errors\n"
	      "  -h, --help     show this help\n\n"
	      "Problems go to stdout, one per line, then a summary.\n"
	      "Exit status: 0 clean, 1 errors repaired, 4 errors left "
	      "(including a\nstore too damaged to load), 8 operational error, "
	      "2 bad arguments.\n", f);
}

static const struct option fsck_longopts[] = {
	{ "repair", no_argument, NULL, 'r' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* 0, 1 when the help was asked for, or an exit status (> 1). */
static int fsck_parse(int argc, char *argv[], struct fsck_args *a)
{
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":rqh", fsck_longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'r':
			a->repair = true;
			break;
		case 'q':
			a->quiet = true;
			break;
		case 'h':
			fsck_usage(stdout);
			return 1;
		default:
			return bt_opt_error(FSCK_CMD, c, bt_optarg(c, argv));
		}
	}
	if (optind >= argc)
		return bt_usage(FSCK_CMD, "no IMAGE given");
	if (optind + 1 < argc)
		return bt_usage(FSCK_CMD, "one IMAGE only ('%s' is extra)",
				argv[optind + 1]);
	a->path = argv[optind];
	return 0;
}

/* --- a store that does not load ------------------------------------------- */

static int fsck_load_failed(struct bt *t, const struct bt_probe *p, int err)
{
	char have[32], need[32];

	if (p->magic && p->store_bytes > p->file_bytes) {
		bt_err(t, "%s is truncated: %s, but the store needs %s; "
		       "restore its end (e.g. truncate -s %" PRIu64 ")",
		       t->path, bt_size_str(p->file_bytes, have, sizeof(have)),
		       bt_size_str(p->store_bytes, need, sizeof(need)),
		       p->store_bytes);
		return FSCK_ERRORS_LEFT;
	}
	if (err == -EUCLEAN) {
		bt_err(t, "%s: the super block, checkpoint or journal is "
		       "corrupt: the store does not load and cannot be "
		       "repaired", t->path);
		return FSCK_ERRORS_LEFT;
	}
	if (err == -EILSEQ && !p->magic) {
		bt_err(t, "%s is not a vhostfs blobstore (no super block)",
		       t->path);
		return FSCK_OPERATIONAL;
	}
	bt_err(t, "cannot load the store on %s: %s", t->path,
	       bt_strerror(err));
	return FSCK_OPERATIONAL;
}

/* --- the check ------------------------------------------------------------ */

static void fsck_summary(struct bt *t, const struct fsck_args *a,
			 const struct blob_check_report *rep)
{
	struct blob_store_info i;

	blob_store_info_get(t->bs, &i);
	if (rep->errors)
		fprintf(t->out, "%s: %" PRIu64 " problem%s found, %" PRIu64
			" repaired%s\n", a->path, rep->errors,
			rep->errors == 1 ? "" : "s", rep->fixed,
			a->repair ? "" : " (run with --repair to fix)");
	if (a->quiet)
		return;
	fprintf(t->out, "%s: %s, %" PRIu64 " blobs, %" PRIu64 "/%" PRIu64
		" data clusters, %" PRIu64 "/%u metadata pages%s\n", a->path,
		rep->errors == 0 ? "clean"
		: rep->fixed == rep->errors ? "repaired" : "errors left",
		rep->blobs, rep->clusters_used, i.data_clusters,
		rep->md_pages_used, i.md_pages,
		i.was_clean ? "" : "; journal replayed (not unloaded cleanly)");
}

static int fsck_status(const struct blob_check_report *rep)
{
	if (rep->errors == 0)
		return FSCK_CLEAN;
	return rep->fixed == rep->errors ? FSCK_REPAIRED : FSCK_ERRORS_LEFT;
}

static int fsck_check(struct bt *t, const struct fsck_args *a)
{
	struct blob_check_report rep = { 0 };
	struct blob_store_info i;
	struct bt_wait w = { 0 };
	int rc;

	blob_store_info_get(t->bs, &i);
	bt_progress_begin(t, a->repair ? "checking and repairing" : "checking",
			  (i.md_pages - i.free_md_pages) * 4096);
	blob_store_check(t->bs, a->repair ? BLOB_CHECK_REPAIR : 0, &rep,
			 t->out, bt_wait_cb, &w);
	rc = bt_wait(t, &w);
	bt_progress_end(t);
	if (rc < 0) {
		bt_err(t, "checking %s failed: %s", a->path, bt_strerror(rc));
		return FSCK_OPERATIONAL;
	}
	fsck_summary(t, a, &rep);
	return fsck_status(&rep);
}

/* --- the file systems ------------------------------------------------------ */

static void fsck_fs_summary(const struct fsck_args *a, const char *name,
			    const struct bfs_check_report *rep)
{
	char used[32];

	if (rep->errors)
		printf("%s: file system '%s': %" PRIu64 " problem%s found\n",
		       a->path, name, rep->errors, rep->errors == 1 ? "" : "s");
	if (a->quiet)
		return;
	printf("%s: file system '%s': %s, %" PRIu64 " inodes, %" PRIu64
	       " directory entries, %" PRIu64 " orphans, %s used\n", a->path,
	       name, rep->errors ? "errors left" : "clean", rep->inodes,
	       rep->dirents, rep->orphans,
	       bt_size_str(rep->blocks_used * 4096, used, sizeof(used)));
}

static int fsck_fs_one(const struct fsck_args *a,
		       const struct vimage_entry *e)
{
	struct bfs_check_report rep = { 0 };
	struct ft t;
	int rc = ft_open(&t, FSCK_CMD, a->path, e->name,
			 a->repair && e->kind != VIMAGE_SNAPSHOT
				 ? VIMAGE_MOUNT_RW : VIMAGE_MOUNT_RO);

	if (rc < 0) /* vimage_open said why */
		return rc == -EUCLEAN || rc == -EILSEQ ? FSCK_ERRORS_LEFT
						       : FSCK_OPERATIONAL;
	fflush(stdout);
	rc = vimage_check(t.im, &rep, stdout);
	if (rc < 0)
		ft_err(&t, "checking file system '%s' of %s failed: %s",
		       e->name, a->path, ft_strerror(rc));
	else
		fsck_fs_summary(a, e->name, &rep);
	if (ft_close(&t) < 0 || rc < 0)
		return FSCK_OPERATIONAL;
	return rep.errors ? FSCK_ERRORS_LEFT : FSCK_CLEAN;
}

static int fsck_fs_all(const struct fsck_args *a)
{
	struct vimage_entry *v = NULL;
	size_t n = 0;
	struct ft t;
	int rc = ft_open(&t, FSCK_CMD, a->path, NULL, VIMAGE_STORE_RO);
	int status = 0;

	if (rc < 0)
		return rc == -EUCLEAN ? FSCK_ERRORS_LEFT : FSCK_OPERATIONAL;
	rc = vimage_list(t.im, &v, &n);
	if (rc < 0)
		ft_err(&t, "listing the file systems of %s failed: %s",
		       a->path, ft_strerror(rc));
	if (ft_close(&t) < 0 || rc < 0) {
		free(v);
		return rc == -EUCLEAN ? FSCK_ERRORS_LEFT : FSCK_OPERATIONAL;
	}
	for (size_t i = 0; i < n; i++)
		status |= fsck_fs_one(a, &v[i]);
	free(v);
	return status;
}

static int fsck_run(const struct fsck_args *a)
{
	struct bt_probe p;
	struct bt t;
	int rc = bt_probe_image(a->path, &p), status;

	if (rc < 0) {
		fprintf(stderr, FSCK_CMD ": cannot read %s: %s\n", a->path,
			strerror(-rc));
		return FSCK_OPERATIONAL;
	}
	if (bt_open(&t, FSCK_CMD, a->path, p.block_size,
		    BDEV_URING_DIRECT_AUTO,
		    a->repair ? BT_LOCK_EXCLUSIVE : BT_LOCK_SHARED) < 0)
		return FSCK_OPERATIONAL;
	bt_progress_begin(&t, "loading", 0);
	rc = bt_load(&t, !a->repair);
	bt_progress_end(&t);
	if (rc < 0) {
		status = fsck_load_failed(&t, &p, rc);
	} else {
		status = fsck_check(&t, a);
		rc = bt_unload(&t);
		if (rc < 0) {
			bt_err(&t, "writing %s failed: %s", a->path,
			       bt_strerror(rc));
			status = FSCK_OPERATIONAL;
		}
	}
	bt_close(&t);
	/* a store that loads and holds together: its file systems too */
	if (rc == 0 && status == FSCK_ERRORS_LEFT)
		printf("%s: file systems not checked: the store has errors "
		       "left (--repair them first)\n", a->path);
	else if (rc == 0 && status != FSCK_OPERATIONAL)
		status |= fsck_fs_all(a);
	return status;
}

int cmd_fsck(int argc, char *argv[])
{
	struct fsck_args a = { 0 };
	int rc = fsck_parse(argc, argv, &a);

	if (rc)
		return rc == 1 ? 0 : rc;
	return fsck_run(&a);
}
