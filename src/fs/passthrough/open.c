// SPDX-License-Identifier: MIT
/*
 * open.c - open, create, tmpfile, flush, release.
 *
 * Opening never resolves a path: the inode is reopened by its handle or
 * its /proc/self/fd magic link (pt_inode_open), which refuses symlinks,
 * device nodes, FIFOs and sockets (CVE-2020-35517: a guest must not reach
 * a host device through a node it created or found in the share).
 * Creating always uses O_CREAT | O_EXCL | O_NOFOLLOW, so it makes a new
 * regular file or fails; it never opens whatever raced into the name.
 * Only a whitelist of the client's open flags reaches the host.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pt_core.h"

/* Client open flags passed to the host; everything else is dropped. */
#define PT_OPEN_KEEP (O_ACCMODE | O_APPEND | O_DIRECT | O_DSYNC | O_SYNC | \
		      O_NOATIME | O_NONBLOCK | O_TRUNC | O_LARGEFILE |     \
		      O_DIRECTORY)

/* O_DIRECT reaches the host only when the configuration asks for it. */
static int pt_open_keep(const struct pt_fs *fs)
{
	return fs->cfg.direct_io ? PT_OPEN_KEEP : PT_OPEN_KEEP & ~O_DIRECT;
}

struct pt_open_args {
	struct pt_inode *inode;   /* the parent for create/tmpfile */
	struct pt_file *file;
	const char *name;
	struct fs_entry *entry;
	struct fs_open_out *out;
	uint64_t owner;
	int flags;                /* the client's */
	mode_t mode;
	bool flock;
};

static_assert(sizeof(struct pt_open_args) <= PT_ARGS_MAX, "args too big");

struct pt_file *pt_file_new(struct pt_inode *inode, int fd, int flags)
{
	struct pt_file *pf = calloc(1, sizeof(*pf));

	if (!pf)
		return NULL;
	pf->fd = fd;
	pf->flags = flags;
	pf->inode = inode;
	pt_inode_ref(inode);
	return pf;
}

void pt_file_free(struct pt_fs *fs, struct pt_file *pf)
{
	if (pf->fd >= 0)
		close(pf->fd);
	pt_dir_stream_free(pf->dir);
	pt_inode_unref(fs, pf->inode, 1);
	free(pf);
}

