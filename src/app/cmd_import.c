// SPDX-License-Identifier: MIT
/*
 * cmd_import.c - `vhostfs import IMAGE HOSTDIR [--export NAME] [--into
 * PATH]`: copy the tree HOSTDIR into a file system of an image, keeping
 * what a backup keeps: owner, mode (with suid, sgid, sticky), atime and
 * mtime to the nanosecond, xattrs, symlinks, hard links, FIFOs, sockets,
 * device nodes, and the holes of sparse files.
 *
 * The host tree is walked with directory file descriptors and
 * AT_SYMLINK_NOFOLLOW, never through a symlink.  Hard links are found by
 * (st_dev, st_ino): the first name creates the inode, whose reference is
 * kept until its last link was made.  Data moves in 1 MiB pieces, data
 * segments only (SEEK_DATA / SEEK_HOLE).  Attributes go last: owner first
 * (a chown clears suid bits), then xattrs, then mode and times; a
 * directory's after its entries, whose creation changed its mtime.
 * Nothing in the image is overwritten: a name that exists stops the
 * import.
 */
#include <dirent.h>
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

#define IMP_CMD "vhostfs import"

struct imp {
	struct ft t;
	struct ft_copy_args a; /* path: --into */
	bool no_xattrs_here; /* the image said it has none: warned once */
	struct stat image_st; /* never import the image into itself */
	struct ft_links links;
	char *buf;            /* FT_CHUNK bytes */
	uint64_t files, dirs, symlinks, nodes, hardlinks, bytes;
};

static void imp_usage(FILE *f)
{
	fputs("usage: vhostfs import IMAGE HOSTDIR [--export NAME] [--into "
	      "PATH]\n"
	      "Copy the tree HOSTDIR into a file system of IMAGE (offline: the "
	      "image must\nnot be served).  Owners, modes, nanosecond times, "
	      "xattrs, symlinks, hard\nlinks, FIFOs, sockets, device nodes "
	      "and sparse files are kept; HOSTDIR's own\nattributes go to "
	      "PATH.  Nothing is overwritten: a name that exists stops it.\n\n"
	      "  -e, --export NAME  the file system to write (default main)\n"
	      "  -i, --into PATH    where in it (default /; made if missing)\n"
	      "      --xattrs       xattrs must be copied (fail if the image "
	      "cannot store\n"
	      "                     them; default: warn once and go on)\n"
	      "      --no-xattrs    do not copy xattrs\n"
	      "  -q, --quiet        no summary line\n"
	      "  -h, --help         show this help\n\n"
	      "Exit status: 0 copied, 1 failed (the message names the path), 2 "
	      "bad\narguments.\n", f);
}

/* --- messages --------------------------------------------------------------- */

/* "HOSTDIR/rel: what: error"; returns -1 (the import stops). */
static int imp_fail(struct imp *m, const char *rel, const char *what, int err)
{
	ft_err(&m->t, "%s%s%s: %s: %s%s", m->a.host, *rel ? "/" : "", rel, what,
	       err == -EEXIST ? "already in the image" : ft_strerror(err),
	       err == -EEXIST ? " (import does not overwrite)" : "");
	return -1;
}

/* --- xattrs ----------------------------------------------------------------- */

/* The host's xattr names of @proc, /proc/self/fd/N (any kind, O_PATH too). */
static int host_xattr_list(const char *proc, char **out, ssize_t *len)
{
	for (int tries = 0; tries < 4; tries++) {
		ssize_t n = listxattr(proc, NULL, 0);
		char *buf;

		if (n <= 0) {
			*out = NULL;
			*len = 0;
			/* a host fs without xattrs has none to copy */
			return n == 0 || errno == ENOTSUP ? 0 : -errno;
		}
		buf = malloc((size_t)n);
		if (!buf)
			return -ENOMEM;
		*len = listxattr(proc, buf, (size_t)n);
		if (*len >= 0) {
			*out = buf;
			return 0;
		}
		free(buf);
		if (errno != ERANGE)
			return -errno;
	}
	return -ERANGE;
}

