// SPDX-License-Identifier: MIT
/* mock_fs.c - the test back-end described in mock_fs.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "mock_fs.h"
#include "vhostfs/reactor.h"

/* A completion posted to the caller's reactor (lives in the call's scratch). */
struct mock_async {
	struct reactor_msg msg;
	struct fs_call *call;
	int err;
};
_Static_assert(sizeof(struct mock_async) <= FS_CALL_SCRATCH, "scratch");

static void mock_async_fn(void *arg)
{
	struct mock_async *a = arg;

	fs_call_complete(a->call, a->err);
}

static struct mock_fs *M(struct fs *fs)
{
	return (struct mock_fs *)fs;
}

static struct mock_inode *I(struct fs_inode *i)
{
	return (struct mock_inode *)i;
}

static struct mock_file *F(struct fs_file *f)
{
	return (struct mock_file *)f;
}

/* Record the call; returns the one-shot failure to report (0: none). */
static int mock_begin(struct mock_fs *m, const char *op, struct fs_call *c)
{
	int err;

	pthread_mutex_lock(&m->lock);
	err = m->fail;
	m->op = op;
	m->calls++;
	m->cred = c->cred;
	m->fail = 0;
	pthread_mutex_unlock(&m->lock);
	return err;
}

static void mock_end(struct mock_fs *m, struct fs_call *c, int err)
{
	if (m->async && c->reactor) {
		struct mock_async *a = (struct mock_async *)c->scratch;

		a->msg.fn = mock_async_fn;
		a->msg.arg = a;
		a->call = c;
		a->err = err;
		reactor_msg_send(c->reactor, &a->msg);
		return;
	}
	if (m->defer && m->npending < MOCK_PENDING) {
		m->pending[m->npending++] = c;
		return;
	}
	fs_call_complete(c, err);
}

void mock_fs_complete(struct mock_fs *m, int i, int err)
{
	struct fs_call *c = m->pending[i];

	memmove(&m->pending[i], &m->pending[i + 1],
		(size_t)(m->npending - i - 1) * sizeof(m->pending[0]));
	m->npending--;
	fs_call_complete(c, err);
}

static void mock_stat_init(struct mock_inode *in, size_t idx, mode_t mode)
{
	memset(&in->st, 0, sizeof(in->st));
	in->st.st_ino = 1000 + idx;
	in->st.st_mode = mode;
	in->st.st_nlink = 1;
	in->st.st_uid = 1000;
	in->st.st_gid = 1000;
	in->st.st_size = MOCK_FILE_SIZE;
	in->st.st_blocks = 200;
	in->st.st_blksize = 4096;
	in->st.st_mtim.tv_sec = 1700000000;
	in->st.st_mtim.tv_nsec = 5;
}

struct mock_inode *mock_fs_inode(struct mock_fs *m, const char *name)
{
	for (size_t i = 0; i < MOCK_INODES; i++) {
		if (m->inodes[i].used && !strcmp(m->inodes[i].name, name))
			return &m->inodes[i];
	}
	return NULL;
}

/* Find or make the inode called @name, with one reference for the caller. */
static struct mock_inode *mock_ref(struct mock_fs *m, const char *name,
				   mode_t mode)
{
	struct mock_inode *in;

	pthread_mutex_lock(&m->lock);
	in = mock_fs_inode(m, name);
	for (size_t i = 1; !in && i < MOCK_INODES; i++) {
		if (!m->inodes[i].used) {
			in = &m->inodes[i];
			in->used = true;
			snprintf(in->name, sizeof(in->name), "%s", name);
			mock_stat_init(in, i, mode);
		}
	}
	if (in)
		in->refs++;
	pthread_mutex_unlock(&m->lock);
	return in;
}

static void mock_ref_more(struct mock_fs *m, struct mock_inode *in)
{
	pthread_mutex_lock(&m->lock);
	in->refs++;
	pthread_mutex_unlock(&m->lock);
}

static int mock_entry(struct mock_fs *m, const char *name, mode_t mode,
		      struct fs_entry *out)
{
	struct mock_inode *in;

