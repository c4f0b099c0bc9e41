// SPDX-License-Identifier: MIT
/*
 * cmd_fs_common.c - see cmd_fs_common.h.
 *
 * Every wrapper fills a struct ft_req with its arguments and hands
 * vimage_call() a start function that makes the one fs_ops call; the
 * tool's thread waits while the fs thread runs it.  The tools act as root
 * (cred NULL), as a local file-system tool would.
 */
#include <errno.h>
#include <getopt.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <limits.h>

#include "cmd_blob_common.h"
#include "cmd_fs_common.h"

#define FT_SYMLINK_MAX 40 /* as the kernel's MAXSYMLINKS */
#define FT_DIR_BATCH 1024 /* entries per readdir call */

/* The arguments of one call; each start function reads its own. */
struct ft_req {
	struct fs_inode *in;
	struct fs_inode *parent;
	const char *name;
	const char *target;
	mode_t mode;
	dev_t rdev;
	int flags;
	struct fs_entry *entry;
	struct fs_open_out open;
	struct fs_file *file;
	struct stat *st;
	const struct fs_setattr *set;
	uint64_t off;
	struct iovec iov;
	size_t len;
	const void *value;
	int whence;
	uint64_t pos;
	fs_dir_fill_fn fill;
	void *ctx;
};

/* An operation the back-end does not have is answered -ENOSYS. */
#define FT_NEED(fs, c, op)                                   \
	do {                                                 \
		if (!(fs)->ops->op) {                        \
			fs_call_complete((c), -ENOSYS);      \
			return;                              \
		}                                            \
	} while (0)

static int ft_call(struct ft *t, void (*start)(struct fs *, struct fs_call *,
					       void *), struct ft_req *r)
{
	return vimage_call(t->im, NULL, start, r);
}

/* --- opening --------------------------------------------------------------- */

/* root() is synchronous: made on the fs thread too, where bfs's state is. */
static void start_root(struct fs *fs, struct fs_call *c, void *arg)
{
	struct ft_req *r = arg;

	r->in = fs->ops->root(fs);
	fs_call_complete(c, r->in ? 0 : -EUCLEAN);
}

/* The root directory, with one reference and its attributes. */
static int ft_root(struct ft *t, struct fs_entry *out)
{
	struct ft_req r = { 0 };
	int rc = ft_call(t, start_root, &r);

	if (rc < 0)
		return rc;
	out->inode = r.in;
	rc = ft_getattr(t, r.in, &out->attr);
	if (rc < 0)
		ft_forget(t, r.in);
	return rc;
}

int ft_open(struct ft *t, const char *cmd, const char *image,
	    const char *export_name, enum vimage_mode mode)
{
	struct vimage_config cfg = {
		.path = image,
		.export_name = export_name,
		.mode = mode,
		.who = cmd,
	};
	struct fs_entry root;
	int rc;

	memset(t, 0, sizeof(*t));
	t->cmd = cmd;
	t->image = image;
	rc = vimage_open(&t->im, &cfg);
	if (rc < 0)
		return rc;
	t->fs = vimage_fs(t->im);
	if (!t->fs)
		return 0;
	rc = ft_root(t, &root);
	if (rc < 0) {
		ft_err(t, "%s: the root directory: %s", image, ft_strerror(rc));
		vimage_close(t->im);
		return rc;
	}
	t->root = root.inode;
	return 0;
}

int ft_close(struct ft *t)
{
	int rc;

	if (t->root)
		ft_forget(t, t->root);
	t->root = NULL;
	rc = vimage_close(t->im); /* it says what failed */
	t->im = NULL;
	return rc;
}

