// SPDX-License-Identifier: MIT
/*
 * test_power.c - the file system's power-loss sweep.
 *
 * A base image holds a synced file "keep", "a/x" and an empty "b".  Then,
 * for each loss mode and cut = 1, 2, ...: a copy is loaded through a fault
 * device that loses power after write number `cut`, mounted, and a
 * workload runs until it fails: create + write + fsync, a rename across
 * directories, an unlink, an overwrite + fsync, RENAME_EXCHANGE, syncfs,
 * unmount.  The surviving image must load, mount and check clean; "x"
 * must exist exactly once with its contents; no file may appear under two
 * names; and everything a completed fsync/syncfs covered must be there.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bfs_test.h"
#include "fs/bfs/bfs_internal.h"
#include "power_sweep.h"
#include "vhostfs/log.h"

#define CUT_MAX 1200
#define BFS_JOURNAL_MIN_BLOCKS 128
#define DEV (8ull << 20)
#define XLEN 7000
#define NLEN 20000

enum { M_NEW, M_KEEP_GONE, M_OVER, M_EXCH, M_N };
#define BURST 40

struct model {
	bool done[M_N];
	bool burst;          /* run the burst of small fsync'd files */
	int synced;          /* burst files whose fsync completed */
};

static uint8_t xdata[XLEN], keepdata[9000], v1[NLEN], v2[NLEN];

static void patterns(void)
{
	for (size_t i = 0; i < sizeof(xdata); i++)
		xdata[i] = (uint8_t)(i * 13 + 1);
	for (size_t i = 0; i < sizeof(keepdata); i++)
		keepdata[i] = (uint8_t)(i * 5 + 2);
	for (size_t i = 0; i < NLEN; i++)
		v1[i] = (uint8_t)(i * 3 + 7);
	memcpy(v2, v1, NLEN);
	for (size_t i = 5000; i < 9000; i++)
		v2[i] = (uint8_t)(i * 11 + 3);
}

static struct bdev *base_build(uint32_t journal)
{
	struct bfs_mkfs_opts mo = { .journal_blocks = journal };
	struct bt t;
	struct fs_entry a, b;

	bt_setup_opts(&t, DEV, 16384, true, &mo);
	bt_forget(&t, bt_put(&t, t.root, "keep", keepdata, sizeof(keepdata),
			     true));
	assert_int_equal(bt_mkdir(&t, t.root, "a", 0755, &a), 0);
	assert_int_equal(bt_mkdir(&t, t.root, "b", 0755, &b), 0);
	bt_forget(&t, bt_put(&t, a.inode, "x", xdata, sizeof(xdata), true));
	return ps_base_close(&t);
}

/* --- the workload --------------------------------------------------------- */

static int lookup2(struct bt *t, const char *dir, const char *name,
		   struct fs_entry *e)
{
	struct fs_entry d;
	int rc = bt_lookup(t, t->root, dir, &d);

	if (rc)
		return rc;
	rc = bt_lookup(t, d.inode, name, e);
	bt_forget(t, d.inode);
	return rc;
}

static int syncfs(struct bt *t)
{
	struct fs_entry e;
	int rc = bt_lookup(t, t->root, "keep2", &e);

	if (rc == -ENOENT)
		rc = bt_mknod(t, t->root, "keep2", S_IFREG | 0644, 0, &e);
	if (rc)
		return rc;
	rc = ps_fsync(t, e.inode);
	bt_forget(t, e.inode);
	return rc;
}

static int step_new(struct bt *t)
{
	struct fs_entry a;
	int rc = bt_lookup(t, t->root, "a", &a);

	if (rc)
		return rc;
	rc = ps_put(t, a.inode, "new", v1, NLEN);
	bt_forget(t, a.inode);
	return rc;
}

static int step_over(struct bt *t)
{
	struct fs_entry e;
	int rc = lookup2(t, "a", "new", &e);

	if (rc)
		return rc;
	rc = ps_write(t, e.inode, 5000, v2 + 5000, 4000);
	bt_forget(t, e.inode);
	return rc;
}

