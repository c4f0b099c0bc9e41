// SPDX-License-Identifier: MIT
/*
 * bfs_mount_fuzz.c - libFuzzer target: corrupted bfs volumes.
 *
 * A small populated file system (directories, a tree of several levels,
 * files with extents and inline data, a symlink, a hard link, xattrs, an
 * orphan) is built once, as two images: one unmounted cleanly and one
 * taken right after a commit, with a journal to replay.  Each input
 * patches the volume of a copy: byte 0 picks the image (bit 0) and which
 * checksums to recompute after patching (bits 1-3: tree nodes, super
 * blocks, journal transactions) so that the fuzzer gets past CRC checks;
 * then come patches {u16 block, u16 offset, u8 len, len bytes}.  The
 * volume is mounted read-only, walked through fs_ops and checked; then
 * mounted read-write, walked, changed a little, checked, unmounted.
 * Errors are expected; crashes, sanitizer reports, hangs and leaks are bugs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/bfs/bfs_internal.h"
#include "fuzz_common.h"
#include "vhostfs/bdev.h"
#include "vhostfs/bfs.h"
#include "vhostfs/blob.h"
#include "vhostfs/fs.h"
#include "vhostfs/log.h"
#include "vhostfs/reactor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DEV_BYTES (2u << 20)
#define DEV_BLOCK 4096u
#define VOL_BLOCKS 256u /* 1 MiB volume: journal 128, tree, data */
#define VOL_BYTES (VOL_BLOCKS * BFS_BLOCK)
#define WALK_DEPTH 6
#define WALK_ENTRIES 16 /* per directory */
#define WALK_VISITS 40  /* names looked up per mount */

enum {
	USE_DIRTY = 1 << 0,
	FIX_NODES = 1 << 1,
	FIX_SUPER = 1 << 2,
	FIX_JTX = 1 << 3,
};

static struct reactor *fz_r;
static unsigned char *fz_img[2];  /* clean, dirty device images */
static unsigned char *fz_vimg[2]; /* their volumes */
static uint64_t fz_vol;
static unsigned char *fz_vbuf;    /* the volume being patched */
static struct bdev *fz_dev;       /* reused: no page faults per input */

/* --- driving the reactor -------------------------------------------------- */

#define RUN(call) FZ_RUN(fz_r, call)

static struct fs_call *mkcall(struct fs_call *c, struct fz_wait *w)
{
	memset(c, 0, sizeof(*c));
	c->reactor = fz_r;
	c->cb = fz_wait_cb;
	c->cb_arg = w;
	return c;
}

/* An fs_ops call @expr using `c`, run to completion: its error. */
#define CALL(expr)                                        \
	({                                                \
		struct fz_wait cw_ = { 0 };               \
		struct fs_call call_;                     \
		struct fs_call *c = mkcall(&call_, &cw_); \
		expr;                                     \
		fz_wait_run(fz_r, &cw_);                  \
	})

/* --- raw device access ---------------------------------------------------- */

static void raw_rw(struct bdev *dev, void *buf, bool write)
{
	if (fz_raw_rw(fz_r, dev, buf, DEV_BYTES, write))
		abort();
}

static struct bdev *ram_new(void)
{
	return fz_ram_new(DEV_BLOCK, DEV_BYTES);
}

/* The whole volume in or out of @buf (only blocks differing from @orig). */
static int vol_rw(struct blob_store *bs, unsigned char *buf,
		  const unsigned char *orig, bool write)
{
	struct blob_channel *ch;
	struct blob *b;
	int rc;

	if (RUN(blob_open(bs, fz_vol, &b, fz_wait_cb, w)))
		return -EIO;
	rc = blob_channel_create(bs, fz_r, &ch);
	for (uint32_t i = 0; rc == 0 && i < VOL_BLOCKS; i++) {
		size_t off = (size_t)i * BFS_BLOCK;
		struct iovec v = { .iov_base = buf + off,
				   .iov_len = write ? BFS_BLOCK : VOL_BYTES };
		struct blob_io io;

		if (!write) {
			rc = RUN(blob_readv(ch, b, &io, &v, 1, 0, fz_wait_cb,
					       w));
			break;
		}
		if (!memcmp(buf + off, orig + off, BFS_BLOCK))
			continue;
		rc = RUN(blob_writev(ch, b, &io, &v, 1, off, fz_wait_cb, w));
	}
	if (ch)
		blob_channel_destroy(ch);
	RUN(blob_close(b, fz_wait_cb, w));
	return rc;
}

