// SPDX-License-Identifier: MIT
/*
 * test_pt_dir.c - readdir and readdirplus: every entry exactly once across
 * short replies, offsets that can be resumed from later and in any order,
 * inode references of plus entries, entries vanishing mid-listing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pt_test.h"
#include "fs/passthrough/pt_core.h"

#define NFILES 300
#define MAXENT (NFILES + 8)

struct listing {
	int n;
	char names[MAXENT][32];
	uint64_t offs[MAXENT];       /* next_off of each entry */
	struct fs_inode *inodes[MAXENT];
	int per_call;                /* entries taken per readdir call */
	int taken;                   /* in the current call */
	struct pt_env *env;
	bool check_plus;
};

static int fill(void *ctx, const char *name, size_t namelen, uint64_t ino,
		uint32_t dtype, uint64_t next_off, const struct fs_entry *plus)
{
	struct listing *l = ctx;

	if (l->taken == l->per_call || l->n == MAXENT) {
		/* refused; a plus entry's reference is ours anyway */
		if (plus && plus->inode)
			l->env->fs->ops->forget(l->env->fs, plus->inode, 1);
		return 1;
	}
	assert_true(namelen < 32);
	memcpy(l->names[l->n], name, namelen);
	l->names[l->n][namelen] = '\0';
	l->offs[l->n] = next_off;
	l->inodes[l->n] = plus ? plus->inode : NULL;
	if (l->check_plus) {
		assert_non_null(plus);
		assert_int_equal(plus->attr.st_ino, ino);
		if (strcmp(l->names[l->n], ".") && strcmp(l->names[l->n], "..")) {
			assert_non_null(plus->inode);
			assert_true(S_ISREG(plus->attr.st_mode));
			assert_int_equal(dtype, DT_REG);
		}
	}
	l->n++;
	l->taken++;
	return 0;
}

/* List everything from @off in calls of @per_call entries. */
static void list_all(struct pt_env *e, struct fs_file *dir, uint64_t off,
		     bool plus, int per_call, struct listing *l)
{
	int before;

	l->env = e;
	l->per_call = per_call;
	do {
		before = l->n;
		l->taken = 0;
		assert_int_equal(pt_t_readdir(e, dir, off, plus, fill, l), 0);
		if (l->n > before)
			off = l->offs[l->n - 1];
	} while (l->n > before);
}

static int find(const struct listing *l, const char *name)
{
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->names[i], name) == 0)
			return i;
	return -1;
}

static struct fs_inode *make_dir(struct pt_env *e, int nfiles)
{
	char path[256];