static int dir_rename(struct bt *t, const char *d1, const char *n1,
		      const char *d2, const char *n2, uint32_t flags)
{
	struct fs_entry a, b;
	int rc = bt_lookup(t, t->root, d1, &a);

	if (rc)
		return rc;
	rc = bt_lookup(t, t->root, d2, &b);
	if (rc == 0) {
		rc = bt_rename(t, a.inode, n1, b.inode, n2, flags);
		bt_forget(t, b.inode);
	}
	bt_forget(t, a.inode);
	return rc;
}

/* Small files, each fsync'd: commits enough to fill a small journal. */
static int step_burst(struct bt *t, struct model *m)
{
	char name[16], data[100];

	for (int i = 0; i < BURST; i++) {
		int rc;

		snprintf(name, sizeof(name), "s%d", i);
		memset(data, 'a' + i % 26, sizeof(data));
		rc = ps_put(t, t->root, name, data, sizeof(data));
		if (rc)
			return rc;
		m->synced = i + 1;
	}
	return 0;
}

static int workload(struct bt *t, void *arg)
{
	struct model *m = arg;
	int rc = m->burst ? step_burst(t, m) : 0;

	if (rc)
		return rc;
	rc = step_new(t);

	m->done[M_NEW] = rc == 0;
	if (rc == 0)
		rc = dir_rename(t, "a", "x", "b", "x", 0);
	if (rc == 0)
		rc = bt_unlink(t, t->root, "keep");
	if (rc == 0)
		rc = syncfs(t);
	m->done[M_KEEP_GONE] = rc == 0;
	if (rc == 0)
		rc = step_over(t);
	m->done[M_OVER] = rc == 0;
	if (rc == 0)
		rc = dir_rename(t, "a", "new", "b", "x", RENAME_EXCHANGE);
	if (rc == 0)
		rc = syncfs(t);
	m->done[M_EXCH] = rc == 0;
	/* the small journal was checkpointed mid-run */
	if (rc == 0 && m->burst)
		assert_true(((struct bfs *)t->fs)->j.checkpoints >= 2);
	return rc;
}

/* --- verification --------------------------------------------------------- */

/* v1, with blocks of the unsynced overwrite either old or new */
static bool v1_or_mixed(const uint8_t *buf)
{
	for (size_t i = 0; i < NLEN; i++) {
		if (buf[i] != v1[i] && buf[i] != v2[i])
			return false;
	}
	return true;
}

struct seen {
	int x, v1, v2, keep, burst;
};

static void classify(struct bt *t, struct fs_inode *dir, const char *name,
		     struct seen *s)
{
	static uint8_t buf[NLEN + 4096];
	long n = bt_get(t, dir, name, buf, sizeof(buf));

	if (getenv("BFS_TEST_VERBOSE"))
		fprintf(stderr, "  %s: %ld bytes\n", name, n);
	assert_true(n >= 0);
	if (n == XLEN && !memcmp(buf, xdata, XLEN))
		s->x++;
	else if (n == sizeof(keepdata) && !memcmp(buf, keepdata, (size_t)n))
		s->keep++;
	else if (n == NLEN && !memcmp(buf, v2, NLEN))
		s->v2++;
	else if (n == NLEN && v1_or_mixed(buf))
		s->v1++;
	else if (name[0] == 's' && n == 100 && buf[0] == buf[99])
		s->burst++;
	else if (strcmp(name, "keep2") && strcmp(name, "new"))
		fail_msg("%s: unexpected contents (%ld bytes)", name, n);
	else if (strcmp(name, "keep2") && n && n != NLEN)
		fail_msg("%s: torn file of %ld bytes", name, n);
}

static void scan(struct bt *t, struct fs_inode *dir, struct seen *s, int depth)
{
	struct bt_dirent ents[64];
	size_t n;

	assert_int_equal(bt_readdir(t, dir, 2, false, ents, 64, &n), 0);
	assert_true(n < 64);
	for (size_t i = 0; i < n; i++) {
		struct fs_entry e;

		assert_int_equal(bt_lookup(t, dir, ents[i].name, &e), 0);
		if (S_ISDIR(e.attr.st_mode)) {
			assert_true(depth == 0);
			scan(t, e.inode, s, depth + 1);
		} else {
			classify(t, dir, ents[i].name, s);
		}
		bt_forget(t, e.inode);
	}
}

