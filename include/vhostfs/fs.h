/* SPDX-License-Identifier: MIT */
/*
 * fs.h - the file-system interface below the FUSE engine.
 *
 * A back-end (passthrough to a host directory, the embedded file system on
 * the blobstore) implements struct fs_ops.  The interface is asynchronous and
 * FUSE-agnostic: the engine decodes and validates the wire format, looks up
 * every guest id, and calls these operations with host pointers only.  Tools
 * (import, export, ls, cat) call the same operations without any FUSE.
 *
 * Rules every back-end follows:
 *  - Each operation completes exactly once by calling fs_call_complete(call,
 *    err) with 0 or -errno.  It may complete inline (before returning).
 *  - Completion happens on call->reactor's thread, or inline on the calling
 *    thread.  Work done elsewhere (a worker pool, an io_uring of another
 *    thread) hops back with reactor_msg_send()/worker_pool_submit().
 *  - Output structs belong to the caller and are valid until completion;
 *    they are written only on success.
 *  - Inode references: every successful operation that fills a struct
 *    fs_entry with a non-NULL inode (lookup, mknod, mkdir, symlink, link,
 *    create, tmpfile, readdir-plus entries) hands the caller one reference,
 *    returned later with fs_ops.forget().
 *  - An operation left NULL is answered -ENOSYS by the engine.
 *  - Names are NUL-terminated, non-empty, without '/', not "." or "..", at
 *    most NAME_MAX bytes; the engine has checked that.
 */
#ifndef VHOSTFS_FS_H
#define VHOSTFS_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

struct reactor;
struct fs;       /* one back-end instance */
struct fs_inode; /* a back-end inode, reference counted by the back-end */
struct fs_file;  /* an open file or directory */

typedef void (*fs_cb)(void *arg, int err);

#define FS_CALL_SCRATCH 256

/* Who is asking (from the FUSE in-header). */
struct fs_cred {
	uint32_t uid;
	uint32_t gid;
	uint32_t pid;
	uint32_t umask; /* for mknod/mkdir/create/tmpfile; 0 when not sent */
};

/* One operation in flight; owned and embedded by the caller. */
struct fs_call {
	struct fs_cred cred;
	struct reactor *reactor; /* where the completion must run */
	fs_cb cb;
	void *cb_arg;
	uint64_t id; /* caller's request id (FUSE unique), for interrupts */
	/*
	 * Scratch space the back-end owns while the call is in flight (its
	 * reactor_op, worker_job, ...), so that no operation allocates.
	 */
	_Alignas(16) unsigned char scratch[FS_CALL_SCRATCH];
};

static inline void fs_call_complete(struct fs_call *call, int err)
{
	call->cb(call->cb_arg, err);
}

/* A name resolved to an inode. */
struct fs_entry {
	struct fs_inode *inode; /* one reference for the caller */
	struct stat attr;       /* st_ino is the inode number shown to users */
};

/* Result of open/opendir/create/tmpfile. */
struct fs_open_out {
	struct fs_file *file;
	bool direct_io;   /* bypass the client's page cache */
	bool keep_cache;  /* client may keep cached pages from earlier opens */
	bool nonseekable;
	bool cache_dir;   /* client may cache readdir results */
};

/* Bits of fs_setattr.valid */
enum {
	FS_SET_MODE = 1u << 0,
	FS_SET_UID = 1u << 1,
	FS_SET_GID = 1u << 2,
	FS_SET_SIZE = 1u << 3,
	FS_SET_ATIME = 1u << 4,
	FS_SET_MTIME = 1u << 5,
	FS_SET_ATIME_NOW = 1u << 6,
	FS_SET_MTIME_NOW = 1u << 7,
	FS_SET_CTIME = 1u << 8,
	FS_SET_KILL_SUIDGID = 1u << 9, /* clear SUID/SGID as a write would */
};

