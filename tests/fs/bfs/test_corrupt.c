// SPDX-License-Identifier: MIT
/*
 * test_corrupt.c - corrupted bfs volumes: an image is untrusted input.
 *
 * A small file system is populated (directories, files with extents and
 * inline data, a symlink, a hard link, xattrs, a reflinked file, an orphan
 * of a file unlinked while open), unmounted, and then damaged in one place
 * through the volume blob: super block fields, the checkpointed counts, a
 * journal transaction, a tree node's header, keys or checksum, an inode's
 * link count, a dirent naming a missing inode, directory cycles, extents
 * past the volume end, a block owned twice, a leaked bitmap bit, a wrong
 * refcount.  Mount must refuse (-EUCLEAN/-EILSEQ/-EIO) or succeed; once
 * mounted, walking the namespace through fs_ops returns errors where the
 * damage is, never crashes or hangs, and bfs_check reports every semantic
 * corruption.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bfs_test.h"
#include "bfs_test_ext.h"
#include "fs/bfs/bfs_internal.h"
#include "vhostfs/log.h"

#define DEV (16ull << 20)
#define CLUSTER 16384u
#define BIG_OFF 8192u
#define BIG_LEN (8 * 4096u)

/* The populated image, and a handle on its volume blob while unmounted. */
struct ct {
	struct bt t;
	uint64_t d1, d2, big, small, clone, jfile;
	struct blob *vb;
	struct blob_channel *ch;
	struct bfs_super sb; /* the newest valid super block */
	uint8_t *jcopy;      /* the volume after a commit (dirty image) */
};

/* --- raw volume access ------------------------------------------------------- */

static void vol_open(struct ct *c)
{
	assert_int_equal(bst_open(c->t.bs, c->t.vol, &c->vb), 0);
	c->ch = bst_channel(c->t.bs);
}

static void vol_close(struct ct *c)
{
	assert_int_equal(blob_channel_destroy(c->ch), 0);
	assert_int_equal(bst_close(c->vb), 0);
	c->vb = NULL;
}

static void blk_read(struct ct *c, uint64_t blk, void *buf)
{
	assert_int_equal(bst_read(c->ch, c->vb, blk * BFS_BLOCK, buf,
				  BFS_BLOCK), 0);
}

static void blk_write(struct ct *c, uint64_t blk, const void *buf)
{
	assert_int_equal(bst_write(c->ch, c->vb, blk * BFS_BLOCK, buf,
				   BFS_BLOCK), 0);
}

static void super_load(struct ct *c)
{
	uint8_t *b = bst_alloc(BFS_BLOCK);
	bool found = false;

	for (uint64_t i = 0; i < 2; i++) {
		const struct bfs_super *s = (const void *)b;

		blk_read(c, i, b);
		if (bfs_super_valid(s) && (!found || s->seq > c->sb.seq)) {
			c->sb = *s;
			found = true;
		}
	}
	assert_true(found);
	free(b);
}

/* Apply @fn to both super blocks and seal them again. */
static void super_edit(struct ct *c, void (*fn)(struct bfs_super *s))
{
	uint8_t *b = bst_alloc(BFS_BLOCK);

	for (uint64_t i = 0; i < 2; i++) {
		struct bfs_super *s = (void *)b;

		blk_read(c, i, b);
		fn(s);
		s->crc = 0;
		s->crc = bfs_crc(s, sizeof(*s));
		blk_write(c, i, b);
	}
	free(b);
}

/* The leaf holding @k (read into @buf): its block, the slot in *@slot. */
static uint64_t leaf_find(struct ct *c, struct bfs_key k, uint8_t *buf,
			  uint16_t *slot)
{
	uint64_t blk = c->sb.state.root;
	const struct bfs_node_hdr *h = (const void *)buf;

	for (;;) {
		blk_read(c, blk, buf);
		assert_int_equal(bfs_node_check(buf, blk), 0);
		if (h->level == 0)
			break;
		const struct bfs_child *ch = (const void *)(buf + sizeof(*h));
		uint16_t i = 0;

		while (i + 1 < h->count && bfs_key_cmp(ch[i + 1].key, k) <= 0)
			i++;
		blk = ch[i].block;
	}
	const struct bfs_item *it = (const void *)(buf + sizeof(*h));

	for (uint16_t i = 0; i < h->count; i++) {
		if (bfs_key_cmp(it[i].key, k) == 0) {
			*slot = i;
			return blk;
		}
	}
	fail_msg("key %llu/%u not found", (unsigned long long)k.id,
		 bfs_key_type(k));
	return 0;
}

