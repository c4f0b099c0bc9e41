/* SPDX-License-Identifier: MIT */
/*
 * passthrough_internal.h - state shared by the passthrough back-end's files.
 *
 *   passthrough.c  creation, destroy, the ops table, offload helpers
 *   inode.c        inode table (dedup by dev+ino), file handles, fd cache
 *   cred.c         per-thread credential switch for creating files
 *   namespace.c    lookup, mknod/mkdir/symlink/link, unlink/rmdir, rename, readlink
 *   attr.c         getattr, setattr, access, statfs
 *   dir.c          opendir, readdir(plus), releasedir, fsyncdir
 *   open.c         open, create, tmpfile, release, flush
 *   data.c         read, write, fsync (io_uring), fallocate, lseek, copy_file_range, syncfs
 *   xattr.c        xattrs and POSIX ACLs
 *   lock.c         POSIX locks and flock, SETLKW on a waiting thread, interrupt
 */
#ifndef VHOSTFS_PASSTHROUGH_INTERNAL_H
#define VHOSTFS_PASSTHROUGH_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vhostfs/fs.h"
#include "vhostfs/passthrough.h"
#include "vhostfs/reactor.h"

struct pt_inode;
struct pt_file;

struct pt_fs {
	struct fs base;                 /* must be first */
	struct passthrough_config cfg;  /* shared_dir string owned by pt_fs */
	struct worker_pool *workers;
	int root_fd;                    /* O_PATH fd of the shared directory */
	int proc_self_fd;               /* O_PATH fd of /proc/self/fd, for reopening */
	bool use_handles;               /* inodes held by file handles */
	struct pt_inode *root;
	struct pt_inode_table *inodes;  /* see inode.c */
	struct pt_lock_state *locks;    /* see lock.c, may be NULL */
	/* --- added by inode.c/passthrough.c (ptcore) --- */
	int mount_fd;                   /* O_RDONLY fd of the shared dir: the
					   mount fd for open_by_handle_at (which
					   refuses O_PATH fds); -1 in fds mode */
	int root_mount_id;              /* mount id of the shared dir */
	/* --- work on the reactor itself (passthrough.c, data.c) --- */
	long fs_type;                   /* statfs f_type of the share */
	bool local;                     /* ext4, xfs, btrfs, tmpfs or f2fs:
					   see pt_inode_local() */
	bool read_nowait;               /* cached reads: preadv2(RWF_NOWAIT)
					   (else, on tmpfs, a plain preadv) */
	bool write_inline;              /* buffered writes: pwritev, not
					   io_uring (which punts them to a
					   kernel worker on this fs) */
	_Atomic uint64_t write_ring_until; /* after a stalled inline write:
					   use io_uring until this time (ns) */
};

static inline struct pt_fs *pt_fs_of(struct fs *fs)
{
	return (struct pt_fs *)fs;
}

/* --- inodes (inode.c) --------------------------------------------------- */

/*
 * An inode the client knows.  Identified by (dev, ino); held either by a
 * file handle (then an O_PATH fd may be cached, bounded by fd_cache_size) or
 * by an O_PATH fd kept for its whole life.
 */
struct pt_inode {
	_Atomic uint64_t refs;   /* client lookups + internal references */
	dev_t dev;
	ino_t ino;
	mode_t type;             /* S_IFMT bits, fixed for the inode's life */
	/* everything else is private to inode.c */
	struct pt_inode_priv *priv;
};

/*
 * May an op on @inode make its syscalls right on the reactor?  Only if the
 * inode lives on the share's own file system and that one is local: there
 * a read of cached pages, fstat of a held fd, close of a file not open for
 * writing or a lookup in the dentry cache needs no I/O and no round trip
 * to a server.
 */
static inline bool pt_inode_local(const struct pt_fs *fs,
				  const struct pt_inode *inode)
{
	return fs->local && inode && inode->dev == fs->root->dev;
}

/* The engine sees struct fs_inode; it is always a struct pt_inode. */
static inline struct pt_inode *pt_inode_of(struct fs_inode *inode)
{
	return (struct pt_inode *)inode;
}

