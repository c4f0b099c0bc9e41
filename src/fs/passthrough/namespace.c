// SPDX-License-Identifier: MIT
/*
 * namespace.c - lookup, mknod, mkdir, symlink, link, unlink, rmdir, rename,
 * readlink.
 *
 * Each op copies its arguments into the call's scratch, takes an internal
 * reference on the inodes it uses (a guest may FORGET an inode while an op
 * on it is still running) and runs on a worker.  Names are resolved only
 * beneath their parent's fd (resolve.c).  Creations run under the caller's
 * credentials (cred.c) so new inodes get the caller's uid/gid; the parent's
 * path fd is taken before switching, because reopening a handle needs our
 * own capabilities.  Special files may be created (as virtiofsd does when
 * run as root) but are never opened (inode.c).
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pt_core.h"

struct pt_ns_args {
	struct pt_inode *parent;  /* or the inode of link/readlink */
	struct pt_inode *parent2; /* rename's new parent, link's new parent */
	const char *name;
	const char *name2;        /* rename's new name, symlink's target */
	struct fs_entry *out;
	mode_t mode;
	dev_t rdev;
	uint32_t flags;
	char *buf;                /* readlink */
	size_t size;
	size_t *len;
};

static_assert(sizeof(struct pt_ns_args) <= PT_ARGS_MAX, "args too big");

/* Copy @a into @c's scratch with references on its inodes, and offload. */
static void pt_ns_submit(struct pt_fs *fs, struct fs_call *c, pt_work_fn fn,
			 const struct pt_ns_args *a)
{
	struct pt_ns_args *args = pt_call_args(c);

	*args = *a;
	pt_inode_ref(args->parent);
	if (args->parent2)
		pt_inode_ref(args->parent2);
	pt_offload(fs, c, fn, args);
}

static int pt_ns_finish(struct pt_fs *fs, struct pt_ns_args *a, int ret)
{
	pt_inode_unref(fs, a->parent, 1);
	if (a->parent2)
		pt_inode_unref(fs, a->parent2, 1);
	return ret;
}

/* --- lookup ------------------------------------------------------------------- */

static int pt_lookup_work(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	struct pt_ns_args *a = arg;
	int pfd = pt_inode_get_path_fd(fs, a->parent);
	int ret = pfd;

	if (pfd >= 0) {
		ret = pt_entry_lookup(fs, pfd, a->name, a->out);
		pt_inode_put_path_fd(fs, a->parent, pfd);
	}
	return pt_ns_finish(fs, a, ret);
}

/* On the reactor: a dentry-cache hit with the parent's fd at hand. */
static int pt_lookup_fast(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	struct pt_ns_args *a = arg;
	int pfd = pt_inode_try_path_fd(fs, a->parent);
	int ret;

	(void)c;
	if (pfd < 0)
		return -EAGAIN;
	ret = pt_entry_lookup_cached(fs, pfd, a->name, a->out);
	pt_inode_put_path_fd(fs, a->parent, pfd);
	return ret == -EAGAIN ? ret : pt_ns_finish(fs, a, ret);
}

void pt_lookup(struct fs *fs, struct fs_call *c, struct fs_inode *parent,
	       const char *name, struct fs_entry *out)
{
	struct pt_fs *pfs = pt_fs_of(fs);
	struct pt_ns_args *args = pt_call_args(c);

	*args = (struct pt_ns_args){
		.parent = pt_inode_of(parent), .name = name, .out = out,
	};
	pt_inode_ref(args->parent);
	pt_offload_fast(pfs, c, args->parent, pt_lookup_fast, pt_lookup_work,
			args);
}

/* --- creating names --------------------------------------------------------------- */

typedef int (*pt_make_fn)(int dirfd, const struct pt_ns_args *a, mode_t mode);

/*
 * Create a name in the parent with @make under the caller's credentials,
 * then look the new inode up (as ourselves) to fill a->out.
 */
static int pt_ns_make(struct pt_fs *fs, struct fs_call *c,
		      struct pt_ns_args *a, pt_make_fn make)
{
	struct pt_cred_saved saved;
	int pfd, ret;

	ret = pt_name_check(a->name);
	if (ret < 0)
		return ret;
	pfd = pt_inode_get_path_fd(fs, a->parent);
	if (pfd < 0)
		return pfd;
	ret = pt_cred_enter(&c->cred, &saved);
	if (ret == 0) {
		ret = make(pfd, a, pt_cred_mode(&c->cred, a->mode));
		pt_cred_leave(&saved);
	}
	if (ret == 0)
		ret = pt_entry_lookup(fs, pfd, a->name, a->out);
	pt_inode_put_path_fd(fs, a->parent, pfd);
	return ret;
}

