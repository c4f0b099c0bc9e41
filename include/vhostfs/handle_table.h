/* SPDX-License-Identifier: MIT */
/*
 * handle_table.h - guest-visible ids for host objects.
 *
 * A peer (the kernel over /dev/fuse, a guest over virtio-fs) names our
 * objects by 64-bit ids.  Those ids are never pointers: each is a slot index
 * plus a generation number, looked up here, so a forged, stale or reused id
 * gets NULL instead of a dangling object.
 *
 * Ids are never 0 or 1 (FUSE reserves 1 for the root inode).
 *
 * Lookups are lock-free (a reference count and the generation live in one
 * atomic word per slot) so READ/WRITE on many threads take no lock; insert
 * and remove take a mutex (metadata path).  Slots live in chunks that never
 * move, so a lookup racing with growth is safe.
 */
#ifndef VHOSTFS_HANDLE_TABLE_H
#define VHOSTFS_HANDLE_TABLE_H

#include <stdint.h>

struct handle_table;

/*
 * Called once an object has been removed and its last reference dropped.
 * Runs on the thread that dropped that reference.
 */
typedef void (*handle_release_fn)(void *ctx, void *obj);

/* @max_handles bounds the table (0 = default, 1<<24). */
int handle_table_create(struct handle_table **out, uint32_t max_handles,
			handle_release_fn release, void *ctx);

/*
 * Destroy the table, calling the release function for every object still in
 * it.  No other thread may use the table any more.
 */
void handle_table_destroy(struct handle_table *t);

/* Insert @obj; its new id goes to *@id.  -ENFILE when the table is full. */
int handle_table_insert(struct handle_table *t, void *obj, uint64_t *id);

/*
 * Look @id up and take a reference: returns the object, or NULL when the id
 * is forged, stale or removed.  Drop it with handle_table_put().
 */
void *handle_table_get(struct handle_table *t, uint64_t id);

/* Drop a reference taken by handle_table_get(). */
void handle_table_put(struct handle_table *t, uint64_t id);

/*
 * Remove @id: no new lookup finds it; the release function runs when the
 * last reference is dropped (now, if there is none).  -ENOENT if unknown.
 */
int handle_table_remove(struct handle_table *t, uint64_t id);

/*
 * Remove @id only if nobody holds a reference; the object goes to *@obj and
 * the release function is NOT called.  -ENOENT if unknown, -EBUSY if in use.
 */
int handle_table_take(struct handle_table *t, uint64_t id, void **obj);

/* Number of live (not removed) entries. */
uint32_t handle_table_count(struct handle_table *t);

#endif /* VHOSTFS_HANDLE_TABLE_H */
