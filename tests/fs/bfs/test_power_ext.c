// SPDX-License-Identifier: MIT
/*
 * test_power_ext.c - the power-loss sweep over the operations beyond the
 * core (the runner is power_sweep.c): xattrs (a 20000-byte value
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
#include "power_sweep.h"
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
	return ps_base_close(&t);
}

/* --- the workload --------------------------------------------------------- */

static int syncfs(struct bt *t)
{
	struct fs_entry e;
	int rc = bt_lookup(t, t->root, "keep", &e);

	if (rc)
		return rc;
	rc = ps_fsync(t, e.inode);
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

static int workload(struct bt *t, void *arg)
{
	struct model *m = arg;
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

static void verify(struct bt *t, const void *arg)
{
	const struct model *m = arg;
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

static void test_sweep_ext(void **state)
{
	const struct ps_scen sc = {
		.name = "ext", .work = workload, .verify = verify,
		.model_size = sizeof(struct model), .cut_max = CUT_MAX,
	};

	ps_sweep(base_build(), &sc);
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