	if (!strncmp(name, "nx", 2))
		return -ENOENT;
	in = mock_ref(m, name, mode);
	if (!in)
		return -ENOSPC;
	out->inode = (struct fs_inode *)in;
	out->attr = in->st;
	return 0;
}

static struct mock_file *mock_open_file(struct mock_fs *m,
					struct mock_inode *in, bool dir)
{
	for (size_t i = 0; i < MOCK_FILES; i++) {
		if (!m->files[i].open) {
			m->files[i] = (struct mock_file){ in, dir, true };
			return &m->files[i];
		}
	}
	return NULL;
}

/* ---- the ops ------------------------------------------------------------ */

static struct fs_inode *mock_root(struct fs *fs)
{
	struct mock_inode *r = &M(fs)->inodes[0];

	mock_ref_more(M(fs), r);
	return (struct fs_inode *)r;
}

static void mock_forget(struct fs *fs, struct fs_inode *inode, uint64_t n)
{
	struct mock_inode *in = I(inode);

	pthread_mutex_lock(&M(fs)->lock);
	if (n > in->refs) {
		fprintf(stderr, "mock: forget %llu > refs %llu of %s\n",
			(unsigned long long)n, (unsigned long long)in->refs,
			in->name);
		abort();
	}
	in->refs -= n;
	M(fs)->forgets += n;
	pthread_mutex_unlock(&M(fs)->lock);
}

static void mock_lookup(struct fs *fs, struct fs_call *c,
			struct fs_inode *parent, const char *name,
			struct fs_entry *out)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "lookup", c);

	m->inode = parent;
	snprintf(m->name, sizeof(m->name), "%s", name);
	if (!err)
		err = mock_entry(m, name, S_IFREG | 0644, out);
	mock_end(m, c, err);
}

static void mock_getattr(struct fs *fs, struct fs_call *c,
			 struct fs_inode *inode, struct fs_file *file,
			 struct stat *out)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "getattr", c);

	m->inode = inode;
	m->file = file;
	if (!err)
		*out = I(inode)->st;
	mock_end(m, c, err);
}

static void mock_setattr(struct fs *fs, struct fs_call *c,
			 struct fs_inode *inode, struct fs_file *file,
			 const struct fs_setattr *in, struct stat *out)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "setattr", c);

	m->inode = inode;
	m->file = file;
	m->sa = *in;
	if (!err) {
		if (in->valid & FS_SET_SIZE)
			I(inode)->st.st_size = (off_t)in->size;
		if (in->valid & FS_SET_KILL_SUIDGID)
			I(inode)->st.st_mode &= ~(mode_t)(S_ISUID | S_ISGID);
		*out = I(inode)->st;
	}
	mock_end(m, c, err);
}

static void mock_readlink(struct fs *fs, struct fs_call *c,
			  struct fs_inode *inode, char *buf, size_t size,
			  size_t *len)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "readlink", c);
	const char *t = m->link_target ? m->link_target : "target/path";
	size_t n = strlen(t);

	m->inode = inode;
	m->len = size;
	if (!err && n > size)
		err = -ENAMETOOLONG;
	if (!err) {
		memcpy(buf, t, n);
		*len = n;
	}
	mock_end(m, c, err);
}

static void mock_mknod(struct fs *fs, struct fs_call *c,
		       struct fs_inode *parent, const char *name, mode_t mode,
		       dev_t rdev, struct fs_entry *out)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "mknod", c);

	m->inode = parent;
	m->mode = mode;
	m->rdev = rdev;
	snprintf(m->name, sizeof(m->name), "%s", name);
	if (!err)
		err = mock_entry(m, name, mode, out);
	mock_end(m, c, err);
}

static void mock_mkdir(struct fs *fs, struct fs_call *c,
		       struct fs_inode *parent, const char *name, mode_t mode,
		       struct fs_entry *out)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "mkdir", c);

	m->inode = parent;
	m->mode = mode;
	snprintf(m->name, sizeof(m->name), "%s", name);
	if (!err)
		err = mock_entry(m, name, S_IFDIR | mode, out);
	mock_end(m, c, err);
}

