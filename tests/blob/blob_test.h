/* SPDX-License-Identifier: MIT */
/*
 * blob_test.h - synchronous wrappers around the blobstore's asynchronous
 * calls for tests: one reactor on the test thread serves as md thread and
 * data thread; each call is driven to completion.
 */
#ifndef VHOSTFS_TESTS_BLOB_TEST_H
#define VHOSTFS_TESTS_BLOB_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vhostfs/bdev.h"
#include "vhostfs/blob.h"

/* A device geometry and store layout the suites run over. */
struct bst_geo {
	uint32_t block_size;
	uint32_t cluster_size;
	uint64_t dev_bytes;
	uint32_t md_pages;
	uint32_t journal_pages;
};

extern const struct bst_geo bst_geos[];
extern const size_t bst_ngeos;

/* The test thread's reactor (created once; exits 77 without io_uring). */
struct reactor *bst_reactor(void);
void bst_reactor_destroy(void);

/*
 * A ram device of @g, with a volatile cache if @cache, filled (durably)
 * with a pattern of blob id BST_FOREIGN, as if a previous owner had left
 * data everywhere: whatever the store exposes without writing it first
 * shows up as foreign.
 */
#define BST_FOREIGN 0xDEADBEEFull
struct bdev *bst_ram(const struct bst_geo *g, bool cache);
struct blob_store_opts bst_opts(const struct bst_geo *g);

int bst_init(struct bdev *dev, const struct blob_store_opts *o,
	     struct blob_store **bs);
int bst_load(struct bdev *dev, bool ro, struct blob_store **bs);
int bst_unload(struct blob_store *bs);
int bst_grow(struct blob_store *bs);
int bst_create(struct blob_store *bs, uint64_t clusters, bool thin,
	       uint64_t *id);
int bst_open(struct blob_store *bs, uint64_t id, struct blob **b);
int bst_close(struct blob *b);
int bst_delete(struct blob_store *bs, uint64_t id);
int bst_resize(struct blob *b, uint64_t clusters);
int bst_unmap(struct blob *b, uint64_t first, uint64_t count);
int bst_sync(struct blob *b);
int bst_list(struct blob_store *bs, uint64_t after, uint64_t *ids,
	     size_t max, size_t *count);
int bst_xattr_set(struct blob *b, uint32_t flags, const char *name,
		  const void *v, size_t len);
int bst_xattr_get(struct blob *b, uint32_t flags, const char *name, void *buf,
		  size_t size, size_t *len);
int bst_xattr_remove(struct blob *b, uint32_t flags, const char *name);
int bst_xattr_list(struct blob *b, uint32_t flags, char *buf, size_t size,
		   size_t *len);
int bst_snapshot(struct blob *b, uint64_t *snap);
int bst_clone(struct blob_store *bs, uint64_t snap, uint64_t *clone);
int bst_inflate(struct blob *b);
int bst_decouple(struct blob *b);
int bst_check(struct blob_store *bs, uint32_t flags,
	      struct blob_check_report *rep);
int bst_dump(struct blob_store *bs, FILE *out);

/* Data I/O through a channel of the test thread. */
struct blob_channel *bst_channel(struct blob_store *bs);
int bst_write(struct blob_channel *ch, struct blob *b, uint64_t off,
	      const void *buf, size_t len);
int bst_read(struct blob_channel *ch, struct blob *b, uint64_t off, void *buf,
	     size_t len);

/* Page-aligned zeroed buffer (free() it). */
void *bst_alloc(size_t len);

/*
 * Block patterns that identify their writer: every io unit starts with
 * (blob id, byte offset, version) and the rest is derived from them, so a
 * block read back can be told apart from zeros, from another version and
 * from another blob's data.
 */
void bst_pattern(void *buf, size_t len, uint32_t unit, uint64_t id,
		 uint64_t off, uint32_t version);
/* The version of unit @buf written as (@id, @off); 0 = zeros, -1 = other. */
int64_t bst_pattern_version(const void *buf, uint32_t unit, uint64_t id,
			    uint64_t off);

/*
 * A store on a fresh ram device of a geometry, with a channel of the test
 * thread: the setup most suites share.
 */
struct bst_env {
	const struct bst_geo *g;
	struct bdev *dev;
	struct blob_store *bs;
	struct blob_channel *ch;
};

void bst_env_open(struct bst_env *e, const struct bst_geo *g);
/* Destroy the channel and unload the store (e->bs becomes NULL). */
void bst_env_unload(struct bst_env *e);
void bst_env_reload(struct bst_env *e);
/* Check the store clean, unload it, destroy the device. */
void bst_env_close(struct bst_env *e);
uint64_t bst_env_free_clusters(struct bst_env *e);
/* Write version @v of [off, off + len) of @b as the pattern of blob @id. */
void bst_env_put(struct bst_env *e, struct blob *b, uint64_t id, uint64_t off,
		 size_t len, uint32_t v);
/* [off, off + len) of @b holds version @v written as @id (0: zeros). */
void bst_env_expect(struct bst_env *e, struct blob *b, uint64_t id,
		    uint64_t off, size_t len, uint32_t v);

#endif