/* A leaf in a buffer, as node.c's helpers want it. */
static struct bfs_buf leaf_buf(uint8_t *data, uint64_t blk)
{
	struct bfs_buf b = { .blk = blk, .data = data };

	return b;
}

typedef void (*item_fn)(struct ct *c, struct bfs_buf *b, uint16_t slot,
			void *arg);

/* Change item @k in place with @fn, seal its leaf, write it home. */
static void item_edit(struct ct *c, struct bfs_key k, item_fn fn, void *arg)
{
	uint8_t *buf = bst_alloc(BFS_BLOCK);
	uint16_t slot;
	uint64_t blk = leaf_find(c, k, buf, &slot);
	struct bfs_buf b = leaf_buf(buf, blk);

	fn(c, &b, slot, arg);
	bfs_node_seal(buf);
	blk_write(c, blk, buf);
	free(buf);
}

static void *item_val(struct bfs_buf *b, uint16_t slot)
{
	return b->data + bfs_items(b)[slot].voff;
}

static struct bfs_key inode_key(uint64_t ino)
{
	return bfs_key_make(ino, BFS_T_INODE, 0);
}

/* Find entry @name of directory @dir anywhere under node @blk. */
static bool dirent_scan(struct ct *c, uint64_t blk, uint64_t dir,
			const char *name, struct bfs_key *out)
{
	uint8_t *buf = bst_alloc(BFS_BLOCK);
	struct bfs_buf b = leaf_buf(buf, blk);
	const struct bfs_node_hdr *h = (const void *)buf;
	bool found = false;

	blk_read(c, blk, buf);
	for (uint16_t i = 0; i < h->count && !found; i++) {
		struct bfs_key ik;
		const struct bfs_ddirent *de;

		if (h->level) {
			found = dirent_scan(c, bfs_children(&b)[i].block, dir,
					    name, out);
			continue;
		}
		ik = bfs_items(&b)[i].key;
		de = item_val(&b, i);
		if (ik.id == dir && bfs_key_type(ik) == BFS_T_DIRENT &&
		    de->name_len == strlen(name) &&
		    !memcmp(de->name, name, de->name_len)) {
			*out = ik;
			found = true;
		}
	}
	free(buf);
	return found;
}

static struct bfs_key dirent_key(struct ct *c, uint64_t dir, const char *name)
{
	struct bfs_key k;

	if (!dirent_scan(c, c->sb.state.root, dir, name, &k))
		fail_msg("no dirent %s in %llu", name, (unsigned long long)dir);
	return k;
}

/* --- the image ----------------------------------------------------------------- */

static uint64_t ino_of(const struct fs_entry *e)
{
	return (uint64_t)e->attr.st_ino;
}

static void populate(struct ct *c)
{
	struct bt *t = &c->t;
	static uint8_t data[BIG_LEN];
	struct fs_entry d1, d2, e, l;
	struct fs_file *f, *g, *orphan;
	char name[64];

	memset(data, 0x6B, sizeof(data));
	assert_int_equal(bt_mkdir(t, t->root, "d1", 0755, &d1), 0);
	assert_int_equal(bt_mkdir(t, d1.inode, "d2", 0755, &d2), 0);
	c->d1 = ino_of(&d1);
	c->d2 = ino_of(&d2);
	assert_int_equal(bt_create(t, t->root, "big", 0644, &e, &f), 0);
	c->big = ino_of(&e);
	assert_int_equal(bt_write(t, f, BIG_OFF, data, BIG_LEN), BIG_LEN);
	assert_int_equal(bx_setxattr(t, e.inode, "user.big", data, 3000, 0),
			 0);
	/* a reflink of whole clusters: refcount items */
	assert_int_equal(bt_create(t, t->root, "clone", 0644, &l, &g), 0);
	c->clone = ino_of(&l);
	assert_int_equal(bx_copy(t, f, 0, g, 0, BIG_OFF + BIG_LEN),
			 BIG_OFF + BIG_LEN);
	assert_int_equal(bt_release(t, f), 0);
	assert_int_equal(bt_release(t, g), 0);
	assert_int_equal(bt_create(t, d1.inode, "small", 0644, &e, &f), 0);
	c->small = ino_of(&e);
	assert_int_equal(bt_write(t, f, 0, data, 100), 100);
	assert_int_equal(bt_release(t, f), 0);
	assert_int_equal(bx_setxattr(t, e.inode, "user.a", "v", 1, 0), 0);
	assert_int_equal(bt_link(t, e.inode, d2.inode, "hard", &l), 0);
	assert_int_equal(bt_symlink(t, t->root, "sym", "d1/small", &l), 0);
	for (int i = 0; i < 40; i++) { /* a tree of several leaves */
		snprintf(name, sizeof(name), "file-with-a-long-name-%03d", i);
		bt_put(t, d2.inode, name, data, (size_t)i * 5, false);
	}
	/* an orphan: unlinked while open, still open at unmount */
	assert_int_equal(bt_create(t, d1.inode, "orphan", 0644, &e, &orphan),
			 0);
	assert_int_equal(bt_write(t, orphan, 0, data, 2 * 4096), 2 * 4096);
	assert_int_equal(bt_unlink(t, d1.inode, "orphan"), 0);
	bt_check(t);
	/* a committed change the next mount replays: copy the volume now */
	assert_int_equal(bt_create(t, t->root, "j", 0644, &e, &f), 0);
	c->jfile = ino_of(&e);
	assert_int_equal(bt_write(t, f, 0, data, 300), 300);
	assert_int_equal(bt_fsync(t, f), 0);
	{
		struct bfs *fs = bfs_of(t->fs);
		size_t len = (size_t)fs->sb.nblocks * BFS_BLOCK;

		c->jcopy = bst_alloc(len);
		assert_int_equal(bst_read(fs->ch, fs->vol, 0, c->jcopy, len),
				 0);
	}
	assert_int_equal(bt_release(t, f), 0);
	assert_int_equal(bt_unmount(t), 0);
	free(orphan); /* dropped by the unmount: only its memory is left */
}

