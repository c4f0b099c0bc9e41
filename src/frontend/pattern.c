// SPDX-License-Identifier: MIT
/* pattern.c - writing and checking the verify workload's records. */
#include <errno.h>
#include <string.h>

#include "frontend/pattern_internal.h"

void fe_pattern_fill(void *buf, uint64_t file_off, uint32_t len, uint64_t seed,
		     uint32_t gen)
{
	uint64_t rec[2] = { file_off, fe_pattern_tag(seed, gen) };
	uint8_t *p = buf;

	for (uint32_t i = 0; i + FE_PATTERN_RECORD <= len;
	     i += FE_PATTERN_RECORD) {
		memcpy(p + i, rec, sizeof(rec));
		rec[0] += FE_PATTERN_RECORD;
	}
}

int fe_pattern_check(const void *buf, uint64_t file_off, uint32_t len,
		     uint64_t seed, uint32_t gen, struct fe_pattern_bad *bad)
{
	uint64_t want_tag = fe_pattern_tag(seed, gen);
	const uint8_t *p = buf;

	for (uint32_t i = 0; i + FE_PATTERN_RECORD <= len;
	     i += FE_PATTERN_RECORD) {
		uint64_t rec[2];

		memcpy(rec, p + i, sizeof(rec));
		if (rec[0] == file_off + i && rec[1] == want_tag)
			continue;
		*bad = (struct fe_pattern_bad){ .off = file_off + i,
						.got_off = rec[0],
						.got_tag = rec[1],
						.want_tag = want_tag };
		return -EILSEQ;
	}
	return 0;
}
