/* SPDX-License-Identifier: MIT */
/*
 * fuzz_common.h - what the storage fuzz targets (blob_load_fuzz,
 * bfs_mount_fuzz) share: running an asynchronous call to completion on the
 * target's reactor, and whole-device I/O on a ram device.
 */
#ifndef VHOSTFS_FUZZ_COMMON_H
#define VHOSTFS_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhostfs/bdev.h"
#include "vhostfs/reactor.h"

struct fz_wait {
	int done;
	int err;
};

/* A completion callback: @arg is a struct fz_wait. */
void fz_wait_cb(void *arg, int err);
/* Run @r until @w completed; returns its error. */
int fz_wait_run(struct reactor *r, struct fz_wait *w);

/* Run @call (which passes fz_wait_cb, w) on @r to completion: its error. */
#define FZ_RUN(r, call)                      \
	({                                   \
		struct fz_wait w_ = { 0 };   \
		struct fz_wait *w = &w_;     \
		call;                        \
		fz_wait_run((r), w);         \
	})

/* Read or write the first @len bytes of @dev from or to @buf. */
int fz_raw_rw(struct reactor *r, struct bdev *dev, void *buf, size_t len,
	      bool write);
/* A ram device of @bytes in blocks of @block; aborts on failure. */
struct bdev *fz_ram_new(uint32_t block, uint64_t bytes);

#endif
