// SPDX-License-Identifier: MIT
/*
 * ops.c - struct fs_ops of bfs: each operation fills its arguments into
 * the call's scratch and runs its step function (op.c) on the fs thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bfs_dir.h"
#include "bfs_io.h"
#include "bfs_names.h"
#include "bfs_ops_ext.h"
#include "bfs_refcount.h"
#include "bfs_xattr.h"

#define NAME_OP(fs, c, run, fl) \
	bfs_op_init(bfs_of(fs), c, run, fl)

static struct bfs_name_args *nargs(struct bfs_op *op)
{
	return BFS_ARGS(op, struct bfs_name_args);
}

static struct bfs_inode *bfs_in(struct fs_inode *i)
{
	return (struct bfs_inode *)i;
}

/* --- references ------------------------------------------------------------ */

static struct fs_inode *root_now(struct bfs *fs)
{
	struct bfs_inode *in = bfs_inode_get(fs, BFS_ROOT_INO);

	if (in)
		in->refs++;
	return (struct fs_inode *)in;
}

struct root_msg {
	struct reactor_msg msg;
	struct bfs *fs;
	struct fs_inode *root;
	bool done;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static void root_msg_fn(void *arg)
{
	struct root_msg *m = arg;

	pthread_mutex_lock(&m->lock);
	m->root = root_now(m->fs);
	m->done = true;
	pthread_cond_signal(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

/*
 * The inode table belongs to the fs thread; a session made on another
 * thread (a transport's control thread, a tool's main) waits for the hop:
 * once per session, and the fs thread never waits for anyone.
 */
static struct fs_inode *bfs_root(struct fs *f)
{
	struct bfs *fs = bfs_of(f);
	struct root_msg m = { .fs = fs };

	if (reactor_current() == fs->r)
		return root_now(fs);
	pthread_mutex_init(&m.lock, NULL);
	pthread_cond_init(&m.cond, NULL);
	m.msg.fn = root_msg_fn;
	m.msg.arg = &m;
	reactor_msg_send(fs->r, &m.msg);
	pthread_mutex_lock(&m.lock);
	while (!m.done)
		pthread_cond_wait(&m.cond, &m.lock);
	pthread_mutex_unlock(&m.lock);
	pthread_cond_destroy(&m.cond);
	pthread_mutex_destroy(&m.lock);
	return m.root;
}

struct forget_msg {
	struct reactor_msg msg;
	struct bfs *fs;
	struct bfs_inode *in;
	uint64_t n;
};

static void forget_now(struct bfs *fs, struct bfs_inode *in, uint64_t n)
{
	in->refs = in->refs > n ? in->refs - n : 0;
	bfs_inode_check_free(fs, in);
}

static void forget_msg_fn(void *arg)
{
	struct forget_msg *m = arg;

	forget_now(m->fs, m->in, m->n);
	free(m);
}

static void bfs_forget(struct fs *f, struct fs_inode *inode, uint64_t n)
{
	struct bfs *fs = bfs_of(f);
	struct reactor *cur = reactor_current();
	struct forget_msg *m;

	if (cur == fs->r) {
		forget_now(fs, bfs_in(inode), n);
		return;
	}
	m = malloc(sizeof(*m));
	if (!m)
		return; /* the inode stays cached until unmount */
	*m = (struct forget_msg){ .fs = fs, .in = bfs_in(inode), .n = n };
	m->msg.fn = forget_msg_fn;
	m->msg.arg = m;
	reactor_msg_send(fs->r, &m->msg);
}

static void destroy_cpl(void *arg, int err)
{
}

static void bfs_destroy(struct fs *f)
{
	/* asynchronous: the fs frees itself once its checkpoint is done */
	bfs_unmount(f, destroy_cpl, NULL);
}

/* --- entries ----------------------------------------------------------------- */

static void bfs_lookup(struct fs *fs, struct fs_call *c, struct fs_inode *p,
		       const char *name, struct fs_entry *out)
{
	struct bfs_op *op = NAME_OP(fs, c, bfs_lookup_run, 0);

	nargs(op)->parent = bfs_in(p);
	nargs(op)->name = name;
	nargs(op)->entry = out;
	bfs_op_submit(op);
}

static void new_submit(struct fs *fs, struct fs_call *c, struct fs_inode *p,
		       const char *name, mode_t mode, dev_t rdev,
		       const char *target, struct fs_entry *out)
{
	struct bfs_op *op = NAME_OP(fs, c, bfs_new_run, BFS_OP_MUTATES);
	struct bfs_name_args *a = nargs(op);

	a->parent = bfs_in(p);
	a->name = name;
	a->mode = mode;
	a->rdev = rdev;
	a->target = target;
	a->entry = out;
	bfs_op_submit(op);
}

static void bfs_mknod(struct fs *fs, struct fs_call *c, struct fs_inode *p,
		      const char *name, mode_t mode, dev_t rdev,
		      struct fs_entry *out)
{
	mode_t t = mode & S_IFMT;

	if (t != S_IFREG && t != S_IFIFO && t != S_IFSOCK && t != S_IFCHR &&
	    t != S_IFBLK && t != 0) {
		fs_call_complete(c, -EINVAL);
		return;
	}
	new_submit(fs, c, p, name, t ? mode : mode | S_IFREG, rdev, NULL, out);
}

static void bfs_mkdir(struct fs *fs, struct fs_call *c, struct fs_inode *p,
		      const char *name, mode_t mode, struct fs_entry *out)
{
	new_submit(fs, c, p, name, S_IFDIR | (mode & 07777), 0, NULL, out);
}

static void bfs_symlink(struct fs *fs, struct fs_call *c, struct fs_inode *p,
			const char *name, const char *target,
			struct fs_entry *out)
{
	size_t n = strlen(target);

	if (n == 0 || n > BFS_INLINE_LINK_MAX) {
		fs_call_complete(c, n ? -ENAMETOOLONG : -ENOENT);
		return;
	}
	new_submit(fs, c, p, name, S_IFLNK | 0777, 0, target, out);
}

static void bfs_link(struct fs *fs, struct fs_call *c, struct fs_inode *inode,
		     struct fs_inode *np, const char *name, struct fs_entry *out)
{
	struct bfs_op *op = NAME_OP(fs, c, bfs_link_run, BFS_OP_MUTATES);

	nargs(op)->inode = bfs_in(inode);
	nargs(op)->parent = bfs_in(np);
	nargs(op)->name = name;
	nargs(op)->entry = out;
	bfs_op_submit(op);
}

static void bfs_unlink(struct fs *fs, struct fs_call *c, struct fs_inode *p,
		       const char *name)
{
	struct bfs_op *op = NAME_OP(fs, c, bfs_unlink_run, BFS_OP_MUTATES);

	nargs(op)->parent = bfs_in(p);
	nargs(op)->name = name;
	bfs_op_submit(op);
}

static void bfs_rmdir(struct fs *fs, struct fs_call *c, struct fs_inode *p,
		      const char *name)
{
	struct bfs_op *op = NAME_OP(fs, c, bfs_rmdir_run, BFS_OP_MUTATES);

	nargs(op)->parent = bfs_in(p);
	nargs(op)->name = name;
	bfs_op_submit(op);
}

static void bfs_rename(struct fs *fs, struct fs_call *c, struct fs_inode *p,
		       const char *name, struct fs_inode *np,
		       const char *newname, uint32_t flags)
{
	struct bfs_op *op = NAME_OP(fs, c, bfs_rename_run, BFS_OP_MUTATES);

	nargs(op)->parent = bfs_in(p);
	nargs(op)->name = name;
	nargs(op)->parent2 = bfs_in(np);
	nargs(op)->name2 = newname;
	nargs(op)->flags = flags;
	bfs_op_submit(op);
}

/* --- create: a new inode and an open file in one step --------------------------- */

static int create_prepare(struct bfs_op *op, struct bfs_inode *in)
{
	struct bfs_name_args *a = nargs(op);

	if (!a->file)
		a->file = calloc(1, sizeof(*a->file));
	return a->file ? 0 : -ENOMEM;
}

static int create_run(struct bfs_op *op)
{
	struct bfs_name_args *a = nargs(op);
	int rc = bfs_new_run(op);

	if (rc == BFS_AGAIN || rc == BFS_ASYNC)
		return rc;
	if (rc) {
		free(a->file);
		a->file = NULL;
		return rc;
	}
	a->file->inode = bfs_in(a->entry->inode);
	a->file->flags = (int)a->flags;
	a->file->inode->opens++;
	a->open_out->file = (struct fs_file *)a->file;
	return 0;
}

static void bfs_create(struct fs *fs, struct fs_call *c, struct fs_inode *p,
		       const char *name, mode_t mode, int flags,
		       struct fs_entry *entry, struct fs_open_out *out)
{
	struct bfs_op *op = NAME_OP(fs, c, create_run, BFS_OP_MUTATES);
	struct bfs_name_args *a = nargs(op);

	a->parent = bfs_in(p);
	a->name = name;
	a->mode = S_IFREG | (mode & 07777);
	a->flags = (uint32_t)flags;
	a->entry = entry;
	a->open_out = out;
	a->prepare = create_prepare;
	bfs_op_submit(op);
}

/* O_TMPFILE: create without a name (names.c), open. */
static void bfs_tmpfile(struct fs *fs, struct fs_call *c, struct fs_inode *p,
			mode_t mode, int flags, struct fs_entry *entry,
			struct fs_open_out *out)
{
	bfs_create(fs, c, p, NULL, mode, flags, entry, out);
}

/* --- attributes ------------------------------------------------------------------ */

static int getattr_run(struct bfs_op *op)
{
	struct bfs_io_args *a = BFS_ARGS(op, struct bfs_io_args);
	struct bfs_dinode d;
	int rc = bfs_dinode_read(op->fs, a->inode->ino, &d);

	if (rc == 0)
		bfs_dinode_to_stat(&d, a->inode->ino, a->attr);
	return rc;
}

static void bfs_getattr(struct fs *fs, struct fs_call *c, struct fs_inode *in,
			struct fs_file *file, struct stat *out)
{
	struct bfs_op *op = bfs_op_init(bfs_of(fs), c, getattr_run, 0);

	BFS_ARGS(op, struct bfs_io_args)->inode = bfs_in(in);
	BFS_ARGS(op, struct bfs_io_args)->attr = out;
	bfs_op_submit(op);
}

static void bfs_setattr(struct fs *fs, struct fs_call *c, struct fs_inode *in,
			struct fs_file *file, const struct fs_setattr *set,
			struct stat *out)
{
	struct bfs_op *op = bfs_op_init(bfs_of(fs), c, bfs_setattr_run,
					BFS_OP_MUTATES);
	struct bfs_io_args *a = BFS_ARGS(op, struct bfs_io_args);

	a->inode = bfs_in(in);
	a->file = (struct bfs_file *)file;
	a->set = set;
	a->attr = out;
	bfs_op_submit(op);
}

static int access_run(struct bfs_op *op)
{
	struct bfs_io_args *a = BFS_ARGS(op, struct bfs_io_args);
	struct bfs_dinode d;
	int rc = bfs_dinode_read(op->fs, a->inode->ino, &d);

	return rc ? rc : bfs_perm_acl(op->fs, a->inode->ino, &op->call->cred,
				      &d, a->oflags);
}

static void bfs_access(struct fs *fs, struct fs_call *c, struct fs_inode *in,
		       int mask)
{
	struct bfs_op *op = bfs_op_init(bfs_of(fs), c, access_run, 0);

	BFS_ARGS(op, struct bfs_io_args)->inode = bfs_in(in);
	BFS_ARGS(op, struct bfs_io_args)->oflags = mask;
	bfs_op_submit(op);
}

/* --- files ----------------------------------------------------------------------- */

static void bfs_open(struct fs *fs, struct fs_call *c, struct fs_inode *in,
		     int flags, struct fs_open_out *out)
{
	struct bfs_op *op = bfs_op_init(bfs_of(fs), c, bfs_open_run, 0);
	struct bfs_io_args *a = BFS_ARGS(op, struct bfs_io_args);

	a->inode = bfs_in(in);
	a->oflags = flags;
	a->open_out = out;
	bfs_op_submit(op);
}

static int release_run(struct bfs_op *op)
{
	struct bfs_io_args *a = BFS_ARGS(op, struct bfs_io_args);
	struct bfs_file *f = a->file;
	struct bfs_inode *in = f->inode;

	bfs_locks_release(op->fs, f, a->wflags != 0, a->off);
	free(f);
	if (in->opens)
		in->opens--;
	bfs_inode_check_free(op->fs, in);
	return 0;
}

static void bfs_release(struct fs *fs, struct fs_call *c, struct fs_file *file,
			bool flock_release, uint64_t owner)
{
	struct bfs_op *op = bfs_op_init(bfs_of(fs), c, release_run, 0);

	BFS_ARGS(op, struct bfs_io_args)->file = (struct bfs_file *)file;
	BFS_ARGS(op, struct bfs_io_args)->wflags = flock_release;
	BFS_ARGS(op, struct bfs_io_args)->off = owner;
	bfs_op_submit(op);
}

static void bfs_read(struct fs *fs, struct fs_call *c, struct fs_file *file,
		     uint64_t off, const struct iovec *iov, unsigned int iovcnt,
		     size_t *nread)
{
	struct bfs_op *op = bfs_op_init(bfs_of(fs), c, bfs_read_run, 0);
	struct bfs_io_args *a = BFS_ARGS(op, struct bfs_io_args);

	a->file = (struct bfs_file *)file;
	a->inode = a->file->inode;
	a->off = off;
	a->iov = iov;
	a->iovcnt = iovcnt;
	a->out = nread;
	bfs_op_submit(op);
}

static void bfs_write(struct fs *fs, struct fs_call *c, struct fs_file *file,
		      uint64_t off, const struct iovec *iov,
		      unsigned int iovcnt, uint32_t flags, size_t *nwritten)
{
	struct bfs_op *op = bfs_op_init(bfs_of(fs), c, bfs_write_run,
					BFS_OP_MUTATES);
	struct bfs_io_args *a = BFS_ARGS(op, struct bfs_io_args);
	struct bfs_file *f = (struct bfs_file *)file;

	if (off > (uint64_t)INT64_MAX - iov_length(iov, iovcnt)) {
		fs_call_complete(c, -EFBIG);
		return;
	}
	a->file = f;
	a->inode = f->inode;
	a->off = off; /* the client resolves O_APPEND offsets */
	a->iov = iov;
	a->iovcnt = iovcnt;
	a->wflags = flags;
	a->out = nwritten;
	bfs_op_submit(op);
}

static void sync_cpl(void *arg, int err)
{
	bfs_op_done(arg, err);
}

static int sync_run(struct bfs_op *op)
{
	if (op->fs->read_only)
		return 0;
	op->wait.cb = sync_cpl;
	op->wait.arg = op;
	bfs_commit_wait(op->fs, &op->wait);
	return BFS_ASYNC;
}

static void bfs_fsync(struct fs *fs, struct fs_call *c, struct fs_file *file,
		      bool datasync)
{
	bfs_op_submit(bfs_op_init(bfs_of(fs), c, sync_run, 0));
}

static void bfs_syncfs(struct fs *fs, struct fs_call *c, struct fs_inode *in)
{
	bfs_op_submit(bfs_op_init(bfs_of(fs), c, sync_run, 0));
}

/* --- directories -------------------------------------------------------------------- */

static void bfs_opendir(struct fs *fs, struct fs_call *c, struct fs_inode *in,
			int flags, struct fs_open_out *out)
{
	struct bfs_op *op = bfs_op_init(bfs_of(fs), c, bfs_opendir_run, 0);

	BFS_ARGS(op, struct bfs_dir_args)->inode = bfs_in(in);
	BFS_ARGS(op, struct bfs_dir_args)->open_out = out;
	bfs_op_submit(op);
}

static void bfs_readdir(struct fs *fs, struct fs_call *c, struct fs_file *dir,
			uint64_t off, bool plus, fs_dir_fill_fn fill, void *ctx)
{
	struct bfs_op *op = bfs_op_init(bfs_of(fs), c, bfs_readdir_run, 0);
	struct bfs_dir_args *a = BFS_ARGS(op, struct bfs_dir_args);

	a->inode = ((struct bfs_file *)dir)->inode;
	a->off = off;
	a->plus = plus;
	a->fill = fill;
	a->ctx = ctx;
	bfs_op_submit(op);
}

static void bfs_releasedir(struct fs *fs, struct fs_call *c,
			   struct fs_file *dir)
{
	bfs_release(fs, c, dir, false, 0);
}

static void bfs_fsyncdir(struct fs *fs, struct fs_call *c, struct fs_file *dir,
			 bool datasync)
{
	bfs_fsync(fs, c, dir, datasync);
}

static void bfs_readlink(struct fs *fs, struct fs_call *c, struct fs_inode *in,
			 char *buf, size_t size, size_t *len)
{
	struct bfs_op *op = bfs_op_init(bfs_of(fs), c, bfs_readlink_run, 0);
	struct bfs_dir_args *a = BFS_ARGS(op, struct bfs_dir_args);

	a->inode = bfs_in(in);
	a->buf = buf;
	a->size = size;
	a->len = len;
	bfs_op_submit(op);
}

/* --- statfs ------------------------------------------------------------------------- */

static int statfs_run(struct bfs_op *op)
{
	struct bfs *fs = op->fs;
	struct statvfs *st = BFS_ARGS(op, struct bfs_io_args)->vfs;
	uint64_t blocks, free_blocks;

	/* thin volume: free blocks in unallocated clusters need the store */
	bfs_alloc_space(fs, &blocks, &free_blocks);
	memset(st, 0, sizeof(*st));
	st->f_bsize = BFS_BLOCK;
	st->f_frsize = BFS_BLOCK;
	st->f_blocks = blocks;
	st->f_bfree = free_blocks;
	st->f_bavail = free_blocks;
	/* about 16 inodes fit in a block of tree */
	st->f_ffree = free_blocks * 16;
	st->f_files = fs->st.inodes + st->f_ffree;
	st->f_favail = st->f_ffree;
	st->f_namemax = 255;
	st->f_fsid = fs->vol_id;
	if (fs->read_only)
		st->f_flag |= ST_RDONLY;
	return 0;
}

static void bfs_statfs(struct fs *fs, struct fs_call *c, struct fs_inode *in,
		       struct statvfs *out)
{
	struct bfs_op *op = bfs_op_init(bfs_of(fs), c, statfs_run, 0);

	BFS_ARGS(op, struct bfs_io_args)->vfs = out;
	bfs_op_submit(op);
}

const struct fs_ops bfs_fs_ops = {
	.root = bfs_root,
	.forget = bfs_forget,
	.destroy = bfs_destroy,
	.lookup = bfs_lookup,
	.getattr = bfs_getattr,
	.setattr = bfs_setattr,
	.readlink = bfs_readlink,
	.mknod = bfs_mknod,
	.mkdir = bfs_mkdir,
	.symlink = bfs_symlink,
	.link = bfs_link,
	.unlink = bfs_unlink,
	.rmdir = bfs_rmdir,
	.rename = bfs_rename,
	.open = bfs_open,
	.create = bfs_create,
	.read = bfs_read,
	.write = bfs_write,
	.flush = bfs_flush,
	.release = bfs_release,
	.fsync = bfs_fsync,
	.opendir = bfs_opendir,
	.readdir = bfs_readdir,
	.releasedir = bfs_releasedir,
	.fsyncdir = bfs_fsyncdir,
	.statfs = bfs_statfs,
	.access = bfs_access,
	.setxattr = bfs_setxattr,
	.getxattr = bfs_getxattr,
	.listxattr = bfs_listxattr,
	.removexattr = bfs_removexattr,
	.syncfs = bfs_syncfs,
	.tmpfile = bfs_tmpfile,
	.lseek = bfs_lseek,
	.getlk = bfs_getlk,
	.setlk = bfs_setlk,
	.interrupt = bfs_interrupt,
	.fallocate = bfs_fallocate,
	.copy_file_range = bfs_copy_file_range,
};