static int host_xattr_get(const char *proc, const char *name, void **out,
			  size_t *len)
{
	for (int tries = 0; tries < 4; tries++) {
		ssize_t n = getxattr(proc, name, NULL, 0);
		void *buf;

		if (n < 0)
			return -errno;
		buf = malloc(n ? (size_t)n : 1);
		if (!buf)
			return -ENOMEM;
		n = getxattr(proc, name, buf, (size_t)n);
		if (n >= 0) {
			*out = buf;
			*len = (size_t)n;
			return 0;
		}
		free(buf);
		if (errno != ERANGE)
			return -errno;
	}
	return -ERANGE;
}

/* The image cannot store xattrs: stop copying them, or stop (--xattrs). */
static int imp_xattr_unsupported(struct imp *m, const char *rel, int err)
{
	if (m->a.xmode == FT_XATTR_FORCE)
		return imp_fail(m, rel, "copying xattrs (--xattrs)", err);
	ft_err(&m->t, "warning: the file system in %s does not store xattrs "
	       "(%s): xattrs are not copied", m->a.image, ft_strerror(err));
	m->no_xattrs_here = true;
	return 0;
}

static int imp_xattr_one(struct imp *m, const char *rel, const char *proc,
			 struct fs_inode *in, const char *name)
{
	void *val = NULL;
	size_t len = 0;
	int rc = host_xattr_get(proc, name, &val, &len);

	if (rc == -ENODATA)
		return 0; /* removed meanwhile */
	if (rc < 0)
		return imp_fail(m, rel, "reading an xattr", rc);
	rc = ft_setxattr(&m->t, in, name, val, len);
	free(val);
	if (rc < 0 && ft_xattr_unsupported(rc))
		return imp_xattr_unsupported(m, rel, rc);
	return rc < 0 ? imp_fail(m, rel, name, rc) : 0;
}

static int imp_xattrs(struct imp *m, const char *rel, int fd,
		      struct fs_inode *in)
{
	char proc[64], *names = NULL;
	ssize_t len = 0;
	int rc;

	if (m->a.xmode == FT_XATTR_OFF || m->no_xattrs_here)
		return 0;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	rc = host_xattr_list(proc, &names, &len);
	if (rc < 0)
		return imp_fail(m, rel, "listing xattrs", rc);
	for (ssize_t i = 0; rc == 0 && i < len && !m->no_xattrs_here;
	     i += (ssize_t)strlen(names + i) + 1) {
		if (ft_xattr_copied(names + i))
			rc = imp_xattr_one(m, rel, proc, in, names + i);
	}
	free(names);
	return rc;
}

/* --- attributes ------------------------------------------------------------- */

/* Owner, xattrs, then mode and times; @fd is the host file (any kind). */
static int imp_attrs(struct imp *m, const char *rel, int fd,
		     struct fs_inode *in, const struct stat *st)
{
	struct fs_setattr own = {
		.valid = FS_SET_UID | FS_SET_GID,
		.uid = st->st_uid,
		.gid = st->st_gid,
	};
	struct fs_setattr rest = {
		.valid = FS_SET_ATIME | FS_SET_MTIME,
		.mode = st->st_mode & 07777,
		.atime = st->st_atim,
		.mtime = st->st_mtim,
	};
	int rc = ft_setattr(&m->t, in, &own);

	if (rc < 0)
		return imp_fail(m, rel, "setting the owner", rc);
	if (imp_xattrs(m, rel, fd, in) < 0)
		return -1;
	if (!S_ISLNK(st->st_mode))
		rest.valid |= FS_SET_MODE;
	rc = ft_setattr(&m->t, in, &rest);
	return rc < 0 ? imp_fail(m, rel, "setting mode and times", rc) : 0;
}

/* --- data ------------------------------------------------------------------- */

/* Bytes [off, end) of @fd into @file. */
static int imp_copy_range(struct imp *m, const char *rel, int fd,
			  struct fs_file *file, uint64_t off, uint64_t end,
			  uint64_t *copied_to)
{
	while (off < end) {
		size_t want = end - off < FT_CHUNK ? end - off : FT_CHUNK;
		ssize_t n = pread(fd, m->buf, want, (off_t)off);
		int rc;

		if (n < 0)
			return imp_fail(m, rel, "reading", -errno);
		if (n == 0)
			return 0; /* shrank meanwhile: the size is set after */
		rc = ft_write(&m->t, file, off, m->buf, (size_t)n);
		if (rc < 0)
			return imp_fail(m, rel, "writing into the image", rc);
		off += (uint64_t)n;
		m->bytes += (uint64_t)n;
		*copied_to = off;
	}
	return 0;
}

