// SPDX-License-Identifier: MIT
/*
 * dir.c - opendir, readdir(plus), releasedir, fsyncdir.
 *
 * Offsets: every entry is given the host's d_off, the file system's own
 * cookie for "just after this entry", and a READDIR at offset X is an
 * lseek(X) on the directory fd, so offsets stay valid across calls, in any
 * order, as long as the host fs keeps them stable (ext4, xfs, btrfs, tmpfs).
 * A sequential reader (the common case) resumes from the buffered entries
 * without a seek.
 *
 * The fill callback runs on the worker thread that reads the directory,
 * under the stream's mutex: the request belongs to us until it completes,
 * and stopping exactly where the reply is full means a READDIRPLUS looks
 * up only the entries that fit.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pt_core.h"

#define PT_DIR_BUF 8192

struct pt_dir_stream {
	pthread_mutex_t lock;
	bool positioned;   /* the fd is at the end of buf and next_off is valid */
	uint64_t next_off; /* offset of the entry at buf[pos] */
	size_t pos;
	size_t len;
	_Alignas(8) char buf[PT_DIR_BUF];
};

/* getdents64's record; declared here since glibc only has it with _DIRENT64 */
struct pt_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

struct pt_dir_args {
	struct pt_inode *inode;
	struct pt_file *dir;
	struct fs_open_out *out;
	uint64_t off;
	fs_dir_fill_fn fill;
	void *fill_ctx;
	bool plus;
	bool datasync;
};

/* a record holds at least a 1-byte name and its NUL */
#define PT_DIRENT_NAME offsetof(struct pt_dirent64, d_name)
#define PT_DIRENT_MIN (PT_DIRENT_NAME + 2)

static_assert(sizeof(struct pt_dir_args) <= PT_ARGS_MAX, "args too big");

