// SPDX-License-Identifier: MIT
/*
 * attr.c - getattr, setattr, access, statfs.
 *
 * O_PATH fds cannot be fchmod'ed, ftruncate'd or futimens'ed, so each
 * change goes through the call that works on an inode without opening it:
 *   mode   fchmod on the open file, else fchmodat on /proc/self/fd/N
 *   owner  fchownat(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)
 *   size   ftruncate on the open file if it is writable, else on a fresh
 *          O_WRONLY fd from pt_inode_open (regular files only)
 *   times  utimensat(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)
 * They run as ourselves: the guest kernel has checked the caller's rights
 * (FUSE default_permissions), as with virtiofsd.
 *
 * access() runs faccessat2(AT_EACCESS) under the caller's uid/gid.  FUSE
 * does not send the caller's supplementary groups and we switch without
 * ours, so access granted only through a supplementary group is denied:
 * the safe direction.  Guests mounting with default_permissions (Linux
 * virtiofs does) never send ACCESS anyway.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pt_core.h"

struct pt_attr_args {
	struct pt_inode *inode;
	struct pt_file *file;     /* may be NULL */
	void *out;                /* struct stat or struct statvfs */
	int mask;                 /* access */
	struct fs_setattr in;
};

static_assert(sizeof(struct pt_attr_args) <= PT_ARGS_MAX, "args too big");

/* Copy @a into @c's scratch with a reference on its inode, and run @fn. */
static struct pt_attr_args *pt_attr_args_take(struct fs_call *c,
					      const struct pt_attr_args *a)
{
	struct pt_attr_args *args = pt_call_args(c);

	*args = *a;
	pt_inode_ref(args->inode);
	return args;
}

static void pt_attr_submit(struct pt_fs *fs, struct fs_call *c, pt_work_fn fn,
			   const struct pt_attr_args *a)
{
	pt_offload(fs, c, fn, pt_attr_args_take(c, a));
}

static int pt_attr_finish(struct pt_fs *fs, struct pt_attr_args *a, int ret)
{
	pt_inode_unref(fs, a->inode, 1);
	return ret;
}

/* fstat of the open file, or of the inode through its path fd */
static int pt_attr_stat(struct pt_fs *fs, struct pt_attr_args *a, int pfd,
			struct stat *st)
{
	int ret;

	if (a->file)
		ret = fstat(a->file->fd, st);
	else
		ret = fstatat(pfd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
	(void)fs;
	return ret < 0 ? -errno : 0;
}

/* --- getattr --------------------------------------------------------------- */

/* fstat through the open file or a path fd (@pfd < 0: none was needed). */
static int pt_getattr_stat(struct pt_fs *fs, struct pt_attr_args *a, int pfd)
{
	struct stat st;
	int ret = pt_attr_stat(fs, a, pfd, &st);

	if (pfd >= 0)
		pt_inode_put_path_fd(fs, a->inode, pfd);
	if (ret == 0)
		*(struct stat *)a->out = st;
	return pt_attr_finish(fs, a, ret);
}

static int pt_getattr_work(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	struct pt_attr_args *a = arg;
	int pfd = -1;

	(void)c;
	if (!a->file) {
		pfd = pt_inode_get_path_fd(fs, a->inode);
		if (pfd < 0)
			return pt_attr_finish(fs, a, pfd);
	}
	return pt_getattr_stat(fs, a, pfd);
}

/* On the reactor: only when no fd has to be reopened (pt_offload_fast). */
static int pt_getattr_fast(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	struct pt_attr_args *a = arg;
	int pfd = -1;

	(void)c;
	if (!a->file) {
		pfd = pt_inode_try_path_fd(fs, a->inode);
		if (pfd < 0)
			return -EAGAIN;
	}
	return pt_getattr_stat(fs, a, pfd);
}

void pt_getattr(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
		struct fs_file *file, struct stat *out)
{
	struct pt_fs *pfs = pt_fs_of(fs);
	struct pt_attr_args a = {
		.inode = pt_inode_of(inode), .out = out,
		.file = file ? pt_file_of(file) : NULL,
	};

