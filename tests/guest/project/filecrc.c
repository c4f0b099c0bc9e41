/* SPDX-License-Identifier: MIT */
/* CRC-32 of a whole file, read in small pieces. */
#include <stdio.h>

#include "vcalc.h"

int vc_file_crc(const char *path, uint32_t *crc, size_t *len)
{
	unsigned char chunk[1000];
	unsigned char all[1 << 16];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return -1;
	*len = 0;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (*len + n > sizeof(all)) {
			fclose(f);
			return -1;
		}
		for (size_t i = 0; i < n; i++)
			all[*len + i] = chunk[i];
		*len += n;
	}
	fclose(f);
	*crc = vc_crc32(all, *len);
	return 0;
}
