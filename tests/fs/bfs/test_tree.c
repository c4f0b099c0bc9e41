// SPDX-License-Identifier: MIT
/*
 * test_tree.c - the metadata tree under load, through the fs: thousands of
 * names inserted and removed at random against a model (node splits, empty
 * nodes freed, root growth and collapse), every name looked up, the check
 * clean, and the cost of a cold lookup in a big directory counted in
 * blocks read: it stays at the tree's depth.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bfs_test.h"
#include "fs/bfs/bfs_internal.h"
#include "vhostfs/log.h"

#define N 12000

static uint64_t rnd_state = 0x1234567;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static void name_of(char *buf, size_t size, unsigned int i)
{
	/* long and short names, so leaves split at varying counts */
	snprintf(buf, size, "%u-%.*s", i, (int)(i % 97),
		 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
		 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
}

static void test_random_names(void **state)
{
	static bool model[N];
	struct bt t;
	struct fs_entry d, e;
	char name[160];
	struct stat st;
	size_t present = 0;

	bt_setup(&t, 64ull << 20, 65536, false);
	assert_int_equal(bt_mkdir(&t, t.root, "d", 0755, &d), 0);
	for (int round = 0; round < 4 * N; round++) {
		unsigned int i = (unsigned int)(rnd() % N);
		/* grow first, then shrink to nothing */
		bool add = round < 2 * N ? rnd() % 4 != 0 : rnd() % 4 == 0;

		name_of(name, sizeof(name), i);
		if (add) {
			int rc = bt_mknod(&t, d.inode, name, S_IFREG | 0600, 0,
					  &e);

			assert_int_equal(rc, model[i] ? -EEXIST : 0);
			if (rc == 0) {
				bt_forget(&t, e.inode);
				model[i] = true;
				present++;
			}
		} else {
			assert_int_equal(bt_unlink(&t, d.inode, name),
					 model[i] ? 0 : -ENOENT);
			present -= model[i];
			model[i] = false;
		}
		if (round % 8000 == 0)
			bt_check(&t);
	}
	assert_int_equal(bt_getattr(&t, d.inode, &st), 0);
	assert_int_equal(st.st_size, present);
	for (unsigned int i = 0; i < N; i++) {
		name_of(name, sizeof(name), i);
		assert_int_equal(bt_lookup(&t, d.inode, name, &e),
				 model[i] ? 0 : -ENOENT);
		if (model[i])
			bt_forget(&t, e.inode);
	}
	bt_check(&t);
	assert_int_equal(bt_unmount(&t), 0);
	assert_int_equal(bt_mount(&t), 0);
	bt_check(&t);
	bt_teardown(&t);
}

/* A cold lookup among N entries reads one block per tree level. */
static void test_lookup_cost(void **state)
{
	struct bt t;
	struct fs_entry d, e;
	struct bfs *fs;
	char name[160];
	uint64_t before;

	bt_setup(&t, 64ull << 20, 65536, false);
	assert_int_equal(bt_mkdir(&t, t.root, "d", 0755, &d), 0);
	for (unsigned int i = 0; i < N; i++) {
		name_of(name, sizeof(name), i);
		assert_int_equal(bt_mknod(&t, d.inode, name, S_IFREG | 0600, 0,
					  &e), 0);
		bt_forget(&t, e.inode);
	}
	bt_forget(&t, d.inode);
	assert_int_equal(bt_unmount(&t), 0);
	assert_int_equal(bt_mount(&t), 0);
	assert_int_equal(bt_lookup(&t, t.root, "d", &d), 0);
	fs = (struct bfs *)t.fs;
	assert_true(fs->st.root_level >= 1 && fs->st.root_level <= 3);
	for (unsigned int i = 0; i < N; i += N / 10) {
		name_of(name, sizeof(name), i);
		before = fs->loads;
		assert_int_equal(bt_lookup(&t, d.inode, name, &e), 0);
		bt_forget(&t, e.inode);
		/* the dirent path, plus the inode's leaf (possibly another) */
		assert_true(fs->loads - before <= fs->st.root_level + 2);
	}
	bt_check(&t);
	bt_teardown(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_names),
		cmocka_unit_test(test_lookup_cost),
	};

	log_set_level(LOG_LEVEL_ERROR);
	bst_reactor();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
