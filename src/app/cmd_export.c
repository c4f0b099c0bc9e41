// SPDX-License-Identifier: MIT
/*
 * cmd_export.c - `vhostfs export IMAGE HOSTDIR [--export NAME] [--from
 * PATH]`: copy a tree of an image's file system out to the host, keeping
 * owner, mode, nanosecond atime/mtime, xattrs, symlinks, hard links,
 * FIFOs, sockets, device nodes and holes.
 *
 * The image is mounted read-only (a snapshot exports as well as a volume).
 * Everything is created relative to a directory descriptor with O_EXCL /
 * mkdirat / mknodat / symlinkat and opened with O_NOFOLLOW, and every name
 * the image gives is checked (ft_dir_read), so a hostile image cannot make
 * export write outside HOSTDIR or through a symlink it made itself;
 * nothing that exists is overwritten.  Hard links are found by bfs inode
 * number: the host path of the first name is kept until its last link was
 * made, and reached again one directory at a time with O_NOFOLLOW.  Data
 * moves in 1 MiB pieces; runs of zero 4 KiB blocks (holes, or zeros) are
 * not written, so sparse files stay sparse.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cmd_blob.h"
#include "cmd_blob_common.h"
#include "cmd_fs_common.h"

#define EXP_CMD "vhostfs export"
#define EXP_BLOCK 4096u

struct exp {
	struct ft t;
	struct ft_copy_args a; /* path: --from */
	bool xattrs_off;   /* one side has none: warned once */
	bool chown;        /* root: owners are kept */
	bool seek;         /* the fs answers SEEK_DATA/SEEK_HOLE */
	int rootfd;
	struct ft_links links; /* (0, ino) -> host path of its first name */
	uint64_t *up;      /* inode numbers of the directories being copied */
	size_t nup, capup;
	char *buf;
	uint64_t files, dirs, symlinks, nodes, hardlinks, bytes;
};

static void exp_usage(FILE *f)
{
	fputs("usage: vhostfs export IMAGE HOSTDIR [--export NAME] [--from "
	      "PATH]\n"
	      "Copy the tree PATH of a file system of IMAGE into HOSTDIR (made "
	      "if missing),\nread-only.  Owners (when run as root), modes, "
	      "nanosecond times, xattrs,\nsymlinks, hard links, FIFOs, "
	      "sockets, device nodes and sparse files are kept;\nPATH's own "
	      "attributes go to HOSTDIR.  Nothing is written outside HOSTDIR "
	      "and\nnothing is overwritten: a name that exists stops it.\n\n"
	      "  -e, --export NAME  the file system to read (default main; a "
	      "snapshot too)\n"
	      "  -f, --from PATH    what to copy (default /)\n"
	      "      --xattrs       xattrs must be copied (fail where they "
	      "cannot be)\n"
	      "      --no-xattrs    do not copy xattrs\n"
	      "  -q, --quiet        no summary line\n"
	      "  -h, --help         show this help\n\n"
	      "Exit status: 0 copied, 1 failed (the message names the path), 2 "
	      "bad\narguments.\n", f);
}

/* "HOSTDIR/rel: what: error"; returns -1 (the export stops). */
static int exp_fail(struct exp *x, const char *rel, const char *what, int err)
{
	ft_err(&x->t, "%s%s%s: %s: %s%s", x->a.host, *rel ? "/" : "", rel, what,
	       err == -EEXIST ? "exists on the host" : ft_strerror(err),
	       err == -EEXIST ? " (export does not overwrite)" : "");
	return -1;
}

/* --- xattrs ----------------------------------------------------------------- */

/* One side cannot hold xattrs: stop copying them, or stop (--xattrs). */
static int exp_xattr_unsupported(struct exp *x, const char *rel,
				 const char *where, int err)
{
	if (x->a.xmode == FT_XATTR_FORCE)
		return exp_fail(x, rel, "copying xattrs (--xattrs)", err);
	ft_err(&x->t, "warning: %s does not store xattrs (%s): xattrs are "
	       "not copied", where, ft_strerror(err));
	x->xattrs_off = true;
	return 0;
}

static int exp_xattr_one(struct exp *x, const char *rel, const char *proc,
			 struct fs_inode *in, const char *name)
{
	void *val;
	size_t len;
	int rc = ft_getxattr(&x->t, in, name, &val, &len);