void ft_err(const struct ft *t, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", t->cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

const char *ft_strerror(int err)
{
	switch (-err) {
	case EUCLEAN:
		return "corrupt file-system metadata";
	case EILSEQ:
		return "not a vhostfs image, or an unsupported version";
	case ENOSPC:
		return "no space left in the image";
	case EROFS:
		return "read-only (a snapshot, or opened read-only)";
	case ENOSYS:
		return "not supported by the file system yet";
	default:
		return strerror(-err);
	}
}

/* --- the calls --------------------------------------------------------------- */

void ft_forget(struct ft *t, struct fs_inode *in)
{
	if (in)
		t->fs->ops->forget(t->fs, in, 1);
}

static void start_lookup(struct fs *fs, struct fs_call *c, void *arg)
{
	struct ft_req *r = arg;

	fs->ops->lookup(fs, c, r->parent, r->name, r->entry);
}

int ft_lookup(struct ft *t, struct fs_inode *parent, const char *name,
	      struct fs_entry *out)
{
	struct ft_req r = { .parent = parent, .name = name, .entry = out };

	return ft_call(t, start_lookup, &r);
}

static void start_getattr(struct fs *fs, struct fs_call *c, void *arg)
{
	struct ft_req *r = arg;

	fs->ops->getattr(fs, c, r->in, NULL, r->st);
}

int ft_getattr(struct ft *t, struct fs_inode *in, struct stat *out)
{
	struct ft_req r = { .in = in, .st = out };

	return ft_call(t, start_getattr, &r);
}

static void start_setattr(struct fs *fs, struct fs_call *c, void *arg)
{
	struct ft_req *r = arg;

	fs->ops->setattr(fs, c, r->in, r->file, r->set, r->st);
}

int ft_setattr(struct ft *t, struct fs_inode *in, const struct fs_setattr *s)
{
	struct stat st;
	struct ft_req r = { .in = in, .set = s, .st = &st };

	return ft_call(t, start_setattr, &r);
}

static void start_mknod(struct fs *fs, struct fs_call *c, void *arg)
{
	struct ft_req *r = arg;

	fs->ops->mknod(fs, c, r->parent, r->name, r->mode, r->rdev, r->entry);
}

int ft_mknod(struct ft *t, struct fs_inode *parent, const char *name,
	     mode_t mode, dev_t rdev, struct fs_entry *out)
{
	struct ft_req r = { .parent = parent, .name = name, .mode = mode,
			    .rdev = rdev, .entry = out };

	return ft_call(t, start_mknod, &r);
}

static void start_mkdir(struct fs *fs, struct fs_call *c, void *arg)
{
	struct ft_req *r = arg;

	fs->ops->mkdir(fs, c, r->parent, r->name, r->mode, r->entry);
}

int ft_mkdir(struct ft *t, struct fs_inode *parent, const char *name,
	     mode_t mode, struct fs_entry *out)
{
	struct ft_req r = { .parent = parent, .name = name, .mode = mode,
			    .entry = out };

	return ft_call(t, start_mkdir, &r);
}

static void start_symlink(struct fs *fs, struct fs_call *c, void *arg)
{
	struct ft_req *r = arg;

	fs->ops->symlink(fs, c, r->parent, r->name, r->target, r->entry);
}

int ft_symlink(struct ft *t, struct fs_inode *parent, const char *name,
	       const char *target, struct fs_entry *out)
{
	struct ft_req r = { .parent = parent, .name = name, .target = target,
			    .entry = out };

	return ft_call(t, start_symlink, &r);
}

static void start_link(struct fs *fs, struct fs_call *c, void *arg)
{
	struct ft_req *r = arg;

	fs->ops->link(fs, c, r->in, r->parent, r->name, r->entry);
}

int ft_link(struct ft *t, struct fs_inode *in, struct fs_inode *parent,
	    const char *name, struct fs_entry *out)
{
	struct ft_req r = { .in = in, .parent = parent, .name = name,
			    .entry = out };

	return ft_call(t, start_link, &r);
}

static void start_create(struct fs *fs, struct fs_call *c, void *arg)
{
	struct ft_req *r = arg;

	fs->ops->create(fs, c, r->parent, r->name, r->mode, r->flags,
			r->entry, &r->open);
}

int ft_create(struct ft *t, struct fs_inode *parent, const char *name,
	      mode_t mode, struct fs_entry *out, struct fs_file **file)
{
	struct ft_req r = { .parent = parent, .name = name, .mode = mode,
			    .flags = O_RDWR | O_CREAT | O_EXCL, .entry = out };
	int rc = ft_call(t, start_create, &r);

	if (rc == 0)
		*file = r.open.file;
	return rc;
}

static void start_open(struct fs *fs, struct fs_call *c, void *arg)
{
	struct ft_req *r = arg;

	fs->ops->open(fs, c, r->in, r->flags, &r->open);
}

int ft_open_file(struct ft *t, struct fs_inode *in, int flags,
		 struct fs_file **file)
{
	struct ft_req r = { .in = in, .flags = flags };
	int rc = ft_call(t, start_open, &r);

	if (rc == 0)
		*file = r.open.file;
	return rc;
}

static void start_release(struct fs *fs, struct fs_call *c, void *arg)
{
	struct ft_req *r = arg;

	fs->ops->release(fs, c, r->file, false, 0);
}

int ft_release(struct ft *t, struct fs_file *file)
{
	struct ft_req r = { .file = file };

	return ft_call(t, start_release, &r);
}

static void start_read(struct fs *fs, struct fs_call *c, void *arg)
{
	struct ft_req *r = arg;

	fs->ops->read(fs, c, r->file, r->off, &r->iov, 1, &r->len);
}

int ft_read(struct ft *t, struct fs_file *file, uint64_t off, void *buf,
	    size_t len, size_t *nread)
{
	size_t done = 0;
	int rc = 0;

	/* a back-end may return less than asked before the end: ask again */
	while (done < len) {
		struct ft_req r = { .file = file, .off = off + done,
				    .iov = { (char *)buf + done, len - done } };

		rc = ft_call(t, start_read, &r);
		if (rc < 0 || r.len == 0)
			break;
		if (r.len > len - done) {
			rc = -EIO; /* more than asked: a broken back-end */
			break;
		}
		done += r.len;
	}
	*nread = done;
	return rc;
}

static void start_write(struct fs *fs, struct fs_call *c, void *arg)
{
	struct ft_req *r = arg;

	fs->ops->write(fs, c, r->file, r->off, &r->iov, 1, 0, &r->len);
}

int ft_write(struct ft *t, struct fs_file *file, uint64_t off,
	     const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		struct ft_req r = { .file = file, .off = off + done,
				    .iov = { (char *)buf + done, len - done } };
		int rc = ft_call(t, start_write, &r);

		if (rc < 0)
			return rc;
		if (r.len == 0 || r.len > len - done)
			return -EIO;
		done += r.len;
	}
	return 0;
}

