/* SPDX-License-Identifier: MIT */
/*
 * image_impl.h - what image.c (the image, its fs thread, the mount) and
 * image_catalog.c (the named file systems of the store) share.  Not for
 * callers: they use image_internal.h.
 *
 * Every call into the store and the fs is started on the fs thread by
 * vimage_run(): the caller's thread (main, a tool's, a transport's) sends
 * one step there and sleeps on a condition variable until the step's
 * callback ran.  So callbacks always run on the fs thread, whatever
 * reactor (or none) the caller's thread has, and the caller's code reads
 * as a sequence of steps.
 */
#ifndef VHOSTFS_APP_IMAGE_IMPL_H
#define VHOSTFS_APP_IMAGE_IMPL_H

#include <pthread.h>

#include "app/image_internal.h"
#include "vhostfs/bdev.h"
#include "vhostfs/blob.h"

struct vimage {
	char *path;
	char export_name[VIMAGE_NAME_MAX + 1];
	const char *who;
	enum vimage_mode mode;
	uint32_t cache_blocks;
	int lock_fd;
	struct bdev *dev;
	struct reactor *r;       /* the fs thread's, the store's md thread */
	pthread_t thread;
	bool thread_started;
	struct blob_store *bs;
	struct fs *fs;           /* MOUNT modes */
	uint64_t vol_id;
	bool read_only;          /* the mounted export */
	bool store_read_only;
};

/* One step: runs on the fs thread and ends by calling @cb(@cb_arg, err). */
typedef void (*vimage_step_fn)(struct vimage *im, void *arg, blob_cb cb,
			       void *cb_arg);

/* Run @fn on the fs thread and wait for its callback; its error. */
int vimage_run(struct vimage *im, vimage_step_fn fn, void *arg);

/* "WHO: message" on the log (error level). */
void vimage_err(const struct vimage *im, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The catalog entry named @name: 0, -ENOENT, or a store error. */
int vimage_find(struct vimage *im, const char *name,
		struct vimage_entry *out);

/* "main, gold" (the names of the catalog) into @buf, for messages. */
void vimage_names_str(struct vimage *im, char *buf, size_t len);

/* Mount volume @vol_id / unmount im->fs (fs thread steps, waited for). */
int vimage_mount_id(struct vimage *im, uint64_t vol_id, bool read_only,
		    struct fs **out);
int vimage_unmount_fs(struct vimage *im, struct fs *fs);

#endif /* VHOSTFS_APP_IMAGE_IMPL_H */
