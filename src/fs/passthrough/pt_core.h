/* SPDX-License-Identifier: MIT */
/*
 * pt_core.h - helpers shared by the passthrough back-end's metadata files
 * (passthrough.c, inode.c, resolve.c, namespace.c, attr.c, dir.c, open.c).
 * The contract with data.c, xattr.c and lock.c is passthrough_internal.h;
 * nothing here is part of it.
 */
#ifndef VHOSTFS_PT_CORE_H
#define VHOSTFS_PT_CORE_H

#include "passthrough_internal.h"

/* --- inode table (inode.c) ----------------------------------------------- */

/* Create the table and the root inode (held by a dup of fs->root_fd). */
int pt_inode_table_create(struct pt_fs *fs, uint32_t fd_cache_size);
/* Free every inode left, whatever its references.  No op in flight. */
void pt_inode_table_destroy(struct pt_fs *fs);

/* Open fds the table holds (pinned + cached), for tests and stats. */
uint64_t pt_inode_table_fds(struct pt_fs *fs);
/* Inodes in the table. */
uint64_t pt_inode_table_count(struct pt_fs *fs);

/* --- name resolution (resolve.c) ----------------------------------------- */

/*
 * 0 if @name is one path component we may resolve: non-empty, no '/', not
 * "." or "..", at most NAME_MAX bytes.  The engine checked this already;
 * we check again because a name that escapes is a host compromise.
 */
int pt_name_check(const char *name);

/*
 * openat2(@dirfd, @name, @flags | O_NOFOLLOW | O_CLOEXEC, @mode) with
 * RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS, or openat
 * with O_NOFOLLOW where the kernel has no openat2.  Returns fd or -errno.
 */
int pt_openat_beneath(int dirfd, const char *name, int flags, mode_t mode);

/*
 * Resolve @name beneath @dirfd (O_PATH, not following a trailing
 * symlink) and fill @out with a new inode reference and its attributes.
 * @out is written only on success.
 */
int pt_entry_lookup(struct pt_fs *fs, int dirfd, const char *name,
		    struct fs_entry *out);
/*
 * The same from the dentry cache alone, on the reactor (pt_offload_fast):
 * -EAGAIN, having changed nothing, when the walk would read the disk or
 * cross a mount.  The fstat and the inode table work that follow need no
 * I/O for an inode that is in memory.
 */
int pt_entry_lookup_cached(struct pt_fs *fs, int dirfd, const char *name,
			   struct fs_entry *out);

/*
 * @out from an fd of an inode we just created (a real fd): a fresh O_PATH
 * fd to the same inode (through /proc/self/fd, no path involved) goes to
 * the inode table.  @st is the fstat of @fd.
 */
int pt_entry_from_open_fd(struct pt_fs *fs, int fd, const struct stat *st,
			  struct fs_entry *out);

/* --- credentials (cred.c) ------------------------------------------------ */

/*
 * @mode as the creating syscall must get it: unchanged when the thread's
 * umask holds the caller's umask, else with the umask applied by hand.
 */
mode_t pt_cred_mode(const struct fs_cred *cred, mode_t mode);

/* --- misc ---------------------------------------------------------------- */

/* Complete @c with -EROFS and return true if the share is read-only. */
bool pt_refuse_readonly(struct pt_fs *fs, struct fs_call *c);

/* A file for @fd (taking over @fd) on @inode (taking one reference). */
struct pt_file *pt_file_new(struct pt_inode *inode, int fd, int flags);
/* Close, drop the inode reference, free (also the dir stream). */
void pt_file_free(struct pt_fs *fs, struct pt_file *pf);

/* dir.c: free a directory stream (NULL is fine). */
void pt_dir_stream_free(struct pt_dir_stream *s);

#endif /* VHOSTFS_PT_CORE_H */