static inline struct fs_inode *pt_inode_to_fs(struct pt_inode *inode)
{
	return (struct fs_inode *)inode;
}

/*
 * Thread rules for everything below (inode.c): all functions are
 * thread-safe and may be called from reactor or worker threads.  They make
 * blocking syscalls (open_by_handle_at, openat, close), so call them from
 * work functions run by pt_offload(), not on a reactor.
 *
 * open_by_handle_at needs CAP_DAC_READ_SEARCH, which the credential switch
 * drops: get every path fd / pt_inode_open() BEFORE pt_cred_enter().
 */

/*
 * Find or create the inode for @fd (an O_PATH fd the caller got by resolving
 * beneath a parent; consumed: kept or closed).  Takes one reference.
 * @st may be NULL; if given it is the fstat of @fd.
 */
int pt_inode_from_fd(struct pt_fs *fs, int fd, const struct stat *st,
		     struct pt_inode **out);

/*
 * pt_inode_ref: one more reference; only while already holding one.
 * pt_inode_unref: drop @n (clamped to what is held, logged); the last one
 * frees the inode and closes its fds.  Lock-free except the last drop.
 * The namespace/attr/dir/open ops hold one internal reference from submit
 * to the end of their work fn, so a guest FORGET racing an op cannot free
 * the inode under it; ops on an inode (xattrs, syncfs) should do the same.
 */
void pt_inode_ref(struct pt_inode *inode);
void pt_inode_unref(struct pt_fs *fs, struct pt_inode *inode, uint64_t n);

/*
 * An O_PATH fd for @inode, usable as a dirfd for *at() calls and with
 * AT_EMPTY_PATH.  Must be returned with pt_inode_put_path_fd().  -ESTALE if
 * the inode is gone on the host.
 */
int pt_inode_get_path_fd(struct pt_fs *fs, struct pt_inode *inode);
void pt_inode_put_path_fd(struct pt_fs *fs, struct pt_inode *inode, int fd);
/*
 * The same without reopening: -EAGAIN when the fd is neither pinned nor
 * cached (open_by_handle_at may read the disk).  For pt_offload_fast.
 */
int pt_inode_try_path_fd(struct pt_fs *fs, struct pt_inode *inode);

/*
 * A new fd for @inode opened with @flags (O_RDONLY, O_RDWR, ...; never
 * follows a symlink, refuses device nodes, FIFOs and sockets with -ENXIO
 * unless @allow_special).  The caller closes it.
 * Details: symlinks give -ELOOP; O_CREAT, O_EXCL, O_NOFOLLOW, O_PATH and
 * O_TMPFILE are removed from @flags, O_CLOEXEC | O_NOCTTY added; the inode
 * itself is reopened (open_by_handle_at, or /proc/self/fd/N of its O_PATH
 * fd), never a name, so the type check cannot be raced.  -ESTALE if the
 * host inode is gone.  Before pt_cred_enter only (see above).
 */
int pt_inode_open(struct pt_fs *fs, struct pt_inode *inode, int flags,
		  bool allow_special);

/*
 * The name of @fd inside /proc/self/fd ("123"), for *at(fs->proc_self_fd,
 * name, ...) calls that must act on an O_PATH fd's inode where the syscall
 * has no AT_EMPTY_PATH (fchmodat, getxattr on symlinks/special files via
 * "/proc/self/fd/N" paths...).  Following that magic link reaches exactly
 * the inode of @fd, never a path.  @buf must hold PT_FD_NAME_MAX bytes.
 */
#define PT_FD_NAME_MAX 16
void pt_fd_name(int fd, char buf[PT_FD_NAME_MAX]);

/* --- open files (open.c) ------------------------------------------------- */

/*
 * Created by pt_open/pt_create/pt_tmpfile/pt_opendir, freed by
 * pt_release/pt_releasedir (after pt_locks_release_owner for flock).
 * @fd stays open and unchanged for the file's whole life; @flags are the
 * flags it was opened with: the client's, filtered through a whitelist
 * (access mode, O_APPEND, O_DIRECT, O_DSYNC, O_SYNC, O_NOATIME,
 * O_NONBLOCK, O_TRUNC, O_DIRECTORY; see open.c) plus O_CLOEXEC.  Nothing
 * in it changes after open, so the data path may read it without locks.
 * @dir is non-NULL exactly for directories opened by pt_opendir.
 * The struct fs_file the engine holds is this struct (pt_file_of()).
 */
