/* SPDX-License-Identifier: MIT */
/*
 * bfs_names.h - arguments and steps of the namespace operations
 * (names.c, remove.c, rename.c), started by ops.c.
 */
#ifndef VHOSTFS_BFS_NAMES_H
#define VHOSTFS_BFS_NAMES_H

#include "bfs_internal.h"

struct bfs_name_args {
	struct bfs_inode *parent;
	struct bfs_inode *inode;   /* link: the inode to name */
	const char *name;
	const char *target;        /* symlink */
	struct bfs_inode *parent2; /* rename: the new parent */
	const char *name2;
	mode_t mode;
	dev_t rdev;
	uint32_t flags;            /* rename flags, open flags */
	struct fs_entry *entry;
	struct fs_open_out *open_out;
	/* create: called with the new inode before anything changes */
	int (*prepare)(struct bfs_op *op, struct bfs_inode *in);
	struct bfs_file *file;
};
BFS_ARGS_FIT(struct bfs_name_args);

int bfs_lookup_run(struct bfs_op *op);
int bfs_new_run(struct bfs_op *op); /* mknod, mkdir, symlink, create */
int bfs_link_run(struct bfs_op *op);
int bfs_unlink_run(struct bfs_op *op);
int bfs_rmdir_run(struct bfs_op *op);
int bfs_rename_run(struct bfs_op *op);

int bfs_dir_access(struct bfs *fs, uint64_t ino, const struct fs_cred *cr,
		   const struct bfs_dinode *d, bool write);
void bfs_entry_fill(struct bfs_inode *in, const struct bfs_dinode *d,
		    struct fs_entry *out);
int bfs_apply_check(struct bfs *fs, int rc);
/* Sticky directories: only the owner of the entry or dir (or root). */
int bfs_sticky_ok(const struct fs_cred *cr, const struct bfs_dinode *dir,
		  const struct bfs_dinode *victim);
/* A link count reached 0 in this step: orphan it (apply). */
int bfs_orphan_add(struct bfs *fs, uint64_t ino);
/* Prepare the ORPHAN item's path for @ino. */
int bfs_orphan_path(struct bfs *fs, uint64_t ino);
/* After apply: free the inode now if nothing references it. */
void bfs_unlinked(struct bfs *fs, uint64_t ino);

#endif
