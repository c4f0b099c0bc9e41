// SPDX-License-Identifier: MIT
/*
 * hash.c - name hashes (SipHash-2-4 under the fs's random key, so that a
 * guest cannot pick names that pile up in one hash slot) and finding a
 * name among a directory's entries.
 */
#include <errno.h>
#include <string.h>

#include "bfs_internal.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void sip_round(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = ROTL(v[1], 13);
	v[1] ^= v[0];
	v[0] = ROTL(v[0], 32);
	v[2] += v[3];
	v[3] = ROTL(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = ROTL(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = ROTL(v[1], 17);
	v[1] ^= v[2];
	v[2] = ROTL(v[2], 32);
}

static void sip_absorb(uint64_t v[4], uint64_t m)
{
	v[3] ^= m;
	sip_round(v);
	sip_round(v);
	v[0] ^= m;
}

static uint64_t siphash24(const uint8_t key[16], const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t k0, k1, v[4], last = (uint64_t)len << 56;
	size_t i;

	memcpy(&k0, key, 8);
	memcpy(&k1, key + 8, 8);
	v[0] = k0 ^ 0x736f6d6570736575ull;
	v[1] = k1 ^ 0x646f72616e646f6dull;
	v[2] = k0 ^ 0x6c7967656e657261ull;
	v[3] = k1 ^ 0x7465646279746573ull;
	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t m;

		memcpy(&m, p + i, 8);
		sip_absorb(v, m);
	}
	for (size_t j = 0; i + j < len; j++)
		last |= (uint64_t)p[i + j] << (8 * j);
	sip_absorb(v, last);
	v[2] ^= 0xff;
	for (int r = 0; r < 4; r++)
		sip_round(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

uint64_t bfs_name_hash(const struct bfs *fs, const char *name, size_t len)
{
	return siphash24(fs->sb.hash_key, name, len) & ((1ull << 48) - 1);
}

static bool dirent_ok(const void *val, uint16_t len)
{
	const struct bfs_ddirent *d = val;

	return len > sizeof(*d) && len - sizeof(*d) == d->name_len;
}

uint16_t bfs_dirent_encode(uint8_t *buf, const char *name, uint64_t ino,
			   mode_t mode)
{
	struct bfs_ddirent *de = (void *)buf;
	size_t n = strlen(name); /* the engine checked: 1 .. 255 */

	de->ino = ino;
	de->dtype = bfs_mode_dtype(mode);
	de->name_len = (uint8_t)n;
	memcpy(de->name, name, n);
	return (uint16_t)(sizeof(*de) + n);
}

int bfs_dirent_find(struct bfs *fs, uint64_t dir, const char *name,
		    struct bfs_key *k, uint64_t *ino)
{
	size_t nlen = strlen(name);
	uint64_t h = bfs_name_hash(fs, name, nlen) << 8;
	uint8_t used[32] = { 0 };
	struct bfs_path p;
	int rc = bfs_tree_seek(fs, bfs_key_make(dir, BFS_T_DIRENT, h), &p);

	for (; rc == 0; rc = bfs_tree_next(fs, &p)) {
		struct bfs_key ik = bfs_path_key(&p);
		uint16_t len;
		const struct bfs_ddirent *d = bfs_path_val(&p, &len);

		if (ik.id != dir || bfs_key_type(ik) != BFS_T_DIRENT ||
		    (bfs_key_off(ik) & ~0xffull) != h)
			break;
		if (!dirent_ok(d, len))
			return -EUCLEAN;
		used[(ik.tk & 0xff) / 8] |= (uint8_t)(1u << (ik.tk & 7));
		if (d->name_len == nlen && !memcmp(d->name, name, nlen)) {
			*k = ik;
			if (ino)
				memcpy(ino, &d->ino, sizeof(*ino));
			return 0;
		}
	}
	if (rc != 0 && rc != -ENOENT)
		return rc;
	for (unsigned int n = 0; n < 256; n++) {
		if (!(used[n / 8] >> (n % 8) & 1)) {
			*k = bfs_key_make(dir, BFS_T_DIRENT, h | n);
			return -ENOENT;
		}
	}
	*k = bfs_key_make(dir, BFS_T_DIRENT, BFS_OFF_MASK);
	return -ENOENT;
}
