/* SPDX-License-Identifier: MIT */
/* CRC-32 (IEEE, reflected), bit by bit: small and obviously correct. */
#include "vcalc.h"

uint32_t vc_crc32(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t crc = 0xffffffffu;
	size_t i;
	int k;

	for (i = 0; i < len; i++) {
		crc ^= p[i];
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1u));
	}
	return ~crc;
}
