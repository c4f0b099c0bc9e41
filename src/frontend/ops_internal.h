/* SPDX-License-Identifier: MIT */
/*
 * ops_internal.h - synchronous FUSE operations for set-up and the smoke test.
 *
 * Each call takes a free slot of @q, sends one request, waits for it and
 * checks the reply beyond the generic checks (e.g. a CREATE must return a
 * nonzero nodeid).  Returns the daemon's status (0 or -errno) or -EPROTO.
 * Not for hot paths: workloads drive fe_queue directly.
 */
#ifndef VHOSTFS_FE_OPS_INTERNAL_H
#define VHOSTFS_FE_OPS_INTERNAL_H

#include <linux/fuse.h>
#include <stdint.h>

#include "frontend/queue_internal.h"

/* A negative entry (nodeid 0) is returned as -ENOENT. */
int fe_op_lookup(struct fe_queue *q, uint64_t parent, const char *name,
		 struct fuse_entry_out *e);
int fe_op_create(struct fe_queue *q, uint64_t parent, const char *name,
		 uint32_t flags, uint32_t mode, struct fuse_entry_out *e,
		 struct fuse_open_out *o);
int fe_op_open(struct fe_queue *q, uint64_t nodeid, uint32_t flags,
	       struct fuse_open_out *o);
/* Read up to @len bytes at @off into @buf; *@got = bytes returned. */
int fe_op_read(struct fe_queue *q, uint64_t nodeid, uint64_t fh, uint64_t off,
	       void *buf, uint32_t len, uint32_t *got);
/* Write @len bytes; anything but a full write is -EIO. */
int fe_op_write(struct fe_queue *q, uint64_t nodeid, uint64_t fh, uint64_t off,
		const void *buf, uint32_t len);
int fe_op_release(struct fe_queue *q, uint64_t nodeid, uint64_t fh,
		  uint32_t flags);
int fe_op_flush(struct fe_queue *q, uint64_t nodeid, uint64_t fh);
int fe_op_getattr(struct fe_queue *q, uint64_t nodeid, struct fuse_attr_out *a);
int fe_op_unlink(struct fe_queue *q, uint64_t parent, const char *name);

/* Check an entry for a regular file the daemon just created or found. */
int fe_op_entry_check(const char *op, const struct fuse_entry_out *e);

#endif /* VHOSTFS_FE_OPS_INTERNAL_H */