static bool pt_open_writes(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

static void pt_open_args_submit(struct pt_fs *fs, struct fs_call *c,
				pt_work_fn fn, const struct pt_open_args *a)
{
	struct pt_open_args *args = pt_call_args(c);

	*args = *a;
	if (args->inode)
		pt_inode_ref(args->inode);
	pt_offload(fs, c, fn, args);
}

static int pt_open_finish(struct pt_fs *fs, struct pt_open_args *a, int ret)
{
	if (a->inode)
		pt_inode_unref(fs, a->inode, 1);
	return ret;
}

/* A pt_file for @fd on @inode into a->out; closes @fd on failure. */
static int pt_open_out(struct pt_open_args *a, struct pt_inode *inode, int fd,
		       int flags)
{
	struct pt_file *pf = pt_file_new(inode, fd, flags | O_CLOEXEC);

	if (!pf) {
		close(fd);
		return -ENOMEM;
	}
	*a->out = (struct fs_open_out){ .file = (struct fs_file *)pf };
	return 0;
}

/* --- open ------------------------------------------------------------------- */

static int pt_open_work(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	struct pt_open_args *a = arg;
	int flags = a->flags & pt_open_keep(fs);
	int fd;

	(void)c;
	fd = pt_inode_open(fs, a->inode, flags, false);
	if (fd < 0)
		return pt_open_finish(fs, a, fd);
	return pt_open_finish(fs, a, pt_open_out(a, a->inode, fd, flags));
}

void pt_open(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
	     int flags, struct fs_open_out *out)
{
	struct pt_open_args a = {
		.inode = pt_inode_of(inode), .flags = flags, .out = out,
	};

	if (pt_open_writes(flags) && pt_refuse_readonly(pt_fs_of(fs), c))
		return;
	if (a.inode->type == S_IFDIR && pt_open_writes(flags)) {
		fs_call_complete(c, -EISDIR);
		return;
	}
	pt_open_args_submit(pt_fs_of(fs), c, pt_open_work, &a);
}

/* --- create ----------------------------------------------------------------- */

/*
 * The name exists and the client did not ask for O_EXCL: open what is
 * there like an OPEN would (special files refused), as a local open(O_CREAT)
 * of an existing file does.
 */
static int pt_create_existing(struct pt_fs *fs, struct pt_open_args *a,
			      int pfd, int flags)
{
	struct fs_entry e;
	int fd, ret = pt_entry_lookup(fs, pfd, a->name, &e);

	if (ret < 0)
		return ret;
	fd = pt_inode_open(fs, pt_inode_of(e.inode), flags, false);
	ret = fd < 0 ? fd : pt_open_out(a, pt_inode_of(e.inode), fd, flags);
	if (ret < 0) {
		pt_inode_unref(fs, pt_inode_of(e.inode), 1);
		return ret;
	}
	*a->entry = e;
	return 0;
}

/* Entry and file for @fd, a regular file we have just created. */
static int pt_created(struct pt_fs *fs, struct pt_open_args *a, int fd,
		      int flags)
{
	struct fs_entry e;
	struct stat st;
	int ret;

	ret = fstat(fd, &st) < 0 ? -errno : 0;
	/* O_EXCL made it: anything but a regular file would be a kernel bug */
	if (ret == 0 && !S_ISREG(st.st_mode))
		ret = -EIO;
	if (ret < 0) {
		close(fd);
		return ret;
	}
	ret = pt_entry_from_open_fd(fs, fd, &st, &e);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	ret = pt_open_out(a, pt_inode_of(e.inode), fd, flags);
	if (ret < 0) {
		pt_inode_unref(fs, pt_inode_of(e.inode), 1);
		return ret;
	}
	*a->entry = e;
	return 0;
}

/* The creating open of a->name under the caller's identity: fd or -errno. */
static int pt_create_as_caller(struct fs_call *c, struct pt_open_args *a,
			       int pfd, int flags)
{
	struct pt_cred_saved saved;
	int fd = pt_cred_enter(&c->cred, &saved);

	if (fd < 0)
		return fd;
	fd = pt_openat_beneath(pfd, a->name, flags | O_CREAT | O_EXCL,
			       pt_cred_mode(&c->cred, a->mode));
	pt_cred_leave(&saved);
	return fd;
}

static int pt_create_work(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	struct pt_open_args *a = arg;
	int flags = a->flags & pt_open_keep(fs) & ~O_DIRECTORY;
	int pfd, fd, ret;

	pfd = pt_inode_get_path_fd(fs, a->inode);
	if (pfd < 0)
		return pt_open_finish(fs, a, pfd);
	fd = pt_create_as_caller(c, a, pfd, flags);
	if (fd == -EEXIST && !(a->flags & O_EXCL))
		ret = pt_create_existing(fs, a, pfd, flags);
	else
		ret = fd < 0 ? fd : pt_created(fs, a, fd, flags);
	pt_inode_put_path_fd(fs, a->inode, pfd);
	return pt_open_finish(fs, a, ret);
}

void pt_create(struct fs *fs, struct fs_call *c, struct fs_inode *parent,
	       const char *name, mode_t mode, int flags,
	       struct fs_entry *entry, struct fs_open_out *out)
{
	struct pt_open_args a = {
		.inode = pt_inode_of(parent), .name = name, .mode = mode & 07777,
		.flags = flags, .entry = entry, .out = out,
	};
	int ret = pt_name_check(name);

	if (pt_refuse_readonly(pt_fs_of(fs), c))
		return;
	if (ret == 0 && a.inode->type != S_IFDIR)
		ret = -ENOTDIR;
	if (ret < 0) {
		fs_call_complete(c, ret);
		return;
	}
	pt_open_args_submit(pt_fs_of(fs), c, pt_create_work, &a);
}

/* --- tmpfile ---------------------------------------------------------------- */

static int pt_tmpfile_as_caller(struct fs_call *c, struct pt_open_args *a,
				int pfd, int flags)
{
	struct pt_cred_saved saved;
	int fd = pt_cred_enter(&c->cred, &saved);

	if (fd < 0)
		return fd;
	/* "." of a directory fd: no name is resolved at all */
	fd = openat(pfd, ".", flags | O_TMPFILE | O_CLOEXEC,
		    pt_cred_mode(&c->cred, a->mode));
	if (fd < 0)
		fd = -errno;
	pt_cred_leave(&saved);
	return fd;
}

static int pt_tmpfile_work(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	struct pt_open_args *a = arg;
	int flags = a->flags & pt_open_keep(fs) & ~(O_DIRECTORY | O_TRUNC);
	int pfd, fd, ret;

	pfd = pt_inode_get_path_fd(fs, a->inode);
	if (pfd < 0)
		return pt_open_finish(fs, a, pfd);
	fd = pt_tmpfile_as_caller(c, a, pfd, flags);
	ret = fd < 0 ? fd : pt_created(fs, a, fd, flags);
	pt_inode_put_path_fd(fs, a->inode, pfd);
	return pt_open_finish(fs, a, ret);
}

void pt_tmpfile(struct fs *fs, struct fs_call *c, struct fs_inode *parent,
		mode_t mode, int flags, struct fs_entry *entry,
		struct fs_open_out *out)
{
	struct pt_open_args a = {
		.inode = pt_inode_of(parent), .mode = mode & 07777,
		.flags = flags, .entry = entry, .out = out,
	};

	if (pt_refuse_readonly(pt_fs_of(fs), c))
		return;
	if (a.inode->type != S_IFDIR) {
		fs_call_complete(c, -ENOTDIR);
		return;
	}
	pt_open_args_submit(pt_fs_of(fs), c, pt_tmpfile_work, &a);
}

/* --- flush, release ----------------------------------------------------------- */

static int pt_flush_work(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	struct pt_open_args *a = arg;

	(void)c;
	/* what close() does locally: the owner's POSIX locks go */
	pt_locks_release_owner(fs, a->file, a->owner, false);
	return 0;
}

/* Lock bookkeeping and non-blocking unlocks only: fine on the reactor. */
void pt_flush(struct fs *fs, struct fs_call *c, struct fs_file *file,
	      uint64_t lock_owner)
{
	struct pt_open_args *args = pt_call_args(c);

	*args = (struct pt_open_args){ .file = pt_file_of(file),
				       .owner = lock_owner };
	pt_offload_fast(pt_fs_of(fs), c, args->file->inode, pt_flush_work,
			pt_flush_work, args);
}

static int pt_release_work(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	struct pt_open_args *a = arg;

	(void)c;
	if (a->flock)
		pt_locks_release_owner(fs, a->file, a->owner, true);
	pt_file_free(fs, a->file);
	return 0;
}

/*
 * On the reactor only for files not open for writing: the last close of a
 * written file may start writeback or free blocks (ext4 auto_da_alloc,
 * xfs post-EOF blocks), which can wait for the disk.
 */
static int pt_release_fast(struct pt_fs *fs, struct fs_call *c, void *arg)
{
	struct pt_open_args *a = arg;

	if (pt_open_writes(a->file->flags))
		return -EAGAIN;
	return pt_release_work(fs, c, arg);
}

void pt_release(struct fs *fs, struct fs_call *c, struct fs_file *file,
		bool flock_release, uint64_t lock_owner)
{
	struct pt_open_args *args = pt_call_args(c);

	*args = (struct pt_open_args){
		.file = pt_file_of(file), .owner = lock_owner,
		.flock = flock_release,
	};
	pt_offload_fast(pt_fs_of(fs), c, args->file->inode, pt_release_fast,
			pt_release_work, args);
}