/* --- the base images ------------------------------------------------------ */

static struct fs_entry mk(struct fs *fs, struct fs_inode *p, const char *name,
			  mode_t mode)
{
	struct fs_entry e = { 0 };

	if (CALL(fs->ops->mkdir(fs, c, p, name, mode, &e)))
		abort();
	return e;
}

static struct fs_file *put(struct fs *fs, struct fs_inode *p,
			   const char *name, uint64_t off, size_t len,
			   struct fs_entry *e)
{
	static unsigned char buf[3 * BFS_BLOCK];
	struct iovec v = { .iov_base = buf, .iov_len = len };
	struct fs_open_out o = { 0 };
	size_t n;

	memset(buf, 0x5A, sizeof(buf));
	if (CALL(fs->ops->create(fs, c, p, name, 0644, O_RDWR, e, &o)) ||
	    (len && CALL(fs->ops->write(fs, c, o.file, off, &v, 1, 0, &n))))
		abort();
	return o.file;
}

static struct fs_file *populate(struct fs *fs)
{
	static char big[2000];
	struct fs_inode *root = fs->ops->root(fs);
	struct fs_entry d1 = mk(fs, root, "d1", 0755);
	struct fs_entry d2 = mk(fs, d1.inode, "d2", 0700), e, l;
	struct fs_file *f;
	char name[64];

	memset(big, 'x', sizeof(big));
	f = put(fs, root, "big", 8192, sizeof(big) * 4, &e); /* extents */
	if (CALL(fs->ops->setxattr(fs, c, e.inode, "user.big", big,
				   sizeof(big), 0)) ||
	    CALL(fs->ops->release(fs, c, f, false, 0)))
		abort();
	f = put(fs, d1.inode, "small", 0, 100, &e); /* inline */
	if (CALL(fs->ops->setxattr(fs, c, e.inode, "user.a", "v", 1, 0)) ||
	    CALL(fs->ops->link(fs, c, e.inode, d2.inode, "hard", &l)) ||
	    CALL(fs->ops->symlink(fs, c, root, "sym", "d1/small", &l)) ||
	    CALL(fs->ops->release(fs, c, f, false, 0)))
		abort();
	for (int i = 0; i < 30; i++) { /* enough items for a few leaves */
		snprintf(name, sizeof(name),
			 "a-fairly-long-file-name-to-fill-up-the-tree-leaves-%03d",
			 i);
		f = put(fs, d2.inode, name, 0, (size_t)i * 7, &e);
		if (CALL(fs->ops->release(fs, c, f, false, 0)))
			abort();
	}
	/* an orphan: unlinked while open, still open at the image */
	f = put(fs, d1.inode, "orphan", 0, 2 * BFS_BLOCK, &e);
	if (CALL(fs->ops->unlink(fs, c, d1.inode, "orphan")) ||
	    CALL(fs->ops->fsync(fs, c, f, false)))
		abort();
	return f;
}

