// SPDX-License-Identifier: MIT
/*
 * extent.c - where a file block lives: the extent covering it, or the hole
 * up to the next extent; and the inline bytes of small files.
 */
#include <errno.h>
#include <string.h>

#include "bfs_data.h"

static bool extent_sane(const struct bfs *fs, const struct bfs_dextent *e)
{
	return e->count && e->count <= BFS_EXT_MAX &&
	       !(e->flags & ~(BFS_EXT_UNWRITTEN | BFS_EXT_SHARED)) &&
	       e->disk >= fs->sb.data_start && e->disk < fs->sb.nblocks &&
	       e->count <= fs->sb.nblocks - e->disk; /* no wrap-around */
}

/*
 * Map file block @fblk of @ino.  An extent covering it starts at most
 * BFS_EXT_MAX - 1 blocks before it, so a forward scan from there finds it.
 */
int bfs_map(struct bfs *fs, uint64_t ino, uint64_t fblk, struct bfs_map *m)
{
	uint64_t from = fblk >= BFS_EXT_MAX ? fblk - BFS_EXT_MAX + 1 : 0;
	struct bfs_path p;
	int rc = bfs_tree_seek(fs, bfs_key_make(ino, BFS_T_EXTENT, from), &p);

	memset(m, 0, sizeof(*m));
	m->len = UINT64_MAX - fblk;
	for (; rc == 0; rc = bfs_tree_next(fs, &p)) {
		struct bfs_key k = bfs_path_key(&p);
		struct bfs_dextent e;
		uint16_t len;
		const void *v = bfs_path_val(&p, &len);

		if (k.id != ino || bfs_key_type(k) != BFS_T_EXTENT)
			break;
		if (len != sizeof(e))
			return -EUCLEAN;
		memcpy(&e, v, sizeof(e));
		if (!extent_sane(fs, &e))
			return -EUCLEAN;
		if (bfs_key_off(k) > fblk) {
			m->len = bfs_key_off(k) - fblk; /* the hole ends here */
			return 0;
		}
		if (bfs_key_off(k) + e.count > fblk) {
			m->disk = e.disk + (fblk - bfs_key_off(k));
			m->len = bfs_key_off(k) + e.count - fblk;
			m->unwritten = e.flags & BFS_EXT_UNWRITTEN;
			m->shared = e.flags & BFS_EXT_SHARED;
			m->key = k;
			m->ext = e;
			return 0;
		}
		/* ends before fblk: a candidate to grow */
		m->prev_key = k;
		m->prev = e;
		m->has_prev = bfs_key_off(k) + e.count == fblk;
	}
	return rc == -ENOENT ? 0 : rc;
}

/* Copy inline bytes [off, off + len) of @ino into @buf (zeros where none). */
int bfs_inline_read(struct bfs *fs, uint64_t ino, uint64_t off, uint8_t *buf,
		    size_t len)
{
	memset(buf, 0, len);
	for (uint64_t c = off / BFS_INLINE_CHUNK;
	     c * BFS_INLINE_CHUNK < off + len && c < 4; c++) {
		struct bfs_path p;
		uint64_t base = c * BFS_INLINE_CHUNK;
		uint16_t vlen;
		const uint8_t *v;
		int rc = bfs_tree_search(fs, bfs_key_make(ino, BFS_T_INLINE, c),
					 &p);

		if (rc == -ENOENT)
			continue;
		if (rc)
			return rc;
		v = bfs_path_val(&p, &vlen);
		for (uint64_t i = base > off ? base : off;
		     i < off + len && i < base + vlen; i++)
			buf[i - off] = v[i - base];
	}
	return 0;
}

/* Prepare: cache the paths of the inline chunks covering [0, end). */
int bfs_inline_paths(struct bfs *fs, uint64_t ino, uint64_t end)
{
	for (uint64_t c = 0; c * BFS_INLINE_CHUNK < end && c < 4; c++) {
		struct bfs_path p;
		int rc = bfs_tree_search(fs, bfs_key_make(ino, BFS_T_INLINE, c),
					 &p);

		if (rc != 0 && rc != -ENOENT)
			return rc;
	}
	return 0;
}

/* Apply: the inline contents become @data (@len bytes, <= 4 chunks). */
int bfs_inline_store(struct bfs *fs, uint64_t ino, const uint8_t *data,
		     size_t len)
{
	for (uint64_t c = 0; c < 4; c++) {
		struct bfs_key k = bfs_key_make(ino, BFS_T_INLINE, c);
		uint64_t base = c * BFS_INLINE_CHUNK;
		size_t n = len > base ? len - base : 0;
		int rc;

		n = n > BFS_INLINE_CHUNK ? BFS_INLINE_CHUNK : n;
		if (n == 0) {
			rc = bfs_tree_delete(fs, k);
			if (rc && rc != -ENOENT)
				return rc;
			continue;
		}
		rc = bfs_tree_update(fs, k, data + base, (uint16_t)n);
		if (rc == -ENOENT)
			rc = bfs_tree_insert(fs, k, data + base, (uint16_t)n);
		if (rc)
			return rc;
	}
	return 0;
}