static void mock_symlink(struct fs *fs, struct fs_call *c,
			 struct fs_inode *parent, const char *name,
			 const char *target, struct fs_entry *out)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "symlink", c);

	m->inode = parent;
	snprintf(m->name, sizeof(m->name), "%s", name);
	snprintf(m->name2, sizeof(m->name2), "%s", target);
	if (!err)
		err = mock_entry(m, name, S_IFLNK | 0777, out);
	mock_end(m, c, err);
}

static void mock_link(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
		      struct fs_inode *newparent, const char *newname,
		      struct fs_entry *out)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "link", c);

	m->inode = inode;
	m->inode2 = newparent;
	snprintf(m->name, sizeof(m->name), "%s", newname);
	if (!err) {
		mock_ref_more(m, I(inode));
		out->inode = inode;
		out->attr = I(inode)->st;
	}
	mock_end(m, c, err);
}

static void mock_unlink(struct fs *fs, struct fs_call *c,
			struct fs_inode *parent, const char *name)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "unlink", c);

	m->inode = parent;
	snprintf(m->name, sizeof(m->name), "%s", name);
	mock_end(m, c, err);
}

static void mock_rmdir(struct fs *fs, struct fs_call *c,
		       struct fs_inode *parent, const char *name)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "rmdir", c);

	m->inode = parent;
	snprintf(m->name, sizeof(m->name), "%s", name);
	mock_end(m, c, err);
}

static void mock_rename(struct fs *fs, struct fs_call *c,
			struct fs_inode *parent, const char *name,
			struct fs_inode *newparent, const char *newname,
			uint32_t flags)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "rename", c);

	m->inode = parent;
	m->inode2 = newparent;
	m->flags = (int)flags;
	snprintf(m->name, sizeof(m->name), "%s", name);
	snprintf(m->name2, sizeof(m->name2), "%s", newname);
	mock_end(m, c, err);
}

static int mock_do_open(struct mock_fs *m, struct mock_inode *in, bool dir,
			struct fs_open_out *out)
{
	struct mock_file *f = mock_open_file(m, in, dir);

	if (!f)
		return -EMFILE;
	*out = m->open_hints;
	out->file = m->open_null_file ? NULL : (struct fs_file *)f;
	if (m->open_null_file)
		f->open = false;
	return 0;
}

static void mock_open(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
		      int flags, struct fs_open_out *out)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "open", c);

	m->inode = inode;
	m->flags = flags;
	if (!err)
		err = mock_do_open(m, I(inode), false, out);
	mock_end(m, c, err);
}

static void mock_create(struct fs *fs, struct fs_call *c,
			struct fs_inode *parent, const char *name, mode_t mode,
			int flags, struct fs_entry *entry,
			struct fs_open_out *out)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "create", c);

	m->inode = parent;
	m->mode = mode;
	m->flags = flags;
	snprintf(m->name, sizeof(m->name), "%s", name);
	if (!err)
		err = mock_entry(m, name, S_IFREG | mode, entry);
	if (!err)
		err = mock_do_open(m, I(entry->inode), false, out);
	mock_end(m, c, err);
}

static void mock_tmpfile(struct fs *fs, struct fs_call *c,
			 struct fs_inode *parent, mode_t mode, int flags,
			 struct fs_entry *entry, struct fs_open_out *out)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "tmpfile", c);
	char name[32];

	m->inode = parent;
	m->mode = mode;
	m->flags = flags;
	snprintf(name, sizeof(name), "tmp%d", m->calls);
	if (!err)
		err = mock_entry(m, name, S_IFREG | mode, entry);
	if (!err)
		err = mock_do_open(m, I(entry->inode), false, out);
	mock_end(m, c, err);
}