static void base_build(void)
{
	struct blob_store_opts o = { .cluster_size = 4096, .md_pages = 16,
				     .journal_pages = 16 };
	struct bfs_mkfs_opts mo = { .size = VOL_BYTES };
	struct bdev *dev = ram_new();
	struct fs_file *orphan;
	struct blob_store *bs;
	struct fs *fs;

	if (RUN(blob_store_init(dev, fz_r, &o, &bs, fz_wait_cb, w)) ||
	    RUN(bfs_mkfs(bs, &mo, &fz_vol, fz_wait_cb, w)) ||
	    RUN(bfs_mount(bs, fz_vol, NULL, &fs, fz_wait_cb, w)))
		abort();
	orphan = populate(fs);
	for (int i = 0; i < 2; i++) {
		fz_img[i] = aligned_alloc(4096, DEV_BYTES);
		if (!fz_img[i])
			abort();
	}
	/* taken after the fsync's commit: dirty, a journal to replay */
	raw_rw(dev, fz_img[1], false);
	if (RUN(bfs_unmount(fs, fz_wait_cb, w)) ||
	    RUN(blob_store_unload(bs, fz_wait_cb, w)))
		abort();
	/* the unmount dropped the orphan's inode; its open-file handle (a
	 * plain allocation, no longer tied to any fs) is its owner's */
	free(orphan);
	raw_rw(dev, fz_img[0], false);
	bdev_destroy(dev);
}

/* The volume of each base image, read once through the blob layer. */
static void base_volumes(void)
{
	for (int i = 0; i < 2; i++) {
		struct blob_store *bs;

		fz_vimg[i] = aligned_alloc(4096, VOL_BYTES);
		if (!fz_vimg[i])
			abort();
		raw_rw(fz_dev, fz_img[i], true);
		if (RUN(blob_store_load(fz_dev, fz_r, NULL, &bs, fz_wait_cb,
					    w)) ||
		    vol_rw(bs, fz_vimg[i], NULL, false) ||
		    RUN(blob_store_unload(bs, fz_wait_cb, w)))
			abort();
	}
}

static void fz_init(void)
{
	struct reactor_config rc = { .name = "fuzz" };

	log_set_level(LOG_LEVEL_ERROR); /* the corruption lines still show */
	if (reactor_create(&fz_r, &rc) || reactor_run_once(fz_r, 0) < 0)
		abort();
	fz_vbuf = aligned_alloc(4096, VOL_BYTES);
	if (!fz_vbuf)
		abort();
	base_build();
	fz_dev = ram_new();
	base_volumes();
}

/* --- patching ------------------------------------------------------------- */

static void patch(unsigned char *vol, const uint8_t *d, size_t n)
{
	while (n >= 5) {
		uint32_t blk = (uint32_t)(d[0] | d[1] << 8) % VOL_BLOCKS;
		uint32_t off = (uint32_t)(d[2] | d[3] << 8) % BFS_BLOCK;
		uint32_t len = d[4];

		d += 5;
		n -= 5;
		if (len > n)
			len = (uint32_t)n;
		if (len > BFS_BLOCK - off)
			len = BFS_BLOCK - off;
		memcpy(vol + (size_t)blk * BFS_BLOCK + off, d, len);
		d += len;
		n -= len;
	}
}

static void fix_jtx(unsigned char *vol, const struct bfs_super *s)
{
	for (uint64_t b = 0; b < s->journal_blocks; b++) {
		unsigned char *t = vol + (s->journal_start + b) * BFS_BLOCK;
		struct bfs_jtx *h = (void *)t;
		uint32_t crc;

		if (memcmp(h->magic, BFS_JTX_MAGIC, 8) || !h->blocks ||
		    h->blocks > s->journal_blocks - b)
			continue;
		crc = bfs_crc_update(bfs_crc(t, 8), "\0\0\0\0", 4);
		h->crc = bfs_crc_update(crc, t + 12,
					(size_t)h->blocks * BFS_BLOCK - 12);
	}
}

static void fix_checksums(unsigned char *vol, unsigned int flags)
{
	const struct bfs_super *s = (const void *)fz_vimg[0];

	if (flags & FIX_NODES) {
		for (uint32_t b = 0; b < VOL_BLOCKS; b++) {
			unsigned char *p = vol + (size_t)b * BFS_BLOCK;

			if (((struct bfs_node_hdr *)p)->magic == BFS_NODE_MAGIC)
				bfs_node_seal(p);
		}
	}
	if (flags & FIX_JTX) /* the geometry of the original super block */
		fix_jtx(vol, s);
	if (flags & FIX_SUPER) {
		for (int i = 0; i < 2; i++) {
			struct bfs_super *p = (void *)(vol + i * BFS_BLOCK);

			p->crc = 0;
			p->crc = bfs_crc(p, sizeof(*p));
		}
	}
}