static void start_lseek(struct fs *fs, struct fs_call *c, void *arg)
{
	struct ft_req *r = arg;

	FT_NEED(fs, c, lseek);
	fs->ops->lseek(fs, c, r->file, r->off, r->whence, &r->pos);
}

int ft_lseek(struct ft *t, struct fs_file *file, uint64_t off, int whence,
	     uint64_t *out)
{
	struct ft_req r = { .file = file, .off = off, .whence = whence };
	int rc = ft_call(t, start_lseek, &r);

	if (rc == 0)
		*out = r.pos;
	return rc;
}

static void start_readlink(struct fs *fs, struct fs_call *c, void *arg)
{
	struct ft_req *r = arg;

	fs->ops->readlink(fs, c, r->in, r->iov.iov_base, r->iov.iov_len,
			  &r->len);
}

int ft_readlink(struct ft *t, struct fs_inode *in, char **out)
{
	struct ft_req r = { .in = in };
	char *buf = malloc(PATH_MAX + 1);
	int rc;

	if (!buf)
		return -ENOMEM;
	r.iov.iov_base = buf;
	r.iov.iov_len = PATH_MAX;
	rc = ft_call(t, start_readlink, &r);
	if (rc == 0 && (r.len == 0 || r.len > PATH_MAX ||
			memchr(buf, '\0', r.len)))
		rc = -EUCLEAN;
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[r.len] = '\0';
	*out = buf;
	return 0;
}

static void start_setxattr(struct fs *fs, struct fs_call *c, void *arg)
{
	struct ft_req *r = arg;

	FT_NEED(fs, c, setxattr);
	fs->ops->setxattr(fs, c, r->in, r->name, r->value, r->len, 0);
}

int ft_setxattr(struct ft *t, struct fs_inode *in, const char *name,
		const void *value, size_t size)
{
	struct ft_req r = { .in = in, .name = name, .value = value,
			    .len = size };

	return ft_call(t, start_setxattr, &r);
}

