/* SPDX-License-Identifier: MIT */
/* 64-bit FNV-1a. */
#include "vcalc.h"

uint64_t vc_fnv1a(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}
