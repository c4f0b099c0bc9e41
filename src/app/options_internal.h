/* SPDX-License-Identifier: MIT */
/*
 * options_internal.h - vhostfsd's command line, parsed into one struct.
 *
 * The names follow virtiofsd (the Rust one, and the -o spelling of the old
 * C one that libvirt still emits), so that libvirt, Kata and hand-written
 * scripts can start vhostfsd in its place.  Parsing prints nothing: errors
 * come back as one line of text for the caller to print.
 */
#ifndef VHOSTFS_APP_OPTIONS_INTERNAL_H
#define VHOSTFS_APP_OPTIONS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhostfs/fuse_engine.h"
#include "vhostfs/log.h"
#include "vhostfs/passthrough.h"

enum vhostfsd_action {
	VHOSTFSD_RUN = 0,
	VHOSTFSD_HELP,
	VHOSTFSD_VERSION,
	VHOSTFSD_CAPABILITIES,
};

/* Accepted for compatibility; see docs in the --help text. */
enum vhostfsd_sandbox {
	VHOSTFSD_SANDBOX_NAMESPACE = 0,
	VHOSTFSD_SANDBOX_CHROOT,
	VHOSTFSD_SANDBOX_NONE,
};

enum vhostfsd_seccomp {
	VHOSTFSD_SECCOMP_KILL = 0,
	VHOSTFSD_SECCOMP_LOG,
	VHOSTFSD_SECCOMP_TRAP,
	VHOSTFSD_SECCOMP_NONE,
};

#define VHOSTFSD_ERR_MAX 256
/* --queues: VHOST_USER_REQUEST_QUEUES_MAX (checked where both are seen) */
#define VHOSTFSD_QUEUES_MAX 64u
#define VHOSTFSD_WARN_MAX 8

struct vhostfsd_options {
	enum vhostfsd_action action;
	const char *shared_dir;    /* --shared-dir, -o source= */
	const char *image;         /* --image: serve a file system of it */
	const char *export_name;   /* --export (with --image); NULL: "main" */
	const char *fuse_mount;    /* --fuse-mount: serve over /dev/fuse */
	const char *socket_path;   /* --socket-path (vhost-user) */
	int vhost_fd;              /* --fd (vhost-user), -1 if not given */
	enum fuse_cache_mode cache;
	bool xattr;
	bool posix_acl;
	bool writeback;
	bool readonly;
	bool direct_io;                /* --allow-direct-io: keep O_DIRECT */
	enum log_level log_level;
	unsigned int thread_pool_size; /* 0 = default */
	unsigned int threads;          /* reactor threads, 0 = default */
	unsigned int queue_depth;      /* per thread (/dev/fuse) or per
					  virtqueue (vhost-user), 0 = default */
	unsigned int queues;           /* vhost-user request queues, 0 = 1 */
	bool poll;                     /* vhost-user: busy-poll the rings */
	enum passthrough_inode_mode inodes;
	enum vhostfsd_sandbox sandbox;
	enum vhostfsd_seccomp seccomp;
	uint64_t rlimit_nofile;        /* 0 = leave the limit alone */

	/* Accepted-but-ignored virtiofsd options, one line each, for the log. */
	char warnings[VHOSTFSD_WARN_MAX][VHOSTFSD_ERR_MAX];
	unsigned int nwarnings;
	/* -o source=a,,b is unescaped into this copy */
	char source_buf[4096];
};

/* Fill @o with the defaults (what a bare "vhostfsd" would use). */
void vhostfsd_options_init(struct vhostfsd_options *o);

/*
 * Parse argv[1..argc).  Returns 0, or -EINVAL with a one-line reason in
 * @err (no trailing newline).  Strings in @o point into @argv or @o.
 */
int vhostfsd_options_parse(struct vhostfsd_options *o, int argc,
			   char *const argv[], char *err, size_t errlen);

/*
 * Check that the options describe something we can run (a shared dir or an
 * image, and a transport).  Same error convention as vhostfsd_options_parse().
 */
int vhostfsd_options_validate(const struct vhostfsd_options *o, char *err,
			      size_t errlen);

/* The --help text and the --print-capabilities JSON. */
extern const char vhostfsd_usage[];
extern const char vhostfsd_capabilities[];

#endif /* VHOSTFS_APP_OPTIONS_INTERNAL_H */
