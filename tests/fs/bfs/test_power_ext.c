// SPDX-License-Identifier: MIT
/*
 * test_power_ext.c - the power-loss sweep over the operations beyond the
 * core (test_power.c has the runner's model): xattrs (a 20000-byte value
 * replaced by a small one, an ACL, a remove), fallocate with a punch, and
 * an O_TMPFILE file linked after its fsync.  For each loss mode and cut =
 * 1, 2, ...: a copy of the base image loses power after write `cut`, the
 * survivor mounts and checks clean, no value is ever torn, and everything
 * a completed fsync/syncfs covered is there.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include <cmocka.h>

#include "bfs_test_ext.h"
#include "vhostfs/log.h"

#define CUT_MAX 1500
#define DEV (8ull << 20)
#define V1 20000
#define V2 3000
#define FLEN 100000
#define TLEN 5000

enum { M_X1, M_X2, M_FALLOC, M_TMP, M_RMX, M_N };

struct model {
	bool done[M_N];
	bool rmx_started;
};

static uint8_t v1[V1], v2[V2], pat[9000], tdata[TLEN], buf[FLEN];
/* an ACL with a named user: stored as an xattr, mode g = mask */
static const uint8_t acl_v[] = {
	2, 0, 0, 0,
	1, 0, 6, 0, 0xff, 0xff, 0xff, 0xff,  /* user:: rw */
	2, 0, 6, 0, 0xe8, 0x03, 0, 0,        /* user:1000: rw */
	4, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,  /* group:: r */
	0x10, 0, 6, 0, 0xff, 0xff, 0xff, 0xff, /* mask:: rw */
	0x20, 0, 4, 0, 0xff, 0xff, 0xff, 0xff, /* other:: r */
};

static struct bdev *base_build(void)
{
	struct bt t;

	bt_setup(&t, DEV, 16384, true);
	bt_forget(&t, bt_put(&t, t.root, "keep", pat, sizeof(pat), true));
	assert_int_equal(bt_unmount(&t), 0);
	assert_int_equal(bst_unload(t.bs), 0);
	return t.dev;
}

/* --- the workload --------------------------------------------------------- */

static int syncfs(struct bt *t)
{
	struct fs_entry e;
	struct fs_file *f;
	int rc = bt_lookup(t, t->root, "keep", &e);

	if (rc)
		return rc;
	rc = bt_open(t, e.inode, O_RDONLY, &f);
	if (rc == 0) {
		rc = bt_fsync(t, f); /* commits everything applied */
		bt_release(t, f);
	}
	bt_forget(t, e.inode);
	return rc;
}

static int on_keep(struct bt *t, const char *name, const void *v, size_t n)
{
	struct fs_entry e;
	int rc = bt_lookup(t, t->root, "keep", &e);

	if (rc)
		return rc;
	rc = v ? bx_setxattr(t, e.inode, name, v, n, 0)
	       : bx_removexattr(t, e.inode, name);
	bt_forget(t, e.inode);
	return rc ? rc : syncfs(t);
}

static int step_falloc(struct bt *t)
{
	struct fs_entry e;
	struct fs_file *f;
	int rc = bt_create(t, t->root, "fa", 0644, &e, &f);

	if (rc)
		return rc;
	if (bt_write(t, f, 0, pat, sizeof(pat)) != sizeof(pat))
		rc = -EIO;
	if (rc == 0)
		rc = bx_fallocate(t, f, 0, 0, FLEN);
	if (rc == 0)
		rc = bx_fallocate(t, f, FALLOC_FL_PUNCH_HOLE |
					FALLOC_FL_KEEP_SIZE, 5000, 45000);
	if (rc == 0)
		rc = bt_fsync(t, f);
	bt_release(t, f);
	bt_forget(t, e.inode);
	return rc;
}