static int setup(void **state)
{
	struct ct *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	bt_setup(&c->t, DEV, CLUSTER, false);
	populate(c);
	vol_open(c);
	super_load(c);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ct *c = *state;

	if (c->vb)
		vol_close(c);
	bt_teardown(&c->t);
	free(c->jcopy);
	free(c);
	return 0;
}

/* --- probing a damaged image ------------------------------------------------- */

struct wait {
	int done;
	int err;
};

static void wait_cb(void *arg, int err)
{
	struct wait *w = arg;

	w->done++;
	w->err = err;
}

static int check(struct bt *t, struct bfs_check_report *rep, FILE *log)
{
	struct wait w = { 0 };

	bfs_check(t->fs, rep, log, wait_cb, &w);
	for (int i = 0; !w.done; i++) {
		assert_true(reactor_run_once(bst_reactor(), 10) >= 0);
		assert_true(i < 100000);
	}
	return w.err;
}

struct probe {
	int mount;          /* bt_mount's result */
	uint64_t problems;  /* bfs_check's errors */
	unsigned int errs;  /* fs_ops calls that failed in the walk */
	char log[8192];     /* what bfs_check said */
};

static void read_all(struct bt *t, struct fs_inode *in, struct probe *p)
{
	static uint8_t buf[BIG_OFF + BIG_LEN + 4096];
	struct fs_file *f;
	long n;

	if (bt_open(t, in, O_RDONLY, &f)) {
		p->errs++;
		return;
	}
	n = bt_read(t, f, 0, buf, sizeof(buf));
	p->errs += n < 0;
	assert_true(n >= -EIO || n == -EUCLEAN || n == -EILSEQ);
	assert_int_equal(bt_release(t, f), 0);
}

static void walk(struct bt *t, struct fs_inode *dir, int depth,
		 struct probe *p);

static void visit(struct bt *t, struct fs_inode *dir, const char *name,
		  int depth, struct probe *p)
{
	char buf[4096];
	struct fs_entry e;
	struct stat st;

	if (bt_lookup(t, dir, name, &e)) {
		p->errs++;
		return;
	}
	if (bt_getattr(t, e.inode, &st))
		p->errs++;
	if (S_ISREG(e.attr.st_mode))
		read_all(t, e.inode, p);
	else if (S_ISLNK(e.attr.st_mode))
		p->errs += bt_readlink(t, e.inode, buf, sizeof(buf)) < 0;
	else if (S_ISDIR(e.attr.st_mode))
		walk(t, e.inode, depth + 1, p);
	p->errs += bx_listxattr(t, e.inode, buf, sizeof(buf)) < 0;
	p->errs += bx_getxattr(t, e.inode, "user.big", buf, sizeof(buf)) < 0 &&
		   !S_ISDIR(e.attr.st_mode);
	bt_forget(t, e.inode);
}

/* Depth-bounded: a directory cycle must not make the walk endless. */
static void walk(struct bt *t, struct fs_inode *dir, int depth,
		 struct probe *p)
{
	struct bt_dirent *d = calloc(64, sizeof(*d));
	size_t n = 0;

	assert_non_null(d);
	if (depth < 6) {
		if (bt_readdir(t, dir, 0, depth % 2, d, 64, &n))
			p->errs++;
		for (size_t i = 0; i < n; i++) {
			if (strcmp(d[i].name, ".") && strcmp(d[i].name, ".."))
				visit(t, dir, d[i].name, depth, p);
		}
	}
	free(d);
}

