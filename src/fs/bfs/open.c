// SPDX-License-Identifier: MIT
/*
 * open.c - open (with O_TRUNC through setattr), release, fsync.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include "bfs_io.h"

static const struct fs_setattr trunc0 = { .valid = FS_SET_SIZE, .size = 0 };

static int open_access(struct bfs_op *op, const struct bfs_dinode *d,
		       int flags)
{
	int acc = flags & O_ACCMODE, mask = 0;

	if (acc == O_RDONLY || acc == O_RDWR)
		mask |= R_OK;
	if (acc == O_WRONLY || acc == O_RDWR || (flags & O_TRUNC))
		mask |= W_OK;
	return bfs_perm_acl(op->fs, BFS_ARGS(op, struct bfs_io_args)->inode->ino,
			    &op->call->cred, d, mask);
}

static void open_truncated(struct bfs_op *op, int err)
{
	struct bfs_io_args *a = BFS_ARGS(op, struct bfs_io_args);

	a->then = NULL;
	if (err) {
		bfs_op_done(op, err);
		return;
	}
	a->oflags &= ~O_TRUNC;
	op->run = bfs_open_run;
	bfs_op_run(op);
}

int bfs_open_run(struct bfs_op *op)
{
	struct bfs_io_args *a = BFS_ARGS(op, struct bfs_io_args);
	struct bfs_dinode d;
	struct bfs_file *f;
	int rc = bfs_dinode_read(op->fs, a->inode->ino, &d);

	if (rc)
		return rc;
	if (S_ISDIR(d.mode))
		return -EISDIR;
	if (!S_ISREG(d.mode))
		return -EPERM; /* special files are the client's business */
	rc = open_access(op, &d, a->oflags);
	if (rc)
		return rc;
	if ((a->oflags & O_TRUNC) && d.size) {
		if (op->fs->read_only)
			return -EROFS;
		a->set = &trunc0;
		a->file = NULL;
		a->then = open_truncated;
		a->stage = 0;
		op->run = bfs_setattr_run;
		op->flags |= BFS_OP_MUTATES;
		return bfs_setattr_run(op);
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->inode = a->inode;
	f->flags = a->oflags;
	a->inode->opens++;
	a->open_out->file = (struct fs_file *)f;
	return 0;
}
