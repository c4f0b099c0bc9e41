// SPDX-License-Identifier: MIT
/*
 * test_space.c - space of bfs: freed blocks go back to the store as
 * clusters, statfs tells the truth about a thin volume, a full store
 * gives -ENOSPC and leaves the fs consistent, 100 000 one-byte files cost
 * little, lookups in a huge directory read a bounded number of blocks,
 * and readdir offsets stay stable while the directory changes.
 *
 * Under ASan (or with BFS_SPACE_SMALL=1) the big counts are scaled down;
 * BFS_SPACE_VERBOSE=1 prints the measured numbers.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include <cmocka.h>

#include "bfs_test.h"
#include "fs/bfs/bfs_internal.h"
#include "vhostfs/log.h"

#if defined(__SANITIZE_ADDRESS__)
#define SPACE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SPACE_ASAN 1
#endif
#endif
#ifndef SPACE_ASAN
#define SPACE_ASAN 0
#endif

static bool small_run(void)
{
	const char *e = getenv("BFS_SPACE_SMALL");

	return e ? atoi(e) != 0 : SPACE_ASAN;
}

static bool verbose(void)
{
	return getenv("BFS_SPACE_VERBOSE") != NULL;
}

struct wait {
	int done;
	int err;
};

static void wait_cb(void *arg, int err)
{
	struct wait *w = arg;

	w->done++;
	w->err = err;
}

static int wait_run(struct wait *w)
{
	while (!w->done)
		assert_true(reactor_run_once(bst_reactor(), 10) >= 0);
	return w->err;
}

/* Commit and checkpoint: freed blocks come back, empty clusters go. */
static void sync_fs(struct bt *t)
{
	struct wait w = { 0 };

	bfs_sync(t->fs, wait_cb, &w);
	assert_int_equal(wait_run(&w), 0);
}

static uint64_t store_free(struct bt *t)
{
	struct blob_store_info info;

	blob_store_info_get(t->bs, &info);
	return info.free_clusters;
}

/* Give unmaps, their commit and the grace period time to finish. */
static void settle(struct bt *t)
{
	struct bfs *fs = (struct bfs *)t->fs;

	for (int i = 0; i < 2000 && fs->internal_ops; i++)
		reactor_run_once(bst_reactor(), 1);
	for (int i = 0; i < 50; i++)
		reactor_run_once(bst_reactor(), 1);
}

static struct fs_file *make(struct bt *t, const char *name,
			    struct fs_entry *e)
{
	struct fs_file *f;

	assert_int_equal(bt_create(t, t->root, name, 0644, e, &f), 0);
	return f;
}

/* Write @bytes of a pattern in 1 MiB pieces; -errno of the first failure. */
static long fill_file(struct bt *t, struct fs_file *f, uint64_t bytes)
{
	size_t chunk = 1 << 20;
	uint8_t *buf = bst_alloc(chunk);
	long rc = 0;

	memset(buf, 0x5a, chunk);
	for (uint64_t off = 0; off < bytes && rc >= 0; off += chunk) {
		size_t n = bytes - off < chunk ? bytes - off : chunk;

		rc = bt_write(t, f, off, buf, n);
		if (rc >= 0 && (size_t)rc != n)
			rc = -EIO;
	}
	free(buf);
	return rc < 0 ? rc : 0;
}

/* --- space comes back ---------------------------------------------------- */

static void test_space_returns(void **state)
{
	struct bt t;
	struct statvfs s0, s1, s2, s3;
	struct fs_entry e;
	struct fs_file *f;
	uint64_t free0, free1;

	bt_setup(&t, 64ull << 20, 65536, false);
	settle(&t);
	assert_int_equal(bt_statfs(&t, &s0), 0);
	free0 = store_free(&t);
	f = make(&t, "big", &e);
	assert_int_equal(fill_file(&t, f, 16 << 20), 0);
	assert_int_equal(bt_fsync(&t, f), 0);
	assert_int_equal(bt_release(&t, f), 0);
	assert_int_equal(bt_statfs(&t, &s1), 0);
	free1 = store_free(&t);
	assert_true(s0.f_bfree - s1.f_bfree >= 4096);
	assert_true(free0 - free1 >= 256);
	/* delete: df shows the space at once, the store after a checkpoint */
	bt_forget(&t, e.inode);
	assert_int_equal(bt_unlink(&t, t.root, "big"), 0);
	assert_int_equal(bt_statfs(&t, &s2), 0);
	assert_true(s2.f_bfree + 8 >= s0.f_bfree);
	sync_fs(&t);
	settle(&t);
	assert_true(store_free(&t) + 2 >= free0);
	assert_int_equal(bt_statfs(&t, &s3), 0);
	assert_true(s3.f_bfree + 8 >= s0.f_bfree);
	assert_true(s3.f_blocks == s0.f_blocks);
	/* inodes: the ones there plus what the free space could hold */
	assert_true(s3.f_files >= 1 + s3.f_ffree && s3.f_ffree >= s3.f_bfree);
	assert_true(s3.f_favail == s3.f_ffree && s3.f_bavail == s3.f_bfree);
	if (verbose())
		fprintf(stderr, "store free clusters: %llu, with 16 MiB %llu, "
			"after delete %llu\n", (unsigned long long)free0,
			(unsigned long long)free1,
			(unsigned long long)store_free(&t));
	bt_check(&t);
	/* a remount (trims whatever is left) agrees */
	assert_int_equal(bt_unmount(&t), 0);
	assert_int_equal(bt_mount(&t), 0);
	settle(&t);
	assert_true(store_free(&t) + 2 >= free0);
	bt_check(&t);
	bt_teardown(&t);
}

