/* SPDX-License-Identifier: MIT */
/*
 * ptd.h - synchronous wrappers for the passthrough data, xattr and lock
 * ops, on top of ptcore's pt_env harness (../pt_test.h): each submits the
 * call with the env's credentials and pumps the reactor until it completed.
 */
#ifndef VHOSTFS_TEST_PTD_H
#define VHOSTFS_TEST_PTD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "../pt_test.h"

/* One call in flight, for tests that drive calls by hand (SETLKW). */
struct ptd_call {
	struct fs_call call;
	bool done;
	int err;
};

void ptd_call_init(struct pt_env *e, struct ptd_call *s);
/* Pump until @s completed (fails the test after 20 s); its error. */
int ptd_wait(struct pt_env *e, struct ptd_call *s);
/* Pump for about @ms milliseconds or until @s completed; done? */
bool ptd_poll(struct pt_env *e, struct ptd_call *s, int ms);

/* An env serving xattrs and POSIX ACLs. */
struct pt_env *ptd_env_new(bool xattr, bool posix_acl);

/*
 * Create @name on the host (mode exactly @mode, owner root), look it up
 * and open it with @flags.  *@inode gets the lookup reference.
 */
struct fs_file *ptd_file(struct pt_env *e, const char *name, mode_t mode,
			 int flags, struct fs_inode **inode);
/* Release @f and forget @inode. */
void ptd_file_close(struct pt_env *e, struct fs_file *f, struct fs_inode *inode);

int ptd_read(struct pt_env *e, struct fs_file *f, uint64_t off,
	     const struct iovec *iov, unsigned int cnt, size_t *n);
int ptd_write(struct pt_env *e, struct fs_file *f, uint64_t off,
	      const struct iovec *iov, unsigned int cnt, uint32_t flags,
	      size_t *n);
int ptd_fsync(struct pt_env *e, struct fs_file *f, bool datasync);
int ptd_fallocate(struct pt_env *e, struct fs_file *f, int mode, uint64_t off,
		  uint64_t len);
int ptd_lseek(struct pt_env *e, struct fs_file *f, uint64_t off, int whence,
	      uint64_t *out);
int ptd_copy(struct pt_env *e, struct fs_file *in, uint64_t off_in,
	     struct fs_file *out, uint64_t off_out, uint64_t len,
	     uint32_t flags, size_t *copied);
int ptd_syncfs(struct pt_env *e, struct fs_inode *inode);

int ptd_setxattr(struct pt_env *e, struct fs_inode *inode, const char *name,
		 const void *value, size_t size, int flags);
int ptd_getxattr(struct pt_env *e, struct fs_inode *inode, const char *name,
		 void *buf, size_t size, size_t *len);
int ptd_listxattr(struct pt_env *e, struct fs_inode *inode, char *buf,
		  size_t size, size_t *len);
int ptd_removexattr(struct pt_env *e, struct fs_inode *inode,
		    const char *name);

int ptd_getlk(struct pt_env *e, struct fs_file *f, struct fs_lock *lk);
int ptd_setlk(struct pt_env *e, struct fs_file *f, const struct fs_lock *lk,
	      bool wait);

#endif /* VHOSTFS_TEST_PTD_H */