static int step_tmpfile(struct bt *t)
{
	struct fs_entry e, l;
	struct fs_file *f;
	int rc = bx_tmpfile(t, t->root, 0644, &e, &f);

	if (rc)
		return rc;
	if (bt_write(t, f, 0, tdata, TLEN) != TLEN)
		rc = -EIO;
	if (rc == 0)
		rc = bt_fsync(t, f);
	if (rc == 0)
		rc = bt_link(t, e.inode, t->root, "t", &l);
	if (rc == 0) {
		bt_forget(t, l.inode);
		rc = syncfs(t);
	}
	bt_release(t, f);
	bt_forget(t, e.inode);
	return rc;
}

static int workload(struct bt *t, struct model *m)
{
	int rc = on_keep(t, "user.big", v1, V1);

	m->done[M_X1] = rc == 0;
	if (rc == 0)
		rc = on_keep(t, "system.posix_acl_access", acl_v,
			     sizeof(acl_v));
	if (rc == 0)
		rc = on_keep(t, "user.big", v2, V2);
	m->done[M_X2] = rc == 0;
	if (rc == 0)
		rc = step_falloc(t);
	m->done[M_FALLOC] = rc == 0;
	if (rc == 0)
		rc = step_tmpfile(t);
	m->done[M_TMP] = rc == 0;
	m->rmx_started = rc == 0;
	if (rc == 0)
		rc = on_keep(t, "user.big", NULL, 0);
	m->done[M_RMX] = rc == 0;
	return rc;
}

/* --- verification --------------------------------------------------------- */

static void verify_keep(struct bt *t, const struct model *m)
{
	struct fs_entry e;
	long n;

	assert_int_equal(bt_lookup(t, t->root, "keep", &e), 0);
	n = bx_getxattr(t, e.inode, "user.big", buf, sizeof(buf));
	/* whole values only: absent, the first or the second */
	if (n == V1)
		assert_memory_equal(buf, v1, V1);
	else if (n == V2)
		assert_memory_equal(buf, v2, V2);
	else
		assert_int_equal(n, -ENODATA);
	if (m->done[M_X1] && !m->rmx_started)
		assert_true(n != -ENODATA);
	if (m->done[M_X2] && !m->rmx_started)
		assert_int_equal(n, V2);
	if (m->done[M_RMX])
		assert_int_equal(n, -ENODATA);
	n = bx_getxattr(t, e.inode, "system.posix_acl_access", buf,
			sizeof(buf));
	if (n >= 0) {
		assert_int_equal(n, sizeof(acl_v));
		assert_memory_equal(buf, acl_v, sizeof(acl_v));
		assert_int_equal(e.attr.st_mode & 0777, 0664);
	} else {
		assert_int_equal(n, -ENODATA);
		assert_false(m->done[M_X2]);
	}
	bt_forget(t, e.inode);
}

static void verify_fa(struct bt *t, const struct model *m)
{
	long n = bt_get(t, t->root, "fa", buf, sizeof(buf));

	if (n == -ENOENT) {
		assert_false(m->done[M_FALLOC]);
		return;
	}
	assert_true(n >= 0 && n <= FLEN);
	/* the pattern or zeros (punched, or not written yet), zeros after */
	for (long i = 0; i < n; i++) {
		if (i < (long)sizeof(pat) && buf[i] == pat[i] &&
		    !(m->done[M_FALLOC] && i >= 5000))
			continue;
		if (buf[i])
			fail_msg("fa: byte %ld is %u", i, buf[i]);
	}
	if (m->done[M_FALLOC]) {
		assert_int_equal(n, FLEN);
		assert_memory_equal(buf, pat, 5000);
	}
}

static void verify(struct bt *t, const struct model *m)
{
	long n;

	bt_check(t);
	verify_keep(t, m);
	verify_fa(t, m);
	n = bt_get(t, t->root, "t", buf, sizeof(buf));
	if (n == -ENOENT) {
		assert_false(m->done[M_TMP]);
	} else {
		/* named only after its data was synced */
		assert_int_equal(n, TLEN);
		assert_memory_equal(buf, tdata, TLEN);
	}
}

/* --- the runner (as in test_power.c) ------------------------------------- */