	if (rc < 0)
		return exp_fail(x, rel, "reading an xattr in the image", rc);
	rc = setxattr(proc, name, val ? val : "", len, 0) < 0 ? -errno : 0;
	free(val);
	if (rc < 0 && ft_xattr_unsupported(rc))
		return exp_xattr_unsupported(x, rel, "the host directory", rc);
	return rc < 0 ? exp_fail(x, rel, name, rc) : 0;
}

static int exp_xattrs(struct exp *x, const char *rel, const char *proc,
		      struct fs_inode *in)
{
	char *names;
	size_t len;
	int rc;

	if (x->a.xmode == FT_XATTR_OFF || x->xattrs_off)
		return 0;
	rc = ft_listxattr(&x->t, in, &names, &len);
	if (rc < 0 && ft_xattr_unsupported(rc))
		return exp_xattr_unsupported(x, rel, "the image", rc);
	if (rc < 0)
		return exp_fail(x, rel, "listing xattrs in the image", rc);
	if (len && names[len - 1] != '\0')
		rc = exp_fail(x, rel, "listing xattrs in the image", -EUCLEAN);
	for (size_t i = 0; rc == 0 && i < len && !x->xattrs_off;
	     i += strlen(names + i) + 1) {
		if (ft_xattr_copied(names + i))
			rc = exp_xattr_one(x, rel, proc, in, names + i);
	}
	free(names);
	return rc;
}

/* --- attributes ------------------------------------------------------------- */

/*
 * Owner, xattrs, mode, times of host file @fd (opened O_PATH for all but
 * files and directories: @path_fd), made from the image's @st.
 */
static int exp_attrs(struct exp *x, const char *rel, int fd, bool path_fd,
		     struct fs_inode *in, const struct stat *st)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	char proc[64];
	bool lnk = S_ISLNK(st->st_mode);

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (x->chown && fchownat(fd, "", st->st_uid, st->st_gid,
				 AT_EMPTY_PATH) < 0)
		return exp_fail(x, rel, "setting the owner", -errno);
	if (exp_xattrs(x, rel, proc, in) < 0)
		return -1;
	/* /proc/self/fd/N reaches the file itself, a symlink too */
	if (!lnk && (path_fd ? chmod(proc, st->st_mode & 07777)
			     : fchmod(fd, st->st_mode & 07777)) < 0)
		return exp_fail(x, rel, "setting the mode", -errno);
	if ((path_fd ? utimensat(AT_FDCWD, proc, ts, 0) : futimens(fd, ts)) < 0)
		return exp_fail(x, rel, "setting the times", -errno);
	return 0;
}

/* --- data ------------------------------------------------------------------- */

static bool block_zero(const char *p, size_t n)
{
	static const char zero[EXP_BLOCK];

	return memcmp(p, zero, n) == 0;
}

/* @n bytes of x->buf at @off, runs of zero blocks left as holes. */
static int exp_write_sparse(int fd, const char *buf, size_t n, uint64_t off)
{
	size_t i = 0;

	while (i < n) {
		size_t start, len;

		while (i < n && block_zero(buf + i, n - i < EXP_BLOCK
						     ? n - i : EXP_BLOCK))
			i += EXP_BLOCK;
		for (start = i; i < n && !block_zero(buf + i, n - i < EXP_BLOCK
							  ? n - i : EXP_BLOCK);)
			i += EXP_BLOCK;
		len = (i < n ? i : n) - (start < n ? start : n);
		for (size_t w = 0; w < len;) {
			ssize_t k = pwrite(fd, buf + start + w, len - w,
					   (off_t)(off + start + w));

			if (k < 0)
				return -errno;
			w += (size_t)k;
		}
	}
	return 0;
}

static int exp_copy_range(struct exp *x, const char *rel, int fd,
			  struct fs_file *file, uint64_t off, uint64_t end)
{
	while (off < end) {
		size_t want = end - off < FT_CHUNK ? end - off : FT_CHUNK, n;
		int rc = ft_read(&x->t, file, off, x->buf, want, &n);

		if (rc < 0)
			return exp_fail(x, rel, "reading in the image", rc);
		if (n == 0)
			return 0;
		rc = exp_write_sparse(fd, x->buf, n, off);
		if (rc < 0)
			return exp_fail(x, rel, "writing", rc);
		off += n;
		x->bytes += n;
	}
	return 0;
}

