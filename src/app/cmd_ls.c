// SPDX-License-Identifier: MIT
/*
 * cmd_ls.c - read an image offline, read-only:
 *   `vhostfs ls IMAGE [PATH] [-l] [-R] [--export NAME]`
 *   `vhostfs cat IMAGE PATH... [--export NAME]`
 *
 * Paths are inside the file system (from its root, "/" by default);
 * symlinks on the way are followed inside the image, never on the host.
 * ls sorts by name; -l prints mode, links, numeric owner and group, size
 * (or major, minor), mtime to the nanosecond, the name and a symlink's
 * target.  cat streams the file in 1 MiB pieces.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "cmd_blob.h"
#include "cmd_blob_common.h"
#include "cmd_fs_common.h"

#define LS_CMD "vhostfs ls"
#define CAT_CMD "vhostfs cat"

struct ls_args {
	const char *image;
	const char *export_name;
	char **paths;
	int npaths;
	bool longfmt;
	bool recursive;
};

static void ls_usage(FILE *f)
{
	fputs("usage: vhostfs ls IMAGE [PATH] [-l] [-R] [--export NAME]\n"
	      "List directory PATH (default /) of a file system of IMAGE, "
	      "read-only, sorted\nby name; a file is listed by itself.\n\n"
	      "  -l, --long         mode, links, uid, gid, size (or major, "
	      "minor), mtime,\n"
	      "                     name -> symlink target\n"
	      "  -R, --recursive    list the directories below too\n"
	      "  -e, --export NAME  the file system (default main; a snapshot "
	      "too)\n"
	      "  -h, --help         show this help\n\n"
	      "Exit status: 0 listed, 1 failed, 2 bad arguments.\n", f);
}

static void cat_usage(FILE *f)
{
	fputs("usage: vhostfs cat IMAGE PATH... [--export NAME]\n"
	      "Write the files PATH of a file system of IMAGE to stdout, "
	      "read-only\n(symlinks are followed inside the image).\n\n"
	      "  -e, --export NAME  the file system (default main; a snapshot "
	      "too)\n"
	      "  -h, --help         show this help\n\n"
	      "Exit status: 0 written, 1 failed, 2 bad arguments.\n", f);
}

static const struct option ls_longopts[] = {
	{ "long", no_argument, NULL, 'l' },
	{ "recursive", no_argument, NULL, 'R' },
	{ "export", required_argument, NULL, 'e' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* 0, 1 when the help was asked for, or an exit status (> 1). */
static int ls_parse(int argc, char *argv[], struct ls_args *a, bool cat)
{
	const char *cmd = cat ? CAT_CMD : LS_CMD;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, cat ? ":e:h" : ":lRe:h",
				ls_longopts, NULL)) != -1) {
		if (c == 'h') {
			(cat ? cat_usage : ls_usage)(stdout);
			return 1;
		} else if (c == 'l') {
			a->longfmt = true;
		} else if (c == 'R') {
			a->recursive = true;
		} else if (c == 'e' && vimage_name_check(optarg) == 0) {
			a->export_name = optarg;
		} else if (c == 'e') {
			return bt_usage(cmd, "--export '%s': 1 to %d characters "
					"of A-Z a-z 0-9 . _ -", optarg,
					VIMAGE_NAME_MAX);
		} else {
			return bt_opt_error(cmd, c, bt_optarg(c, argv));
		}
	}
	if (optind >= argc)
		return bt_usage(cmd, "no IMAGE given");
	a->image = argv[optind];
	a->paths = argv + optind + 1;
	a->npaths = argc - optind - 1;
	if (cat && a->npaths == 0)
		return bt_usage(cmd, "no PATH given");
	if (!cat && a->npaths > 1)
		return bt_usage(cmd, "one PATH only ('%s' is extra)",
				a->paths[1]);
	return 0;
}

/* --- ls ----------------------------------------------------------------------- */

