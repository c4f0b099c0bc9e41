// SPDX-License-Identifier: MIT
/*
 * xattr.c - extended attributes and POSIX ACLs of the passthrough back-end.
 *
 * Which file: the syscalls take a path or a real fd, never an O_PATH fd.
 * We use the path "/proc/self/fd/N" of the inode's O_PATH fd with the
 * *following* calls (getxattr, not lgetxattr): following that magic link
 * lands on exactly the inode of the fd - for a symlink the link itself,
 * never its target - so it serves every file type without opening device
 * nodes or FIFOs (CVE-2020-35517).  The l* calls would act on the /proc
 * link instead.  Where /proc is not mounted (a sandbox), regular files and
 * directories are reopened and the f* calls used; other types then get
 * -EOPNOTSUPP, as virtiofsd does.
 *
 * Who asks: set and remove always run as the caller (pt_cred_enter), so
 * the host kernel makes every permission decision: owner or write access
 * for user.*, CAP_SYS_ADMIN for trusted.* and security.* (a switched
 * thread has no capabilities left), ownership for ACLs - and it updates
 * the mode (and S_ISGID) when an access ACL is set.  Reads run as the
 * caller too, except names every host user may read (security.*,
 * system.posix_acl_*): security.capability is asked for on every write by
 * some guests and must stay cheap.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "passthrough_internal.h"

enum pt_xattr_op {
	PT_XATTR_GET,
	PT_XATTR_LIST,
	PT_XATTR_SET,
	PT_XATTR_REMOVE,
};

/* One xattr syscall to make, in the call's argument scratch. */
struct pt_xattr_args {
	struct pt_inode *inode;
	const char *name;
	const void *in;      /* set: the value */
	void *out;           /* get, list: the guest's buffer */
	size_t size;
	size_t *len;         /* get, list: the result length */
	int flags;           /* set: XATTR_CREATE, XATTR_REPLACE */
	enum pt_xattr_op op;
	bool as_caller;
};

static_assert(sizeof(struct pt_xattr_args) <= PT_ARGS_MAX,
	      "xattr arguments must fit the call's argument scratch");

static bool pt_prefix(const char *name, const char *prefix)
{
	return strncmp(name, prefix, strlen(prefix)) == 0;
}

static bool pt_xattr_is_acl(const char *name)
{
	return strcmp(name, "system.posix_acl_access") == 0 ||
	       strcmp(name, "system.posix_acl_default") == 0;
}

/*
 * Names we serve: the four namespaces the guest's kernel uses, NAME_MAX
 * long at most.  Other system.* names mean host-side objects (NFSv4 ACLs,
 * socket protocol names...) that are not the guest's business.
 */
static int pt_xattr_name_check(struct pt_fs *fs, const char *name)
{
	size_t len = strnlen(name, XATTR_NAME_MAX + 1);

	if (len == 0 || len > XATTR_NAME_MAX)
		return -ERANGE;
	if (pt_xattr_is_acl(name))
		return fs->cfg.posix_acl ? 0 : -EOPNOTSUPP;
	if (pt_prefix(name, "user.") || pt_prefix(name, "trusted.") ||
	    pt_prefix(name, "security."))
		return 0;
	return -EOPNOTSUPP;
}

static ssize_t pt_xattr_on_path(const char *path,
				const struct pt_xattr_args *a)
{
	switch (a->op) {
	case PT_XATTR_GET:
		return getxattr(path, a->name, a->out, a->size);
	case PT_XATTR_LIST:
		return listxattr(path, a->out, a->size);
	case PT_XATTR_SET:
		return setxattr(path, a->name, a->in, a->size, a->flags);
	default:
		return removexattr(path, a->name);
	}
}

static ssize_t pt_xattr_on_fd(int fd, const struct pt_xattr_args *a)
{
	switch (a->op) {
	case PT_XATTR_GET:
		return fgetxattr(fd, a->name, a->out, a->size);
	case PT_XATTR_LIST:
		return flistxattr(fd, a->out, a->size);
	case PT_XATTR_SET:
		return fsetxattr(fd, a->name, a->in, a->size, a->flags);
	default:
		return fremovexattr(fd, a->name);
	}
}

/* Run the syscall on @path (or @fd if @path is NULL), as the caller if asked. */
static ssize_t pt_xattr_exec(struct fs_call *c, const struct pt_xattr_args *a,
			     const char *path, int fd)
{
	struct pt_cred_saved saved = { 0 };
	ssize_t ret;

	if (a->as_caller) {
		int err = pt_cred_enter(&c->cred, &saved);

		if (err < 0)
			return err;
	}
	ret = path ? pt_xattr_on_path(path, a) : pt_xattr_on_fd(fd, a);
	if (ret < 0)
		ret = -errno;
	if (a->as_caller)
		pt_cred_leave(&saved);
	return ret;
}