static void mock_read(struct fs *fs, struct fs_call *c, struct fs_file *file,
		      uint64_t off, const struct iovec *iov,
		      unsigned int iovcnt, size_t *nread)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "read", c);
	size_t done = 0;

	m->file = file;
	m->off = off;
	m->iovcnt = iovcnt;
	for (unsigned int i = 0; !err && i < iovcnt; i++) {
		unsigned char *p = iov[i].iov_base;

		for (size_t j = 0; j < iov[i].iov_len; j++) {
			if (off + done >= MOCK_FILE_SIZE)
				break;
			p[j] = (unsigned char)((off + done) * 7);
			done++;
		}
	}
	if (!err)
		*nread = done + m->read_extra;
	mock_end(m, c, err);
}

static void mock_write(struct fs *fs, struct fs_call *c, struct fs_file *file,
		       uint64_t off, const struct iovec *iov,
		       unsigned int iovcnt, uint32_t write_flags,
		       size_t *nwritten)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "write", c);

	m->file = file;
	m->off = off;
	m->wflags = write_flags;
	m->iovcnt = iovcnt;
	m->wlen = 0;
	for (unsigned int i = 0; i < iovcnt; i++) {
		if (m->wlen + iov[i].iov_len <= MOCK_WBUF)
			memcpy(m->wbuf + m->wlen, iov[i].iov_base,
			       iov[i].iov_len);
		m->wlen += iov[i].iov_len;
	}
	if (!err)
		*nwritten = m->wlen;
	mock_end(m, c, err);
}

static void mock_flush(struct fs *fs, struct fs_call *c, struct fs_file *file,
		       uint64_t lock_owner)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "flush", c);

	m->file = file;
	m->lock_owner = lock_owner;
	mock_end(m, c, err);
}

static void mock_release(struct fs *fs, struct fs_call *c,
			 struct fs_file *file, bool flock_release,
			 uint64_t lock_owner)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "release", c);

	m->file = file;
	m->flock_release = flock_release;
	m->lock_owner = lock_owner;
	F(file)->open = false;
	mock_end(m, c, err);
}

static void mock_fsync(struct fs *fs, struct fs_call *c, struct fs_file *file,
		       bool datasync)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "fsync", c);

	m->file = file;
	m->datasync = datasync;
	mock_end(m, c, err);
}

static void mock_opendir(struct fs *fs, struct fs_call *c,
			 struct fs_inode *inode, int flags,
			 struct fs_open_out *out)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "opendir", c);

	m->inode = inode;
	m->flags = flags;
	if (!err)
		err = mock_do_open(m, I(inode), true, out);
	mock_end(m, c, err);
}

/* Entry @i of the listing: ".", "..", then e000, e001, ... */
static void mock_dirent_name(int i, char *name, size_t size)
{
	if (i == 0)
		snprintf(name, size, ".");
	else if (i == 1)
		snprintf(name, size, "..");
	else
		snprintf(name, size, "e%03d", i - 2);
}

static void mock_readdir(struct fs *fs, struct fs_call *c, struct fs_file *dir,
			 uint64_t off, bool plus, fs_dir_fill_fn fill,
			 void *fill_ctx)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, plus ? "readdirplus" : "readdir", c);
	int n = m->readdir_entries + 2;

	m->file = dir;
	m->off = off;
	/* the offset is the peer's cookie: anything past the end is the end */
	for (int i = off < (uint64_t)n ? (int)off : n; !err && i < n; i++) {
		struct fs_entry e = { 0 };
		char name[32];

		mock_dirent_name(i, name, sizeof(name));
		if (m->readdir_bad_name && i == 2)
			name[0] = 0;
		if (plus) {
			struct mock_inode *in = i < 2 ? &m->inodes[0] :
				mock_ref(m, name, S_IFREG | 0644);

			if (i < 2)
				mock_ref_more(m, in);
			e.inode = (struct fs_inode *)in;
			e.attr = in->st;
		}
		if (fill(fill_ctx, name, strlen(name), 5000 + (uint64_t)i,
			 i < 2 ? 4 : 8, (uint64_t)i + 1, plus ? &e : NULL))
			break;
	}
	mock_end(m, c, err);
}

static void mock_releasedir(struct fs *fs, struct fs_call *c,
			    struct fs_file *dir)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "releasedir", c);

	m->file = dir;
	F(dir)->open = false;
	mock_end(m, c, err);
}