/* Close the volume, mount, walk, check, unmount (when mounted). */
static void probe(struct ct *c, struct probe *p)
{
	struct bt *t = &c->t;
	struct bfs_check_report rep;
	FILE *log;
	int rc;

	memset(p, 0, sizeof(*p));
	vol_close(c);
	p->mount = bt_mount(t);
	if (p->mount) {
		assert_true(p->mount == -EUCLEAN || p->mount == -EILSEQ ||
			    p->mount == -EIO);
		t->fs = NULL;
		return;
	}
	walk(t, t->root, 0, p);
	log = fmemopen(p->log, sizeof(p->log) - 1, "w");
	assert_non_null(log);
	rc = check(t, &rep, log);
	fclose(log);
	assert_int_equal(rc, 0);
	p->problems = rep.errors;
	rc = bt_unmount(t);
	assert_true(rc == 0 || rc == -EIO);
}

/* Refused, or mounted with problems found. */
static void expect_caught(struct ct *c, struct probe *p)
{
	probe(c, p);
	if (p->mount == 0 && p->problems == 0)
		fail_msg("damage neither refused nor found");
}

static void expect_problems(struct ct *c, struct probe *p, const char *what)
{
	probe(c, p);
	assert_int_equal(p->mount, 0);
	if (!p->problems || (what && !strstr(p->log, what)))
		fail_msg("check: %llu problems, no \"%s\":\n%s",
			 (unsigned long long)p->problems, what ? what : "",
			 p->log);
}

/* --- super block and checkpoint ----------------------------------------------- */

static void no_magic(struct bfs_super *s)
{
	memset(s->magic, 'x', sizeof(s->magic));
}

static void test_super_magic(void **state)
{
	struct ct *c = *state;
	struct probe p;

	super_edit(c, no_magic);
	probe(c, &p);
	assert_int_equal(p.mount, -EILSEQ);
}

static void test_super_crc(void **state)
{
	struct ct *c = *state;
	uint8_t *b = bst_alloc(BFS_BLOCK);
	struct probe p;

	for (uint64_t i = 0; i < 2; i++) {
		blk_read(c, i, b);
		((struct bfs_super *)(void *)b)->nblocks ^= 1;
		blk_write(c, i, b);
	}
	free(b);
	probe(c, &p);
	assert_int_equal(p.mount, -EUCLEAN);
}

static void root_zero(struct bfs_super *s)
{
	s->state.root = 0;
}

static void root_level_big(struct bfs_super *s)
{
	s->state.root_level = 200;
}

/* Geometry consistent in itself, but larger than the volume blob. */
static void too_big(struct bfs_super *s)
{
	s->nblocks *= 64;
	s->bitmap_blocks = (s->nblocks + BFS_BITS_PER_BLOCK - 1) /
			   BFS_BITS_PER_BLOCK;
	s->data_start = s->bitmap_start + s->bitmap_blocks;
}

static void flags_unknown(struct bfs_super *s)
{
	s->incompat = 1;
}

static void test_super_fields(void **state)
{
	void (*edits[])(struct bfs_super *) = { root_zero, root_level_big,
						too_big, flags_unknown };
	struct ct *c = *state;
	struct probe p;

	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		uint8_t *save = bst_alloc(2 * BFS_BLOCK);

		blk_read(c, 0, save);
		blk_read(c, 1, save + BFS_BLOCK);
		super_edit(c, edits[i]);
		probe(c, &p);
		assert_int_equal(p.mount, -EUCLEAN);
		vol_open(c);
		blk_write(c, 0, save);
		blk_write(c, 1, save + BFS_BLOCK);
		free(save);
	}
}

static void used_more(struct bfs_super *s)
{
	s->state.used_blocks += 5;
}

static void inodes_more(struct bfs_super *s)
{
	s->state.inodes += 1;
}

/* Checkpointed counts that disagree with the bitmap: refused. */
static void test_ckpt_used(void **state)
{
	struct ct *c = *state;
	struct probe p;

	super_edit(c, used_more);
	probe(c, &p);
	assert_int_equal(p.mount, -EUCLEAN);
}

/* ... or with the tree: found by the check. */
static void test_ckpt_inodes(void **state)
{
	struct ct *c = *state;
	struct probe p;

	super_edit(c, inodes_more);
	expect_problems(c, &p, "inodes");
}

/* --- journal -------------------------------------------------------------------- */

