/* SPDX-License-Identifier: MIT */
/*
 * bfs.h - the embedded file system: a POSIX file system inside one thin
 * blob (the volume) of a blobstore, served through struct fs_ops.
 *
 * The format is docs/FORMAT.md "File-system layer"; the design is
 * docs/DESIGN.md "Embedded file system".
 *
 * Threads.  A mounted fs runs on the store's md reactor (the one given to
 * blob_store_init/load); every call below is made on that thread, and the
 * fs_ops of the mounted fs may be called from any reactor thread (they hop
 * to the fs thread and complete on the caller's).
 *
 * Durability.  Metadata operations complete once applied in memory; a
 * commit every 50 ms (or when much is dirty) makes them durable, and
 * fsync, fdatasync, fsyncdir and syncfs complete only after a commit that
 * covers everything applied and every data write completed before them.
 * Overwrites in place (no allocation) change only times and size: alone
 * they are committed within 1 s, so a power cut may lose those of the
 * last second.  After any power cut the file system mounts in a state
 * between two operations, with everything synced intact.
 */
#ifndef VHOSTFS_BFS_H
#define VHOSTFS_BFS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vhostfs/blob.h"

struct fs;

/* mkfs options; zeroed = defaults. */
struct bfs_mkfs_opts {
	uint64_t size;           /* volume bytes (rounded down to 4 KiB);
				    0 = the store's data space */
	uint32_t journal_blocks; /* 128..65536; 0 = 1/64 of the volume in
				    256..4096 */
	uint32_t root_uid;
	uint32_t root_gid;
	uint32_t root_mode;      /* permission bits; 0 = 0755 */
};

/*
 * Create a new file system in a new thin blob of @bs; its id goes to
 * *@vol_id.  Durable at completion.
 */
void bfs_mkfs(struct blob_store *bs, const struct bfs_mkfs_opts *opts,
	      uint64_t *vol_id, blob_cb cb, void *arg);

struct bfs_mount_opts {
	bool read_only;        /* replay in memory, refuse changes (-EROFS) */
	uint32_t cache_blocks; /* tree blocks kept cached; 0 = 16384 */
	uint32_t commit_ms;    /* commit interval while dirty; 0 = 50
				  (overwrites in place alone: 1000 or more) */
};

/*
 * Mount the file system in volume blob @vol_id: replay its journal, write a
 * checkpoint (read-write), free orphans.  *@out is set before @cb runs
 * with 0.  -EILSEQ (not a bfs volume or unsupported version), -EUCLEAN
 * (corrupt), or an I/O error.
 */
void bfs_mount(struct blob_store *bs, uint64_t vol_id,
	       const struct bfs_mount_opts *opts, struct fs **out, blob_cb cb,
	       void *arg);

/*
 * Commit, checkpoint, mark the volume clean and free the fs.  No fs_ops
 * call may be in flight; inodes still referenced and inodes of files still
 * open are dropped (their orphans are kept for the next mount), but a
 * struct fs_file still open stays the caller's: release it first (the
 * FUSE engine does, at session destroy) or free() it after.  The fs is
 * freed whatever the result.
 */
void bfs_unmount(struct fs *fs, blob_cb cb, void *arg);

/* Commit and checkpoint now (what a snapshot of the volume needs). */
void bfs_sync(struct fs *fs, blob_cb cb, void *arg);

struct bfs_check_report {
	uint64_t errors;
	uint64_t inodes;
	uint64_t dirents;
	uint64_t extents;
	uint64_t blocks_used; /* by the tree and by extents */
	uint64_t orphans;
};

/*
 * Check the mounted fs (quiescent: no call in flight): tree structure and
 * key order, node checksums, every block owned once and marked in the
 * bitmap, the bitmap has no leaked bit, counts of the fs state, link
 * counts against directory entries, directory sizes, dirent types, that
 * every directory is reachable once from the root, and extents inside the
 * volume.  Problems are described on @log (may be NULL); @cb gets 0 when
 * the check ran (see rep->errors).
 */
void bfs_check(struct fs *fs, struct bfs_check_report *rep, FILE *log,
	       blob_cb cb, void *arg);

#endif /* VHOSTFS_BFS_H */
