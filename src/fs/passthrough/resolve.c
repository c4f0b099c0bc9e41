// SPDX-License-Identifier: MIT
/*
 * resolve.c - turning one name beneath a directory into an fd, safely.
 *
 * Every name the guest sends is resolved here, one component at a time,
 * relative to the fd of its parent directory:
 *   - the name must be a single component (no '/', not "." or "..");
 *   - openat2 with RESOLVE_BENEATH (nothing outside the parent, no absolute
 *     jumps), RESOLVE_NO_MAGICLINKS (no /proc/<pid>/fd-style jumps, should
 *     the share contain a procfs) and RESOLVE_NO_SYMLINKS plus O_NOFOLLOW (a
 *     trailing symlink is returned as itself, never followed);
 *   - RESOLVE_NO_XDEV is NOT set: mounts inside the share are part of it,
 *     as in virtiofsd (they were put there by the host admin).
 * Kernels without openat2 (< 5.6) get openat with O_NOFOLLOW, which is
 * equivalent for a single checked component.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pt_core.h"

#define PT_RESOLVE_FLAGS \
	(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS)
/* openat2 answers EAGAIN when a rename raced the walk; retry a little */
#define PT_RESOLVE_RETRIES 8

static atomic_bool pt_no_openat2;
static atomic_bool pt_no_resolve_cached;

int pt_name_check(const char *name)
{
	size_t len;

	if (!name)
		return -EINVAL;
	len = strnlen(name, NAME_MAX + 1);
	if (len == 0 || strchr(name, '/'))
		return -EINVAL;
	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	return 0;
}

static int pt_openat2(int dirfd, const char *name, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(unsigned int)flags,
		.mode = (flags & (O_CREAT | (O_TMPFILE & ~O_DIRECTORY))) ? mode : 0,
		.resolve = PT_RESOLVE_FLAGS,
	};
	long fd;

	for (int i = 0; i < PT_RESOLVE_RETRIES; i++) {
		fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
		if (fd >= 0 || errno != EAGAIN)
			break;
	}
	return fd >= 0 ? (int)fd : -errno;
}

int pt_openat_beneath(int dirfd, const char *name, int flags, mode_t mode)
{
	int ret = pt_name_check(name);

	if (ret < 0)
		return ret;
	flags |= O_NOFOLLOW | O_CLOEXEC;
	if (!atomic_load_explicit(&pt_no_openat2, memory_order_relaxed)) {
		ret = pt_openat2(dirfd, name, flags, mode);
		if (ret != -ENOSYS)
			return ret;
		atomic_store_explicit(&pt_no_openat2, true, memory_order_relaxed);
	}
	ret = openat(dirfd, name, flags, mode);
	return ret >= 0 ? ret : -errno;
}

static int pt_entry_fill(struct pt_fs *fs, int fd, const struct stat *st,
			 struct fs_entry *out)
{
	struct pt_inode *inode;
	int ret = pt_inode_from_fd(fs, fd, st, &inode);

	if (ret < 0)
		return ret;
	out->inode = pt_inode_to_fs(inode);
	out->attr = *st;
	return 0;
}

/*
 * The walk only if the dentry cache has everything (RESOLVE_CACHED, Linux
 * >= 5.12) and nothing crosses into another mount (RESOLVE_NO_XDEV: the
 * caller vouched for this file system only); else -EAGAIN, also on kernels
 * without RESOLVE_CACHED.  One try: EAGAIN no longer means a rename race.
 */
static int pt_openat_cached(int dirfd, const char *name)
{
	struct open_how how = {
		.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
		.resolve = PT_RESOLVE_FLAGS | RESOLVE_CACHED | RESOLVE_NO_XDEV,
	};
	long fd;

	if (atomic_load_explicit(&pt_no_resolve_cached, memory_order_relaxed))
		return -EAGAIN;
	fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
	if (fd >= 0)
		return (int)fd;
	if (errno == ENOSYS || errno == EINVAL) {
		atomic_store_explicit(&pt_no_resolve_cached, true,
				      memory_order_relaxed);
		return -EAGAIN;
	}
	return errno == EXDEV ? -EAGAIN : -errno;
}

static int pt_entry_of_fd(struct pt_fs *fs, int fd, struct fs_entry *out)
{
	struct stat st;

	if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return pt_entry_fill(fs, fd, &st, out);
}

int pt_entry_lookup(struct pt_fs *fs, int dirfd, const char *name,
		    struct fs_entry *out)
{
	int fd = pt_openat_beneath(dirfd, name, O_PATH, 0);

	return fd < 0 ? fd : pt_entry_of_fd(fs, fd, out);
}

int pt_entry_lookup_cached(struct pt_fs *fs, int dirfd, const char *name,
			   struct fs_entry *out)
{
	int fd = pt_name_check(name);

	if (fd == 0)
		fd = pt_openat_cached(dirfd, name);
	return fd < 0 ? fd : pt_entry_of_fd(fs, fd, out);
}

int pt_entry_from_open_fd(struct pt_fs *fs, int fd, const struct stat *st,
			  struct fs_entry *out)
{
	char name[PT_FD_NAME_MAX];
	int pfd;

	/* follows the magic link: exactly the inode of @fd, no path walk */
	pt_fd_name(fd, name);
	pfd = openat(fs->proc_self_fd, name, O_PATH | O_CLOEXEC);
	if (pfd < 0)
		return -errno;
	return pt_entry_fill(fs, pfd, st, out);
}