/* Where the next data is from @off: *@data .. *@hole; 1 when no more. */
static int exp_next_data(struct exp *x, struct fs_file *file, uint64_t off,
			 uint64_t size, uint64_t *data, uint64_t *hole)
{
	int rc;

	*data = off;
	*hole = size;
	if (!x->seek)
		return 0;
	rc = ft_lseek(&x->t, file, off, SEEK_DATA, data);
	if (rc == -ENXIO)
		return 1;
	if (rc == 0)
		rc = ft_lseek(&x->t, file, *data, SEEK_HOLE, hole);
	if (rc < 0) {
		/* the fs cannot tell: read it all, zeros stay holes */
		x->seek = false;
		*data = off;
		*hole = size;
	}
	if (*hole > size)
		*hole = size;
	return 0;
}

static int exp_data(struct exp *x, const char *rel, int fd,
		    struct fs_inode *in, uint64_t size)
{
	struct fs_file *file;
	uint64_t off = 0, data, hole;
	int rc = ft_open_file(&x->t, in, O_RDONLY, &file), rc2;

	if (rc < 0)
		return exp_fail(x, rel, "opening in the image", rc);
	while (rc == 0 && off < size &&
	       exp_next_data(x, file, off, size, &data, &hole) == 0) {
		rc = exp_copy_range(x, rel, fd, file, data, hole);
		off = hole > data ? hole : size;
	}
	rc2 = ft_release(&x->t, file);
	if (rc == 0 && rc2 < 0)
		rc = exp_fail(x, rel, "closing in the image", rc2);
	if (rc == 0 && ftruncate(fd, (off_t)size) < 0)
		rc = exp_fail(x, rel, "setting the size", -errno);
	return rc;
}

/* --- one entry -------------------------------------------------------------- */

static int exp_dir(struct exp *x, const char *rel, int dfd,
		   struct fs_inode *dir);

/*
 * Directory @ino is about to be copied: a corrupt image could hold it
 * inside itself, which would never end.  -ELOOP then.
 */
static int exp_enter(struct exp *x, uint64_t ino)
{
	for (size_t i = 0; i < x->nup; i++) {
		if (x->up[i] == ino)
			return -ELOOP;
	}
	if (x->nup == x->capup) {
		size_t cap = x->capup ? 2 * x->capup : 64;
		uint64_t *up = realloc(x->up, cap * sizeof(*up));

		if (!up)
			return -ENOMEM;
		x->up = up;
		x->capup = cap;
	}
	x->up[x->nup++] = ino;
	return 0;
}

/* Copy directory @e, made as @fd, below its parent. */
static int exp_subdir(struct exp *x, const char *rel, int fd,
		      const struct fs_entry *e)
{
	int rc = exp_enter(x, e->attr.st_ino);

	if (rc < 0)
		return exp_fail(x, rel, "a directory inside itself in the image",
				rc);
	rc = exp_dir(x, rel, fd, e->inode);
	x->nup--;
	return rc;
}