struct fs_setattr {
	uint32_t valid;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	uint64_t size;
	struct timespec atime;
	struct timespec mtime;
	struct timespec ctime;
};

/* A POSIX record lock or (with flock set) a BSD flock. */
struct fs_lock {
	uint64_t start;
	uint64_t end;   /* inclusive; UINT64_MAX = to end of file */
	uint32_t type;  /* F_RDLCK, F_WRLCK, F_UNLCK */
	uint32_t pid;
	uint64_t owner; /* lock owner token from the client */
	bool flock;
};

/* Bits of the write flags */
enum {
	FS_WRITE_KILL_SUIDGID = 1u << 0, /* writer is not privileged: drop S[UG]ID */
};

/*
 * Directory listing callback, called by readdir for each entry in order.
 * @next_off is the offset to resume after this entry.  For readdir-plus,
 * @plus describes the entry (its inode reference passes to the callee even
 * when the callback refuses the entry); @plus->inode may be NULL for "." and
 * "..".  Returns 0 to continue, or 1 when the reply is full: then the entry
 * was NOT taken and readdir must stop and complete with 0.
 */
typedef int (*fs_dir_fill_fn)(void *ctx, const char *name, size_t namelen,
			      uint64_t ino, uint32_t dtype, uint64_t next_off,
			      const struct fs_entry *plus);

struct fs_ops {
	/* Root inode, with one reference for the caller.  Synchronous. */
	struct fs_inode *(*root)(struct fs *fs);
	/* Drop @nlookup references.  Synchronous, never fails. */
	void (*forget)(struct fs *fs, struct fs_inode *inode, uint64_t nlookup);
	/* Free the back-end.  No operation may be in flight. */
	void (*destroy)(struct fs *fs);

	void (*lookup)(struct fs *fs, struct fs_call *c, struct fs_inode *parent,
		       const char *name, struct fs_entry *out);
	/* @file may be NULL; when set, attributes of the open file */
	void (*getattr)(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
			struct fs_file *file, struct stat *out);
	void (*setattr)(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
			struct fs_file *file, const struct fs_setattr *in,
			struct stat *out);
	/* Target into @buf (not NUL-terminated), its length in *@len. */
	void (*readlink)(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
			 char *buf, size_t size, size_t *len);
	void (*mknod)(struct fs *fs, struct fs_call *c, struct fs_inode *parent,
		      const char *name, mode_t mode, dev_t rdev,
		      struct fs_entry *out);
	void (*mkdir)(struct fs *fs, struct fs_call *c, struct fs_inode *parent,
		      const char *name, mode_t mode, struct fs_entry *out);
	void (*symlink)(struct fs *fs, struct fs_call *c, struct fs_inode *parent,
			const char *name, const char *target,
			struct fs_entry *out);
	void (*link)(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
		     struct fs_inode *newparent, const char *newname,
		     struct fs_entry *out);
	void (*unlink)(struct fs *fs, struct fs_call *c, struct fs_inode *parent,
		       const char *name);
	void (*rmdir)(struct fs *fs, struct fs_call *c, struct fs_inode *parent,
		      const char *name);
	/* @flags: RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT */
	void (*rename)(struct fs *fs, struct fs_call *c, struct fs_inode *parent,
		       const char *name, struct fs_inode *newparent,
		       const char *newname, uint32_t flags);