/* Put the dirty image back; the first transaction's header in *@hdr. */
static uint8_t *dirty_image(struct ct *c, uint64_t *hdr)
{
	const struct bfs_super *s = (const void *)c->jcopy;
	uint8_t *j;

	if (!bfs_super_valid(s) || (s + 1)->seq > s->seq)
		s = s + 1;
	assert_true(bfs_super_valid(s));
	assert_int_equal(s->flags & BFS_SUPER_CLEAN, 0);
	for (uint64_t b = 0; b < s->nblocks; b++)
		blk_write(c, b, c->jcopy + b * BFS_BLOCK);
	for (uint64_t b = 0; b < s->journal_blocks; b++) {
		j = c->jcopy + (s->journal_start + b) * BFS_BLOCK;
		if (!memcmp(j, BFS_JTX_MAGIC, 8) &&
		    ((struct bfs_jtx *)(void *)j)->seq == s->journal_seq) {
			*hdr = s->journal_start + b;
			return j;
		}
	}
	fail_msg("no transaction in the journal");
	return NULL;
}

static void jtx_seal(struct ct *c, uint64_t hdr, uint8_t *tx)
{
	struct bfs_jtx *h = (void *)tx;
	uint32_t crc = bfs_crc_update(bfs_crc(tx, 8), "\0\0\0\0", 4);

	h->crc = bfs_crc_update(crc, tx + 12,
				(size_t)h->blocks * BFS_BLOCK - 12);
	for (uint32_t i = 0; i < h->blocks; i++)
		blk_write(c, hdr + i, tx + (size_t)i * BFS_BLOCK);
}

/* Undamaged, the dirty image replays and holds "j". */
static void test_journal_replays(void **state)
{
	struct ct *c = *state;
	struct fs_entry e;
	uint64_t hdr;
	struct probe p;

	dirty_image(c, &hdr);
	vol_close(c);
	assert_int_equal(bt_mount(&c->t), 0);
	assert_int_equal(bt_lookup(&c->t, c->t.root, "j", &e), 0);
	bt_forget(&c->t, e.inode);
	bt_check(&c->t);
	assert_int_equal(bt_unmount(&c->t), 0);
	vol_open(c);
	probe(c, &p);
	assert_int_equal(p.problems, 0);
}

static void test_journal_target(void **state)
{
	struct ct *c = *state;
	uint64_t hdr;
	uint8_t *tx = dirty_image(c, &hdr);
	struct probe p;

	((struct bfs_jtx *)(void *)tx)->targets[0] = c->sb.nblocks + 7;
	jtx_seal(c, hdr, tx);
	probe(c, &p);
	assert_int_equal(p.mount, -EUCLEAN);
}

static void test_journal_state(void **state)
{
	struct ct *c = *state;
	uint64_t hdr;
	uint8_t *tx = dirty_image(c, &hdr);
	struct probe p;

	((struct bfs_jtx *)(void *)tx)->state.root = 1; /* the super block */
	((struct bfs_jtx *)(void *)tx)->state.root_level = 0xFFFF;
	jtx_seal(c, hdr, tx);
	probe(c, &p);
	assert_int_equal(p.mount, -EUCLEAN);
}

/* A node image in the journal that fails its checks, under a good CRC. */
static void test_journal_node(void **state)
{
	struct ct *c = *state;
	uint64_t hdr;
	uint8_t *tx = dirty_image(c, &hdr);
	struct bfs_jtx *h = (void *)tx;
	struct probe p;
	bool hit = false;

	for (uint32_t i = 0; i < h->count && i < BFS_JTX_HDR_TARGETS; i++) {
		uint8_t *img = tx + (size_t)(1 + i) * BFS_BLOCK;

		if (h->targets[i] >= c->sb.data_start) {
			((struct bfs_node_hdr *)(void *)img)->count ^= 0x40;
			hit = true;
			break;
		}
	}
	assert_true(hit && h->count <= BFS_JTX_HDR_TARGETS);
	jtx_seal(c, hdr, tx);
	probe(c, &p);
	assert_int_equal(p.mount, -EUCLEAN);
}

/* A torn transaction (bad CRC) is the end of the journal: clean, no "j". */
static void test_journal_torn(void **state)
{
	struct ct *c = *state;
	uint64_t hdr;
	uint8_t *tx = dirty_image(c, &hdr);
	struct fs_entry e;

	tx[BFS_BLOCK + 100] ^= 1;
	blk_write(c, hdr + 1, tx + BFS_BLOCK);
	vol_close(c);
	assert_int_equal(bt_mount(&c->t), 0);
	assert_int_equal(bt_lookup(&c->t, c->t.root, "j", &e), -ENOENT);
	bt_check(&c->t);
	assert_int_equal(bt_unmount(&c->t), 0);
	vol_open(c);
}