static void verify(struct bt *t, const void *arg)
{
	const struct model *m = arg;
	struct seen s = { 0 };

	if (getenv("BFS_TEST_VERBOSE"))
		fprintf(stderr, "verify: new %d keep_gone %d over %d exch %d\n",
			m->done[M_NEW], m->done[M_KEEP_GONE], m->done[M_OVER],
			m->done[M_EXCH]);
	bt_check(t);
	scan(t, t->root, &s, 0);
	assert_int_equal(s.x, 1); /* never lost, never doubled */
	assert_true(s.keep <= 1);
	if (m->done[M_KEEP_GONE])
		assert_int_equal(s.keep, 0);
	assert_true(s.v1 + s.v2 <= 1);
	if (m->done[M_NEW])
		assert_int_equal(s.v1 + s.v2, 1);
	if (m->done[M_OVER])
		assert_int_equal(s.v2, 1);
	/* a burst file is whole or absent, and present once synced */
	assert_true(s.burst >= m->synced && s.burst <= BURST);
}

/* --- the runner ----------------------------------------------------------- */

static void sweep(const char *name, uint32_t journal, bool burst)
{
	const struct model init = { .burst = burst };
	const struct ps_scen sc = {
		.name = name, .work = workload, .verify = verify,
		.model_init = &init, .model_size = sizeof(init),
		.cut_max = CUT_MAX,
	};

	ps_sweep(base_build(journal), &sc);
}

static void test_sweep(void **state)
{
	sweep("core", 0, false);
}

/* The smallest journal: checkpoints happen in the middle of the run. */
static void test_sweep_checkpoints(void **state)
{
	sweep("checkpoints", BFS_JOURNAL_MIN_BLOCKS, true);
}

/* --- space: block reuse, truncate, clones (alloc.c, copy.c) ----------------- */

#define SP_BIG (256u * 1024)
#define SP_CUT (40u * 1024)
#define SP_NEW (200u * 1024)
#define SP_SRC (64u * 1024)

static uint8_t sp1[SP_BIG], sp2[SP_NEW], sp3[4096];

struct sp_model {
	bool trunc, reused, unlinking, gone, clone, cow, src_gone;
};

struct sp_scen {
	const char *name;
	void (*setup)(struct bt *t);
	int (*work)(struct bt *t, void *m);      /* on a struct sp_model */
	void (*verify)(struct bt *t, const void *m);
};

struct sp_wait {
	int done, err;
};

static void sp_cb(void *arg, int err)
{
	struct sp_wait *w = arg;

	w->done++;
	w->err = err;
}

static int sp_wait(struct sp_wait *w)
{
	while (!w->done)
		assert_true(reactor_run_once(bst_reactor(), 10) >= 0);
	return w->err;
}

/* Commit and checkpoint: the freed blocks become reusable. */
static int sp_sync(struct bt *t)
{
	struct sp_wait w = { 0 };

	bfs_sync(t->fs, sp_cb, &w);
	return sp_wait(&w);
}

static long sp_copy(struct bt *t, struct fs_file *in, struct fs_file *out,
		    uint64_t len)
{
	struct sp_wait w = { 0 };
	struct fs_call c = { .cred = t->cred, .reactor = bst_reactor(),
			     .cb = sp_cb, .cb_arg = &w };
	size_t n = 0;

	t->fs->ops->copy_file_range(t->fs, &c, in, 0, out, 0, len, 0, &n);
	return sp_wait(&w) ? -EIO : (long)n;
}

/* Create @name with @len bytes of @buf, fsync'd. */
static int sp_put(struct bt *t, const char *name, const uint8_t *buf,
		  size_t len)
{
	return ps_put(t, t->root, name, buf, len);
}

