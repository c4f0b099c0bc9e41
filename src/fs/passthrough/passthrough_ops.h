/* SPDX-License-Identifier: MIT */
/* passthrough_ops.h - every fs_ops entry of the passthrough back-end, by file. */
#ifndef VHOSTFS_PASSTHROUGH_OPS_H
#define VHOSTFS_PASSTHROUGH_OPS_H

#include "vhostfs/fs.h"

/* namespace.c */
void pt_lookup(struct fs *fs, struct fs_call *c, struct fs_inode *parent,
	       const char *name, struct fs_entry *out);
void pt_readlink(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
		 char *buf, size_t size, size_t *len);
void pt_mknod(struct fs *fs, struct fs_call *c, struct fs_inode *parent,
	      const char *name, mode_t mode, dev_t rdev, struct fs_entry *out);
void pt_mkdir(struct fs *fs, struct fs_call *c, struct fs_inode *parent,
	      const char *name, mode_t mode, struct fs_entry *out);
void pt_symlink(struct fs *fs, struct fs_call *c, struct fs_inode *parent,
		const char *name, const char *target, struct fs_entry *out);
void pt_link(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
	     struct fs_inode *newparent, const char *newname,
	     struct fs_entry *out);
void pt_unlink(struct fs *fs, struct fs_call *c, struct fs_inode *parent,
	       const char *name);
void pt_rmdir(struct fs *fs, struct fs_call *c, struct fs_inode *parent,
	      const char *name);
void pt_rename(struct fs *fs, struct fs_call *c, struct fs_inode *parent,
	       const char *name, struct fs_inode *newparent,
	       const char *newname, uint32_t flags);
/* attr.c */
void pt_getattr(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
		struct fs_file *file, struct stat *out);
void pt_setattr(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
		struct fs_file *file, const struct fs_setattr *in,
		struct stat *out);
void pt_access(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
	       int mask);
void pt_statfs(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
	       struct statvfs *out);
/* dir.c */
void pt_opendir(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
		int flags, struct fs_open_out *out);
void pt_readdir(struct fs *fs, struct fs_call *c, struct fs_file *dir,
		uint64_t off, bool plus, fs_dir_fill_fn fill, void *fill_ctx);
void pt_releasedir(struct fs *fs, struct fs_call *c, struct fs_file *dir);
void pt_fsyncdir(struct fs *fs, struct fs_call *c, struct fs_file *dir,
		 bool datasync);
/* open.c */
void pt_open(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
	     int flags, struct fs_open_out *out);
void pt_create(struct fs *fs, struct fs_call *c, struct fs_inode *parent,
	       const char *name, mode_t mode, int flags,
	       struct fs_entry *entry, struct fs_open_out *out);
void pt_tmpfile(struct fs *fs, struct fs_call *c, struct fs_inode *parent,
		mode_t mode, int flags, struct fs_entry *entry,
		struct fs_open_out *out);
void pt_flush(struct fs *fs, struct fs_call *c, struct fs_file *file,
	      uint64_t lock_owner);
void pt_release(struct fs *fs, struct fs_call *c, struct fs_file *file,
		bool flock_release, uint64_t lock_owner);
/* data.c */
void pt_read(struct fs *fs, struct fs_call *c, struct fs_file *file,
	     uint64_t off, const struct iovec *iov, unsigned int iovcnt,
	     size_t *nread);
void pt_write(struct fs *fs, struct fs_call *c, struct fs_file *file,
	      uint64_t off, const struct iovec *iov, unsigned int iovcnt,
	      uint32_t write_flags, size_t *nwritten);
void pt_fsync(struct fs *fs, struct fs_call *c, struct fs_file *file,
	      bool datasync);
void pt_fallocate(struct fs *fs, struct fs_call *c, struct fs_file *file,
		  int mode, uint64_t off, uint64_t len);
void pt_lseek(struct fs *fs, struct fs_call *c, struct fs_file *file,
	      uint64_t off, int whence, uint64_t *out);
void pt_copy_file_range(struct fs *fs, struct fs_call *c, struct fs_file *in,
			uint64_t off_in, struct fs_file *out, uint64_t off_out,
			uint64_t len, uint32_t flags, size_t *copied);
void pt_syncfs(struct fs *fs, struct fs_call *c, struct fs_inode *inode);
/* xattr.c */
void pt_setxattr(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
		 const char *name, const void *value, size_t size, int flags);
void pt_getxattr(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
		 const char *name, void *buf, size_t size, size_t *len);
void pt_listxattr(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
		  char *buf, size_t size, size_t *len);
void pt_removexattr(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
		    const char *name);
/* lock.c */
int pt_locks_init(struct pt_fs *fs);
void pt_locks_fini(struct pt_fs *fs);
void pt_getlk(struct fs *fs, struct fs_call *c, struct fs_file *file,
	      struct fs_lock *lk);
void pt_setlk(struct fs *fs, struct fs_call *c, struct fs_file *file,
	      const struct fs_lock *lk, bool wait);
void pt_interrupt(struct fs *fs, struct fs_call *c);
/* called by pt_release/pt_flush to drop the locks of an owner */
void pt_locks_release_owner(struct pt_fs *fs, struct pt_file *file,
			    uint64_t owner, bool flock);

#endif /* VHOSTFS_PASSTHROUGH_OPS_H */