static void start_getxattr(struct fs *fs, struct fs_call *c, void *arg)
{
	struct ft_req *r = arg;

	FT_NEED(fs, c, getxattr);
	fs->ops->getxattr(fs, c, r->in, r->name, r->iov.iov_base,
			  r->iov.iov_len, &r->len);
}

static void start_listxattr(struct fs *fs, struct fs_call *c, void *arg)
{
	struct ft_req *r = arg;

	FT_NEED(fs, c, listxattr);
	fs->ops->listxattr(fs, c, r->in, r->iov.iov_base, r->iov.iov_len,
			   &r->len);
}

/*
 * Ask for the size, then for the bytes; the value may grow in between
 * (-ERANGE), so ask again a few times.
 */
static int xattr_fetch(struct ft *t, struct ft_req *r,
		       void (*start)(struct fs *, struct fs_call *, void *),
		       void **out, size_t *len)
{
	for (int tries = 0; tries < 4; tries++) {
		size_t size;
		int rc;

		r->iov = (struct iovec){ NULL, 0 };
		rc = ft_call(t, start, r);
		if (rc < 0)
			return rc;
		size = r->len;
		*out = NULL;
		*len = 0;
		if (size == 0)
			return 0;
		r->iov = (struct iovec){ malloc(size), size };
		if (!r->iov.iov_base)
			return -ENOMEM;
		rc = ft_call(t, start, r);
		if (rc == 0 && r->len <= size) {
			*out = r->iov.iov_base;
			*len = r->len;
			return 0;
		}
		free(r->iov.iov_base);
		if (rc < 0 && rc != -ERANGE)
			return rc;
	}
	return -ERANGE;
}

int ft_getxattr(struct ft *t, struct fs_inode *in, const char *name,
		void **out, size_t *len)
{
	struct ft_req r = { .in = in, .name = name };

	return xattr_fetch(t, &r, start_getxattr, out, len);
}

int ft_listxattr(struct ft *t, struct fs_inode *in, char **out, size_t *len)
{
	struct ft_req r = { .in = in };
	void *buf;
	int rc = xattr_fetch(t, &r, start_listxattr, &buf, len);

	if (rc == 0)
		*out = buf;
	return rc;
}

/* --- directories ----------------------------------------------------------------- */

int ft_name_check(const char *name, size_t len)
{
	if (len == 0 || len > NAME_MAX || memchr(name, '/', len) ||
	    memchr(name, '\0', len))
		return -EINVAL;
	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return -EINVAL;
	return 0;
}

/* What readdir's fill callback collects; runs on the fs thread. */
struct dir_fill {
	struct ft_dir *d;
	uint64_t next_off;
	size_t taken;     /* entries of this batch, dots included */
	int err;
};

static bool is_dot(const char *name, size_t len)
{
	return (len == 1 && name[0] == '.') ||
	       (len == 2 && name[0] == '.' && name[1] == '.');
}

static int dir_push(struct ft_dir *d, const char *name, size_t len,
		    uint64_t ino, uint32_t dtype)
{
	struct ft_dirent *e;

	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 64;

		e = realloc(d->e, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		d->e = e;
		d->cap = cap;
	}
	e = &d->e[d->n];
	e->name = strndup(name, len);
	if (!e->name)
		return -ENOMEM;
	e->ino = ino;
	e->dtype = dtype;
	d->n++;
	return 0;
}

static int dir_fill_fn(void *ctx, const char *name, size_t namelen,
		       uint64_t ino, uint32_t dtype, uint64_t next_off,
		       const struct fs_entry *plus)
{
	struct dir_fill *f = ctx;

	(void)plus; /* plain readdir: no references */
	if (f->taken == FT_DIR_BATCH || f->err)
		return 1;
	if (!is_dot(name, namelen)) {
		f->err = ft_name_check(name, namelen) ? -EUCLEAN : 0;
		if (!f->err)
			f->err = dir_push(f->d, name, namelen, ino, dtype);
		if (f->err)
			return 1;
	}
	f->taken++;
	f->next_off = next_off;
	return 0;
}

static void start_opendir(struct fs *fs, struct fs_call *c, void *arg)
{
	struct ft_req *r = arg;

	fs->ops->opendir(fs, c, r->in, O_RDONLY, &r->open);
}