static void mock_fsyncdir(struct fs *fs, struct fs_call *c,
			  struct fs_file *dir, bool datasync)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "fsyncdir", c);

	m->file = dir;
	m->datasync = datasync;
	mock_end(m, c, err);
}

static void mock_statfs(struct fs *fs, struct fs_call *c,
			struct fs_inode *inode, struct statvfs *out)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "statfs", c);

	m->inode = inode;
	if (!err) {
		memset(out, 0, sizeof(*out));
		out->f_blocks = 1000;
		out->f_bfree = 500;
		out->f_bavail = 400;
		out->f_files = 100;
		out->f_ffree = 50;
		out->f_bsize = 4096;
		out->f_frsize = 4096;
		out->f_namemax = 255;
	}
	mock_end(m, c, err);
}

static void mock_setxattr(struct fs *fs, struct fs_call *c,
			  struct fs_inode *inode, const char *name,
			  const void *value, size_t size, int flags)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "setxattr", c);

	m->inode = inode;
	m->flags = flags;
	snprintf(m->name, sizeof(m->name), "%s", name);
	if (!err && size <= sizeof(m->xattr)) {
		memcpy(m->xattr, value, size);
		m->xattr_len = size;
	}
	mock_end(m, c, err);
}

static int mock_value(const unsigned char *v, size_t n, void *buf, size_t size,
		      size_t *len)
{
	if (size == 0) {
		*len = n;
		return 0;
	}
	if (size < n)
		return -ERANGE;
	memcpy(buf, v, n);
	*len = n;
	return 0;
}

static void mock_getxattr(struct fs *fs, struct fs_call *c,
			  struct fs_inode *inode, const char *name, void *buf,
			  size_t size, size_t *len)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "getxattr", c);

	m->inode = inode;
	m->len = size;
	snprintf(m->name, sizeof(m->name), "%s", name);
	if (!err)
		err = mock_value(m->xattr, m->xattr_len, buf, size, len);
	mock_end(m, c, err);
}

static void mock_listxattr(struct fs *fs, struct fs_call *c,
			   struct fs_inode *inode, char *buf, size_t size,
			   size_t *len)
{
	static const unsigned char list[] = "user.a\0user.bb";
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "listxattr", c);

	m->inode = inode;
	m->len = size;
	if (!err)
		err = mock_value(list, sizeof(list), buf, size, len);
	mock_end(m, c, err);
}

static void mock_removexattr(struct fs *fs, struct fs_call *c,
			     struct fs_inode *inode, const char *name)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "removexattr", c);

	m->inode = inode;
	snprintf(m->name, sizeof(m->name), "%s", name);
	mock_end(m, c, err);
}

static void mock_access(struct fs *fs, struct fs_call *c,
			struct fs_inode *inode, int mask)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "access", c);

	m->inode = inode;
	m->mask = mask;
	mock_end(m, c, err);
}

static void mock_getlk(struct fs *fs, struct fs_call *c, struct fs_file *file,
		       struct fs_lock *lk)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "getlk", c);

	m->file = file;
	m->lk = *lk;
	if (!err) {
		lk->type = F_WRLCK;
		lk->start = 10;
		lk->end = UINT64_MAX;
		lk->pid = 42;
	}
	mock_end(m, c, err);
}

static void mock_setlk(struct fs *fs, struct fs_call *c, struct fs_file *file,
		       const struct fs_lock *lk, bool wait)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, wait ? "setlkw" : "setlk", c);

	m->file = file;
	m->lk = *lk;
	m->wait = wait;
	if (wait && m->block_setlkw) {
		m->blocked = c;
		return;
	}
	mock_end(m, c, err);
}

static void mock_interrupt(struct fs *fs, struct fs_call *c)
{
	struct mock_fs *m = M(fs);

	m->interrupts++;
	if (m->interrupt_inline && m->blocked == c) {
		m->blocked = NULL;
		fs_call_complete(c, -EINTR);
	}
}

