// SPDX-License-Identifier: MIT
/*
 * cmd_catalog.c - the catalog of an image's file systems (image_internal.h):
 *   `vhostfs snapshot IMAGE NAME [--export VOL]`  read-only copy of VOL
 *   `vhostfs clone IMAGE SNAPSHOT NEWNAME`        writable thin clone
 *   `vhostfs volumes IMAGE`                       name, kind, parent, used
 *   `vhostfs delete IMAGE NAME`                   not a snapshot with clones
 * All offline: the image is locked, a served one is refused.  The image
 * layer (image_catalog.c) prints why a change failed.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_blob.h"
#include "cmd_blob_common.h"
#include "cmd_fs_common.h"

struct cg_cmd {
	const char *cmd;      /* "vhostfs snapshot" */
	const char *usage;    /* after "usage: " */
	const char *text;     /* what it does, options */
	int nargs;            /* after IMAGE */
	const char *argnames[2];
	bool export_opt;      /* takes --export VOL */
};

struct cg_args {
	const char *image;
	const char *arg[2];
	const char *export_name;
};

static const struct cg_cmd cg_snapshot = {
	"vhostfs snapshot", "vhostfs snapshot IMAGE NAME [--export VOL]",
	"Take snapshot NAME of file system VOL (default main) of IMAGE: "
	"instant and\nthin, read-only, servable as its own export; VOL stays "
	"writable.\n\n"
	"  -e, --export VOL   the file system to snapshot (default main)\n",
	1, { "NAME", NULL }, true,
};

static const struct cg_cmd cg_clone = {
	"vhostfs clone", "vhostfs clone IMAGE SNAPSHOT NEWNAME",
	"Make NEWNAME, a writable thin clone of snapshot SNAPSHOT of IMAGE.\n",
	2, { "SNAPSHOT", "NEWNAME" }, false,
};

static const struct cg_cmd cg_volumes = {
	"vhostfs volumes", "vhostfs volumes IMAGE",
	"List the file systems of IMAGE: name, kind (volume, snapshot, clone), "
	"parent\nsnapshot, and the space allocated to each one itself.\n",
	0, { NULL, NULL }, false,
};

static const struct cg_cmd cg_delete = {
	"vhostfs delete", "vhostfs delete IMAGE NAME",
	"Delete file system NAME of IMAGE and free its space; a snapshot "
	"that clones\ndepend on is refused (delete the clones first).\n",
	1, { "NAME", NULL }, false,
};

static void cg_usage(const struct cg_cmd *c)
{
	printf("usage: %s\n%s  -h, --help         show this help\n\n"
	       "Exit status: 0 done, 1 failed, 2 bad arguments.\n", c->usage,
	       c->text);
}

