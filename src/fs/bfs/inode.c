// SPDX-License-Identifier: MIT
/*
 * inode.c - in-memory inodes (reference counts of the client and of open
 * files) and the inode record: conversion to struct stat, times,
 * permission checks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bfs_ops_ext.h"

int bfs_itab_init(struct bfs *fs)
{
	fs->itab_size = 1024;
	fs->itab = calloc(fs->itab_size, sizeof(*fs->itab));
	return fs->itab ? 0 : -ENOMEM;
}

void bfs_itab_fini(struct bfs *fs)
{
	for (size_t i = 0; fs->itab && i < fs->itab_size; i++) {
		while (fs->itab[i]) {
			struct bfs_inode *in = fs->itab[i];

			fs->itab[i] = in->hnext;
			bfs_locks_free(in);
			free(in);
		}
	}
	free(fs->itab);
	fs->itab = NULL;
}

static size_t ihash(const struct bfs *fs, uint64_t ino)
{
	return (size_t)((ino * 0x9E3779B97F4A7C15ull) >> 23) &
	       (fs->itab_size - 1);
}

struct bfs_inode *bfs_inode_find(struct bfs *fs, uint64_t ino)
{
	struct bfs_inode *in = fs->itab[ihash(fs, ino)];

	while (in && in->ino != ino)
		in = in->hnext;
	return in;
}

struct bfs_inode *bfs_inode_get(struct bfs *fs, uint64_t ino)
{
	struct bfs_inode *in = bfs_inode_find(fs, ino);
	size_t h;

	if (in)
		return in;
	in = calloc(1, sizeof(*in));
	if (!in)
		return NULL;
	in->ino = ino;
	in->wq_tail = &in->wq;
	h = ihash(fs, ino);
	in->hnext = fs->itab[h];
	fs->itab[h] = in;
	fs->ninodes++;
	return in;
}

static void inode_unhash(struct bfs *fs, struct bfs_inode *in)
{
	struct bfs_inode **pp = &fs->itab[ihash(fs, in->ino)];

	while (*pp != in)
		pp = &(*pp)->hnext;
	*pp = in->hnext;
	fs->ninodes--;
}

/* Unused now: forget it, and free it on disk if it has no link left. */
void bfs_inode_check_free(struct bfs *fs, struct bfs_inode *in)
{
	uint64_t ino = in->ino;
	bool unlinked = in->unlinked;

	if (in->refs || in->opens || in->holds || in->writing || in->writers)
		return;
	inode_unhash(fs, in);
	bfs_locks_free(in);
	free(in);
	if (unlinked && !fs->read_only && !fs->j.stopping)
		bfs_inode_free_start(fs, ino);
}

void bfs_inode_put(struct bfs *fs, struct bfs_inode *in)
{
	bfs_inode_check_free(fs, in);
}

void bfs_now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

uint8_t bfs_mode_dtype(mode_t mode)
{
	return (uint8_t)((mode & S_IFMT) >> 12);
}

void bfs_dinode_init(struct bfs_dinode *d, mode_t mode, uint32_t uid,
		     uint32_t gid, uint64_t rdev)
{
	struct timespec now;

	bfs_now(&now);
	memset(d, 0, sizeof(*d));
	d->mode = mode;
	d->nlink = 1;
	d->uid = uid;
	d->gid = gid;
	d->rdev = rdev;
	d->atime = d->mtime = d->ctime = d->btime = now.tv_sec;
	d->atime_ns = d->mtime_ns = d->ctime_ns = d->btime_ns =
		(uint32_t)now.tv_nsec;
}

void bfs_touch(struct bfs_dinode *d, bool mtime, bool ctime)
{
	struct timespec now;

	bfs_now(&now);
	if (mtime) {
		d->mtime = now.tv_sec;
		d->mtime_ns = (uint32_t)now.tv_nsec;
	}
	if (ctime) {
		d->ctime = now.tv_sec;
		d->ctime_ns = (uint32_t)now.tv_nsec;
	}
}

void bfs_dinode_to_stat(const struct bfs_dinode *d, uint64_t ino,
			struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = d->mode;
	st->st_nlink = d->nlink;
	st->st_uid = d->uid;
	st->st_gid = d->gid;
	st->st_rdev = (dev_t)d->rdev;
	st->st_size = (off_t)d->size;
	st->st_blksize = BFS_BLOCK;
	st->st_blocks = (blkcnt_t)(d->blocks * (BFS_BLOCK / 512));
	if (d->flags & BFS_INODE_INLINE && d->size)
		st->st_blocks = (blkcnt_t)((d->size + 511) / 512);
	st->st_atim.tv_sec = d->atime;
	st->st_atim.tv_nsec = d->atime_ns;
	st->st_mtim.tv_sec = d->mtime;
	st->st_mtim.tv_nsec = d->mtime_ns;
	st->st_ctim.tv_sec = d->ctime;
	st->st_ctim.tv_nsec = d->ctime_ns;
}

static bool dinode_sane(const struct bfs_dinode *d)
{
	return d->atime_ns < 1000000000u &&
	       d->mtime_ns < 1000000000u && d->ctime_ns < 1000000000u &&
	       d->btime_ns < 1000000000u;
}

int bfs_dinode_read(struct bfs *fs, uint64_t ino, struct bfs_dinode *d)
{
	int rc = bfs_item_read(fs, bfs_key_make(ino, BFS_T_INODE, 0), d,
			       sizeof(*d));

	if (rc == 0 && !dinode_sane(d))
		return -EUCLEAN;
	return rc;
}

int bfs_dinode_write(struct bfs *fs, uint64_t ino, const struct bfs_dinode *d)
{
	return bfs_tree_update(fs, bfs_key_make(ino, BFS_T_INODE, 0), d,
			       sizeof(*d));
}

/*
 * Access the way a local Linux fs decides it (without supplementary
 * groups, which FUSE does not send): root passes everything but X on a
 * non-directory without any x bit.
 */
int bfs_perm(const struct fs_cred *cr, const struct bfs_dinode *d, int mask)
{
	uint32_t bits;

	mask &= R_OK | W_OK | X_OK;
	if (cr->uid == 0) {
		if ((mask & X_OK) && !S_ISDIR(d->mode) && !(d->mode & 0111))
			return -EACCES;
		return 0;
	}
	if (cr->uid == d->uid)
		bits = (d->mode >> 6) & 7;
	else if (cr->gid == d->gid)
		bits = (d->mode >> 3) & 7;
	else
		bits = d->mode & 7;
	return ((uint32_t)mask & ~bits) ? -EACCES : 0;
}