static int pt_make_node(int dirfd, const struct pt_ns_args *a, mode_t mode)
{
	return mknodat(dirfd, a->name, mode, a->rdev) < 0 ? -errno : 0;
}

static int pt_make_dir(int dirfd, const struct pt_ns_args *a, mode_t mode)
{
	return mkdirat(dirfd, a->name, mode) < 0 ? -errno : 0;
}

static int pt_make_symlink(int dirfd, const struct pt_ns_args *a, mode_t mode)
{
	(void)mode;
	return symlinkat(a->name2, dirfd, a->name) < 0 ? -errno : 0;
}

static int pt_mknod_work(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	return pt_ns_finish(fs, arg, pt_ns_make(fs, c, arg, pt_make_node));
}

static int pt_mkdir_work(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	return pt_ns_finish(fs, arg, pt_ns_make(fs, c, arg, pt_make_dir));
}

static int pt_symlink_work(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	return pt_ns_finish(fs, arg, pt_ns_make(fs, c, arg, pt_make_symlink));
}

static bool pt_mknod_type_ok(mode_t mode)
{
	switch (mode & S_IFMT) {
	case 0: /* mknod(2): a regular file */
	case S_IFREG:
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		return true;
	default:
		return false;
	}
}

void pt_mknod(struct fs *fs, struct fs_call *c, struct fs_inode *parent,
	      const char *name, mode_t mode, dev_t rdev, struct fs_entry *out)
{
	struct pt_ns_args a = {
		.parent = pt_inode_of(parent), .name = name, .out = out,
		.mode = mode & (S_IFMT | 07777), .rdev = rdev,
	};

	if (pt_refuse_readonly(pt_fs_of(fs), c))
		return;
	if (!pt_mknod_type_ok(mode)) {
		fs_call_complete(c, -EINVAL);
		return;
	}
	pt_ns_submit(pt_fs_of(fs), c, pt_mknod_work, &a);
}

void pt_mkdir(struct fs *fs, struct fs_call *c, struct fs_inode *parent,
	      const char *name, mode_t mode, struct fs_entry *out)
{
	struct pt_ns_args a = {
		.parent = pt_inode_of(parent), .name = name, .out = out,
		.mode = mode & 07777,
	};

	if (pt_refuse_readonly(pt_fs_of(fs), c))
		return;
	pt_ns_submit(pt_fs_of(fs), c, pt_mkdir_work, &a);
}

void pt_symlink(struct fs *fs, struct fs_call *c, struct fs_inode *parent,
		const char *name, const char *target, struct fs_entry *out)
{
	struct pt_ns_args a = {
		.parent = pt_inode_of(parent), .name = name, .out = out,
		.name2 = target,
	};

	if (pt_refuse_readonly(pt_fs_of(fs), c))
		return;
	/* the target is stored, never resolved by us: only its size matters */
	if (!target || target[0] == '\0' || strnlen(target, PATH_MAX) >= PATH_MAX) {
		fs_call_complete(c, target && target[0] ? -ENAMETOOLONG : -EINVAL);
		return;
	}
	pt_ns_submit(pt_fs_of(fs), c, pt_symlink_work, &a);
}

/* --- link ------------------------------------------------------------------------- */

/*
 * A hard link to the inode of @fd: linkat with AT_EMPTY_PATH (needs
 * CAP_DAC_READ_SEARCH), else through its /proc/self/fd magic link.
 */