/* No /proc: a real fd for a regular file or directory (opened as root). */
static ssize_t pt_xattr_exec_reopened(struct pt_fs *fs, struct fs_call *c,
				      const struct pt_xattr_args *a)
{
	ssize_t ret;
	int fd;

	if (!S_ISREG(a->inode->type) && !S_ISDIR(a->inode->type))
		return -EOPNOTSUPP;
	fd = pt_inode_open(fs, a->inode, O_RDONLY | O_CLOEXEC, false);
	if (fd < 0)
		return fd;
	ret = pt_xattr_exec(c, a, NULL, fd);
	close(fd);
	return ret;
}

/* Worker: the syscall on the inode; its result (length) or -errno. */
static ssize_t pt_xattr_run(struct pt_fs *fs, struct fs_call *c,
			    const struct pt_xattr_args *a)
{
	char path[sizeof("/proc/self/fd/") + PT_FD_NAME_MAX];
	char name[PT_FD_NAME_MAX];
	ssize_t ret;
	/* before pt_cred_enter: a file-handle inode needs our capabilities */
	int pfd = pt_inode_get_path_fd(fs, a->inode);

	if (pfd < 0)
		return pfd;
	pt_fd_name(pfd, name);
	snprintf(path, sizeof(path), "/proc/self/fd/%s", name);
	ret = pt_xattr_exec(c, a, path, -1);
	pt_inode_put_path_fd(fs, a->inode, pfd);
	/* our own live fd is always there, unless /proc is not */
	if (ret == -ENOENT)
		ret = pt_xattr_exec_reopened(fs, c, a);
	return ret;
}

static int pt_xattr_work(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	struct pt_xattr_args *a = arg;
	ssize_t ret = pt_xattr_run(fs, c, a);

	if (ret < 0)
		return (int)ret;
	if (a->len)
		*a->len = (size_t)ret;
	return 0;
}

static struct pt_xattr_args *pt_xattr_args_init(struct fs_call *c,
						struct fs_inode *inode,
						enum pt_xattr_op op)
{
	struct pt_xattr_args *a = pt_call_args(c);

	memset(a, 0, sizeof(*a));
	a->inode = pt_inode_of(inode);
	a->op = op;
	a->as_caller = true;
	return a;
}

/* Checks shared by set and remove; 0 or -errno. */
static int pt_xattr_modify_check(struct pt_fs *fs, const char *name)
{
	if (!fs->cfg.xattr)
		return -ENOSYS;
	if (fs->cfg.readonly)
		return -EROFS;
	return pt_xattr_name_check(fs, name);
}

void pt_setxattr(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
		 const char *name, const void *value, size_t size, int flags)
{
	struct pt_fs *pfs = pt_fs_of(fs);
	struct pt_xattr_args *a;
	int err = pt_xattr_modify_check(pfs, name);

	if (!err && size > XATTR_SIZE_MAX)
		err = -E2BIG;
	if (!err && (flags & ~(XATTR_CREATE | XATTR_REPLACE)))
		err = -EINVAL;
	if (err) {
		fs_call_complete(c, err);
		return;
	}
	a = pt_xattr_args_init(c, inode, PT_XATTR_SET);
	a->name = name;
	a->in = value;
	a->size = size;
	a->flags = flags;
	pt_offload(pfs, c, pt_xattr_work, a);
}

void pt_removexattr(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
		    const char *name)
{
	struct pt_fs *pfs = pt_fs_of(fs);
	struct pt_xattr_args *a;
	int err = pt_xattr_modify_check(pfs, name);

	if (err) {
		fs_call_complete(c, err);
		return;
	}
	a = pt_xattr_args_init(c, inode, PT_XATTR_REMOVE);
	a->name = name;
	pt_offload(pfs, c, pt_xattr_work, a);
}

void pt_getxattr(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
		 const char *name, void *buf, size_t size, size_t *len)
{
	struct pt_fs *pfs = pt_fs_of(fs);
	struct pt_xattr_args *a;
	int err = pfs->cfg.xattr ? pt_xattr_name_check(pfs, name) : -ENOSYS;

	if (err) {
		fs_call_complete(c, err);
		return;
	}
	a = pt_xattr_args_init(c, inode, PT_XATTR_GET);
	a->name = name;
	a->out = size ? buf : NULL;
	/* no value is larger; the kernel clamps the same way */
	a->size = size > XATTR_SIZE_MAX ? XATTR_SIZE_MAX : size;
	a->len = len;
	a->as_caller = pt_prefix(name, "user.") || pt_prefix(name, "trusted.");
	pt_offload(pfs, c, pt_xattr_work, a);
}

/*
 * As the caller, so that the host lists exactly what a local process of
 * that user would see (no trusted.* names without CAP_SYS_ADMIN).
 */
void pt_listxattr(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
		  char *buf, size_t size, size_t *len)
{
	struct pt_fs *pfs = pt_fs_of(fs);
	struct pt_xattr_args *a;

	if (!pfs->cfg.xattr) {
		fs_call_complete(c, -ENOSYS);
		return;
	}
	a = pt_xattr_args_init(c, inode, PT_XATTR_LIST);
	a->out = size ? buf : NULL;
	a->size = size > XATTR_LIST_MAX ? XATTR_LIST_MAX : size;
	a->len = len;
	pt_offload(pfs, c, pt_xattr_work, a);
}