	pt_host_path(e, "d", path, sizeof(path));
	assert_int_equal(mkdir(path, 0755), 0);
	for (int i = 0; i < nfiles; i++) {
		char name[300];
		int fd;

		snprintf(name, sizeof(name), "%s/file-%03d", path, i);
		fd = open(name, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		assert_true(fd >= 0);
		close(fd);
	}
	return pt_t_get(e, e->root, "d");
}

static void test_every_entry_once(void **state)
{
	struct pt_env *e = *state;
	struct fs_inode *d = make_dir(e, NFILES);
	struct listing *l = calloc(1, sizeof(*l));
	struct fs_open_out oo;
	char name[32];

	assert_int_equal(pt_t_opendir(e, d, &oo), 0);
	list_all(e, oo.file, 0, false, 7, l);
	assert_int_equal(l->n, NFILES + 2);
	assert_true(find(l, ".") >= 0);
	assert_true(find(l, "..") >= 0);
	for (int i = 0; i < NFILES; i++) {
		int at;

		snprintf(name, sizeof(name), "file-%03d", i);
		at = find(l, name);
		assert_true(at >= 0);
		assert_int_equal(find(l, name), at); /* and only once */
		for (int j = at + 1; j < l->n; j++)
			assert_string_not_equal(l->names[j], name);
	}
	assert_int_equal(pt_t_fsyncdir(e, oo.file), 0);
	assert_int_equal(pt_t_releasedir(e, oo.file), 0);
	pt_t_forget(e, d, 1);
	free(l);
}

/* Resuming at an offset seen earlier gives the same tail, on any handle. */
static void test_offsets_stable(void **state)
{
	struct pt_env *e = *state;
	struct fs_inode *d = make_dir(e, NFILES);
	struct listing *a = calloc(1, sizeof(*a));
	struct listing *b = calloc(1, sizeof(*b));
	struct fs_open_out o1, o2;
	int mids[] = { 150, 3, 299, 42 };

	assert_int_equal(pt_t_opendir(e, d, &o1), 0);
	assert_int_equal(pt_t_opendir(e, d, &o2), 0);
	list_all(e, o1.file, 0, false, 1000, a);
	assert_int_equal(a->n, NFILES + 2);
	for (size_t m = 0; m < sizeof(mids) / sizeof(mids[0]); m++) {
		int mid = mids[m];
		struct fs_file *h = (m % 2) ? o1.file : o2.file;

		memset(b, 0, sizeof(*b));
		list_all(e, h, a->offs[mid], false, 11, b);
		assert_int_equal(b->n, a->n - mid - 1);
		for (int i = 0; i < b->n; i++) {
			assert_string_equal(b->names[i], a->names[mid + 1 + i]);
			assert_int_equal(b->offs[i], a->offs[mid + 1 + i]);
		}
	}
	assert_int_equal(pt_t_releasedir(e, o1.file), 0);
	assert_int_equal(pt_t_releasedir(e, o2.file), 0);
	pt_t_forget(e, d, 1);
	free(a);
	free(b);
}

static void test_readdirplus_refs(void **state)
{
	struct pt_env *e = *state;
	struct fs_inode *d = make_dir(e, 50);
	struct listing *l = calloc(1, sizeof(*l));
	struct fs_open_out oo;

	l->check_plus = true;
	assert_int_equal(pt_t_opendir(e, d, &oo), 0);
	list_all(e, oo.file, 0, true, 5, l);
	assert_int_equal(l->n, 52);
	for (int i = 0; i < l->n; i++) {
		if (!l->inodes[i])
			continue;
		/* the plus entry is the same inode a lookup gives */
		assert_ptr_equal(pt_t_get(e, d, l->names[i]), l->inodes[i]);
		pt_t_forget(e, l->inodes[i], 2);
	}
	assert_int_equal(pt_t_releasedir(e, oo.file), 0);
	pt_t_forget(e, d, 1);
	/* no reference leaked, refused entries included */
	assert_int_equal(pt_inode_table_count(pt_fs_of(e->fs)), 1);
	free(l);
}

static void test_entries_vanish(void **state)
{
	struct pt_env *e = *state;
	struct fs_inode *d = make_dir(e, 40);
	struct listing *l = calloc(1, sizeof(*l));
	struct fs_open_out oo;
	char path[256];

	assert_int_equal(pt_t_opendir(e, d, &oo), 0);
	l->env = e;
	l->per_call = 5;
	assert_int_equal(pt_t_readdir(e, oo.file, 0, true, fill, l), 0);
	assert_int_equal(l->n, 5);
	/* the rest is buffered already; delete them behind the reader's back */
	for (int i = 0; i < 40; i++) {
		snprintf(path, sizeof(path), "%s/d/file-%03d", e->dir, i);
		unlink(path);
	}
	list_all(e, oo.file, l->offs[4], true, 5, l);
	for (int i = 0; i < l->n; i++)
		if (l->inodes[i])
			pt_t_forget(e, l->inodes[i], 1);
	assert_int_equal(pt_t_releasedir(e, oo.file), 0);
	pt_t_forget(e, d, 1);
	assert_int_equal(pt_inode_table_count(pt_fs_of(e->fs)), 1);
	free(l);
}

static void test_opendir_not_dir(void **state)
{
	struct pt_env *e = *state;
	struct fs_entry ent;
	struct fs_open_out oo;

	assert_int_equal(pt_t_create(e, e->root, "f", 0644, O_RDWR, &ent, &oo), 0);
	assert_int_equal(pt_t_release(e, oo.file), 0);
	assert_int_equal(pt_t_opendir(e, ent.inode, &oo), -ENOTDIR);
	pt_t_forget(e, ent.inode, 1);
}

#define BOTH(t) \
	cmocka_unit_test_setup_teardown(t, pt_setup_handles, pt_teardown), \
	cmocka_unit_test_setup_teardown(t, pt_setup_fds, pt_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_every_entry_once),
		BOTH(test_offsets_stable),
		BOTH(test_readdirplus_refs),
		BOTH(test_entries_vanish),
		BOTH(test_opendir_not_dir),
	};

	pt_test_require_root();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
