// SPDX-License-Identifier: MIT
/*
 * blob_populate.c - puts blobs on an image for blob_tools.sh, and checks
 * their data afterwards.
 *
 *   blob_populate IMAGE          create, on a store made by vhostfs mkfs:
 *     a: thick, 4 clusters, xattrs user "name"="alpha" and internal
 *        "fs.kind" (binary), every block written
 *     b: thin, 8 clusters, user "name"="beta", clusters 1 and 5 written
 *     s: a snapshot of b (b becomes its clone), then b's cluster 2 written
 *     c: a clone of s, user "name"="gamma"
 *     and print "NAME ID" lines.
 *   blob_populate IMAGE --verify ID   read all of blob ID: each block must
 *     be zeros or carry the tag written at that blob offset; print how
 *     many blocks hold data.
 *   blob_populate IMAGE --many N      create N empty thin blobs, 256 at a
 *     time (so that the journal commits them in groups), to make a store
 *     whose check takes long enough to show progress.
 *
 * Each written 512-byte unit starts with a tag (magic, blob offset), so
 * data that moved, or leaked from elsewhere, is seen.  Exit 0 or 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_blob_common.h"

#define POP "blob_populate"
#define TAG_MAGIC 0x676174706f706c62ull
#define UNIT 512u

struct pop {
	struct bt t;
	struct blob_channel *ch;
	uint32_t cs;
	unsigned char *buf; /* one cluster */
	bool many;
};

static int pop_wait(struct pop *p, struct bt_wait *w, const char *what)
{
	int rc = bt_wait(&p->t, w);

	if (rc < 0)
		bt_err(&p->t, "%s: %s", what, strerror(-rc));
	return rc;
}

#define POP_CALL(p, what, call)                           \
	do {                                              \
		struct bt_wait w_ = { 0 };                \
		struct bt_wait *w = &w_;                  \
		call;                                     \
		if (pop_wait((p), w, (what)) < 0)         \
			return -1;                        \
	} while (0)

static int pop_write_cluster(struct pop *p, struct blob *b, uint64_t idx)
{
	struct iovec v = { .iov_base = p->buf, .iov_len = p->cs };
	uint64_t off = idx * p->cs;
	struct blob_io io;

	memset(p->buf, 0x5a, p->cs);
	for (uint32_t k = 0; k < p->cs; k += UNIT) {
		uint64_t tag[2] = { TAG_MAGIC, off + k };

		memcpy(p->buf + k, tag, sizeof(tag));
	}
	POP_CALL(p, "write", blob_writev(p->ch, b, &io, &v, 1, off,
					 bt_wait_cb, w));
	return 0;
}

static int pop_new(struct pop *p, uint64_t clusters, bool thin,
		   const char *name, uint64_t *id, struct blob **b)
{
	struct blob_create_opts o = { .clusters = clusters, .thin = thin };

	POP_CALL(p, "create", blob_create(p->t.bs, &o, id, bt_wait_cb, w));
	POP_CALL(p, "open", blob_open(p->t.bs, *id, b, bt_wait_cb, w));
	POP_CALL(p, "xattr", blob_xattr_set(*b, 0, "name", name,
					    strlen(name), bt_wait_cb, w));
	return 0;
}

static int pop_close(struct pop *p, struct blob *b)
{
	POP_CALL(p, "sync", blob_sync(b, bt_wait_cb, w));
	POP_CALL(p, "close", blob_close(b, bt_wait_cb, w));
	return 0;
}

static int pop_a(struct pop *p)
{
	static const unsigned char kind[] = { 1, 2, 3, 0xff };
	struct blob *b;
	uint64_t id;

	if (pop_new(p, 4, false, "alpha", &id, &b) < 0)
		return -1;
	POP_CALL(p, "xattr", blob_xattr_set(b, BLOB_XATTR_INTERNAL, "fs.kind",
					    kind, sizeof(kind), bt_wait_cb,
					    w));
	for (uint64_t i = 0; i < 4; i++) {
		if (pop_write_cluster(p, b, i) < 0)
			return -1;
	}
	printf("a %#" PRIx64 "\n", id);
	return pop_close(p, b);
}

static int pop_bsc(struct pop *p)
{
	uint64_t id, snap, clone;
	struct blob *b, *c;

	if (pop_new(p, 8, true, "beta", &id, &b) < 0 ||
	    pop_write_cluster(p, b, 1) < 0 || pop_write_cluster(p, b, 5) < 0)
		return -1;
	POP_CALL(p, "snapshot", blob_snapshot(b, &snap, bt_wait_cb, w));
	if (pop_write_cluster(p, b, 2) < 0 || pop_close(p, b) < 0)
		return -1;
	POP_CALL(p, "clone", blob_clone(p->t.bs, snap, &clone, bt_wait_cb,
					w));
	POP_CALL(p, "open", blob_open(p->t.bs, clone, &c, bt_wait_cb, w));
	POP_CALL(p, "xattr", blob_xattr_set(c, 0, "name", "gamma", 5,
					    bt_wait_cb, w));
	if (pop_close(p, c) < 0)
		return -1;
	printf("b %#" PRIx64 "\ns %#" PRIx64 "\nc %#" PRIx64 "\n", id, snap,
	       clone);
	return 0;
}

