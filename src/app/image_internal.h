/* SPDX-License-Identifier: MIT */
/*
 * image_internal.h - an image (file or block device) holding a blobstore
 * with file systems in it, as vhostfsd serves it and the `vhostfs` tools
 * read and change it.
 *
 * Catalog.  Every bfs volume of a store is one blob carrying the internal
 * xattr "vhostfs.name" (1..VIMAGE_NAME_MAX bytes of [A-Za-z0-9._-], not
 * starting with '-' or '.', unique in the store).  `vhostfs mkfs` makes
 * the store and one volume named "main"; a snapshot is a read-only blob
 * (blob_snapshot) named by the user, a clone a thin writable blob whose
 * parent is a snapshot (blob_clone).
 * Blobs without the name are not file systems (bench-blob's, for one) and
 * are left alone.
 *
 * Threads.  vimage_open() starts one thread, the fs thread, that runs the
 * store's md reactor; the store, the catalog and the mounted bfs live
 * there.  Every vimage_* call below is made from another thread (main, a
 * transport's) and waits for its work on the fs thread.  The fs_ops of
 * vimage_fs() may be called from any reactor thread as bfs.h says;
 * vimage_call() runs one from a thread without a reactor (the tools).
 *
 * Locking.  The image is flock()ed: exclusive when anything may change it
 * (serving read-write, import, snapshot, clone), shared otherwise; a second
 * writer gets -EWOULDBLOCK and a clear message.  Snapshots and clones are
 * therefore taken offline (vhostfsd not serving that image).
 */
#ifndef VHOSTFS_APP_IMAGE_INTERNAL_H
#define VHOSTFS_APP_IMAGE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vhostfs/bfs.h"
#include "vhostfs/fs.h"

#define VIMAGE_NAME_XATTR "vhostfs.name"
#define VIMAGE_NAME_MAX 64
#define VIMAGE_DEFAULT_EXPORT "main"

struct vimage;
struct reactor;

enum vimage_mode {
	VIMAGE_MOUNT_RW = 0, /* mount @export read-write (a snapshot: -EROFS) */
	VIMAGE_MOUNT_RO,     /* mount @export read-only (snapshots: always) */
	VIMAGE_STORE_RW,     /* no mount: catalog changes (snapshot, clone) */
	VIMAGE_STORE_RO,     /* no mount: catalog listing */
};

struct vimage_config {
	const char *path;
	const char *export_name; /* NULL: VIMAGE_DEFAULT_EXPORT */
	enum vimage_mode mode;
	const char *who;         /* message prefix: "vhostfsd", "vhostfs ls" */
	uint32_t cache_blocks;   /* bfs_mount_opts; 0 = default */
};

/*
 * Open @cfg->path, load its store, start the fs thread and (MOUNT modes)
 * mount the named export.  Errors are logged with @cfg->who and what
 * went wrong in words ("no file system named 'x' in IMAGE; it has: main,
 * gold"); -ENOENT (no such export), -EWOULDBLOCK (image in use), -EILSEQ
 * (not a vhostfs image), -EROFS (snapshot asked read-write), -errno.
 */
int vimage_open(struct vimage **out, const struct vimage_config *cfg);

/*
 * Unmount (commit, checkpoint, clean), unload the store, stop the fs
 * thread, close the device, free @im.  No fs_ops call may be in flight.
 * 0 or the first error (still everything is freed).
 */
int vimage_close(struct vimage *im);

/* The mounted file system (MOUNT modes; NULL otherwise). */
struct fs *vimage_fs(struct vimage *im);
/* The fs thread's reactor. */
struct reactor *vimage_reactor(struct vimage *im);
/* Whether the mounted export is read-only (asked, or a snapshot). */
bool vimage_read_only(const struct vimage *im);

/*
 * Run one fs_ops call on the fs thread and wait for it (from any thread
 * but the fs thread; meant for threads without a reactor):
 * @start gets a ready struct fs_call (cred = @cred or root, reactor NULL,
 * completion wired) and makes the call, e.g.
 *     vimage_call(im, NULL, start_lookup, &args)
 * Returns the call's result (0 or -errno).
 */
int vimage_call(struct vimage *im, const struct fs_cred *cred,
		void (*start)(struct fs *fs, struct fs_call *c, void *arg),
		void *arg);

/* Commit and checkpoint the mounted fs now (bfs_sync). */
int vimage_sync(struct vimage *im);

/* Check the mounted fs (bfs_check); problems described on @log. */
int vimage_check(struct vimage *im, struct bfs_check_report *rep,
		 FILE *log);

/* --- the catalog --------------------------------------------------------- */

enum vimage_kind {
	VIMAGE_VOLUME,   /* writable, no parent */
	VIMAGE_SNAPSHOT, /* read-only */
	VIMAGE_CLONE,    /* writable, parent is a snapshot */
};

struct vimage_entry {
	char name[VIMAGE_NAME_MAX + 1];
	uint64_t blob_id;
	uint64_t parent_id;   /* 0: none */
	enum vimage_kind kind;
	uint64_t clusters;    /* the blob's size in clusters */
	uint64_t allocated;   /* clusters it owns itself (not its parent's) */
};

/* 0 if @name is a valid catalog name, else -EINVAL. */
int vimage_name_check(const char *name);

/* The file systems of the store, sorted by name; free(*out). */
int vimage_list(struct vimage *im, struct vimage_entry **out, size_t *n);

/*
 * Make a new empty file system @name (bfs_mkfs on a new thin blob, then
 * named).  -EEXIST if the name is taken.  STORE_RW mode.
 */
int vimage_create(struct vimage *im, const char *name,
		  const struct bfs_mkfs_opts *opts);

/*
 * Snapshot file system @vol as @snap: @vol is mounted and unmounted first
 * (replay, checkpoint, clean mark: so the snapshot holds a clean fs; bfs
 * tells no "clean" from outside, and a clean fs mounts fast), then
 * blob_snapshot; @vol keeps its name and stays writable (now a thin clone
 * of @snap).  Instant: no data is copied.  STORE_RW mode.
 */
int vimage_snapshot(struct vimage *im, const char *vol, const char *snap);

/* A writable thin clone @name of snapshot @snap.  STORE_RW mode. */
int vimage_clone(struct vimage *im, const char *snap, const char *name);

/*
 * Delete file system @name; -EBUSY if clones depend on it (a snapshot
 * with children).  STORE_RW mode.
 */
int vimage_delete(struct vimage *im, const char *name);

#endif /* VHOSTFS_APP_IMAGE_INTERNAL_H */
