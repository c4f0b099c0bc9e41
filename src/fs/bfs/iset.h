/* SPDX-License-Identifier: MIT */
/*
 * iset.h - the inode records one namespace operation reads and changes,
 * read once in its prepare phase (the same inode may be named twice, as
 * both parents of a rename) and written back together when applying.
 */
#ifndef VHOSTFS_BFS_ISET_H
#define VHOSTFS_BFS_ISET_H

#include "bfs_internal.h"

#define ISET_MAX 4

struct iset {
	unsigned int n;
	struct {
		uint64_t ino;
		bool dirty;
		struct bfs_dinode d;
	} e[ISET_MAX];
};

/* Read @ino into the set (once): 0, -ENOENT, BFS_AGAIN, -EUCLEAN. */
int iset_get(struct bfs *fs, struct iset *s, uint64_t ino,
	     struct bfs_dinode **out);
/* Mark @d (from iset_get) changed; with @ctime also stamp its ctime. */
void iset_dirty(struct iset *s, struct bfs_dinode *d, bool mtime, bool ctime);
/* Apply: write the changed records. */
int iset_write(struct bfs *fs, struct iset *s);

#endif