/* Open @name just made in @dfd: files for writing, the rest O_PATH. */
static int exp_open_made(int dfd, const char *name, mode_t mode)
{
	int flags = O_PATH;
	int fd;

	if (S_ISDIR(mode))
		flags = O_RDONLY | O_DIRECTORY;
	fd = openat(dfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int exp_symlink(struct exp *x, const char *rel, int dfd,
		       const char *name, struct fs_inode *in)
{
	char *target;
	int rc = ft_readlink(&x->t, in, &target);

	if (rc < 0)
		return exp_fail(x, rel, "reading the symlink in the image", rc);
	rc = symlinkat(target, dfd, name) < 0 ? -errno : 0;
	free(target);
	x->symlinks++;
	return rc < 0 ? exp_fail(x, rel, "making the symlink", rc) : 0;
}

/* Make @name in host directory @dfd; its open descriptor in *@fd. */
static int exp_make(struct exp *x, const char *rel, int dfd,
		    const char *name, const struct fs_entry *e, int *fd)
{
	mode_t mode = e->attr.st_mode, type = mode & S_IFMT;
	int rc = 0;

	*fd = -1;
	if (S_ISREG(mode)) {
		*fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL |
			     O_NOFOLLOW | O_CLOEXEC, 0600);
		if (*fd < 0)
			return exp_fail(x, rel, "creating", -errno);
		x->files++;
		return exp_data(x, rel, *fd, e->inode,
				(uint64_t)e->attr.st_size);
	}
	if (S_ISDIR(mode)) {
		rc = mkdirat(dfd, name, 0700) < 0 ? -errno : 0;
		x->dirs++;
	} else if (S_ISLNK(mode)) {
		if (exp_symlink(x, rel, dfd, name, e->inode) < 0)
			return -1;
	} else if (type == S_IFIFO || type == S_IFSOCK || type == S_IFCHR ||
		   type == S_IFBLK) {
		rc = mknodat(dfd, name, type | 0600, e->attr.st_rdev) < 0
			     ? -errno : 0;
		x->nodes++;
	} else {
		rc = -EUCLEAN;
	}
	if (rc < 0)
		return exp_fail(x, rel, "making", rc);
	*fd = exp_open_made(dfd, name, mode);
	if (*fd < 0)
		return exp_fail(x, rel, "opening what was made", *fd);
	return S_ISDIR(mode) ? exp_subdir(x, rel, *fd, e) : 0;
}

/* Host directory @rel (made by this export) opened O_PATH, one step at a time. */
static int exp_open_beneath(struct exp *x, const char *rel)
{
	char *copy = strdup(rel), *save = NULL, *name;
	int fd = dup(x->rootfd), next;

	for (name = copy ? strtok_r(copy, "/", &save) : NULL; fd >= 0 && name;
	     name = strtok_r(NULL, "/", &save)) {
		next = openat(fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW |
			      O_CLOEXEC);
		close(fd);
		fd = next;
	}
	if (!copy && fd >= 0) {
		close(fd);
		fd = -1;
		errno = ENOMEM;
	}
	free(copy);
	return fd < 0 ? -errno : fd;
}

/* A further name of an inode exported already as l->ptr. */
static int exp_hardlink(struct exp *x, const char *rel, int dfd,
			const char *name, struct ft_link *l)
{
	char *first = l->ptr, *slash = strrchr(first, '/');
	int pfd, rc;

	if (slash)
		*slash = '\0';
	pfd = exp_open_beneath(x, slash ? first : "");
	if (slash)
		*slash = '/';
	if (pfd < 0)
		return exp_fail(x, rel, "finding the first link", pfd);
	rc = linkat(pfd, slash ? slash + 1 : first, dfd, name, 0) < 0 ? -errno
								     : 0;
	close(pfd);
	if (rc < 0)
		return exp_fail(x, rel, "making a hard link", rc);
	x->hardlinks++;
	if (--l->left == 0) {
		free(l->ptr);
		ft_links_remove(&x->links, l);
	}
	return 0;
}

static int exp_entry(struct exp *x, const char *rel, int dfd,
		     const char *name, const struct fs_entry *e)
{
	bool linked = !S_ISDIR(e->attr.st_mode) && e->attr.st_nlink > 1;
	struct ft_link *l = linked ? ft_links_find(&x->links, 0,
						   e->attr.st_ino) : NULL;
	char *copy;
	int fd, rc;

	if (l)
		return exp_hardlink(x, rel, dfd, name, l);
	rc = exp_make(x, rel, dfd, name, e, &fd);
	if (rc == 0)
		rc = exp_attrs(x, rel, fd, !S_ISREG(e->attr.st_mode) &&
					   !S_ISDIR(e->attr.st_mode),
			       e->inode, &e->attr);
	if (fd >= 0)
		close(fd);
	if (rc < 0 || !linked)
		return rc;
	copy = strdup(rel);
	if (!copy || ft_links_add(&x->links, 0, e->attr.st_ino,
				  e->attr.st_nlink - 1, copy) < 0) {
		free(copy);
		return exp_fail(x, rel, "remembering a hard link", -ENOMEM);
	}
	return 0;
}

static int exp_child(struct exp *x, const char *rel, int dfd,
		     struct fs_inode *dir, const char *name)
{
	char *crel = ft_path_join(rel, name);
	struct fs_entry e;
	int rc;

	if (!crel)
		return exp_fail(x, rel, "out of memory", -ENOMEM);
	rc = ft_lookup(&x->t, dir, name, &e);
	if (rc < 0) {
		rc = exp_fail(x, crel, "looking up in the image", rc);
	} else {
		rc = exp_entry(x, crel, dfd, name, &e);
		ft_forget(&x->t, e.inode);
	}
	free(crel);
	return rc;
}

static int exp_dir(struct exp *x, const char *rel, int dfd,
		   struct fs_inode *dir)
{
	struct ft_dir d;
	int rc = ft_dir_read(&x->t, dir, &d);

	if (rc < 0)
		return exp_fail(x, rel, "reading the directory in the image",
				rc);
	for (size_t i = 0; rc == 0 && i < d.n; i++)
		rc = exp_child(x, rel, dfd, dir, d.e[i].name);
	ft_dir_free(&d);
	return rc;
}

/* --- the run ---------------------------------------------------------------- */

static void exp_free_link(void *ctx, void *ptr)
{
	(void)ctx;
	free(ptr);
}

static int exp_tree(struct exp *x)
{
	const char *from = x->a.path ? x->a.path : "/";
	struct fs_entry top;
	int rc = ft_resolve(&x->t, from, true, &top);

	if (rc == 0 && !S_ISDIR(top.attr.st_mode)) {
		ft_forget(&x->t, top.inode);
		rc = -ENOTDIR;
	}
	if (rc < 0) {
		ft_err(&x->t, "%s:%s: %s", x->a.image, from, ft_strerror(rc));
		return -1;
	}
	rc = exp_subdir(x, "", x->rootfd, &top);
	if (rc == 0)
		rc = exp_attrs(x, "", x->rootfd, false, top.inode, &top.attr);
	ft_forget(&x->t, top.inode);
	ft_links_free(&x->links, exp_free_link, NULL);
	return rc;
}

static void exp_summary(const struct exp *x)
{
	char sz[32];

	if (x->a.quiet)
		return;
	printf("%s: exported %s:%s into %s: %" PRIu64 " files (%s), %" PRIu64
	       " directories, %" PRIu64 " symlinks, %" PRIu64 " special "
	       "files, %" PRIu64 " hard links\n", x->a.image,
	       x->a.export_name ? x->a.export_name : VIMAGE_DEFAULT_EXPORT,
	       x->a.path ? x->a.path : "/", x->a.host, x->files,
	       bt_size_str(x->bytes, sz, sizeof(sz)), x->dirs, x->symlinks,
	       x->nodes, x->hardlinks);
}

static int exp_open_host(struct exp *x)
{
	if (mkdir(x->a.host, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, EXP_CMD ": %s: %s\n", x->a.host, strerror(errno));
		return -1;
	}
	x->rootfd = open(x->a.host, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (x->rootfd < 0) {
		fprintf(stderr, EXP_CMD ": %s: %s\n", x->a.host, strerror(errno));
		return -1;
	}
	return 0;
}

static int exp_run(struct exp *x)
{
	int rc;

	x->chown = geteuid() == 0;
	x->seek = true;
	if (exp_open_host(x) < 0)
		return 1;
	if (!x->chown)
		fprintf(stderr, EXP_CMD ": warning: not root: files will be "
			"owned by you, not by their owners in the image\n");
	x->buf = malloc(FT_CHUNK);
	rc = x->buf ? ft_open(&x->t, EXP_CMD, x->a.image, x->a.export_name,
			      VIMAGE_MOUNT_RO) : -ENOMEM;
	if (rc == 0) {
		rc = exp_tree(x);
		if (ft_close(&x->t) < 0)
			rc = -1;
	}
	close(x->rootfd);
	free(x->buf);
	free(x->up);
	if (rc == 0)
		exp_summary(x);
	return rc < 0 ? 1 : 0;
}

int cmd_export(int argc, char *argv[])
{
	struct exp x = { 0 };
	int rc = ft_copy_parse(EXP_CMD, "from", exp_usage, argc, argv, &x.a);

	if (rc)
		return rc == 1 ? 0 : rc;
	return exp_run(&x);
}
