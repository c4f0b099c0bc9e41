// SPDX-License-Identifier: MIT
/*
 * test_load_speed.c - loading a dirty store must not read every md page:
 * a child process fills a sparse image file (io_uring device) with many
 * blobs and dies without unloading; the parent times the load, which
 * replays the journal and checkpoints, and checks the blobs are there.
 *
 * Default (suite 'unit'): 256 MiB, 10 000 blobs.  The target
 * (suite 'perf', BLOB_LOAD_FULL=1): 16 GiB, 100 000 blobs, under 1 s.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "blob_test.h"
#include "vhostfs/log.h"

#define BATCH 256

struct cfg {
	uint64_t bytes;
	uint32_t blobs;
	uint32_t md_pages;
	double limit_s;
};

static char g_path[256];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct bdev *open_image(void)
{
	struct bdev_uring_config uc = { .path = g_path, .block_size = 4096 };
	struct bdev *dev;

	assert_int_equal(bdev_uring_open(&uc, &dev), 0);
	return dev;
}

struct count {
	int left;
	int err;
};

static void count_cb(void *arg, int err)
{
	struct count *c = arg;

	c->left--;
	if (err)
		c->err = err;
}

/* In the child: format, create the blobs, write to some, die dirty. */
static void fill(const struct cfg *c)
{
	struct blob_store_opts o = { .md_pages = c->md_pages };
	struct blob_create_opts co = { .clusters = 16, .thin = true };
	static uint64_t ids[BATCH];
	struct blob_store *bs;
	struct bdev *dev = open_image();

	if (bst_init(dev, &o, &bs) != 0)
		_exit(2);
	for (uint32_t done = 0; done < c->blobs;) {
		struct count cnt = { 0 };
		uint32_t n = c->blobs - done < BATCH ? c->blobs - done : BATCH;

		/* many creates in flight: they share transactions */
		for (uint32_t i = 0; i < n; i++) {
			cnt.left++;
			blob_create(bs, &co, &ids[i], count_cb, &cnt);
		}
		while (cnt.left)
			reactor_run_once(bst_reactor(), 10);
		if (cnt.err)
			_exit(3);
		done += n;
	}
	/* power "fails": no unload, the super block says dirty */
	_exit(0);
}

static void run(const struct cfg *c)
{
	struct blob_store_info info;
	struct blob_store *bs;
	struct bdev *dev;
	double t0, t;
	int fd, status;
	pid_t pid;

	snprintf(g_path, sizeof(g_path), "%s/blob-load-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	fd = mkstemp(g_path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)c->bytes), 0);
	close(fd);
	/* skip (77) here without io_uring; a ring must not cross fork() */
	bst_reactor();
	bst_reactor_destroy();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		bst_reactor();
		fill(c);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	dev = open_image();
	t0 = now_s();
	assert_int_equal(bst_load(dev, false, &bs), 0);
	t = now_s() - t0;
	blob_store_info_get(bs, &info);
	fprintf(stderr, "dirty load of %llu MiB with %llu blobs: %.3f s\n",
		(unsigned long long)(c->bytes >> 20),
		(unsigned long long)info.blobs, t);
	assert_false(info.was_clean);
	assert_int_equal(info.blobs, c->blobs);
	assert_true(t < c->limit_s);
	assert_int_equal(bst_unload(bs), 0);
	assert_int_equal(bdev_destroy(dev), 0);
	unlink(g_path);
}

static void test_dirty_load(void **s)
{
	struct cfg small = {
		.bytes = 256ull << 20, .blobs = 10000, .md_pages = 16384,
		.limit_s = 1.0,
	};
	struct cfg full = {
		.bytes = 16ull << 30, .blobs = 100000, .md_pages = 131072,
		.limit_s = 1.0,
	};

	run(getenv("BLOB_LOAD_FULL") ? &full : &small);
}

static int teardown(void **s)
{
	bst_reactor_destroy();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dirty_load),
	};

	log_set_level(LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, teardown);
}