static char type_char(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFDIR: return 'd';
	case S_IFLNK: return 'l';
	case S_IFCHR: return 'c';
	case S_IFBLK: return 'b';
	case S_IFIFO: return 'p';
	case S_IFSOCK: return 's';
	default: return '-';
	}
}

/* "drwsr-sr-t" (ls's letters for suid, sgid and sticky). */
static void mode_str(mode_t m, char s[11])
{
	static const char rwx[] = "rwxrwxrwx";

	s[0] = type_char(m);
	for (int i = 0; i < 9; i++)
		s[1 + i] = (m & (0400u >> i)) ? rwx[i] : '-';
	if (m & S_ISUID)
		s[3] = (m & S_IXUSR) ? 's' : 'S';
	if (m & S_ISGID)
		s[6] = (m & S_IXGRP) ? 's' : 'S';
	if (m & S_ISVTX)
		s[9] = (m & S_IXOTH) ? 't' : 'T';
	s[10] = '\0';
}

static void ls_line_long(struct ft *t, const char *name,
			 const struct fs_entry *e)
{
	const struct stat *st = &e->attr;
	char mode[11], when[32], size[48], *target = NULL;
	struct tm tm;

	mode_str(st->st_mode, mode);
	localtime_r(&st->st_mtim.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		snprintf(size, sizeof(size), "%u, %u", major(st->st_rdev),
			 minor(st->st_rdev));
	else
		snprintf(size, sizeof(size), "%" PRIu64,
			 (uint64_t)st->st_size);
	if (S_ISLNK(st->st_mode) && ft_readlink(t, e->inode, &target) < 0)
		target = NULL;
	printf("%s %3" PRIu64 " %5u %5u %10s %s.%09ld %s%s%s\n", mode,
	       (uint64_t)st->st_nlink, st->st_uid, st->st_gid, size, when,
	       st->st_mtim.tv_nsec, name, target ? " -> " : "",
	       target ? target : "");
	free(target);
}

static int ls_line(struct ft *t, const struct ls_args *a, const char *name,
		   const struct fs_entry *e)
{
	if (a->longfmt)
		ls_line_long(t, name, e);
	else
		printf("%s\n", name);
	return ferror(stdout) ? -EIO : 0;
}

static int ls_dir(struct ft *t, const struct ls_args *a, const char *path,
		  struct fs_inode *dir, bool header);

/* The line of entry @name of @dir. */
static int ls_entry(struct ft *t, const struct ls_args *a,
		    struct fs_inode *dir, const char *path, const char *name)
{
	struct fs_entry e;
	int rc;

	if (!a->longfmt)
		return ls_line(t, a, name, NULL);
	rc = ft_lookup(t, dir, name, &e);
	if (rc < 0) {
		ft_err(t, "%s:%s%s%s: %s", a->image, path,
		       path[strlen(path) - 1] == '/' ? "" : "/", name,
		       ft_strerror(rc));
		return rc;
	}
	rc = ls_line(t, a, name, &e);
	ft_forget(t, e.inode);
	return rc;
}

static int ls_subdirs(struct ft *t, const struct ls_args *a, const char *path,
		      struct fs_inode *dir, const struct ft_dir *d)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < d->n; i++) {
		struct fs_entry e = { .inode = NULL };
		char *sub;

		if (d->e[i].dtype != DT_DIR)
			continue;
		sub = ft_path_join(path, d->e[i].name);
		rc = sub ? ft_lookup(t, dir, d->e[i].name, &e) : -ENOMEM;
		if (rc == 0 && S_ISDIR(e.attr.st_mode)) {
			printf("\n");
			rc = ls_dir(t, a, sub, e.inode, true);
		}
		ft_forget(t, e.inode);
		free(sub);
	}
	return rc;
}

static int ls_dir(struct ft *t, const struct ls_args *a, const char *path,
		  struct fs_inode *dir, bool header)
{
	struct ft_dir d;
	int rc = ft_dir_read(t, dir, &d);

