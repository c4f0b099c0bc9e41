// SPDX-License-Identifier: MIT
/*
 * test_uring.c - the file / block device driver: temp files on the disk's
 * file system and on tmpfs (where O_DIRECT may be refused), with and
 * without O_DIRECT, 512 and 4096 byte blocks; a loop device when the
 * machine allows one; channels on two threads at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "bdev_test.h"

#define BLOCKS 64
/* Test files: 512 KiB, two pieces of bdev_uring's zero buffer. */
#define FILE_BYTES (128 * 4096)

static struct reactor *g_r;

/* Directories to put files in: the disk's file system and tmpfs. */
static const char *const dirs[] = { "/tmp", "/dev/shm" };

struct tfile {
	char path[64];
	int fd; /* a second, buffered view of the file for checks */
};

static int tfile_make(struct tfile *f, const char *dir, off_t size)
{
	snprintf(f->path, sizeof(f->path), "%s/vhostfs-bdev-XXXXXX", dir);
	f->fd = mkstemp(f->path);
	if (f->fd < 0)
		return -1;
	assert_int_equal(ftruncate(f->fd, size), 0);
	return 0;
}

static void tfile_drop(struct tfile *f)
{
	close(f->fd);
	unlink(f->path);
}

static int uring_open(struct bt *t, const char *path, uint32_t bs,
		      enum bdev_uring_direct direct)
{
	struct bdev_uring_config cfg = {
		.path = path, .block_size = bs, .direct = direct,
	};
	struct bdev *b;
	int rc = bdev_uring_open(&cfg, &b);

	if (rc == 0)
		bt_open(t, g_r, b);
	return rc;
}

/* Data, FUA, flush, zeroes and unmap on one file, checked through the file. */
static void check_file_io(struct bt *t, struct tfile *f, uint32_t bs)
{
	size_t len = 3 * (size_t)bs;
	unsigned char *out = bt_alloc(len);
	unsigned char *in = bt_alloc(len);
	struct iovec wv[2] = { { out, bs }, { out + bs, 2 * (size_t)bs } };
	struct iovec rv[3] = {
		{ in, bs }, { in + bs, bs }, { in + 2 * bs, bs },
	};
	off_t at = 10 * (off_t)bs;
	uint64_t size = bdev_block_count(t->b) * bs;

	bt_fill(out, len, 5);
	assert_int_equal(bt_writev(t, wv, 2, (uint64_t)at, 0), 0);
	assert_int_equal(bt_readv(t, rv, 3, (uint64_t)at), 0);
	assert_memory_equal(in, out, len);
	assert_int_equal(pread(f->fd, in, len, at), (ssize_t)len);
	assert_memory_equal(in, out, len);
	bt_fill(out, bs, 6);
	assert_int_equal(bt_write(t, 0, out, bs, BDEV_WRITE_FUA), 0);
	assert_int_equal(bt_flush(t), 0);
	assert_int_equal(pread(f->fd, in, bs, 0), (ssize_t)bs);
	assert_memory_equal(in, out, bs);
	/* both read back as zeros on files */
	assert_int_equal(bt_write_zeroes(t, (uint64_t)at, bs), 0);
	assert_int_equal(bt_unmap(t, (uint64_t)at + bs, bs), 0);
	assert_int_equal(bt_read(t, (uint64_t)at, in, len), 0);
	assert_true(bt_all(in, 2 * (size_t)bs, 0));
	bt_fill(out, len, 5);
	assert_memory_equal(in + 2 * bs, out + 2 * bs, bs);
	/* the whole device: more than one piece of the zero buffer */
	assert_int_equal(bt_write_zeroes(t, 0, size), 0);
	assert_int_equal(bt_read(t, 0, in, bs), 0);
	assert_true(bt_all(in, bs, 0));
	assert_int_equal(bt_read(t, size - bs, in, bs), 0);
	assert_true(bt_all(in, bs, 0));
	/* the generic checks apply here too */
	assert_int_equal(bt_read(t, size, in, bs), -EINVAL);
	assert_int_equal(bt_read(t, 1, in, bs), -EINVAL);
	free(out);
	free(in);
}

