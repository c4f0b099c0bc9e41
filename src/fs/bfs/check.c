// SPDX-License-Identifier: MIT
/*
 * check.c - bfs_check(): a depth-first walk of the whole tree (resuming
 * after each block load from its own stack), then the cross-checks of
 * link counts, directory sizes, block ownership against the bitmap and
 * the counts of the fs state.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bfs_internal.h"

struct ci { /* what the walk learned about one inode */
	uint64_t ino;
	uint32_t mode, nlink, flags;
	uint64_t size, blocks, parent;
	uint64_t links, subdirs, entries, ext_blocks, dir_parent;
	bool have, orphan;
	uint8_t reach; /* directories: REACH_* */
};

enum { REACH_UNKNOWN, REACH_YES, REACH_NO, REACH_WALKING };

struct frame {
	uint64_t blk;
	uint16_t idx;
	bool entered;
	struct bfs_key lo, hi; /* keys of this subtree: [lo, hi) */
	bool has_hi;
};

struct check {
	struct fs_call call;
	struct bfs *fs;
	struct bfs_check_report *rep;
	FILE *log;
	blob_cb cb;
	void *arg;
	struct frame st[BFS_MAX_LEVEL];
	int depth;
	uint8_t *owned;
	struct ci *tab;
	size_t tab_size, tab_n;
	uint64_t inode_items;
	struct bfs_vec shared;  /* blocks of shared extents, one per ref */
	struct bfs_vec refs;    /* REFCOUNT items: (block, refs) */
};

__attribute__((format(printf, 2, 3)))
static void problem(struct check *ck, const char *fmt, ...)
{
	va_list ap;

	ck->rep->errors++;
	if (!ck->log)
		return;
	va_start(ap, fmt);
	fprintf(ck->log, "bfs check: ");
	vfprintf(ck->log, fmt, ap);
	fputc('\n', ck->log);
	va_end(ap);
}

static struct ci *ci_get(struct check *ck, uint64_t ino)
{
	size_t i;

	if (2 * (ck->tab_n + 1) > ck->tab_size) {
		size_t n = ck->tab_size ? 2 * ck->tab_size : 1024;
		struct ci *t = calloc(n, sizeof(*t)), *old = ck->tab;
		size_t on = ck->tab_size;

		if (!t)
			return NULL;
		ck->tab = t;
		ck->tab_size = n;
		ck->tab_n = 0;
		for (size_t j = 0; j < on; j++) {
			if (old[j].ino)
				*ci_get(ck, old[j].ino) = old[j];
		}
		free(old);
	}
	i = (size_t)(ino * 0x9E3779B97F4A7C15ull) & (ck->tab_size - 1);
	while (ck->tab[i].ino && ck->tab[i].ino != ino)
		i = (i + 1) & (ck->tab_size - 1);
	if (!ck->tab[i].ino) {
		ck->tab[i].ino = ino;
		ck->tab_n++;
	}
	return &ck->tab[i];
}

static void own(struct check *ck, uint64_t blk, uint64_t n, const char *what)
{
	struct bfs *fs = ck->fs;

	for (uint64_t b = blk; b < blk + n; b++) {
		if (b < fs->sb.data_start || b >= fs->sb.nblocks) {
			problem(ck, "%s block %llu out of range", what,
				(unsigned long long)b);
			return;
		}
		if (ck->owned[b / 8] >> (b % 8) & 1)
			problem(ck, "%s block %llu owned twice", what,
				(unsigned long long)b);
		ck->owned[b / 8] |= (uint8_t)(1u << (b % 8));
	}
}

/* --- shared blocks --------------------------------------------------------------- */