struct mode {
	enum bdev_loss_mode loss;
	bool torn;
};

static const struct mode modes[] = {
	{ BDEV_LOSS_DROP_ALL, false },
	{ BDEV_LOSS_KEEP_ALL, false },
	{ BDEV_LOSS_KEEP_PREFIX, false },
	{ BDEV_LOSS_KEEP_RANDOM, false },
	{ BDEV_LOSS_KEEP_RANDOM_BLOCKS, false },
	{ BDEV_LOSS_KEEP_ALL, true },
};

static struct bdev *copy_of(struct bdev *ram)
{
	struct bdev_loss_policy all = { .mode = BDEV_LOSS_KEEP_ALL };
	struct bdev *img;

	assert_int_equal(bdev_ram_crash_image(ram, &all, &img), 0);
	return img;
}

static uint64_t base_vol(struct bdev *base)
{
	struct blob_store *bs;
	uint64_t id = 0;
	size_t n;

	assert_int_equal(bst_load(base, true, &bs), 0);
	assert_int_equal(bst_list(bs, BLOB_ID_NONE, &id, 1, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(bst_unload(bs), 0);
	return id;
}

static bool run_cut(struct bdev *base, uint64_t vol, const struct mode *md,
		    uint64_t cut)
{
	struct bdev_fault_config fc = {
		.power_cut_write = cut,
		.tear_blocks = md->torn ? (uint32_t)(1 + cut % 3) : 0,
		.loss = { .mode = md->loss, .seed = cut * 7919 + md->loss,
			  .keep = cut % 5 },
	};
	struct bdev *dev = copy_of(base), *fault, *img;
	struct model m = { { false } };
	struct bt t = { .vol = vol };
	bool lost, done = false;
	int rc;

	fc.base = dev;
	assert_int_equal(bdev_fault_create(&fc, &fault), 0);
	rc = bst_load(fault, false, &t.bs);
	if (rc == 0) {
		if (bt_mount(&t) == 0) {
			done = workload(&t, &m) == 0;
			bt_forget(&t, t.root);
			done = bt_unmount(&t) == 0 && done;
		}
		rc = bst_unload(t.bs);
	}
	lost = bdev_fault_power_lost(fault);
	assert_true((rc == 0 && done) || lost);
	assert_int_equal(bdev_fault_crash_image(fault, &img), 0);
	assert_int_equal(bdev_destroy(fault), 0);
	assert_int_equal(bdev_destroy(dev), 0);
	assert_int_equal(bst_load(img, false, &t.bs), 0);
	assert_int_equal(bt_mount(&t), 0);
	verify(&t, &m);
	assert_int_equal(bt_unmount(&t), 0);
	assert_int_equal(bt_mount(&t), 0);
	bt_check(&t);
	t.dev = img;
	bt_teardown(&t);
	return lost;
}

static void test_sweep_ext(void **state)
{
	struct bdev *base = base_build();
	uint64_t vol = base_vol(base);

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		uint64_t cut = 1;

		while (run_cut(base, vol, &modes[i], cut)) {
			cut++;
			if (cut > CUT_MAX)
				fail_msg("no end after %d cuts", CUT_MAX);
		}
		if (getenv("BFS_TEST_VERBOSE"))
			fprintf(stderr, "mode %d%s: %llu cuts\n",
				(int)modes[i].loss,
				modes[i].torn ? " torn" : "",
				(unsigned long long)cut);
	}
	assert_int_equal(bdev_destroy(base), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sweep_ext),
	};

	for (size_t i = 0; i < V1; i++)
		v1[i] = (uint8_t)(i * 13 + 1);
	for (size_t i = 0; i < V2; i++)
		v2[i] = (uint8_t)(i * 7 + 5);
	for (size_t i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)(i * 5 + 2);
	for (size_t i = 0; i < TLEN; i++)
		tdata[i] = (uint8_t)(i * 3 + 9);
	/* the cut fails the fs on purpose: its error logs are expected */
	log_set_level(LOG_LEVEL_ERROR);
	bst_reactor();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