	/* @flags: open(2) flags from the client (O_CREAT/O_EXCL/O_NOCTTY cleared) */
	void (*open)(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
		     int flags, struct fs_open_out *out);
	void (*create)(struct fs *fs, struct fs_call *c, struct fs_inode *parent,
		       const char *name, mode_t mode, int flags,
		       struct fs_entry *entry, struct fs_open_out *out);
	/* An unnamed regular file in @parent (O_TMPFILE) */
	void (*tmpfile)(struct fs *fs, struct fs_call *c, struct fs_inode *parent,
			mode_t mode, int flags, struct fs_entry *entry,
			struct fs_open_out *out);
	/*
	 * Read up to iov_length(iov) bytes at @off straight into @iov (guest
	 * memory: no bounce buffer); bytes read in *@nread (short at EOF).
	 */
	void (*read)(struct fs *fs, struct fs_call *c, struct fs_file *file,
		     uint64_t off, const struct iovec *iov, unsigned int iovcnt,
		     size_t *nread);
	/* Write all of @iov at @off; bytes written in *@nwritten. */
	void (*write)(struct fs *fs, struct fs_call *c, struct fs_file *file,
		      uint64_t off, const struct iovec *iov, unsigned int iovcnt,
		      uint32_t write_flags, size_t *nwritten);
	void (*flush)(struct fs *fs, struct fs_call *c, struct fs_file *file,
		      uint64_t lock_owner);
	/* The file is gone after this, whatever the result. */
	void (*release)(struct fs *fs, struct fs_call *c, struct fs_file *file,
			bool flock_release, uint64_t lock_owner);
	void (*fsync)(struct fs *fs, struct fs_call *c, struct fs_file *file,
		      bool datasync);

	void (*opendir)(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
			int flags, struct fs_open_out *out);
	/* Entries from @off on; plus = also fill fs_entry (READDIRPLUS). */
	void (*readdir)(struct fs *fs, struct fs_call *c, struct fs_file *dir,
			uint64_t off, bool plus, fs_dir_fill_fn fill,
			void *fill_ctx);
	void (*releasedir)(struct fs *fs, struct fs_call *c, struct fs_file *dir);
	void (*fsyncdir)(struct fs *fs, struct fs_call *c, struct fs_file *dir,
			 bool datasync);

	void (*statfs)(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
		       struct statvfs *out);
	/* @flags: XATTR_CREATE, XATTR_REPLACE */
	void (*setxattr)(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
			 const char *name, const void *value, size_t size,
			 int flags);
	/* @size 0 asks for the size only; -ERANGE if @size is too small */
	void (*getxattr)(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
			 const char *name, void *buf, size_t size, size_t *len);
	void (*listxattr)(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
			  char *buf, size_t size, size_t *len);
	void (*removexattr)(struct fs *fs, struct fs_call *c,
			    struct fs_inode *inode, const char *name);
	/* @mask: R_OK | W_OK | X_OK or F_OK */
	void (*access)(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
		       int mask);

	/* @lk in: the probe; out: the conflicting lock or type F_UNLCK */
	void (*getlk)(struct fs *fs, struct fs_call *c, struct fs_file *file,
		      struct fs_lock *lk);
	/* @wait: block until granted (SETLKW); must not block a reactor */
	void (*setlk)(struct fs *fs, struct fs_call *c, struct fs_file *file,
		      const struct fs_lock *lk, bool wait);
	/* Cancel a call that is waiting (FUSE_INTERRUPT); may be NULL. */
	void (*interrupt)(struct fs *fs, struct fs_call *c);

	void (*fallocate)(struct fs *fs, struct fs_call *c, struct fs_file *file,
			  int mode, uint64_t off, uint64_t len);
	/* SEEK_DATA / SEEK_HOLE (SEEK_SET/CUR/END are answered by the client) */
	void (*lseek)(struct fs *fs, struct fs_call *c, struct fs_file *file,
		      uint64_t off, int whence, uint64_t *out);
	void (*copy_file_range)(struct fs *fs, struct fs_call *c,
				struct fs_file *in, uint64_t off_in,
				struct fs_file *out, uint64_t off_out,
				uint64_t len, uint32_t flags, size_t *copied);
	void (*syncfs)(struct fs *fs, struct fs_call *c, struct fs_inode *inode);
};

/* A back-end instance starts with this header; its ops and private state follow. */
struct fs {
	const struct fs_ops *ops;
	const char *name; /* "passthrough", ... for logs */
};

#endif /* VHOSTFS_FS_H */
