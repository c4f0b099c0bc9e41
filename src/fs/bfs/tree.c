// SPDX-License-Identifier: MIT
/*
 * tree.c - the B+tree of all metadata items: search, iteration, and the
 * apply-phase changes (insert with splits, update, delete with freeing of
 * empty nodes and root collapse).  See docs/DESIGN.md, "Operations:
 * prepare, then apply": searches may miss (BFS_AGAIN); changes never do,
 * because their operation searched the same keys before.
 */
#include <errno.h>
#include <string.h>

#include "bfs_internal.h"

#define HDR sizeof(struct bfs_node_hdr)
#define LEAF_MAX ((BFS_NODE_SPACE / sizeof(struct bfs_item)) + 1)

/* First index in [0, n) whose item key is >= @k. */
static uint16_t leaf_lower(const struct bfs_buf *b, struct bfs_key k)
{
	const struct bfs_item *it = bfs_items(b);
	uint16_t lo = 0, hi = bfs_hdr(b)->count;

	while (lo < hi) {
		uint16_t mid = (uint16_t)((lo + hi) / 2);

		if (bfs_key_cmp(it[mid].key, k) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The child covering @k: the last with key <= @k, or 0. */
static uint16_t child_pick(const struct bfs_buf *b, struct bfs_key k)
{
	const struct bfs_child *c = bfs_children(b);
	uint16_t lo = 0, hi = bfs_hdr(b)->count;

	while (lo < hi) {
		uint16_t mid = (uint16_t)((lo + hi) / 2);

		if (bfs_key_cmp(c[mid].key, k) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : 0;
}

static int node_at(struct bfs *fs, uint64_t blk, unsigned int level,
		   struct bfs_buf **out)
{
	int rc = bfs_buf_get(fs, blk, out);

	if (rc)
		return rc;
	if (bfs_hdr(*out)->level != level)
		return -EUCLEAN;
	if (level == 0 && bfs_hdr(*out)->count == 0 && blk != fs->st.root)
		return -EUCLEAN;
	return 0;
}

int bfs_tree_search(struct bfs *fs, struct bfs_key k, struct bfs_path *p)
{
	uint64_t blk = fs->st.root;
	unsigned int lvl = fs->st.root_level;
	struct bfs_buf *b;
	int rc;

	p->levels = lvl + 1;
	for (;;) {
		rc = node_at(fs, blk, lvl, &b);
		if (rc)
			return rc;
		p->buf[lvl] = b;
		if (lvl == 0)
			break;
		p->slot[lvl] = child_pick(b, k);
		blk = bfs_children(b)[p->slot[lvl]].block;
		lvl--;
	}
	p->slot[0] = leaf_lower(b, k);
	if (p->slot[0] < bfs_hdr(b)->count &&
	    bfs_key_cmp(bfs_items(b)[p->slot[0]].key, k) == 0)
		return 0;
	return -ENOENT;
}

int bfs_tree_next(struct bfs *fs, struct bfs_path *p)
{
	unsigned int l = 1;
	int rc;

	if (p->slot[0] + 1 < bfs_hdr(p->buf[0])->count) {
		p->slot[0]++;
		return 0;
	}
	while (l < p->levels && p->slot[l] + 1 >= bfs_hdr(p->buf[l])->count)
		l++;
	if (l >= p->levels)
		return -ENOENT;
	p->slot[l]++;
	for (; l > 0; l--) {
		uint64_t blk = bfs_children(p->buf[l])[p->slot[l]].block;

		rc = node_at(fs, blk, l - 1, &p->buf[l - 1]);
		if (rc)
			return rc;
		p->slot[l - 1] = 0;
	}
	return 0;
}

int bfs_tree_seek(struct bfs *fs, struct bfs_key k, struct bfs_path *p)
{
	int rc = bfs_tree_search(fs, k, p);
	uint16_t n;

	if (rc != -ENOENT)
		return rc;
	n = bfs_hdr(p->buf[0])->count;
	if (p->slot[0] < n)
		return 0;
	if (n == 0)
		return -ENOENT;
	p->slot[0] = n - 1;
	return bfs_tree_next(fs, p);
}

struct bfs_key bfs_path_key(const struct bfs_path *p)
{
	return bfs_items(p->buf[0])[p->slot[0]].key;
}

void *bfs_path_val(const struct bfs_path *p, uint16_t *len)
{
	const struct bfs_item *it = &bfs_items(p->buf[0])[p->slot[0]];

	*len = it->vlen;
	return p->buf[0]->data + it->voff;
}

int bfs_item_read(struct bfs *fs, struct bfs_key k, void *val, size_t size)
{
	struct bfs_path p;
	uint16_t len;
	void *v;
	int rc = bfs_tree_search(fs, k, &p);

	if (rc)
		return rc;
	v = bfs_path_val(&p, &len);
	if (len != size)
		return -EUCLEAN;
	memcpy(val, v, len);
	return 0;
}

/* --- apply phase ---------------------------------------------------------- */

static int apply_fail(struct bfs *fs, int rc)
{
	if (rc == BFS_AGAIN || rc == -EUCLEAN) {
		bfs_fail(fs, "tree block not cached while applying");
		return -EIO;
	}
	return rc;
}

uint64_t bfs_tree_split_need(const struct bfs *fs)
{
	return fs->st.root_level + 2;
}

static struct bfs_buf *node_alloc(struct bfs *fs, uint64_t near,
				  uint16_t level)
{
	uint64_t blk;
	uint32_t got;
	struct bfs_buf *b;

	if (bfs_alloc_reserve(fs, near, 1, &blk, &got)) {
		bfs_fail(fs, "no block for a tree node while applying");
		return NULL;
	}
	bfs_alloc_commit(fs, blk, 1);
	b = bfs_buf_new(fs, blk, BFS_BUF_NODE);
	if (!b) {
		bfs_alloc_free(fs, blk, 1);
		return NULL;
	}
	bfs_node_init(b->data, blk, level);
	bfs_buf_dirty(fs, b);
	return b;
}

static void node_free(struct bfs *fs, struct bfs_buf *b)
{
	bfs_alloc_free(fs, b->blk, 1);
	bfs_buf_drop(fs, b);
}

/* A new root above @left and @right (the old root split). */
static int root_grow(struct bfs *fs, struct bfs_buf *left, struct bfs_key rk,
		     struct bfs_buf *right)
{
	uint16_t level = bfs_hdr(left)->level + 1;
	struct bfs_buf *r;
	struct bfs_child *c;

	if (level >= BFS_MAX_LEVEL)
		return -EFBIG;
	r = node_alloc(fs, left->blk, level);
	if (!r)
		return -ENOSPC;
	c = bfs_children(r);
	c[0].key = bfs_hdr(left)->level ? bfs_children(left)[0].key
					: bfs_items(left)[0].key;
	c[0].block = left->blk;
	c[1].key = rk;
	c[1].block = right->blk;
	bfs_hdr(r)->count = 2;
	fs->st.root = r->blk;
	fs->st.root_level = level;
	return 0;
}

static int child_insert(struct bfs *fs, struct bfs_path *p, unsigned int l,
			struct bfs_key k, uint64_t blk);

/* Split full internal node p->buf[l] while adding (k, blk) after slot. */
static int internal_split(struct bfs *fs, struct bfs_path *p, unsigned int l,
			  struct bfs_key k, uint64_t blk)
{
	struct bfs_buf *b = p->buf[l], *r;
	struct bfs_child all[BFS_FANOUT + 1];
	uint16_t n = bfs_hdr(b)->count, at = p->slot[l] + 1, half;

	memcpy(all, bfs_children(b), at * sizeof(*all));
	all[at].key = k;
	all[at].block = blk;
	memcpy(all + at + 1, bfs_children(b) + at, (n - at) * sizeof(*all));
	n++;
	half = n / 2;
	r = node_alloc(fs, b->blk, (uint16_t)l);
	if (!r)
		return -ENOSPC;
	bfs_buf_dirty(fs, b);
	memset(bfs_children(b), 0, BFS_NODE_SPACE);
	memcpy(bfs_children(b), all, half * sizeof(*all));
	bfs_hdr(b)->count = half;
	memcpy(bfs_children(r), all + half, (n - half) * sizeof(*all));
	bfs_hdr(r)->count = n - half;
	if (l + 1 >= p->levels)
		return root_grow(fs, b, all[half].key, r);
	return child_insert(fs, p, l + 1, all[half].key, r->blk);
}

/* Add child (k, blk) right after slot p->slot[l] of internal node l. */
static int child_insert(struct bfs *fs, struct bfs_path *p, unsigned int l,
			struct bfs_key k, uint64_t blk)
{
	struct bfs_buf *b = p->buf[l];
	struct bfs_child *c = bfs_children(b);
	uint16_t n = bfs_hdr(b)->count, at = p->slot[l] + 1;

	if (n >= BFS_FANOUT)
		return internal_split(fs, p, l, k, blk);
	bfs_buf_dirty(fs, b);
	memmove(c + at + 1, c + at, (n - at) * sizeof(*c));
	c[at].key = k;
	c[at].block = blk;
	bfs_hdr(b)->count = n + 1;
	return 0;
}

struct ent {
	struct bfs_key k;
	const uint8_t *v;
	uint16_t len;
};

/* Split index: the byte-balanced cut with both halves fitting. */
static uint16_t leaf_cut(const struct ent *e, uint16_t n)
{
	size_t total = 0, left = 0, best_d = SIZE_MAX;
	uint16_t best = 1;

	for (uint16_t i = 0; i < n; i++)
		total += sizeof(struct bfs_item) + e[i].len;
	for (uint16_t s = 1; s < n; s++) {
		size_t d;

		left += sizeof(struct bfs_item) + e[s - 1].len;
		if (left > BFS_NODE_SPACE || total - left > BFS_NODE_SPACE)
			continue;
		d = left > total - left ? left - (total - left)
					: (total - left) - left;
		if (d < best_d) {
			best_d = d;
			best = s;
		}
	}
	return best;
}

static void leaf_fill(struct bfs_buf *b, const struct ent *e, uint16_t n)
{
	bfs_node_init(b->data, b->blk, 0);
	for (uint16_t i = 0; i < n; i++)
		bfs_leaf_insert_at(b, i, e[i].k, e[i].v, e[i].len);
}

static int leaf_split(struct bfs *fs, struct bfs_path *p, struct bfs_key k,
		      const void *val, uint16_t len)
{
	uint8_t copy[BFS_BLOCK];
	struct ent e[LEAF_MAX + 1];
	struct bfs_buf *b = p->buf[0], *r;
	const struct bfs_item *it;
	uint16_t n = bfs_hdr(b)->count, at = p->slot[0], cut;

	memcpy(copy, b->data, BFS_BLOCK);
	it = (const void *)(copy + HDR);
	for (uint16_t i = 0, j = 0; i <= n; i++) {
		if (i == at) {
			e[i] = (struct ent){ k, val, len };
			continue;
		}
		e[i] = (struct ent){ it[j].key, copy + it[j].voff, it[j].vlen };
		j++;
	}
	n++;
	cut = leaf_cut(e, n);
	r = node_alloc(fs, b->blk, 0);
	if (!r)
		return -ENOSPC;
	bfs_buf_dirty(fs, b);
	leaf_fill(b, e, cut);
	leaf_fill(r, e + cut, n - cut);
	if (p->levels == 1)
		return root_grow(fs, b, e[cut].k, r);
	return child_insert(fs, p, 1, e[cut].k, r->blk);
}

static int leaf_put(struct bfs *fs, struct bfs_path *p, struct bfs_key k,
		    const void *val, uint16_t len)
{
	struct bfs_buf *b = p->buf[0];

	if (bfs_leaf_free(b) >= sizeof(struct bfs_item) + len) {
		bfs_buf_dirty(fs, b);
		bfs_leaf_insert_at(b, p->slot[0], k, val, len);
		return 0;
	}
	return leaf_split(fs, p, k, val, len);
}

int bfs_tree_insert(struct bfs *fs, struct bfs_key k, const void *val,
		    uint16_t len)
{
	struct bfs_path p;
	int rc;

	if (len > BFS_VAL_MAX)
		return -EINVAL;
	rc = bfs_tree_search(fs, k, &p);
	if (rc == 0)
		return -EEXIST;
	if (rc != -ENOENT)
		return apply_fail(fs, rc);
	return leaf_put(fs, &p, k, val, len);
}

int bfs_tree_update(struct bfs *fs, struct bfs_key k, const void *val,
		    uint16_t len)
{
	struct bfs_path p;
	uint16_t old;
	void *v;
	int rc;

	if (len > BFS_VAL_MAX)
		return -EINVAL;
	rc = bfs_tree_search(fs, k, &p);
	if (rc)
		return rc == -ENOENT ? rc : apply_fail(fs, rc);
	v = bfs_path_val(&p, &old);
	bfs_buf_dirty(fs, p.buf[0]);
	if (old == len) {
		memmove(v, val, len);
		return 0;
	}
	bfs_leaf_remove_at(p.buf[0], p.slot[0]);
	return leaf_put(fs, &p, k, val, len);
}

/* Root with one child: the child becomes the root (when it is cached). */
static void root_collapse(struct bfs *fs)
{
	for (;;) {
		struct bfs_buf *r = bfs_cache_find(fs, fs->st.root), *c;

		if (!r || !fs->st.root_level || bfs_hdr(r)->count != 1)
			return;
		c = bfs_cache_find(fs, bfs_children(r)[0].block);
		if (!c || (c->flags & BFS_BUF_LOADING))
			return;
		fs->st.root = c->blk;
		fs->st.root_level--;
		node_free(fs, r);
	}
}

/* Node p->buf[l - 1] became empty: free it and unlink it from node l. */
static void child_remove(struct bfs *fs, struct bfs_path *p, unsigned int l)
{
	struct bfs_buf *b = p->buf[l];
	struct bfs_child *c = bfs_children(b);
	uint16_t n = bfs_hdr(b)->count, at = p->slot[l];

	node_free(fs, p->buf[l - 1]);
	bfs_buf_dirty(fs, b);
	memmove(c + at, c + at + 1, (n - at - 1) * sizeof(*c));
	memset(c + n - 1, 0, sizeof(*c));
	bfs_hdr(b)->count = n - 1;
	if (n - 1 > 0)
		return;
	if (l + 1 < p->levels) {
		child_remove(fs, p, l + 1);
		return;
	}
	/* the root lost its last child: the tree is an empty leaf again */
	bfs_node_init(b->data, b->blk, 0);
	fs->st.root_level = 0;
}

int bfs_tree_delete(struct bfs *fs, struct bfs_key k)
{
	struct bfs_path p;
	int rc = bfs_tree_search(fs, k, &p);

	if (rc)
		return rc == -ENOENT ? rc : apply_fail(fs, rc);
	bfs_buf_dirty(fs, p.buf[0]);
	bfs_leaf_remove_at(p.buf[0], p.slot[0]);
	if (bfs_hdr(p.buf[0])->count == 0 && p.levels > 1) {
		child_remove(fs, &p, 1);
		root_collapse(fs);
	}
	return 0;
}

int bfs_tree_create_root(struct bfs *fs)
{
	struct bfs_buf *b = node_alloc(fs, fs->sb.data_start, 0);

	if (!b)
		return -ENOSPC;
	fs->st.root = b->blk;
	fs->st.root_level = 0;
	return 0;
}