/* Length of @name (-ENOENT) with its bytes in @buf. */
static long sp_get(struct bt *t, const char *name, uint8_t *buf, size_t max)
{
	return bt_get(t, t->root, name, buf, max);
}

/* Every byte of @buf is @want's or (unsynced) zero. */
static bool sp_prefix(const uint8_t *buf, const uint8_t *want, size_t n,
		      bool zeros_ok)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] != want[i] && !(zeros_ok && buf[i] == 0))
			return false;
	}
	return true;
}

/* reuse: truncate "big", checkpoint, a new file takes its blocks; then
 * unlink it, checkpoint, and reuse again */
static void reuse_setup(struct bt *t)
{
	assert_int_equal(sp_put(t, "big", sp1, SP_BIG), 0);
}

static int reuse_work(struct bt *t, void *arg)
{
	struct sp_model *m = arg;
	struct fs_entry e;
	struct fs_file *f;
	int rc = bt_lookup(t, t->root, "big", &e);

	if (rc == 0) {
		rc = bt_truncate(t, e.inode, SP_CUT);
		if (rc == 0 && (rc = bt_open(t, e.inode, O_RDWR, &f)) == 0) {
			rc = bt_fsync(t, f);
			bt_release(t, f);
		}
		bt_forget(t, e.inode);
	}
	m->trunc = rc == 0;
	if (rc == 0)
		rc = sp_sync(t);
	if (rc == 0)
		rc = sp_put(t, "new", sp2, SP_NEW);
	m->reused = rc == 0;
	m->unlinking = rc == 0;
	if (rc == 0)
		rc = bt_unlink(t, t->root, "big");
	if (rc == 0)
		rc = sp_sync(t);
	m->gone = rc == 0;
	if (rc == 0)
		rc = sp_put(t, "new2", sp1 + 4096, SP_NEW);
	return rc;
}

static void reuse_verify(struct bt *t, const void *arg)
{
	static uint8_t buf[SP_BIG + 4096];
	const struct sp_model *m = arg;
	long n;

	bt_check(t); /* no block owned twice, refcounts exact */
	n = sp_get(t, "big", buf, sizeof(buf));

	if (m->gone)
		assert_int_equal(n, -ENOENT);
	else if (m->trunc)
		assert_true(n == SP_CUT || (m->unlinking && n == -ENOENT));
	else
		assert_true(n >= 0);
	if (n >= 0) {
		assert_true(n == SP_BIG || n == SP_CUT);
		assert_memory_equal(buf, sp1, (size_t)n);
	}
	n = sp_get(t, "new", buf, sizeof(buf));
	if (m->reused)
		assert_int_equal(n, SP_NEW);
	if (n >= 0)
		assert_true(sp_prefix(buf, sp2, (size_t)n, !m->reused));
	n = sp_get(t, "new2", buf, sizeof(buf));
	if (n >= 0)
		assert_true(sp_prefix(buf, sp1 + 4096, (size_t)n, true));
}

/* clone: share "src" with "dst", copy-on-write on both, drop "src" */
static void clone_setup(struct bt *t)
{
	assert_int_equal(sp_put(t, "src", sp1, SP_SRC), 0);
}

static int clone_write(struct bt *t, const char *name, uint64_t off,
		       const uint8_t *buf, size_t len)
{
	struct fs_entry e;
	int rc = bt_lookup(t, t->root, name, &e);

	if (rc)
		return rc;
	rc = ps_write(t, e.inode, off, buf, len);
	bt_forget(t, e.inode);
	return rc;
}

