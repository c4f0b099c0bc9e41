// SPDX-License-Identifier: MIT
/*
 * rw.c - per-request I/O state (struct bfs_rw), kept on a free list so
 * that a steady stream of reads and writes allocates nothing.
 */
#include <stdlib.h>

#include "bfs_data.h"

struct bfs_rw *bfs_rw_get(struct bfs *fs)
{
	struct bfs_rw *rw = fs->rw_free;

	if (rw) {
		fs->rw_free = rw->next_free;
		return rw;
	}
	rw = calloc(1, sizeof(*rw));
	if (rw && posix_memalign((void **)&rw->bounce, BFS_BLOCK,
				 BFS_BOUNCE_BLOCKS * BFS_BLOCK)) {
		free(rw);
		rw = NULL;
	}
	return rw;
}

void bfs_rw_put(struct bfs *fs, struct bfs_rw *rw)
{
	rw->next_free = fs->rw_free;
	fs->rw_free = rw;
}

void bfs_rw_fini(struct bfs *fs)
{
	while (fs->rw_free) {
		struct bfs_rw *rw = fs->rw_free;

		fs->rw_free = rw->next_free;
		free(rw->bounce);
		free(rw);
	}
}
