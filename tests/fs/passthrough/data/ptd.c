// SPDX-License-Identifier: MIT
/* ptd.c - synchronous wrappers for the passthrough data/xattr/lock ops. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ptd.h"
#include "fs/passthrough/passthrough_internal.h"

static void ptd_cb(void *arg, int err)
{
	struct ptd_call *s = arg;

	s->err = err;
	s->done = true;
}

void ptd_call_init(struct pt_env *e, struct ptd_call *s)
{
	memset(s, 0, sizeof(*s));
	s->call.cred = e->cred;
	s->call.reactor = e->reactor;
	s->call.cb = ptd_cb;
	s->call.cb_arg = s;
}

int ptd_wait(struct pt_env *e, struct ptd_call *s)
{
	time_t deadline = time(NULL) + 20;

	while (!s->done) {
		assert_true(reactor_run_once(e->reactor, 100) >= 0);
		assert_true(time(NULL) < deadline);
	}
	return s->err;
}

bool ptd_poll(struct pt_env *e, struct ptd_call *s, int ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!s->done) {
		assert_true(reactor_run_once(e->reactor, 10) >= 0);
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000 >= ms)
			break;
	}
	return s->done;
}

struct pt_env *ptd_env_new(bool xattr, bool posix_acl)
{
	struct pt_env *e = pt_env_new(PASSTHROUGH_INODES_AUTO, 0, false);
	struct pt_fs *pfs = pt_fs_of(e->fs);

	/* pt_env_new has no knobs for these: set them before any call */
	pfs->cfg.xattr = xattr;
	pfs->cfg.posix_acl = posix_acl;
	return e;
}

struct fs_file *ptd_file(struct pt_env *e, const char *name, mode_t mode,
			 int flags, struct fs_inode **inode)
{
	struct fs_open_out oo;
	char path[256];
	int fd;

	pt_host_path(e, name, path, sizeof(path));
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	*inode = pt_t_get(e, e->root, name);
	memset(&oo, 0, sizeof(oo));
	assert_int_equal(pt_t_open(e, *inode, flags, &oo), 0);
	assert_non_null(oo.file);
	return oo.file;
}

void ptd_file_close(struct pt_env *e, struct fs_file *f, struct fs_inode *inode)
{
	assert_int_equal(pt_t_release(e, f), 0);
	pt_t_forget(e, inode, 1);
}

#define PTD_RUN(e, op, ...)                                               \
	do {                                                              \
		ptd_call_init((e), &s);                                   \
		(e)->fs->ops->op((e)->fs, &s.call, __VA_ARGS__);          \
	} while (0)

int ptd_read(struct pt_env *e, struct fs_file *f, uint64_t off,
	     const struct iovec *iov, unsigned int cnt, size_t *n)
{
	struct ptd_call s;

	PTD_RUN(e, read, f, off, iov, cnt, n);
	return ptd_wait(e, &s);
}

int ptd_write(struct pt_env *e, struct fs_file *f, uint64_t off,
	      const struct iovec *iov, unsigned int cnt, uint32_t flags,
	      size_t *n)
{
	struct ptd_call s;

	PTD_RUN(e, write, f, off, iov, cnt, flags, n);
	return ptd_wait(e, &s);
}

int ptd_fsync(struct pt_env *e, struct fs_file *f, bool datasync)
{
	struct ptd_call s;

	PTD_RUN(e, fsync, f, datasync);
	return ptd_wait(e, &s);
}

int ptd_fallocate(struct pt_env *e, struct fs_file *f, int mode, uint64_t off,
		  uint64_t len)
{
	struct ptd_call s;

	PTD_RUN(e, fallocate, f, mode, off, len);
	return ptd_wait(e, &s);
}

int ptd_lseek(struct pt_env *e, struct fs_file *f, uint64_t off, int whence,
	      uint64_t *out)
{
	struct ptd_call s;

	PTD_RUN(e, lseek, f, off, whence, out);
	return ptd_wait(e, &s);
}

int ptd_copy(struct pt_env *e, struct fs_file *in, uint64_t off_in,
	     struct fs_file *out, uint64_t off_out, uint64_t len,
	     uint32_t flags, size_t *copied)
{
	struct ptd_call s;

	PTD_RUN(e, copy_file_range, in, off_in, out, off_out, len, flags,
		copied);
	return ptd_wait(e, &s);
}

int ptd_syncfs(struct pt_env *e, struct fs_inode *inode)
{
	struct ptd_call s;

	PTD_RUN(e, syncfs, inode);
	return ptd_wait(e, &s);
}

int ptd_setxattr(struct pt_env *e, struct fs_inode *inode, const char *name,
		 const void *value, size_t size, int flags)
{
	struct ptd_call s;

	PTD_RUN(e, setxattr, inode, name, value, size, flags);
	return ptd_wait(e, &s);
}

int ptd_getxattr(struct pt_env *e, struct fs_inode *inode, const char *name,
		 void *buf, size_t size, size_t *len)
{
	struct ptd_call s;

	PTD_RUN(e, getxattr, inode, name, buf, size, len);
	return ptd_wait(e, &s);
}

int ptd_listxattr(struct pt_env *e, struct fs_inode *inode, char *buf,
		  size_t size, size_t *len)
{
	struct ptd_call s;

	PTD_RUN(e, listxattr, inode, buf, size, len);
	return ptd_wait(e, &s);
}

int ptd_removexattr(struct pt_env *e, struct fs_inode *inode, const char *name)
{
	struct ptd_call s;

	PTD_RUN(e, removexattr, inode, name);
	return ptd_wait(e, &s);
}

int ptd_getlk(struct pt_env *e, struct fs_file *f, struct fs_lock *lk)
{
	struct ptd_call s;

	PTD_RUN(e, getlk, f, lk);
	return ptd_wait(e, &s);
}

int ptd_setlk(struct pt_env *e, struct fs_file *f, const struct fs_lock *lk,
	      bool wait)
{
	struct ptd_call s;

	PTD_RUN(e, setlk, f, lk, wait);
	return ptd_wait(e, &s);
}