static void test_files(void **s)
{
	static const enum bdev_uring_direct modes[] = {
		BDEV_URING_DIRECT_AUTO, BDEV_URING_DIRECT_OFF,
	};
	static const uint32_t sizes[] = { 512, 4096 };

	for (size_t d = 0; d < 2; d++) {
		for (size_t m = 0; m < 2; m++) {
			for (size_t z = 0; z < 2; z++) {
				struct tfile f;
				struct bt t;

				if (tfile_make(&f, dirs[d], FILE_BYTES) < 0)
					continue; /* no such directory here */
				assert_int_equal(uring_open(&t, f.path,
							    sizes[z], modes[m]), 0);
				assert_int_equal(bdev_block_size(t.b), sizes[z]);
				assert_int_equal(bdev_block_count(t.b),
						 FILE_BYTES / sizes[z]);
				if (modes[m] == BDEV_URING_DIRECT_OFF)
					assert_false(bdev_uring_is_direct(t.b));
				print_message("%s bs %u: %s\n", dirs[d],
					      sizes[z],
					      bdev_uring_is_direct(t.b) ?
						      "O_DIRECT" : "page cache");
				check_file_io(&t, &f, sizes[z]);
				bt_close(&t);
				tfile_drop(&f);
			}
		}
	}
}

/* O_DIRECT demanded: works on the disk, and where refused fails cleanly. */
static void test_direct_on(void **s)
{
	for (size_t d = 0; d < 2; d++) {
		struct tfile f;
		struct bt t;
		int rc;

		if (tfile_make(&f, dirs[d], FILE_BYTES) < 0)
			continue;
		rc = uring_open(&t, f.path, 4096, BDEV_URING_DIRECT_ON);
		if (rc == 0) {
			assert_true(bdev_uring_is_direct(t.b));
			check_file_io(&t, &f, 4096);
			bt_close(&t);
		} else {
			assert_int_equal(rc, -EINVAL);
		}
		tfile_drop(&f);
	}
}

static void test_open_errors(void **s)
{
	struct bdev_uring_config cfg = { 0 };
	struct tfile f;
	struct bdev *b;

	assert_int_equal(bdev_uring_open(&cfg, &b), -EINVAL);
	cfg.path = "/nonexistent/vhostfs-bdev";
	assert_int_equal(bdev_uring_open(&cfg, &b), -ENOENT);
	cfg.path = "/dev/null";
	assert_int_equal(bdev_uring_open(&cfg, &b), -EINVAL);
	cfg.path = "/tmp";
	assert_true(bdev_uring_open(&cfg, &b) < 0);
	assert_int_equal(tfile_make(&f, "/tmp", 4096 * 3 + 100), 0);
	cfg.path = f.path;
	cfg.block_size = 1024;
	assert_int_equal(bdev_uring_open(&cfg, &b), -EINVAL);
	/* a tail shorter than a block is not part of the device */
	cfg.block_size = 4096;
	assert_int_equal(bdev_uring_open(&cfg, &b), 0);
	assert_int_equal(bdev_block_count(b), 3);
	assert_int_equal(bdev_destroy(b), 0);
	tfile_drop(&f);
}

static void resized_cb(void *arg, uint64_t old_blocks, uint64_t new_blocks)
{
	*(uint64_t *)arg = new_blocks;
}

static void test_rescan(void **s)
{
	struct bdev_ram_config rc = { .block_count = 1 };
	unsigned char *buf = bt_alloc(4096);
	uint64_t seen = 0;
	struct bdev *ram;
	struct tfile f;
	struct bt t;

	assert_int_equal(tfile_make(&f, "/tmp", 8 * 4096), 0);
	assert_int_equal(uring_open(&t, f.path, 4096, 0), 0);
	bdev_set_resize_cb(t.b, resized_cb, &seen);
	assert_int_equal(bt_write(&t, 8 * 4096, buf, 4096, 0), -EINVAL);
	assert_int_equal(ftruncate(f.fd, 16 * 4096), 0);
	assert_int_equal(bdev_uring_rescan(t.b), 0);
	assert_int_equal(seen, 16);
	assert_int_equal(bdev_block_count(t.b), 16);
	assert_int_equal(bt_write(&t, 15 * 4096, buf, 4096, 0), 0);
	assert_int_equal(bdev_ram_create(&rc, &ram), 0);
	assert_int_equal(bdev_uring_rescan(ram), -EINVAL);
	assert_false(bdev_uring_is_direct(ram));
	assert_int_equal(bdev_destroy(ram), 0);
	bt_close(&t);
	tfile_drop(&f);
	free(buf);
}