static void vec_push(struct check *ck, struct bfs_vec *v, uint64_t a,
		     uint64_t b)
{
	if (v->n + 2 > v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 256;
		uint64_t *p = realloc(v->a, cap * sizeof(*p));

		if (!p) {
			problem(ck, "out of memory checking shared blocks");
			return;
		}
		v->a = p;
		v->cap = cap;
	}
	v->a[v->n++] = a;
	v->a[v->n++] = b;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void item_refcount(struct check *ck, struct bfs_key k, const void *v,
			  uint16_t len)
{
	struct bfs_drefcount r;

	if (len != sizeof(r)) {
		problem(ck, "refcount of block %llu: bad record",
			(unsigned long long)bfs_key_off(k));
		return;
	}
	memcpy(&r, v, sizeof(r));
	vec_push(ck, &ck->refs, bfs_key_off(k), r.refs);
}

/*
 * Each block of shared extents is owned once, and its REFCOUNT item says
 * how many extents reference it (none when only one does); no item names
 * a block no shared extent references.
 */
static void check_refs(struct check *ck)
{
	struct bfs_vec *s = &ck->shared, *r = &ck->refs;
	size_t n = s->n / 2, j = 0;

	if (n) /* s->a is NULL while empty */
		qsort(s->a, n, 2 * sizeof(uint64_t), u64_cmp);
	for (size_t i = 0; i < n;) {
		uint64_t b = s->a[2 * i], c = 0;

		for (; i < n && s->a[2 * i] == b; i++)
			c++;
		own(ck, b, 1, "shared extent");
		for (; j < r->n && r->a[j] < b; j += 2)
			problem(ck, "refcount of block %llu: not shared",
				(unsigned long long)r->a[j]);
		if (j < r->n && r->a[j] == b) {
			if (r->a[j + 1] != c || c < 2)
				problem(ck, "block %llu: refcount %llu, %llu "
					"extents", (unsigned long long)b,
					(unsigned long long)r->a[j + 1],
					(unsigned long long)c);
			j += 2;
		} else if (c > 1) {
			problem(ck, "block %llu: %llu extents, no refcount",
				(unsigned long long)b, (unsigned long long)c);
		}
	}
	for (; j < r->n; j += 2)
		problem(ck, "refcount of block %llu: not shared",
			(unsigned long long)r->a[j]);
}

/* --- items ------------------------------------------------------------------ */

static void item_inode(struct check *ck, struct ci *c, const void *v,
		       uint16_t len)
{
	struct bfs_dinode d;

	if (len != sizeof(d)) {
		problem(ck, "inode %llu: bad record", (unsigned long long)c->ino);
		return;
	}
	memcpy(&d, v, sizeof(d));
	c->have = true;
	c->mode = d.mode;
	c->nlink = d.nlink;
	c->flags = d.flags;
	c->size = d.size;
	c->blocks = d.blocks;
	c->parent = d.parent;
	ck->inode_items++;
}

static void item_dirent(struct check *ck, struct ci *dir, const void *v,
			uint16_t len)
{
	const struct bfs_ddirent *de = v;
	struct ci *t;

	if (len <= sizeof(*de) || len - sizeof(*de) != de->name_len) {
		problem(ck, "dir %llu: bad entry", (unsigned long long)dir->ino);
		return;
	}
	dir->entries++;
	ck->rep->dirents++;
	t = ci_get(ck, de->ino);
	if (!t)
		return;
	t->links++;
	if (de->dtype == (S_IFDIR >> 12)) {
		dir->subdirs++;
		t->dir_parent = dir->ino;
	}
}

/* An xattr chunk: chunk 0 has a sane header, the others value bytes. */
static void item_xattr(struct check *ck, struct ci *c, struct bfs_key k,
		       const void *v, uint16_t len)
{
	struct bfs_dxattr h;
	uint32_t first;

	if (bfs_key_off(k) & 0xff) {
		if (!len || len > BFS_XATTR_CHUNK)
			problem(ck, "inode %llu: bad xattr chunk",
				(unsigned long long)c->ino);
		return;
	}
	if (len < sizeof(h)) {
		problem(ck, "inode %llu: bad xattr", (unsigned long long)c->ino);
		return;
	}
	memcpy(&h, v, sizeof(h));
	first = h.value_len < BFS_XATTR_CHUNK ? h.value_len : BFS_XATTR_CHUNK;
	if (h.reserved || h.ns > BFS_XNS_SYSTEM || !h.name_len ||
	    h.value_len > BFS_XATTR_VALUE_MAX ||
	    len != sizeof(h) + h.name_len + first)
		problem(ck, "inode %llu: bad xattr header",
			(unsigned long long)c->ino);
}

static void item_extent(struct check *ck, struct ci *c, struct bfs_key k,
			const void *v, uint16_t len)
{
	struct bfs_dextent e;

	if (len != sizeof(e)) {
		problem(ck, "inode %llu: bad extent", (unsigned long long)c->ino);
		return;
	}
	memcpy(&e, v, sizeof(e));
	if (!e.count || e.count > BFS_EXT_MAX ||
	    e.flags & ~(BFS_EXT_UNWRITTEN | BFS_EXT_SHARED) ||
	    e.disk < ck->fs->sb.data_start || e.disk >= ck->fs->sb.nblocks ||
	    e.count > ck->fs->sb.nblocks - e.disk)
		problem(ck, "inode %llu: bad extent at %llu",
			(unsigned long long)c->ino,
			(unsigned long long)bfs_key_off(k));
	else if (e.flags & BFS_EXT_SHARED)
		for (uint64_t i = 0; i < e.count; i++) /* owned once, later */
			vec_push(ck, &ck->shared, e.disk + i, 0);
	else
		own(ck, e.disk, e.count, "extent");
	c->ext_blocks += e.count;
	ck->rep->extents++;
}

static void leaf_items(struct check *ck, struct bfs_buf *b)
{
	for (uint16_t i = 0; i < bfs_hdr(b)->count; i++) {
		struct bfs_item *it = &bfs_items(b)[i];
		const void *v = b->data + it->voff;
		struct ci *c;

		if (!it->key.id && bfs_key_type(it->key) == BFS_T_REFCOUNT) {
			item_refcount(ck, it->key, v, it->vlen);
			continue;
		}
		c = ci_get(ck, it->key.id ? it->key.id : bfs_key_off(it->key));
		if (!c)
			return;
		switch (bfs_key_type(it->key)) {
		case BFS_T_INODE:
			item_inode(ck, c, v, it->vlen);
			break;
		case BFS_T_DIRENT:
			item_dirent(ck, c, v, it->vlen);
			break;
		case BFS_T_EXTENT:
			item_extent(ck, c, it->key, v, it->vlen);
			break;
		case BFS_T_INLINE:
			if (!(c->flags & BFS_INODE_INLINE))
				problem(ck, "inode %llu: inline data but no "
					    "INLINE flag",
					(unsigned long long)c->ino);
			break;
		case BFS_T_ORPHAN:
			c->orphan = true;
			ck->rep->orphans++;
			break;
		case BFS_T_XATTR:
			item_xattr(ck, c, it->key, v, it->vlen);
			break;
		default:
			problem(ck, "unknown item type %u",
				bfs_key_type(it->key));
		}
	}
}

/* --- the walk ------------------------------------------------------------------ */

static void node_keys(struct check *ck, struct bfs_buf *b,
		      const struct frame *f)
{
	uint16_t n = bfs_hdr(b)->count;

	for (uint16_t i = 0; i < n; i++) {
		struct bfs_key k = bfs_hdr(b)->level ? bfs_children(b)[i].key
						     : bfs_items(b)[i].key;

		if (bfs_key_cmp(k, f->lo) < 0)
			problem(ck, "node %llu: key below its range",
				(unsigned long long)b->blk);
		if (f->has_hi && bfs_key_cmp(k, f->hi) >= 0)
			problem(ck, "node %llu: key above its range",
				(unsigned long long)b->blk);
	}
}

/* Enter the node of the top frame (loaded): check it, own it. */
static void node_enter(struct check *ck, struct bfs_buf *b, int level)
{
	own(ck, b->blk, 1, "tree");
	if (bfs_hdr(b)->level != level)
		problem(ck, "node %llu: level %u, expected %d",
			(unsigned long long)b->blk, bfs_hdr(b)->level, level);
	node_keys(ck, b, &ck->st[ck->depth]);
	if (bfs_hdr(b)->level == 0)
		leaf_items(ck, b);
}

static void push_child(struct check *ck, struct bfs_buf *b, struct frame *f)
{
	struct bfs_child *c = bfs_children(b);
	uint16_t n = bfs_hdr(b)->count;
	struct frame *x = &ck->st[ck->depth + 1];

	x->blk = c[f->idx].block;
	x->idx = 0;
	x->entered = false;
	/* keys below key[0] belong to child 0: it inherits the bound */
	x->lo = f->idx ? c[f->idx].key : f->lo;
	x->has_hi = f->idx + 1 < n || f->has_hi;
	x->hi = f->idx + 1 < n ? c[f->idx + 1].key : f->hi;
	ck->depth++;
}

static void pop(struct check *ck)
{
	ck->depth--;
	if (ck->depth >= 0)
		ck->st[ck->depth].idx++;
}

/* The top frame's block is unreadable or no tree node: skip its subtree. */
static void bad_node(struct check *ck)
{
	problem(ck, "tree block %llu: corrupt or not a tree node",
		(unsigned long long)ck->st[ck->depth].blk);
	pop(ck);
}

static int walk(struct check *ck)
{
	struct bfs *fs = ck->fs;

	while (ck->depth >= 0) {
		struct frame *f = &ck->st[ck->depth];
		int level = (int)fs->st.root_level - ck->depth;
		struct bfs_buf *b;
		int rc = bfs_buf_get(fs, f->blk, &b);

		if (rc == -EUCLEAN) {
			bad_node(ck);
			continue;
		}
		if (rc)
			return rc;
		if (!f->entered) {
			node_enter(ck, b, level);
			f->entered = true;
		}
		if (level <= 0 || bfs_hdr(b)->level == 0 ||
		    f->idx >= bfs_hdr(b)->count ||
		    ck->depth + 1 >= (int)BFS_MAX_LEVEL) {
			pop(ck);
			continue;
		}
		push_child(ck, b, f);
	}
	return 0;
}

/* --- after the walk ---------------------------------------------------------------- */

static void check_inode(struct check *ck, const struct ci *c)
{
	unsigned long long ino = (unsigned long long)c->ino;
	uint64_t want;

	if (!c->have) {
		problem(ck, "inode %llu: named but missing", ino);
		return;
	}
	ck->rep->inodes++;
	if (S_ISDIR(c->mode)) {
		want = c->nlink ? 2 + c->subdirs : 0;
		if (c->ino != BFS_ROOT_INO && c->links != (c->nlink ? 1 : 0))
			problem(ck, "dir %llu: %llu names", ino,
				(unsigned long long)c->links);
		if (c->size != c->entries)
			problem(ck, "dir %llu: size %llu, %llu entries", ino,
				(unsigned long long)c->size,
				(unsigned long long)c->entries);
		if (c->links && c->parent != c->dir_parent)
			problem(ck, "dir %llu: parent %llu, named in %llu", ino,
				(unsigned long long)c->parent,
				(unsigned long long)c->dir_parent);
	} else {
		want = c->links;
	}
	if (c->nlink != want)
		problem(ck, "inode %llu: nlink %u, expected %llu", ino, c->nlink,
			(unsigned long long)want);
	if (c->nlink == 0 && !c->orphan)
		problem(ck, "inode %llu: no link and no orphan item", ino);
	if (c->ext_blocks != c->blocks)
		problem(ck, "inode %llu: %llu blocks counted, %llu in extents",
			ino, (unsigned long long)c->blocks,
			(unsigned long long)c->ext_blocks);
}

/* The entry of @ino, or NULL (never adds one: pointers stay valid). */
static struct ci *ci_find(struct check *ck, uint64_t ino)
{
	size_t i = (size_t)(ino * 0x9E3779B97F4A7C15ull) & (ck->tab_size - 1);

	while (ck->tab[i].ino && ck->tab[i].ino != ino)
		i = (i + 1) & (ck->tab_size - 1);
	return ck->tab[i].ino ? &ck->tab[i] : NULL;
}

/* Follow the names of @c up to the root; mark the whole chain. */
static void reach_dir(struct check *ck, struct ci *c)
{
	struct ci *x = c;
	uint8_t res;

	while (x && x->reach == REACH_UNKNOWN && x->ino != BFS_ROOT_INO &&
	       S_ISDIR(x->mode) && x->links == 1) {
		x->reach = REACH_WALKING;
		x = ci_find(ck, x->dir_parent);
	}
	/* a chain back into itself (WALKING) is a cycle off the root */
	res = x && (x->ino == BFS_ROOT_INO || x->reach == REACH_YES)
		      ? REACH_YES : REACH_NO;
	for (x = c; x && x->reach == REACH_WALKING;
	     x = ci_find(ck, x->dir_parent)) {
		x->reach = res;
		if (res == REACH_NO)
			problem(ck, "dir %llu: not reachable from the root",
				(unsigned long long)x->ino);
	}
}

/* Every named directory hangs off the root (no cycle of its own). */
static void check_reach(struct check *ck)
{
	for (size_t i = 0; i < ck->tab_size; i++) {
		struct ci *c = &ck->tab[i];

		if (c->ino && c->have && S_ISDIR(c->mode) && c->links == 1 &&
		    c->reach == REACH_UNKNOWN)
			reach_dir(ck, c);
	}
}

static void check_blocks(struct check *ck)
{
	struct bfs *fs = ck->fs;
	uint64_t used = 0;

	for (uint64_t b = 0; b < fs->sb.nblocks; b++) {
		bool bit = bfs_bitmap_test(fs, b);
		bool own = b < fs->sb.data_start ||
			   (ck->owned[b / 8] >> (b % 8) & 1);

		used += bit;
		if (bit != own)
			problem(ck, "block %llu: bitmap %d, owned %d",
				(unsigned long long)b, bit, own);
	}
	ck->rep->blocks_used = used;
	if (used != fs->st.used_blocks)
		problem(ck, "used blocks %llu, bitmap has %llu",
			(unsigned long long)fs->st.used_blocks,
			(unsigned long long)used);
	if (ck->inode_items != fs->st.inodes)
		problem(ck, "inodes %llu, tree has %llu",
			(unsigned long long)fs->st.inodes,
			(unsigned long long)ck->inode_items);
}

static void check_end(struct check *ck, int err)
{
	blob_cb cb = ck->cb;
	void *arg = ck->arg;

	if (!err) {
		struct ci *root = ci_get(ck, BFS_ROOT_INO);

		if (!root || !root->have || !S_ISDIR(root->mode))
			problem(ck, "no root directory");
		for (size_t i = 0; i < ck->tab_size; i++) {
			if (ck->tab[i].ino)
				check_inode(ck, &ck->tab[i]);
		}
		check_reach(ck);
		check_refs(ck);
		check_blocks(ck);
	}
	free(ck->shared.a);
	free(ck->refs.a);
	free(ck->owned);
	free(ck->tab);
	free(ck);
	cb(arg, err);
}

static int check_run(struct bfs_op *op)
{
	struct check *ck = *BFS_ARGS(op, struct check *);

	return walk(ck);
}

static void check_cpl(void *arg, int err)
{
	check_end(arg, err);
}

void bfs_check(struct fs *f, struct bfs_check_report *rep, FILE *log,
	       blob_cb cb, void *arg)
{
	struct bfs *fs = bfs_of(f);
	struct check *ck = calloc(1, sizeof(*ck));
	struct bfs_op *op;

	if (ck)
		ck->owned = calloc((fs->sb.nblocks + 7) / 8, 1);
	if (!ck || !ck->owned) {
		free(ck);
		cb(arg, -ENOMEM);
		return;
	}
	memset(rep, 0, sizeof(*rep));
	ck->fs = fs;
	ck->rep = rep;
	ck->log = log;
	ck->cb = cb;
	ck->arg = arg;
	ck->call.cb = check_cpl;
	ck->call.cb_arg = ck;
	ck->st[0].blk = fs->st.root;
	op = bfs_op_init(fs, &ck->call, check_run, 0);
	*BFS_ARGS(op, struct check *) = ck;
	bfs_op_submit(op);
}