/* --- tree nodes ------------------------------------------------------------------ */

/* The leaf holding d2's entries (a leaf, not the root). */
static uint64_t d2_leaf(struct ct *c, uint8_t *buf)
{
	uint16_t slot;

	return leaf_find(c, inode_key(c->d2), buf, &slot);
}

static void node_damage(struct ct *c, void (*fn)(uint8_t *buf), bool seal)
{
	uint8_t *buf = bst_alloc(BFS_BLOCK), *orig = bst_alloc(BFS_BLOCK);
	uint64_t blk = d2_leaf(c, buf);
	struct probe p;

	memcpy(orig, buf, BFS_BLOCK);
	fn(buf);
	if (seal)
		bfs_node_seal(buf);
	blk_write(c, blk, buf);
	expect_caught(c, &p);
	if (p.mount == 0)
		assert_true(p.errs > 0);
	vol_open(c); /* undamaged again for the next variant */
	blk_write(c, blk, orig);
	free(buf);
	free(orig);
}

static void bad_magic(uint8_t *buf)
{
	((struct bfs_node_hdr *)(void *)buf)->magic ^= 0x100;
}

static void bad_count(uint8_t *buf)
{
	((struct bfs_node_hdr *)(void *)buf)->count = 0xFFFF;
}

static void bad_level(uint8_t *buf)
{
	((struct bfs_node_hdr *)(void *)buf)->level = 3;
}

static void bad_block(uint8_t *buf)
{
	((struct bfs_node_hdr *)(void *)buf)->block += 1;
}

static void swap_keys(uint8_t *buf)
{
	struct bfs_item *it = (void *)(buf + sizeof(struct bfs_node_hdr));
	struct bfs_key k = it[0].key;

	it[0].key = it[1].key;
	it[1].key = k;
}

static void bad_voff(uint8_t *buf)
{
	struct bfs_item *it = (void *)(buf + sizeof(struct bfs_node_hdr));

	it[1].voff = 0xFFF0;
}

static void flip_value(uint8_t *buf)
{
	buf[BFS_BLOCK - 3] ^= 0x10;
}

static void test_node_header(void **state)
{
	struct ct *c = *state;

	node_damage(c, bad_magic, true);
	node_damage(c, bad_count, true);
	node_damage(c, bad_level, true);
	node_damage(c, bad_block, true);
}

static void test_node_keys(void **state)
{
	struct ct *c = *state;

	node_damage(c, swap_keys, true);
	node_damage(c, bad_voff, true);
}

static void test_node_crc(void **state)
{
	node_damage(*state, flip_value, false);
}

/* An internal node's child pointing at a bitmap block (a pinned buffer). */
static void test_node_child_bitmap(void **state)
{
	struct ct *c = *state;
	uint8_t *buf = bst_alloc(BFS_BLOCK);
	struct bfs_child *ch = (void *)(buf + sizeof(struct bfs_node_hdr));
	struct probe p;

	blk_read(c, c->sb.state.root, buf);
	assert_true(((struct bfs_node_hdr *)(void *)buf)->level > 0);
	ch[0].block = c->sb.bitmap_start;
	bfs_node_seal(buf);
	blk_write(c, c->sb.state.root, buf);
	free(buf);
	expect_caught(c, &p);
}

/* --- semantic damage: mounts, the check finds it ---------------------------------- */

static void set_nlink(struct ct *c, struct bfs_buf *b, uint16_t slot, void *arg)
{
	struct bfs_dinode d;

	(void)c;
	memcpy(&d, item_val(b, slot), sizeof(d)); /* values are unaligned */
	if (arg)
		d.nlink = *(uint32_t *)arg;
	else
		d.nlink += 3;
	memcpy(item_val(b, slot), &d, sizeof(d));
}

static void test_nlink(void **state)
{
	struct ct *c = *state;
	struct probe p;

	item_edit(c, inode_key(c->small), set_nlink, NULL);
	expect_problems(c, &p, "nlink");
}

struct retarget {
	uint64_t ino;
	uint8_t dtype;
};

static void set_dirent(struct ct *c, struct bfs_buf *b, uint16_t slot,
		       void *arg)
{
	struct bfs_ddirent *de = item_val(b, slot);
	const struct retarget *r = arg;

	(void)c;
	de->ino = r->ino;
	de->dtype = r->dtype;
}