static void start_readdir(struct fs *fs, struct fs_call *c, void *arg)
{
	struct ft_req *r = arg;

	fs->ops->readdir(fs, c, r->file, r->off, false, r->fill, r->ctx);
}

static void start_releasedir(struct fs *fs, struct fs_call *c, void *arg)
{
	struct ft_req *r = arg;

	fs->ops->releasedir(fs, c, r->file);
}

static int dirent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ft_dirent *)a)->name,
		      ((const struct ft_dirent *)b)->name);
}

static int dir_read_all(struct ft *t, struct fs_file *dir, struct ft_dir *out)
{
	struct dir_fill f = { .d = out };
	int rc;

	do {
		struct ft_req r = { .file = dir, .off = f.next_off,
				    .fill = dir_fill_fn, .ctx = &f };

		f.taken = 0;
		rc = ft_call(t, start_readdir, &r);
		if (rc == 0)
			rc = f.err;
	} while (rc == 0 && f.taken > 0);
	return rc;
}

int ft_dir_read(struct ft *t, struct fs_inode *in, struct ft_dir *out)
{
	struct ft_req r = { .in = in };
	int rc, rc2;

	memset(out, 0, sizeof(*out));
	rc = ft_call(t, start_opendir, &r);
	if (rc < 0)
		return rc;
	rc = dir_read_all(t, r.open.file, out);
	r.file = r.open.file;
	rc2 = ft_call(t, start_releasedir, &r);
	if (rc == 0)
		rc = rc2;
	if (rc < 0) {
		ft_dir_free(out);
		return rc;
	}
	if (out->n)
		qsort(out->e, out->n, sizeof(out->e[0]), dirent_cmp);
	return 0;
}

void ft_dir_free(struct ft_dir *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->e[i].name);
	free(d->e);
	memset(d, 0, sizeof(*d));
}

/* --- paths -------------------------------------------------------------------- */

/*
 * Where a walk is: the directories from the root down to the one reached
 * (each with one reference), so that ".." goes back up without asking
 * the file system, and the symlinks followed so far.
 */
struct walk {
	struct fs_entry *dirs;
	size_t n, cap;
	unsigned int links;
};

static struct fs_entry *walk_top(struct walk *w)
{
	return &w->dirs[w->n - 1];
}

static int walk_push(struct walk *w, const struct fs_entry *e)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 16;
		struct fs_entry *d = realloc(w->dirs, cap * sizeof(*d));

		if (!d)
			return -ENOMEM;
		w->dirs = d;
		w->cap = cap;
	}
	w->dirs[w->n++] = *e;
	return 0;
}

/* Back to @keep directories (1: the root). */
static void walk_pop_to(struct ft *t, struct walk *w, size_t keep)
{
	while (w->n > keep)
		ft_forget(t, w->dirs[--w->n].inode);
}

static int walk_path(struct ft *t, struct walk *w, const char *path,
		     bool follow);

/* @link, a symlink found in walk_top(): go where it points. */
static int walk_symlink(struct ft *t, struct walk *w, struct fs_entry *link,
			bool follow)
{
	char *target;
	int rc;

	if (++w->links > FT_SYMLINK_MAX) {
		ft_forget(t, link->inode);
		return -ELOOP;
	}
	rc = ft_readlink(t, link->inode, &target);
	ft_forget(t, link->inode);
	if (rc < 0)
		return rc;
	if (target[0] == '/')
		walk_pop_to(t, w, 1);
	rc = walk_path(t, w, target, follow);
	free(target);
	return rc;
}

/* One component @name; @last: it ends the path. */
static int walk_step(struct ft *t, struct walk *w, const char *name,
		     bool last, bool follow)
{
	struct fs_entry next;
	int rc;

	if (!S_ISDIR(walk_top(w)->attr.st_mode))
		return -ENOTDIR;
	if (strcmp(name, ".") == 0)
		return 0;
	if (strcmp(name, "..") == 0) {
		walk_pop_to(t, w, w->n > 1 ? w->n - 1 : 1);
		return 0;
	}
	rc = ft_lookup(t, walk_top(w)->inode, name, &next);
	if (rc < 0)
		return rc;
	if (S_ISLNK(next.attr.st_mode) && (!last || follow))
		return walk_symlink(t, w, &next, true);
	rc = walk_push(w, &next);
	if (rc < 0)
		ft_forget(t, next.inode);
	return rc;
}

