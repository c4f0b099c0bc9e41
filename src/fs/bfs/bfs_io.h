/* SPDX-License-Identifier: MIT */
/* bfs_io.h - arguments of the data operations (data.c, write.c, attr.c). */
#ifndef VHOSTFS_BFS_IO_H
#define VHOSTFS_BFS_IO_H

#include "bfs_data.h"

struct bfs_io_args {
	struct bfs_file *file;
	struct bfs_inode *inode;
	uint64_t off;
	const struct iovec *iov;
	unsigned int iovcnt;
	uint32_t wflags;
	uint64_t total;
	uint64_t done;
	size_t *out;
	struct bfs_rw *rw;
	bool owner;      /* holds the inode's write queue */
	bool shared;     /* holds it shared (an overwrite in place) */
	bool mode_set;   /* cleared set-id bits: not a lazy commit */
	/* setattr */
	const struct fs_setattr *set;
	struct stat *attr;
	uint32_t stage;
	/* instead of completing the call when a write ends (setattr) */
	void (*then)(struct bfs_op *op, int err);
	/* open */
	struct fs_open_out *open_out;
	int oflags;
	struct statvfs *vfs;
};
BFS_ARGS_FIT(struct bfs_io_args);

int bfs_read_run(struct bfs_op *op);
int bfs_write_run(struct bfs_op *op);
int bfs_setattr_run(struct bfs_op *op);
int bfs_open_run(struct bfs_op *op);
int bfs_wq_enter(struct bfs_op *op, struct bfs_inode *in, bool *owner);
void bfs_wq_leave(struct bfs *fs, struct bfs_inode *in);
/* A WRITE's turn: shared when it only overwrites blocks in place. */
int bfs_write_enter(struct bfs_op *op, struct bfs_io_args *a);
void bfs_write_leave(struct bfs *fs, struct bfs_io_args *a);
/* Slice the next @len bytes as io-unit aligned iovecs; false: bounce. */
bool bfs_slice_aligned(struct bfs *fs, struct bfs_rw *rw, size_t len);

#endif