/* --- exercising a mounted fs ---------------------------------------------- */

struct names {
	char name[WALK_ENTRIES][256];
	size_t n;
	struct fs *fs;
};

static int fill(void *ctx, const char *name, size_t namelen, uint64_t ino,
		uint32_t dtype, uint64_t next, const struct fs_entry *plus)
{
	struct names *nm = ctx;

	(void)ino;
	(void)dtype;
	(void)next;
	if (plus && plus->inode)
		nm->fs->ops->forget(nm->fs, plus->inode, 1);
	if (nm->n == WALK_ENTRIES)
		return 1;
	if (namelen > 255)
		abort(); /* the fs must never hand out such a name */
	memcpy(nm->name[nm->n], name, namelen);
	nm->name[nm->n][namelen] = 0;
	nm->n++;
	return 0;
}

static void read_file(struct fs *fs, struct fs_inode *in, const struct stat *st)
{
	static unsigned char buf[3 * BFS_BLOCK];
	struct iovec v = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct fs_open_out o = { 0 };
	uint64_t pos = 0;
	size_t n;

	if (CALL(fs->ops->open(fs, c, in, O_RDONLY, &o)))
		return;
	CALL(fs->ops->read(fs, c, o.file, 0, &v, 1, &n));
	if (st->st_size > (off_t)sizeof(buf))
		CALL(fs->ops->read(fs, c, o.file, (uint64_t)st->st_size - 100,
				   &v, 1, &n));
	CALL(fs->ops->lseek(fs, c, o.file, 0, SEEK_HOLE, &pos));
	CALL(fs->ops->release(fs, c, o.file, false, 0));
}

static void xattrs(struct fs *fs, struct fs_inode *in)
{
	static char list[1024], val[4096];
	size_t len = 0, vl;

	if (CALL(fs->ops->listxattr(fs, c, in, list, sizeof(list), &len)))
		return;
	for (size_t i = 0; i < len && i < sizeof(list);) {
		size_t l = strnlen(list + i, sizeof(list) - i);

		if (i + l >= sizeof(list))
			break;
		CALL(fs->ops->getxattr(fs, c, in, list + i, val, sizeof(val),
				       &vl));
		i += l + 1;
	}
}

static void walk(struct fs *fs, struct fs_inode *dir, int depth, bool plus,
		 unsigned int *budget);

static void visit(struct fs *fs, struct fs_inode *dir, const char *name,
		  int depth, bool plus, unsigned int *budget)
{
	struct fs_entry e = { 0 };
	struct stat st;
	char buf[512];
	size_t len;

	if (CALL(fs->ops->lookup(fs, c, dir, name, &e)))
		return;
	CALL(fs->ops->getattr(fs, c, e.inode, NULL, &st));
	if (S_ISREG(e.attr.st_mode))
		read_file(fs, e.inode, &e.attr);
	else if (S_ISLNK(e.attr.st_mode))
		CALL(fs->ops->readlink(fs, c, e.inode, buf, sizeof(buf), &len));
	else if (S_ISDIR(e.attr.st_mode))
		walk(fs, e.inode, depth + 1, !plus, budget);
	xattrs(fs, e.inode);
	fs->ops->forget(fs, e.inode, 1);
}

