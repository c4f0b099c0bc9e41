// SPDX-License-Identifier: MIT
/*
 * blob_load_fuzz.c - libFuzzer target: fuzzed metadata on a ram device.
 *
 * A valid store (blobs with data, xattrs, a snapshot and a clone, and a
 * journal left to replay) is built once.  Each input patches the
 * metadata region of a copy: byte 0 says which checksums to recompute
 * after patching (so that the fuzzer gets past CRC checks), then come
 * patches {u16 page, u16 offset, u8 len, len bytes}.  The store is loaded,
 * checked, every blob opened and read, dumped, repaired, checked again.
 * Errors are expected; crashes, sanitizer reports, hangs and leaks are bugs,
 * and so is a repair that does not leave a clean store.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blob/blob_format.h"
#include "fuzz_common.h"
#include "vhostfs/bdev.h"
#include "vhostfs/blob.h"
#include "vhostfs/log.h"
#include "vhostfs/reactor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DEV_BYTES (512u << 10)
#define BLOCK 512u

enum {
	FIX_SUPER = 1 << 0,
	FIX_MD = 1 << 1,
	FIX_CKPT = 1 << 2,
	FIX_TXN = 1 << 3,
};

static struct reactor *fz_r;
static unsigned char *fz_base;  /* the valid image */
static struct blob_super fz_super;
static FILE *fz_null;

#define RUN(call) FZ_RUN(fz_r, call)

static int raw_rw(struct bdev *dev, void *buf, size_t len, bool write)
{
	return fz_raw_rw(fz_r, dev, buf, len, write);
}

static struct bdev *ram_new(void)
{
	return fz_ram_new(BLOCK, DEV_BYTES);
}

/* --- the base image ------------------------------------------------------- */

static void base_blobs(struct blob_store *bs)
{
	struct blob_create_opts thick = { .clusters = 3 };
	struct blob_create_opts thin = { .clusters = 8, .thin = true };
	unsigned char *buf = aligned_alloc(4096, 8192);
	struct iovec v = { .iov_base = buf, .iov_len = 8192 };
	struct blob_channel *ch;
	uint64_t a, b, snap, clone;
	struct blob_io io;
	struct blob *h;

	memset(buf, 0x5A, 8192);
	if (blob_channel_create(bs, fz_r, &ch) ||
	    RUN(blob_create(bs, &thick, &a, fz_wait_cb, w)) ||
	    RUN(blob_create(bs, &thin, &b, fz_wait_cb, w)) ||
	    RUN(blob_open(bs, b, &h, fz_wait_cb, w)) ||
	    RUN(blob_writev(ch, h, &io, &v, 1, 4096 * 5, fz_wait_cb, w)) ||
	    RUN(blob_xattr_set(h, 0, "name", "value", 5, fz_wait_cb, w)) ||
	    RUN(blob_xattr_set(h, BLOB_XATTR_INTERNAL, "i", buf, 300,
			       fz_wait_cb, w)) ||
	    RUN(blob_snapshot(h, &snap, fz_wait_cb, w)) ||
	    RUN(blob_writev(ch, h, &io, &v, 1, 0, fz_wait_cb, w)) ||
	    RUN(blob_close(h, fz_wait_cb, w)) ||
	    RUN(blob_clone(bs, snap, &clone, fz_wait_cb, w)) ||
	    RUN(blob_delete(bs, a, fz_wait_cb, w)) ||
	    blob_channel_destroy(ch))
		abort();
	free(buf);
}

/* Format, fill, and keep the store dirty (journal to replay). */
static void base_build(void)
{
	struct blob_store_opts o = { .cluster_size = 4096, .md_pages = 32,
				     .journal_pages = 16 };
	struct bdev *dev = ram_new();
	struct blob_store *bs;

	if (RUN(blob_store_init(dev, fz_r, &o, &bs, fz_wait_cb, w)))
		abort();
	base_blobs(bs);
	fz_base = aligned_alloc(4096, DEV_BYTES);
	if (!fz_base || raw_rw(dev, fz_base, DEV_BYTES, false))
		abort();
	/* the copy is taken while the store is loaded: it is dirty */
	if (RUN(blob_store_unload(bs, fz_wait_cb, w)))
		abort();
	bdev_destroy(dev);
	for (uint32_t slot = 0; slot < 2; slot++) {
		struct blob_super s;

		if (blob_super_decode(fz_base + slot * BLOB_PAGE_SIZE, slot,
				      &s) == 0 && s.seq > fz_super.seq)
			fz_super = s;
	}
}

static void fz_init(void)
{
	struct reactor_config rc = { .name = "fuzz" };

	log_set_level(LOG_LEVEL_ERROR);
	if (reactor_create(&fz_r, &rc) || reactor_run_once(fz_r, 0) < 0)
		abort();
	fz_null = fopen("/dev/null", "w");
	if (!fz_null)
		abort();
	base_build();
}

/* --- patching ------------------------------------------------------------- */

static void seal(unsigned char *p, size_t len, size_t crc_off)
{
	blob_le32_put(p + crc_off, blob_crc32c_skip(p, len, crc_off));
}