	pt_offload_fast(pfs, c, a.inode, pt_getattr_fast, pt_getattr_work,
			pt_attr_args_take(c, &a));
}

/* --- setattr --------------------------------------------------------------- */

static int pt_set_mode(struct pt_fs *fs, struct pt_attr_args *a, int pfd,
		       mode_t mode)
{
	char name[PT_FD_NAME_MAX];

	if (a->inode->type == S_IFLNK)
		return -EOPNOTSUPP; /* Linux has no symlink modes */
	mode &= 07777;
	if (a->file)
		return fchmod(a->file->fd, mode) < 0 ? -errno : 0;
	pt_fd_name(pfd, name);
	return fchmodat(fs->proc_self_fd, name, mode, 0) < 0 ? -errno : 0;
}

static int pt_set_owner(struct pt_attr_args *a, int pfd)
{
	uid_t uid = (a->in.valid & FS_SET_UID) ? a->in.uid : (uid_t)-1;
	gid_t gid = (a->in.valid & FS_SET_GID) ? a->in.gid : (gid_t)-1;

	if (fchownat(pfd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

static int pt_set_size(struct pt_fs *fs, struct pt_attr_args *a)
{
	int fd, ret;

	if (a->in.size > (uint64_t)INT64_MAX)
		return -EFBIG;
	if (a->inode->type == S_IFDIR)
		return -EISDIR;
	if (a->inode->type != S_IFREG)
		return -EINVAL;
	if (a->file && (a->file->flags & O_ACCMODE) != O_RDONLY)
		return ftruncate(a->file->fd, (off_t)a->in.size) < 0 ? -errno : 0;
	fd = pt_inode_open(fs, a->inode, O_WRONLY, false);
	if (fd < 0)
		return fd;
	ret = ftruncate(fd, (off_t)a->in.size) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

static void pt_time_of(struct timespec *ts, bool set, bool now,
		       const struct timespec *t)
{
	if (now) {
		ts->tv_sec = 0;
		ts->tv_nsec = UTIME_NOW;
	} else if (set) {
		*ts = *t;
	} else {
		ts->tv_sec = 0;
		ts->tv_nsec = UTIME_OMIT;
	}
}

static int pt_set_times(struct pt_attr_args *a, int pfd)
{
	uint32_t v = a->in.valid;
	struct timespec ts[2];

	pt_time_of(&ts[0], v & FS_SET_ATIME, v & FS_SET_ATIME_NOW, &a->in.atime);
	pt_time_of(&ts[1], v & FS_SET_MTIME, v & FS_SET_MTIME_NOW, &a->in.mtime);
	if (utimensat(pfd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

/*
 * KILL_SUIDGID without a mode change: drop S_ISUID, and S_ISGID when group
 * execute is set (without it S_ISGID means mandatory locking), as a write
 * by an unprivileged process would.
 */
static int pt_kill_suidgid(struct pt_fs *fs, struct pt_attr_args *a, int pfd)
{
	struct stat st;
	mode_t kill = S_ISUID;
	int ret = pt_attr_stat(fs, a, pfd, &st);

	if (ret < 0 || !S_ISREG(st.st_mode))
		return ret;
	if (st.st_mode & S_IXGRP)
		kill |= S_ISGID;
	if (!(st.st_mode & kill))
		return 0;
	return pt_set_mode(fs, a, pfd, st.st_mode & ~kill);
}

#define PT_SET_TIMES (FS_SET_ATIME | FS_SET_MTIME | FS_SET_ATIME_NOW | \
		      FS_SET_MTIME_NOW)

/* Apply the changes in a fixed order; stop at the first failure. */
static int pt_setattr_apply(struct pt_fs *fs, struct pt_attr_args *a, int pfd)
{
	uint32_t v = a->in.valid;
	int ret = 0;

	if (v & FS_SET_MODE)
		ret = pt_set_mode(fs, a, pfd, a->in.mode);
	if (ret == 0 && (v & (FS_SET_UID | FS_SET_GID)))
		ret = pt_set_owner(a, pfd);
	if (ret == 0 && (v & FS_SET_SIZE))
		ret = pt_set_size(fs, a);
	if (ret == 0 && (v & FS_SET_KILL_SUIDGID) && !(v & FS_SET_MODE))
		ret = pt_kill_suidgid(fs, a, pfd);
	if (ret == 0 && (v & PT_SET_TIMES))
		ret = pt_set_times(a, pfd);
	/* FS_SET_CTIME: the host sets ctime itself on any change */
	return ret;
}

static int pt_setattr_work(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	struct pt_attr_args *a = arg;
	struct stat st;
	int pfd, ret;

	(void)c;
	pfd = pt_inode_get_path_fd(fs, a->inode);
	if (pfd < 0)
		return pt_attr_finish(fs, a, pfd);
	ret = pt_setattr_apply(fs, a, pfd);
	if (ret == 0)
		ret = pt_attr_stat(fs, a, pfd, &st);
	pt_inode_put_path_fd(fs, a->inode, pfd);
	if (ret == 0)
		*(struct stat *)a->out = st;
	return pt_attr_finish(fs, a, ret);
}

void pt_setattr(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
		struct fs_file *file, const struct fs_setattr *in,
		struct stat *out)
{
	struct pt_attr_args a = {
		.inode = pt_inode_of(inode), .out = out, .in = *in,
		.file = file ? pt_file_of(file) : NULL,
	};

	if (pt_refuse_readonly(pt_fs_of(fs), c))
		return;
	pt_attr_submit(pt_fs_of(fs), c, pt_setattr_work, &a);
}

/* --- access ------------------------------------------------------------------ */

static int pt_access_work(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	struct pt_attr_args *a = arg;
	struct pt_cred_saved saved;
	int pfd, ret;

	pfd = pt_inode_get_path_fd(fs, a->inode);
	if (pfd < 0)
		return pt_attr_finish(fs, a, pfd);
	ret = pt_cred_enter(&c->cred, &saved);
	if (ret == 0) {
		if (syscall(SYS_faccessat2, pfd, "", a->mask,
			    AT_EMPTY_PATH | AT_EACCESS | AT_SYMLINK_NOFOLLOW) < 0)
			ret = -errno;
		pt_cred_leave(&saved);
	}
	pt_inode_put_path_fd(fs, a->inode, pfd);
	return pt_attr_finish(fs, a, ret);
}

void pt_access(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
	       int mask)
{
	struct pt_attr_args a = { .inode = pt_inode_of(inode), .mask = mask };

	if (mask & ~(R_OK | W_OK | X_OK)) {
		fs_call_complete(c, -EINVAL);
		return;
	}
	if ((mask & W_OK) && pt_fs_of(fs)->cfg.readonly) {
		fs_call_complete(c, -EROFS);
		return;
	}
	pt_attr_submit(pt_fs_of(fs), c, pt_access_work, &a);
}

/* --- statfs ------------------------------------------------------------------ */

static int pt_statfs_work(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	struct pt_attr_args *a = arg;
	struct statvfs sv;
	int pfd, ret;

	(void)c;
	pfd = pt_inode_get_path_fd(fs, a->inode);
	if (pfd < 0)
		return pt_attr_finish(fs, a, pfd);
	ret = fstatvfs(pfd, &sv) < 0 ? -errno : 0;
	pt_inode_put_path_fd(fs, a->inode, pfd);
	if (ret == 0)
		*(struct statvfs *)a->out = sv;
	return pt_attr_finish(fs, a, ret);
}

void pt_statfs(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
	       struct statvfs *out)
{
	struct pt_attr_args a = { .inode = pt_inode_of(inode), .out = out };

	pt_attr_submit(pt_fs_of(fs), c, pt_statfs_work, &a);
}