static void test_dirent_missing(void **state)
{
	struct ct *c = *state;
	struct retarget r = { 987654, DT_REG };
	struct fs_entry e;
	struct probe p;

	item_edit(c, dirent_key(c, c->d1, "small"), set_dirent, &r);
	expect_problems(c, &p, "missing");
	/* the lookup of the broken name fails */
	vol_open(c);
	vol_close(c);
	assert_int_equal(bt_mount(&c->t), 0);
	assert_int_equal(bt_lookup(&c->t, c->t.root, "d1", &e), 0);
	{
		struct fs_entry s;

		assert_true(bt_lookup(&c->t, e.inode, "small", &s) < 0);
	}
	bt_forget(&c->t, e.inode);
	assert_true(bt_unmount(&c->t) == 0);
	vol_open(c);
}

/* d2/hard names d1: a directory with two names, a cycle d1 -> d2 -> d1. */
static void test_dir_cycle(void **state)
{
	struct ct *c = *state;
	struct retarget r = { c->d1, DT_DIR };
	struct probe p;

	item_edit(c, dirent_key(c, c->d2, "hard"), set_dirent, &r);
	expect_problems(c, &p, "names");
}

static void set_parent(struct ct *c, struct bfs_buf *b, uint16_t slot,
		       void *arg)
{
	struct bfs_dinode d;

	(void)c;
	memcpy(&d, item_val(b, slot), sizeof(d));
	d.parent = *(uint64_t *)arg;
	memcpy(item_val(b, slot), &d, sizeof(d));
}

static void add_size(struct ct *c, struct bfs_buf *b, uint16_t slot, void *arg)
{
	struct bfs_dinode d;

	(void)c;
	memcpy(&d, item_val(b, slot), sizeof(d));
	d.size += *(int *)arg;
	d.nlink += *(int *)arg;
	memcpy(item_val(b, slot), &d, sizeof(d));
}

static void drop_item(struct ct *c, struct bfs_buf *b, uint16_t slot,
		      void *arg)
{
	(void)c;
	(void)arg;
	bfs_leaf_remove_at(b, slot);
}

/* The root's own record gone: creating or renaming in it fails cleanly. */
static void test_root_record_missing(void **state)
{
	struct ct *c = *state;
	struct fs_entry e;
	struct fs_file *f;
	struct bfs_check_report rep;
	int rc;

	item_edit(c, inode_key(BFS_ROOT_INO), drop_item, NULL);
	vol_close(c);
	rc = bt_mount(&c->t); /* mounts: nothing reads the root at mount */
	assert_int_equal(rc, 0);
	{
		assert_true(bt_mkdir(&c->t, c->t.root, "x", 0755, &e) < 0);
		assert_true(bt_create(&c->t, c->t.root, "y", 0644, &e, &f) < 0);
		assert_true(bt_rename(&c->t, c->t.root, "big", c->t.root,
				      "z", 0) < 0);
		assert_int_equal(check(&c->t, &rep, NULL), 0);
		assert_true(rep.errors > 0);
		bt_unmount(&c->t);
	}
	vol_open(c);
}

/*
 * A cycle with every count right: the root forgets d1, d2/hard names d1,
 * d1's parent is d2; each directory has one name and a matching parent,
 * only reachability from the root shows the damage.
 */
static void test_dir_unreachable(void **state)
{
	struct ct *c = *state;
	struct retarget r = { c->d1, DT_DIR };
	uint32_t one = 1, three = 3; /* d2: 2 + its new subdirectory d1 */
	int minus = -1;
	struct probe p;

	item_edit(c, dirent_key(c, BFS_ROOT_INO, "d1"), drop_item, NULL);
	item_edit(c, inode_key(BFS_ROOT_INO), add_size, &minus);
	item_edit(c, dirent_key(c, c->d2, "hard"), set_dirent, &r);
	item_edit(c, inode_key(c->d1), set_parent, &c->d2);
	item_edit(c, inode_key(c->small), set_nlink, &one);
	/* d2 gains a subdirectory: nlink + 1, size unchanged */
	item_edit(c, inode_key(c->d2), set_nlink, &three);
	expect_problems(c, &p, "not reachable");
}

struct ext_edit {
	uint64_t disk;
	uint32_t count;
};

static void set_extent(struct ct *c, struct bfs_buf *b, uint16_t slot,
		       void *arg)
{
	struct bfs_dextent e;
	const struct ext_edit *x = arg;

	(void)c;
	memcpy(&e, item_val(b, slot), sizeof(e));
	e.disk = x->disk;
	if (x->count)
		e.count = x->count;
	memcpy(item_val(b, slot), &e, sizeof(e));
}

static void extent_damage(struct ct *c, uint64_t disk, uint32_t count)
{
	struct ext_edit x = { disk, count };
	struct bfs_key k = bfs_key_make(c->big, BFS_T_EXTENT,
					BIG_OFF / BFS_BLOCK);
	struct probe p;

	item_edit(c, k, set_extent, &x);
	expect_problems(c, &p, NULL);
	assert_true(p.errs > 0); /* reading "big" failed */
}