/* Bounded: a directory cycle in the image must not make this endless. */
static void walk(struct fs *fs, struct fs_inode *dir, int depth, bool plus,
		 unsigned int *budget)
{
	struct names *nm;
	struct fs_open_out o = { 0 };

	if (depth > WALK_DEPTH)
		return;
	nm = calloc(1, sizeof(*nm));
	if (!nm)
		abort();
	nm->fs = fs;
	if (CALL(fs->ops->opendir(fs, c, dir, 0, &o)) == 0) {
		CALL(fs->ops->readdir(fs, c, o.file, 0, plus, fill, nm));
		CALL(fs->ops->releasedir(fs, c, o.file));
	}
	for (size_t i = 0; i < nm->n && *budget; i++) {
		if (strcmp(nm->name[i], ".") && strcmp(nm->name[i], "..")) {
			(*budget)--;
			visit(fs, dir, nm->name[i], depth, plus, budget);
		}
	}
	free(nm);
}

/* A few changes on the read-write mount: apply steps meet the damage. */
static void change(struct fs *fs, struct fs_inode *root)
{
	static unsigned char buf[5000];
	struct iovec v = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct fs_open_out o = { 0 };
	struct fs_entry e = { 0 }, d = { 0 };
	struct fs_setattr sa = { .valid = FS_SET_SIZE, .size = 10 };
	struct stat st;
	size_t n;

	if (CALL(fs->ops->create(fs, c, root, "new", 0644, O_RDWR, &e, &o)) ==
	    0) {
		CALL(fs->ops->write(fs, c, o.file, 0, &v, 1, 0, &n));
		CALL(fs->ops->setxattr(fs, c, e.inode, "user.n", "1", 1, 0));
		CALL(fs->ops->setattr(fs, c, e.inode, o.file, &sa, &st));
		CALL(fs->ops->fsync(fs, c, o.file, false));
		CALL(fs->ops->release(fs, c, o.file, false, 0));
		fs->ops->forget(fs, e.inode, 1);
	}
	if (CALL(fs->ops->mkdir(fs, c, root, "nd", 0755, &d)) == 0)
		fs->ops->forget(fs, d.inode, 1);
	CALL(fs->ops->rename(fs, c, root, "big", root, "nd2", 0));
	CALL(fs->ops->unlink(fs, c, root, "sym"));
	CALL(fs->ops->rmdir(fs, c, root, "d1"));
}

static void exercise(struct fs *fs, bool rw)
{
	struct fs_inode *root = fs->ops->root(fs);
	struct bfs_check_report rep;
	struct statvfs sv;
	unsigned int budget = WALK_VISITS;

	walk(fs, root, 0, rw, &budget);
	CALL(fs->ops->statfs(fs, c, root, &sv));
	RUN(bfs_check(fs, &rep, NULL, fz_wait_cb, w));
	if (rw) {
		change(fs, root);
		RUN(bfs_check(fs, &rep, NULL, fz_wait_cb, w));
	}
	fs->ops->forget(fs, root, 1);
}

static void mount_run(struct blob_store *bs, bool rw)
{
	struct bfs_mount_opts mo = { .read_only = !rw, .cache_blocks = 64 };
	struct fs *fs;

	if (RUN(bfs_mount(bs, fz_vol, &mo, &fs, fz_wait_cb, w)))
		return;
	exercise(fs, rw);
	RUN(bfs_unmount(fs, fz_wait_cb, w));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct blob_store *bs;
	int base;

	if (!ready) {
		fz_init();
		ready = true;
	}
	if (size < 1)
		return 0;
	base = data[0] & USE_DIRTY;
	raw_rw(fz_dev, fz_img[base], true);
	memcpy(fz_vbuf, fz_vimg[base], VOL_BYTES);
	patch(fz_vbuf, data + 1, size - 1);
	fix_checksums(fz_vbuf, data[0]);
	if (RUN(blob_store_load(fz_dev, fz_r, NULL, &bs, fz_wait_cb, w)) ||
	    vol_rw(bs, fz_vbuf, fz_vimg[base], true))
		abort(); /* the blob layer is not what is fuzzed here */
	mount_run(bs, false);
	mount_run(bs, true);
	if (RUN(blob_store_unload(bs, fz_wait_cb, w)))
		abort();
	return 0;
}