struct pt_file {
	int fd;                  /* a real fd, opened with the client's flags */
	int flags;               /* open flags */
	struct pt_inode *inode;  /* one internal reference */
	/* directory stream (dir.c) */
	struct pt_dir_stream *dir;
};

static inline struct pt_file *pt_file_of(struct fs_file *f)
{
	return (struct pt_file *)f;
}

/* --- credentials (cred.c) ------------------------------------------------ */

/*
 * Switch this thread (only this thread: raw syscalls, not glibc's
 * process-wide set*id) to the caller's fsuid/fsgid with no supplementary
 * groups (CVE-2022-0358), and back.
 */
struct pt_cred_saved {
	uid_t fsuid;
	gid_t fsgid;
	bool switched;
};
/*
 * pt_cred_enter also sets this thread's umask to @cred->umask (the thread's
 * fs_struct is unshared once per thread, so umask is per thread) so that
 * the host kernel applies it exactly as for a local process: not at all
 * when the parent has a default ACL.  A root caller (uid 0, gid 0) keeps
 * root's identity but still gets the umask.  Returns 0 or -errno (nothing
 * changed then); pt_cred_leave always restores (aborts the process if the
 * kernel refuses: a worker left with a guest identity would be a hole).
 * Call only on a worker thread, and pair enter/leave within one work fn.
 */
int pt_cred_enter(const struct fs_cred *cred, struct pt_cred_saved *saved);
void pt_cred_leave(struct pt_cred_saved *saved);

/* --- running blocking syscalls off the reactor (passthrough.c) --------- */

/*
 * Run @fn on a worker thread; its return value (0 or -errno) completes
 * @c on @c->reactor.  Uses @c->scratch: no allocation.  The caller's data
 * (@arg) must live until completion (put it in the caller's scratch after
 * the job, or in the output structs).
 */
typedef int (*pt_work_fn)(struct pt_fs *fs, struct fs_call *c, void *arg);
/*
 * Details (passthrough.c): the job sits in c->scratch[0..PT_ARGS_OFFSET);
 * @fn runs on a worker; then fs_call_complete(c, ret) runs on c->reactor
 * (the thread that called the op).  If c->reactor is NULL (a tool without a
 * reactor), @fn runs inline and the call completes before pt_offload
 * returns.  @fn must write output structs only when it returns 0.
 */
void pt_offload(struct pt_fs *fs, struct fs_call *c, pt_work_fn fn, void *arg);

/*
 * Like pt_offload, but first try @fast right here on the reactor, if
 * pt_inode_local(@inode) (what the op works on).  @fast may only make
 * syscalls that need no I/O there - fstat of a held fd, close of a file
 * not open for writing, an openat2 with RESOLVE_CACHED - and returns
 * -EAGAIN, having changed nothing, when it would have to wait; then @fn
 * runs on a worker as usual.  Anything else @fast returns completes @c
 * before pt_offload_fast returns.  Saves the two thread switches of a
 * worker hop, which cost more than these syscalls themselves.
 */
void pt_offload_fast(struct pt_fs *fs, struct fs_call *c,
		     const struct pt_inode *inode, pt_work_fn fast,
		     pt_work_fn fn, void *arg);

/*
 * Scratch bytes of @c free for the op's own arguments after the offload
 * bookkeeping; PT_ARGS_MAX bytes long.
 */
void *pt_call_args(struct fs_call *c);
#define PT_ARGS_MAX 128
/* pt_call_args(c) == c->scratch + PT_ARGS_OFFSET, 16-byte aligned */
#define PT_ARGS_OFFSET (FS_CALL_SCRATCH - PT_ARGS_MAX)

/* Choose the read and write paths for fs->fs_type (data.c). */
void pt_data_setup(struct pt_fs *fs);

/* The ops implemented in each file, gathered into the table by passthrough.c */
#include "passthrough_ops.h"

#endif /* VHOSTFS_PASSTHROUGH_INTERNAL_H */
