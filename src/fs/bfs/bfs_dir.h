/* SPDX-License-Identifier: MIT */
/* bfs_dir.h - arguments of the directory operations (dir.c). */
#ifndef VHOSTFS_BFS_DIR_H
#define VHOSTFS_BFS_DIR_H

#include "bfs_internal.h"

struct bfs_dir_args {
	struct bfs_inode *inode;
	uint64_t off;
	bool plus;
	fs_dir_fill_fn fill;
	void *ctx;
	struct fs_open_out *open_out;
	/* readlink */
	char *buf;
	size_t size;
	size_t *len;
};
BFS_ARGS_FIT(struct bfs_dir_args);

int bfs_opendir_run(struct bfs_op *op);
int bfs_readdir_run(struct bfs_op *op);
int bfs_readlink_run(struct bfs_op *op);

#endif