/* A file cut short under the device: reads past its end fail, never hang. */
static void test_short_file(void **s)
{
	static const enum bdev_uring_direct modes[] = {
		BDEV_URING_DIRECT_AUTO, BDEV_URING_DIRECT_OFF,
	};
	unsigned char *buf = bt_alloc(2 * 4096);
	struct iovec two[2] = { { buf, 4096 }, { buf + 4096, 4096 } };

	for (size_t m = 0; m < 2; m++) {
		struct tfile f;
		struct bt t;

		assert_int_equal(tfile_make(&f, "/tmp", 8 * 4096), 0);
		assert_int_equal(uring_open(&t, f.path, 4096, modes[m]), 0);
		assert_int_equal(ftruncate(f.fd, 4096), 0);
		/* short by a whole iovec, then short inside one */
		assert_int_equal(bt_readv(&t, two, 2, 0), -EIO);
		assert_int_equal(bt_read(&t, 0, buf, 2 * 4096), -EIO);
		assert_int_equal(bt_read(&t, 4 * 4096, buf, 4096), -EIO);
		assert_int_equal(bt_read(&t, 0, buf, 4096), 0);
		bt_close(&t);
		tfile_drop(&f);
	}
	free(buf);
}

/* The fault device wraps any device: counting and failing work on a file. */
static void test_fault_over_file(void **s)
{
	struct bdev_fault_config fc = { .fail_write = 2 };
	unsigned char *buf = bt_alloc(4096);
	struct bdev_fault_stats st;
	struct bdev *file, *img;
	struct tfile f;
	struct bt t;

	assert_int_equal(tfile_make(&f, "/tmp", 8 * 4096), 0);
	assert_int_equal(uring_open(&t, f.path, 4096, 0), 0);
	file = t.b;
	assert_int_equal(bdev_channel_destroy(t.ch), 0);
	fc.base = file;
	assert_int_equal(bdev_fault_create(&fc, &t.b), 0);
	assert_int_equal(bdev_channel_create(t.b, g_r, &t.ch), 0);
	bt_fill(buf, 4096, 1);
	assert_int_equal(bt_write(&t, 0, buf, 4096, 0), 0);
	assert_int_equal(bt_write(&t, 4096, buf, 4096, 0), -EIO);
	assert_int_equal(bt_flush(&t), 0);
	assert_int_equal(bt_read(&t, 0, buf, 4096), 0);
	bdev_fault_stats_get(t.b, &st);
	assert_int_equal(st.writes, 2);
	assert_int_equal(st.reads, 1);
	assert_int_equal(st.flushes, 1);
	assert_int_equal(st.failed, 1);
	assert_int_equal(bdev_fault_crash_image(t.b, &img), -EOPNOTSUPP);
	bt_close(&t);
	assert_int_equal(bdev_destroy(file), 0);
	tfile_drop(&f);
	free(buf);
}

/* --- a loop block device (root only) ------------------------------------ */

struct loopdev {
	char path[32];
	int fd;
};

/* Attach @backing as a loop device of @lbs-byte sectors; -1 if we cannot. */
static int loop_attach(struct loopdev *l, int backing, uint32_t lbs)
{
	struct loop_config lc = { .fd = (uint32_t)backing, .block_size = lbs };
	int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	int rc = -1;

	lc.info.lo_flags = LO_FLAGS_AUTOCLEAR;
	for (int tries = 0; ctl >= 0 && rc < 0 && tries < 3; tries++) {
		int nr = ioctl(ctl, LOOP_CTL_GET_FREE);

		if (nr < 0)
			break;
		snprintf(l->path, sizeof(l->path), "/dev/loop%d", nr);
		l->fd = open(l->path, O_RDWR | O_CLOEXEC);
		if (l->fd < 0)
			break;
		rc = ioctl(l->fd, LOOP_CONFIGURE, &lc);
		if (rc < 0)
			close(l->fd);
	}
	if (ctl >= 0)
		close(ctl);
	return rc;
}

