// SPDX-License-Identifier: MIT
/*
 * cmd_dump.c - `vhostfs dump IMAGE`: print the super block, the allocation
 * state, and every blob with its size, links and xattrs (blob_store_dump).
 * The store is loaded read-only: nothing is written, a dirty journal is
 * replayed in memory.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd_blob_common.h"
#include "cmd_blob.h"

#define DUMP_CMD "vhostfs dump"

static void dump_usage(FILE *f)
{
	fputs("usage: vhostfs dump IMAGE\n"
	      "Print the vhostfs blobstore on IMAGE, read-only: super block, "
	      "regions,\nallocation counts, then one line per blob (size, "
	      "allocated clusters,\nthin/snapshot, parent, children, metadata "
	      "pages) and its xattrs.\n\n"
	      "  -h, --help     show this help\n\n"
	      "Exit status: 0 printed, 1 failed (the store does not load), 2 "
	      "bad arguments.\n", f);
}

static const struct option dump_longopts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* The image, NULL after the help, or NULL with *@status set. */
static const char *dump_parse(int argc, char *argv[], int *status)
{
	int c;

	*status = 0;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", dump_longopts, NULL)) !=
	       -1) {
		if (c == 'h') {
			dump_usage(stdout);
			return NULL;
		}
		*status = bt_opt_error(DUMP_CMD, c, bt_optarg(c, argv));
		return NULL;
	}
	if (optind >= argc)
		*status = bt_usage(DUMP_CMD, "no IMAGE given");
	else if (optind + 1 < argc)
		*status = bt_usage(DUMP_CMD, "one IMAGE only ('%s' is extra)",
				   argv[optind + 1]);
	return *status ? NULL : argv[optind];
}

static int dump_load(struct bt *t, const struct bt_probe *p)
{
	char have[32], need[32];
	int rc = bt_load(t, true);

	if (rc == 0)
		return 0;
	if (p->magic && p->store_bytes > p->file_bytes)
		bt_err(t, "%s is truncated: %s, but the store needs %s",
		       t->path, bt_size_str(p->file_bytes, have, sizeof(have)),
		       bt_size_str(p->store_bytes, need, sizeof(need)));
	else if (rc == -EILSEQ && !p->magic)
		bt_err(t, "%s is not a vhostfs blobstore (no super block)",
		       t->path);
	else
		bt_err(t, "cannot load the store on %s: %s", t->path,
		       bt_strerror(rc));
	return rc;
}

static int dump_run(const char *path)
{
	struct blob_store_info i;
	struct bt_wait w = { 0 };
	struct bt_probe p;
	struct bt t;
	int rc = bt_probe_image(path, &p);

	if (rc < 0) {
		fprintf(stderr, DUMP_CMD ": cannot read %s: %s\n", path,
			strerror(-rc));
		return 1;
	}
	if (bt_open(&t, DUMP_CMD, path, p.block_size, BDEV_URING_DIRECT_AUTO,
		    BT_LOCK_SHARED) < 0)
		return 1;
	rc = dump_load(&t, &p);
	if (rc == 0) {
		blob_store_info_get(t.bs, &i);
		bt_progress_begin(&t, "reading",
				  (i.md_pages - i.free_md_pages) * 4096);
		blob_store_dump(t.bs, t.out, bt_wait_cb, &w);
		rc = bt_wait(&t, &w);
		bt_progress_end(&t);
		if (rc < 0)
			bt_err(&t, "reading %s failed: %s", path,
			       bt_strerror(rc));
		bt_unload(&t);
	}
	bt_close(&t);
	return rc < 0 ? 1 : 0;
}

int cmd_dump(int argc, char *argv[])
{
	int status;
	const char *path = dump_parse(argc, argv, &status);

	if (!path)
		return status;
	return dump_run(path);
}