static const struct option cg_longopts[] = {
	{ "export", required_argument, NULL, 'e' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int cg_name_arg(const struct cg_cmd *c, const char *what,
			const char *v)
{
	if (vimage_name_check(v) == 0)
		return 0;
	return bt_usage(c->cmd, "%s '%s': 1 to %d characters of A-Z a-z 0-9 "
			". _ -", what, v, VIMAGE_NAME_MAX);
}

/* 0, 1 when the help was asked for, or an exit status (> 1). */
static int cg_parse(const struct cg_cmd *c, int argc, char *argv[],
		     struct cg_args *a)
{
	int o, rc;

	opterr = 0;
	optind = 1;
	while ((o = getopt_long(argc, argv, c->export_opt ? ":e:h" : ":h",
				cg_longopts, NULL)) != -1) {
		if (o == 'h') {
			cg_usage(c);
			return 1;
		}
		if (o != 'e')
			return bt_opt_error(c->cmd, o, bt_optarg(o, argv));
		rc = cg_name_arg(c, "--export", optarg);
		if (rc)
			return rc;
		a->export_name = optarg;
	}
	if (optind >= argc)
		return bt_usage(c->cmd, "no IMAGE given");
	a->image = argv[optind++];
	for (int i = 0; i < c->nargs; i++, optind++) {
		if (optind >= argc)
			return bt_usage(c->cmd, "no %s given", c->argnames[i]);
		rc = cg_name_arg(c, c->argnames[i], argv[optind]);
		if (rc)
			return rc;
		a->arg[i] = argv[optind];
	}
	if (optind < argc)
		return bt_usage(c->cmd, "'%s' is extra", argv[optind]);
	return 0;
}

/* Parse, then open the image in @mode; 0, or the exit status (> 0). */
static int cg_start(const struct cg_cmd *c, int argc, char *argv[],
		     struct cg_args *a, struct ft *t, enum vimage_mode mode)
{
	int rc = cg_parse(c, argc, argv, a);

	if (rc)
		return rc == 1 ? -1 : rc;
	return ft_open(t, c->cmd, a->image, NULL, mode) < 0 ? 1 : 0;
}

static int cg_finish(struct ft *t, int rc)
{
	if (ft_close(t) < 0)
		rc = -1;
	return rc < 0 ? 1 : 0;
}

/* --- snapshot and clone ------------------------------------------------------- */

int cmd_snapshot(int argc, char *argv[])
{
	struct cg_args a = { 0 };
	const char *vol;
	struct ft t;
	int rc = cg_start(&cg_snapshot, argc, argv, &a, &t, VIMAGE_STORE_RW);

	if (rc)
		return rc < 0 ? 0 : rc;
	vol = a.export_name ? a.export_name : VIMAGE_DEFAULT_EXPORT;
	rc = vimage_snapshot(t.im, vol, a.arg[0]);
	if (rc == 0) /* the image layer said what failed */
		printf("%s: snapshot '%s' of '%s' taken\n", a.image, a.arg[0],
		       vol);
	return cg_finish(&t, rc);
}

int cmd_clone(int argc, char *argv[])
{
	struct cg_args a = { 0 };
	struct ft t;
	int rc = cg_start(&cg_clone, argc, argv, &a, &t, VIMAGE_STORE_RW);

	if (rc)
		return rc < 0 ? 0 : rc;
	rc = vimage_clone(t.im, a.arg[0], a.arg[1]);
	if (rc == 0)
		printf("%s: clone '%s' of '%s' made\n", a.image, a.arg[1],
		       a.arg[0]);
	return cg_finish(&t, rc);
}

/* --- volumes ------------------------------------------------------------------- */

static const char *kind_str(enum vimage_kind k)
{
	switch (k) {
	case VIMAGE_VOLUME: return "volume";
	case VIMAGE_SNAPSHOT: return "snapshot";
	case VIMAGE_CLONE: return "clone";
	}
	return "?";
}

static const char *parent_name(const struct vimage_entry *v, size_t n,
			       uint64_t id)
{
	if (!id)
		return "-";
	for (size_t i = 0; i < n; i++) {
		if (v[i].blob_id == id)
			return v[i].name;
	}
	return "(unnamed)";
}

/* @n clusters in bytes, or counted when the cluster size is unknown. */
static void clusters_str(uint64_t n, uint32_t cluster_size, char *buf,
			 size_t len)
{
	if (cluster_size)
		bt_size_str(n * cluster_size, buf, len);
	else
		snprintf(buf, len, "%" PRIu64 " clusters", n);
}

static void volumes_print(const char *image, const struct vimage_entry *v,
			  size_t n)
{
	struct bt_probe p;
	char size[32], used[32];

	if (bt_probe_image(image, &p) < 0)
		p.cluster_size = 0;
	printf("%-20s %-9s %-20s %-12s %s\n", "NAME", "KIND", "PARENT", "SIZE",
	       "USED");
	for (size_t i = 0; i < n; i++) {
		clusters_str(v[i].clusters, p.cluster_size, size, sizeof(size));
		clusters_str(v[i].allocated, p.cluster_size, used,
			     sizeof(used));
		printf("%-20s %-9s %-20s %-12s %s\n", v[i].name,
		       kind_str(v[i].kind), parent_name(v, n, v[i].parent_id),
		       size, used);
	}
}

int cmd_volumes(int argc, char *argv[])
{
	struct cg_args a = { 0 };
	struct vimage_entry *v = NULL;
	size_t n = 0;
	struct ft t;
	int rc = cg_start(&cg_volumes, argc, argv, &a, &t, VIMAGE_STORE_RO);

	if (rc)
		return rc < 0 ? 0 : rc;
	rc = vimage_list(t.im, &v, &n);
	if (rc < 0)
		ft_err(&t, "listing %s: %s", a.image, ft_strerror(rc));
	else
		volumes_print(a.image, v, n);
	free(v);
	return cg_finish(&t, rc);
}

/* --- delete -------------------------------------------------------------------- */

int cmd_delete(int argc, char *argv[])
{
	struct cg_args a = { 0 };
	struct ft t;
	int rc = cg_start(&cg_delete, argc, argv, &a, &t, VIMAGE_STORE_RW);

	if (rc)
		return rc < 0 ? 0 : rc;
	rc = vimage_delete(t.im, a.arg[0]);
	if (rc == 0)
		printf("%s: '%s' deleted\n", a.image, a.arg[0]);
	return cg_finish(&t, rc);
}
