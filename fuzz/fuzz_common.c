// SPDX-License-Identifier: MIT
/*
 * fuzz_common.c - helpers of the storage fuzz targets (see fuzz_common.h).
 */
#include <stdlib.h>
#include <sys/uio.h>

#include "fuzz_common.h"

void fz_wait_cb(void *arg, int err)
{
	struct fz_wait *w = arg;

	w->done = 1;
	w->err = err;
}

int fz_wait_run(struct reactor *r, struct fz_wait *w)
{
	/* every call completes: a hang is a bug the fuzzer reports */
	while (!w->done)
		reactor_run_once(r, 100);
	return w->err;
}

struct raw {
	struct bdev_io io;
	struct fz_wait w;
};

static void raw_cb(void *arg, int err)
{
	fz_wait_cb(&((struct raw *)arg)->w, err);
}

int fz_raw_rw(struct reactor *r, struct bdev *dev, void *buf, size_t len,
	      bool write)
{
	struct iovec v = { .iov_base = buf, .iov_len = len };
	struct bdev_channel *ch;
	struct raw rw = { 0 };

	if (bdev_channel_create(dev, r, &ch))
		abort();
	if (write)
		bdev_writev(ch, &rw.io, &v, 1, 0, 0, raw_cb, &rw);
	else
		bdev_readv(ch, &rw.io, &v, 1, 0, raw_cb, &rw);
	fz_wait_run(r, &rw.w);
	bdev_channel_destroy(ch);
	return rw.w.err;
}

struct bdev *fz_ram_new(uint32_t block, uint64_t bytes)
{
	struct bdev_ram_config rc = { .block_size = block,
				      .block_count = bytes / block };
	struct bdev *dev;

	if (bdev_ram_create(&rc, &dev))
		abort();
	return dev;
}
