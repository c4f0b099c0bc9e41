// SPDX-License-Identifier: MIT
/*
 * node.c - one tree node: checks on what the disk gave us, and the leaf
 * layout (item headers from the front, values packed from the back).
 */
#include <errno.h>
#include <string.h>

#include "bfs_internal.h"

#define HDR sizeof(struct bfs_node_hdr)

static bool reserved_zero(const struct bfs_node_hdr *h)
{
	for (size_t i = 0; i < sizeof(h->reserved); i++) {
		if (h->reserved[i])
			return false;
	}
	return true;
}

static int leaf_check(const uint8_t *data, const struct bfs_node_hdr *h)
{
	const struct bfs_item *it = (const void *)(data + HDR);
	size_t end = BFS_BLOCK;

	if (HDR + (size_t)h->count * sizeof(*it) > h->free_end)
		return -EUCLEAN;
	for (uint16_t i = 0; i < h->count; i++) {
		struct bfs_key k = it[i].key;

		/* values are packed downwards in item order, no gaps */
		if (it[i].vlen > BFS_VAL_MAX || it[i].voff + it[i].vlen != end)
			return -EUCLEAN;
		end = it[i].voff;
		if (i && bfs_key_cmp(it[i - 1].key, k) >= 0)
			return -EUCLEAN;
	}
	return end == h->free_end ? 0 : -EUCLEAN;
}

static int internal_check(const uint8_t *data, const struct bfs_node_hdr *h)
{
	const struct bfs_child *c = (const void *)(data + HDR);

	if (h->count == 0 || h->count > BFS_FANOUT || h->free_end != BFS_BLOCK)
		return -EUCLEAN;
	for (uint16_t i = 1; i < h->count; i++) {
		if (bfs_key_cmp(c[i - 1].key, c[i].key) >= 0)
			return -EUCLEAN;
	}
	return 0;
}

static uint32_t node_crc(const uint8_t *data)
{
	static const uint8_t zero4[4];

	return bfs_crc_update(bfs_crc_update(bfs_crc(data, 4), zero4, 4),
			      data + 8, BFS_BLOCK - 8);
}

int bfs_node_check(const uint8_t *data, uint64_t blk)
{
	struct bfs_node_hdr h;
	uint32_t crc;

	memcpy(&h, data, sizeof(h));
	if (h.magic != BFS_NODE_MAGIC || h.block != blk ||
	    h.level >= BFS_MAX_LEVEL || !reserved_zero(&h))
		return -EUCLEAN;
	crc = node_crc(data);
	if (crc != h.crc)
		return -EUCLEAN;
	return h.level ? internal_check(data, &h) : leaf_check(data, &h);
}

/* The CRC as bfs_node_check() computes it: over the node, crc as zero. */
void bfs_node_seal(uint8_t *data)
{
	struct bfs_node_hdr *h = (void *)data;

	h->crc = node_crc(data);
}

void bfs_node_init(uint8_t *data, uint64_t blk, uint16_t level)
{
	struct bfs_node_hdr *h = (void *)data;

	memset(data, 0, BFS_BLOCK);
	h->magic = BFS_NODE_MAGIC;
	h->block = blk;
	h->level = level;
	h->free_end = BFS_BLOCK;
}

size_t bfs_leaf_free(const struct bfs_buf *b)
{
	const struct bfs_node_hdr *h = bfs_hdr(b);

	return h->free_end - HDR - (size_t)h->count * sizeof(struct bfs_item);
}

/* The caller checked bfs_leaf_free() >= sizeof(item) + @len. */
void bfs_leaf_insert_at(struct bfs_buf *b, uint16_t slot, struct bfs_key k,
			const void *val, uint16_t len)
{
	struct bfs_node_hdr *h = bfs_hdr(b);
	struct bfs_item *it = bfs_items(b);
	/* the new value goes below the value of item slot - 1 */
	uint16_t at = slot ? it[slot - 1].voff : BFS_BLOCK;

	/* values of items slot.. move down by len */
	memmove(b->data + h->free_end - len, b->data + h->free_end,
		at - h->free_end);
	for (uint16_t i = slot; i < h->count; i++)
		it[i].voff -= len;
	memmove(&it[slot + 1], &it[slot], (h->count - slot) * sizeof(*it));
	it[slot].key = k;
	it[slot].vlen = len;
	it[slot].voff = at - len;
	if (len)
		memcpy(b->data + at - len, val, len);
	h->free_end -= len;
	h->count++;
}

void bfs_leaf_remove_at(struct bfs_buf *b, uint16_t slot)
{
	struct bfs_node_hdr *h = bfs_hdr(b);
	struct bfs_item *it = bfs_items(b);
	uint16_t len = it[slot].vlen, off = it[slot].voff;

	memmove(b->data + h->free_end + len, b->data + h->free_end,
		off - h->free_end);
	for (uint16_t i = slot + 1; i < h->count; i++)
		it[i].voff += len;
	memmove(&it[slot], &it[slot + 1], (h->count - slot - 1) * sizeof(*it));
	h->count--;
	memset(b->data + h->free_end, 0, len);
	h->free_end += len;
	memset(&it[h->count], 0, sizeof(*it));
}
