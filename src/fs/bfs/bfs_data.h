/* SPDX-License-Identifier: MIT */
/* bfs_data.h - file data: mapping (extent.c) and the I/O paths (data.c). */
#ifndef VHOSTFS_BFS_DATA_H
#define VHOSTFS_BFS_DATA_H

#include "bfs_internal.h"

struct bfs_map {
	uint64_t disk;      /* 0: a hole */
	uint64_t len;       /* blocks from fblk in this extent or hole */
	bool unwritten;
	bool shared;        /* the extent may share blocks (BFS_EXT_SHARED) */
	struct bfs_key key; /* the extent covering fblk, when disk != 0 */
	struct bfs_dextent ext;
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
/*
 * iovecs of one piece.  A piece is at most BFS_PIECE_MAX blocks, and an
 * aligned request has at most one iovec per block (a guest driver sends
 * one descriptor per page), so any aligned piece fits and goes to the
 * device from the request's own memory: no bounce for aligned I/O up to
 * FUSE's 1 MiB max_write.  rw.c pools these structs, so the size costs
 * nothing per request.
 */
#define BFS_RW_IOV BFS_PIECE_MAX

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
	bool cow;          /* a shared block: @disk replaces @old */
	uint64_t old;
	struct bfs_key ext_key; /* the extent mapping @old (cow) */
	struct bfs_dextent ext;
	struct bfs_key prev_key;
	struct bfs_dextent prev;
};

struct bfs_rw *bfs_rw_get(struct bfs *fs);
void bfs_rw_put(struct bfs *fs, struct bfs_rw *rw);

#endif