static void mock_fallocate(struct fs *fs, struct fs_call *c,
			   struct fs_file *file, int mode, uint64_t off,
			   uint64_t len)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "fallocate", c);

	m->file = file;
	m->flags = mode;
	m->off = off;
	m->len = len;
	mock_end(m, c, err);
}

static void mock_lseek(struct fs *fs, struct fs_call *c, struct fs_file *file,
		       uint64_t off, int whence, uint64_t *out)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "lseek", c);

	m->file = file;
	m->off = off;
	m->whence = whence;
	if (!err)
		*out = off + 10;
	mock_end(m, c, err);
}

static void mock_copy_file_range(struct fs *fs, struct fs_call *c,
				 struct fs_file *in, uint64_t off_in,
				 struct fs_file *out, uint64_t off_out,
				 uint64_t len, uint32_t flags, size_t *copied)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "copy_file_range", c);

	m->file = in;
	m->file2 = out;
	m->off = off_in;
	m->off2 = off_out;
	m->len = len;
	m->flags = (int)flags;
	if (!err)
		*copied = len;
	mock_end(m, c, err);
}

static void mock_syncfs(struct fs *fs, struct fs_call *c,
			struct fs_inode *inode)
{
	struct mock_fs *m = M(fs);
	int err = mock_begin(m, "syncfs", c);

	m->inode = inode;
	mock_end(m, c, err);
}

static void mock_destroy(struct fs *fs)
{
	(void)fs;
}

static const struct fs_ops mock_ops = {
	.root = mock_root,
	.forget = mock_forget,
	.destroy = mock_destroy,
	.lookup = mock_lookup,
	.getattr = mock_getattr,
	.setattr = mock_setattr,
	.readlink = mock_readlink,
	.mknod = mock_mknod,
	.mkdir = mock_mkdir,
	.symlink = mock_symlink,
	.link = mock_link,
	.unlink = mock_unlink,
	.rmdir = mock_rmdir,
	.rename = mock_rename,
	.open = mock_open,
	.create = mock_create,
	.tmpfile = mock_tmpfile,
	.read = mock_read,
	.write = mock_write,
	.flush = mock_flush,
	.release = mock_release,
	.fsync = mock_fsync,
	.opendir = mock_opendir,
	.readdir = mock_readdir,
	.releasedir = mock_releasedir,
	.fsyncdir = mock_fsyncdir,
	.statfs = mock_statfs,
	.setxattr = mock_setxattr,
	.getxattr = mock_getxattr,
	.listxattr = mock_listxattr,
	.removexattr = mock_removexattr,
	.access = mock_access,
	.getlk = mock_getlk,
	.setlk = mock_setlk,
	.interrupt = mock_interrupt,
	.fallocate = mock_fallocate,
	.lseek = mock_lseek,
	.copy_file_range = mock_copy_file_range,
	.syncfs = mock_syncfs,
};

struct mock_fs *mock_fs_new(void)
{
	struct mock_fs *m = calloc(1, sizeof(*m));

	if (!m)
		abort();
	m->wbuf = calloc(1, MOCK_WBUF);
	if (!m->wbuf)
		abort();
	pthread_mutex_init(&m->lock, NULL);
	m->ops = mock_ops;
	m->base.ops = &m->ops;
	m->base.name = "mock";
	m->inodes[0].used = true;
	snprintf(m->inodes[0].name, sizeof(m->inodes[0].name), "/");
	mock_stat_init(&m->inodes[0], 0, S_IFDIR | 0755);
	m->readdir_entries = 3;
	return m;
}

void mock_fs_free(struct mock_fs *m)
{
	pthread_mutex_destroy(&m->lock);
	free(m->wbuf);
	free(m);
}

uint64_t mock_fs_refs(const struct mock_fs *m)
{
	uint64_t n = 0;

	for (size_t i = 1; i < MOCK_INODES; i++)
		n += m->inodes[i].refs;
	return n;
}

int mock_fs_open_files(const struct mock_fs *m)
{
	int n = 0;

	for (size_t i = 0; i < MOCK_FILES; i++)
		n += m->files[i].open;
	return n;
}