static int clone_work(struct bt *t, void *arg)
{
	struct sp_model *m = arg;
	struct fs_entry es, ed;
	struct fs_file *fs_, *fd;
	int rc = bt_lookup(t, t->root, "src", &es);

	if (rc)
		return rc;
	rc = bt_open(t, es.inode, O_RDONLY, &fs_);
	bt_forget(t, es.inode);
	if (rc)
		return rc;
	rc = bt_create(t, t->root, "dst", 0644, &ed, &fd);
	if (rc == 0) {
		if (sp_copy(t, fs_, fd, SP_SRC) != SP_SRC)
			rc = -EIO;
		if (rc == 0)
			rc = bt_fsync(t, fd);
		bt_release(t, fd);
		bt_forget(t, ed.inode);
	}
	bt_release(t, fs_);
	m->clone = rc == 0;
	if (rc == 0)
		rc = clone_write(t, "dst", 3 * 4096, sp3, 4096);
	if (rc == 0)
		rc = clone_write(t, "src", 5 * 4096 + 100, sp3, 100);
	m->cow = rc == 0;
	m->unlinking = rc == 0;
	if (rc == 0)
		rc = bt_unlink(t, t->root, "src");
	if (rc == 0)
		rc = sp_sync(t);
	m->src_gone = rc == 0;
	return rc;
}

static void clone_verify(struct bt *t, const void *arg)
{
	static uint8_t buf[SP_SRC + 4096], want[SP_SRC];
	const struct sp_model *m = arg;
	long n;
	bool b3;

	bt_check(t); /* no block owned twice, refcounts exact */
	n = sp_get(t, "src", buf, sizeof(buf));

	if (getenv("BFS_TEST_VERBOSE"))
		fprintf(stderr, "clone verify: clone %d cow %d unlinking %d "
			"gone %d; src %ld\n", m->clone, m->cow, m->unlinking,
			m->src_gone, n);

	if (m->src_gone)
		assert_int_equal(n, -ENOENT);
	else
		assert_true(n == SP_SRC || (m->unlinking && n == -ENOENT));
	if (n >= 0) {
		memcpy(want, sp1, SP_SRC);
		memcpy(want + 5 * 4096 + 100, sp3, 100);
		assert_true(!memcmp(buf, want, SP_SRC) ||
			    (!m->cow && !memcmp(buf, sp1, SP_SRC)));
	}
	n = sp_get(t, "dst", buf, sizeof(buf));
	if (m->clone)
		assert_int_equal(n, SP_SRC);
	if (n <= 0)
		return;
	assert_int_equal(n, SP_SRC);
	memcpy(want, sp1, SP_SRC);
	memcpy(want + 3 * 4096, sp3, 4096);
	b3 = !memcmp(buf + 3 * 4096, sp3, 4096);
	assert_true(b3 || !m->cow);
	assert_memory_equal(buf, b3 ? want : sp1, SP_SRC);
}

static const struct sp_scen sp_scens[] = {
	{ "reuse", reuse_setup, reuse_work, reuse_verify },
	{ "clone", clone_setup, clone_work, clone_verify },
};

static struct bdev *sp_base(const struct sp_scen *sc)
{
	struct bt t;

	bt_setup(&t, DEV, 16384, true);
	sc->setup(&t);
	return ps_base_close(&t);
}

static void test_sweep_space(void **state)
{
	for (size_t i = 0; i < sizeof(sp_scens) / sizeof(sp_scens[0]); i++) {
		const struct sp_scen *sp = &sp_scens[i];
		const struct ps_scen sc = {
			.name = sp->name, .work = sp->work,
			.verify = sp->verify,
			.model_size = sizeof(struct sp_model),
			.cut_max = CUT_MAX, .store_check = true,
		};

		ps_sweep(sp_base(sp), &sc);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_sweep_checkpoints),
		cmocka_unit_test(test_sweep_space),
	};

	for (size_t i = 0; i < sizeof(sp1); i++)
		sp1[i] = (uint8_t)(i * 17 + (i >> 12) + 1);
	for (size_t i = 0; i < sizeof(sp2); i++)
		sp2[i] = (uint8_t)(i * 23 + (i >> 12) + 5);
	memset(sp3, 0xc3, sizeof(sp3));
	if (getenv("BFS_POWER_FILTER")) /* e.g. test_sweep_space */
		cmocka_set_test_filter(getenv("BFS_POWER_FILTER"));

	patterns();
	/* the cut fails the fs on purpose: its error logs are expected */
	log_set_level(LOG_LEVEL_ERROR);
	bst_reactor();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