	if (rc < 0) {
		ft_err(t, "%s:%s: %s", a->image, path, ft_strerror(rc));
		return rc;
	}
	if (header)
		printf("%s:\n", path);
	for (size_t i = 0; rc == 0 && i < d.n; i++)
		rc = ls_entry(t, a, dir, path, d.e[i].name);
	if (rc == 0 && a->recursive)
		rc = ls_subdirs(t, a, path, dir, &d);
	ft_dir_free(&d);
	return rc;
}

static int ls_run(const struct ls_args *a)
{
	const char *path = a->npaths && *a->paths[0] ? a->paths[0] : "/";
	struct fs_entry e;
	struct ft t;
	int rc = ft_open(&t, LS_CMD, a->image, a->export_name,
			 VIMAGE_MOUNT_RO);

	if (rc < 0)
		return 1;
	/* as ls: a symlink is listed itself with -l, else where it points */
	rc = ft_resolve(&t, path, !a->longfmt || path[strlen(path) - 1] == '/',
			&e);
	if (rc < 0) {
		ft_err(&t, "%s:%s: %s", a->image, path, ft_strerror(rc));
	} else {
		if (S_ISDIR(e.attr.st_mode))
			rc = ls_dir(&t, a, path, e.inode, a->recursive);
		else
			rc = ls_line(&t, a, path, &e);
		ft_forget(&t, e.inode);
	}
	if (ft_close(&t) < 0)
		rc = -1;
	return rc < 0 ? 1 : 0;
}

int cmd_ls(int argc, char *argv[])
{
	struct ls_args a = { 0 };
	int rc = ls_parse(argc, argv, &a, false);

	if (rc)
		return rc == 1 ? 0 : rc;
	return ls_run(&a);
}

/* --- cat ---------------------------------------------------------------------- */

static int write_all(int fd, const char *buf, size_t n)
{
	while (n) {
		ssize_t k = write(fd, buf, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		buf += k;
		n -= (size_t)k;
	}
	return 0;
}

static int cat_data(struct ft *t, struct fs_file *f, char *buf)
{
	uint64_t off = 0;
	size_t n;
	int rc;

	while ((rc = ft_read(t, f, off, buf, FT_CHUNK, &n)) == 0 && n > 0) {
		off += n;
		rc = write_all(STDOUT_FILENO, buf, n);
		if (rc < 0) {
			ft_err(t, "writing stdout: %s", strerror(-rc));
			return 1; /* said already */
		}
	}
	return rc;
}

static int cat_file(struct ft *t, const char *image, const char *path,
		    char *buf)
{
	struct fs_entry e = { .inode = NULL };
	struct fs_file *f = NULL;
	int rc = ft_resolve(t, path, true, &e);

	if (rc == 0 && S_ISDIR(e.attr.st_mode))
		rc = -EISDIR;
	if (rc == 0)
		rc = ft_open_file(t, e.inode, O_RDONLY, &f);
	if (rc == 0) {
		rc = cat_data(t, f, buf);
		ft_release(t, f);
	}
	if (rc < 0)
		ft_err(t, "%s:%s: %s", image, path, ft_strerror(rc));
	ft_forget(t, e.inode);
	return rc ? -1 : 0;
}

int cmd_cat(int argc, char *argv[])
{
	struct ls_args a = { 0 };
	struct ft t;
	char *buf;
	int rc = ls_parse(argc, argv, &a, true);

	if (rc)
		return rc == 1 ? 0 : rc;
	buf = malloc(FT_CHUNK);
	if (!buf || ft_open(&t, CAT_CMD, a.image, a.export_name,
			    VIMAGE_MOUNT_RO) < 0) {
		free(buf);
		return 1;
	}
	for (int i = 0; rc == 0 && i < a.npaths; i++)
		rc = cat_file(&t, a.image, a.paths[i], buf);
	free(buf);
	if (ft_close(&t) < 0)
		rc = -1;
	return rc < 0 ? 1 : 0;
}
