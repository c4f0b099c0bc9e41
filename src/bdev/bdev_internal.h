/* SPDX-License-Identifier: MIT */
/* bdev_internal.h - helpers shared by the block device drivers. */
#ifndef VHOSTFS_BDEV_INTERNAL_H
#define VHOSTFS_BDEV_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "vhostfs/bdev.h"

static inline int bdev_block_size_valid(uint32_t bs)
{
	return bs == 512 || bs == 4096;
}

/* splitmix64: a small, seedable generator for reproducible fault choices. */
static inline uint64_t bdev_rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

#endif /* VHOSTFS_BDEV_INTERNAL_H */
