/* SPDX-License-Identifier: MIT */
/*
 * mock_fs.h - a back-end below the fs_ops boundary for engine tests.
 *
 * Inodes are found or made by name (names starting with "nx" do not exist),
 * every reference is counted so that a test can check that the engine gave
 * all of them back, and each operation records its arguments.  Completions
 * are inline unless @defer is set; @fail makes the next operation fail.
 */
#ifndef VHOSTFS_TESTS_MOCK_FS_H
#define VHOSTFS_TESTS_MOCK_FS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhostfs/fs.h"

#define MOCK_INODES 512
#define MOCK_FILES 128
#define MOCK_PENDING 16
#define MOCK_FILE_SIZE 100000u
#define MOCK_WBUF (2u << 20)

struct mock_inode {
	bool used;
	uint64_t refs;
	char name[260];
	struct stat st;
};

struct mock_file {
	struct mock_inode *ino;
	bool dir;
	bool open;
};

struct mock_fs {
	struct fs base;
	struct fs_ops ops;        /* a copy: tests may NULL an op */
	pthread_mutex_t lock;     /* reference counts (threaded tests) */
	struct mock_inode inodes[MOCK_INODES];
	struct mock_file files[MOCK_FILES];

	/* behaviour */
	int fail;                 /* next op completes with this (one-shot) */
	bool defer;               /* keep completions in pending[] */
	bool async;               /* complete later through call->reactor */
	bool block_setlkw;        /* SETLKW waits until interrupted */
	bool interrupt_inline;    /* interrupt() completes the SETLKW inline */
	int readdir_entries;      /* "e000".. after "." and ".." */
	bool readdir_bad_name;    /* emit an empty name */
	struct fs_open_out open_hints;
	bool open_null_file;      /* back-end bug: success without a file */
	size_t read_extra;        /* back-end bug: claim more than given */
	const char *link_target;

	struct fs_call *pending[MOCK_PENDING];
	int npending;
	struct fs_call *blocked;  /* a waiting SETLKW */

	/* the last call */
	const char *op;
	int calls;
	char name[4200];
	char name2[4200];
	struct fs_cred cred;
	struct fs_inode *inode;
	struct fs_inode *inode2;
	struct fs_file *file;
	struct fs_file *file2;
	mode_t mode;
	dev_t rdev;
	int flags;
	uint32_t wflags;
	struct fs_setattr sa;
	uint64_t off;
	uint64_t off2;
	uint64_t len;
	int whence;
	int mask;
	struct fs_lock lk;
	bool wait;
	bool datasync;
	bool flock_release;
	uint64_t lock_owner;
	unsigned int iovcnt;
	unsigned char *wbuf;      /* WRITE/SETXATTR data lands here */
	size_t wlen;
	unsigned char xattr[70000];
	size_t xattr_len;
	uint64_t forgets;         /* references returned */
	int interrupts;
};

/* Allocate a mock with every op set; free with mock_fs_free(). */
struct mock_fs *mock_fs_new(void);
void mock_fs_free(struct mock_fs *m);

/* Complete the @i-th deferred call with @err (outputs were written). */
void mock_fs_complete(struct mock_fs *m, int i, int err);

/* References the engine still holds (sum over inodes, root excluded). */
uint64_t mock_fs_refs(const struct mock_fs *m);
/* Open files not released. */
int mock_fs_open_files(const struct mock_fs *m);
struct mock_inode *mock_fs_inode(struct mock_fs *m, const char *name);

#endif /* VHOSTFS_TESTS_MOCK_FS_H */