/* A volume larger than its store: statfs is bounded by the store, a full
 * store gives -ENOSPC, the fs stays consistent and usable. */
static void test_store_full(void **state)
{
	struct bfs_mkfs_opts mo = { .size = 256ull << 20 };
	struct bt t;
	struct statvfs s0, s1;
	struct fs_entry e[8];
	struct fs_file *f;
	char name[16];
	long rc = 0;
	int n = 0;

	bt_setup_opts(&t, 16ull << 20, 65536, false, &mo);
	settle(&t);
	assert_int_equal(bt_statfs(&t, &s0), 0);
	/* bounded by the store (16 MiB), not the volume (256 MiB) */
	assert_true(s0.f_bfree * 4096 <= 16ull << 20);
	assert_true(s0.f_blocks * 4096 <= 16ull << 20);
	while (rc == 0 && n < 8) {
		snprintf(name, sizeof(name), "f%d", n);
		f = make(&t, name, &e[n]);
		rc = fill_file(&t, f, 4 << 20);
		assert_int_equal(bt_release(&t, f), 0);
		n++;
	}
	assert_int_equal(rc, -ENOSPC);
	assert_int_equal(((struct bfs *)t.fs)->failed, 0);
	assert_int_equal(bt_statfs(&t, &s1), 0);
	assert_true(s1.f_bfree * 4096 < 2ull << 20);
	bt_check(&t);
	/* metadata still works, and deleting gives the space back */
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		bt_forget(&t, e[i].inode);
		assert_int_equal(bt_unlink(&t, t.root, name), 0);
	}
	sync_fs(&t);
	settle(&t);
	f = make(&t, "again", &e[0]);
	assert_int_equal(fill_file(&t, f, 8 << 20), 0);
	assert_int_equal(bt_fsync(&t, f), 0);
	assert_int_equal(bt_release(&t, f), 0);
	bt_forget(&t, e[0].inode);
	bt_check(&t);
	assert_int_equal(bt_unmount(&t), 0);
	assert_int_equal(bt_mount(&t), 0);
	bt_check(&t);
	bt_teardown(&t);
}

/* --- 100 000 one-byte files ----------------------------------------------- */

static uint64_t store_used_bytes(struct bt *t)
{
	struct blob_store_info info;

	blob_store_info_get(t->bs, &info);
	return (info.data_clusters - info.free_clusters) *
	       (uint64_t)info.cluster_size;
}

static void test_small_files(void **state)
{
	unsigned int n = small_run() ? 10000 : 100000;
	uint64_t used0, store0, used, store;
	struct bt t;
	char name[32];

	bt_setup(&t, 256ull << 20, 65536, false);
	settle(&t);
	bt_check(&t);
	used0 = t.used;
	store0 = store_used_bytes(&t);
	for (unsigned int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "f%07u", i);
		bt_forget(&t, bt_put(&t, t.root, name, "x", 1, false));
	}
	sync_fs(&t);
	settle(&t);
	assert_int_equal(bt_check(&t), n + 1);
	used = (t.used - used0) * BFS_BLOCK;
	store = store_used_bytes(&t) - store0;
	if (verbose())
		fprintf(stderr, "%u one-byte files: %llu bytes of blocks "
			"(%.0f per file), %llu bytes of store clusters\n", n,
			(unsigned long long)used, (double)used / n,
			(unsigned long long)store);
	/* at most 4 KiB a file, and in fact far less: about 300 bytes */
	assert_true(used <= (uint64_t)n * 512);
	assert_true(store <= (uint64_t)n * 512 + (8ull << 20));
	bt_teardown(&t);
}

/* --- lookup cost in a huge directory ---------------------------------------- */

/* Block reads of a cold lookup of @name in "d" (after a remount). */
static uint64_t cold_lookup(struct bt *t, const char *name)
{
	struct bfs *fs;
	struct fs_entry d, e;
	uint64_t before;

	assert_int_equal(bt_unmount(t), 0);
	assert_int_equal(bt_mount(t), 0);
	assert_int_equal(bt_lookup(t, t->root, "d", &d), 0);
	/* the mount's background work (unmaps) must not be counted */
	settle(t);
	fs = (struct bfs *)t->fs;
	before = fs->loads;
	assert_int_equal(bt_lookup(t, d.inode, name, &e), 0);
	bt_forget(t, e.inode);
	bt_forget(t, d.inode);
	return fs->loads - before;
}