/* Zeros, or the tag of this offset in every unit. */
static int pop_check(const struct pop *p, uint64_t off, uint64_t *data)
{
	static const unsigned char zero[UNIT];

	for (uint32_t k = 0; k < p->cs; k += UNIT) {
		uint64_t tag[2];

		if (memcmp(p->buf + k, zero, UNIT) == 0)
			continue;
		memcpy(tag, p->buf + k, sizeof(tag));
		if (tag[0] != TAG_MAGIC || tag[1] != off + k) {
			fprintf(stderr, POP ": wrong data at offset %" PRIu64
				"\n", off + k);
			return -1;
		}
		(*data)++;
	}
	return 0;
}

static int pop_verify(struct pop *p, uint64_t id)
{
	struct iovec v = { .iov_base = p->buf, .iov_len = p->cs };
	uint64_t data = 0;
	struct blob_io io;
	struct blob *b;

	POP_CALL(p, "open", blob_open(p->t.bs, id, &b, bt_wait_cb, w));
	for (uint64_t i = 0; i < blob_get_clusters(b); i++) {
		POP_CALL(p, "read", blob_readv(p->ch, b, &io, &v, 1,
					       i * p->cs, bt_wait_cb, w));
		if (pop_check(p, i * p->cs, &data) < 0)
			return -1;
	}
	POP_CALL(p, "close", blob_close(b, bt_wait_cb, w));
	printf("%#" PRIx64 ": %" PRIu64 " units of data\n", id, data);
	return 0;
}

#define MANY_AT_ONCE 256u

struct many {
	struct bt_wait w[MANY_AT_ONCE];
	uint64_t id[MANY_AT_ONCE];
};

static int pop_many(struct pop *p, uint64_t n)
{
	struct blob_create_opts o = { .clusters = 1, .thin = true };
	struct many *m = calloc(1, sizeof(*m));
	int rc = m ? 0 : -ENOMEM;

	for (uint64_t done = 0; rc == 0 && done < n; done += MANY_AT_ONCE) {
		uint32_t k = n - done < MANY_AT_ONCE ? (uint32_t)(n - done)
						     : MANY_AT_ONCE;

		for (uint32_t i = 0; i < k; i++) {
			m->w[i] = (struct bt_wait){ 0 };
			blob_create(p->t.bs, &o, &m->id[i], bt_wait_cb,
				    &m->w[i]);
		}
		for (uint32_t i = 0; i < k; i++) {
			if (pop_wait(p, &m->w[i], "create") < 0)
				rc = -1;
		}
	}
	free(m);
	return rc;
}

static int pop_run(struct pop *p, bool verify, uint64_t id)
{
	int rc;

	p->cs = blob_store_cluster_size(p->t.bs);
	p->buf = aligned_alloc(4096, p->cs);
	if (!p->buf)
		return -1;
	rc = blob_channel_create(p->t.bs, p->t.r, &p->ch);
	if (rc < 0)
		return -1;
	if (p->many)
		rc = pop_many(p, id);
	else if (verify)
		rc = pop_verify(p, id);
	else
		rc = pop_a(p) < 0 || pop_bsc(p) < 0 ? -1 : 0;
	if (blob_channel_destroy(p->ch) < 0)
		rc = -1;
	return rc;
}

int main(int argc, char *argv[])
{
	struct bt_probe probe;
	struct pop p = { 0 };
	bool verify = argc == 4 && strcmp(argv[2], "--verify") == 0;
	uint64_t id = 0;
	int rc;

	p.many = argc == 4 && strcmp(argv[2], "--many") == 0;
	if ((argc != 2 && !verify && !p.many) ||
	    (argc == 4 && bt_parse_u64(argv[3], 1, UINT64_MAX, &id) < 0)) {
		fprintf(stderr, "usage: " POP " IMAGE [--verify ID | --many N]"
			"\n");
		return 2;
	}
	if (bt_probe_image(argv[1], &probe) < 0 ||
	    bt_open(&p.t, POP, argv[1], probe.block_size,
		    BDEV_URING_DIRECT_AUTO, BT_LOCK_EXCLUSIVE) < 0)
		return 1;
	rc = bt_load(&p.t, verify);
	if (rc < 0)
		bt_err(&p.t, "load: %s", bt_strerror(rc));
	else
		rc = pop_run(&p, verify, id);
	if (p.t.bs && bt_unload(&p.t) < 0)
		rc = -1;
	bt_close(&p.t);
	free(p.buf);
	return rc < 0 ? 1 : 0;
}