static int walk_path(struct ft *t, struct walk *w, const char *path,
		     bool follow)
{
	char *copy = strdup(path), *save = NULL, *name, *next;
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	for (name = strtok_r(copy, "/", &save); name; name = next) {
		next = strtok_r(NULL, "/", &save);
		rc = walk_step(t, w, name, next == NULL, follow);
		if (rc < 0)
			break;
	}
	free(copy);
	return rc;
}

int ft_resolve(struct ft *t, const char *path, bool follow,
	       struct fs_entry *out)
{
	struct fs_entry root;
	struct walk w = { 0 };
	int rc = ft_root(t, &root);

	if (rc < 0)
		return rc;
	rc = walk_push(&w, &root);
	if (rc < 0)
		ft_forget(t, root.inode);
	if (rc == 0)
		rc = walk_path(t, &w, path, follow);
	if (rc == 0) {
		*out = *walk_top(&w);
		w.n--; /* its reference goes to the caller */
	}
	walk_pop_to(t, &w, 0);
	free(w.dirs);
	return rc;
}

int ft_mkpath(struct ft *t, const char *path, struct fs_entry *out)
{
	char *copy = strdup(path), *save = NULL, *name;
	struct fs_entry cur = { .inode = NULL }, next;
	int rc = copy ? ft_root(t, &cur) : -ENOMEM;

	for (name = rc ? NULL : strtok_r(copy, "/", &save); name;
	     name = strtok_r(NULL, "/", &save)) {
		if (!S_ISDIR(cur.attr.st_mode)) {
			rc = -ENOTDIR;
			break;
		}
		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			rc = -EINVAL; /* a path made, not walked */
			break;
		}
		rc = ft_lookup(t, cur.inode, name, &next);
		if (rc == -ENOENT)
			rc = ft_mkdir(t, cur.inode, name, 0755, &next);
		if (rc < 0)
			break;
		ft_forget(t, cur.inode);
		cur = next;
	}
	free(copy);
	if (rc == 0 && !S_ISDIR(cur.attr.st_mode))
		rc = -ENOTDIR;
	if (rc < 0) {
		ft_forget(t, cur.inode);
		return rc;
	}
	*out = cur;
	return 0;
}

char *ft_path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	bool slash = la && a[la - 1] != '/';
	char *s = malloc(la + slash + lb + 1);

	if (!s)
		return NULL;
	memcpy(s, a, la);
	if (slash)
		s[la] = '/';
	memcpy(s + la + slash, b, lb + 1);
	return s;
}

/* --- the hard-link map --------------------------------------------------------- */

static size_t link_hash(uint64_t a, uint64_t b)
{
	uint64_t h = a * 0x9e3779b97f4a7c15ull ^ b * 0xc2b2ae3d27d4eb4full;

	return (size_t)(h ^ h >> 29);
}

/* Slot of (a, b), or the empty slot where it would go. */
static struct ft_link *link_slot(struct ft_links *m, uint64_t a, uint64_t b)
{
	size_t mask = m->cap - 1, i = link_hash(a, b) & mask;

	while (m->slot[i].ptr && (m->slot[i].a != a || m->slot[i].b != b))
		i = (i + 1) & mask;
	return &m->slot[i];
}

struct ft_link *ft_links_find(struct ft_links *m, uint64_t a, uint64_t b)
{
	struct ft_link *l;

	if (!m->cap)
		return NULL;
	l = link_slot(m, a, b);
	return l->ptr ? l : NULL;
}

static int links_grow(struct ft_links *m)
{
	struct ft_links bigger = { .cap = m->cap ? 2 * m->cap : 64 };

	bigger.slot = calloc(bigger.cap, sizeof(*bigger.slot));
	if (!bigger.slot)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		if (m->slot[i].ptr)
			*link_slot(&bigger, m->slot[i].a, m->slot[i].b) =
				m->slot[i];
	}
	bigger.n = m->n;
	free(m->slot);
	*m = bigger;
	return 0;
}