static void test_huge_dir(void **state)
{
	const unsigned int full[] = { 1000, 100000, 1000000 };
	const unsigned int small[] = { 1000, 10000, 50000 };
	const unsigned int *steps = small_run() ? small : full;
	struct fs_entry d, e;
	struct bt t;
	char name[32];
	unsigned int have = 0;

	bt_setup(&t, small_run() ? 256ull << 20 : 512ull << 20, 1 << 20,
		 false);
	assert_int_equal(bt_mkdir(&t, t.root, "d", 0755, &d), 0);
	for (int s = 0; s < 3; s++) {
		uint64_t worst = 0, levels;

		for (; have < steps[s]; have++) {
			snprintf(name, sizeof(name), "f%07u", have);
			assert_int_equal(bt_mknod(&t, d.inode, name,
						  S_IFREG | 0600, 0, &e), 0);
			bt_forget(&t, e.inode);
		}
		bt_forget(&t, d.inode);
		for (unsigned int k = 0; k < 5; k++) {
			uint64_t r;

			snprintf(name, sizeof(name), "f%07u",
				 (unsigned int)((k * 7919ull * have / 5 + k) %
						have));
			r = cold_lookup(&t, name);
			worst = r > worst ? r : worst;
		}
		levels = ((struct bfs *)t.fs)->st.root_level + 1;
		if (verbose())
			fprintf(stderr, "%u entries: tree depth %llu, at most "
				"%llu block reads per cold lookup, %llu MiB "
				"used\n", have, (unsigned long long)levels,
				(unsigned long long)worst,
				(unsigned long long)(((struct bfs *)t.fs)
					->st.used_blocks >> 8));
		/*
		 * The dirent's path and the inode's leaf: depth + 1; + 1 when
		 * the name's hash lands at a leaf's edge and the search looks
		 * at the neighbour (the hash key is random per mkfs).
		 */
		assert_true(worst <= levels + 2);
		assert_true(levels <= 4);
		assert_int_equal(bt_lookup(&t, t.root, "d", &d), 0);
	}
	bt_forget(&t, d.inode);
	bt_teardown(&t);
}

/* --- readdir offsets while the directory changes ---------------------------- */

static void test_readdir_stable(void **state)
{
	enum { N = 3000, CHUNK = 40 };
	static uint8_t seen[2 * N];
	struct bt_dirent out[CHUNK];
	struct fs_entry d, e;
	struct bt t;
	char name[32];
	uint64_t off = 0;
	unsigned int next_new = N, removed = 0;
	size_t n;

	memset(seen, 0, sizeof(seen));
	bt_setup(&t, 64ull << 20, 65536, false);
	assert_int_equal(bt_mkdir(&t, t.root, "d", 0755, &d), 0);
	for (unsigned int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "f%07u", i);
		assert_int_equal(bt_mknod(&t, d.inode, name, S_IFREG | 0600, 0,
					  &e), 0);
		bt_forget(&t, e.inode);
	}
	do {
		assert_int_equal(bt_readdir(&t, d.inode, off, false, out, CHUNK,
					    &n), 0);
		for (size_t i = 0; i < n; i++) {
			unsigned int id;

			if (out[i].name[0] == '.')
				continue;
			assert_int_equal(sscanf(out[i].name, "f%u", &id), 1);
			assert_true(id < 2 * N);
			assert_int_equal(seen[id], 0); /* never twice */
			seen[id] = 1;
		}
		if (n)
			off = out[n - 1].next;
		/* between calls: add some, remove odd ones of the first N */
		for (int k = 0; k < 3 && next_new < 2 * N; k++, next_new++) {
			snprintf(name, sizeof(name), "f%07u", next_new);
			assert_int_equal(bt_mknod(&t, d.inode, name,
						  S_IFREG | 0600, 0, &e), 0);
			bt_forget(&t, e.inode);
		}
		if (removed < N / 2) {
			snprintf(name, sizeof(name), "f%07u", 2 * removed + 1);
			assert_int_equal(bt_unlink(&t, d.inode, name), 0);
			removed++;
		}
	} while (n);
	/* every entry present throughout (even ones never removed) came */
	for (unsigned int i = 0; i < N; i += 2)
		assert_int_equal(seen[i], 1);
	for (unsigned int i = 2 * removed + 1; i < N; i += 2)
		assert_int_equal(seen[i], 1);
	bt_forget(&t, d.inode);
	bt_check(&t);
	bt_teardown(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_space_returns),
		cmocka_unit_test(test_store_full),
		cmocka_unit_test(test_small_files),
		cmocka_unit_test(test_huge_dir),
		cmocka_unit_test(test_readdir_stable),
	};

	log_set_level(LOG_LEVEL_ERROR);
	bst_reactor();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
