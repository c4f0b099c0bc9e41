/* SPDX-License-Identifier: MIT */
/* bfs_data.h - file data: mapping (extent.c) and the I/O paths (data.c). */
#ifndef VHOSTFS_BFS_DATA_H
#define VHOSTFS_BFS_DATA_H

#include "bfs_internal.h"

struct bfs_map {
	uint64_t disk;      /* 0: a hole */
	uint64_t len;       /* blocks from fblk in this extent or hole */
	bool unwritten;
	bool has_prev;      /* @prev ends right before fblk */
	struct bfs_key prev_key;
	struct bfs_dextent prev;
};

int bfs_map(struct bfs *fs, uint64_t ino, uint64_t fblk, struct bfs_map *m);
int bfs_inline_read(struct bfs *fs, uint64_t ino, uint64_t off, uint8_t *buf,
		    size_t len);
int bfs_inline_paths(struct bfs *fs, uint64_t ino, uint64_t end);
int bfs_inline_store(struct bfs *fs, uint64_t ino, const uint8_t *data,
		     size_t len);

/* Largest piece of one read or write step, in blocks. */
#define BFS_PIECE_MAX 256u
#define BFS_BOUNCE_BLOCKS 16u
#define BFS_RW_IOV 64u

/* Per-request I/O state that does not fit into the call's scratch. */
struct bfs_rw {
	struct blob_io io;
	struct iovec iov[BFS_RW_IOV];
	unsigned int niov;
	uint8_t *bounce; /* BFS_BOUNCE_BLOCKS blocks */
	struct bfs_rw *next_free;
	struct iov_cursor cur;
	/* the piece in flight */
	uint64_t disk;     /* first device block */
	uint64_t fblk;     /* first file block */
	uint32_t nblk;
	uint32_t boff;     /* partial piece: bytes inside its block */
	uint32_t blen;
	uint32_t bytes;    /* of the request this piece covers */
	bool partial;
	bool bounced;
	bool fresh;        /* newly reserved blocks: an extent to insert */
	bool convert;      /* moving inline bytes into block 0 */
	bool zero_src;     /* write zeros instead of the request's bytes */
	bool merge;        /* grow the previous extent instead */
	struct bfs_key prev_key;
	struct bfs_dextent prev;
};

struct bfs_rw *bfs_rw_get(struct bfs *fs);
void bfs_rw_put(struct bfs *fs, struct bfs_rw *rw);

#endif