int ft_links_add(struct ft_links *m, uint64_t a, uint64_t b, uint64_t left,
		 void *ptr)
{
	struct ft_link *l;

	if (!ptr)
		return -EINVAL;
	if ((m->n + 1) * 2 > m->cap && links_grow(m) < 0)
		return -ENOMEM;
	l = link_slot(m, a, b);
	if (!l->ptr)
		m->n++;
	*l = (struct ft_link){ .a = a, .b = b, .left = left, .ptr = ptr };
	return 0;
}

/* Linear probing: the entries after the hole that belong before it move. */
void ft_links_remove(struct ft_links *m, struct ft_link *l)
{
	size_t mask = m->cap - 1, hole = (size_t)(l - m->slot), i = hole;

	m->slot[hole].ptr = NULL;
	m->n--;
	for (i = (i + 1) & mask; m->slot[i].ptr; i = (i + 1) & mask) {
		size_t home = link_hash(m->slot[i].a, m->slot[i].b) & mask;

		/* stays if its home lies cyclically in (hole, i] */
		if (hole <= i ? (home > hole && home <= i)
			      : (home > hole || home <= i))
			continue;
		m->slot[hole] = m->slot[i];
		m->slot[i].ptr = NULL;
		hole = i;
	}
}

void ft_links_free(struct ft_links *m, void (*fn)(void *ctx, void *ptr),
		   void *ctx)
{
	for (size_t i = 0; i < m->cap; i++) {
		if (m->slot[i].ptr && fn)
			fn(ctx, m->slot[i].ptr);
	}
	free(m->slot);
	memset(m, 0, sizeof(*m));
}

/* --- xattrs ------------------------------------------------------------------------ */

bool ft_xattr_copied(const char *name)
{
	return strncmp(name, "user.", 5) == 0 ||
	       strncmp(name, "trusted.", 8) == 0 ||
	       strncmp(name, "security.", 9) == 0 ||
	       strcmp(name, "system.posix_acl_access") == 0 ||
	       strcmp(name, "system.posix_acl_default") == 0;
}

bool ft_xattr_unsupported(int err)
{
	return err == -ENOSYS || err == -EOPNOTSUPP || err == -ENOTSUP;
}

/* --- import and export arguments ------------------------------------------ */

enum { FT_OPT_XATTRS = 256, FT_OPT_NO_XATTRS };

static int ft_copy_opt(const char *cmd, int c, const char *v,
		       struct ft_copy_args *a)
{
	switch (c) {
	case 'e':
		if (vimage_name_check(v) < 0)
			return bt_usage(cmd, "--export '%s': 1 to %d "
					"characters of A-Z a-z 0-9 . _ -", v,
					VIMAGE_NAME_MAX);
		a->export_name = v;
		return 0;
	case 'p':
		a->path = v;
		return 0;
	case FT_OPT_XATTRS:
		a->xmode = FT_XATTR_FORCE;
		return 0;
	case FT_OPT_NO_XATTRS:
		a->xmode = FT_XATTR_OFF;
		return 0;
	case 'q':
		a->quiet = true;
		return 0;
	}
	return bt_opt_error(cmd, c, v);
}

int ft_copy_parse(const char *cmd, const char *path_opt,
		  void (*usage)(FILE *f), int argc, char *argv[],
		  struct ft_copy_args *a)
{
	const struct option longopts[] = {
		{ "export", required_argument, NULL, 'e' },
		{ path_opt, required_argument, NULL, path_opt[0] },
		{ "xattrs", no_argument, NULL, FT_OPT_XATTRS },
		{ "no-xattrs", no_argument, NULL, FT_OPT_NO_XATTRS },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char optstring[] = ":e:?:qh";
	int c, rc;

	optstring[4] = path_opt[0];
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) !=
	       -1) {
		if (c == 'h') {
			usage(stdout);
			return 1;
		}
		rc = ft_copy_opt(cmd, c == path_opt[0] ? 'p' : c,
				 bt_optarg(c, argv), a);
		if (rc)
			return rc;
	}
	if (argc - optind < 2)
		return bt_usage(cmd, argc == optind ? "no IMAGE given"
				: "no HOSTDIR given");
	if (argc - optind > 2)
		return bt_usage(cmd, "'%s' is extra", argv[optind + 2]);
	a->image = argv[optind];
	a->host = argv[optind + 1];
	return 0;
}
