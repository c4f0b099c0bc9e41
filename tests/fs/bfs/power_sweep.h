/* SPDX-License-Identifier: MIT */
/*
 * power_sweep.h - the power-loss sweep shared by test_power.c and
 * test_power_ext.c.  For each loss mode and cut = 1, 2, ...: a copy of a
 * base image is loaded through a fault device that loses power after write
 * number `cut`, mounted, and the scenario's workload runs until it fails;
 * the survivor must load and mount, pass the scenario's verification, and
 * mount and check clean once more.  The sweep ends when a run completes
 * without losing power.
 */
#ifndef VHOSTFS_TESTS_BFS_POWER_SWEEP_H
#define VHOSTFS_TESTS_BFS_POWER_SWEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bfs_test.h"

#define PS_MODEL_MAX 256 /* bytes of a scenario's model at most */

struct ps_scen {
	const char *name;
	/* On the mounted fault image; 0 once the whole workload completed.
	 * @model starts as a copy of @model_init (zeros if NULL). */
	int (*work)(struct bt *t, void *model);
	/* On the mounted survivor, with what @work recorded; checks the fs. */
	void (*verify)(struct bt *t, const void *model);
	const void *model_init;
	size_t model_size;
	uint64_t cut_max;   /* a sweep longer than this fails the test */
	bool store_check;   /* finally bst_check() the survivor's store too */
};

/* Workload steps that fail softly (-errno), as a cut makes them: */
/* create @name under @dir with @len bytes of @buf, fsync'd; */
int ps_put(struct bt *t, struct fs_inode *dir, const char *name,
	   const void *buf, size_t len);
/* write @len bytes of @buf at @off of @in, fsync'd; */
int ps_write(struct bt *t, struct fs_inode *in, uint64_t off, const void *buf,
	     size_t len);
/* fsync @in (of any file: commits everything applied so far). */
int ps_fsync(struct bt *t, struct fs_inode *in);

/* Unmount and unload a freshly built base image; returns its device. */
struct bdev *ps_base_close(struct bt *t);
/* Run @sc's sweep over every loss mode on copies of @base; destroys it. */
void ps_sweep(struct bdev *base, const struct ps_scen *sc);

#endif