static int pt_link_fd(struct pt_fs *fs, int fd, int dirfd, const char *name)
{
	char fdname[PT_FD_NAME_MAX];

	if (linkat(fd, "", dirfd, name, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != ENOENT && errno != EPERM)
		return -errno;
	pt_fd_name(fd, fdname);
	if (linkat(fs->proc_self_fd, fdname, dirfd, name, AT_SYMLINK_FOLLOW) < 0)
		return -errno;
	return 0;
}

static int pt_link_work(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	struct pt_ns_args *a = arg;
	int fd, pfd, ret;

	(void)c;
	ret = pt_name_check(a->name2);
	if (ret < 0)
		return pt_ns_finish(fs, a, ret);
	fd = pt_inode_get_path_fd(fs, a->parent);
	if (fd < 0)
		return pt_ns_finish(fs, a, fd);
	pfd = pt_inode_get_path_fd(fs, a->parent2);
	ret = pfd;
	if (pfd >= 0) {
		ret = pt_link_fd(fs, fd, pfd, a->name2);
		if (ret == 0)
			ret = pt_entry_lookup(fs, pfd, a->name2, a->out);
		pt_inode_put_path_fd(fs, a->parent2, pfd);
	}
	pt_inode_put_path_fd(fs, a->parent, fd);
	return pt_ns_finish(fs, a, ret);
}

void pt_link(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
	     struct fs_inode *newparent, const char *newname,
	     struct fs_entry *out)
{
	struct pt_ns_args a = {
		.parent = pt_inode_of(inode), .parent2 = pt_inode_of(newparent),
		.name2 = newname, .out = out,
	};

	if (pt_refuse_readonly(pt_fs_of(fs), c))
		return;
	if (a.parent->type == S_IFDIR) {
		fs_call_complete(c, -EPERM);
		return;
	}
	pt_ns_submit(pt_fs_of(fs), c, pt_link_work, &a);
}

/* --- removing names ---------------------------------------------------------------- */

static int pt_unlink_common(struct pt_fs *fs, struct pt_ns_args *a, int flags)
{
	int pfd, ret = pt_name_check(a->name);

	if (ret < 0)
		return pt_ns_finish(fs, a, ret);
	pfd = pt_inode_get_path_fd(fs, a->parent);
	ret = pfd;
	if (pfd >= 0) {
		ret = unlinkat(pfd, a->name, flags) < 0 ? -errno : 0;
		pt_inode_put_path_fd(fs, a->parent, pfd);
	}
	return pt_ns_finish(fs, a, ret);
}

static int pt_unlink_work(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	(void)c;
	return pt_unlink_common(fs, arg, 0);
}

static int pt_rmdir_work(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	(void)c;
	return pt_unlink_common(fs, arg, AT_REMOVEDIR);
}

void pt_unlink(struct fs *fs, struct fs_call *c, struct fs_inode *parent,
	       const char *name)
{
	struct pt_ns_args a = { .parent = pt_inode_of(parent), .name = name };

	if (pt_refuse_readonly(pt_fs_of(fs), c))
		return;
	pt_ns_submit(pt_fs_of(fs), c, pt_unlink_work, &a);
}

void pt_rmdir(struct fs *fs, struct fs_call *c, struct fs_inode *parent,
	      const char *name)
{
	struct pt_ns_args a = { .parent = pt_inode_of(parent), .name = name };

	if (pt_refuse_readonly(pt_fs_of(fs), c))
		return;
	pt_ns_submit(pt_fs_of(fs), c, pt_rmdir_work, &a);
}

/* --- rename ------------------------------------------------------------------------- */

static int pt_rename_work(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	struct pt_ns_args *a = arg;
	int ofd, nfd, ret;

	(void)c;
	ret = pt_name_check(a->name);
	if (ret == 0)
		ret = pt_name_check(a->name2);
	if (ret < 0)
		return pt_ns_finish(fs, a, ret);
	ofd = pt_inode_get_path_fd(fs, a->parent);
	if (ofd < 0)
		return pt_ns_finish(fs, a, ofd);
	nfd = pt_inode_get_path_fd(fs, a->parent2);
	ret = nfd;
	if (nfd >= 0) {
		ret = renameat2(ofd, a->name, nfd, a->name2, a->flags) < 0 ? -errno : 0;
		pt_inode_put_path_fd(fs, a->parent2, nfd);
	}
	pt_inode_put_path_fd(fs, a->parent, ofd);
	return pt_ns_finish(fs, a, ret);
}

void pt_rename(struct fs *fs, struct fs_call *c, struct fs_inode *parent,
	       const char *name, struct fs_inode *newparent,
	       const char *newname, uint32_t flags)
{
	const uint32_t known = RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT;
	struct pt_ns_args a = {
		.parent = pt_inode_of(parent), .parent2 = pt_inode_of(newparent),
		.name = name, .name2 = newname, .flags = flags,
	};

	if (pt_refuse_readonly(pt_fs_of(fs), c))
		return;
	if (flags & ~known) {
		fs_call_complete(c, -EINVAL);
		return;
	}
	pt_ns_submit(pt_fs_of(fs), c, pt_rename_work, &a);
}

/* --- readlink ----------------------------------------------------------------------- */

static int pt_readlink_work(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	struct pt_ns_args *a = arg;
	int fd = pt_inode_get_path_fd(fs, a->parent);
	ssize_t n;

	(void)c;
	if (fd < 0)
		return pt_ns_finish(fs, a, fd);
	n = readlinkat(fd, "", a->buf, a->size);
	if (n < 0)
		n = -errno;
	pt_inode_put_path_fd(fs, a->parent, fd);
	if (n >= 0)
		*a->len = (size_t)n;
	return pt_ns_finish(fs, a, n < 0 ? (int)n : 0);
}

void pt_readlink(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
		 char *buf, size_t size, size_t *len)
{
	struct pt_ns_args a = {
		.parent = pt_inode_of(inode), .buf = buf, .size = size, .len = len,
	};

	if (a.parent->type != S_IFLNK) {
		fs_call_complete(c, -EINVAL);
		return;
	}
	pt_ns_submit(pt_fs_of(fs), c, pt_readlink_work, &a);
}
