/* SPDX-License-Identifier: MIT */
/*
 * devfuse.h - serving a FUSE session to the host kernel over /dev/fuse.
 *
 * The mount is made with mount(2) (root), then served by @threads reactor
 * threads, each on its own cloned channel (FUSE_DEV_IOC_CLONE) with several
 * requests in flight.
 */
#ifndef VHOSTFS_DEVFUSE_H
#define VHOSTFS_DEVFUSE_H

#include <stdint.h>

struct fuse_session;
struct devfuse;

struct devfuse_config {
	const char *mountpoint;
	const char *fsname;        /* shown in /proc/mounts, default "vhostfs" */
	unsigned int threads;      /* reactor threads, 0 = 2 */
	unsigned int queue_depth;  /* requests in flight per thread, 0 = 16 */
	uint32_t max_write;        /* must match the session, 0 = 1 MiB */
	const char *options;       /* extra mount options ("allow_other,..."), may be NULL */
};

/*
 * Mount and start serving @session.  An earlier dead mount at the same
 * point (a crashed daemon) is detached first.
 */
int devfuse_start(struct devfuse **out, const struct devfuse_config *cfg,
		  struct fuse_session *session);

/* Block until the mount goes away (umount, devfuse_stop, or a fatal error). */
int devfuse_wait(struct devfuse *d);

/* Unmount (lazily if busy), stop the threads and free. Safe from a signal thread. */
void devfuse_stop(struct devfuse *d);
void devfuse_destroy(struct devfuse *d);

#endif /* VHOSTFS_DEVFUSE_H */