static void test_block_device(void **s)
{
	unsigned char *buf = bt_alloc(4 * 4096);
	struct bdev_uring_config cfg = { .block_size = 512 };
	struct loopdev l;
	struct tfile f;
	struct bdev *b;
	struct bt t;

	assert_int_equal(tfile_make(&f, "/tmp", 1 << 20), 0);
	if (loop_attach(&l, f.fd, 4096) < 0) {
		tfile_drop(&f);
		free(buf);
		print_message("no loop device here (%s)\n", strerror(errno));
		skip();
	}
	/* 4096-byte sectors: 512-byte blocks are impossible */
	cfg.path = l.path;
	assert_int_equal(bdev_uring_open(&cfg, &b), -EINVAL);
	assert_int_equal(uring_open(&t, l.path, 0, 0), 0);
	assert_int_equal(bdev_block_size(t.b), 4096);
	assert_int_equal(bdev_block_count(t.b), (1 << 20) / 4096);
	bt_fill(buf, 4 * 4096, 7);
	assert_int_equal(bt_write(&t, 4096, buf, 4 * 4096, BDEV_WRITE_FUA), 0);
	assert_int_equal(bt_flush(&t), 0);
	memset(buf, 0, 4 * 4096);
	assert_int_equal(bt_read(&t, 4096, buf, 4 * 4096), 0);
	assert_false(bt_all(buf, 4096, 0));
	assert_int_equal(bt_write_zeroes(&t, 4096, 2 * 4096), 0);
	assert_int_equal(bt_read(&t, 4096, buf, 2 * 4096), 0);
	assert_true(bt_all(buf, 2 * 4096, 0));
	assert_int_equal(bt_unmap(&t, 3 * 4096, 2 * 4096), 0);
	bt_close(&t);
	close(l.fd); /* autoclear detaches it */
	tfile_drop(&f);
	free(buf);
}

/* --- channels on two threads -------------------------------------------- */

struct worker {
	pthread_t thread;
	struct bdev *b;
	uint32_t first; /* first block of this thread's range */
	int ok;
};

/* cmocka's asserts are not for other threads: any failure here crashes. */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint32_t bs = bdev_block_size(w->b);
	unsigned char *buf = bt_alloc(bs), *want = bt_alloc(bs);
	struct reactor_config rc = { .name = "bdev-worker" };
	struct bt t = { .b = w->b };

	assert_int_equal(reactor_create(&t.r, &rc), 0);
	assert_int_equal(bdev_channel_create(w->b, t.r, &t.ch), 0);
	for (uint32_t i = 0; i < 16; i++) {
		bt_fill(buf, bs, w->first + i);
		assert_int_equal(bt_write(&t, (uint64_t)(w->first + i) * bs,
					  buf, bs, 0), 0);
	}
	assert_int_equal(bt_flush(&t), 0);
	w->ok = 1;
	for (uint32_t i = 0; i < 16; i++) {
		bt_fill(want, bs, w->first + i);
		assert_int_equal(bt_read(&t, (uint64_t)(w->first + i) * bs,
					 buf, bs), 0);
		w->ok &= memcmp(buf, want, bs) == 0;
	}
	assert_int_equal(bdev_channel_destroy(t.ch), 0);
	reactor_destroy(t.r);
	free(buf);
	free(want);
	return NULL;
}

static void check_two_threads(struct bdev *b)
{
	struct worker w[2] = { { .b = b, .first = 0 }, { .b = b, .first = 16 } };

	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&w[i].thread, NULL,
						worker_main, &w[i]), 0);
	for (int i = 0; i < 2; i++) {
		pthread_join(w[i].thread, NULL);
		assert_true(w[i].ok);
	}
	assert_int_equal(bdev_destroy(b), 0);
}

static void test_two_threads(void **s)
{
	struct bdev_ram_config rc = {
		.block_size = 512, .block_count = BLOCKS, .volatile_cache = true,
	};
	struct bdev_uring_config uc = { .block_size = 4096 };
	struct tfile f;
	struct bdev *b;

	assert_int_equal(tfile_make(&f, "/tmp", BLOCKS * 4096), 0);
	uc.path = f.path;
	assert_int_equal(bdev_uring_open(&uc, &b), 0);
	check_two_threads(b);
	tfile_drop(&f);
	assert_int_equal(bdev_ram_create(&rc, &b), 0);
	check_two_threads(b);
}

static int setup(void **s)
{
	g_r = bt_reactor();
	return 0;
}

static int teardown(void **s)
{
	reactor_destroy(g_r);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_direct_on),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_rescan),
		cmocka_unit_test(test_short_file),
		cmocka_unit_test(test_fault_over_file),
		cmocka_unit_test(test_block_device),
		cmocka_unit_test(test_two_threads),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
