/* SPDX-License-Identifier: MIT */
/*
 * passthrough.h - a back-end that serves a host directory.
 *
 * Every path is resolved beneath the shared directory; inodes are held by
 * file handles where the host file system supports them (a bounded cache of
 * open fds otherwise), so huge trees cannot exhaust file descriptors.
 */
#ifndef VHOSTFS_PASSTHROUGH_H
#define VHOSTFS_PASSTHROUGH_H

#include <stdbool.h>
#include <stdint.h>

struct fs;
struct worker_pool;

enum passthrough_inode_mode {
	PASSTHROUGH_INODES_AUTO = 0, /* file handles when the host fs has them */
	PASSTHROUGH_INODES_HANDLES,  /* require file handles */
	PASSTHROUGH_INODES_FDS,      /* one O_PATH fd per inode (virtiofsd style) */
};

struct passthrough_config {
	const char *shared_dir;
	struct worker_pool *workers;   /* for syscalls io_uring cannot do; required */
	enum passthrough_inode_mode inodes;
	uint32_t fd_cache_size;        /* open fds kept for handle-held inodes, 0 = 1024 */
	bool xattr;                    /* serve xattrs */
	bool posix_acl;                /* keep POSIX ACLs working (default on) */
	bool readonly;
	/*
	 * Keep the client's O_DIRECT on the host file (virtiofsd's
	 * --allow-direct-io).  Off by default, as in virtiofsd: a guest may
	 * issue O_DIRECT I/O at any offset and alignment, which a host
	 * O_DIRECT fd refuses with EINVAL.
	 */
	bool direct_io;
};

/* Create the back-end; -errno on failure (log says why). */
int passthrough_create(const struct passthrough_config *cfg, struct fs **out);

#endif /* VHOSTFS_PASSTHROUGH_H */