static void test_extent_past_end(void **state)
{
	struct ct *c = *state;

	extent_damage(c, c->sb.nblocks - 2, 0);
}

static void test_extent_wraps(void **state)
{
	struct ct *c = *state;
	struct fs_entry e;

	extent_damage(c, UINT64_MAX - 2, 8);
	/* freeing it must not touch bits outside the bitmap */
	vol_open(c);
	vol_close(c);
	assert_int_equal(bt_mount(&c->t), 0);
	assert_int_equal(bt_lookup(&c->t, c->t.root, "big", &e), 0);
	bt_unlink(&c->t, c->t.root, "big");
	bt_forget(&c->t, e.inode);
	bt_unmount(&c->t);
	vol_open(c);
}

/* big's extent moved onto the root node: one block, two owners. */
static void test_block_twice(void **state)
{
	struct ct *c = *state;
	struct ext_edit x = { c->sb.state.root, 1 };
	struct probe p;

	item_edit(c, bfs_key_make(c->big, BFS_T_EXTENT, BIG_OFF / BFS_BLOCK),
		  set_extent, &x);
	expect_problems(c, &p, "owned twice");
}

static void used_plus1(struct bfs_super *s)
{
	s->state.used_blocks += 1;
}

/* A bit set for a free block: with the count to match, the check finds it. */
static void test_leaked_bit(void **state)
{
	struct ct *c = *state;
	uint8_t *buf = bst_alloc(BFS_BLOCK);
	uint64_t blk = c->sb.nblocks - 3;
	uint64_t bm = c->sb.bitmap_start + blk / BFS_BITS_PER_BLOCK;
	struct probe p;

	blk_read(c, bm, buf);
	assert_false(buf[(blk % BFS_BITS_PER_BLOCK) / 8] >> (blk % 8) & 1);
	buf[(blk % BFS_BITS_PER_BLOCK) / 8] |= (uint8_t)(1u << (blk % 8));
	blk_write(c, bm, buf);
	free(buf);
	probe(c, &p); /* the count of used blocks disagrees: refused */
	assert_int_equal(p.mount, -EUCLEAN);
	vol_open(c);
	super_edit(c, used_plus1);
	expect_problems(c, &p, "bitmap 1, owned 0");
}

static void set_refs(struct ct *c, struct bfs_buf *b, uint16_t slot, void *arg)
{
	struct bfs_drefcount r;

	(void)c;
	(void)arg;
	memcpy(&r, item_val(b, slot), sizeof(r));
	r.refs += 5;
	memcpy(item_val(b, slot), &r, sizeof(r));
}

static void test_refcount(void **state)
{
	struct ct *c = *state;
	uint8_t *buf = bst_alloc(BFS_BLOCK);
	struct bfs_key k = bfs_key_make(0, BFS_T_REFCOUNT, 0);
	uint64_t blk = c->sb.state.root;
	const struct bfs_node_hdr *h = (const void *)buf;
	struct probe p;
	bool found = false;

	/* the refcount items sort first (id 0) */
	for (;;) {
		blk_read(c, blk, buf);
		if (h->level == 0)
			break;
		blk = ((const struct bfs_child *)(const void *)(h + 1))[0].block;
	}
	struct bfs_buf b = leaf_buf(buf, blk);

	for (uint16_t i = 0; i < h->count && !found; i++) {
		if (bfs_key_type(bfs_items(&b)[i].key) == BFS_T_REFCOUNT &&
		    bfs_items(&b)[i].key.id == 0) {
			k = bfs_items(&b)[i].key;
			found = true;
		}
	}
	free(buf);
	assert_true(found);
	item_edit(c, k, set_refs, NULL);
	expect_problems(c, &p, "refcount");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_super_magic),
		T(test_super_crc),
		T(test_super_fields),
		T(test_ckpt_used),
		T(test_ckpt_inodes),
		T(test_journal_replays),
		T(test_journal_target),
		T(test_journal_state),
		T(test_journal_node),
		T(test_journal_torn),
		T(test_node_header),
		T(test_node_keys),
		T(test_node_crc),
		T(test_node_child_bitmap),
		T(test_nlink),
		T(test_dirent_missing),
		T(test_root_record_missing),
		T(test_dir_cycle),
		T(test_dir_unreachable),
		T(test_extent_past_end),
		T(test_extent_wraps),
		T(test_block_twice),
		T(test_leaked_bit),
		T(test_refcount),
#undef T
	};

	bst_reactor();
	log_set_level(LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
