// SPDX-License-Identifier: MIT
/*
 * power_sweep.c - the power-loss sweep runner (see power_sweep.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "power_sweep.h"

struct ps_mode {
	enum bdev_loss_mode loss;
	bool torn;
};

static const struct ps_mode ps_modes[] = {
	{ BDEV_LOSS_DROP_ALL, false },
	{ BDEV_LOSS_KEEP_ALL, false },
	{ BDEV_LOSS_KEEP_PREFIX, false },
	{ BDEV_LOSS_KEEP_RANDOM, false },
	{ BDEV_LOSS_KEEP_RANDOM_BLOCKS, false },
	{ BDEV_LOSS_KEEP_ALL, true },
};

int ps_put(struct bt *t, struct fs_inode *dir, const char *name,
	   const void *buf, size_t len)
{
	struct fs_entry e;
	struct fs_file *f;
	int rc = bt_create(t, dir, name, 0644, &e, &f);

	if (rc)
		return rc;
	if (bt_write(t, f, 0, buf, len) != (long)len)
		rc = -EIO;
	if (rc == 0)
		rc = bt_fsync(t, f);
	bt_release(t, f);
	bt_forget(t, e.inode);
	return rc;
}

int ps_write(struct bt *t, struct fs_inode *in, uint64_t off, const void *buf,
	     size_t len)
{
	struct fs_file *f;
	int rc = bt_open(t, in, O_RDWR, &f);

	if (rc)
		return rc;
	if (bt_write(t, f, off, buf, len) != (long)len)
		rc = -EIO;
	if (rc == 0)
		rc = bt_fsync(t, f);
	bt_release(t, f);
	return rc;
}

int ps_fsync(struct bt *t, struct fs_inode *in)
{
	struct fs_file *f;
	int rc = bt_open(t, in, O_RDONLY, &f);

	if (rc)
		return rc;
	rc = bt_fsync(t, f);
	bt_release(t, f);
	return rc;
}

struct bdev *ps_base_close(struct bt *t)
{
	assert_int_equal(bt_unmount(t), 0);
	assert_int_equal(bst_unload(t->bs), 0);
	return t->dev;
}

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

/* Load, mount and run the workload on @fault; true if all of it completed. */
static bool run_work(const struct ps_scen *sc, struct bdev *fault,
		     struct bt *t, void *m)
{
	bool done = false;
	int rc = bst_load(fault, false, &t->bs);

	if (rc)
		return false;
	if (bt_mount(t) == 0) {
		done = sc->work(t, m) == 0;
		bt_forget(t, t->root);
		done = bt_unmount(t) == 0 && done;
	}
	return bst_unload(t->bs) == 0 && done;
}

/* The survivor @img: verify, remount, check; then release it. */
static void check_survivor(const struct ps_scen *sc, struct bdev *img,
			   struct bt *t, const void *m)
{
	struct blob_check_report rep;

	assert_int_equal(bst_load(img, false, &t->bs), 0);
	assert_int_equal(bt_mount(t), 0);
	sc->verify(t, m);
	assert_int_equal(bt_unmount(t), 0);
	assert_int_equal(bt_mount(t), 0);
	bt_check(t);
	t->dev = img;
	if (!sc->store_check) {
		bt_teardown(t);
		return;
	}
	assert_int_equal(bt_unmount(t), 0);
	/* the store agrees: clusters given back are nobody's */
	assert_int_equal(bst_check(t->bs, 0, &rep), 0);
	assert_int_equal(rep.errors, 0);
	assert_int_equal(bst_unload(t->bs), 0);
	assert_int_equal(bdev_destroy(img), 0);
}

/* One cut; true if the power was lost (the sweep goes on). */
static bool run_cut(const struct ps_scen *sc, struct bdev *base, uint64_t vol,
		    const struct ps_mode *md, uint64_t cut)
{
	struct bdev_fault_config fc = {
		.power_cut_write = cut,
		.tear_blocks = md->torn ? (uint32_t)(1 + cut % 3) : 0,
		.loss = { .mode = md->loss, .seed = cut * 7919 + md->loss,
			  .keep = cut % 5 },
	};
	struct bdev *dev = copy_of(base), *fault, *img;
	struct bt t = { .vol = vol };
	/* no allocation: a failed assert must not leak */
	_Alignas(max_align_t) unsigned char m[PS_MODEL_MAX] = { 0 };
	bool lost, done;

	assert_true(sc->model_size <= sizeof(m));
	if (sc->model_init)
		memcpy(m, sc->model_init, sc->model_size);
	fc.base = dev;
	assert_int_equal(bdev_fault_create(&fc, &fault), 0);
	done = run_work(sc, fault, &t, m);
	lost = bdev_fault_power_lost(fault);
	assert_true(done || lost);
	assert_int_equal(bdev_fault_crash_image(fault, &img), 0);
	assert_int_equal(bdev_destroy(fault), 0);
	assert_int_equal(bdev_destroy(dev), 0);
	check_survivor(sc, img, &t, m);
	return lost;
}

void ps_sweep(struct bdev *base, const struct ps_scen *sc)
{
	uint64_t vol = base_vol(base);

	for (size_t i = 0; i < sizeof(ps_modes) / sizeof(ps_modes[0]); i++) {
		uint64_t cut = 1;

		while (run_cut(sc, base, vol, &ps_modes[i], cut)) {
			cut++;
			if (cut > sc->cut_max)
				fail_msg("%s: no end after %llu cuts", sc->name,
					 (unsigned long long)sc->cut_max);
		}
		if (getenv("BFS_TEST_VERBOSE"))
			fprintf(stderr, "%s mode %d%s: %llu cuts\n", sc->name,
				(int)ps_modes[i].loss,
				ps_modes[i].torn ? " torn" : "",
				(unsigned long long)cut);
	}
	assert_int_equal(bdev_destroy(base), 0);
}
