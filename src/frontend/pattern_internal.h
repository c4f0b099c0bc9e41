/* SPDX-License-Identifier: MIT */
/*
 * pattern_internal.h - self-describing data for the verify workload.
 *
 * Every 16-byte record of the file holds {u64 file offset, u64 tag} with
 * tag = seed << 32 | generation.  A wrong record names where its data
 * really came from: another offset (misplaced I/O), another generation
 * (lost or stale write), another seed (a different run), or garbage.
 * Host byte order (the tool and the daemon share the host).
 */
#ifndef VHOSTFS_FE_PATTERN_INTERNAL_H
#define VHOSTFS_FE_PATTERN_INTERNAL_H

#include <stdint.h>

#define FE_PATTERN_RECORD 16u

struct fe_pattern_bad {
	uint64_t off;      /* file offset of the first bad record */
	uint64_t got_off;  /* what it holds */
	uint64_t got_tag;
	uint64_t want_tag;
};

static inline uint64_t fe_pattern_tag(uint64_t seed, uint32_t gen)
{
	return (uint64_t)(uint32_t)seed << 32 | gen;
}

/* Fill @len bytes (a multiple of 16) destined for file offset @file_off
 * (a multiple of 16).  @buf needs no alignment. */
void fe_pattern_fill(void *buf, uint64_t file_off, uint32_t len, uint64_t seed,
		     uint32_t gen);

/* 0 if @buf holds the pattern, else -EILSEQ with the first bad record. */
int fe_pattern_check(const void *buf, uint64_t file_off, uint32_t len,
		     uint64_t seed, uint32_t gen, struct fe_pattern_bad *bad);

#endif /* VHOSTFS_FE_PATTERN_INTERNAL_H */