static void fix_checksums(unsigned char *img, unsigned int flags)
{
	const struct blob_super *s = &fz_super;
	unsigned char *ck = img + s->ckpt_start[s->ckpt_area] * BLOB_PAGE_SIZE;
	size_t bits = (size_t)(s->ckpt_pages - 1) * BLOB_PAGE_SIZE;

	if (flags & FIX_SUPER) {
		size_t off = offsetof(struct blob_disk_super, crc);

		seal(img, BLOB_PAGE_SIZE, off);
		seal(img + BLOB_PAGE_SIZE, BLOB_PAGE_SIZE, off);
	}
	if (flags & FIX_CKPT) {
		blob_le32_put(ck + offsetof(struct blob_disk_ckpt, bitmap_crc),
			      blob_crc32c(ck + BLOB_PAGE_SIZE, bits));
		seal(ck, BLOB_PAGE_SIZE, offsetof(struct blob_disk_ckpt, crc));
	}
	if (flags & FIX_MD) {
		for (uint32_t p = 0; p < s->md_pages; p++)
			blob_md_seal(img + (s->md_start + p) * BLOB_PAGE_SIZE);
	}
	if (flags & FIX_TXN) {
		unsigned char *t = img + s->journal_start * BLOB_PAGE_SIZE;
		uint32_t pages = blob_le32_get(t + 12);

		if (pages >= 1 && pages <= s->journal_pages)
			seal(t, (size_t)pages * BLOB_PAGE_SIZE,
			     offsetof(struct blob_disk_txn, crc));
	}
}

/* Apply the input's patches to the metadata region of @img. */
static void patch(unsigned char *img, const uint8_t *d, size_t n)
{
	uint64_t meta = (fz_super.md_start + fz_super.md_pages);

	while (n >= 5) {
		uint32_t page = (uint32_t)(d[0] | d[1] << 8) % meta;
		uint32_t off = (uint32_t)(d[2] | d[3] << 8) % BLOB_PAGE_SIZE;
		uint32_t len = d[4];

		d += 5;
		n -= 5;
		if (len > n)
			len = (uint32_t)n;
		if (len > BLOB_PAGE_SIZE - off)
			len = BLOB_PAGE_SIZE - off;
		memcpy(img + (size_t)page * BLOB_PAGE_SIZE + off, d, len);
		d += len;
		n -= len;
	}
}

/* --- exercising a loaded store -------------------------------------------- */

static void read_all(struct blob_store *bs)
{
	unsigned char *buf = aligned_alloc(4096, 4096);
	struct iovec v = { .iov_base = buf, .iov_len = 4096 };
	struct blob_channel *ch;
	uint64_t ids[16];
	size_t n = 0;

	if (blob_channel_create(bs, fz_r, &ch))
		abort();
	RUN(blob_list(bs, BLOB_ID_NONE, ids, 16, &n, fz_wait_cb, w));
	for (size_t i = 0; i < n; i++) {
		struct blob_io io;
		struct blob *b;
		char names[256];
		size_t len;

		if (RUN(blob_open(bs, ids[i], &b, fz_wait_cb, w)))
			continue;
		for (uint64_t c = 0; c < blob_get_clusters(b) && c < 16; c++)
			RUN(blob_readv(ch, b, &io, &v, 1, c * 4096, fz_wait_cb,
				       w));
		RUN(blob_xattr_list(b, 0, names, sizeof(names), &len,
				    fz_wait_cb, w));
		RUN(blob_close(b, fz_wait_cb, w));
	}
	blob_channel_destroy(ch);
	free(buf);
}

static void exercise(struct blob_store *bs)
{
	struct blob_check_report rep;

	RUN(blob_store_check(bs, 0, &rep, NULL, fz_wait_cb, w));
	read_all(bs);
	RUN(blob_store_dump(bs, fz_null, fz_wait_cb, w));
	if (RUN(blob_store_check(bs, BLOB_CHECK_REPAIR, &rep, NULL, fz_wait_cb,
				 w)) == 0 &&
	    RUN(blob_store_check(bs, 0, &rep, NULL, fz_wait_cb, w)) == 0 &&
	    rep.errors != 0)
		abort(); /* repair must leave a clean store */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	unsigned char *img;
	struct blob_store *bs;
	struct bdev *dev;

	if (!ready) {
		fz_init();
		ready = true;
	}
	if (size < 1)
		return 0;
	img = aligned_alloc(4096, DEV_BYTES);
	if (!img)
		abort();
	memcpy(img, fz_base, DEV_BYTES);
	patch(img, data + 1, size - 1);
	fix_checksums(img, data[0]);
	dev = ram_new();
	if (raw_rw(dev, img, DEV_BYTES, true))
		abort();
	free(img);
	if (RUN(blob_store_load(dev, fz_r, NULL, &bs, fz_wait_cb, w)) == 0) {
		exercise(bs);
		if (RUN(blob_store_unload(bs, fz_wait_cb, w)) == -EBUSY)
			abort();
	}
	if (bdev_destroy(dev))
		abort();
	return 0;
}