/* The data segments of @fd (all of it where SEEK_DATA is unknown). */
static int imp_copy_data(struct imp *m, const char *rel, int fd,
			 struct fs_file *file, uint64_t size,
			 uint64_t *copied_to)
{
	uint64_t off = 0;

	while (off < size) {
		off_t data = lseek(fd, (off_t)off, SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO)
			return 0; /* a hole to the end */
		if (data < 0 && errno != EINVAL)
			return imp_fail(m, rel, "seeking data", -errno);
		if (data < 0)
			data = (off_t)off;
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0 || (uint64_t)hole > size)
			hole = (off_t)size;
		if (imp_copy_range(m, rel, fd, file, (uint64_t)data,
				   (uint64_t)hole, copied_to) < 0)
			return -1;
		off = (uint64_t)hole;
	}
	return 0;
}

static int imp_data(struct imp *m, const char *rel, int fd,
		    struct fs_file *file, struct fs_inode *in,
		    const struct stat *st)
{
	struct fs_setattr sz = { .valid = FS_SET_SIZE,
				 .size = (uint64_t)st->st_size };
	uint64_t copied_to = 0;
	int rc;

	if (imp_copy_data(m, rel, fd, file, (uint64_t)st->st_size,
			  &copied_to) < 0)
		return -1;
	if (copied_to == sz.size)
		return 0;
	rc = ft_setattr(&m->t, in, &sz); /* a hole at the end */
	return rc < 0 ? imp_fail(m, rel, "setting the size", rc) : 0;
}

/* --- one entry -------------------------------------------------------------- */