void pt_dir_stream_free(struct pt_dir_stream *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static struct pt_dir_args *pt_dir_args_init(struct fs_call *c,
					    const struct pt_dir_args *a)
{
	struct pt_dir_args *args = pt_call_args(c);

	*args = *a;
	return args;
}

/* --- opendir ----------------------------------------------------------------- */

static int pt_opendir_work(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	struct pt_dir_args *a = arg;
	struct pt_dir_stream *s;
	struct pt_file *pf;
	int fd, ret = -ENOMEM;

	(void)c;
	fd = pt_inode_open(fs, a->inode, O_RDONLY | O_DIRECTORY, false);
	if (fd < 0) {
		pt_inode_unref(fs, a->inode, 1);
		return fd;
	}
	s = calloc(1, sizeof(*s));
	pf = s ? pt_file_new(a->inode, fd, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
	       : NULL;
	pt_inode_unref(fs, a->inode, 1); /* pt_file_new took its own */
	if (!pf) {
		free(s);
		close(fd);
		return ret;
	}
	pthread_mutex_init(&s->lock, NULL);
	pf->dir = s;
	*a->out = (struct fs_open_out){ .file = (struct fs_file *)pf };
	return 0;
}

void pt_opendir(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
		int flags, struct fs_open_out *out)
{
	struct pt_dir_args a = { .inode = pt_inode_of(inode), .out = out };
	struct pt_dir_args *args;

	(void)flags; /* a directory is read, never written through its fd */
	if (a.inode->type != S_IFDIR) {
		fs_call_complete(c, -ENOTDIR);
		return;
	}
	args = pt_dir_args_init(c, &a);
	pt_inode_ref(args->inode);
	pt_offload(pt_fs_of(fs), c, pt_opendir_work, args);
}

/* --- readdir ----------------------------------------------------------------- */

/* Make the stream deliver the entry at @off next. */
static int pt_dir_seek(struct pt_file *pf, uint64_t off)
{
	struct pt_dir_stream *s = pf->dir;

	if (s->positioned && s->next_off == off)
		return 0;
	if (off > (uint64_t)INT64_MAX)
		return -EINVAL;
	s->positioned = false;
	if (lseek(pf->fd, (off_t)off, SEEK_SET) < 0)
		return -errno;
	s->pos = s->len = 0;
	s->next_off = off;
	s->positioned = true;
	return 0;
}

/* The next raw entry, reading more when the buffer is used up; NULL at the end. */
static int pt_dir_peek(struct pt_file *pf, struct pt_dirent64 **out)
{
	struct pt_dir_stream *s = pf->dir;
	struct pt_dirent64 *d;
	long n;

	if (s->pos >= s->len) {
		n = syscall(SYS_getdents64, pf->fd, s->buf, sizeof(s->buf));
		if (n < 0) {
			s->positioned = false;
			return -errno;
		}
		s->pos = 0;
		s->len = (size_t)n;
		if (n == 0) {
			*out = NULL;
			return 0;
		}
	}
	d = (struct pt_dirent64 *)(void *)(s->buf + s->pos);
	/* the kernel wrote it, but a bad record must not walk us off the buffer */
	if (d->d_reclen < PT_DIRENT_MIN || d->d_reclen > s->len - s->pos) {
		s->positioned = false;
		return -EIO;
	}
	*out = d;
	return 0;
}

static bool pt_dir_is_dot(const char *name)
{
	return name[0] == '.' && (name[1] == '\0' ||
				  (name[1] == '.' && name[2] == '\0'));
}

/*
 * The READDIRPLUS entry for @d: "." and ".." are described without an inode
 * (we never hand out an inode above the share); others are looked up.
 */
static int pt_dir_plus(struct pt_fs *fs, struct pt_file *pf,
		       const struct pt_dirent64 *d, struct fs_entry *e)
{
	if (pt_dir_is_dot(d->d_name)) {
		memset(e, 0, sizeof(*e));
		e->attr.st_ino = d->d_ino;
		e->attr.st_mode = DTTOIF(d->d_type);
		return 0;
	}
	return pt_entry_lookup(fs, pf->fd, d->d_name, e);
}

/*
 * Offer @d to the filler: 0 taken, 1 reply full (not taken), -ENOENT the
 * entry vanished since it was read (skip it), other -errno a failure.
 */
static int pt_dir_emit(struct pt_fs *fs, struct pt_dir_args *a,
		       const struct pt_dirent64 *d)
{
	size_t namelen = strnlen(d->d_name, d->d_reclen - PT_DIRENT_NAME);
	struct fs_entry e;
	int ret;

	if (!a->plus)
		return a->fill(a->fill_ctx, d->d_name, namelen, d->d_ino,
			       d->d_type, (uint64_t)d->d_off, NULL);
	ret = pt_dir_plus(fs, a->dir, d, &e);
	if (ret < 0)
		return ret;
	/* the reference in e passes to the filler even when it refuses */
	return a->fill(a->fill_ctx, d->d_name, namelen, e.attr.st_ino, d->d_type,
		       (uint64_t)d->d_off, &e);
}

static int pt_dir_fill(struct pt_fs *fs, struct pt_dir_args *a)
{
	struct pt_dir_stream *s = a->dir->dir;
	struct pt_dirent64 *d = NULL;
	int ret, taken = 0;

	ret = pt_dir_seek(a->dir, a->off);
	while (ret == 0) {
		ret = pt_dir_peek(a->dir, &d);
		if (ret < 0 || !d)
			break;
		ret = pt_dir_emit(fs, a, d);
		if (ret == 1)
			return 0;
		if (ret < 0 && ret != -ENOENT)
			break;
		taken += ret == 0;
		ret = 0;
		s->pos += d->d_reclen;
		s->next_off = (uint64_t)d->d_off;
	}
	/* entries already delivered make a short listing, not an error */
	return taken ? 0 : ret;
}

static int pt_readdir_work(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	struct pt_dir_args *a = arg;
	struct pt_dir_stream *s = a->dir->dir;
	int ret;

	(void)c;
	pthread_mutex_lock(&s->lock);
	ret = pt_dir_fill(fs, a);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

void pt_readdir(struct fs *fs, struct fs_call *c, struct fs_file *dir,
		uint64_t off, bool plus, fs_dir_fill_fn fill, void *fill_ctx)
{
	struct pt_dir_args a = {
		.dir = pt_file_of(dir), .off = off, .plus = plus, .fill = fill,
		.fill_ctx = fill_ctx,
	};

	if (!a.dir->dir) {
		fs_call_complete(c, -ENOTDIR);
		return;
	}
	pt_offload(pt_fs_of(fs), c, pt_readdir_work, pt_dir_args_init(c, &a));
}

/* --- releasedir, fsyncdir --------------------------------------------------------- */

static int pt_releasedir_work(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	struct pt_dir_args *a = arg;

	(void)c;
	pt_file_free(fs, a->dir);
	return 0;
}

void pt_releasedir(struct fs *fs, struct fs_call *c, struct fs_file *dir)
{
	struct pt_dir_args a = { .dir = pt_file_of(dir) };

	pt_offload(pt_fs_of(fs), c, pt_releasedir_work, pt_dir_args_init(c, &a));
}

static int pt_fsyncdir_work(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	struct pt_dir_args *a = arg;
	int ret;

	(void)fs;
	(void)c;
	ret = a->datasync ? fdatasync(a->dir->fd) : fsync(a->dir->fd);
	return ret < 0 ? -errno : 0;
}

void pt_fsyncdir(struct fs *fs, struct fs_call *c, struct fs_file *dir,
		 bool datasync)
{
	struct pt_dir_args a = { .dir = pt_file_of(dir), .datasync = datasync };

	pt_offload(pt_fs_of(fs), c, pt_fsyncdir_work, pt_dir_args_init(c, &a));
}