/* Reading the tree leaves its atimes alone where the host lets it. */
static int imp_open_host(int dfd, const char *name, int flags)
{
	int fd = openat(dfd, name, flags | O_CLOEXEC | O_NOATIME);

	if (fd < 0 && errno == EPERM) /* O_NOATIME needs the owner or root */
		fd = openat(dfd, name, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int imp_file(struct imp *m, const char *rel, int fd,
		    struct fs_inode *dir, const char *name,
		    const struct stat *st, struct fs_entry *e)
{
	struct fs_file *file;
	int rc = ft_create(&m->t, dir, name, 0600, e, &file), rc2;

	if (rc < 0)
		return imp_fail(m, rel, "creating", rc);
	rc = imp_data(m, rel, fd, file, e->inode, st);
	rc2 = ft_release(&m->t, file);
	if (rc == 0 && rc2 < 0)
		rc = imp_fail(m, rel, "closing in the image", rc2);
	m->files++;
	return rc;
}

static int imp_symlink(struct imp *m, const char *rel, int dfd,
		       const char *name, struct fs_inode *dir,
		       const struct stat *st, struct fs_entry *e)
{
	size_t size = (size_t)st->st_size + 1;
	char *target = malloc(size);
	ssize_t n = target ? readlinkat(dfd, name, target, size) : -1;
	int rc;

	if (n < 0 || (size_t)n >= size) {
		free(target);
		return imp_fail(m, rel, "reading the symlink",
				n < 0 ? -errno : -EAGAIN);
	}
	target[n] = '\0';
	rc = ft_symlink(&m->t, dir, name, target, e);
	free(target);
	m->symlinks++;
	return rc < 0 ? imp_fail(m, rel, "creating the symlink", rc) : 0;
}

static int imp_dir(struct imp *m, const char *rel, int dfd,
		   struct fs_inode *dir);

/* Make @name in @dir as the host's @st says; the entry in *@e. */
static int imp_make(struct imp *m, const char *rel, int dfd, int fd,
		    const char *name, struct fs_inode *dir,
		    const struct stat *st, struct fs_entry *e)
{
	int rc;

	switch (st->st_mode & S_IFMT) {
	case S_IFDIR:
		rc = ft_mkdir(&m->t, dir, name, 0700, e);
		if (rc < 0)
			return imp_fail(m, rel, "making the directory", rc);
		m->dirs++;
		return imp_dir(m, rel, fd, e->inode);
	case S_IFREG:
		return imp_file(m, rel, fd, dir, name, st, e);
	case S_IFLNK:
		return imp_symlink(m, rel, dfd, name, dir, st, e);
	case S_IFIFO: case S_IFSOCK: case S_IFCHR: case S_IFBLK:
		rc = ft_mknod(&m->t, dir, name, (st->st_mode & S_IFMT) | 0600,
			      st->st_rdev, e);
		m->nodes++;
		return rc < 0 ? imp_fail(m, rel, "making the node", rc) : 0;
	}
	return imp_fail(m, rel, "unknown file type", -EINVAL);
}

/* A further name of an inode already imported. */
static int imp_hardlink(struct imp *m, const char *rel, struct ft_link *l,
			struct fs_inode *dir, const char *name)
{
	struct fs_entry e;
	int rc = ft_link(&m->t, l->ptr, dir, name, &e);

	if (rc < 0)
		return imp_fail(m, rel, "making a hard link", rc);
	ft_forget(&m->t, e.inode);
	m->hardlinks++;
	if (--l->left == 0) {
		ft_forget(&m->t, l->ptr);
		ft_links_remove(&m->links, l);
	}
	return 0;
}

static int imp_open_kind(int dfd, const char *name, mode_t mode)
{
	if (S_ISDIR(mode))
		return imp_open_host(dfd, name, O_RDONLY | O_DIRECTORY |
					 O_NOFOLLOW);
	if (S_ISREG(mode))
		return imp_open_host(dfd, name, O_RDONLY | O_NOFOLLOW);
	/* FIFOs and devices are not opened for I/O: a path fd only */
	return imp_open_host(dfd, name, O_PATH | O_NOFOLLOW);
}

static int imp_entry(struct imp *m, const char *rel, int dfd,
		     const char *name, struct fs_inode *dir,
		     const struct stat *st)
{
	bool linked = !S_ISDIR(st->st_mode) && st->st_nlink > 1;
	struct ft_link *l = linked ? ft_links_find(&m->links, st->st_dev,
						   st->st_ino) : NULL;
	struct fs_entry e = { .inode = NULL };
	struct stat now;
	int fd, rc;

	if (l)
		return imp_hardlink(m, rel, l, dir, name);
	fd = imp_open_kind(dfd, name, st->st_mode);
	if (fd < 0)
		return imp_fail(m, rel, "opening", fd);
	if (fstat(fd, &now) < 0 || now.st_ino != st->st_ino ||
	    now.st_dev != st->st_dev) {
		close(fd);
		return imp_fail(m, rel, "opening", -EAGAIN); /* replaced */
	}
	rc = imp_make(m, rel, dfd, fd, name, dir, st, &e);
	if (rc == 0)
		rc = imp_attrs(m, rel, fd, e.inode, st);
	close(fd);
	if (rc == 0 && linked) {
		rc = ft_links_add(&m->links, st->st_dev, st->st_ino,
				  st->st_nlink - 1, e.inode);
		if (rc == 0)
			return 0; /* the reference stays in the map */
		rc = imp_fail(m, rel, "remembering a hard link", rc);
	}
	ft_forget(&m->t, e.inode);
	return rc;
}

/* --- directories ------------------------------------------------------------ */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in host directory @dfd, sorted; NULL-terminated. */
static int host_names(int dfd, char ***out, size_t *n)
{
	int fd = dup(dfd);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	char **v = NULL;
	size_t cap = 0;
	struct dirent *de;
	int rc = 0;

	if (!d) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		return rc;
	}
	*n = 0;
	while (rc == 0 && (errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (*n == cap) {
			char **nv = realloc(v, (cap = cap ? 2 * cap : 64) *
						       sizeof(*v));

			if (!nv) {
				rc = -ENOMEM;
				break;
			}
			v = nv;
		}
		v[*n] = strdup(de->d_name);
		rc = v[*n] ? 0 : -ENOMEM;
		*n += rc == 0;
	}
	if (rc == 0 && errno)
		rc = -errno;
	closedir(d);
	if (rc == 0 && *n)
		qsort(v, *n, sizeof(*v), name_cmp);
	*out = v;
	return rc;
}

static int imp_child(struct imp *m, const char *rel, int dfd,
		     const char *name, struct fs_inode *dir)
{
	char *crel = ft_path_join(rel, name);
	struct stat st;
	int rc;

	if (!crel)
		return imp_fail(m, rel, "out of memory", -ENOMEM);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		rc = imp_fail(m, crel, "stat", -errno);
	} else if (st.st_dev == m->image_st.st_dev &&
		   st.st_ino == m->image_st.st_ino) {
		ft_err(&m->t, "warning: %s/%s is the image itself: skipped",
		       m->a.host, crel);
		rc = 0;
	} else {
		rc = imp_entry(m, crel, dfd, name, dir, &st);
	}
	free(crel);
	return rc;
}

static int imp_dir(struct imp *m, const char *rel, int dfd,
		   struct fs_inode *dir)
{
	char **names = NULL;
	size_t n = 0, i;
	int rc = host_names(dfd, &names, &n);

	if (rc < 0)
		return imp_fail(m, rel, "reading the directory", rc);
	for (i = 0; rc == 0 && i < n; i++)
		rc = imp_child(m, rel, dfd, names[i], dir);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* --- the run ---------------------------------------------------------------- */

static void imp_forget_link(void *ctx, void *ptr)
{
	ft_forget(ctx, ptr);
}

static int imp_tree(struct imp *m, int hfd, const struct stat *hst)
{
	const char *into = m->a.path ? m->a.path : "/";
	struct fs_entry top;
	int rc = ft_mkpath(&m->t, into, &top);

	if (rc < 0) {
		ft_err(&m->t, "%s:%s: %s", m->a.image, into,
		       rc == -ENOTDIR ? "not a directory" : ft_strerror(rc));
		return -1;
	}
	rc = imp_dir(m, "", hfd, top.inode);
	if (rc == 0)
		rc = imp_attrs(m, "", hfd, top.inode, hst);
	ft_forget(&m->t, top.inode);
	ft_links_free(&m->links, imp_forget_link, &m->t);
	return rc;
}

static void imp_summary(const struct imp *m)
{
	char sz[32];

	if (m->a.quiet)
		return;
	printf("%s: imported %s into %s:%s%s: %" PRIu64 " files (%s), %"
	       PRIu64 " directories, %" PRIu64 " symlinks, %" PRIu64
	       " special files, %" PRIu64 " hard links\n", m->a.image, m->a.host,
	       m->a.export_name ? m->a.export_name : VIMAGE_DEFAULT_EXPORT,
	       m->a.path && m->a.path[0] == '/' ? "" : "/",
	       m->a.path ? m->a.path : "", m->files,
	       bt_size_str(m->bytes, sz, sizeof(sz)), m->dirs, m->symlinks,
	       m->nodes, m->hardlinks);
}

static int imp_run(struct imp *m)
{
	struct stat hst;
	int hfd = imp_open_host(AT_FDCWD, m->a.host, O_RDONLY | O_DIRECTORY),
	    rc = hfd < 0 ? hfd : 0;

	if (rc == 0 && fstat(hfd, &hst) < 0)
		rc = -errno;
	if (rc < 0) {
		fprintf(stderr, IMP_CMD ": %s: %s\n", m->a.host, strerror(-rc));
		if (hfd >= 0)
			close(hfd);
		return 1;
	}
	if (stat(m->a.image, &m->image_st) < 0)
		memset(&m->image_st, 0, sizeof(m->image_st));
	m->buf = malloc(FT_CHUNK);
	rc = m->buf ? ft_open(&m->t, IMP_CMD, m->a.image, m->a.export_name,
			      VIMAGE_MOUNT_RW) : -ENOMEM;
	if (rc == 0) {
		rc = imp_tree(m, hfd, &hst);
		if (ft_close(&m->t) < 0)
			rc = -1;
	}
	close(hfd);
	free(m->buf);
	if (rc == 0)
		imp_summary(m);
	return rc < 0 ? 1 : 0;
}

int cmd_import(int argc, char *argv[])
{
	struct imp m = { 0 };
	int rc = ft_copy_parse(IMP_CMD, "into", imp_usage, argc, argv, &m.a);

	if (rc)
		return rc == 1 ? 0 : rc;
	return imp_run(&m);
}
